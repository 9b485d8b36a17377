"""The test split: the best trial's delivered model scored once at the end, never used to choose.

With `Data.test_fraction > 0` the sweep keeps the last windows of every series (or drawn
sequences) apart. Once the sweep ends, the best trial's delivered model is scored on them,
beside each repeat and the task's baseline on the same windows; the result is stored on the
study (keys.STUDY_TEST) and reused while that trial stays the best, so the test split is seen
once per best model.
"""

from __future__ import annotations

from typing import Any

import optuna

from . import keys
from .delivery import DeliveredModel
from .kept import from_study, pick_trial
from .record import json_safe, store_study_attr
from .windows import Windows


def heldout_result(model: DeliveredModel, windows: Windows, trial: int
                   ) -> dict[str, Any] | None:
    """The delivered model's loss on the test windows, beside each repeat's and the task's
    baseline's (for forecasts the better of repeating the last value and the training mean);
    None without test windows."""
    if windows.n_test == 0:
        return None
    delivered, repeats = model.losses_on(windows, "test")
    out = {"trial": trial, "loss": model.loss_name, "delivered": delivered, "repeats": repeats,
           "naive": windows.baseline(model.config["loss"], "test"),
           "baseline": model.task.baseline_name, "n_windows": windows.n_test}
    scores = model.scores_on(windows, "test")
    if scores:
        out["scores"] = scores
        out.update(model.task.baseline_scores(windows.test_y))
    return json_safe(out)


def heldout_sentence(result: dict[str, Any]) -> str:
    """The result on the test split in one sentence, for the console, the report and the
    best trial's note."""
    repeats = ", ".join(f"{v:.4g}" for v in result["repeats"])
    scores = "".join(f", {k.replace('_', '-')} {v:.3f}"
                     for k, v in (result.get("scores") or {}).items())
    majority = (f"; the majority class's accuracy: {result['majority']:.3f}"
                if "majority" in result else "")
    baseline = result.get("baseline", "naive forecast")
    return (f"On the {result['n_windows']} test windows, scored once and never used to "
            f"choose: {result['loss']} {result['delivered']:.4g}{scores} for trial "
            f"#{result['trial']}'s delivered model (each repeat: {repeats}; the {baseline}: "
            f"{result['naive']:.4g}{majority}).")


def score_heldout(study: optuna.Study, windows: Windows, artifacts: str | None
                  ) -> dict[str, Any] | None:
    """Score the best trial's delivered model once on the test split and store that on the
    study; the stored result is reused while that trial stays the best. None without test
    windows or a completed trial; SpecError when the best trial's model file cannot be read
    here."""
    if windows.n_test == 0 or not artifacts or not study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        return None
    best = pick_trial(study, None)
    stored = study.user_attrs.get(keys.STUDY_TEST)
    if stored and stored.get("trial") == best.number:
        return stored
    result = heldout_result(from_study(study, artifacts), windows, best.number)
    store_study_attr(study, keys.STUDY_TEST, result)
    return result
