"""Storage: where a study lives, opening or resuming it, and writing a trial's results.

Results live in an ordinary Optuna storage, so optuna-dashboard, pandas and Optuna's own tools
read them unchanged. The default is a SQLite file under runs/<study name>/; any Optuna URL works.
Attribute names are in `keys`.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from . import keys
from .validate import SpecError

RUNS_DIR = Path("runs")
# Seconds SQLite waits for a lock before failing; generous, because a trial's writes are few.
SQLITE_TIMEOUT_S = 60


def default_storage(name: str) -> str:
    return f"sqlite:///{RUNS_DIR / name / 'study.db'}"


def default_artifacts(name: str) -> str:
    return str(RUNS_DIR / name / "artifacts")


def redact(url: str) -> str:
    """The URL with any password replaced by ***, safe to print."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def make_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for a URL; SQLite folders are created, journal files are bare paths,
    and ":memory:" keeps nothing (quick checks and benchmarks)."""
    if url == ":memory:":
        return optuna.storages.InMemoryStorage()
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///"):])
        db.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
        )
    if "://" in url:
        try:
            return optuna.storages.RDBStorage(url)
        except Exception as exc:  # driver missing, bad URL, server down: all stop the sweep
            raise SpecError(f"--storage {redact(url)} cannot be opened: {exc}") from None
    # A bare path is a journal file, which tolerates several writer processes.
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(url))


def open_study(
    name: str,
    url: str,
    pruner: optuna.pruners.BasePruner,
    spec: dict[str, Any],
    baseline: dict[str, float],
) -> tuple[optuna.Study, bool]:
    """Create the study or load it to resume; returns (study, resumed)."""
    storage = make_storage(url)
    resumed = name in {s.study_name for s in optuna.get_all_study_summaries(storage)}
    study = optuna.create_study(
        study_name=name, storage=storage, pruner=pruner,
        direction="minimize", load_if_exists=True,
    )
    if not resumed:
        with warnings.catch_warnings():  # stable in practice; Optuna still flags it experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([keys.METRIC_NAME])
        study.set_user_attr(keys.STUDY_SPEC, json_safe(spec))
        study.set_user_attr(keys.STUDY_BASELINE, json_safe(baseline))
    return study, resumed


def json_safe(obj: Any) -> Any:
    """Plain JSON: numpy scalars to Python, NaN and inf to None (browsers reject NaN in JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if hasattr(obj, "value") and isinstance(obj.value, str):  # enums by name
        return obj.value
    return obj


def round_curve(values: np.ndarray) -> list[float | None]:
    """A curve for storage: 6 significant digits (float32 training carries about 7)."""
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in values]


def write_attrs(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """One storage write per attribute; callers keep the number of attributes small."""
    for key, value in attrs.items():
        trial.set_user_attr(key, json_safe(value))


def load_existing_study(name: str, url: str) -> optuna.Study:
    """The stored study, or a SpecError saying there is none (nothing is created)."""
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise SpecError(f"there is no study {name!r} yet: {redact(url)} does not exist; run the "
                        "sweep first.")
    storage = make_storage(url)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SpecError(f"there is no study {name!r} in {redact(url)}; run the sweep first."
                        ) from None


def count_finished(study: optuna.Study) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def load_curves(trial: optuna.trial.FrozenTrial) -> tuple[list[list[float]], list[list[float]]]:
    """(train, val) per repeat from a stored trial, NaN where a value was not finite."""
    curves = trial.user_attrs.get(keys.CURVES) or {"train": [], "val": []}

    def back(rows: list[list[Any]]) -> list[list[float]]:
        return [[math.nan if v is None else v for v in row] for row in rows]

    return back(curves["train"]), back(curves["val"])
