"""Fit diagnosis from learning curves: underfit, good fit, overfit or diverged, with reasons.

Input is one run's per-epoch training and validation loss, and optionally the validation loss of
a naive forecast and of the best comparable run (in a sweep: the best other trial on the same
data); output is a label, the evidence it rests on, one sentence with numbers, a recommendation
and a confidence. A trial's repeats are aggregated by majority, reporting how many agree.

Curves are judged on a log scale, averaged over a tenth of the run, so a rise that is tiny in
absolute terms but large relative to the loss is still seen and one noisy epoch makes neither a
minimum nor a rise; every threshold is the larger of a fixed relative amount and three standard
errors of the curve's own noise. The thresholds live in `Thresholds`. A label's confidence says
how far the thresholds can move, each from half to twice its value, before the label changes.

This module imports neither torch nor optuna: it can diagnose any training history.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

# The fewest epochs one point of a curve averages over; gradient norms need as many to compare.
MIN_EPOCHS = 5
# Fewer epochs than this are too few to average and still see a trend: the last step is read.
MIN_AVERAGED = 2 * MIN_EPOCHS
# A fall this small over the last fifth is a plateau, however steady.
MIN_SLOW_DROP = 0.01
# Fewer epochs than this cannot show that a curve settled: its last fifth is under 4 epochs,
# which the curve's own jitter swamps. Without a reference, such a run has not shown it is done.
MIN_SETTLED = 20
# A plateau whose training loss ends below this share of validation is told to regularize, not
# to add capacity: the model already fits its training data far better than new data.
GAP_NOT_CAPACITY = 0.5
# Gradient norm this many times above its early level means unstable (exploding) training.
GRAD_EXPLODE = 100.0
# Gradient norm this many times below its early level, with learning left to do, is vanishing.
GRAD_VANISH = 1e-4


@dataclass(frozen=True)
class Thresholds:
    """Where one label ends and the next begins. Relative amounts; a rise or a drop must also
    exceed `noise_sigmas` standard errors of the curve's own noise. The defaults were chosen on
    the development set of benchmarks/bench_diagnosis.py; RESULTS.md has how they score."""

    # A validation rise smaller than this (relative to the minimum) is not called overfitting:
    # a smaller bump rarely means that stopping at the minimum does 10% better on new data.
    min_rise: float = 0.15
    # A validation drop over the last fifth of training larger than this: "still improving".
    min_tail_drop: float = 0.10
    # A plateau this many times the best loss comparable runs reached (in a sweep, the best
    # other trial) is "high": the data allow clearly better. Twice the 10% that "clearly"
    # means elsewhere, because the best of many runs by validation is partly luck that does
    # not carry to new data.
    above_reference: float = 1.2
    # Without a reference: training loss that ends above this share of its first epoch's has
    # fit even the training data loosely (too small, too regularized or badly optimized).
    stalled_train: float = 0.2
    # A plateau above this share of a naive forecast's loss is no real gain over it.
    near_baseline: float = 1.0
    # A rise or a drop must exceed this many standard errors of the curve's own noise.
    noise_sigmas: float = 3.0


MIN_RISE = Thresholds.min_rise  # kept importable: diagnose_run's min_rise default


class Label(str, Enum):
    UNDERFIT = "underfit"
    GOOD = "good"
    OVERFIT = "overfit"
    DIVERGED = "diverged"
    # A trial's repeats with no label shared by more than half of them (never one run's).
    MIXED = "mixed"


# Ties in a trial's vote go to the label that asks for the most attention.
SEVERITY = (Label.DIVERGED, Label.OVERFIT, Label.UNDERFIT, Label.GOOD)


@dataclass(frozen=True)
class Diagnosis:
    label: Label
    reason: str
    recommendation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    # Share of nearby thresholds under which the curves get this label (1.0: none changes it).
    confidence: float = 1.0
    # Which rung of the ladder labelled it ("overfit", "still falling", "above baseline",
    # "above reference", "stalled", "too short", "good", "diverged"): what to change next
    # follows from it (see repair).
    branch: str = ""


@dataclass(frozen=True)
class TrialDiagnosis:
    label: Label
    reason: str
    recommendation: str
    agreement: str  # "2/3 repeats overfit"
    confidence: float  # share of repeats that agree with the label
    runs: tuple[Diagnosis, ...]
    branch: str = ""  # the speaking repeat's branch ("mixed" when no label has a majority)

    @property
    def repeat_labels(self) -> list[str]:
        return [r.label.value for r in self.runs]


def _tail_mean(x: np.ndarray) -> float:
    """Where a curve ended: the mean of its last 5 epochs, or of its last fifth if shorter."""
    return float(np.mean(x[-min(5, max(1, len(x) // 5)) :]))


def diagnose_run(
    train: Any, val: Any, baseline: float | None = None, *, min_rise: float = MIN_RISE,
    grad_norm: Any = None, reference: float | None = None,
    thresholds: Thresholds | None = None, baseline_name: str = "naive forecast",
) -> Diagnosis:
    """Label one run from its curves, shape (n_epochs,) each.

    `baseline` is a naive forecast's validation loss and `reference` the best validation loss
    that comparable runs reached (in a sweep: the best other trial on the same data, at its
    best epoch); a plateau well above either is underfit. Without a reference, the training
    loss's own progress is the evidence of a model that cannot learn these data. Gradient norms
    per epoch, when given, flag exploding or vanishing gradients in the reason and
    recommendation. `thresholds` overrides the defaults (`min_rise` is kept for callers that
    set only that one); `baseline_name` is what the baseline predicts, for the reason (a
    sweep's task names its own)."""
    th = thresholds or Thresholds(min_rise=min_rise)
    train = np.asarray(train, dtype=float)
    val = np.asarray(val, dtype=float)
    diverged = _diverged(train, val)
    if diverged is not None:
        return diverged
    m = {**_measure(train, val, baseline, reference), "baseline_name": baseline_name}
    branch = _decide(m, th)
    d = _explain(branch, m, th)
    d = dataclasses.replace(d, confidence=_confidence(m, th, d.label), branch=branch)
    if grad_norm is None:
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
        return dataclasses.replace(
            d,
            reason=f"{d.reason}; the gradient norm spiked {growth:.0f}x above its early level "
                   "(unstable training)",
            recommendation=f"{d.recommendation}; clip gradients (grad_clip) or lower the "
                           "learning rate",
            evidence={**evidence, "unstable": "exploding gradients"},
        )
    if decay < GRAD_VANISH and d.label is Label.UNDERFIT:
        return dataclasses.replace(
            d,
            reason=f"{d.reason}; the gradient norm fell to {decay:.1e} of its early level "
                   "(vanishing gradients)",
            recommendation=f"{d.recommendation}; raise the learning rate or use fewer layers",
            evidence={**evidence, "unstable": "vanishing gradients"},
        )
    return dataclasses.replace(d, evidence=evidence)


def _diverged(train: np.ndarray, val: np.ndarray) -> Diagnosis | None:
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
            branch="diverged",
        )
    if n >= 2 and train[-1] > 10 * train[0] and train[-1] > 1.0:
        return Diagnosis(
            Label.DIVERGED,
            f"training loss exploded from {train[0]:.3g} to {train[-1]:.3g} over {n} epochs",
            "lower the learning rate or clip gradients",
            {"n_epochs": n, "diverged_epoch": n},
            branch="diverged",
        )
    return None


def window(n: int) -> int:
    """Epochs averaged for one point of a curve: a tenth of the run, at least MIN_EPOCHS."""
    return min(n, max(MIN_EPOCHS, round(n / 10)))


def centred_means(x: np.ndarray, w: int) -> np.ndarray:
    """Mean over the w epochs centred on each epoch (fewer at the ends)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    lo = np.maximum(np.arange(len(x)) - w // 2, 0)
    hi = np.minimum(np.arange(len(x)) + w // 2 + 1, len(x))
    return (c[hi] - c[lo]) / (hi - lo)


def _measure(train: np.ndarray, val: np.ndarray, baseline: float | None,
             reference: float | None) -> dict[str, Any]:
    """Everything the labels are decided from, as plain numbers (the evidence)."""
    n = len(val)
    val_end, train_end = _tail_mean(val), _tail_mean(train)
    m: dict[str, Any] = {
        "n_epochs": n,
        "val_end": val_end,
        "train_end": train_end,
        "gap": val_end - train_end,
        "baseline": baseline,
        "reference": reference,
        # What is left of the first epoch's training loss: near 1, training barely moved.
        "train_left": train_end / train[0] if train[0] > 0 else 0.0,
    }
    if n < MIN_AVERAGED:
        # Too short to average: read the last step, raw.
        m.update(best_epoch=int(np.argmin(val)) + 1, rise=0.0, rise_se=0.0, tail_se=0.0,
                 tail_epochs=1,
                 tail_drop=1.0 - val[-1] / val[-2] if n >= 2 else 0.0)
        return m
    # Log scale, so a rise is relative to the loss; averages over w epochs, so one noisy epoch
    # neither makes a minimum nor a rise.
    lv, lt = np.log(np.maximum(val, 1e-12)), np.log(np.maximum(train, 1e-12))
    w = window(n)
    sv, st = centred_means(lv, w), centred_means(lt, w)
    v_final, t_final = float(np.mean(lv[-w:])), float(np.mean(lt[-w:]))
    best = int(np.argmin(sv))
    k = max(2, n // 5)
    slope = float(np.polyfit(np.arange(k), lv[-k:], 1)[0])
    # Epoch-to-epoch jitter around the averaged curve (log scale), and from it the standard
    # errors of what the labels compare: a difference of two w-epoch means (a rise), and the
    # change along a straight line through the last fifth (a drop).
    jitter = float(1.4826 * np.median(np.abs(lv - sv)))
    after = n - 1 - best
    gap_at_best = float(np.exp(sv[best]) - np.exp(st[best]))
    m.update(
        best_epoch=best + 1,
        val_best=math.exp(sv[best]),  # the lowest validation loss, averaged as the rise is
        rise=math.exp(v_final - sv[best]) - 1.0,
        # How far validation fell across the last fifth, along the straight line through its
        # log losses.
        tail_drop=1.0 - math.exp(slope * k),
        tail_epochs=k,
        window=w,
        jitter=math.exp(jitter) - 1.0,
        rise_se=jitter * math.sqrt(2.0 / w),
        tail_se=jitter * math.sqrt(12.0 / k),
        final_slope=slope,  # log-loss change per epoch at the end
        gap_at_best=gap_at_best,
        gap_trend=m["gap"] - gap_at_best,
        epochs_after_best=after,
        # Overfitting widens the gap: validation rises faster than training (which usually
        # falls, but with a large step size may wander too).
        train_still_falling=bool((t_final - st[best]) < 0.5 * (v_final - sv[best])),
        # The minimum lies before the last w epochs: a turn, not the last epochs' jitter.
        turn_long_enough=after >= w,
    )
    return m


def _beyond_noise(se: float, th: Thresholds) -> float:
    """The relative change that `th.noise_sigmas` standard errors (log scale) amount to."""
    return math.exp(th.noise_sigmas * se) - 1.0


def _decide(m: dict[str, Any], th: Thresholds) -> str:
    """The branch of the ladder that labels these measurements (a key of _explain)."""
    if m["n_epochs"] >= MIN_AVERAGED and m["turn_long_enough"] and m["train_still_falling"]:
        if m["rise"] > max(th.min_rise, _beyond_noise(m["rise_se"], th)):
            return "overfit"
    if m["tail_drop"] > max(th.min_tail_drop, _beyond_noise(m["tail_se"], th)):
        return "still falling"
    baseline, reference = m["baseline"], m["reference"]
    if baseline is not None and m["val_end"] > th.near_baseline * baseline:
        return "above baseline"
    if reference is not None and m["val_end"] > th.above_reference * reference:
        return "above reference"
    if reference is not None:
        return "good"
    # Without a reference, what the curves themselves show: a run too short to have settled,
    # or a training loss that barely moved (a model that cannot learn these data).
    if m["n_epochs"] < MIN_SETTLED:
        return "too short"
    if m["train_left"] > th.stalled_train:
        return "stalled"
    return "good"


def _explain(branch: str, m: dict[str, Any], th: Thresholds) -> Diagnosis:
    """The label, one sentence with the numbers, and what to change, for a branch."""
    # The evidence is numbers; these two flags only steer _decide, and the name is wording.
    evidence = {k: v for k, v in m.items() if k not in ("train_still_falling",
                                                         "turn_long_enough", "baseline_name")}
    return _EXPLAIN[branch](m, th, evidence)


_CAPACITY_FIX = ("add capacity (hidden units, layers) or fix the optimization (learning "
                 "rate, optimizer)")


def _explain_overfit(m: dict[str, Any], th: Thresholds, evidence: dict[str, Any]) -> Diagnosis:
    best = m["best_epoch"]
    return Diagnosis(
        Label.OVERFIT,
        f"validation loss bottomed at {m['val_best']:.3g} (epoch {best}) and "
        f"rose {m['rise']:.0%} over the next {m['epochs_after_best']} epochs while training "
        "loss kept falling",
        f"train for about {best} epochs, or add dropout or weight decay",
        evidence,
    )


def _explain_still_falling(m: dict[str, Any], th: Thresholds,
                           evidence: dict[str, Any]) -> Diagnosis:
    n = m["n_epochs"]
    # A short run's drop is its last step alone (see _measure), and says so.
    span = (f"over the last {m['tail_epochs']} of {n} epochs" if n >= MIN_AVERAGED
            else f"in the last of only {n} epochs")
    return Diagnosis(
        Label.UNDERFIT,
        f"validation loss was still falling at the end: down {m['tail_drop']:.0%} {span}",
        "train for more epochs",
        evidence,
    )


def _plateau_fix(m: dict[str, Any]) -> str:
    """What to change for a plateau that is too high: capacity, unless the run already fits
    its training data far better than validation, where more capacity widens that gap."""
    if m["train_end"] < GAP_NOT_CAPACITY * m["val_end"]:
        return (f"regularize (more dropout or weight decay), train fewer epochs, or give it "
                f"more data: training loss ({m['train_end']:.3g}) is already far below "
                f"validation ({m['val_end']:.3g}), so more capacity would widen that gap")
    return _CAPACITY_FIX


def _too_high(m: dict[str, Any], evidence: dict[str, Any], against: str) -> Diagnosis:
    """Underfit: validation levelled off too high, `against` saying above what."""
    return Diagnosis(Label.UNDERFIT, f"validation loss levelled off at {m['val_end']:.3g}, "
                     + against, _plateau_fix(m), evidence)


def _explain_above_baseline(m: dict[str, Any], th: Thresholds,
                            evidence: dict[str, Any]) -> Diagnosis:
    # With near_baseline below 1, a plateau just under the naive forecast also lands here.
    return _too_high(m, evidence, ("above" if m["val_end"] > m["baseline"] else "hardly below")
                     + f" the {m['baseline_name']}'s {m['baseline']:.3g}")


def _explain_above_reference(m: dict[str, Any], th: Thresholds,
                             evidence: dict[str, Any]) -> Diagnosis:
    ref = m["reference"]
    return _too_high(m, evidence, f"{m['val_end'] / ref - 1:.0%} above the {ref:.3g} that the "
                                  "best comparable run reached")


def _explain_stalled(m: dict[str, Any], th: Thresholds, evidence: dict[str, Any]) -> Diagnosis:
    n, train_end = m["n_epochs"], m["train_end"]
    left = f"{m['train_left']:.0%} of its first epoch's ({train_end:.3g} from " \
           f"{train_end / m['train_left']:.3g})"
    # Validation still at its minimum and still falling, if slowly: the model can learn these
    # data, only too slowly for the epochs it had.
    if (m["epochs_after_best"] < m["window"]
            and m["tail_drop"] > max(MIN_SLOW_DROP, _beyond_noise(m["tail_se"], th))):
        return Diagnosis(
            Label.UNDERFIT,
            f"validation loss is still at its lowest at the end, falling slowly (down "
            f"{m['tail_drop']:.0%} over the last {m['tail_epochs']} of {n} epochs), and "
            f"training loss is still at {left}: learning is slow",
            "raise the learning rate (or use Adam) and train for more epochs",
            evidence,
        )
    return Diagnosis(
        Label.UNDERFIT,
        f"training loss came down only to {left}, and validation levelled off at "
        f"{m['val_end']:.3g}: the model fits even its training data loosely",
        "add capacity (hidden units, layers), or use less dropout and weight decay",
        evidence,
    )


def _explain_too_short(m: dict[str, Any], th: Thresholds,
                       evidence: dict[str, Any]) -> Diagnosis:
    return Diagnosis(
        Label.UNDERFIT,
        f"only {m['n_epochs']} epochs: too few to show that the curves settled (validation "
        f"{m['val_end']:.3g}, training {m['train_end']:.3g})",
        "train for more epochs",
        evidence,
    )


def _explain_good(m: dict[str, Any], th: Thresholds, evidence: dict[str, Any]) -> Diagnosis:
    n, val_end = m["n_epochs"], m["val_end"]
    if n < MIN_AVERAGED:
        return _good_early(m, evidence)
    return Diagnosis(
        Label.GOOD,
        f"both losses fell and settled (validation {val_end:.3g}, training "
        f"{m['train_end']:.3g}); {_settled(m, th)}",
        "keep this configuration" if m["reference"] is not None else
        "keep this configuration; only other configurations on the same data can show whether "
        "one does clearly better",
        evidence,
    )


def _good_early(m: dict[str, Any], evidence: dict[str, Any]) -> Diagnosis:
    """A run too short to average that already nears the reference (only a run with a
    reference is called good this early: without one it is "too short")."""
    n, val_end, ref = m["n_epochs"], m["val_end"], m["reference"]
    return Diagnosis(
        Label.GOOD,
        f"only {n} epochs, but validation loss {val_end:.3g} is already close to the "
        f"{ref:.3g} that the best comparable run reached ({val_end / ref - 1:+.0%})",
        "keep this configuration",
        evidence,
    )


def _settled(m: dict[str, Any], th: Thresholds) -> str:
    """Why a rise after the minimum, if any, is not overfitting: which condition of _decide's
    overfit test the curves failed."""
    tolerance = max(th.min_rise, _beyond_noise(m["rise_se"], th))
    rise, after, best = m["rise"], m["epochs_after_best"], m["best_epoch"]
    if rise <= tolerance:
        return (f"validation ends {rise:.0%} above its minimum, less than the "
                f"{tolerance:.0%} a rise must exceed on this curve")
    if not m["train_still_falling"]:
        return (f"validation ends {rise:.0%} above its minimum (epoch {best}), but "
                "training loss stopped falling too, so the gap did not widen")
    return (f"validation rose {rise:.0%} above its minimum only in the last {after} "
            "epochs, too few to call a turn")


# Each branch of _decide's ladder, and what builds its Diagnosis.
_EXPLAIN = {"overfit": _explain_overfit, "still falling": _explain_still_falling,
            "above baseline": _explain_above_baseline,
            "above reference": _explain_above_reference, "stalled": _explain_stalled,
            "too short": _explain_too_short, "good": _explain_good}


# Each threshold in turn is moved by these factors to measure a label's confidence: from half to
# twice its value.
NEARBY = (1 / 2, 2 / 3, 4 / 5, 5 / 4, 3 / 2, 2)


def _confidence(m: dict[str, Any], th: Thresholds, label: Label) -> float:
    """The smallest share, over the thresholds, of that threshold's nearby values under which
    the same measurements keep this label: 1.0 when no threshold between half and twice its
    value changes it, 0.5 when one changes it as soon as it moves a quarter one way."""
    shares = []
    for f in dataclasses.fields(Thresholds):
        value = getattr(th, f.name)
        same = 0
        for factor in NEARBY:
            # A ratio to a loss that must exceed 1 (above_reference) moves its excess over 1.
            moved = 1 + (value - 1) * factor if f.name == "above_reference" else value * factor
            same += _LABEL_OF[_decide(m, dataclasses.replace(th, **{f.name: moved}))] is label
        shares.append(same / len(NEARBY))
    return min(shares)


_LABEL_OF = {"overfit": Label.OVERFIT, "still falling": Label.UNDERFIT,
             "above baseline": Label.UNDERFIT, "above reference": Label.UNDERFIT,
             "stalled": Label.UNDERFIT, "too short": Label.UNDERFIT, "good": Label.GOOD}


def diagnose_trial(runs: list[Diagnosis]) -> TrialDiagnosis:
    """The label more than half the repeats share, with how many agree; with no such label,
    "mixed", saying what each repeat got (a diverged repeat still makes the trial diverged:
    its configuration is unstable)."""
    votes = Counter(r.label for r in runs)
    top = max(votes.values())
    label = next(lbl for lbl in SEVERITY if votes.get(lbl, 0) == top)
    mixed = len(votes) > 1 and 2 * top <= len(runs) and Label.DIVERGED not in votes
    agreeing = [r for r in runs if r.label == label]
    # The agreeing run with the median validation loss speaks for the trial.
    agreeing.sort(key=lambda r: r.evidence.get("val_end", math.inf))
    speaker = agreeing[(len(agreeing) - 1) // 2]
    if mixed:
        counts = ", ".join(f"{votes[lbl]} {lbl.value}" for lbl in SEVERITY if lbl in votes)
        agreement = f"no majority among {len(runs)} repeats ({counts})"
        return TrialDiagnosis(
            Label.MIXED,
            f"{agreement}: " + "; ".join(f"repeat {i + 1} {r.label.value}: {r.reason}"
                                         for i, r in enumerate(runs)),
            "the repeats disagree: look at each one's curves; more repeats would say which "
            "way this configuration leans",
            agreement, top / len(runs), tuple(runs), "mixed")
    agreement = f"{top}/{len(runs)} repeats {label.value}"
    return TrialDiagnosis(
        label,
        f"{agreement}: {speaker.reason}",
        speaker.recommendation,
        agreement,
        top / len(runs),
        tuple(runs),
        speaker.branch,
    )
