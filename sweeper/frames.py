"""Reading series: a source as a frame, its column roles, and its series in time order, checked.

    source (CSV, DataFrame, bundled name, array) -> frame -> roles (targets, past and future
    covariates, time, group) -> one `Series` per group, sorted by time, evenly spaced

Every problem with the data is raised as a SpecError naming it, before any trial starts; rows
are counted from 1 as in a spreadsheet (the first row under the header is row 1). Used alike
for the study's data and for new data given to a delivered model (see windows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import BUNDLED, SYNTHETIC_LENGTH, TOY, VALUE, Data
from .validate import SpecError, did_you_mean


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




def read_csv(path: Path, what: str = "") -> pd.DataFrame:
    """A CSV file as a frame (lines starting with # are comments); `what` names the file's
    role in the message (e.g. "Data.source ")."""
    try:
        return pd.read_csv(path, comment="#")
    except Exception as exc:  # pandas raises many types; all mean "not a readable CSV"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SpecError(f"{what}{path} is not a readable CSV file: {first}.") from None


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
    return read_csv(path, "Data.source "), path.stem, path.name


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


# Steps per season by the spacing of dated rows: (unit of `_steps`, step) -> season.
SEASONS = {("months", 1): 12, ("months", 3): 4, ("ns", 7 * 86400e9): 52, ("ns", 86400e9): 7,
           ("ns", 3600e9): 24}


def season_of(times: np.ndarray | None) -> int | None:
    """Steps in one season of evenly spaced dated rows (monthly 12, quarterly 4, weekly 52,
    daily 7, hourly 24); None for other spacings, numbers, or no times."""
    if times is None or len(times) < 2:
        return None
    numbers, unit = _steps(times)
    step = float(np.median(np.diff(numbers)))
    return SEASONS.get((unit, step))


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



def synthetic(n: int = SYNTHETIC_LENGTH, seed: int = 0) -> np.ndarray:
    """A noisy seasonal series with a trend: learnable, but with noise to overfit to."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    seasonal = np.sin(2 * math.pi * t / 24) + 0.5 * np.sin(2 * math.pi * t / 97)
    return 0.01 * t + seasonal + 0.2 * rng.standard_normal(n)
