"""The sweep: an Optuna study run until it has its finished trials, by one worker or several.

    run_sweep -> open or resume the study -> reclaim abandoned trials
              -> work() here, or one worker process per device (workers.run_workers)
              -> study figures -> the delivered model, chosen from the kept runs (selection)

Each worker runs trials (see trial) until the study has `Study.n_trials` finished ones, printing a
line per trial; failed trials are made up for until `Study.max_failures` fail in a row. A
misconfigured sweep never gets here (see spec and validate).
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
from .kept import keep_best
from .liveness import (
    exit_code,
    hold_signals_while_asking,
    reclaim_stale,
    release_signals,
    stop_on_signals,
)
from .pruning import make_pruner, report_steps
from .record import Record, store_study_attr
from .resume import check as check_resume
from .review import artifact_store, publish_study_figures, publish_study_note
from .samplers import make_sampler
from .selection import choose
from .spec import Study
from .storage import (
    StorageUnavailable,
    count_trials,
    make_storage,
    open_study,
    opening_modules,
    probe,
    redact,
    unavailable_in,
)
from .trial import TrialObjective
from .validate import SpecError
from .windows import Windows
from .workers import OutageLines, WorkerError, WorkerStopped, run_workers


class TooManyFailures(Exception):
    """A worker saw max_failures trials fail in a row: something is wrong with every trial."""


def run_sweep(spec: Study, windows: Windows, device: torch.device, storage_url: str,
              out: Callable[[str], None] = print, progress: bool | None = None,
              artifacts: str | None = None, jobs: int = 1, threads: int = 1,
              devices: list[str] | None = None) -> optuna.Study:
    """Create or resume the study and run trials until it has spec.n_trials finished ones:
    in this process, or in `jobs` worker processes (one per entry of `devices`).

    With `artifacts` (a folder), every finished trial gets a learning-curve PNG and a note
    (unless spec.trial_figures is off), and the study its figures at the end (unless
    spec.study_figures is off; see review). Raises KeyboardInterrupt (or
    workers.Terminated) after a signal, TooManyFailures after max_failures failures in a row
    and storage.StorageUnavailable after a long outage; finished trials are kept in every case."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # sweeper prints its own trial lines
    pruner = make_pruner(spec.pruner, report_steps(spec.space.max_epochs(), spec.max_reports),
                         spec.space.max_epochs())
    # The task's baseline on validation, under each loss the task can be scored with.
    baseline = {loss: windows.baseline(loss) for loss in windows.task.loss_names}
    lines = OutageLines(out)  # the main process and its workers say an outage once
    units = {loss: windows.task.loss_label(loss) for loss in ("mse", "mae")}
    study, resumed = open_study(spec.name, storage_url, pruner, spec.to_dict(), baseline,
                                lambda line: lines(None, line), sorted(spec.space.searched()),
                                units)
    check_resume(study, spec, windows, resumed, out)  # other data: stop before any trial
    if spec.repair != "off" and not spec.space.searched():
        out(f"repair is {spec.repair!r}, but the space fixes every setting: no move can change "
            "one, so no trial gets a child")
    store = artifact_store(artifacts) if artifacts else None
    if store is not None and not resumed:
        publish_study_note(study, spec.to_dict(), baseline, windows.task.baseline_name)
    reclaim_stale(study, out)
    done, _ = count_trials(study)
    remaining = spec.n_trials - done
    if resumed:
        out(f"resuming study {spec.name!r}: {done} finished trials, {max(0, remaining)} to go")
    if remaining <= 0:
        deliver(study, windows, artifacts, out)
        return study
    try:
        if jobs <= 1:
            work(spec, windows, device, storage_url, out, progress, artifacts, study=study)
        else:
            reports = run_workers(
                worker_main, {"spec": spec, "windows": windows, "url": storage_url,
                              "artifacts": artifacts, "threads": threads,
                              "devices": devices or [str(device)] * jobs}, out,
                on_death=lambda: reclaim_stale(study, out), lines=lines,
                preload=opening_modules(storage_url))
            _settle(study, spec.n_trials, reports, out)
    finally:  # also after Ctrl-C: the figures show what finished
        if store is not None and spec.study_figures and probe(study):
            with contextlib.suppress(Exception):
                publish_study_figures(study, store)
    deliver(study, windows, artifacts, out)
    return study


def deliver(study: optuna.Study, windows: Windows, artifacts: str | None,
            out: Callable[[str], None]) -> None:
    """Choose the delivered model from the kept runs (see selection); a failure to choose
    leaves the best trial's own model, and says why."""
    try:
        choose(study, windows, artifacts)
    except (SpecError, OSError, ValueError) as exc:
        with contextlib.suppress(Exception):  # an earlier choice must not stand in for it
            store_study_attr(study, keys.STUDY_DELIVERY, None)
        out(f"the delivered model is the best trial's own: choosing among the kept runs "
            f"failed ({exc})")


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
    study.sampler = make_sampler(spec.sampler, seed)
    hold_signals_while_asking(study)
    show_epochs = sys.stderr.isatty() if progress is None else progress
    store = artifact_store(artifacts) if artifacts else None
    live = Progress(spec.n_trials, count_trials(study)[0])
    objective = TrialObjective(spec, windows, device,
                               on_epoch=live if show_epochs else None, store=store)
    after = AfterTrial(out, spec.n_trials, spec.max_failures, show_epochs, store,
                       spec.keep_models, windows.task.loss_label, live)
    while True:
        release_signals()
        finished, running = count_trials(study)
        if finished >= spec.n_trials:
            return
        if finished + running >= spec.n_trials:  # other workers are running the last trials;
            time.sleep(1.0)  # start more only if one of those fails or its worker is gone
            reclaim_stale(study, out)
            continue
        try:
            study.optimize(objective, catch=(Exception,), callbacks=[after])
        except ValueError as exc:
            if unavailable_in(exc) is not None:
                raise unavailable_in(exc) from None
            if not str(exc).startswith("Cannot tell a"):
                raise
            # While this worker could not reach the storage, another one took its silent
            # trial for abandoned, failed it and queued its configuration again.
            out("a trial this worker was finishing had been failed by another worker while the "
                "storage was unreachable; its configuration runs again as a queued trial")
        except Exception as exc:  # Optuna's bookkeeping may mask the outage with its own error
            if unavailable_in(exc) is None:
                raise
            raise unavailable_in(exc) from None
        if after.failures >= spec.max_failures:
            raise TooManyFailures(after.failure_message())


class Progress:
    """The live line on a terminal: the running trial's epoch, the time since this worker
    started, and an estimate of what is left from its finished trials' pace."""

    def __init__(self, n_trials: int, finished: int) -> None:
        self.n_trials, self.first = n_trials, finished
        self.start = time.monotonic()
        self.finished = finished

    def __call__(self, number: int, epoch: int, n_epochs: int) -> None:
        if epoch != n_epochs and epoch % 10:
            return
        elapsed = time.monotonic() - self.start
        done = self.finished - self.first
        left = (f", about {duration(elapsed / done * (self.n_trials - self.finished))} left"
                if done else "")
        sys.stderr.write(f"\r  trial {number}: epoch {epoch}/{n_epochs}; {duration(elapsed)} "
                         f"so far{left}    ")
        sys.stderr.flush()


def duration(seconds: float) -> str:
    """Seconds as a person reads them: 42 s, 3 min 5 s, 2 h 10 min."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class AfterTrial:
    """After each trial: print one line (params, label, score parts, time), stop the worker
    once the study has its finished trials or max_failures trials in a row failed, reclaim
    trials that a stopped worker left running, and cut the model files of trials that are no
    longer among the best."""

    def __init__(self, out: Callable[[str], None], n_trials: int, max_failures: int,
                 clear_line: bool, store: FileSystemArtifactStore | None = None,
                 keep_models: int = 5, unit: Callable[[str], str] = str,
                 live: Progress | None = None) -> None:
        self.out, self.n_trials, self.clear_line = out, n_trials, clear_line
        self.unit = unit  # a configuration's loss name -> the loss with its unit
        self.live = live  # the live line, told how many trials have finished
        self.max_failures = max_failures
        self.store, self.keep_models = store, keep_models
        self.failures = 0  # in a row
        self.reasons: list[str] = []

    def failure_message(self) -> str:
        return (f"{self.failures} trials in a row failed, so every trial probably will (last "
                f"reason: {self.reasons[-1]}); the sweep stopped, finished trials are kept, and "
                "re-running the same command resumes it (raise Study.max_failures or "
                "--max-failures to allow more).")

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        release_signals()  # the trial's end is stored: a signal held meanwhile stops here
        if self.clear_line:
            sys.stderr.write("\r" + " " * 40 + "\r")
        if trial.state == optuna.trial.TrialState.FAIL:
            self.failures += 1
            self.reasons.append(Record.of(trial).get(keys.FAIL_REASON, "unknown error"))
        else:
            self.failures = 0
        reclaim_stale(study, self.out, heartbeats=False)  # optimize checks those itself
        if self.store is not None and trial.state == optuna.trial.TrialState.COMPLETE:
            try:
                keep_best(study, self.store, self.keep_models)
            except OSError as exc:  # the folder is gone: the sweep goes on (a full disk
                # raises DiskFull, which stops it)
                self.out(f"warning: could not cut the model files of trials no longer among "
                         f"the best: {exc}")
        finished, running = count_trials(study)
        if self.live is not None:
            self.live.finished = finished
        self._print(trial, finished)
        if self.failures >= self.max_failures or finished + running >= self.n_trials:
            study.stop()

    def _print(self, trial: optuna.trial.FrozenTrial, done: int) -> None:
        rec = Record.of(trial)
        params = " ".join(f"{k}={_short(v)}" for k, v in rec.params.items())
        if rec.state == "complete":
            what = (f"{rec.label or '?':8s} score {rec.value:.4g} = val "
                    f"{rec.number_of(keys.VAL_LOSS):.4g} + penalty "
                    f"{rec.number_of(keys.PENALTY):.4g} "
                    f"({self.unit(rec.config.get('loss', 'mse'))})"
                    + "".join(f", {k.replace('_', '-')} {v:.3f}"
                              for k, v in rec.delivered_scores.items()))
        elif rec.state == "pruned":
            what = f"pruned   {rec.get(keys.PRUNE_REASON, '')}"
        else:
            what = f"failed   {rec.get(keys.FAIL_REASON, 'unknown error')}"
        if rec.retry_of is not None:
            what += f" (runs trial #{rec.retry_of}'s configuration again)"
        if rec.lineage:
            what += f"; {rec.lineage}"
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        self.out(f"[{done}/{self.n_trials}] #{trial.number:<3d} {what}  "
                 f"({params + '; ' if params else ''}{seconds:.1f}s)")


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _settle(study: optuna.Study, n_trials: int, reports: list[dict[str, Any]],
            out: Callable[[str], None]) -> None:
    """After the workers: a complete study is a finished sweep, whatever a worker met on the
    way (said in one line); otherwise the first worker's reason for stopping is raised."""
    problems = [r for r in reports if r["status"] != "done"]
    if not problems:
        return
    finished = count_trials(study)[0] if probe(study) else -1  # down: their reasons stand
    if finished >= n_trials:
        out(f"the study has its {n_trials} finished trials; on the way "
            + "; ".join(f"worker {r['worker']} stopped: {r.get('message', r['status'])}"
                        for r in problems))
        return
    first = problems[0]
    if first["status"] in ("TooManyFailures", "StorageUnavailable", "DiskFull"):
        raise WorkerStopped(first["message"] if first["status"] != "TooManyFailures"
                            else f"worker {first['worker']}: {first['message']}")
    if first["status"] == "lost":
        raise WorkerError(f"worker {first['worker']} kept ending without finishing "
                          f"({first['message']}); finished trials are kept")
    raise WorkerError(f"worker {first['worker']} stopped on {first['message']}; finished "
                      "trials are kept")


def worker_main(index: int, payload: dict[str, Any], out: Callable[[str], None]
                ) -> dict[str, Any]:
    """One worker process: run trials until the study has its count; report how it ended."""
    torch.set_num_threads(payload["threads"])
    try:
        with stop_on_signals():
            work(payload["spec"], payload["windows"], torch.device(payload["devices"][index]),
                 payload["url"], out, artifacts=payload["artifacts"], worker=index)
    except KeyboardInterrupt as exc:
        return {"worker": index, "status": "stopped", "code": exit_code(exc)}
    except (TooManyFailures, StorageUnavailable) as exc:
        return {"worker": index, "status": type(exc).__name__, "message": str(exc)}
    except Exception as exc:  # reported by the main process, which keeps every finished trial
        return {"worker": index, "status": "error",
                "message": redact(f"{type(exc).__name__}: {exc}")}
    return {"worker": index, "status": "done"}
