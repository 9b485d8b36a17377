"""Reading sequence sets: arrays x (n, time, features) and y, one label or row of numbers per
sequence, checked and split.

A set comes as arrays in the study file, a bundled name or an .npz file (read without
unpickling: it holds arrays, never code). Class labels must be 0..k-1 with every class present;
the split draws validation and test sequences with the study seed, per class (stratified), so
every class is in every split. Cutting them into scaled windows is `windows`' job.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .data import SEQUENCES, Data, as_arrays
from .validate import SpecError


def load_sequences(data: Data, base_dir: Path | None = None
                   ) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(x, y, short name, where) of a sequence set: arrays, a bundled set or an .npz file
    (read without unpickling: it holds arrays, never code)."""
    if data.x is not None:
        return data.x, data.y, "arrays", "the arrays"
    src = str(data.source)
    if src in SEQUENCES:
        with resources.files("sweeper.datasets").joinpath(SEQUENCES[src]).open("rb") as fh:
            with np.load(fh, allow_pickle=False) as npz:
                return (*as_arrays(npz["x"], npz["y"]), src, src)
    path = Path(src)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise SpecError(f"Data.source {src!r} is neither a bundled set "
                        f"({', '.join(SEQUENCES)}) nor an existing file (looked for {path}).")
    return read_npz(path, "Data.source ")


def read_npz(path: Path, what: str = "", need_y: bool = True
             ) -> tuple[np.ndarray, np.ndarray | None, str, str]:
    """(x, y, short name, where) of an .npz file holding arrays x and y (without `need_y`,
    x alone: y is not read, and None); `what` names the file's role in messages (e.g.
    "Data.source ")."""
    if not path.is_file():
        raise SpecError(f"{what}{path}: no such data file.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("x", "y") if k not in npz.files and (need_y or k == "x")]
            if missing:
                raise SpecError(f"{what}{path.name} holds {', '.join(npz.files) or 'no '}"
                                f" arrays but not {' and '.join(missing)}; save it with "
                                "numpy.savez(path, x=..., y=...).")
            if not need_y:
                x = as_arrays(npz["x"], np.zeros(len(npz["x"])))[0]
                return x, None, path.stem, path.name
            return (*as_arrays(npz["x"], npz["y"]), path.stem, path.name)
    except SpecError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SpecError(f"{what}{path.name} holds Python objects, not plain arrays; "
                            "sweeper does not unpickle data files. Save numeric arrays.") \
                from None
        raise SpecError(f"{what}{path.name} is not a readable .npz file ({exc}).") from None
    except (OSError, EOFError, KeyError) as exc:
        raise SpecError(f"{what}{path.name} is not a readable .npz file ({exc}).") from None


def check_x(x: np.ndarray, where: str) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        i, t, f = np.argwhere(bad)[0]
        raise SpecError(f"Data.x in {where} has {int(bad.sum())} missing or infinite values "
                        f"(first in sequence {i + 1}, step {t + 1}, feature {f + 1}); fill or "
                        "drop them before sweeping.")


def class_labels(y: np.ndarray, where: str) -> tuple[np.ndarray, tuple[Any, ...]]:
    """(each sequence's class as 0..k-1, the classes): the classes are y's sorted distinct
    labels, whatever they are (names, numbers in any range, True/False); SpecError for a
    missing label or fewer than two classes."""
    if y.ndim != 1:
        raise SpecError(f"Data.y in {where} must hold one class label per sequence, but has "
                        f"shape {y.shape}.")
    missing = [i for i, v in enumerate(y.tolist())
               if v is None or (isinstance(v, float) and not np.isfinite(v))]
    if missing:
        raise SpecError(f"Data.y in {where} has {len(missing)} missing labels (first for "
                        f"sequence {missing[0] + 1}); every sequence needs its class.")
    try:
        classes, labels = np.unique(y, return_inverse=True)
    except TypeError:  # labels of mixed kinds (names and numbers): compared as text
        classes, labels = np.unique(y.astype(str), return_inverse=True)
    if len(classes) < 2:
        raise SpecError(f"Data.y in {where} has one class only ({classes[0].item()!r}); "
                        "classification needs at least two.")
    return labels.reshape(-1), tuple(c.item() for c in classes)


def split_sequences(labels: np.ndarray | None, n: int, data: Data, seed: int, where: str,
                    classes: tuple[Any, ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the training, validation and test sequences: drawn with `seed`, per class
    when there are classes (stratified), so every class is in every split."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(labels == c) for c in range(labels.max() + 1)] \
        if labels is not None else [np.arange(n)]
    parts: tuple[list[np.ndarray], ...] = ([], [], [])
    for c, idx in enumerate(groups):
        idx = rng.permutation(idx)
        n_val = max(1, round(len(idx) * data.val_fraction))
        n_test = max(1, round(len(idx) * data.test_fraction)) if data.test_fraction else 0
        if len(idx) - n_val - n_test < 1:
            name = repr(classes[c]) if c < len(classes) else c
            what = f"class {name} has {len(idx)} sequences" if labels is not None else \
                f"the set has {len(idx)} sequences"
            raise SpecError(f"Data.y in {where}: {what}; training, validation"
                            + (" and test" if n_test else "") + f" need at least "
                            f"{n_val + n_test + 1} of each class with these fractions "
                            "(add sequences, or lower val_fraction and test_fraction).")
        for part, chunk in zip(parts, (idx[n_val + n_test:], idx[:n_val],
                                       idx[n_val:n_val + n_test]), strict=True):
            part.append(chunk)
    return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, int) for p in parts)


@dataclass(frozen=True)
class SequenceSet:
    """A sequence set as read and split: x (n, time, features); y as given; `labels` the
    classes 0..k-1 for classification (None for numbers), `targets` y as float rows (n,
    outputs) for numbers (None for classes); `parts` the indices of the training, validation
    and test sequences."""

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray | None
    targets: np.ndarray | None
    parts: tuple[np.ndarray, np.ndarray, np.ndarray]
    name: str
    where: str
    classes: tuple[Any, ...] = ()  # the class of each label 0..k-1, as given


def is_classification(data: Data, y: np.ndarray) -> bool:
    """Whether a set's labels are classes: as Data.task says, or y of whole numbers, names or
    True/False (numbers with a fraction are numbers to predict)."""
    return (data.task or ("classify" if y.dtype.kind in "iubUSO" else "regress")) == "classify"


def read_set(data: Data, base_dir: Path | None = None, seed: int = 0) -> SequenceSet:
    """Read, check and split a sequence set; `seed` draws the validation and test sequences,
    per class when there are classes."""
    x, y, name, where = load_sequences(data, base_dir)
    check_x(x, where)
    labels = targets = None
    classes: tuple[Any, ...] = ()
    if is_classification(data, y):
        labels, classes = class_labels(y, where)
    else:
        try:
            targets = y.astype(float).reshape(len(y), -1)
        except ValueError:
            raise SpecError(f"Data.y in {where} holds labels that are not numbers (such as "
                            f"{y.reshape(-1)[0].item()!r}), but Data.task is 'regress'; leave "
                            "task out (or say 'classify') to learn them as classes.") from None
        if not np.isfinite(targets).all():
            i = int(np.argwhere(~np.isfinite(targets))[0][0])
            raise SpecError(f"Data.y in {where} has missing or infinite values (first for "
                            f"sequence {i + 1}).")
    parts = split_sequences(labels, len(x), data, seed, where, classes)
    return SequenceSet(x, y, labels, targets, parts, name, where, classes)
