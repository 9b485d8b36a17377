"""Workers: several processes on one study, and what happens when one of them stops.

    python -m sweeper study.py --jobs 4                    four processes on this machine
    python -m sweeper study.py --storage postgresql://...  the same command on every host

Every worker runs trials until the study has n_trials finished ones (complete or pruned), so
failed trials are made up for and the study reaches its count. Each trial is stamped with the
worker's host and process id. Database storages record Optuna heartbeats; on a journal file a
thread writes a heartbeat attribute. A trial left RUNNING by a worker that is gone (a process on
this host that no longer exists, or a heartbeat silent for GRACE_S seconds) is failed with that
reason when the study is opened, or after any worker's next trial, and its configuration is
queued to run again.

Signals: the first Ctrl-C (SIGINT) or SIGTERM fails the running trial with that reason and stops
the worker; further ones are ignored while it stores that. With --jobs, the main process passes
the signal on to its workers and exits 130 (SIGINT) or 143 (SIGTERM) once they have stopped.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import optuna
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.trial import TrialState

from . import keys
from .storage import GRACE_S, HEARTBEAT_S, StorageUnavailable, redact, requeue, worker_name

HOST = socket.gethostname()
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that Optuna fails the running trial the same way."""


class TooManyFailures(Exception):
    """A worker saw max_failures trials fail in a row: something is wrong with every trial."""


class WorkerError(Exception):
    """A worker process stopped on an unexpected error (its trials so far are stored)."""


def exit_code(exc: BaseException) -> int:
    return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT


def interrupt_reason(exc: BaseException) -> str:
    return ("terminated (SIGTERM) while running" if isinstance(exc, Terminated)
            else "interrupted (Ctrl-C / SIGINT) while running")


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """The first SIGINT or SIGTERM raises KeyboardInterrupt or Terminated; later ones are
    ignored, so that the interrupted trial's failure is stored in full."""
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            return
        received.append(signum)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def stamp() -> dict[str, Any]:
    """Who runs a trial: enough to tell later whether that process still exists."""
    return {"host": HOST, "pid": os.getpid()}


@contextlib.contextmanager
def heartbeat(trial: optuna.Trial) -> Iterator[None]:
    """Write a heartbeat attribute every HEARTBEAT_S seconds while the trial runs, where the
    storage has no heartbeat of its own (journal files); database storages use Optuna's."""
    storage = trial.study._storage
    if is_heartbeat_enabled(storage) or isinstance(storage, optuna.storages.InMemoryStorage):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            with contextlib.suppress(Exception):  # a missed beat only makes the trial look older
                storage.set_trial_user_attr(trial._trial_id, keys.HEARTBEAT, time.time())

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial.number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def process_gone(pid: int, since: datetime.datetime | None) -> bool:
    """Whether process `pid` on this host has ended (zombies count as ended), or the pid now
    belongs to a process that started after `since`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            return True
        if since is not None:
            with open("/proc/stat") as f:
                boot = next(float(line.split()[1]) for line in f if line.startswith("btime"))
            started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
            return started > since.timestamp() + 2
    except (OSError, StopIteration, IndexError, ValueError):
        pass  # no /proc: the pid exists, so take it as alive
    return False


def stale_reason(trial: optuna.trial.FrozenTrial, storage: Any, now: float) -> str | None:
    """Why a RUNNING trial is taken as abandoned, or None while its worker may be running it."""
    worker = trial.user_attrs.get(keys.WORKER) or {}
    who = worker_name(trial)
    if worker.get("host") == HOST:
        pid = int(worker["pid"])
        if pid == os.getpid():  # asked between this process's trials: it has none running
            return f"its worker {who} (this process) lost it after a storage error"
        if process_gone(pid, trial.datetime_start):
            return f"its worker {who} ended without finishing it (killed or crashed)"
        return None
    if is_heartbeat_enabled(storage):  # Optuna fails those itself, from its heartbeat table
        return None
    last = trial.user_attrs.get(keys.HEARTBEAT)  # before its first beat: when it started
    if last is None and trial.datetime_start is not None:
        last = trial.datetime_start.timestamp()
    if last is not None and now - last > GRACE_S:
        return f"no heartbeat from its worker {who} for {now - last:.0f} s"
    return None


def reclaim_stale(study: optuna.Study, out: Callable[[str], None], heartbeats: bool = True
                  ) -> int:
    """Fail every RUNNING trial whose worker is gone, with the reason, and queue its
    configuration again; returns how many were reclaimed. With `heartbeats`, also run Optuna's
    heartbeat check (database storages), which Study.optimize itself runs before each trial."""
    storage = study._storage
    if heartbeats and is_heartbeat_enabled(storage):  # Optuna's check re-queues as well
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    now, reclaimed = time.time(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        why = stale_reason(t, storage, now)
        if why is None:
            continue
        try:
            storage.set_trial_user_attr(t._trial_id, keys.FAIL_REASON, f"stale: {why}")
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker reclaimed it first
        queued = requeue(study, t)
        out(f"trial #{t.number} was left running: {why}; marked failed"
            + (", and its configuration is queued again" if queued else ""))
        reclaimed += 1
    return reclaimed


def _gpus(device: Any) -> int:
    """Visible GPUs to spread workers over: those CUDA_VISIBLE_DEVICES leaves, when the sweep is
    on plain "cuda" (a "cuda:N" the user named is kept for every worker); else 0."""
    import torch

    if device.type == "cuda" and device.index is None:
        return torch.cuda.device_count()
    return 0


def devices_for(device: Any, jobs: int) -> list[str]:
    """One device per worker: with several GPUs, worker i uses GPU i modulo their number."""
    n = _gpus(device)
    return [f"cuda:{i % n}" for i in range(jobs)] if n > 1 else [str(device)] * jobs


def default_jobs(device: Any) -> int:
    """Without --jobs: one worker per visible GPU when the sweep is on CUDA, else one."""
    return max(1, _gpus(device))


def worker_main(index: int, payload: dict[str, Any]) -> dict[str, Any]:
    """One worker process: run trials until the study has its count; report how it ended."""
    import torch

    from .sweep import work

    torch.set_num_threads(payload["threads"])
    prefix = f"[worker {index}] "

    def out(line: str) -> None:
        print(prefix + line, flush=True)

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


def run_workers(payload: dict[str, Any], out: Callable[[str], None]) -> None:
    """Start one process per device in payload["devices"] (joblib) and wait for all of them.

    The first SIGINT or SIGTERM is passed on to the workers, which fail their running trial and
    stop; this then raises KeyboardInterrupt or Terminated. A second signal abandons them."""
    import multiprocessing

    from joblib import Parallel, delayed

    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt()
        received.append(signum)
        out(f"stopping: signal {signal.Signals(signum).name} passed to the workers; each "
            "fails its running trial and stops")
        for child in multiprocessing.active_children():
            with contextlib.suppress(OSError):
                os.kill(child.pid, signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        results = Parallel(n_jobs=len(payload["devices"]), backend="loky")(
            delayed(worker_main)(i, payload) for i in range(len(payload["devices"])))
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if received:
        raise Terminated() if received[0] == signal.SIGTERM else KeyboardInterrupt()
    for r in results:
        if r["status"] == "stopped":  # a signal sent to one worker only
            raise Terminated() if r["code"] == EXIT_SIGTERM else KeyboardInterrupt()
    for r in results:
        if r["status"] == "TooManyFailures":
            raise TooManyFailures(f"worker {r['worker']}: {r['message']}")
        if r["status"] == "StorageUnavailable":
            raise StorageUnavailable(r["message"])
        if r["status"] == "error":
            raise WorkerError(f"worker {r['worker']} stopped on {r['message']}; finished "
                              "trials are kept")
