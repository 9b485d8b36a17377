"""One trial: draw a configuration, train its seeded repeats, judge them, record the outcome.

    trial -> config (space.suggest) -> seeded repeats (train) -> evaluate: delivered model,
          per-repeat and trial diagnosis, score, prune reason -> Outcome
          -> record (once) -> model file, figure and note -> value / prune / fail

A trial ends in one of three ways. It completes with its score. It is pruned, with a reason
that says why in numbers: a pruner stopped it, screening judged its first run, or a repeat's
loss diverged. It fails when it raises (out of memory, any exception), with the reason stored;
the sweep then goes on (see sweep). Screening judges a first run by the same evaluation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore

from . import keys, record
from .delivery import DeliveredModel, calibrate
from .diagnosis import Diagnosis, Label, TrialDiagnosis, diagnose_run, diagnose_trial
from .kept import save_artifact, still_matters
from .liveness import (
    heartbeat,
    hold_signals,
    interrupt_reason,
    release_signals,
    signal_behind,
    stamp,
)
from .modelfile import meta_for
from .objective import Score, score
from .optuna_private import trial_id
from .pruning import StopKind, explain, report_steps
from .repair import CHILD_SHARE, choose, tally
from .review import publish_trial
from .space import suggest
from .spec import Study
from .storage import (
    WholeOrNone,
    artifact_folder,
    disk_full,
    folder_full,
    requeue,
    stop_after_trial,
)
from .train import TrainResult, combine, train_repeats
from .windows import Windows
from .words import counted

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
          spread_penalty: float, delivered: tuple[float, list[float]] | None = None,
          baseline_name: str = "naive forecast") -> tuple[list[Diagnosis], Score]:
    """Each repeat's diagnosis, and the score, whose overfit gap counts the repeats
    diagnosed overfit; with `delivered` (see objective.score) its validation term is the
    delivered model's. `baseline_name` is what the baseline predicts (the task says)."""
    runs = [diagnose_run(*result.curve(r), baseline=baseline, reference=reference,
                         grad_norm=result.signals(r)[0], baseline_name=baseline_name)
            for r in range(len(result.n_epochs_run))]
    parts = score([result.curve(r)[1] for r in range(len(runs))], result.train_fit,
                  gap_penalty, spread_penalty,
                  overfit=[run.label is Label.OVERFIT for run in runs], delivered=delivered)
    return runs, parts


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


@dataclass(frozen=True)
class Outcome:
    """What a trial's trained repeats came to, decided in one place (`TrialObjective.evaluate`)
    before anything is stored: each repeat's diagnosis and the trial's, the score and its
    parts, the delivered model's validation result, and why the trial is pruned (None: it
    completes with `score.score`)."""

    runs: list[Diagnosis]
    verdict: TrialDiagnosis
    score: Score
    delivered: tuple[float, list[float]]  # (validation loss of the averaged prediction, each
    # repeat's at its best epoch)
    delivered_scores: dict[str, float]  # the task's metrics of that prediction (accuracy, ...)
    best_epochs: list[int]
    prune_reason: str | None
    # Its prediction intervals, calibrated on validation (see delivery.calibrate); empty for a
    # pruned trial or a task of classes.
    intervals: dict[str, list[float]]

    @property
    def completes(self) -> bool:
        return self.prune_reason is None


def _verdict(outcome: Outcome) -> dict[str, Any]:
    """The verdict as the repair policy reads it: the trial's label and the branch, evidence
    and recommendation of a repeat that shares it, and each repeat's own."""
    v = outcome.verdict
    runs = [{"label": r.label.value, "branch": r.branch, "evidence": r.evidence,
             "recommendation": r.recommendation} for r in v.runs]
    if (outcome.prune_reason or "").startswith("diverged"):  # one unstable repeat decides
        return {"label": "diverged", "branch": "diverged", "recommendation": "",
                "evidence": {}, "runs": runs}
    speaker = next((r for r in runs if r["label"] == v.label.value and r["branch"] == v.branch),
                   runs[0] if runs else {})
    return {"label": v.label.value, "branch": v.branch, "recommendation": v.recommendation,
            "evidence": speaker.get("evidence") or {}, "runs": runs}


def prune_reason(result: TrainResult, runs: list[Diagnosis], verdict: TrialDiagnosis,
                 parts: Score, stopped: str | None) -> str | None:
    """Why a trial is pruned, or None: a diverged repeat first (its configuration is unstable,
    whatever the others did), then the reason a pruner or screening gave (`stopped`)."""
    diverged = diverged_reason(result, runs, verdict.reason)
    if diverged:  # the run ended where its loss stopped being a number
        return diverged
    if verdict.label is Label.DIVERGED or not np.isfinite(parts.score):
        return f"diverged: {verdict.reason}"
    return stopped


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
            record.write(trial, {keys.WORKER: stamp()})
            with heartbeat(trial):
                return self._run(trial)
        except optuna.TrialPruned:
            raise
        except torch.cuda.OutOfMemoryError as exc:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            record.fail_reason(trial, f"oom: {(str(exc).splitlines() or ['out of memory'])[0]}")
            raise
        except KeyboardInterrupt as exc:
            _interrupted(trial, exc)
            raise
        except Exception as exc:
            stop = signal_behind(exc)
            if stop is not None:  # the signal, not the error its cleanup raised, stops it
                _interrupted(trial, stop)
                raise stop from None
            record.fail_reason(trial, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            hold_signals()  # until Optuna has stored how the trial ended (the next callback)

    def _run(self, trial: optuna.Trial) -> float:
        """Train, evaluate, record once, publish; then complete or prune."""
        timing = _Timing()
        config = suggest(trial, self.spec.space)
        seeds = derive_seeds(self.spec.seed, trial.number, self.spec.repeats)
        result, seeds, stopped = self._train(trial, config, seeds, timing)
        with timing("diagnosis_s"):
            outcome = self.evaluate(trial, config, seeds, result, stopped)
        attrs = record.trial_attrs(config, seeds, self.device, result, outcome)
        with timing("model_s"):
            attrs.update(self._model_file(trial, config, seeds, result, outcome))
        with timing("storage_s"):
            record.write(trial, attrs)
            try:  # a child that cannot be queued must not cost a finished trial
                repair = self._repair(trial, config, outcome)
            except Exception as exc:
                repair = {"why": f"no child: queueing one failed ({type(exc).__name__}: {exc})"}
            if repair:
                record.write(trial, {keys.REPAIR: repair})
                attrs[keys.REPAIR] = repair
        with timing("review_s"):  # the note says where the trial came from and what it queued
            self._publish(trial, {**{k: trial.user_attrs[k] for k in keys.LINEAGE
                                     if k in trial.user_attrs}, **attrs})
        record.write(trial, {keys.TIMING: timing.seconds(result.seconds)})
        if not outcome.completes:
            raise optuna.TrialPruned(outcome.prune_reason)
        return outcome.score.score

    def _train(self, trial: optuna.Trial, config: dict[str, Any], seeds: list[int],
               timing: _Timing) -> tuple[TrainResult, list[int], str | None]:
        """(result, the seeds it trained, why a pruner or screening stopped it, or None).
        With screening, one run first; the other repeats only for a configuration that may
        rank high."""
        stopped: list[str] = []
        reported: list[float] = []

        def on_report(epoch: int, mean_val: float) -> bool:
            with timing("storage_s"):
                trial.report(mean_val, epoch)
                reported.append(mean_val)
                prune = trial.should_prune()
                if prune:
                    stopped.append(self._prune_reason(trial, epoch, mean_val, min(reported)))
            return prune

        on_epoch = None
        if self.on_epoch is not None:
            def on_epoch(epoch: int, n_epochs: int) -> None:
                self.on_epoch(trial.number, epoch, n_epochs)

        def train(some: list[int], report: Any) -> TrainResult:
            spec = self.spec
            return train_repeats(
                config, self.windows, some, self.device, patience=spec.patience,
                min_rise=spec.min_rise, report_every=self.report_every, on_report=report,
                on_epoch=on_epoch, engine=spec.engine,
            )

        if not (self.spec.screen and len(seeds) > 1):
            result = train(seeds, on_report)
            return result, seeds, stopped[0] if stopped else None
        result = train(seeds[:1], on_report)
        if not stopped:
            screened = self._screen(trial, config, seeds[:1], result)
            if screened:
                stopped.append(screened)
        if stopped:
            return result, seeds[:1], stopped[0]
        return combine(result, train(seeds[1:], None)), seeds, None

    def evaluate(self, trial: optuna.Trial, config: dict[str, Any], seeds: list[int],
                 result: TrainResult, stopped: str | None) -> Outcome:
        """The outcome of trained repeats: the delivered model (the repeats at their best
        epochs) on validation, each repeat's diagnosis against the baseline and the best
        completed trial, the trial's verdict, the score, and whether it is pruned."""
        reference = self._best_val_loss(trial, config["loss"])
        best_epochs = [int(e) for e in result.best_epoch]
        meta = meta_for(self.spec.name, trial.number, config, self.spec.data, self.windows.task,
                        seeds, best_epochs, self.spec.seed)
        model = DeliveredModel(meta, result.states, task=self.windows.task)
        delivered = model.losses_on(self.windows, "val")
        runs, parts = judge(result, self.windows.baseline(config["loss"]), reference,
                            self.spec.gap_penalty, self.spec.spread_penalty,
                            delivered if self.spec.validation == "delivered" else None,
                            self.windows.task.baseline_name)
        verdict = diagnose_trial(runs)
        why = prune_reason(result, runs, verdict, parts, stopped)
        return Outcome(runs, verdict, parts, delivered, model.scores_on(self.windows, "val"),
                       best_epochs, why, {} if why else calibrate(model, self.windows))

    def _screen(self, trial: optuna.Trial, config: dict[str, Any], seeds: list[int],
                first: TrainResult) -> str | None:
        """Why the other repeats are skipped: the first run scored worse than the median
        completed trial (once SCREEN_AFTER trials have completed), or None to train them."""
        done = [t.value for t in self._completed(trial)]
        if len(done) < SCREEN_AFTER:
            return None
        one = self.evaluate(trial, config, seeds, first, None).score.score
        bar = float(np.median(done))
        if not one > bar:
            return None
        return (f"screened: its first run scored {one:.4g}, worse than the median {bar:.4g} of "
                f"{len(done)} completed trials, so its other {self.spec.repeats - 1} repeats "
                "were not trained")

    def _model_file(self, trial: optuna.Trial, config: dict[str, Any], seeds: list[int],
                    result: TrainResult, outcome: Outcome) -> dict[str, Any]:
        """{keys.MODEL: ...} for a completed trial among the Study.keep_models best, whose
        model file is saved as an artifact of the trial; else nothing."""
        if not outcome.completes or self.store is None:
            return {}
        done = [t.value for t in self._completed(trial)]
        if not still_matters(outcome.score.score, done, self.spec.keep_models):
            return {}
        meta = meta_for(self.spec.name, trial.number, config, self.spec.data, self.windows.task,
                        seeds, outcome.best_epochs, self.spec.seed)
        meta["intervals"] = outcome.intervals
        return {keys.MODEL: save_artifact(trial, self.store, meta, result.states,
                                          self.spec.keep_models)}

    def _repair(self, trial: optuna.Trial, config: dict[str, Any], outcome: Outcome
                ) -> dict[str, Any] | None:
        """Queue one child configuration by a repair move from this trial's verdict (see
        repair), through Optuna's own queue, so that every worker and the sampler see it; what
        was queued, or why nothing was (None with repair off)."""
        policy = self.spec.repair
        if policy == "off":
            return None
        study = trial.study
        trials = study.get_trials(deepcopy=False)
        children = [t for t in trials if keys.PARENT in t.user_attrs]
        why_not = self._no_child(trial, outcome, trials, children)
        if why_not:
            return {"why": f"no child: {why_not}"}
        # A child that failed (its worker killed, say) says nothing about its move.
        judged = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        stats = tally([{"move": t.user_attrs[keys.MOVE],
                        "score": t.value if t.state == judged[0] else None,
                        "parent_score": t.user_attrs.get(keys.PARENT_SCORE)}
                       for t in children if t.state in judged])
        rng = np.random.default_rng([self.spec.seed, trial.number, 33])
        move, why = choose(_verdict(outcome), config, self.spec.space, stats, rng, policy)
        if move is None:
            return {"why": why}
        params = {**trial.params, move.param: move.new}
        study.enqueue_trial(params, user_attrs={
            keys.PARENT: trial.number, keys.MOVE: move.name, keys.MOVE_DETAIL: move.describe(),
            keys.PARENT_LABEL: outcome.verdict.label.value, keys.PROBLEM: move.problem,
            keys.PARENT_SCORE: outcome.score.score if outcome.completes else None})
        return {"move": move.name, "detail": move.describe(), "policy": policy, "why": why}

    def _no_child(self, trial: optuna.Trial, outcome: Outcome,
                  trials: list[optuna.trial.FrozenTrial],
                  children: list[optuna.trial.FrozenTrial]) -> str | None:
        """Why this trial may not queue a child, or None when it may."""
        diverged = bool(outcome.prune_reason and outcome.prune_reason.startswith("diverged"))
        if not (outcome.completes or diverged):
            return "the trial was pruned before its runs could be judged"
        if not self.spec.space.searched():
            return "the space fixes every setting"
        # A trial run again (its first run failed or was abandoned) is the same parent: a
        # child its first run queued is its child already.
        retry_of = {t.number: t.user_attrs[keys.RETRY_OF] for t in trials
                    if keys.RETRY_OF in t.user_attrs}
        same, number = {trial.number}, trial.number
        while number in retry_of:
            number = retry_of[number]
            same.add(number)
        had = sorted(t.number for t in children
                     if t.user_attrs[keys.PARENT] in same and keys.RETRY_OF not in t.user_attrs)
        if had:
            return f"an earlier run of this configuration queued #{had[0]} already"
        # A child run again after a failure is still one child (it keeps its lineage).
        n_children = len({t.user_attrs[keys.PARENT] for t in children})
        n_trials = len(trials) - len(retry_of)
        if n_children + 1 > CHILD_SHARE * (n_trials + 1):
            return (f"the study has {counted(n_trials, 'trial')}, {n_children} of them "
                    f"{'a child' if n_children == 1 else 'children'}, and one more would make "
                    f"children over {CHILD_SHARE:.0%} of its trials")
        # Finished, running (this trial among them) or waiting: the budget left is what is not.
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                  optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
        if sum(t.state in states for t in trials) >= self.spec.n_trials:
            return "no trial of the study's budget is left to run one"
        return None

    def _publish(self, trial: optuna.Trial, attrs: dict[str, Any]) -> None:
        """The trial's figure and note; one that cannot be drawn or saved must not cost the
        trial, so its error is stored instead."""
        if self.store is None or not self.spec.trial_figures:
            return
        try:
            publish_trial(trial, record.json_safe(attrs), WholeOrNone(self.store))
        except Exception as exc:
            record.write(trial, {keys.REVIEW_ERROR: f"{type(exc).__name__}: {exc}"})
            if disk_full(exc):  # the trial stands; the sweep stops once it is stored
                stop_after_trial(trial_id(trial), folder_full(artifact_folder(self.store),
                                                              exc))

    def _completed(self, trial: optuna.Trial) -> list[optuna.trial.FrozenTrial]:
        return trial.study.get_trials(deepcopy=False,
                                      states=(optuna.trial.TrialState.COMPLETE,))

    def _best_val_loss(self, trial: optuna.Trial, loss: str) -> float | None:
        return record.best_val_loss(self._completed(trial), loss)

    def _prune_reason(self, trial: optuna.Trial, epoch: int, mean_val: float,
                      best: float) -> str:
        """Why the pruner stopped this trial, with the comparison it made."""
        at_epoch = [t.intermediate_values[epoch] for t in self._completed(trial)
                    if epoch in t.intermediate_values]
        return explain(trial.study.pruner, epoch, mean_val, best, at_epoch)


class _Timing:
    """Seconds spent per part of a trial beside training (keys.TIMING)."""

    PARTS = ("diagnosis_s", "storage_s", "review_s", "model_s")

    def __init__(self) -> None:
        self.spent = dict.fromkeys(self.PARTS, 0.0)

    @contextlib.contextmanager
    def __call__(self, part: str) -> Any:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.spent[part] += time.perf_counter() - t0

    def seconds(self, train_s: float) -> dict[str, float]:
        return {"train_s": round(train_s, 4),
                **{k: round(v, 4) for k, v in self.spent.items()}}


def _interrupted(trial: optuna.Trial, exc: KeyboardInterrupt) -> None:
    record.fail_reason(trial, interrupt_reason(exc))
    with contextlib.suppress(Exception):  # the resumed sweep runs it again first
        requeue(trial.study, trial)
