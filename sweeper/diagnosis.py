"""Fit diagnosis from learning curves: underfit, good fit, overfit or diverged, with reasons.

Input is one run's per-epoch training and validation loss (and optionally the validation loss of
a naive forecast); output is a label, the evidence it rests on, one sentence with numbers and a
recommendation. A trial's repeats are aggregated by majority, reporting how many agree.

Curves are judged on a log scale after light smoothing, so a rise that is tiny in absolute terms
but large relative to the loss is still seen, and every threshold is the larger of a fixed
relative amount and three times the curve's own noise.

This module imports neither torch nor optuna: it can diagnose any training history.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

# A validation rise smaller than this (relative to the minimum) is not called overfitting.
MIN_RISE = 0.10
# A validation drop over the last fifth of training larger than this means "still improving".
MIN_TAIL_DROP = 0.05
# A plateau this far above the best loss comparable runs reached (e.g. the study's best trial)
# is "high": the data allow clearly better.
ABOVE_REFERENCE = 1.1
# Fewer epochs than this carries no trend worth reading.
MIN_EPOCHS = 5
# Gradient norm this many times above its early level means unstable (exploding) training.
GRAD_EXPLODE = 100.0
# Gradient norm this many times below its early level, with learning left to do, is vanishing.
GRAD_VANISH = 1e-4


class Label(str, Enum):
    UNDERFIT = "underfit"
    GOOD = "good"
    OVERFIT = "overfit"
    DIVERGED = "diverged"


# Ties in a trial's vote go to the label that asks for the most attention.
SEVERITY = (Label.DIVERGED, Label.OVERFIT, Label.UNDERFIT, Label.GOOD)


@dataclass(frozen=True)
class Diagnosis:
    label: Label
    reason: str
    recommendation: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialDiagnosis:
    label: Label
    reason: str
    recommendation: str
    agreement: str  # "2/3 repeats overfit"
    confidence: float  # share of repeats that agree with the label
    runs: tuple[Diagnosis, ...]

    @property
    def repeat_labels(self) -> list[str]:
        return [r.label.value for r in self.runs]


def smooth_log(values: np.ndarray) -> np.ndarray:
    """Centered moving average of log(values), window about n/20 (odd, at least 1)."""
    logv = np.log(np.maximum(values, 1e-12))
    k = max(1, len(values) // 20) | 1
    if k == 1:
        return logv
    padded = np.pad(logv, k // 2, mode="edge")
    return np.convolve(padded, np.ones(k) / k, mode="valid")


def _tail_mean(x: np.ndarray) -> float:
    return float(np.mean(x[-min(5, len(x)) :]))


def diagnose_run(
    train: Any, val: Any, baseline: float | None = None, *, min_rise: float = MIN_RISE,
    grad_norm: Any = None, reference: float | None = None,
) -> Diagnosis:
    """Label one run from its curves, shape (n_epochs,) each.

    `baseline` is a naive forecast's validation loss and `reference` the best final validation
    loss that comparable runs reached (in a sweep: the best trial so far); a plateau above
    either is underfit. Gradient norms per epoch, when given, flag exploding or vanishing
    gradients in the reason and recommendation."""
    d = _diagnose_curves(train, val, baseline, min_rise, reference)
    if grad_norm is None or d.label is Label.DIVERGED:
        return d
    return _with_gradients(d, np.asarray(grad_norm, dtype=float))


def _with_gradients(d: Diagnosis, g: np.ndarray) -> Diagnosis:
    g = g[np.isfinite(g)]
    if g.size < MIN_EPOCHS:
        return d
    early = float(np.median(g[: max(3, g.size // 10)]))
    late = float(np.median(g[-max(3, g.size // 10):]))
    if early <= 0:
        return d
    growth, decay = float(g.max()) / early, late / early
    evidence = {**d.evidence, "grad_growth": growth, "grad_decay": decay}
    if growth > GRAD_EXPLODE:
        return Diagnosis(
            d.label,
            f"{d.reason}; the gradient norm spiked {growth:.0f}x above its early level "
            "(unstable training)",
            f"{d.recommendation}; clip gradients (grad_clip) or lower the learning rate",
            {**evidence, "unstable": "exploding gradients"},
        )
    if decay < GRAD_VANISH and d.label is Label.UNDERFIT:
        return Diagnosis(
            d.label,
            f"{d.reason}; the gradient norm fell to {decay:.1e} of its early level "
            "(vanishing gradients)",
            f"{d.recommendation}; raise the learning rate or use fewer layers",
            {**evidence, "unstable": "vanishing gradients"},
        )
    return Diagnosis(d.label, d.reason, d.recommendation, evidence)


def _diagnose_curves(train: Any, val: Any, baseline: float | None, min_rise: float,
                     reference: float | None = None) -> Diagnosis:
    train = np.asarray(train, dtype=float)
    val = np.asarray(val, dtype=float)
    n = len(val)
    bad = np.flatnonzero(~np.isfinite(train) | ~np.isfinite(val))
    if bad.size:
        e = int(bad[0]) + 1
        what = "NaN" if np.isnan(train[bad[0]]) or np.isnan(val[bad[0]]) else "infinite"
        return Diagnosis(
            Label.DIVERGED,
            f"loss became {what} at epoch {e}",
            "lower the learning rate or clip gradients",
            {"n_epochs": n, "diverged_epoch": e},
        )
    if n >= 2 and train[-1] > 10 * train[0] and train[-1] > 1.0:
        return Diagnosis(
            Label.DIVERGED,
            f"training loss exploded from {train[0]:.3g} to {train[-1]:.3g} over {n} epochs",
            "lower the learning rate or clip gradients",
            {"n_epochs": n, "diverged_epoch": n},
        )
    val_end, train_end = _tail_mean(val), _tail_mean(train)
    evidence: dict[str, Any] = {
        "n_epochs": n,
        "val_end": val_end,
        "train_end": train_end,
        "gap": val_end - train_end,
        "baseline": baseline,
    }
    above_baseline = baseline is not None and val_end > baseline
    if n < MIN_EPOCHS:
        evidence["best_epoch"] = int(np.argmin(val)) + 1
        if above_baseline:
            return Diagnosis(
                Label.UNDERFIT,
                f"only {n} epochs, and validation loss {val_end:.3g} is above the naive "
                f"forecast's {baseline:.3g}",
                "train for more epochs",
                evidence,
            )
        return Diagnosis(
            Label.GOOD, f"only {n} epochs: too short to read a trend", "train for more epochs",
            evidence,
        )

    sv, st = smooth_log(val), smooth_log(train)
    noise = float(1.4826 * np.median(np.abs(np.log(np.maximum(val, 1e-12)) - sv)))
    best = int(np.argmin(sv))
    rise = math.exp(sv[-1] - sv[best]) - 1.0
    k = max(2, n // 5)
    tail_drop = 1.0 - math.exp(sv[-1] - sv[n - k])
    noise_rel = math.exp(3.0 * noise) - 1.0
    gap_at_best = float(np.exp(sv[best]) - np.exp(st[best]))
    evidence.update(
        best_epoch=best + 1, rise=rise, tail_drop=tail_drop, tail_epochs=k, noise=noise_rel,
        final_slope=float((sv[-1] - sv[n - k]) / k),  # log-loss change per epoch at the end
        gap_at_best=gap_at_best, gap_trend=evidence["gap"] - gap_at_best,
    )

    after = n - 1 - best
    # Overfitting widens the gap: validation rises faster than training (which usually falls,
    # but with a large step size may wander too).
    train_still_falling = (st[-1] - st[best]) < 0.5 * (sv[-1] - sv[best])
    long_enough = after >= max(2, math.ceil(0.05 * n))
    if rise > max(min_rise, noise_rel) and long_enough and train_still_falling:
        return Diagnosis(
            Label.OVERFIT,
            f"validation loss bottomed at {math.exp(sv[best]):.3g} (epoch {best + 1}) and rose "
            f"{rise:.0%} over the next {after} epochs while training loss kept falling",
            f"train for about {best + 1} epochs, or add dropout or weight decay",
            evidence,
        )
    if tail_drop > max(MIN_TAIL_DROP, noise_rel):
        return Diagnosis(
            Label.UNDERFIT,
            f"validation loss was still falling at the end: down {tail_drop:.0%} over the last "
            f"{k} of {n} epochs",
            "train for more epochs",
            evidence,
        )
    capacity_fix = ("add capacity (hidden units, layers) or fix the optimization (learning "
                    "rate, optimizer)")
    if above_baseline:
        return Diagnosis(
            Label.UNDERFIT,
            f"validation loss levelled off at {val_end:.3g}, above the naive forecast's "
            f"{baseline:.3g}",
            capacity_fix,
            evidence,
        )
    if reference is not None and val_end > ABOVE_REFERENCE * reference:
        evidence["reference"] = reference
        return Diagnosis(
            Label.UNDERFIT,
            f"validation loss levelled off at {val_end:.3g}, {val_end / reference - 1:.0%} "
            f"above the {reference:.3g} that the best comparable run reached",
            capacity_fix,
            evidence,
        )
    tolerance = max(min_rise, noise_rel)
    if rise <= tolerance:
        settled = (f"validation ends {rise:.0%} above its minimum, within the {tolerance:.0%} "
                   "that its noise allows")
    elif not train_still_falling:
        settled = (f"validation ends {rise:.0%} above its minimum (epoch {best + 1}), but "
                   "training loss stopped falling too, so the gap did not widen")
    else:
        settled = (f"validation rose {rise:.0%} above its minimum only in the last {after} "
                   "epochs, too few to call a turn")
    return Diagnosis(
        Label.GOOD,
        f"both losses fell and settled (validation {val_end:.3g}, training {train_end:.3g}); "
        f"{settled}",
        "keep this configuration",
        evidence,
    )


def diagnose_trial(runs: list[Diagnosis]) -> TrialDiagnosis:
    """Majority label over repeats; ties go to the more severe label."""
    votes = Counter(r.label for r in runs)
    top = max(votes.values())
    label = next(lbl for lbl in SEVERITY if votes.get(lbl, 0) == top)
    agreeing = [r for r in runs if r.label == label]
    # The agreeing run with the median validation loss speaks for the trial.
    agreeing.sort(key=lambda r: r.evidence.get("val_end", math.inf))
    speaker = agreeing[(len(agreeing) - 1) // 2]
    agreement = f"{top}/{len(runs)} repeats {label.value}"
    return TrialDiagnosis(
        label,
        f"{agreement}: {speaker.reason}",
        speaker.recommendation,
        agreement,
        top / len(runs),
        tuple(runs),
    )
