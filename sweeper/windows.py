"""Cutting windows: one cutter for the sweep's splits and for prediction, scaled as the study's
training part was.

    series -> cut_series: the steps each window reads and forecasts, and its split
           -> gather: inputs x, known-ahead values k and targets y of every window

The sweep (`prepare`) cuts every series into train | validation | test windows in time order and
fits each series' scaler on the part its training windows touch. Prediction
(`for_prediction`) runs the same cutter over the study's own data (the same splits), or over
new data (split "new"), plus the window past the data's end ("future"), and scales it with the
scalers the task carries. A sequence set is one window per sequence, split by the study seed.

A window reads the targets, the past covariates (known only up to the forecast time) and the
future covariates (known ahead) over its `window` steps; the future covariates of the `horizon`
steps it forecasts are given too, for the model's head (see task and model). No window crosses
a series boundary. Every problem with the data is a SpecError naming it.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import SEQUENCES, VALUE, Data
from .frames import Series, load_frame, read_csv, roles, season_of, series_of
from .sequences import SequenceSet, check_x, read_npz, read_set
from .task import Classify, Forecast, Regress, Task, scaled
from .validate import SpecError, did_you_mean

# The splits of the study's own windows, in time order, as `predict` names them; new data is
# "new", and the window past the end of the data is "future".
SPLITS = ("train", "validation", "test")
_FIELD = {"train": "train", "validation": "val", "test": "test"}  # Windows' field prefixes


@dataclass(frozen=True)
class Windows:
    """Supervised windows, scaled, float32, in split and then series order.

    x: (n, window, n_inputs); k: (n, n_known) future covariates of the forecast steps;
    y: (n, n_outputs); at: (n, 2) the window's series index and the step (0-based, in its
    series) of the first value it forecasts.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    name: str
    task: Task
    train_k: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    val_k: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    test_k: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    train_at: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    val_at: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    test_at: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    summary: str = ""  # what was read, for the sweep's start-up lines
    season: int | None = None  # steps in one season, where the data have one (Data.season)

    @property
    def n_train(self) -> int:
        return len(self.train_y)

    @property
    def n_val(self) -> int:
        return len(self.val_y)

    @property
    def n_test(self) -> int:
        return len(self.test_y)

    @property
    def offset(self) -> float:
        """The first target's offset in the first series (a lone series' scaler)."""
        return float(self.task.offset.reshape(-1)[0])

    @property
    def scale(self) -> float:
        return float(self.task.scale.reshape(-1)[0])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, k, y) of "train", "val" or "test"."""
        return (getattr(self, f"{name}_x"), getattr(self, f"{name}_k"),
                getattr(self, f"{name}_y"))

    def baseline(self, loss: str, split: str = "val") -> float:
        """Loss of the task's baseline on a split (for forecasts the better naive forecast:
        repeat each target's last value, or predict its training mean): a model that cannot
        beat it has learnt nothing useful."""
        x, _, y = self.split(split)
        return self.task.baseline(loss, x, y, self.train_y)

    def heldout_as_validation(self) -> Windows:
        """These windows with the test split in the validation split's place."""
        return dataclasses.replace(self, val_x=self.test_x, val_k=self.test_k,
                                   val_y=self.test_y, val_at=self.test_at)


@dataclass(frozen=True)
class PredictionWindows:
    """Windows cut for prediction, one per row of a delivered model's table (before it is
    spread over forecast steps and targets).

    x, k: scaled as in the sweep; y: what is known of the targets in the data's own units,
    (n, horizon, n_targets) for series with NaN where unknown (the forecast past the end), the
    labels or numbers as given for sequences, or None; at: (n, 2) the window's row in the
    task's scalers and its first forecast step (0-based, in its series); split per window;
    times: (n, horizon) of the steps forecast where the data has a time column, else None."""

    x: np.ndarray
    k: np.ndarray
    y: np.ndarray | None
    at: np.ndarray
    split: np.ndarray
    times: np.ndarray | None = None
    grouped: bool = False  # the data name their series (a group column)


# The cutter: one for the sweep and for prediction.


@dataclass(frozen=True)
class Cut:
    """Where one series' windows lie: the steps each reads, shape (n, window), and forecasts,
    shape (n, horizon), and the split each belongs to, shape (n,)."""

    inputs: np.ndarray
    steps: np.ndarray
    split: np.ndarray

    def count(self, split: str) -> int:
        return int(np.sum(self.split == split))


def split_sizes(n_windows: int, data: Data) -> tuple[int, int, int]:
    """(train, validation, test) window counts of one series, in that time order."""
    n_val = max(1, round(n_windows * data.val_fraction)) if n_windows > 0 else 0
    n_test = round(n_windows * data.test_fraction)
    return n_windows - n_val - n_test, n_val, n_test


def window_index(n_steps: int, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps each sliding window reads, shape (n_windows, window), and the steps it forecasts,
    shape (n_windows, horizon): the `horizon` steps after its last one."""
    n_windows = max(0, n_steps - window - horizon + 1)
    start = np.arange(n_windows)[:, None]
    return start + np.arange(window)[None, :], start + window + np.arange(horizon)[None, :]


def cut_series(n_known: int, window: int, horizon: int, data: Data | None,
               future: bool = False) -> Cut:
    """Every window of a series whose `n_known` first steps have their targets, labelled with
    the split `data`'s fractions give it (train, validation, test in time order), or "new"
    without `data`; with `future`, also the window that forecasts the `horizon` steps after
    the last known one.

    With a horizon above 1, the horizon - 1 windows after each split's last one are left out:
    they would forecast steps the split before already forecasts, so validation would score
    targets that training fit (and test those that validation chose on)."""
    inputs, steps = window_index(n_known, window, horizon)
    if data is None:
        split = np.full(len(inputs), "new", dtype=object)
    else:
        split = _split_labels(len(inputs), data, horizon - 1)
        keep = split != None  # noqa: E711 (an object array: elementwise)
        inputs, steps, split = inputs[keep], steps[keep], split[keep]
    if future:
        inputs = np.vstack([inputs, np.arange(n_known - window, n_known)[None]])
        steps = np.vstack([steps, n_known + np.arange(horizon)[None]])
        split = np.append(split, "future")
    return Cut(inputs, steps, split)


def _split_labels(n_windows: int, data: Data, gap: int) -> np.ndarray:
    """Each window's split, None for the `gap` windows left out after a split's last one."""
    n_test_gap = gap if data.test_fraction else 0
    a, b, c = split_sizes(max(0, n_windows - gap - n_test_gap), data)
    if c == 0:  # no test windows: no gap before them either
        a, b, c = split_sizes(max(0, n_windows - gap), data)
        n_test_gap = 0
    if min(a, b) < 0 or a + b + c <= 0:
        a, b, c, gap, n_test_gap = 0, 0, 0, 0, 0
    parts = [["train"] * a, [None] * gap, ["validation"] * b, [None] * n_test_gap,
             ["test"] * c]
    labels = [x for part in parts for x in part]
    labels += [None] * (n_windows - len(labels))
    return np.array(labels[:n_windows], dtype=object)


def gather(values: np.ndarray, cut: Cut, n_targets: int, n_past: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, k, y) of a cut from a series' values (n_steps, columns: targets, past, future):
    x (n, window, columns), k (n, horizon * n_future) the future covariates of the steps
    forecast, y (n, horizon, n_targets); NaN past the end of the values."""
    n, horizon = cut.steps.shape
    padded = np.vstack([values, np.full((horizon, values.shape[1]), np.nan, values.dtype)])
    ahead = padded[cut.steps]  # (n, horizon, columns)
    n_future = values.shape[1] - n_targets - n_past
    return (padded[cut.inputs], ahead[:, :, n_targets + n_past:].reshape(n, horizon * n_future),
            ahead[:, :, :n_targets])


def halves(at: np.ndarray, interleave: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The validation windows in two halves: each series' earlier and later windows (`at`:
    each window's series and position, in time order within a series); series with one
    window go to the halves in turn. With `interleave` (a sequence set, whose order says
    nothing of time or class), every other window."""
    first, second, singles = [], [], []
    for s in np.unique(at[:, 0]):
        idx = np.flatnonzero(at[:, 0] == s)
        if interleave:
            first.append(idx[0::2])
            second.append(idx[1::2])
        elif len(idx) == 1:
            singles.append(int(idx[0]))
        else:
            first.append(idx[: len(idx) // 2])
            second.append(idx[len(idx) // 2:])
    first.append(np.array(singles[0::2], dtype=int))
    second.append(np.array(singles[1::2], dtype=int))
    return np.concatenate(first).astype(int), np.concatenate(second).astype(int)


# The sweep's windows.


def _column_stats(values: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale per last-axis column of training values, as `how` ("standard",
    "minmax", "none") measures them; a constant column's scale is (about) 0."""
    flat = values.reshape(-1, values.shape[-1])
    if how == "none":
        return np.zeros(flat.shape[1]), np.ones(flat.shape[1])
    if how == "standard":
        return flat.mean(axis=0), flat.std(axis=0)
    return flat.min(axis=0), flat.max(axis=0) - flat.min(axis=0)


def _constant(offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Which columns do not vary (their scale is 1 instead: only centred)."""
    return scale <= 1e-12 * np.maximum(1.0, np.abs(offset))


def _fit_scaler(part: np.ndarray, how: str, n_targets: int, label: str,
                names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale per column of a series' training part. A constant target has nothing
    to learn; a constant covariate is only centred."""
    offset, scale = _column_stats(part, how)
    flat = _constant(offset, scale)
    for j in np.flatnonzero(flat[:n_targets]):
        what = label if len(names) == 1 else f"{label}'s target {names[j]!r}"
        raise SpecError(f"{what} is constant over its training part ({offset[j]:g}); there is "
                        "nothing to learn.")
    return offset, np.where(flat, 1.0, scale)


def make_windows(series: Any, data: Data, name: str = "series") -> Windows:
    """Cut each series into windows, split each in time order, and scale each with statistics
    of its own training part. `series` is a list of Series or one 1-D array."""
    if isinstance(series, np.ndarray):
        frame = pd.DataFrame({VALUE: np.asarray(series, dtype=float)})
        data = dataclasses.replace(data, target=[VALUE], time=None, group=None,
                                   past_covariates=(), future_covariates=())
        series = series_of(data, frame, name)
    targets = tuple(data.target or ()) or (VALUE,)
    past, future = tuple(data.past_covariates), tuple(data.future_covariates)
    w, h, nt = data.window, data.horizon, len(targets)
    season = data.season
    names = [*targets, *past, *future]
    parts: dict[str, list[tuple[np.ndarray, ...]]] = {s: [] for s in SPLITS}
    offsets, scales = [], []
    for s_idx, s in enumerate(series):
        label = f"series {s.name!r}" + (f" ({data.group})" if data.group else "") if s.name \
            else f"the series {name!r}"
        cut = cut_series(s.n_known, w, h, data)
        n_train = cut.count("train")
        if n_train < (2 if len(series) == 1 else 1):
            need = w + h + math.ceil(2 / max(1e-9, 1 - data.val_fraction - data.test_fraction))
            raise SpecError(
                f"{label} has {s.n_known} points, too short for window={w} and "
                f"horizon={h} with these split fractions (needs at least about {need}).")
        # Everything the training windows touch, inputs and targets; nothing later.
        offset, scale = _fit_scaler(s.values[: n_train + w + h - 1], data.scale, nt, label,
                                    names)
        offsets.append(offset)
        scales.append(scale)
        x, k, y = gather(scaled(s.values, offset, scale), cut, nt, len(past))
        at = np.column_stack([np.full(len(x), s_idx), cut.steps[:, 0]])
        for split in SPLITS:
            pick = cut.split == split
            parts[split].append((x[pick], k[pick], y[pick].reshape(-1, h * nt), at[pick]))
    task = Forecast(targets, past, future, w, h, tuple(s.name for s in series),
                    np.array(offsets), np.array(scales))
    windows = _stack(parts, task, name, ((w, len(names)), (h * len(future),), (h * nt,)))
    if windows.n_train < 2:
        raise SpecError(f"the data {name!r} gives {windows.n_train} training windows; it needs "
                        "at least 2 (more rows, a shorter window or horizon, or smaller split "
                        "fractions).")
    return dataclasses.replace(windows, season=season)


def _stack(parts: dict[str, list[tuple[np.ndarray, ...]]], task: Task, name: str,
           widths: tuple[tuple[int, ...], ...]) -> Windows:
    """Windows from each series' (x, k, y, at) per split; `widths` are the shapes of one x, k
    and y, for splits without windows."""
    def stack(split: str, i: int) -> np.ndarray:
        got = [p[i] for p in parts[split] if len(p[i])]
        kind = np.float32 if i < 3 else int
        return np.concatenate(got).astype(kind) if got else \
            np.zeros((0, *(widths[i] if i < 3 else (2,))), kind)

    arrays = {f"{_FIELD[split]}_{part}": stack(split, i)
              for split in SPLITS for i, part in enumerate(("x", "k", "y", "at"))}
    return Windows(arrays["train_x"], arrays["train_y"], arrays["val_x"], arrays["val_y"],
                   arrays["test_x"], arrays["test_y"], name, task,
                   arrays["train_k"], arrays["val_k"], arrays["test_k"],
                   arrays["train_at"], arrays["val_at"], arrays["test_at"])


def describe_read(data: Data, frame: pd.DataFrame, series: list[Series], windows: Windows,
                  name: str) -> str:
    """The start-up line: what was read and how it was cut."""
    t = windows.task
    parts = [f"{name}: {len(frame)} rows", f"{len(series)} series" +
             (f" (by {data.group})" if data.group else ""),
             f"target{'s' if len(t.targets) > 1 else ''} {', '.join(t.targets)}"]
    if t.past:
        parts.append(f"past covariates {', '.join(t.past)}")
    if t.future:
        parts.append(f"future covariates {', '.join(t.future)}")
    parts.append(f"window {t.window}, horizon {t.horizon}")
    return ("; ".join(parts) + f"; {windows.n_train} training, {windows.n_val} validation and "
            f"{windows.n_test} test windows")


def prepare(data: Data, base_dir: Path | None = None, seed: int = 0) -> Windows:
    """Load, check, window, split and scale: everything a trial needs from the data. `seed`
    draws the validation and test sequences of a sequence set (series split in time order)."""
    if data.sequences:
        return prepare_sequences(data, base_dir, seed)
    frame, name, where = load_frame(data, base_dir)
    series = series_of(data, frame, where)
    windows = make_windows(series, dataclasses.replace(
        data, target=list(roles(data, frame, where)[0])), name)
    return dataclasses.replace(windows, summary=describe_read(data, frame, series, windows,
                                                             name),
                               season=data.season or season_of(series[0].times))


def _columns_scaler(values: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale per last-axis column of training values (a constant one: centred)."""
    offset, scale = _column_stats(values, how)
    return offset, np.where(_constant(offset, scale), 1.0, scale)


def _sequence_task(s: SequenceSet, data: Data) -> tuple[Task, str]:
    """The task of a sequence set, its scalers fit on the training sequences, and what it is
    in words for the start-up line."""
    x, train = s.x, s.parts[0]
    offset, scale = _columns_scaler(x[train], data.scale)
    if s.labels is not None:
        counts = np.bincount(s.labels[train], minlength=s.labels.max() + 1)
        task: Task = Classify(x.shape[2], len(counts), x.shape[1], offset, scale,
                              counts / counts.sum(), bool(counts.max() > 1.5 * counts.min()),
                              s.classes)
        every = np.bincount(s.labels)
        what = (f"task classify, {len(counts)} classes ({int(every.min())}-"
                f"{int(every.max())} sequences each)")
        if data.task is None and s.name not in SEQUENCES:
            what += " (y are whole numbers; say Data(task='regress') for numbers)"
        return task, what
    y_offset, y_scale = _columns_scaler(s.targets[train], data.scale)
    n = s.targets.shape[1]
    return (Regress(x.shape[2], n, x.shape[1], offset, scale, y_offset, y_scale),
            f"task regress, {n} number{'s' if n > 1 else ''} per sequence")


def _sequence_splits(s: SequenceSet) -> np.ndarray:
    """Each sequence's split, by name."""
    split = np.empty(len(s.x), dtype=object)
    for name, idx in zip(SPLITS, s.parts, strict=True):
        split[idx] = name
    return split


def prepare_sequences(data: Data, base_dir: Path | None = None, seed: int = 0) -> Windows:
    """A sequence set as windows: every sequence one window, split by `seed` (stratified by
    class), features (and numeric targets) scaled with the training sequences only."""
    s = read_set(data, base_dir, seed)
    task, what = _sequence_task(s, data)
    xs = task.encode_inputs(s.x)
    ys = task.encode_targets(s.labels if s.labels is not None else s.targets)
    at = np.column_stack([np.zeros(len(s.x), int), np.arange(len(s.x))])
    k = np.zeros((len(s.x), 0), np.float32)
    split = _sequence_splits(s)
    parts = {name: [(xs[split == name], k[split == name], ys[split == name],
                     at[split == name])] for name in SPLITS}
    windows = _stack(parts, task, s.name, ((s.x.shape[1], s.x.shape[2]), (0,),
                                           (ys.shape[1],)))
    train, val, test = (len(p) for p in s.parts)
    n_features = s.x.shape[2]
    summary = (f"{s.name}: {len(s.x)} sequences of {s.x.shape[1]} steps x {n_features} "
               f"feature{'s' if n_features != 1 else ''}; {what}; {train} training, {val} "
               f"validation and {test} test "
               f"sequences" + (f", stratified by class (seed {seed})" if s.labels is not None
                               else f" (drawn with seed {seed})"))
    return dataclasses.replace(windows, summary=summary)


# Prediction: the same cutter over the study's own data or new data.


def for_prediction(task: Task, description: dict[str, Any], data: Any = None,
                   base_dir: Path | None = None, split_seed: int = 0) -> PredictionWindows:
    """The windows a delivered model predicts: of the study's own data (`data` None, read
    from where the study read it, relative to `base_dir`; split as the sweep split it, with
    `split_seed` for a sequence set) or of new data (a CSV path, a DataFrame, or the values of
    a one-column series; for sequences an array (n, time, features) or an .npz file), scaled
    with the task's scalers. `description` is the data spec as `Data.describe` wrote it."""
    if Data.describes_sequences(description):
        return _sequences_for_prediction(task, description, data, base_dir, split_seed)
    return _series_for_prediction(task, description, data, base_dir)


def _frame_for_prediction(task: Task, description: dict[str, Any], data: Any,
                          base_dir: Path | None) -> tuple[pd.DataFrame, str, Data, bool]:
    """(frame, where, spec to read it with, whether it is the study's own data)."""
    if data is None:
        if description["source"] in ("array", "dataframe"):
            raise SpecError(f"this model was trained on {description['source']} data, which "
                            "it does not carry; pass the data to predict.")
        own = Data.from_description(description)
        frame, _, where = load_frame(own, base_dir)
        return frame, where, own, True
    spec = Data.from_description(description, source="toy")  # roles only; the frame is below
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise SpecError(f"{path}: no such data file.")
        frame, where = read_csv(path), path.name
    elif isinstance(data, pd.DataFrame):
        frame, where = data.reset_index(drop=True), "the DataFrame"
    else:
        values = np.asarray(data, dtype=float).reshape(-1)
        if len(task.columns) > 1 or description.get("group"):
            raise SpecError("this model reads several columns; pass a DataFrame or a CSV "
                            f"file with {', '.join(task.columns)}.")
        frame, where = pd.DataFrame({task.targets[0]: values}), "the data"
    if description.get("time") and description["time"] not in frame.columns:
        spec = dataclasses.replace(spec, time=None)  # new data may come without times
    return frame, where, dataclasses.replace(spec, target=list(task.targets)), False


def _read_series(task: Task, spec: Data, frame: pd.DataFrame, where: str, own: bool
                 ) -> list[Series]:
    """The series of a prediction frame; new values for a lone target may come under any
    column name, as a study reads them."""
    try:
        return series_of(spec, frame, where, future_rows=not own)
    except SpecError as exc:
        if own or len(task.columns) > 1 or spec.group:
            raise
        numeric = [str(c) for c in frame.select_dtypes("number").columns]
        if len(numeric) != 1:
            raise SpecError(f"{where} has no column {task.targets[0]!r}, the one this model "
                            f"reads, and {len(numeric)} numeric columns "
                            f"({', '.join(numeric) or 'none'}) to take it from.") from exc
        return series_of(dataclasses.replace(spec, target=numeric), frame, where,
                         future_rows=True)


def _scaler_rows(task: Task, series: list[Series], where: str) -> list[int]:
    """Each series' row in the task's scalers: by name when the study had several."""
    names = list(task.series)
    if len(names) == 1 and names[0] == "":
        if len(series) > 1:
            raise SpecError(f"{where} holds {len(series)} series, but this model was "
                            "trained on one.")
        return [0]
    index = []
    for s in series:
        if s.name not in names:
            raise SpecError(f"series {s.name!r} in {where} is not one this model was "
                            f"trained on{did_you_mean(s.name, names)}; it scales each "
                            "series with that series' own training statistics, so it knows "
                            f"only {', '.join(names)}.")
        index.append(names.index(s.name))
    return index


def _series_for_prediction(task: Task, description: dict[str, Any], data: Any,
                           base_dir: Path | None) -> PredictionWindows:
    frame, where, spec, own = _frame_for_prediction(task, description, data, base_dir)
    series = _read_series(task, spec, frame, where, own)
    w, h = task.window, task.horizon
    nt, n_past = len(task.targets), len(task.past)
    xs, ks, ys, ats, splits, times = [], [], [], [], [], []
    for s, row in zip(series, _scaler_rows(task, series, where), strict=True):
        label = f"series {s.name!r}" if s.name else where
        if s.n_known < w:
            raise SpecError(f"{label} has {s.n_known} values, too few for one window of "
                            f"{w}; this model needs at least {w}.")
        future = not task.future or s.future_rows >= h  # the forecast past the end
        if not future and s.future_rows:
            raise SpecError(f"the forecast past the end of {where}"
                            f"{f' (series {s.name!r})' if s.name else ''} needs the future "
                            f"covariates {', '.join(task.future)} for {h} steps, but only "
                            f"{s.future_rows} rows after its last target value give them.")
        cut = cut_series(s.n_known, w, h, spec if own else None, future)
        x, k, _ = gather(task.encode_inputs(s.values, row), cut, nt, n_past)
        xs.append(x)
        ks.append(k)
        ys.append(gather(s.values, cut, nt, n_past)[2])
        ats.append(np.column_stack([np.full(len(x), row), cut.steps[:, 0]]))
        splits.append(cut.split)
        times.append(_step_times(s, cut.steps))
    stamps = None if any(t is None for t in times) or not description.get("time") else \
        np.concatenate(times)
    return PredictionWindows(np.concatenate(xs), np.concatenate(ks), np.concatenate(ys),
                             np.concatenate(ats), np.concatenate(splits), stamps,
                             bool(description.get("group")))


def _step_times(s: Series, steps: np.ndarray) -> np.ndarray | None:
    """The time of every forecast step (n_windows, horizon): the series' own times, then
    continued by its usual step past its end."""
    if s.times is None:
        return None
    times = s.times
    if np.issubdtype(times.dtype, np.datetime64):
        t = pd.DatetimeIndex(times)
        with warnings.catch_warnings():  # pandas 3 announces a new return type; both serve
            warnings.simplefilter("ignore", DeprecationWarning)
            freq = pd.infer_freq(t) if len(t) >= 3 else None
        extra = pd.date_range(t[-1], periods=int(steps.max()) - len(t) + 2,
                              freq=freq or (t[-1] - t[-2]))[1:] if steps.max() >= len(t) \
            else pd.DatetimeIndex([])
        full = np.concatenate([times, extra.to_numpy()])
    else:
        step = times[-1] - times[-2] if len(times) > 1 else 1
        more = int(steps.max()) - len(times) + 1
        full = np.concatenate([times, times[-1] + step * np.arange(1, max(more, 0) + 1)])
    return full[steps]


def _sequences_for_prediction(task: Task, description: dict[str, Any], data: Any,
                              base_dir: Path | None, split_seed: int) -> PredictionWindows:
    if data is None:
        spec = Data.from_description(description)
        if spec.source == "arrays":
            raise SpecError("this model was trained on arrays, which it does not carry; "
                            "pass the sequences to predict.")
        s = read_set(spec, base_dir, split_seed)
        x, y, split = s.x, s.y, _sequence_splits(s)
    else:
        # New sequences: x alone; labels in the file, if any, are not the model's to read.
        x = read_npz(Path(data), need_y=False)[0] if isinstance(data, (str, Path)) else \
            np.asarray(data, dtype=float)
        y = None
        n_steps, n_features = task.input_shape
        if x.ndim != 3 or x.shape[1:] != (n_steps, n_features):
            raise SpecError(f"the sequences have shape {x.shape}; this model reads sequences "
                            f"of {n_steps} steps x {n_features} features, shape (n, "
                            f"{n_steps}, {n_features}).")
        check_x(x, "the sequences")
        split = np.full(len(x), "new", dtype=object)
    at = np.column_stack([np.zeros(len(x), int), np.arange(len(x))])
    return PredictionWindows(task.encode_inputs(x), np.zeros((len(x), 0), np.float32), y, at,
                             split)
