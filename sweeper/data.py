"""Data: a series, its sliding windows, a chronological split and a scaler fit on training only.

    series -> windows (n_windows, window, 1) -> train | validation | test, in time order
    scaler fit on the part of the series the training windows see -> applied to all parts

Nothing here knows about models or Optuna. Every problem with the data is raised as a SpecError
naming it, before any trial starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .validate import SpecError, did_you_mean, must, spec_dataclass

# Bundled series: name -> (file, value column). Sources are cited inside each CSV.
BUNDLED = {
    "sunspots": ("sunspots.csv", "sunspots"),  # yearly, 1700-2008, 309 points
    "co2": ("co2.csv", "co2"),  # monthly Mauna Loa CO2, 1958-2001, 526 points
    "co2_weekly": ("co2_weekly.csv", "co2"),  # the same, weekly, 2284 points
    "elnino": ("elnino.csv", "temperature"),  # monthly Nino 1+2 SST, 1950-2010, 732 points
}
# The tutorial's toy sequence 0.0, 0.1, ..., 1.0: with window 1 and half for validation it gives
# exactly its 5 training pairs (0.0->0.1 ... 0.4->0.5) and 5 validation pairs (0.5->0.6 ...).
TOY = tuple(round(0.1 * i, 1) for i in range(11))
SYNTHETIC_LENGTH = 600
SCALES = ("standard", "minmax", "none")


@spec_dataclass
class Data:
    """Where the series comes from and how it is cut into supervised windows."""

    # "toy", "synthetic", a bundled name (sunspots, co2, elnino), a CSV path, or an array.
    source: Any
    # CSV column holding the series; bundled sets and single-column CSVs need none.
    column: str | None = None
    # Past values the LSTM sees per prediction; one season or cycle is a good start.
    window: int = 12
    # Steps ahead of the window's last value that the model predicts.
    horizon: int = 1
    # Latest windows held out for validation; chronological, never shuffled.
    val_fraction: float = 0.2
    # Windows after validation that the sweep never sees (for final checks); 0 keeps none.
    test_fraction: float = 0.0
    # Fit on the training part only, so validation statistics never leak into training.
    scale: str = "standard"
    # Arrays compare by identity, not value: keeps the frozen dataclass hashable.
    values: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        src = self.source
        if not isinstance(src, (str, Path)):
            arr = np.asarray(src, dtype=float) if _array_like(src) else None
            if arr is None:
                raise must("Data.source", "a name, a CSV path or an array of numbers", src)
            object.__setattr__(self, "values", arr)
            object.__setattr__(self, "source", "array")
        if self.column is not None and not isinstance(self.column, str):
            raise must("Data.column", "one column name (a string)", self.column,
                       "sweeper fits one series per study; name the column that holds it.")
        for name in ("window", "horizon"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise must(f"Data.{name}", "an int >= 1", v)
        for name in ("val_fraction", "test_fraction"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise must(f"Data.{name}", "a fraction in [0, 1)", v)
        if self.val_fraction <= 0:
            raise must("Data.val_fraction", "> 0 (diagnosis needs a validation curve)",
                       self.val_fraction)
        if self.val_fraction + self.test_fraction >= 1:
            raise SpecError(
                "Data.val_fraction + Data.test_fraction must leave windows for training, but got "
                f"{self.val_fraction} + {self.test_fraction}."
            )
        if self.scale not in SCALES:
            raise must("Data.scale", f"one of {', '.join(SCALES)}", self.scale)

    @classmethod
    def toy(cls) -> Data:
        """The tutorial's problem: 5 training and 5 validation pairs, unscaled."""
        return cls(source="toy", window=1, val_fraction=0.5, scale="none")

    def describe(self) -> dict[str, Any]:
        return {
            "source": str(self.source), "column": self.column, "window": self.window,
            "horizon": self.horizon, "val_fraction": self.val_fraction,
            "test_fraction": self.test_fraction, "scale": self.scale,
        }


def _array_like(x: Any) -> bool:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.ndim >= 1


@dataclass(frozen=True)
class Windows:
    """Supervised windows, scaled. x: (n_windows, window, 1); y: (n_windows, 1); float32."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    offset: float  # scaled = (raw - offset) / scale
    scale: float
    name: str

    @property
    def n_train(self) -> int:
        return len(self.train_y)

    @property
    def n_val(self) -> int:
        return len(self.val_y)

    def baseline(self, loss: str) -> float:
        """Validation loss of the better naive forecast: persistence (repeat the window's last
        value) or the training mean. A model that cannot beat it has learnt nothing useful."""
        persistence = self.val_x[:, -1, :]
        mean = np.full_like(self.val_y, self.train_y.mean())
        return min(_loss(loss, persistence, self.val_y), _loss(loss, mean, self.val_y))


def _loss(name: str, pred: np.ndarray, y: np.ndarray) -> float:
    err = pred.astype(np.float64) - y.astype(np.float64)
    return float(np.mean(err**2) if name == "mse" else np.mean(np.abs(err)))


def load_series(data: Data, base_dir: Path | None = None) -> tuple[np.ndarray, str]:
    """The raw 1-D series and a short name for it."""
    src = data.source
    if data.values is not None:
        return _as_series(data.values, "the array"), "array"
    src = str(src)
    if src == "toy":
        return np.array(TOY, dtype=float), "toy"
    if src == "synthetic":
        return synthetic(), "synthetic"
    if src in BUNDLED:
        fname, column = BUNDLED[src]
        with resources.files("sweeper.datasets").joinpath(fname).open() as fh:
            frame = pd.read_csv(fh, comment="#")
        return _as_series(frame[column].to_numpy(), src), src
    path = Path(src)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        known = ", ".join(["toy", "synthetic", *BUNDLED])
        raise SpecError(
            f"Data.source {src!r} is neither a bundled dataset ({known}) nor an existing file "
            f"(looked for {path})."
        )
    try:
        frame = pd.read_csv(path, comment="#")
    except Exception as exc:  # pandas raises many types; all mean "not a readable CSV"
        raise SpecError(f"Data.source {path} is not a readable CSV file: {exc}.") from None
    if data.column is None:
        numeric = frame.select_dtypes("number").columns
        if len(numeric) != 1:
            raise SpecError(
                f"Data.column must name the series in {path.name}, which has columns "
                f"{', '.join(map(str, frame.columns))}."
            )
        column = numeric[0]
    else:
        column = data.column
        if column not in frame.columns:
            names = [str(c) for c in frame.columns]
            raise SpecError(
                f"Data.column {column!r} is not in {path.name}{did_you_mean(column, names)}; "
                f"its columns are {', '.join(names)}."
            )
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(frame[column].notna().to_numpy() & np.isnan(values))
    if bad.size:
        raise SpecError(
            f"Data.column {column!r} in {path.name} has {bad.size} non-numeric values "
            f"(first at row {bad[0] + 1}: {frame[column].iloc[bad[0]]!r})."
        )
    return _as_series(values, f"{path.name}[{column}]"), path.stem


def _as_series(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise SpecError(f"{what} must be a 1-D series, but has shape {arr.shape}.")
    nan = np.flatnonzero(~np.isfinite(arr))
    if nan.size:
        raise SpecError(
            f"{what} has {nan.size} missing or infinite values (first at row {nan[0] + 1}); "
            "fill or drop them before sweeping."
        )
    return arr


def synthetic(n: int = SYNTHETIC_LENGTH, seed: int = 0) -> np.ndarray:
    """A noisy seasonal series with a trend: learnable, but with noise to overfit to."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    seasonal = np.sin(2 * math.pi * t / 24) + 0.5 * np.sin(2 * math.pi * t / 97)
    return 0.01 * t + seasonal + 0.2 * rng.standard_normal(n)


def split_sizes(n_windows: int, data: Data) -> tuple[int, int, int]:
    """(train, validation, test) window counts, in that time order."""
    n_val = max(1, round(n_windows * data.val_fraction)) if n_windows > 0 else 0
    n_test = round(n_windows * data.test_fraction)
    return n_windows - n_val - n_test, n_val, n_test


def window_index(n_points: int, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions each sliding window reads, shape (n_windows, window), and the position of the
    value it predicts, shape (n_windows,): `horizon` steps after the window's last value."""
    n_windows = max(0, n_points - window - horizon + 1)
    inputs = np.arange(n_windows)[:, None] + np.arange(window)[None, :]
    return inputs, np.arange(n_windows) + window + horizon - 1


def make_windows(series: np.ndarray, data: Data, name: str = "series") -> Windows:
    """Cut, split in time order, and scale with statistics of the training part only."""
    w, h = data.window, data.horizon
    inputs, targets = window_index(len(series), w, h)
    n_train, n_val, _ = split_sizes(len(targets), data)
    if n_train < 2:
        need = w + h + 1 + math.ceil(2 / max(1e-9, 1 - data.val_fraction - data.test_fraction))
        raise SpecError(
            f"the series {name!r} has {len(series)} points, too short for window={w} and "
            f"horizon={h} with these split fractions (needs at least about {need})."
        )
    # Everything the training windows touch, inputs and targets; nothing later.
    seen_by_training = series[: n_train + w + h - 1]
    offset, scale = _fit_scaler(seen_by_training, data.scale, name)
    scaled = ((series - offset) / scale).astype(np.float32)
    x = scaled[inputs][:, :, None]
    y = scaled[targets][:, None]
    a, b = n_train, n_train + n_val
    return Windows(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], offset, scale, name)


def _fit_scaler(train_part: np.ndarray, how: str, name: str) -> tuple[float, float]:
    if how == "none":
        return 0.0, 1.0
    if how == "standard":
        offset, scale = float(train_part.mean()), float(train_part.std())
    else:
        offset, scale = float(train_part.min()), float(train_part.max() - train_part.min())
    if scale <= 1e-12 * max(1.0, abs(offset)):
        raise SpecError(
            f"the series {name!r} is constant over its training part ({offset:g}); "
            "there is nothing to learn."
        )
    return offset, scale


def prepare(data: Data, base_dir: Path | None = None) -> Windows:
    """Load, check, window, split and scale: everything a trial needs from the data."""
    series, name = load_series(data, base_dir)
    return make_windows(series, data, name)
