"""The sweep: an Optuna study whose every trial trains repeats, diagnoses them and scores them.

    trial -> config (space.suggest) -> seeded repeats (train) -> per-repeat diagnosis
          -> trial diagnosis -> score (objective) -> attrs (storage) -> value / prune / fail

A trial that fails (out of memory, any exception) is recorded with its reason and the sweep goes
on, until `Study.max_failures` trials in a row have failed; a run whose loss turns NaN or inf ends
at that epoch and its trial is pruned, saying so. A misconfigured sweep never gets here (see spec
and validate). Several workers and what happens when one stops are in `workers`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore

from . import keys
from .data import Windows
from .diagnosis import Diagnosis, Label, TrialDiagnosis, diagnose_run, diagnose_trial
from .objective import Score, score
from .pruning import make_pruner, report_steps
from .review import artifact_store, publish_study_figures, publish_study_note, publish_trial
from .space import suggest
from .spec import Study
from .storage import (
    count_trials,
    json_safe,
    make_storage,
    open_study,
    requeue,
    round_curve,
    write_attrs,
)
from .train import TrainResult, combine, train_repeats
from .workers import (
    TooManyFailures,
    heartbeat,
    interrupt_reason,
    reclaim_stale,
    run_workers,
    stamp,
)


def derive_seeds(study_seed: int, trial_number: int, n_repeats: int) -> list[int]:
    """Seed of each repeat, from (study seed, trial number, repeat index) alone, so one trial can
    be re-run without the rest of the study."""
    return [
        int(np.random.SeedSequence([study_seed, trial_number, r]).generate_state(1)[0])
        for r in range(n_repeats)
    ]


def judge(result: TrainResult, baseline: float, reference: float | None, gap_penalty: float,
          spread_penalty: float) -> tuple[list[Diagnosis], Score]:
    """Each repeat's diagnosis, and the score, whose overfit gap counts the repeats
    diagnosed overfit."""
    runs = [diagnose_run(*result.curve(r), baseline=baseline, reference=reference,
                         grad_norm=result.signals(r)[0])
            for r in range(len(result.n_epochs_run))]
    parts = score([result.curve(r)[1] for r in range(len(runs))], result.train_fit,
                  gap_penalty, spread_penalty,
                  overfit=[run.label is Label.OVERFIT for run in runs])
    return runs, parts


# Completed trials needed before `Study.screen` judges a first run against them.
SCREEN_AFTER = 4


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
            _store_reason(trial, interrupt_reason(exc))
            with contextlib.suppress(Exception):  # the resumed sweep runs it again first
                requeue(trial.study, trial)
            raise
        except Exception as exc:
            _store_reason(trial, f"{type(exc).__name__}: {exc}")
            raise

    def _run(self, trial: optuna.Trial) -> float:
        spec = self.spec
        config = suggest(trial, spec.space)
        seeds = derive_seeds(spec.seed, trial.number, spec.repeats)
        storage_s = 0.0
        prune_reason: list[str] = []

        def on_report(epoch: int, mean_val: float) -> bool:
            nonlocal storage_s
            t0 = time.perf_counter()
            trial.report(mean_val, epoch)
            prune = trial.should_prune()
            if prune:
                prune_reason.append(self._prune_reason(trial, epoch, mean_val))
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
            screened = None if prune_reason else self._screen(trial, result, config["loss"])
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
        runs, parts = self._judge(result, baseline, reference)
        verdict = diagnose_trial(runs)
        diagnosis_s = time.perf_counter() - t0

        attrs = trial_attrs(config, seeds, self.device, result, verdict, parts)
        nonfinite = [(r, s.epoch + 1) for r, s in enumerate(result.stops)
                     if s is not None and s.reason.startswith("loss became non-finite")]
        if nonfinite:  # the run ended where its loss stopped being a number
            where = ", ".join(f"repeat {r + 1} at epoch {e}" for r, e in nonfinite)
            prune_reason.insert(0, f"diverged: {len(nonfinite)}/{len(seeds)} repeats' loss "
                                   f"became NaN or inf ({where}); {verdict.reason}")
        elif verdict.label is Label.DIVERGED or not np.isfinite(parts.score):
            prune_reason.insert(0, f"diverged: {verdict.reason}")
        if prune_reason:
            attrs[keys.PRUNE_REASON] = prune_reason[0]
        t0 = time.perf_counter()
        write_attrs(trial, attrs)
        storage_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        if self.store is not None and self.spec.trial_figures:
            try:  # a figure that cannot be drawn or saved must not cost the trial
                publish_trial(trial, json_safe(attrs), self.store)
            except Exception as exc:
                trial.set_user_attr(keys.REVIEW_ERROR, f"{type(exc).__name__}: {exc}")
        review_s = time.perf_counter() - t0
        trial.set_user_attr(keys.TIMING, {
            "train_s": round(result.seconds, 4), "diagnosis_s": round(diagnosis_s, 4),
            "storage_s": round(storage_s, 4), "review_s": round(review_s, 4),
        })
        if prune_reason:
            raise optuna.TrialPruned(prune_reason[0])
        return parts.score

    def _screen(self, trial: optuna.Trial, first: TrainResult, loss: str) -> str | None:
        """Why the other repeats are skipped: the first run scored worse than the median
        completed trial (once SCREEN_AFTER trials have completed), or None to train them."""
        done = [t.value for t in trial.study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
        if len(done) < SCREEN_AFTER:
            return None
        one = self._judge(first, self.windows.baseline(loss),
                          self._best_val_loss(trial, loss))[1].score
        bar = float(np.median(done))
        if not one > bar:
            return None
        return (f"screened: its first run scored {one:.4g}, worse than the median {bar:.4g} of "
                f"{len(done)} completed trials, so its other {self.spec.repeats - 1} repeats "
                "were not trained")

    def _judge(self, result: TrainResult, baseline: float,
               reference: float | None) -> tuple[list[Diagnosis], Score]:
        return judge(result, baseline, reference, self.spec.gap_penalty,
                     self.spec.spread_penalty)

    @staticmethod
    def _best_val_loss(trial: optuna.Trial, loss: str) -> float | None:
        """The lowest validation loss a completed trial with the same loss function reached:
        what the data demonstrably allow, to judge a plateau "high" against."""
        done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        values = [t.user_attrs[keys.VAL_LOSS] for t in done
                  if (t.user_attrs.get(keys.CONFIG) or {}).get("loss") == loss
                  and t.user_attrs.get(keys.VAL_LOSS) is not None]
        return min(values) if values else None

    def _prune_reason(self, trial: optuna.Trial, epoch: int, mean_val: float) -> str:
        """Why the pruner stopped this trial, with the comparison it most likely made."""
        pruner = type(trial.study.pruner).__name__
        done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        at_step = [t.intermediate_values[epoch] for t in done if epoch in t.intermediate_values]
        if at_step:
            return (
                f"pruned by {pruner} at epoch {epoch}: mean validation loss {mean_val:.4g} vs a "
                f"median of {float(np.median(at_step)):.4g} over {len(at_step)} completed "
                "trials at that epoch"
            )
        return f"pruned by {pruner} at epoch {epoch} with mean validation loss {mean_val:.4g}"


def trial_attrs(config: dict[str, Any], seeds: list[int], device: torch.device,
                result: TrainResult, verdict: TrialDiagnosis, parts: Any) -> dict[str, Any]:
    """Everything stored on a trial, keyed by `keys` (one storage write per entry)."""
    n = len(seeds)
    best_epochs = [r.evidence.get("best_epoch") for r in verdict.runs]
    best_epochs = [b for b in best_epochs if b is not None]
    return {
        keys.LABEL: verdict.label.value,
        keys.AGREEMENT: verdict.agreement,
        keys.CONFIDENCE: round(verdict.confidence, 3),
        keys.REPEAT_LABELS: verdict.repeat_labels,
        keys.REASON: verdict.reason,
        keys.RECOMMENDATION: verdict.recommendation,
        keys.VAL_LOSS: parts.val_loss,
        keys.TRAIN_LOSS: parts.train_loss,
        keys.GAP: parts.gap,
        keys.OVERFIT_GAP: parts.overfit_gap,
        keys.SPREAD: parts.spread,
        keys.PENALTY: parts.penalty,
        keys.BEST_EPOCH: int(np.median(best_epochs)) if best_epochs else None,
        keys.CONFIG: config,
        keys.SEEDS: seeds,
        keys.DEVICE: str(device),
        keys.ENGINE: result.engine,
        keys.EVIDENCE: [r.evidence for r in verdict.runs],
        keys.EARLY_STOP: [
            None if s is None else
            {"epoch": s.epoch + 1, "turn_epoch": s.turn_epoch + 1, "reason": s.reason}
            for s in result.stops
        ],
        keys.CURVES: {
            "train": [round_curve(result.curve(r)[0]) for r in range(n)],
            "val": [round_curve(result.curve(r)[1]) for r in range(n)],
            "grad_norm": [round_curve(result.signals(r)[0]) for r in range(n)],
            "weight_norm": [round_curve(result.signals(r)[1]) for r in range(n)],
        },
    }


def run_sweep(spec: Study, windows: Windows, device: torch.device, storage_url: str,
              out: Callable[[str], None] = print, progress: bool | None = None,
              artifacts: str | None = None, jobs: int = 1, threads: int = 1,
              devices: list[str] | None = None) -> optuna.Study:
    """Create or resume the study and run trials until it has spec.n_trials finished ones:
    in this process, or in `jobs` worker processes (one per entry of `devices`).

    With `artifacts` (a folder), every finished trial gets a learning-curve PNG and a note,
    and the study gets its figures at the end (see review). Raises KeyboardInterrupt (or
    workers.Terminated) after a signal, TooManyFailures after max_failures failures in a row
    and storage.StorageUnavailable after a long outage; finished trials are kept in every case."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # sweeper prints its own trial lines
    pruner = make_pruner(spec.pruner, report_steps(spec.space.max_epochs(), spec.max_reports),
                         spec.space.max_epochs())
    baseline = {loss: windows.baseline(loss) for loss in ("mse", "mae")}
    study, resumed = open_study(spec.name, storage_url, pruner, spec.to_dict(), baseline, out)
    store = artifact_store(artifacts) if artifacts else None
    if store is not None and not resumed:
        publish_study_note(study, spec.to_dict(), baseline)
    reclaim_stale(study, out)
    done, _ = count_trials(study)
    remaining = spec.n_trials - done
    if resumed:
        out(f"resuming study {spec.name!r}: {done} finished trials, {max(0, remaining)} to go")
    if remaining <= 0:
        return study
    try:
        if jobs <= 1:
            work(spec, windows, device, storage_url, out, progress, artifacts, study=study)
        else:
            run_workers({"spec": spec, "windows": windows, "url": storage_url,
                         "artifacts": artifacts, "threads": threads,
                         "devices": devices or [str(device)] * jobs}, out)
    finally:  # also after Ctrl-C: the figures show what finished
        if store is not None:
            with contextlib.suppress(Exception):
                publish_study_figures(study, store)
    return study


def work(spec: Study, windows: Windows, device: torch.device, storage_url: str,
         out: Callable[[str], None], progress: bool | None = None,
         artifacts: str | None = None, worker: int = 0,
         study: optuna.Study | None = None) -> None:
    """One worker: run trials on the stored study until it has spec.n_trials finished ones."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    report_every = report_steps(spec.space.max_epochs(), spec.max_reports)
    if study is None:
        study = optuna.load_study(
            study_name=spec.name, storage=make_storage(storage_url, warn=out, retry_open=True),
            pruner=make_pruner(spec.pruner, report_every, spec.space.max_epochs()))
    # Seeded by the trials already there and the worker, so that a resumed sweep does not replay
    # its first picks and parallel workers do not make the same ones.
    seed = int(np.random.SeedSequence([spec.seed, len(study.trials), worker]).generate_state(1)[0])
    study.sampler = optuna.samplers.TPESampler(seed=seed)
    show_epochs = sys.stderr.isatty() if progress is None else progress
    objective = TrialObjective(spec, windows, device,
                               on_epoch=_epoch_progress if show_epochs else None,
                               store=artifact_store(artifacts) if artifacts else None)
    after = AfterTrial(out, spec.n_trials, spec.max_failures, show_epochs)
    while True:
        finished, running = count_trials(study)
        if finished >= spec.n_trials:
            return
        if finished + running >= spec.n_trials:  # other workers are running the last trials;
            time.sleep(1.0)  # start more only if one of those fails or its worker is gone
            reclaim_stale(study, out)
            continue
        study.optimize(objective, catch=(Exception,), callbacks=[after])
        if after.failures >= spec.max_failures:
            raise TooManyFailures(after.failure_message())


def _store_reason(trial: optuna.Trial, reason: str) -> None:
    with contextlib.suppress(Exception):  # the failure itself is stored by Optuna regardless
        trial.set_user_attr(keys.FAIL_REASON, reason)


def _epoch_progress(number: int, epoch: int, n_epochs: int) -> None:
    if epoch == n_epochs or epoch % 10 == 0:
        sys.stderr.write(f"\r  trial {number}: epoch {epoch}/{n_epochs}  ")
        sys.stderr.flush()


class AfterTrial:
    """After each trial: print one line (params, label, score parts, time), stop the worker
    once the study has its finished trials or max_failures trials in a row failed, and reclaim
    trials that a stopped worker left running."""

    def __init__(self, out: Callable[[str], None], n_trials: int, max_failures: int,
                 clear_line: bool) -> None:
        self.out, self.n_trials, self.clear_line = out, n_trials, clear_line
        self.max_failures = max_failures
        self.failures = 0  # in a row
        self.reasons: list[str] = []

    def failure_message(self) -> str:
        return (f"{self.failures} trials in a row failed, so every trial probably will (last "
                f"reason: {self.reasons[-1]}); the sweep stopped, finished trials are kept, and "
                "re-running the same command resumes it (raise Study.max_failures or "
                "--max-failures to allow more).")

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.clear_line:
            sys.stderr.write("\r" + " " * 40 + "\r")
        if trial.state == optuna.trial.TrialState.FAIL:
            self.failures += 1
            self.reasons.append(trial.user_attrs.get(keys.FAIL_REASON, "unknown error"))
        else:
            self.failures = 0
        reclaim_stale(study, self.out, heartbeats=False)  # optimize checks those itself
        finished, running = count_trials(study)
        self._print(trial, finished)
        if self.failures >= self.max_failures or finished + running >= self.n_trials:
            study.stop()

    def _print(self, trial: optuna.trial.FrozenTrial, done: int) -> None:
        attrs = trial.user_attrs
        params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        if trial.state == optuna.trial.TrialState.COMPLETE:
            what = (f"{attrs.get(keys.LABEL, '?'):8s} score {trial.value:.4g} = val "
                    f"{attrs[keys.VAL_LOSS]:.4g} + penalty {attrs[keys.PENALTY]:.4g}")
        elif trial.state == optuna.trial.TrialState.PRUNED:
            what = f"pruned   {attrs.get(keys.PRUNE_REASON, '')}"
        else:
            what = f"failed   {attrs.get(keys.FAIL_REASON, 'unknown error')}"
        if attrs.get(keys.RETRY_OF) is not None:
            what += f" (runs trial #{attrs[keys.RETRY_OF]}'s configuration again)"
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        self.out(f"[{done}/{self.n_trials}] #{trial.number:<3d} {what}  ({params}; "
                 f"{seconds:.1f}s)")


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
