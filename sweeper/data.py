"""The data spec: `Data`, where the series or sequences come from and how they are cut.

    source (CSV, DataFrame, bundled name, array) -> frame -> series (by `group`, in `time`
    order) -> per series: windows of `window` steps that forecast the next `horizon` steps
    -> train | validation | test in time order -> scaled with that series' training part

or, for sequences, arrays x (n, time, features) and y, one label or row of numbers per
sequence, split by the study seed. Each arrow has its module: `frames` reads a source into
its series, `sequences` reads and splits a sequence set, `windows` cuts and scales them, for
the sweep and for prediction alike.

`Data` checks what it can without reading anything (names, roles, fractions, shapes of arrays
given in the study file); every problem is one SpecError naming the field.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
    # Steps in one season (12 for monthly data with a yearly cycle), for the "same season last
    # period" baseline; None: from the time column's spacing (monthly 12, quarterly 4, weekly
    # 52, daily 7, hourly 24), else the data have none.
    season: int | None = None
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
        s = self.season
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 2):
            raise must("Data.season", "an int >= 2 (steps in one season) or None", s)
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
            x, y = as_arrays(self.x, self.y)
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
            "test_fraction": self.test_fraction, "scale": self.scale, "season": self.season,
        }

    @staticmethod
    def describes_sequences(d: dict[str, Any]) -> bool:
        """Whether a description written by `describe` is of a sequence set (it has no
        window)."""
        return "window" not in d

    @classmethod
    def from_description(cls, d: dict[str, Any], source: Any = None) -> Data:
        """The spec a model file describes, reading `source` (default: where it read)."""
        if cls.describes_sequences(d):
            return cls(source=d["source"] if source is None else source, task=d.get("task"),
                       val_fraction=d["val_fraction"], test_fraction=d["test_fraction"],
                       scale=d["scale"])
        return cls(source=d["source"] if source is None else source, target=d.get("target"),
                   column=d.get("column"), time=d.get("time"),
                   past_covariates=d.get("past_covariates", ()),
                   future_covariates=d.get("future_covariates", ()), group=d.get("group"),
                   window=d["window"], horizon=d["horizon"], val_fraction=d["val_fraction"],
                   test_fraction=d["test_fraction"], scale=d["scale"], season=d.get("season"))


def as_arrays(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
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
    ya = np.asarray(y)
    if ya.dtype.kind not in "iufbUSO":
        raise must("Data.y", "one label (a name, a number or True/False) or row of numbers per "
                   "sequence", f"an array of {ya.dtype}")
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
