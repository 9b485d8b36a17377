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


def read_npz(path: Path, what: str = "") -> tuple[np.ndarray, np.ndarray, str, str]:
    """(x, y, short name, where) of an .npz file holding arrays x and y; `what` names the
    file's role in messages (e.g. "Data.source ")."""
    if not path.is_file():
        raise SpecError(f"{what}{path}: no such data file.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("x", "y") if k not in npz.files]
            if missing:
                raise SpecError(f"{what}{path.name} holds {', '.join(npz.files) or 'no '}"
                                f" arrays but not {' and '.join(missing)}; save it with "
                                "numpy.savez(path, x=..., y=...).")
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


def class_labels(y: np.ndarray, where: str) -> np.ndarray:
    """y as integer classes 0..k-1, every one of them present; SpecError otherwise."""
    if y.ndim != 1:
        raise SpecError(f"Data.y in {where} must hold one class label per sequence, but has "
                        f"shape {y.shape}.")
    values = y.astype(float)
    bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
    if bad.size:
        raise SpecError(f"Data.y in {where} must hold whole-number class labels 0..k-1, but "
                        f"sequence {bad[0] + 1} has {y[bad[0]].item()!r}.")
    labels = values.astype(int)
    present = set(np.unique(labels).tolist())
    k = max(present) + 1 if present else 0
    absent = sorted(set(range(k)) - present)
    if min(present, default=0) < 0 or absent:
        raise SpecError(f"Data.y in {where} must number its classes 0..k-1 with every class "
                        f"present, but got labels {', '.join(map(str, sorted(present)))}"
                        + (f" (no {', '.join(map(str, absent))})" if absent else "")
                        + "; renumber them from 0.")
    return labels


def split_sequences(labels: np.ndarray | None, n: int, data: Data, seed: int, where: str
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
            what = f"class {c} has {len(idx)} sequences" if labels is not None else \
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


def is_classification(data: Data, y: np.ndarray) -> bool:
    """Whether a set's labels are classes: as Data.task says, or whole-number y."""
    return (data.task or ("classify" if y.dtype.kind in "iub" else "regress")) == "classify"


def read_set(data: Data, base_dir: Path | None = None, seed: int = 0) -> SequenceSet:
    """Read, check and split a sequence set; `seed` draws the validation and test sequences,
    per class when there are classes."""
    x, y, name, where = load_sequences(data, base_dir)
    check_x(x, where)
    labels = targets = None
    if is_classification(data, y):
        labels = class_labels(y, where)
    else:
        targets = y.astype(float).reshape(len(y), -1)
        if not np.isfinite(targets).all():
            i = int(np.argwhere(~np.isfinite(targets))[0][0])
            raise SpecError(f"Data.y in {where} has missing or infinite values (first for "
                            f"sequence {i + 1}).")
    parts = split_sequences(labels, len(x), data, seed, where)
    return SequenceSet(x, y, labels, targets, parts, name, where)
