"""The score a trial is ranked by: validation loss plus penalties on the overfit gap and on
the repeats' disagreement.

For repeats r = 1..R, each run's validation curve is averaged over windows of five epochs (to
damp epoch-to-epoch noise): v_r is its last window, b_r its lowest. With `delivered` = the
delivered model's validation loss D (the repeats at their best epochs, predictions averaged)
and each repeat's validation loss d_r at its best epoch, which is what a sweep passes under
`Study.validation = "delivered"` (the default):

    val_loss     = D                         what the model a user takes away scores
    overfit_gap  = mean_r o_r (v_r - b_r)    how far validation ended above its own best, where
                                             o_r = 1 for a repeat diagnosed overfit, else 0
    spread       = std_r(d_r) / sqrt(R)      standard error over the repeats (0 for one run)
    penalty      = gap_penalty * overfit_gap + spread_penalty * spread
    score        = val_loss + penalty        (minimized)

Without it (`Study.validation = "final"`), val_loss = mean_r v_r and the spread is taken over
the v_r: the repeats as they ended, at their last weights.

The overfit gap is the part of the generalization gap that opened after a run stopped
improving on validation: zero for a run that settled or is still improving, the rise for one
that turned. Only a rise the diagnosis judged real counts: the lowest 5-epoch window of a
noisy, level curve always lies a little below its last one, and penalizing that would rank
down configurations for their noise rather than for overfitting.

The plain train/validation gap is stored too (`gap`, with training loss taken from each run's
last weights with dropout off, as validation is), but it is not penalized: a time series'
later validation windows are harder than its training windows for every model, and
penalizing that gap favours models that fit the training data worse.

The spread term ranks a configuration by how well it does for a seed the sweep has not tried
rather than for the seeds it has: of two with the same mean, the one whose repeats agree
wins, and a mean that is low by luck of one seed counts for less.

`gap_penalty = spread_penalty = 0` gives a plain validation-loss sweep. Every component is
stored on the trial, so a reviewer can see why it ranked where it did."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

# How many epochs a run's final (and best) loss averages over.
TAIL_EPOCHS = 5


class Score(NamedTuple):
    val_loss: float
    train_loss: float
    gap: float  # validation - training (informational)
    overfit_gap: float  # validation's final level above its best (penalized)
    spread: float  # standard error of val_loss over repeats (penalized)
    penalty: float
    score: float


def final_loss(curve: np.ndarray) -> float:
    """Mean of the last TAIL_EPOCHS finite epochs of one run's curve."""
    finite = curve[np.isfinite(curve)]
    return float(np.mean(finite[-TAIL_EPOCHS:])) if finite.size else float("nan")


def best_loss(curve: np.ndarray) -> float:
    """Lowest mean over TAIL_EPOCHS consecutive finite epochs: the run's best level, averaged
    as its final loss is (so a settled noisy curve ends close to it)."""
    finite = curve[np.isfinite(curve)]
    if finite.size <= TAIL_EPOCHS:
        return final_loss(curve)
    return float(np.convolve(finite, np.ones(TAIL_EPOCHS) / TAIL_EPOCHS, mode="valid").min())


def score(val_curves: Sequence[np.ndarray], train_fit: np.ndarray, gap_penalty: float,
          spread_penalty: float = 0.0, overfit: Sequence[bool] | None = None,
          delivered: tuple[float, Sequence[float]] | None = None) -> Score:
    """The trial's score from its repeats' validation curves and their training losses;
    `overfit` says which repeats the diagnosis labelled overfit (None: count every rise).

    With `delivered` = (validation loss of the delivered model, each repeat's validation loss
    at its best epoch), the validation term is the delivered model's and the spread is taken
    over the repeats at their best epochs; the overfit gap is counted as above either way."""
    val_final = np.array([final_loss(v) for v in val_curves])
    val_best = np.array([best_loss(v) for v in val_curves])
    val_loss = float(np.mean(val_final))
    rise = np.maximum(0.0, val_final - val_best)
    if overfit is not None:
        rise = np.where(np.asarray(overfit, dtype=bool), rise, 0.0)
    overfit_gap = float(np.mean(rise))
    spread_of = val_final
    if delivered is not None:
        val_loss, spread_of = float(delivered[0]), np.asarray(delivered[1], dtype=float)
    n = len(spread_of)
    spread = float(np.std(spread_of, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    penalty = gap_penalty * overfit_gap + spread_penalty * spread
    return Score(val_loss, float(np.mean(train_fit)), float(np.mean(val_final - train_fit)),
                 overfit_gap, spread, penalty, val_loss + penalty)
