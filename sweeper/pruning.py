"""Stopping work early: degradation early stopping per run, and Optuna pruners by name.

Optuna's median and percentile pruners compare a trial's *best-so-far* intermediate value with
other trials, so a run whose validation loss turns upward after a good early epoch survives them.
`DegradationMonitor` watches one run's own curves and stops it when validation loss has risen
beyond its noise for `patience` epochs while training loss kept falling: the overfitting turn.

The decision is numeric and framework-free (`DegradationMonitor`, `find_degradation`);
`make_pruner` builds Optuna's pruners by name, and `explain` says, with numbers, why one of them
stopped a trial.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from enum import Enum
from typing import Any, NamedTuple

import numpy as np

PRUNERS = ("none", "median", "percentile", "successive_halving", "hyperband", "patient")
# Trials completed before a comparative pruner may prune: a median of fewer is mostly noise.
N_STARTUP_TRIALS = 5


class StopKind(str, Enum):
    """Why a run ended before its last epoch, stored by name."""

    DEGRADED = "degraded"  # validation turned upward while training kept falling
    DIVERGED = "diverged"  # a loss became NaN or infinite


class Stop(NamedTuple):
    """Why and where a run was stopped."""

    epoch: int  # last epoch trained (0-based)
    turn_epoch: int  # epoch of the smoothed validation minimum
    rise: float  # relative rise of smoothed validation loss above that minimum
    reason: str
    kind: StopKind = StopKind.DEGRADED


class DegradationMonitor:
    """Feed one epoch at a time; `update` returns a Stop once the run has turned.

    Works on log losses, smoothed with an exponential moving average, so a rise is judged
    relative to the loss's own scale; the threshold is the larger of `min_rise` and three times
    the curve's running epoch-to-epoch noise.
    """

    def __init__(self, patience: int, min_rise: float, span: int = 5) -> None:
        self.patience = patience
        self.log_min_rise = math.log1p(min_rise)
        self.alpha = 2.0 / (span + 1.0)
        self.epoch = -1
        self.val_s = self.train_s = self.noise = 0.0
        self.best_val_s = math.inf
        self.best_epoch = 0
        self.train_s_at_best = math.inf
        self.best_raw = math.inf
        self.train_raw_at_best = math.inf
        self.n_above = 0

    def update(self, train_loss: float, val_loss: float) -> Stop | None:
        self.epoch += 1
        lv, lt = math.log(val_loss + 1e-12), math.log(train_loss + 1e-12)
        if self.epoch == 0:
            self.val_s, self.train_s = lv, lt
        else:
            self.noise += self.alpha * (abs(lv - self.val_s) - self.noise)
            self.val_s += self.alpha * (lv - self.val_s)
            self.train_s += self.alpha * (lt - self.train_s)
        if self.val_s < self.best_val_s:
            self.best_val_s, self.best_epoch = self.val_s, self.epoch
            self.train_s_at_best = self.train_s
            self.best_raw, self.train_raw_at_best = val_loss, train_loss
        threshold = max(self.log_min_rise, 3.0 * self.noise)
        self.n_above = self.n_above + 1 if self.val_s - self.best_val_s > threshold else 0
        if self.n_above < self.patience or self.train_s >= self.train_s_at_best:
            return None
        rise = math.exp(self.val_s - self.best_val_s) - 1.0
        train_drop = 1.0 - math.exp(self.train_s - self.train_s_at_best)
        reason = (
            f"validation loss rose {rise:.0%} above its minimum {self.best_raw:.4g} "
            f"(epoch {self.best_epoch + 1}) and stayed above it for {self.n_above} epochs while "
            f"training loss fell {train_drop:.0%}; stopped at epoch {self.epoch + 1}"
        )
        return Stop(self.epoch, self.best_epoch, rise, reason)


def find_degradation(
    train: Sequence[float], val: Sequence[float], patience: int, min_rise: float
) -> Stop | None:
    """The first stop a monitor would make on these whole curves, or None."""
    monitor = DegradationMonitor(patience, min_rise)
    for t, v in zip(train, val, strict=True):
        stop = monitor.update(float(t), float(v))
        if stop is not None:
            return stop
    return None


def make_pruner(pruner: Any, first_step: int, max_epochs: int) -> Any:
    """An Optuna pruner from a name in PRUNERS, or the user's own pruner instance unchanged.

    `first_step` is the first epoch at which trials report, the smallest resource that
    successive halving and hyperband can judge at. Comparative pruners wait for the first
    quarter of the longest training: early LSTM curves are plateaus that say little about where
    a configuration ends up.
    """
    import optuna

    if not isinstance(pruner, str):
        return pruner
    warmup = max_epochs // 4
    if pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup)
    if pruner == "percentile":
        return optuna.pruners.PercentilePruner(
            25.0, n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup
        )
    if pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=first_step)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=first_step)
    if pruner == "patient":
        # Wait 3 reports without improvement before asking the median pruner.
        with warnings.catch_warnings():  # Optuna still marks PatientPruner experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.PatientPruner(
                optuna.pruners.MedianPruner(
                    n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup
                ),
                patience=3,
            )
    raise ValueError(f"unknown pruner {pruner!r}")  # the spec has already refused it


def explain(pruner: Any, epoch: int, value: float, best: float,
            values_at_epoch: Sequence[float]) -> str:
    """Why `pruner` stopped a trial at `epoch`, with the comparison that pruner makes.

    `value` is the trial's mean validation loss reported at that epoch, `best` the lowest it
    reported so far, and `values_at_epoch` what the completed trials reported at that epoch.
    """
    name = type(pruner).__name__
    head = f"pruned at epoch {epoch}"
    if name == "PatientPruner":
        inner = getattr(pruner, "_wrapped_pruner", None)
        patience = getattr(pruner, "_patience", "?")
        tail = (explain(inner, epoch, value, best, values_at_epoch).split(": ", 1)[1]
                if inner is not None else f"mean validation loss {value:.4g}")
        return (f"{head} by the patient pruner: no improvement over its last {patience} reports,"
                f" and {tail}")
    if hasattr(pruner, "_percentile") and values_at_epoch:
        percentile = float(pruner._percentile)
        which = "median" if percentile == 50 else f"{percentile:g}th percentile"
        bar = float(np.nanpercentile(np.asarray(values_at_epoch, dtype=float), percentile))
        return (f"{head} by the {which} pruner: its best mean validation loss so far, "
                f"{best:.4g}, is above the {which} {bar:.4g} of the {len(values_at_epoch)} "
                "completed trials' values at that epoch")
    if name in ("SuccessiveHalvingPruner", "HyperbandPruner"):
        factor = getattr(pruner, "_reduction_factor", None)
        share = f"the best 1/{factor}" if factor else "the best share"
        how = "hyperband's successive halving" if name == "HyperbandPruner" \
            else "successive halving"
        return (f"{head} by {how}: at this rung its mean validation loss {value:.4g} was not "
                f"among {share} of the trials that reached it")
    if name == "ThresholdPruner":
        upper = getattr(pruner, "_upper", math.inf)
        return (f"{head} by the threshold pruner: mean validation loss {value:.4g} is "
                f"{'not finite' if not math.isfinite(value) else f'above {upper:.4g}'}")
    return f"{head} by {name} with mean validation loss {value:.4g}"


def report_steps(max_epochs: int, max_reports: int) -> int:
    """Report every this many epochs: at most `max_reports` storage writes per trial, on one
    grid shared by all trials so that comparative pruners see the same steps."""
    return max(1, math.ceil(max_epochs / max_reports))
