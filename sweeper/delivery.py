"""The delivered model: a trial's repeats at their best validation epochs, predictions averaged.

What a sweep hands back is not one run but all of a trial's seeded repeats, each restored to the
epoch where its validation loss was lowest. Their predictions are averaged; each repeat's own
prediction is kept too, so their spread can be shown as a band. New data is cut by the same
cutter as the sweep's (see windows), with the scalers the model carries; what its table,
figure and summary hold is the task's. The file it is saved in is `modelfile`'s format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from . import modelfile
from .model import EnsembleLSTM, build
from .task import Task
from .task import from_description as task_from_description
from .validate import SpecError
from .windows import PredictionWindows, Windows, for_prediction, halves
from .words import counted, runs_of


def from_bytes(content: bytes, what: str) -> DeliveredModel:
    """A model from a model file's bytes; `what` names the file in the one-sentence error that
    any problem with it becomes."""
    meta, members = modelfile.read(content, what)
    try:
        return DeliveredModel(meta, members)
    except (KeyError, RuntimeError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise SpecError(f"{what} is a damaged sweeper model file "
                        f"({modelfile.first_line(exc)}).") from None


def load_file(path: str | Path) -> DeliveredModel:
    """A model file written by a sweep or by export."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such model file.")
    return from_bytes(path.read_bytes(), str(path))


# The prediction intervals every model of numbers carries: central 80% and 95%.
LEVELS = (0.8, 0.95)
# How they are calibrated on validation (see calibrate and benchmarks/bench_intervals.py).
INTERVALS = "drift"


class Member(NamedTuple):
    """One run of a delivered model: which trial and repeat trained it, with which seed, the
    epoch its weights are from, its weight in the average, and its trial's configuration."""

    trial: int | None
    repeat: int
    seed: int | None
    best_epoch: int | None
    weight: float
    config: dict[str, Any]


class DeliveredModel:
    """Runs at their best validation epochs, their predictions averaged with weights: one
    trial's repeats (equal weights), or runs of several trials the sweep chose on validation
    (see selection). `members` says which; `predict` averages them.

    `task` is the task the runs were trained for (a sweep passes its own); without it, the
    one `meta` describes is rebuilt (a model file)."""

    def __init__(self, meta: dict[str, Any], states: list[dict[str, torch.Tensor]],
                 base_dir: Path | None = None, task: Task | None = None) -> None:
        meta = modelfile.upgrade(meta)
        self.meta = meta
        self.config: dict[str, Any] = dict(meta["config"])  # the trial it is built around
        self.data = dict(meta["data"])
        self.task: Task = task if task is not None else task_from_description(meta["task"])
        self.base_dir = base_dir  # where the study file is: relative data paths start there
        self.members = [Member(m["trial"], int(m["repeat"]), m.get("seed"), m.get("best_epoch"),
                               float(m["weight"]), dict(m["config"])) for m in meta["members"]]
        weights = np.array([m.weight for m in self.members], dtype=np.float64)
        self.weights = weights / weights.sum()
        # Prediction intervals' half-widths in scaled units, per output, by level.
        self.intervals = {float(level): np.array([np.inf if w is None else w for w in width])
                          for level, width in (meta.get("intervals") or {}).items()}
        self._runs = [self._load(m.config, state) for m, state in zip(self.members, states,
                                                                         strict=True)]
        # Runs of one architecture predict together, as one batched model.
        shapes: dict[tuple[int, int], list[int]] = {}
        for i, m in enumerate(self.members):
            shapes.setdefault((int(m.config["hidden"]), int(m.config["layers"])), []).append(i)
        self._groups = [(np.array(idx), EnsembleLSTM([self._runs[i] for i in idx]).eval())
                        for idx in shapes.values()]

    def _load(self, config: dict[str, Any], state: dict[str, torch.Tensor]) -> Any:
        t = self.task
        run = build(t.n_inputs, int(config["hidden"]), int(config["layers"]),
                    float(config["dropout"]), "torch", 0, t.n_outputs, t.n_known)
        run.load_state_dict(state)
        return run.eval()

    @property
    def n_repeats(self) -> int:
        """Runs averaged (one trial's repeats, or every member of an ensemble)."""
        return len(self.members)

    @property
    def trials(self) -> list[int]:
        """The trials whose runs it averages, heaviest first."""
        weight: dict[Any, float] = {}
        for m, w in zip(self.members, self.weights, strict=True):
            weight[m.trial] = weight.get(m.trial, 0.0) + float(w)
        return sorted(weight, key=lambda t: -weight[t])

    @property
    def window(self) -> int:
        return self.task.window

    @property
    def horizon(self) -> int:
        return self.task.horizon

    @property
    def loss_name(self) -> str:
        """The loss the model is scored with: the configuration's, or the task's own."""
        return self.task.loss_name(self.config["loss"])

    def predict_scaled(self, x: np.ndarray, k: np.ndarray | None = None, batch: int = 4096
                       ) -> np.ndarray:
        """Each member's prediction for scaled windows x (n, window, n_inputs) with known-ahead
        values k (n, n_known): shape (n_members, n, n_outputs), in scaled units."""
        k = np.zeros((len(x), 0), np.float32) if k is None else k
        out = np.zeros((len(self.members), len(x), self.task.n_outputs), np.float32)
        with torch.no_grad():
            for start in range(0, len(x), batch):
                xb, kb = (torch.from_numpy(np.ascontiguousarray(a[start:start + batch],
                                                                dtype=np.float32))
                          for a in (x, k))
                for idx, ensemble in self._groups:
                    out[idx, start:start + batch] = ensemble(xb, None, kb).numpy()
        return out

    def combined(self, x: np.ndarray, k: np.ndarray | None = None) -> np.ndarray:
        """The delivered prediction for scaled windows: the members' weighted average (for
        classes, of their probabilities, as logits), shape (n, n_outputs), scaled units."""
        return self.task.combine(self.predict_scaled(x, k).astype(np.float64), self.weights)

    def losses(self, x: np.ndarray, k: np.ndarray, y: np.ndarray) -> tuple[float, list[float]]:
        """(loss of the delivered prediction, each member's loss) on scaled windows, with the
        task's loss (the configuration's loss function for numbers)."""
        pred = self.predict_scaled(x, k).astype(np.float64)
        return (self.task.loss(self.config["loss"], self.task.combine(pred, self.weights), y),
                [self.task.loss(self.config["loss"], p, y) for p in pred])

    def losses_on(self, windows: Windows, split: str) -> tuple[float, list[float]]:
        """`losses` on a split of prepared windows ("val" or "test")."""
        return self.losses(*windows.split(split))

    def scores_on(self, windows: Windows, split: str) -> dict[str, float]:
        """The task's metrics (accuracy, ...) of the delivered prediction on a split; empty
        for a task without metrics."""
        if not self.task.metric_names:
            return {}
        x, k, y = windows.split(split)
        return self.task.scores(self.combined(x, k), y)

    def windows(self, data: Any = None) -> PredictionWindows:
        """The windows `predict(data)` predicts, cut and scaled as the study's were."""
        return for_prediction(self.task, self.data, data, self.base_dir,
                              int(self.meta.get("split_seed", 0)))

    def _rows(self, data: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """The prediction table and each repeat's prediction per row (n_repeats, n_rows)."""
        w = self.windows(data)
        return self.task.table(self.predict_scaled(w.x, w.k).astype(np.float64), w,
                               self.weights, self.intervals)

    def predict(self, data: Any = None) -> pd.DataFrame:
        """One row per window, forecast step and target: `position` (1-based, in its series)
        or `time` of the value predicted, `series` (with several), `step` (with a horizon
        above 1), `variable` (with several targets), `split` (train, validation, test on the
        study's own data; `new` on other data; `future` for the forecast past the end),
        `target`, `prediction` (the repeats' mean) and the repeats' `lowest` and `highest`
        prediction, in the data's own units.

        `data`: None for the study's own data, a CSV path or a DataFrame in the study's format
        (for future covariates, rows after the last target value give them for the forecast
        period), or, for a model of one series, a list, array or Series of its values.

        For sequences (classify, regress): one row per sequence, `sequence` (1-based) and
        `split`; for classes `label` (when known), `prediction` (the class of the highest
        averaged probability), its `probability`, the repeats' `lowest` and `highest`
        probability of it, and `p_0` ... per class; `data` is an array (n, time, features) or
        an .npz file."""
        return self._rows(data)[0]

    def predict_members(self, data: Any = None) -> np.ndarray:
        """Each repeat's prediction per row of `predict(data)`: (n_repeats, n_rows); for
        classes, the class each repeat would pick."""
        return self._rows(data)[1]

    def figure(self, rows: pd.DataFrame, title: str) -> tuple[str, Any]:
        """(file name, Figure) of a `predict` table, as suits the task."""
        return self.task.figure(rows, title)

    def summary(self, rows: pd.DataFrame, what: str) -> list[str]:
        """Lines saying what a `predict` table holds (`what`: the data it was made on)."""
        return self.task.summary(rows, what)

    def states(self) -> list[dict[str, torch.Tensor]]:
        """Each member's weights (an LSTMRegressor state dict), in the order of `members`."""
        return [run.state_dict() for run in self._runs]

    def to_bytes(self) -> bytes:
        """The model as a model file's content."""
        return modelfile.to_bytes(self.meta, self.states())

    def describe(self) -> str:
        m = self.meta
        equal = np.allclose(self.weights, self.weights[0])
        if len(self.trials) == 1 and equal:
            epochs = ", ".join(str(r.best_epoch) for r in self.members)
            return (f"study {m.get('study')!r} trial #{self.trials[0]}: "
                    f"{counted(self.n_repeats, 'repeat')} at their best validation epochs "
                    f"({epochs}), sweeper "
                    f"{m.get('sweeper_version')}")
        how = (m.get("chosen") or {}).get("how", "ensemble")
        return (f"study {m.get('study')!r}: {how}, {runs_of(self.n_repeats, self.trials)} "
                f"at their best validation epochs, "
                f"weighted {', '.join(f'{w:.2f}' for w in self.weights)}, sweeper "
                f"{m.get('sweeper_version')}")


def conformal(residuals: np.ndarray, level: float) -> np.ndarray:
    """The split-conformal half-width per output from absolute residuals (n, n_outputs): the
    ceil((n + 1) * level)-th smallest (infinite when n is too small for that level)."""
    r = np.sort(residuals, axis=0)
    rank = int(np.ceil((len(r) + 1) * level))
    return r[rank - 1] if rank <= len(r) else np.full(r.shape[1], np.inf)


def calibrate(model: DeliveredModel, windows: Windows, levels: tuple[float, ...] = LEVELS,
              design: str = INTERVALS) -> dict[str, list[float]]:
    """Prediction intervals by split conformal prediction: per output (horizon step and
    target), the half-width in scaled units that the delivered prediction's absolute
    residuals on the validation windows stay within for a share `level` of new windows, as
    {level: [half-width per output]}; empty for a task that does not predict numbers. With
    design "drift", each half-width is widened by how much wider the later half of the
    validation windows' is than the earlier half's (at least 1): errors that grew inside
    validation are taken to grow as much again by the time the model is used."""
    if not model.task.predicts_numbers or windows.n_val == 0:
        return {}
    x, k, y = windows.split("val")
    residuals = np.abs(model.combined(x, k) - y)  # (n, n_outputs)
    earlier, later = halves(windows.val_at, interleave=not model.task.window)
    out, factor, narrower = {}, np.ones(residuals.shape[1]), np.zeros(residuals.shape[1])
    for level in sorted(levels):
        width = conformal(residuals, level)
        if design == "drift" and len(earlier) and len(later):
            # A level the halves are too small to measure takes the factor of the level below.
            measured = drift(conformal(residuals[earlier], level),
                             conformal(residuals[later], level))
            factor = np.where(np.isnan(measured), factor, measured)
            width = width * factor
        narrower = width = np.maximum(width, narrower)  # a wider level holds a narrower one
        out[str(level)] = width.tolist()
    return {str(level): out[str(level)] for level in levels}


def drift(earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """How much wider the later half's half-widths are than the earlier half's, per output, at
    least 1; NaN where either half is too small to say (an infinite or zero half-width)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = later / earlier
    return np.where(np.isfinite(ratio) & (earlier > 0), np.maximum(1.0, ratio), np.nan)
