"""One trial: draw a configuration, train its seeded repeats, judge them, store the record.

    trial -> config (space.suggest) -> seeded repeats (train) -> per-repeat diagnosis
          -> trial diagnosis -> score (objective) -> record -> value / prune / fail

A trial ends in one of three ways. It completes with its score. It is pruned, with a reason
that says why in numbers: a pruner stopped it, screening judged its first run, or a repeat's
loss diverged. It fails when it raises (out of memory, any exception), with the reason stored;
the sweep then goes on (see sweep).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore

from . import keys, record
from .data import Windows
from .delivery import DeliveredModel, meta_for, save_artifact, still_matters
from .diagnosis import Diagnosis, Label, diagnose_run, diagnose_trial
from .liveness import (
    heartbeat,
    hold_signals,
    interrupt_reason,
    release_signals,
    signal_behind,
    stamp,
)
from .objective import Score, score
from .pruning import StopKind, explain, report_steps
from .review import publish_trial
from .space import suggest
from .spec import Study
from .storage import requeue
from .train import TrainResult, combine, train_repeats

# Completed trials needed before `Study.screen` judges a first run against them.
SCREEN_AFTER = 4


def derive_seeds(study_seed: int, trial_number: int, n_repeats: int) -> list[int]:
    """Seed of each repeat, from (study seed, trial number, repeat index) alone, so one trial can
    be re-run without the rest of the study."""
    return [
        int(np.random.SeedSequence([study_seed, trial_number, r]).generate_state(1)[0])
        for r in range(n_repeats)
    ]


def judge(result: TrainResult, baseline: float, reference: float | None, gap_penalty: float,
          spread_penalty: float, delivered: tuple[float, list[float]] | None = None
          ) -> tuple[list[Diagnosis], Score]:
    """Each repeat's diagnosis, and the score, whose overfit gap counts the repeats
    diagnosed overfit; with `delivered` (see objective.score) its validation term is the
    delivered model's."""
    runs = [diagnose_run(*result.curve(r), baseline=baseline, reference=reference,
                         grad_norm=result.signals(r)[0])
            for r in range(len(result.n_epochs_run))]
    parts = score([result.curve(r)[1] for r in range(len(runs))], result.train_fit,
                  gap_penalty, spread_penalty,
                  overfit=[run.label is Label.OVERFIT for run in runs], delivered=delivered)
    return runs, parts


def delivered_losses(model: DeliveredModel, windows: Windows) -> tuple[float, list[float]]:
    """(validation loss of the averaged prediction, each repeat's) at the best epochs."""
    return model.losses_on(windows, "val")


def diverged_reason(result: TrainResult, runs: list[Diagnosis], verdict_reason: str
                    ) -> str | None:
    """'diverged: ...' naming every repeat whose loss stopped being a number or exploded, or
    None when none did: one such repeat is enough to prune the trial, whatever the others
    did, because its configuration is unstable."""
    nan = {r: s.epoch + 1 for r, s in enumerate(result.stops)
           if s is not None and s.kind is StopKind.DIVERGED}
    exploded = {r: run.reason for r, run in enumerate(runs)
                if run.label is Label.DIVERGED and r not in nan}
    n = len(runs)
    if not nan and not exploded:
        return None
    if not exploded:
        named = ", ".join(f"repeat {r + 1} at epoch {e}" for r, e in nan.items())
        return (f"diverged: {len(nan)}/{n} repeats' loss became NaN or inf ({named}); "
                f"{verdict_reason}")
    parts = [f"repeat {r + 1}: loss became NaN or inf at epoch {e}" for r, e in nan.items()] + \
        [f"repeat {r + 1}: {why}" for r, why in exploded.items()]
    return (f"diverged: {len(nan) + len(exploded)}/{n} repeats diverged ("
            + "; ".join(sorted(parts)) + ")")


class TrialObjective:
    """The function Optuna calls once per trial."""

    def __init__(self, spec: Study, windows: Windows, device: torch.device,
                 on_epoch: Callable[[int, int, int], None] | None = None,
                 store: FileSystemArtifactStore | None = None) -> None:
        self.spec = spec
        self.store = store
        self.windows = windows
        self.device = device
        self.report_every = report_steps(spec.space.max_epochs(), spec.max_reports)
        self.on_epoch = on_epoch

    def __call__(self, trial: optuna.Trial) -> float:
        try:
            release_signals()  # one that came while Optuna created this trial stops it here
            trial.set_user_attr(keys.WORKER, stamp())
            with heartbeat(trial):
                return self._run(trial)
        except optuna.TrialPruned:
            raise
        except torch.cuda.OutOfMemoryError as exc:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            _store_reason(trial, f"oom: {(str(exc).splitlines() or ['out of memory'])[0]}")
            raise
        except KeyboardInterrupt as exc:
            _interrupted(trial, exc)
            raise
        except Exception as exc:
            stop = signal_behind(exc)
            if stop is not None:  # the signal, not the error its cleanup raised, stops it
                _interrupted(trial, stop)
                raise stop from None
            _store_reason(trial, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            hold_signals()  # until Optuna has stored how the trial ended (the next callback)

    def _run(self, trial: optuna.Trial) -> float:
        spec = self.spec
        config = suggest(trial, spec.space)
        seeds = derive_seeds(spec.seed, trial.number, spec.repeats)
        storage_s = 0.0
        prune_reason: list[str] = []
        reported: list[float] = []

        def on_report(epoch: int, mean_val: float) -> bool:
            nonlocal storage_s
            t0 = time.perf_counter()
            trial.report(mean_val, epoch)
            reported.append(mean_val)
            prune = trial.should_prune()
            if prune:
                prune_reason.append(self._prune_reason(trial, epoch, mean_val, min(reported)))
            storage_s += time.perf_counter() - t0
            return prune

        on_epoch = None
        if self.on_epoch is not None:
            def on_epoch(epoch: int, n_epochs: int) -> None:
                self.on_epoch(trial.number, epoch, n_epochs)

        def train(some: list[int], report: Any) -> TrainResult:
            return train_repeats(
                config, self.windows, some, self.device, patience=spec.patience,
                min_rise=spec.min_rise, report_every=self.report_every, on_report=report,
                on_epoch=on_epoch, engine=spec.engine,
            )

        if spec.screen and len(seeds) > 1:
            # One run first; the other repeats only for a configuration that may rank high.
            result = train(seeds[:1], on_report)
            first_meta = meta_for(spec.name, trial.number, config, spec.data, self.windows,
                                  seeds[:1], [int(e) for e in result.best_epoch], spec.seed)
            screened = None if prune_reason else self._screen(trial, result, first_meta)
            if screened:
                prune_reason.append(screened)
            if prune_reason:
                seeds = seeds[:1]
            else:
                result = combine(result, train(seeds[1:], None))
        else:
            result = train(seeds, on_report)
        t0 = time.perf_counter()
        baseline = self.windows.baseline(config["loss"])
        reference = self._best_val_loss(trial, config["loss"])
        storage_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        meta = meta_for(spec.name, trial.number, config, spec.data, self.windows, seeds,
                        [int(e) for e in result.best_epoch], spec.seed)
        model = DeliveredModel(meta, result.states)
        delivered = delivered_losses(model, self.windows)
        runs, parts = self._judge(result, baseline, reference, delivered)
        verdict = diagnose_trial(runs)
        diagnosis_s = time.perf_counter() - t0

        attrs = record.trial_attrs(config, seeds, self.device, result, verdict, parts)
        attrs[keys.DELIVERED] = {"val_loss": delivered[0], "repeat_val_loss": delivered[1],
                                 "best_epochs": meta["best_epochs"],
                                 "scores": model.scores_on(self.windows, "val")}
        diverged = diverged_reason(result, runs, verdict.reason)
        if diverged:  # the run ended where its loss stopped being a number
            prune_reason.insert(0, diverged)
        elif verdict.label is Label.DIVERGED or not np.isfinite(parts.score):
            prune_reason.insert(0, f"diverged: {verdict.reason}")
        if prune_reason:
            attrs[keys.PRUNE_REASON] = prune_reason[0]
        t0 = time.perf_counter()
        if not prune_reason and self.store is not None:
            done = [t.value for t in self._completed(trial)]
            if still_matters(parts.score, done, spec.keep_models):
                attrs[keys.MODEL] = save_artifact(trial, self.store, meta, result.states,
                                                  spec.keep_models)
        model_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        record.write(trial, attrs)
        storage_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        if self.store is not None and self.spec.trial_figures:
            try:  # a figure that cannot be drawn or saved must not cost the trial
                publish_trial(trial, record.json_safe(attrs), self.store)
            except Exception as exc:
                trial.set_user_attr(keys.REVIEW_ERROR, f"{type(exc).__name__}: {exc}")
        review_s = time.perf_counter() - t0
        trial.set_user_attr(keys.TIMING, {
            "train_s": round(result.seconds, 4), "diagnosis_s": round(diagnosis_s, 4),
            "storage_s": round(storage_s, 4), "review_s": round(review_s, 4),
            "model_s": round(model_s, 4),
        })
        if prune_reason:
            raise optuna.TrialPruned(prune_reason[0])
        return parts.score

    def _completed(self, trial: optuna.Trial) -> list[optuna.trial.FrozenTrial]:
        return trial.study.get_trials(deepcopy=False,
                                      states=(optuna.trial.TrialState.COMPLETE,))

    def _screen(self, trial: optuna.Trial, first: TrainResult, meta: dict[str, Any]
                ) -> str | None:
        """Why the other repeats are skipped: the first run scored worse than the median
        completed trial (once SCREEN_AFTER trials have completed), or None to train them."""
        done = [t.value for t in self._completed(trial)]
        if len(done) < SCREEN_AFTER:
            return None
        loss = meta["config"]["loss"]
        delivered = delivered_losses(DeliveredModel(meta, first.states), self.windows)
        one = self._judge(first, self.windows.baseline(loss),
                          self._best_val_loss(trial, loss), delivered)[1].score
        bar = float(np.median(done))
        if not one > bar:
            return None
        return (f"screened: its first run scored {one:.4g}, worse than the median {bar:.4g} of "
                f"{len(done)} completed trials, so its other {self.spec.repeats - 1} repeats "
                "were not trained")

    def _judge(self, result: TrainResult, baseline: float, reference: float | None,
               delivered: tuple[float, list[float]]) -> tuple[list[Diagnosis], Score]:
        return judge(result, baseline, reference, self.spec.gap_penalty,
                     self.spec.spread_penalty,
                     delivered if self.spec.validation == "delivered" else None)

    def _best_val_loss(self, trial: optuna.Trial, loss: str) -> float | None:
        return record.best_val_loss(self._completed(trial), loss)

    def _prune_reason(self, trial: optuna.Trial, epoch: int, mean_val: float,
                      best: float) -> str:
        """Why the pruner stopped this trial, with the comparison it made."""
        at_epoch = [t.intermediate_values[epoch] for t in self._completed(trial)
                    if epoch in t.intermediate_values]
        return explain(trial.study.pruner, epoch, mean_val, best, at_epoch)


def _interrupted(trial: optuna.Trial, exc: KeyboardInterrupt) -> None:
    _store_reason(trial, interrupt_reason(exc))
    with contextlib.suppress(Exception):  # the resumed sweep runs it again first
        requeue(trial.study, trial)


def _store_reason(trial: optuna.Trial, reason: str) -> None:
    with contextlib.suppress(Exception):  # the failure itself is stored by Optuna regardless
        trial.set_user_attr(keys.FAIL_REASON, reason)
