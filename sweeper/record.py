"""The stored trial record: what sweeper writes on an Optuna trial, and how it is read back.

A trial's record is a set of Optuna user attrs (plain JSON, so optuna-dashboard, pandas and
`trials_dataframe()` show them as they are) named in `keys`. This module is their only writer
(`trial_attrs` turns a trial's outcome into them; `write`, `fail_reason`, `write_by_id` and
`store_study_attr` store them) and the one place that interprets them (`Record.of`): the
report, the review figures and notes, the sweep's console lines and the benchmarks all read a
`Record`, so a stored field is spelled and understood in one place."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from . import keys


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


def _floats(rows: list[list[Any]] | None) -> list[list[float]]:
    """Stored curves back as floats, NaN where a value was not finite."""
    return [[math.nan if v is None else float(v) for v in row] for row in rows or []]


def trial_attrs(config: dict[str, Any], seeds: list[int], device: Any, result: Any,
                outcome: Any) -> dict[str, Any]:
    """Everything stored on a trial once its repeats are trained and judged, keyed by `keys`
    (one storage write per entry). `result` is a train.TrainResult and `outcome` a
    trial.Outcome (its verdict, score parts, delivered model and prune reason)."""
    n = len(seeds)
    verdict, parts = outcome.verdict, outcome.score
    # The epochs the delivered repeats' weights are from (their lowest validation loss).
    best_epochs = [b for b in outcome.best_epochs if b]
    attrs = {
        keys.LABEL: verdict.label.value,
        keys.AGREEMENT: verdict.agreement,
        keys.CONFIDENCE: round(verdict.confidence, 3),
        keys.REPEAT_LABELS: verdict.repeat_labels,
        keys.REASON: verdict.reason,
        keys.RECOMMENDATION: verdict.recommendation,
        keys.VAL_LOSS: parts.val_loss,
        keys.TRAIN_LOSS: parts.train_loss,
        keys.GAP: parts.gap,
        keys.OVERFIT_GAP: parts.overfit_gap,
        keys.SPREAD: parts.spread,
        keys.PENALTY: parts.penalty,
        keys.BEST_EPOCH: int(np.median(best_epochs)) if best_epochs else None,
        keys.CONFIG: config,
        keys.SEEDS: seeds,
        keys.DEVICE: str(device),
        keys.ENGINE: result.engine,
        keys.EVIDENCE: [r.evidence for r in verdict.runs],
        keys.EARLY_STOP: [
            None if s is None else
            {"epoch": s.epoch + 1, "turn_epoch": s.turn_epoch + 1, "kind": s.kind.value,
             "reason": s.reason}
            for s in result.stops
        ],
        keys.CURVES: {
            "train": [round_curve(result.curve(r)[0]) for r in range(n)],
            "val": [round_curve(result.curve(r)[1]) for r in range(n)],
            "grad_norm": [round_curve(result.signals(r)[0]) for r in range(n)],
            "weight_norm": [round_curve(result.signals(r)[1]) for r in range(n)],
            # the task's validation metrics per epoch (accuracy, ...), where it has any
            **{f"val_{name}": [round_curve(values[r, :int(result.n_epochs_run[r])])
                               for r in range(n)]
               for name, values in result.metrics.items()},
        },
        keys.DELIVERED: {"val_loss": outcome.delivered[0],
                         "repeat_val_loss": outcome.delivered[1],
                         "best_epochs": outcome.best_epochs,
                         "scores": outcome.delivered_scores},
    }
    # The task's metrics of the delivered prediction, one column each in the dashboard's table.
    for name, value in outcome.delivered_scores.items():
        attrs[keys.VAL_METRIC.format(name)] = value
    if outcome.prune_reason:
        attrs[keys.PRUNE_REASON] = outcome.prune_reason
    return attrs


def write(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """One storage write per attribute; callers keep the number of attributes small. The one
    place sweeper sets an attribute on a trial it runs."""
    for key, value in attrs.items():
        trial.set_user_attr(key, json_safe(value))


def fail_reason(trial: optuna.Trial, reason: str) -> None:
    """Why a trial failed, stored on it when the storage still takes it (Optuna stores the
    failure itself regardless)."""
    with contextlib.suppress(Exception):
        write(trial, {keys.FAIL_REASON: reason})


def write_by_id(storage: optuna.storages.BaseStorage, trial_id: int, attrs: dict[str, Any]
                ) -> None:
    """`write` for a trial this process does not run (a heartbeat thread, a reclaimed
    trial), through its storage."""
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial_id, key, json_safe(value))


def store_study_attr(study: optuna.Study, key: str, value: Any) -> None:
    """One attribute on the study (keys.STUDY_*)."""
    study.set_user_attr(key, json_safe(value))


def worker_name(trial: optuna.trial.FrozenTrial | optuna.Trial) -> str:
    """host:pid of the worker that ran a trial, as stored on it."""
    worker = trial.user_attrs.get(keys.WORKER) or {}
    return f"{worker.get('host', '?')}:{worker.get('pid', '?')}"


@dataclass(frozen=True)
class Record:
    """One trial as sweeper stored it; every field may be missing (None, or empty) on a trial
    that was pruned, failed or killed before it got that far."""

    number: int
    state: str  # "complete", "pruned", "fail", "running", "waiting"
    value: float | None  # Optuna's value: the score, or a pruned trial's last report
    params: dict[str, Any]
    attrs: dict[str, Any] = field(repr=False)  # the raw user attrs, for the dashboard's view

    @classmethod
    def of(cls, trial: optuna.trial.FrozenTrial) -> Record:
        return cls(trial.number, trial.state.name.lower(), trial.value, dict(trial.params),
                   dict(trial.user_attrs))

    @classmethod
    def from_attrs(cls, number: int, attrs: dict[str, Any], params: dict[str, Any],
                   state: str = "running", value: float | None = None) -> Record:
        """A record of a trial still running: what it is about to store."""
        return cls(number, state, value, dict(params), json_safe(attrs))

    def get(self, key: str, default: Any = None) -> Any:
        value = self.attrs.get(key)
        return default if value is None else value

    # The judgment.
    @property
    def label(self) -> str | None:
        return self.attrs.get(keys.LABEL)

    @property
    def repeat_labels(self) -> list[str]:
        return list(self.get(keys.REPEAT_LABELS, []))

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return list(self.get(keys.EVIDENCE, []))

    @property
    def best_epochs(self) -> list[int | None]:
        """Each repeat's best validation epoch (1-based): the epoch its delivered weights are
        from (for records written before those were stored, the diagnosis's smoothed one)."""
        delivered = self.get(keys.DELIVERED, {}).get("best_epochs")
        if delivered:
            return [e or None for e in delivered]
        return [e.get("best_epoch") for e in self.evidence]

    @property
    def early_stops(self) -> list[dict[str, Any] | None]:
        return list(self.get(keys.EARLY_STOP, []))

    # The score.
    @property
    def score(self) -> float | None:
        """The trial's score: its value when complete (a pruned trial's value is its last
        reported validation loss, not a score)."""
        return self.value if self.state == "complete" else None

    def number_of(self, key: str) -> float:
        """A stored number, NaN when absent."""
        value = self.attrs.get(key)
        return math.nan if value is None else float(value)

    # How it ran.
    @property
    def config(self) -> dict[str, Any]:
        return dict(self.get(keys.CONFIG, {}))

    @property
    def seeds(self) -> list[int]:
        return list(self.get(keys.SEEDS, []))

    @property
    def curves(self) -> tuple[list[list[float]], list[list[float]]]:
        """(train, val) per repeat and epoch it trained, NaN where a value was not finite."""
        stored = self.get(keys.CURVES, {})
        return _floats(stored.get("train")), _floats(stored.get("val"))

    @property
    def grad_norms(self) -> list[list[float]]:
        return _floats(self.get(keys.CURVES, {}).get("grad_norm"))

    @property
    def metric_curves(self) -> dict[str, list[list[float]]]:
        """The task's validation metrics per repeat and epoch, by name (accuracy, ...)."""
        stored = self.get(keys.CURVES, {})
        return {k[len("val_"):]: _floats(v) for k, v in stored.items() if k.startswith("val_")}

    @property
    def delivered_scores(self) -> dict[str, float]:
        """The delivered model's validation metrics (accuracy, ...), where the task has any."""
        return dict(self.get(keys.DELIVERED, {}).get("scores") or {})

    @property
    def member_epochs(self) -> int:
        """Epochs trained, summed over repeats: the trial's compute."""
        return sum(len(v) for v in self.curves[1])

    @property
    def why(self) -> str | None:
        """Why the trial was pruned or failed, when it says."""
        return self.attrs.get(keys.PRUNE_REASON) or self.attrs.get(keys.FAIL_REASON)

    @property
    def retry_of(self) -> int | None:
        return self.attrs.get(keys.RETRY_OF)

    @property
    def lineage(self) -> str | None:
        """"repair of #9: overfit -> more dropout (dropout 0.1 -> 0.25)", or "repair of #9:
        underfit, read as plateau -> more units (hidden 8 -> 13)" where the problem the move
        answers is not the label, for a child queued by its parent's verdict; None for any
        other trial."""
        parent = self.attrs.get(keys.PARENT)
        if parent is None:
            return None
        label, problem = self.attrs.get(keys.PARENT_LABEL, "?"), self.attrs.get(keys.PROBLEM)
        if problem and problem != label:
            label += f", read as {problem}"
        return (f"repair of #{parent}: {label} -> {self.attrs.get(keys.MOVE, '?')} "
                f"({self.attrs.get(keys.MOVE_DETAIL, '')})")

    @property
    def worker(self) -> dict[str, Any]:
        """{"host", "pid"} of the process that ran the trial; empty before it said."""
        return dict(self.get(keys.WORKER, {}))

    @property
    def heartbeat(self) -> float | None:
        """Unix time of the last heartbeat a journal-file worker wrote for the trial."""
        return self.attrs.get(keys.HEARTBEAT)


def load_curves(trial: optuna.trial.FrozenTrial) -> tuple[list[list[float]], list[list[float]]]:
    """(train, val) per repeat from a stored trial, NaN where a value was not finite."""
    return Record.of(trial).curves


def best_val_loss(trials: list[optuna.trial.FrozenTrial], loss: str) -> float | None:
    """What the data demonstrably allow, to judge another trial's plateau against: over the
    completed trials with the same loss function, the lowest mean over a trial's repeats of
    each repeat's averaged validation minimum (the trial's stored validation loss, keys.VAL_LOSS,
    where a run was too short to have one)."""
    values = []
    for r in map(Record.of, trials):
        if r.state != "complete" or r.config.get("loss") != loss:
            continue
        best = [e.get("val_best") for e in r.evidence]
        if best and all(b is not None for b in best):
            values.append(float(np.mean(best)))
        else:
            values.append(r.number_of(keys.VAL_LOSS))
    values = [v for v in values if math.isfinite(v)]
    return min(values) if values else None
