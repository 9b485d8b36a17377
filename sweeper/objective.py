"""The score a trial is ranked by: validation loss plus a penalty on the generalization gap.

For repeats r = 1..R with final validation loss v_r (the mean of the run's last five epochs,
to damp epoch-to-epoch noise) and training loss t_r (the run's last weights scored on the
training windows with dropout off, as validation is; the per-epoch training curve has dropout
on, which inflates it and would hide the gap of a heavily regularized model):

    val_loss = mean_r v_r
    gap      = mean_r (v_r - t_r)
    penalty  = gap_penalty * max(0, gap)
    score    = val_loss + penalty            (minimized)

`gap_penalty = 0` gives a plain validation-loss sweep. Every component is stored on the trial,
so a reviewer can see why it ranked where it did.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# How many final epochs a run's final loss averages over.
TAIL_EPOCHS = 5


class Score(NamedTuple):
    val_loss: float
    train_loss: float
    gap: float
    penalty: float
    score: float


def final_loss(curve: np.ndarray) -> float:
    """Mean of the last TAIL_EPOCHS finite epochs of one run's curve."""
    finite = curve[np.isfinite(curve)]
    return float(np.mean(finite[-TAIL_EPOCHS:])) if finite.size else float("nan")


def score(train_final: np.ndarray, val_final: np.ndarray, gap_penalty: float) -> Score:
    """Aggregate per-repeat final losses, shape (n_repeats,), into the trial's score."""
    val_loss = float(np.mean(val_final))
    train_loss = float(np.mean(train_final))
    gap = float(np.mean(np.asarray(val_final) - np.asarray(train_final)))
    penalty = gap_penalty * max(0.0, gap)
    return Score(val_loss, train_loss, gap, penalty, val_loss + penalty)
