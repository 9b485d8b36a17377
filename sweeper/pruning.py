"""Stopping work early: degradation early stopping per run, and Optuna pruners by name.

Optuna's median and percentile pruners compare a trial's *best-so-far* intermediate value with
other trials, so a run whose validation loss turns upward after a good early epoch survives them.
`DegradationMonitor` watches one run's own curves and stops it when validation loss has risen
beyond its noise for `patience` epochs while training loss kept falling: the overfitting turn.

The decision is numeric and framework-free (`DegradationMonitor`, `find_degradation`);
`make_pruner` builds pruners by name: sweeper's subclasses of Optuna's pruners, which prune as
Optuna's do and keep their settings as public attributes, from which `explain` says, with
numbers, why one of them stopped a trial. Importing this module does not import Optuna.
"""

from __future__ import annotations

import functools
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
    """A pruner from a name in PRUNERS, or the user's own pruner instance unchanged.

    Named pruners are sweeper's subclasses of Optuna's (see `_pruner_classes`): they prune as
    Optuna's do and keep the settings `explain` quotes as public attributes. `first_step` is
    the first epoch at which trials report, the smallest resource that successive halving and
    hyperband can judge at. Comparative pruners wait for the first quarter of the longest
    training: early LSTM curves are plateaus that say little about where a configuration ends
    up.
    """
    import optuna

    if not isinstance(pruner, str):
        return pruner
    c = _pruner_classes()
    warmup = max_epochs // 4
    if pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return c["MedianPruner"](n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup)
    if pruner == "percentile":
        return c["PercentilePruner"](25.0, n_startup_trials=N_STARTUP_TRIALS,
                                     n_warmup_steps=warmup)
    # Optuna's own defaults, passed so that the number is known: 4 for successive halving, 3
    # for hyperband.
    if pruner == "successive_halving":
        return c["SuccessiveHalvingPruner"](min_resource=first_step, reduction_factor=4)
    if pruner == "hyperband":
        return c["HyperbandPruner"](min_resource=first_step, reduction_factor=3)
    if pruner == "patient":
        # Wait 3 reports without improvement before asking the median pruner.
        with warnings.catch_warnings():  # Optuna still marks PatientPruner experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return c["PatientPruner"](
                c["MedianPruner"](n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup),
                patience=3,
            )
    raise ValueError(f"unknown pruner {pruner!r}")  # the spec has already refused it


_PRUNER_CLASSES = ("PercentilePruner", "MedianPruner", "SuccessiveHalvingPruner",
                   "HyperbandPruner", "PatientPruner")


@functools.cache
def _pruner_classes() -> dict[str, type]:
    """sweeper's pruner classes by name, built on first use so that importing this module does
    not import Optuna.

    Each subclasses the Optuna pruner of the same name, passes its arguments through unchanged
    and keeps them as public attributes. They are reachable as attributes of this module (see
    `__getattr__`), so their instances pickle.
    """
    import optuna

    class PercentilePruner(optuna.pruners.PercentilePruner):
        def __init__(self, percentile: float, n_startup_trials: int = 5,
                     n_warmup_steps: int = 0) -> None:
            super().__init__(percentile, n_startup_trials=n_startup_trials,
                             n_warmup_steps=n_warmup_steps)
            self.percentile = float(percentile)
            self.n_startup_trials = n_startup_trials
            self.n_warmup_steps = n_warmup_steps

    class MedianPruner(optuna.pruners.MedianPruner):
        def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0) -> None:
            super().__init__(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
            self.percentile = 50.0
            self.n_startup_trials = n_startup_trials
            self.n_warmup_steps = n_warmup_steps

    class SuccessiveHalvingPruner(optuna.pruners.SuccessiveHalvingPruner):
        def __init__(self, min_resource: int, reduction_factor: int) -> None:
            super().__init__(min_resource=min_resource, reduction_factor=reduction_factor)
            self.min_resource = min_resource
            self.reduction_factor = reduction_factor

    class HyperbandPruner(optuna.pruners.HyperbandPruner):
        def __init__(self, min_resource: int, reduction_factor: int) -> None:
            super().__init__(min_resource=min_resource, reduction_factor=reduction_factor)
            self.min_resource = min_resource
            self.reduction_factor = reduction_factor

    class PatientPruner(optuna.pruners.PatientPruner):
        def __init__(self, wrapped: Any, patience: int) -> None:
            super().__init__(wrapped, patience=patience)
            self.wrapped = wrapped
            self.patience = patience

    classes = {}
    for cls in (PercentilePruner, MedianPruner, SuccessiveHalvingPruner, HyperbandPruner,
                PatientPruner):
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
        classes[cls.__name__] = cls
    return classes


def __getattr__(name: str) -> Any:
    """sweeper's pruner classes as module attributes, e.g. `sweeper.pruning.MedianPruner`."""
    if name in _PRUNER_CLASSES:
        return _pruner_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def explain(pruner: Any, epoch: int, value: float, best: float,
            values_at_epoch: Sequence[float]) -> str:
    """Why `pruner` stopped a trial at `epoch`, with the comparison that pruner makes.

    `value` is the trial's mean validation loss reported at that epoch, `best` the lowest it
    reported so far, and `values_at_epoch` what the completed trials reported at that epoch.
    The comparison is told for sweeper's own pruners (from make_pruner), from their public
    settings; any other pruner is named with the value it saw.
    """
    who, why = _comparison(pruner, value, best, values_at_epoch)
    head = f"pruned at epoch {epoch} by {who}"
    return f"{head}: {why}" if why else f"{head} with mean validation loss {value:.4g}"


def _comparison(pruner: Any, value: float, best: float,
                values_at_epoch: Sequence[float]) -> tuple[str, str | None]:
    """(who pruned, the comparison it made), or (its class name, None) where that is unknown."""
    name = type(pruner).__name__
    c = _pruner_classes()
    if isinstance(pruner, c["PatientPruner"]):
        inner = _comparison(pruner.wrapped, value, best, values_at_epoch)[1] \
            if pruner.wrapped is not None else None
        return ("the patient pruner",
                f"no improvement over its last {pruner.patience} reports, and "
                f"{inner or f'mean validation loss {value:.4g}'}")
    if isinstance(pruner, (c["PercentilePruner"], c["MedianPruner"])) and values_at_epoch:
        which = "median" if pruner.percentile == 50 else f"{pruner.percentile:g}th percentile"
        bar = float(np.nanpercentile(np.asarray(values_at_epoch, dtype=float),
                                     pruner.percentile))
        return (f"the {which} pruner",
                f"its best mean validation loss so far, {best:.4g}, is above the {which} "
                f"{bar:.4g} of the {len(values_at_epoch)} completed trials' values at that "
                "epoch")
    if isinstance(pruner, (c["SuccessiveHalvingPruner"], c["HyperbandPruner"])):
        how = "hyperband's successive halving" if isinstance(pruner, c["HyperbandPruner"]) \
            else "successive halving"
        return (how, f"at this rung its mean validation loss {value:.4g} was not among the "
                     f"best 1/{pruner.reduction_factor} of the trials that reached it")
    return name, None


def report_steps(max_epochs: int, max_reports: int) -> int:
    """Report every this many epochs: at most `max_reports` storage writes per trial, on one
    grid shared by all trials so that comparative pruners see the same steps."""
    return max(1, math.ceil(max_epochs / max_reports))
