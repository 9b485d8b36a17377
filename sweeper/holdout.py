"""The test split: the best trial's delivered model scored once at the end, never used to choose.

With `Data.test_fraction > 0` the sweep keeps the last windows of every series (or drawn
sequences) apart. Once the sweep ends, the delivered model (see selection) is scored on them,
beside each of its runs and the task's baseline on the same windows; the result is stored on
the study (keys.STUDY_TEST) and reused while the delivered model stays the same, so the test
split is seen once per delivered model.
"""

from __future__ import annotations

from typing import Any

import optuna

from . import keys
from .delivery import DeliveredModel
from .kept import from_study, pick_trial
from .record import json_safe, store_study_attr
from .windows import Windows


def identity(model: DeliveredModel) -> str:
    """Which runs, with which weights, a delivered model averages: equal for the same model."""
    return "; ".join(f"#{m.trial}.{m.repeat}x{w:.6f}"
                     for m, w in zip(model.members, model.weights, strict=True))


def heldout_result(model: DeliveredModel, windows: Windows, trial: int
                   ) -> dict[str, Any] | None:
    """The delivered model's loss on the test windows, beside each run's and the task's
    baseline's (for forecasts the better of repeating the last value and the training mean);
    None without test windows. `trial` is the best trial's number."""
    if windows.n_test == 0:
        return None
    delivered, repeats = model.losses_on(windows, "test")
    out = {"trial": trial, "model": identity(model),
           "how": (model.meta.get("chosen") or {}).get("how", "best trial"),
           "trials": model.trials,
           "loss": model.task.loss_label(model.config["loss"]), "delivered": delivered,
           "repeats": repeats,
           "naive": windows.baseline(model.config["loss"], "test"),
           "baseline": model.task.baseline_name, "n_windows": windows.n_test,
           "units": "windows" if model.task.window else "sequences"}
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
    how = result.get("how", "best trial")
    trials = ", ".join(f"#{t}" for t in result.get("trials", [result["trial"]]))
    which = (f"trial #{result['trial']}'s delivered model" if how == "best trial" else
             f"the delivered model ({how} of trials {trials})")
    return (f"On the {result['n_windows']} test {result.get('units', 'windows')}, scored "
            f"once and never used to "
            f"choose: {result['loss']} {result['delivered']:.4g}{scores} for {which} (each "
            f"run: {repeats}; the {baseline}: {result['naive']:.4g}{majority}).")


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
    model = from_study(study, artifacts)
    stored = study.user_attrs.get(keys.STUDY_TEST)
    if stored and stored.get("model", identity(model)) == identity(model) and \
            stored.get("trial") == best.number:
        return stored
    result = heldout_result(model, windows, best.number)
    store_study_attr(study, keys.STUDY_TEST, result)
    return result
