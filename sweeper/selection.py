"""Choosing the delivered model: from the runs the sweep kept, on the validation windows only.

Every completed trial among the `Study.keep_models` best keeps its model file whole (see kept),
so at the end of a sweep each of their repeats, at its best validation epoch, is at hand. The
candidates are:

- "best trial": the best trial's own repeats, averaged (what a trial's score rests on);
- "top k trials" (k = 2, 3, 5): the k best trials' own models averaged, each trial weighing the
  same;
- "greedy ensemble": forward selection with replacement over every kept run (Caruana et al.,
  2004): start empty, add whichever run lowers the average's validation loss most, again and
  again, and keep the best size seen; it can also end at one run alone.

A small validation split can be overfit by the selection itself, so the best trial is delivered
unless a challenger, built on one half of the validation windows, beats it on the other half,
both ways round (for series the halves are each series' earlier and later validation windows).
Of the challengers that do, the one with the lower mean held-out loss relative to the best trial
is delivered, built again on every validation window. The test split is never read here.

`pick` is the rule over arrays of predictions and knows nothing of Optuna or files; `choose`
gathers a study's kept runs, applies it, calibrates the chosen model's prediction intervals on
validation and stores the choice on the study (keys.STUDY_DELIVERY).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from . import keys
from .delivery import DeliveredModel, calibrate
from .kept import BEST, assemble, trial_model
from .record import Record, json_safe, store_study_attr
from .task import Task
from .validate import SpecError
from .windows import Windows, halves

TOP_K = (2, 3, 5)
# Most runs the greedy ensemble adds (with replacement); it keeps the best size on the way.
GREEDY_STEPS = 50
GREEDY = "greedy ensemble"


@dataclass(frozen=True)
class Pool:
    """The kept runs' validation predictions: `preds` (n_runs, n_windows, n_outputs) in scaled
    units, `trial_of` each run's trial's rank (0: the best trial), `y` the targets, and the
    task's loss of a combined prediction."""

    preds: np.ndarray
    trial_of: np.ndarray
    y: np.ndarray
    task: Task
    loss_name: str

    def loss(self, weights: np.ndarray, windows: np.ndarray) -> float:
        """The validation loss, on `windows` (indices), of the runs averaged with `weights`."""
        used = weights > 0
        pred = self.task.combine(self.preds[used][:, windows], weights[used])
        return self.task.loss(self.loss_name, pred, self.y[windows])

    def trials(self, k: int) -> np.ndarray:
        """Weights that average the k best trials' models, each trial's runs equally."""
        weights = np.zeros(len(self.preds))
        for rank in range(k):
            runs = self.trial_of == rank
            weights[runs] = 1.0 / (k * runs.sum())
        return weights

    def greedy(self, windows: np.ndarray, steps: int = GREEDY_STEPS) -> np.ndarray:
        """Forward selection with replacement on `windows`: counts of each run in the best
        average seen, as weights."""
        counts = np.zeros(len(self.preds))
        best, best_loss = counts, np.inf
        for _ in range(steps):
            trials = [self.loss(counts + np.eye(len(counts))[i], windows)
                      for i in range(len(counts))]
            counts = counts + np.eye(len(counts))[int(np.argmin(trials))]
            if min(trials) < best_loss:
                best, best_loss = counts.copy(), min(trials)
        return best / best.sum()


@dataclass(frozen=True)
class Pick:
    """What `pick` chose: the weights over the pool's runs, by which rule, why, and each
    challenger's held-out loss relative to the best trial's on the two halves."""

    how: str
    weights: np.ndarray
    reason: str
    held_out: dict[str, list[float]]


def pick(pool: Pool, split: tuple[np.ndarray, np.ndarray]) -> Pick:
    """The delivered model's weights over the pool's runs, by the rule in this module's
    docstring."""
    every = np.arange(len(pool.y))
    best = pool.trials(1)
    n_trials = int(pool.trial_of.max()) + 1
    builders: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        f"top {k} trials": (lambda idx, k=k: pool.trials(k)) for k in TOP_K if k <= n_trials}
    if len(pool.preds) > 1:
        builders[GREEDY] = pool.greedy
    first, second = split
    if not len(first) or not len(second) or not builders:
        return Pick(BEST, best, "nothing to choose from: one kept run, or too few validation "
                                "windows to halve", {})
    held_out = {name: [pool.loss(build(fit), check) / pool.loss(best, check)
                       for fit, check in ((first, second), (second, first))]
                for name, build in builders.items()}
    winners = {name: float(np.mean(r)) for name, r in held_out.items() if max(r) < 1.0}
    shown = "; ".join(f"{name} {r[0] - 1:+.1%} / {r[1] - 1:+.1%}"
                      for name, r in held_out.items())
    if not winners:
        return Pick(BEST, best, "no challenger beat the best trial's repeats on both halves "
                                f"of the validation windows, each built on the other half "
                                f"(held-out loss against it: {shown})", held_out)
    how = min(winners, key=lambda name: winners[name])
    return Pick(how, builders[how](every),
                f"it beat the best trial's repeats on both halves of the validation windows, "
                f"each built on the other half (held-out loss against it: {shown})", held_out)


def kept_models(study: optuna.Study, artifacts: str, loss: str
                ) -> tuple[list[DeliveredModel], list[str]]:
    """The completed trials' models whose files are whole and readable here, best first, of
    trials scored with the best trial's `loss`; and a line per trial left out, saying why."""
    done = sorted((Record.of(t) for t in study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))), key=lambda r: r.value)
    models, missing = [], []
    for rec in done:
        if not rec.get(keys.MODEL) or rec.config.get("loss") != loss:
            continue
        try:
            models.append(trial_model(study, artifacts, rec.number))
        except SpecError as exc:
            if "no longer holds a model" not in str(exc):
                missing.append(f"trial #{rec.number}: {exc}")
    return models, missing


def choose(study: optuna.Study, windows: Windows, artifacts: str | None
           ) -> dict[str, Any] | None:
    """Choose the delivered model from the study's kept runs on validation, store the choice
    on the study (keys.STUDY_DELIVERY) and return it; None without a completed trial whose
    model file is here."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not artifacts or not complete:
        return None
    best = Record.of(min(complete, key=lambda t: t.value))
    models, missing = kept_models(study, artifacts, best.config.get("loss"))
    if not models or models[0].trials != [best.number]:
        # the best trial's own file is not here: nothing to build on, and an earlier choice
        # must not stand in for one made now
        store_study_attr(study, keys.STUDY_DELIVERY, None)
        return None
    x, k, y = windows.split("val")
    preds = [m.predict_scaled(x, k).astype(np.float64) for m in models]
    pool = Pool(np.concatenate(preds), np.repeat(np.arange(len(models)), [len(p) for p in preds]),
                y, windows.task, models[0].config["loss"])
    chosen = pick(pool, halves(windows.val_at, interleave=not windows.task.window))
    runs = [(model, r) for model in models for r in range(model.n_repeats)]
    members = [(model.members[r], float(w)) for (model, r), w in zip(runs, chosen.weights,
                                                                       strict=True) if w > 0]
    result = {
        "how": chosen.how, "reason": chosen.reason, "best_trial": best.number,
        "members": [{"trial": m.trial, "repeat": m.repeat, "weight": w} for m, w in members],
        "held_out": chosen.held_out, "val_loss": pool.loss(chosen.weights, np.arange(len(y))),
        "best_trial_val_loss": pool.loss(pool.trials(1), np.arange(len(y))),
        "n_runs": len(runs), "n_trials": len(models), "left_out": missing,
    }
    result["intervals"] = calibrate(assemble(study, artifacts, result, models), windows)
    store_study_attr(study, keys.STUDY_DELIVERY, result)
    return json_safe(result)
