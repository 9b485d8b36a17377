"""Training histories from files: Keras CSVLogger, Lightning CSVLogger, generic CSV and JSON.

Everything becomes a `History`: per-epoch training and validation loss, shape (n_epochs,) each.
Unreadable or ambiguous files raise SpecError with one sentence naming the file. No torch here,
so `python -m sweeper diagnose` starts fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .validate import SpecError

# Column names tried in order when the user names none.
TRAIN_COLUMNS = ("loss", "train_loss_epoch", "train_loss", "training_loss", "train")
VAL_COLUMNS = ("val_loss", "val_loss_epoch", "validation_loss", "valid_loss", "val")
EPOCH_COLUMNS = ("epoch", "epochs")


@dataclass(frozen=True)
class History:
    train: np.ndarray  # (n_epochs,)
    val: np.ndarray  # (n_epochs,)
    source: str  # where it came from, for messages
    columns: tuple[str, str]  # (train column, validation column)


def read_history(path: str | Path, train_col: str | None = None, val_col: str | None = None,
                 epoch_col: str | None = None) -> History:
    """Read one history file; CSV unless it ends in .json."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such file.")
    try:
        frame = _read_json(path) if path.suffix.lower() == ".json" else pd.read_csv(path)
    except SpecError:
        raise
    except Exception as exc:  # parser errors come in many types
        raise SpecError(f"{path}: cannot be read as a training history ({exc}).") from None
    return _from_frame(frame, str(path), train_col, val_col, epoch_col)


def _read_json(path: Path) -> pd.DataFrame:
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "history" in data and isinstance(data["history"], dict):
        data = data["history"]  # {"history": {"loss": [...], ...}}
    if isinstance(data, dict):
        lengths = {len(v) for v in data.values() if isinstance(v, list)}
        if len(lengths) != 1:
            raise SpecError(f"{path}: JSON must map names to lists of equal length, "
                            "like Keras' history.history.")
        return pd.DataFrame({k: v for k, v in data.items() if isinstance(v, list)})
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return pd.DataFrame(data)  # one record per epoch (or step)
    raise SpecError(f"{path}: JSON must be an object of lists or a list of records.")


def _pick(frame: pd.DataFrame, given: str | None, options: tuple[str, ...], what: str,
          source: str, flag: str) -> str:
    if given is not None:
        if given not in frame.columns:
            raise SpecError(f"{source}: has no column {given!r} ({flag}); its columns are "
                            f"{', '.join(map(str, frame.columns))}.")
        return given
    for name in options:
        if name in frame.columns and frame[name].notna().any():
            return name
    raise SpecError(f"{source}: found no {what} column (tried {', '.join(options)}); name it "
                    f"with {flag}. Its columns are {', '.join(map(str, frame.columns))}.")


# Cells that stand for a missing or NaN loss rather than a typo: a NaN loss is a diverged run,
# and an empty cell is a row that logs something else (Lightning's step rows).
MISSING = {"", "nan", "-nan", "+nan", "none", "null", "na", "n/a"}


def _check_numeric(raw: pd.Series, numeric: pd.Series, source: str, column: str) -> None:
    """A cell that is neither a number nor a missing value is bad input, not a NaN loss."""
    bad = raw.notna().to_numpy() & numeric.isna().to_numpy()
    bad &= ~raw.astype(str).str.strip().str.lower().isin(MISSING).to_numpy()
    rows = np.flatnonzero(bad)
    if rows.size:
        raise SpecError(f"{source}: column {column!r} holds {raw.iloc[rows[0]]!r} at row "
                        f"{rows[0] + 1}, which is not a number"
                        + (f" (and {rows.size - 1} more rows like it)" if rows.size > 1 else "")
                        + "; fix or remove it.")


def _from_frame(frame: pd.DataFrame, source: str, train_col: str | None, val_col: str | None,
                epoch_col: str | None) -> History:
    if frame.empty:
        raise SpecError(f"{source}: is empty.")
    tcol = _pick(frame, train_col, TRAIN_COLUMNS, "training-loss", source, "--train-col")
    vcol = _pick(frame, val_col, VAL_COLUMNS, "validation-loss", source, "--val-col")
    ecol = epoch_col or next((c for c in EPOCH_COLUMNS if c in frame.columns), None)
    if epoch_col is not None and epoch_col not in frame.columns:
        raise SpecError(f"{source}: has no column {epoch_col!r} (--epoch-col).")
    values = frame[[tcol, vcol]].apply(pd.to_numeric, errors="coerce")
    for col in dict.fromkeys((tcol, vcol)):
        _check_numeric(frame[col], values[col], source, col)
    if ecol is not None and frame[ecol].duplicated().any():
        # Lightning logs a row per step and per validation run: average each epoch's rows.
        values = values.groupby(pd.to_numeric(frame[ecol], errors="coerce")).mean()
    train = values[tcol].to_numpy(dtype=float)
    val = values[vcol].to_numpy(dtype=float)
    keep = ~(np.isnan(train) & np.isnan(val))  # rows that carry neither (e.g. test rows)
    train, val = train[keep], val[keep]
    if len(train) == 0:
        raise SpecError(f"{source}: has no epochs with a loss in {tcol!r} or {vcol!r}.")
    return History(train, val, source, (tcol, vcol))
