"""What a result is worth: the delivered model beside the baselines, in the data's own units.

After a sweep has chosen its delivered model (see selection), `scorecard` scores it and every
baseline (see baselines) on the same validation and test windows: the loss the sweep minimizes
(in the scaled units it trains in, and labelled so) and, per target, the errors in the data's
own units (MSE, RMSE and MAE for numbers; accuracy for classes). From it follow the skill (how
much lower the model's loss is than the best baseline's, in percent), the warning when the
model does not beat the best baseline on validation or on the test split, and how often the
test targets fall inside the prediction intervals. The test split is scored here once per
delivered model, after it was chosen, and never used to choose.

`assess` stores the card on the study (keys.STUDY_WORTH) and reuses it while the delivered
model stays the same; `lines` and `warnings` are what the sweep's end, `report`, `predict`,
`export` and the study note show.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna

from . import keys
from .delivery import DeliveredModel
from .holdout import identity
from .kept import from_study
from .record import json_safe, store_study_attr
from .windows import Windows

DELIVERED = "delivered model"
SPLIT_NAMES = {"val": "validation", "test": "test"}
SHORT = {"val": "val", "test": "test"}


def scorecard(model: DeliveredModel, windows: Windows) -> dict[str, Any]:
    """The delivered model and each baseline on the validation and test windows: their loss
    (scaled, as the sweep minimizes it) and their errors per target in the data's own units;
    which baseline is best and the model's skill against it; the intervals' test coverage."""
    task, loss = model.task, model.config["loss"]
    fitted = task.baselines(windows, loss)
    card: dict[str, Any] = {"model": identity(model), "loss": model.loss_name,
                            "unit": task.loss_label(loss), "targets": list(task.targets),
                            "baseline_name": task.baseline_name,
                            "units": "windows" if task.window else "sequences",
                            "left_out": fitted.left_out, "splits": {}}
    for split in SPLIT_NAMES:
        x, k, y = windows.split(split)
        if not len(y):
            continue
        series = getattr(windows, f"{split}_at")[:, 0]
        preds = {DELIVERED: model.combined(x, k),
                 **{name: predict(x, k) for name, predict in fitted.predict.items()}}
        card["splits"][split] = {
            name: {"loss": task.loss(loss, p, y), "units": task.in_units(p, y, series)}
            for name, p in preds.items()}
    if model.intervals and windows.n_test:
        x, k, y = windows.split("test")
        residual = np.abs(model.combined(x, k) - y)
        card["coverage"] = {f"{level:g}": float(np.mean(residual <= width))
                            for level, width in sorted(model.intervals.items())}
    card["verdicts"] = {split: _verdict(rows) for split, rows in card["splits"].items()}
    return json_safe(card)


def _verdict(rows: dict[str, Any]) -> dict[str, Any]:
    """The best baseline on one split, and the model's skill against it (positive: better)."""
    baselines = {name: row["loss"] for name, row in rows.items()
                 if name != DELIVERED and row["loss"] is not None and math.isfinite(row["loss"])}
    if not baselines:
        return {"best": None, "skill": None, "beats": True}
    best = min(baselines, key=baselines.get)
    model, bar = rows[DELIVERED]["loss"], baselines[best]
    skill = 1.0 - model / bar if bar > 0 else 0.0
    return {"best": best, "best_loss": bar, "loss": model, "skill": skill, "beats": model < bar}


def warnings(card: dict[str, Any]) -> list[str]:
    """One line per split on which the delivered model does not beat the best baseline."""
    out = []
    for split, v in (card.get("verdicts") or {}).items():
        if v.get("beats", True):
            continue
        out.append(f"warning: the delivered model does not beat the {v['best']} baseline on "
                   f"the {SPLIT_NAMES[split]} {card.get('units', 'windows')}: {card['unit']} "
                   f"{v['loss']:.4g} against "
                   f"{v['best_loss']:.4g} ({_skill(v)}). Look at the baselines "
                   "above and at the data before using it; a wider search space, more data or "
                   "another window may help.")
    return out


def lines(card: dict[str, Any], with_warnings: bool = True) -> list[str]:
    """The card as text: one table per target (errors in the data's own units), the skill,
    the intervals' coverage, the baselines left out, and (`with_warnings`) the warnings."""
    splits = list(card["splits"])
    out = [f"How good it is, beside what a user gets without sweeper, on the same "
           f"{card.get('units', 'windows')} ({' and '.join(SPLIT_NAMES[s] for s in splits)}):"]
    first = card["splits"][splits[0]]
    metrics = [m for m in next(iter(first[DELIVERED]["units"].values())) if m != "mse"]
    for target in card["targets"] if card["targets"] != ["class"] else ["class"]:
        unit = "" if target == "class" else f" ({target}, in its own units)"
        head = "".join(f"{SHORT[s] + ' ' + _name(m):>15}" for s in splits for m in metrics)
        out.append(f"  {'':26}{head}{unit}")
        for name in first:
            cells = "".join(f"{_num(_cell(card, s, name, target, m)):>15}"
                            for s in splits for m in metrics)
            out.append(f"  {name:26}{cells}")
    for split, v in card["verdicts"].items():
        if v.get("best") is None:
            continue
        measured = f"{card['unit']} {v['loss']:.4g} against {v['best_loss']:.4g}"
        out.append(f"Skill on {SPLIT_NAMES[split]}: {v['skill']:+.1%} against the best "
                   f"baseline, {v['best']} ({measured}; positive: the model's loss is lower)."
                   if v["skill"] >= -1.0 else
                   f"Skill on {SPLIT_NAMES[split]}: none; its loss is {_skill(v)}, "
                   f"{v['best']} ({measured}).")
    if card.get("coverage"):
        out.append("Prediction intervals on the test windows: " + ", ".join(
            f"{float(level):.0%} intervals hold {share:.1%} of the targets"
            for level, share in card["coverage"].items()) + ".")
    for name, why in card.get("left_out", {}).items():
        out.append(f"(Baseline {name} left out: {why}.)")
    return out + (warnings(card) if with_warnings else [])


def _cell(card: dict[str, Any], split: str, name: str, target: str, metric: str) -> Any:
    return ((card["splits"][split].get(name) or {}).get("units", {}).get(target) or {}).get(
        metric)


def _skill(v: dict[str, Any]) -> str:
    """The skill as a signed percentage, or as a multiple of the baseline's loss where the
    model's is more than twice it."""
    if v["skill"] < -1.0:
        return f"{v['loss'] / v['best_loss']:.1f} times the best baseline's"
    return f"{v['skill']:+.1%}"


def _name(metric: str) -> str:
    return {"rmse": "RMSE", "mae": "MAE", "accuracy": "accuracy", "macro_f1": "macro-F1"}.get(
        metric, metric)


def _num(value: Any) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.4g}"


def assess(study: optuna.Study, windows: Windows, artifacts: str | None,
           base_dir: Any = None) -> dict[str, Any] | None:
    """The delivered model's scorecard, stored on the study and reused while the delivered
    model stays the same; None without a completed trial or an artifact folder."""
    if not artifacts or not study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        return None
    model = from_study(study, artifacts, base_dir=base_dir)
    stored = study.user_attrs.get(keys.STUDY_WORTH)
    if stored and stored.get("model") == identity(model):
        return stored
    card = scorecard(model, windows)
    store_study_attr(study, keys.STUDY_WORTH, card)
    return card
