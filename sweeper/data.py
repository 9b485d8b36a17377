"""Data: a frame of one or more series, its windows, a chronological split per series, and a
scaler per series and column fit on each series' training part.

    source (CSV, DataFrame, bundled name, array) -> frame -> series (by `group`, in `time`
    order) -> per series: windows of `window` steps that forecast the next `horizon` steps
    -> train | validation | test in time order -> scaled with that series' training part

A window reads the targets, the past covariates (known only up to the forecast time) and the
future covariates (known ahead) over its `window` steps; the future covariates of the `horizon`
steps it forecasts are given too, for the model's head (see task and model). No window crosses
a series boundary.

Nothing here knows about models or Optuna. Every problem with the data is raised as a SpecError
naming it, before any trial starts; rows are counted from 1 as in a spreadsheet (the first row
under the header is row 1).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .task import Classify, Forecast, Regress
from .validate import SpecError, did_you_mean, must, spec_dataclass

# Bundled series: name -> (file, value column, time column). Sources are cited inside each CSV.
BUNDLED = {
    "sunspots": ("sunspots.csv", "sunspots", "year"),  # yearly, 1700-2008, 309 points
    "co2": ("co2.csv", "co2", "month"),  # monthly Mauna Loa CO2, 1958-2001, 526 points
    "co2_weekly": ("co2_weekly.csv", "co2", "week"),  # the same, weekly, 2284 points
    "elnino": ("elnino.csv", "temperature", "month"),  # monthly Nino 1+2 SST, 1950-2010, 732 points
    # quarterly US macroeconomic series, 1959-2009, 203 quarters (several columns)
    "macro": ("macro.csv", "gdp_growth", "date"),
    # yearly fertility rates of 20 countries, 1960-2011, in one frame (a `country` column)
    "fertility": ("fertility.csv", "fertility", "year"),
}
# The tutorial's toy sequence 0.0, 0.1, ..., 1.0: with window 1 and half for validation it gives
# exactly its 5 training pairs (0.0->0.1 ... 0.4->0.5) and 5 validation pairs (0.5->0.6 ...).
TOY = tuple(round(0.1 * i, 1) for i in range(11))
SYNTHETIC_LENGTH = 600
SCALES = ("standard", "minmax", "none")
TASK_KINDS = ("forecast", "classify", "regress")
# Bundled sequence sets: name -> file of arrays x (n, time, features) and y.
SEQUENCES = {
    # the UEA/UCI Japanese Vowels set: 640 utterances of 9 speakers, 29 frames x 12 features
    "japanese_vowels": "japanese_vowels.npz",
}
VALUE = "value"  # the column name of a series given as a plain array


def _names(value: Any, owner: str) -> tuple[str, ...]:
    """One column name or a list of them, as a tuple; SpecError for anything else."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        if len(set(value)) != len(value):
            raise must(owner, "a list of different column names", list(value))
        return tuple(value)
    raise must(owner, "a column name or a list of column names", value)


@spec_dataclass
class Data:
    """Where the series come from and how they are cut into supervised windows."""

    # A CSV path, a pandas DataFrame, a bundled name (sunspots, co2, elnino, macro, fertility,
    # toy, synthetic, ...), an array of numbers (one series), or an .npz file of sequences (x, y).
    source: Any = None
    # The column(s) forecast; a file or frame with one numeric column needs none.
    target: Any = None
    # The same as `target` for one column (kept for study files written before `target`).
    column: str | None = None
    # Optional: a time column, parsed and sorted; duplicates and gaps are refused with where.
    time: str | None = None
    # Columns known only up to the forecast time (weather measured so far, other sensors).
    past_covariates: Any = ()
    # Columns known ahead (calendar, holidays, planned prices): fed for the forecast steps too.
    future_covariates: Any = ()
    # Optional: a column naming each row's series, for several series in one frame.
    group: str | None = None
    # Past steps the LSTM reads per forecast; one season or cycle is a good start.
    window: int = 12
    # Steps forecast at once after the window's last one.
    horizon: int = 1
    # Latest windows of each series held out for validation; chronological, never shuffled.
    val_fraction: float = 0.2
    # Windows after validation that the sweep never sees, scored once at the end; 0 keeps none.
    test_fraction: float = 0.0
    # Fit per series and column on the training part only, so validation never leaks in.
    scale: str = "standard"
    # Sequences instead of a series: x of shape (n, time, features), y one label (or numbers)
    # per sequence.
    x: Any = field(default=None, compare=False, repr=False)
    y: Any = field(default=None, compare=False, repr=False)
    # "forecast" (series), "classify" (a class per sequence) or "regress" (numbers per
    # sequence); None: forecast for a series, and for sequences by y (whole numbers: classify).
    task: str | None = None
    # Arrays and frames compare by identity, not value: keeps the frozen dataclass hashable.
    values: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.task is not None and self.task not in TASK_KINDS:
            raise SpecError(f"Data.task must be one of {', '.join(TASK_KINDS)}, but got "
                            f"{self.task!r}{did_you_mean(str(self.task), TASK_KINDS)}.")
        if self.x is not None or self.y is not None or self.sequences:
            self._check_sequences()
            return
        if self.task in ("classify", "regress"):
            raise SpecError(f"Data.task {self.task!r} needs sequences: Data(x=..., y=...) or "
                            "an .npz file holding arrays x and y.")
        src = self.source
        if src is None:
            raise SpecError("Data needs a source (a CSV path, a DataFrame, a bundled name or an "
                            "array) or sequences x and y.")
        if isinstance(src, pd.DataFrame):
            object.__setattr__(self, "values", src)
            object.__setattr__(self, "source", "dataframe")
        elif not isinstance(src, (str, Path)):
            arr = np.asarray(src, dtype=float) if _array_like(src) else None
            if arr is None:
                raise must("Data.source", "a name, a CSV path, a DataFrame or an array of "
                                          "numbers", src)
            object.__setattr__(self, "values", arr)
            object.__setattr__(self, "source", "array")
        if self.column is not None and not isinstance(self.column, str):
            raise must("Data.column", "one column name (a string)", self.column,
                       "For several targets use Data(target=[...]).")
        targets = _names(self.target, "Data.target")
        if self.column is not None:
            if targets and targets != (self.column,):
                raise SpecError(f"Data.column is another name for a single Data.target; give "
                                f"one of them, not both ({self.column!r} and "
                                f"{list(targets)!r}).")
            targets = (self.column,)
        object.__setattr__(self, "target", list(targets) or None)
        object.__setattr__(self, "column", None)
        past = _names(self.past_covariates, "Data.past_covariates")
        future = _names(self.future_covariates, "Data.future_covariates")
        object.__setattr__(self, "past_covariates", past)
        object.__setattr__(self, "future_covariates", future)
        for name in ("time", "group"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise must(f"Data.{name}", "a column name or None", v)
        roles = [("target", c) for c in targets] + [("past_covariates", c) for c in past] + \
            [("future_covariates", c) for c in future] + \
            [(n, getattr(self, n)) for n in ("time", "group") if getattr(self, n)]
        seen: dict[str, str] = {}
        for role, column in roles:
            if column in seen:
                raise SpecError(f"the column {column!r} is both Data.{seen[column]} and "
                                f"Data.{role}; each column has one role.")
            seen[column] = role
        if self.source == "array" and (past or future or self.group or self.time):
            raise SpecError("an array holds one series and no named columns; covariates, "
                            "groups and times need a CSV file or a DataFrame.")
        for name in ("window", "horizon"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise must(f"Data.{name}", "an int >= 1", v)
        self._check_split("windows")

    @property
    def sequences(self) -> bool:
        """Whether this is a set of labelled sequences rather than series to forecast."""
        src = str(self.source) if isinstance(self.source, (str, Path)) else ""
        return self.x is not None or src.endswith(".npz") or src in SEQUENCES

    def _check_sequences(self) -> None:
        """Shapes and fractions of a sequence set, checked where they are known."""
        if self.task == "forecast":
            raise SpecError("Data.task 'forecast' needs series (a CSV, DataFrame, bundled name "
                            "or array as the source), not sequences x and y.")
        if self.x is not None or self.y is not None:
            if self.x is None or self.y is None:
                raise SpecError("Data needs both x (sequences) and y (one label or number per "
                                "sequence).")
            x, y = _as_arrays(self.x, self.y)
            object.__setattr__(self, "x", x)
            object.__setattr__(self, "y", y)
            object.__setattr__(self, "source", "arrays")
        self._check_split("sequences")

    def _check_split(self, units: str) -> None:
        """The split fractions and the scaler, for windows or sequences (`units`)."""
        for name in ("val_fraction", "test_fraction"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise must(f"Data.{name}", "a fraction in [0, 1)", v)
        if self.val_fraction <= 0:
            raise must("Data.val_fraction", "> 0 (diagnosis needs a validation curve)",
                       self.val_fraction)
        if self.val_fraction + self.test_fraction >= 1:
            raise SpecError(
                f"Data.val_fraction + Data.test_fraction must leave {units} for training, but "
                f"got {self.val_fraction} + {self.test_fraction}.")
        if self.scale not in SCALES:
            raise must("Data.scale", f"one of {', '.join(SCALES)}", self.scale)

    @classmethod
    def toy(cls) -> Data:
        """The tutorial's problem: 5 training and 5 validation pairs, unscaled."""
        return cls(source="toy", window=1, val_fraction=0.5, scale="none")

    def describe(self) -> dict[str, Any]:
        if self.sequences:
            return {"source": str(self.source), "task": self.task,
                    "val_fraction": self.val_fraction, "test_fraction": self.test_fraction,
                    "scale": self.scale}
        return {
            "source": str(self.source), "target": self.target, "time": self.time,
            "past_covariates": list(self.past_covariates),
            "future_covariates": list(self.future_covariates), "group": self.group,
            "window": self.window, "horizon": self.horizon, "val_fraction": self.val_fraction,
            "test_fraction": self.test_fraction, "scale": self.scale,
        }

    @classmethod
    def from_description(cls, d: dict[str, Any], source: Any = None) -> Data:
        """The spec a model file describes, reading `source` (default: where it read)."""
        if "window" not in d:  # sequences
            return cls(source=d["source"] if source is None else source, task=d.get("task"),
                       val_fraction=d["val_fraction"], test_fraction=d["test_fraction"],
                       scale=d["scale"])
        return cls(source=d["source"] if source is None else source, target=d.get("target"),
                   column=d.get("column"), time=d.get("time"),
                   past_covariates=d.get("past_covariates", ()),
                   future_covariates=d.get("future_covariates", ()), group=d.get("group"),
                   window=d["window"], horizon=d["horizon"], val_fraction=d["val_fraction"],
                   test_fraction=d["test_fraction"], scale=d["scale"])


def _as_arrays(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """x as float (n, time, features) and y as (n,) or (n, outputs); SpecError on a shape that
    does not fit."""
    try:
        xa = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise must("Data.x", "an array of numbers of shape (n, time, features)",
                   type(x).__name__) from None
    if xa.ndim != 3:
        raise SpecError(f"Data.x must have shape (n, time, features), but got shape "
                        f"{xa.shape}" + (" (one feature? add it as a last axis of size 1)"
                                         if xa.ndim == 2 else "") + ".")
    try:
        ya = np.asarray(y)
        if ya.dtype.kind not in "iuf b":
            ya = ya.astype(float)
    except (TypeError, ValueError):
        raise must("Data.y", "numbers, one label or value per sequence", type(y).__name__) \
            from None
    if ya.ndim not in (1, 2) or len(ya) != len(xa):
        raise SpecError(f"Data.y must hold one label (or row of numbers) per sequence of x: x "
                        f"has {len(xa)} sequences, but y has shape {ya.shape}.")
    return xa, ya


def _array_like(x: Any) -> bool:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.ndim >= 1


@dataclass(frozen=True)
class Series:
    """One series of the frame, in time order. `values` has one column per input column
    (targets, past covariates, future covariates); `rows` are the frame rows (1-based) the
    steps came from, for messages; `future_rows` trailing steps carry only future covariates
    (the forecast period of new data)."""

    name: str
    values: np.ndarray  # (n_steps, n_columns)
    times: np.ndarray | None  # (n_steps,) datetime64, or None
    rows: np.ndarray
    future_rows: int = 0

    @property
    def n_known(self) -> int:
        """Steps whose targets are known."""
        return len(self.values) - self.future_rows


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
    task: Forecast
    train_k: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    val_k: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    test_k: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    train_at: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    val_at: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    test_at: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    summary: str = ""  # what was read, for the sweep's start-up lines

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
        return float(self.task.offset[0, 0])

    @property
    def scale(self) -> float:
        return float(self.task.scale[0, 0])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, k, y) of "train", "val" or "test"."""
        return (getattr(self, f"{name}_x"), getattr(self, f"{name}_k"),
                getattr(self, f"{name}_y"))

    def baseline(self, loss: str, split: str = "val") -> float:
        """Loss of the better naive forecast (repeat each target's last value, or predict its
        training mean) on a split: a model that cannot beat it has learnt nothing useful."""
        x, _, y = self.split(split)
        return self.task.baseline(loss, x, y, self.train_y)

    def test_as_validation(self) -> Windows:
        """These windows with the test split in the validation split's place."""
        return dataclasses.replace(self, val_x=self.test_x, val_k=self.test_k,
                                   val_y=self.test_y, val_at=self.test_at)


# Loading: a frame and the column roles.


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, comment="#")
    except Exception as exc:  # pandas raises many types; all mean "not a readable CSV"
        raise SpecError(f"{what} {path} is not a readable CSV file: {exc}.") from None


def load_frame(data: Data, base_dir: Path | None = None) -> tuple[pd.DataFrame, str, str]:
    """(frame, short name, where: a phrase naming it in messages) for the data's source. A
    1-D source becomes a frame with one column, `value` (or its bundled name)."""
    if data.values is not None:
        if isinstance(data.values, pd.DataFrame):
            return data.values.reset_index(drop=True), "dataframe", "the DataFrame"
        arr = data.values
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.reshape(-1)
        if arr.ndim != 1:
            raise SpecError(f"the array must be a 1-D series, but has shape {arr.shape}.")
        return pd.DataFrame({VALUE: arr}), "array", "the array"
    src = str(data.source)
    if src == "toy":
        return pd.DataFrame({VALUE: np.array(TOY, dtype=float)}), "toy", "toy"
    if src == "synthetic":
        return pd.DataFrame({VALUE: synthetic()}), "synthetic", "synthetic"
    if src in BUNDLED:
        fname = BUNDLED[src][0]
        with resources.files("sweeper.datasets").joinpath(fname).open() as fh:
            return pd.read_csv(fh, comment="#"), src, src
    path = Path(src)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        known = ", ".join(["toy", "synthetic", *BUNDLED])
        raise SpecError(
            f"Data.source {src!r} is neither a bundled dataset ({known}) nor an existing file "
            f"(looked for {path})."
        )
    return _read_csv(path, "Data.source"), path.stem, path.name


def roles(data: Data, frame: pd.DataFrame, where: str) -> tuple[tuple[str, ...], ...]:
    """(targets, past covariates, future covariates), each checked against the frame."""
    columns = [str(c) for c in frame.columns]
    targets = tuple(data.target or ())
    if not targets:
        src = str(data.source)
        if src in BUNDLED and BUNDLED[src][1] in columns:
            targets = (BUNDLED[src][1],)
        else:
            others = {data.time, data.group, *data.past_covariates, *data.future_covariates}
            numeric = [str(c) for c in frame.select_dtypes("number").columns
                       if str(c) not in others]
            if len(numeric) != 1:
                raise SpecError(f"Data.target must name the series in {where}, which has "
                                f"columns {', '.join(columns)}.")
            targets = (numeric[0],)
    for role, names in (("target", targets), ("past_covariates", data.past_covariates),
                        ("future_covariates", data.future_covariates),
                        ("time", (data.time,) if data.time else ()),
                        ("group", (data.group,) if data.group else ())):
        for name in names:
            if name not in columns:
                raise SpecError(f"Data.{role} {name!r} is not in {where}"
                                f"{did_you_mean(name, columns)}; its columns are "
                                f"{', '.join(columns)}.")
    return targets, tuple(data.past_covariates), tuple(data.future_covariates)


def _numeric(frame: pd.DataFrame, column: str, role: str, where: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(frame[column].notna().to_numpy() & np.isnan(values))
    if bad.size:
        raise SpecError(
            f"Data.{role} {column!r} in {where} is not numeric: {bad.size} values are not "
            f"numbers (first at row {bad[0] + 1}: {frame[column].iloc[bad[0]]!r})"
            + ("; encode it as numbers, e.g. one 0/1 column per category." if role != "target"
               else ".")
        )
    return values


def _times(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    raw = frame[column]
    missing = np.flatnonzero(raw.isna().to_numpy())
    if missing.size:
        raise SpecError(f"Data.time {column!r} in {where} has {missing.size} missing values "
                        f"(first at row {missing[0] + 1}).")
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw.to_numpy()
    if pd.api.types.is_numeric_dtype(raw):  # years or step counts: keep them as numbers
        return raw.to_numpy(dtype=float)
    parsed = pd.to_datetime(raw.astype(str), errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise SpecError(f"Data.time {column!r} in {where} has values that are not times "
                        f"(row {bad[0] + 1}: {raw.iloc[bad[0]]!r}); use ISO dates such as "
                        "2024-01-31 or 2024-01-31 13:00.")
    return parsed.to_numpy()


def _show(t: Any) -> str:
    if isinstance(t, (float, np.floating)) and float(t).is_integer():
        return str(int(t))
    if isinstance(t, np.datetime64):
        stamp = pd.Timestamp(t)
        return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
    return str(t)


def _steps(times: np.ndarray) -> tuple[np.ndarray, str]:
    """Times as numbers whose differences are the steps, and the steps' unit: months for
    dates on one day of the month (or all month ends), so that months, quarters and years of
    different lengths count as equal steps; nanoseconds for other dates."""
    if not np.issubdtype(times.dtype, np.datetime64):
        return times.astype(float), ""
    t = pd.DatetimeIndex(times)
    midnight = bool((t == t.normalize()).all())
    if midnight and (len(set(t.day)) == 1 or bool(t.is_month_end.all())):
        return (t.year * 12 + t.month).to_numpy(dtype=float), "months"
    return t.as_unit("ns").asi8.astype(float), "ns"


def _show_step(step: float, unit: str) -> str:
    if unit == "months":
        return {1: "1 month", 3: "a quarter", 12: "a year"}.get(int(step), f"{step:g} months")
    if unit == "ns":
        seconds = step / 1e9
        for size, name in ((86400 * 7, "week"), (86400, "day"), (3600, "hour"), (60, "minute"),
                           (1, "second")):
            if seconds >= size and seconds % size == 0:
                n = int(seconds // size)
                return f"{n} {name}" + ("s" if n > 1 else "")
        return str(pd.Timedelta(int(step), unit="ns"))
    return f"{step:g}"


def _check_spacing(times: np.ndarray, rows: np.ndarray, series: str, where: str) -> None:
    """Refuse duplicate times and gaps: a window must span `window` equal steps."""
    if len(times) < 2:
        return
    numbers, unit = _steps(times)
    diffs = np.diff(numbers)
    dup = np.flatnonzero(diffs == 0)
    if dup.size:
        i = dup[0]
        raise SpecError(f"Data.time: {series} has two rows at {_show(times[i])} (rows "
                        f"{rows[i]} and {rows[i + 1]} of {where}); keep one.")
    values, counts = np.unique(diffs, return_counts=True)
    step = values[np.argmax(counts)]
    off = np.flatnonzero(diffs != step)
    if not off.size:
        return
    i = off[0]
    ratio = diffs[off] / step
    if np.all(ratio == np.round(ratio)) and np.all(ratio > 1):
        raise SpecError(
            f"Data.time: {series} is missing {int((ratio - 1).sum())} timestamps (first after "
            f"{_show(times[i])}, row {rows[i]} of {where}, where the step is "
            f"{_show_step(step, unit)}); fill them in, e.g. by interpolating, or drop the "
            "series.")
    raise SpecError(f"Data.time: {series} is not evenly spaced: {_show(times[i])} to "
                    f"{_show(times[i + 1])} (rows {rows[i]} and {rows[i + 1]} of {where}) where "
                    f"most steps are {_show_step(step, unit)}.")


def series_of(data: Data, frame: pd.DataFrame, where: str, future_rows: bool = False
              ) -> list[Series]:
    """The frame's series in time order, checked. With `future_rows`, trailing rows of a
    series whose targets and past covariates are all empty are its forecast period (new data
    for `predict`); otherwise every value must be there."""
    targets, past, future = roles(data, frame, where)
    columns = [*targets, *past, *future]
    role_of = {**{c: "target" for c in targets}, **{c: "past_covariates" for c in past},
               **{c: "future_covariates" for c in future}}
    values = np.column_stack([_numeric(frame, c, role_of[c], where) for c in columns])
    rows = np.arange(1, len(frame) + 1)
    times = _times(frame, data.time, where) if data.time else None
    if data.group:
        keys = frame[data.group]
        if keys.isna().any():
            first = int(np.flatnonzero(keys.isna().to_numpy())[0]) + 1
            raise SpecError(f"Data.group {data.group!r} in {where} is empty at row {first}; "
                            "every row needs its series.")
        groups = [(str(g), np.flatnonzero((keys == g).to_numpy()))
                  for g in pd.unique(keys)]
    else:
        groups = [("", np.arange(len(frame)))]
    n_head = len(targets) + len(past)
    out = []
    for name, idx in groups:
        label = f"series {name!r} ({data.group})" if data.group else "the series"
        if times is not None:
            idx = idx[np.argsort(times[idx], kind="stable")]
        v, r = values[idx], rows[idx]
        n_future = 0
        if future_rows:
            known = ~np.all(np.isnan(v[:, :n_head]), axis=1)
            n_future = len(v) - (int(np.flatnonzero(known)[-1]) + 1 if known.any() else 0)
        known_part = ~np.isfinite(v[: len(v) - n_future])
        if known_part.any():
            i, j = np.argwhere(known_part)[0]
            raise SpecError(f"{where} has {int(known_part.sum())} missing or infinite values "
                            f"in {label} (first at row {r[i]}, column {columns[j]!r}); fill or "
                            "drop them before sweeping.")
        if n_future:
            ahead = ~np.isfinite(v[len(v) - n_future:, n_head:])
            if ahead.any():
                i, j = np.argwhere(ahead)[0]
                raise SpecError(f"the future covariate {columns[n_head + j]!r} of {label} is "
                                f"missing at row {r[len(v) - n_future + i]} of {where}, in the "
                                "forecast period after its last target value; future "
                                "covariates must be known there.")
        if times is not None:
            _check_spacing(times[idx], r, label, where)
        out.append(Series(name, v, None if times is None else times[idx], r, n_future))
    return out


def load_series(data: Data, base_dir: Path | None = None) -> tuple[np.ndarray, str]:
    """The raw first target of a single-series source and a short name for it."""
    frame, name, where = load_frame(data, base_dir)
    series = series_of(data, frame, where)
    return series[0].values[:, 0], name


# Windows and splits.


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


def _fit_scaler(part: np.ndarray, how: str, n_targets: int, label: str,
                names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale per column of a series' training part. A constant target has nothing
    to learn; a constant covariate is only centred."""
    if how == "none":
        return np.zeros(part.shape[1]), np.ones(part.shape[1])
    if how == "standard":
        offset, scale = part.mean(axis=0), part.std(axis=0)
    else:
        offset, scale = part.min(axis=0), part.max(axis=0) - part.min(axis=0)
    flat = scale <= 1e-12 * np.maximum(1.0, np.abs(offset))
    for j in np.flatnonzero(flat[:n_targets]):
        what = label if len(names) == 1 else f"{label}'s target {names[j]!r}"
        raise SpecError(f"{what} is constant over its training part ({offset[j]:g}); there is "
                        "nothing to learn.")
    return offset, np.where(flat, 1.0, scale)


def make_windows(series: Any, data: Data, name: str = "series",
                 task_from: Forecast | None = None) -> Windows:
    """Cut each series into windows, split each in time order, and scale each with statistics
    of its own training part (or, with `task_from`, with that task's scalers: new data cut as
    the study's was). `series` is a list of Series or one 1-D array."""
    if isinstance(series, np.ndarray):
        frame = pd.DataFrame({VALUE: np.asarray(series, dtype=float)})
        series = series_of(dataclasses.replace(data, target=[VALUE], time=None, group=None,
                                               past_covariates=(), future_covariates=()),
                           frame, name)
        targets, past, future = (VALUE,), (), ()
    elif task_from is not None:
        targets, past, future = task_from.targets, task_from.past, task_from.future
    else:
        targets = tuple(data.target or ()) or (VALUE,)
        past, future = tuple(data.past_covariates), tuple(data.future_covariates)
    w, h = data.window, data.horizon
    nt, nf = len(targets), len(future)
    names = [*targets, *past, *future]
    parts: dict[str, list[tuple[np.ndarray, ...]]] = {"train": [], "val": [], "test": []}
    offsets, scales = [], []
    for s_idx, s in enumerate(series):
        label = f"series {s.name!r}" + (f" ({data.group})" if data.group else "") if s.name \
            else f"the series {name!r}"
        inputs, steps = window_index(s.n_known, w, h)
        n_train, n_val, n_test = split_sizes(len(inputs), data)
        if task_from is None:
            if n_train < (2 if len(series) == 1 else 1):
                need = w + h + math.ceil(2 / max(1e-9, 1 - data.val_fraction -
                                                  data.test_fraction))
                raise SpecError(
                    f"{label} has {s.n_known} points, too short for window={w} and "
                    f"horizon={h} with these split fractions (needs at least about {need}).")
            # Everything the training windows touch, inputs and targets; nothing later.
            offset, scale = _fit_scaler(s.values[: n_train + w + h - 1], data.scale, nt, label,
                                        names)
        else:
            offset, scale = task_from.offset[s_idx], task_from.scale[s_idx]
        offsets.append(offset)
        scales.append(scale)
        scaled = ((s.values - offset) / scale).astype(np.float32)
        x = scaled[inputs]
        y = scaled[steps][:, :, :nt].reshape(len(inputs), h * nt)
        k = scaled[steps][:, :, nt + len(past):].reshape(len(inputs), h * nf)
        at = np.column_stack([np.full(len(inputs), s_idx), steps[:, 0]]) if len(inputs) \
            else np.zeros((0, 2), int)
        bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val),
                  "test": (n_train + n_val, len(inputs))}
        if task_from is not None:
            bounds = {"train": (0, 0), "val": (0, len(inputs)), "test": (0, 0)}
        for split, (a, b) in bounds.items():
            parts[split].append((x[a:b], k[a:b], y[a:b], at[a:b]))
    task = task_from or Forecast(targets, past, future, w, h, tuple(s.name for s in series),
                                 np.array(offsets), np.array(scales))

    def stack(split: str, i: int, width: tuple[int, ...]) -> np.ndarray:
        got = [p[i] for p in parts[split] if len(p[i])]
        return np.concatenate(got).astype(np.float32 if i < 3 else int) if got else \
            np.zeros((0, *width), np.float32 if i < 3 else int)

    shapes = ((w, len(names)), (h * nf,), (h * nt,), (2,))
    arrays = {f"{split}_{kind}": stack(split, i, shapes[i])
              for split in parts for i, kind in enumerate("xkya")}
    windows = Windows(
        arrays["train_x"], arrays["train_y"], arrays["val_x"], arrays["val_y"],
        arrays["test_x"], arrays["test_y"], name, task,
        arrays["train_k"], arrays["val_k"], arrays["test_k"],
        arrays["train_a"], arrays["val_a"], arrays["test_a"])
    if task_from is None and windows.n_train < 2:
        raise SpecError(f"the data {name!r} gives {windows.n_train} training windows; it needs "
                        "at least 2 (more rows, a shorter window or horizon, or smaller split "
                        "fractions).")
    return windows


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


def synthetic(n: int = SYNTHETIC_LENGTH, seed: int = 0) -> np.ndarray:
    """A noisy seasonal series with a trend: learnable, but with noise to overfit to."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    seasonal = np.sin(2 * math.pi * t / 24) + 0.5 * np.sin(2 * math.pi * t / 97)
    return 0.01 * t + seasonal + 0.2 * rng.standard_normal(n)


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
                                                             name))


# Sequences: a label or numbers per sequence.


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
                return (*_as_arrays(npz["x"], npz["y"]), src, src)
    path = Path(src)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise SpecError(f"Data.source {src!r} is neither a bundled set "
                        f"({', '.join(SEQUENCES)}) nor an existing file (looked for {path}).")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("x", "y") if k not in npz.files]
            if missing:
                raise SpecError(f"Data.source {path.name} holds {', '.join(npz.files) or 'no '}"
                                f" arrays but not {' and '.join(missing)}; save it with "
                                "numpy.savez(path, x=..., y=...).")
            return (*_as_arrays(npz["x"], npz["y"]), path.stem, path.name)
    except SpecError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SpecError(f"Data.source {path.name} holds Python objects, not plain arrays; "
                            "sweeper does not unpickle data files. Save numeric arrays.") \
                from None
        raise SpecError(f"Data.source {path.name} is not a readable .npz file ({exc}).") \
            from None
    except (OSError, EOFError, KeyError) as exc:
        raise SpecError(f"Data.source {path.name} is not a readable .npz file ({exc}).") \
            from None


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


def _columns_scaler(values: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale per last-axis column of training values (a constant one: centred)."""
    flat = values.reshape(-1, values.shape[-1])
    if how == "none":
        return np.zeros(flat.shape[1]), np.ones(flat.shape[1])
    if how == "standard":
        offset, scale = flat.mean(axis=0), flat.std(axis=0)
    else:
        offset, scale = flat.min(axis=0), flat.max(axis=0) - flat.min(axis=0)
    return offset, np.where(scale <= 1e-12 * np.maximum(1.0, np.abs(offset)), 1.0, scale)


def prepare_sequences(data: Data, base_dir: Path | None = None, seed: int = 0) -> Windows:
    """A sequence set as windows: every sequence one window, split by `seed` (stratified by
    class), features (and numeric targets) scaled with the training sequences only."""
    x, y, name, where = load_sequences(data, base_dir)
    check_x(x, where)
    kind = data.task or ("classify" if y.dtype.kind in "iub" else "regress")
    labels = class_labels(y, where) if kind == "classify" else None
    if labels is None:
        targets = y.astype(float).reshape(len(y), -1)
        if not np.isfinite(targets).all():
            i = int(np.argwhere(~np.isfinite(targets))[0][0])
            raise SpecError(f"Data.y in {where} has missing or infinite values (first for "
                            f"sequence {i + 1}).")
    train, val, test = split_sequences(labels, len(x), data, seed, where)
    offset, scale = _columns_scaler(x[train], data.scale)
    xs = ((x - offset) / scale).astype(np.float32)
    if labels is not None:
        counts = np.bincount(labels[train], minlength=labels.max() + 1)
        task: Any = Classify(x.shape[2], len(counts), x.shape[1], offset, scale,
                             counts / counts.sum(), bool(counts.max() > 1.5 * counts.min()))
        ys = labels.astype(np.float32)[:, None]
        what = (f"task classify, {task.n_classes} classes ({int(np.bincount(labels).min())}-"
                f"{int(np.bincount(labels).max())} sequences each)")
        if data.task is None and name not in SEQUENCES:
            what += " (y are whole numbers; say Data(task='regress') for numbers)"
    else:
        y_offset, y_scale = _columns_scaler(targets[train], data.scale)
        task = Regress(x.shape[2], targets.shape[1], x.shape[1], offset, scale, y_offset,
                       y_scale)
        ys = ((targets - y_offset) / y_scale).astype(np.float32)
        what = f"task regress, {targets.shape[1]} number{'s' if targets.shape[1] > 1 else ''} " \
               "per sequence"
    at = np.column_stack([np.zeros(len(x), int), np.arange(len(x))])
    empty = np.zeros((len(x), 0), np.float32)
    pick = {"train": train, "val": val, "test": test}
    windows = Windows(xs[train], ys[train], xs[val], ys[val], xs[test], ys[test], name, task,
                      *(empty[pick[s]] for s in pick), *(at[pick[s]] for s in pick))
    summary = (f"{name}: {len(x)} sequences of {x.shape[1]} steps x {x.shape[2]} features; "
               f"{what}; {len(train)} training, {len(val)} validation and {len(test)} test "
               f"sequences" + (f", stratified by class (seed {seed})" if labels is not None
                               else f" (drawn with seed {seed})"))
    return dataclasses.replace(windows, summary=summary)
