"""Liveness: signals, who runs a trial, heartbeats, and reclaiming trials whose worker is gone.

Every trial is stamped with its worker's host and process id. Database storages record Optuna
heartbeats; on a journal file a thread writes a heartbeat attribute. A trial left RUNNING by a
worker that is gone (a process on this host that no longer exists, or a heartbeat silent for
GRACE_S seconds) is failed with that reason when the study is opened, or after any worker's next
trial, and its configuration is queued to run again.

Signals: the first Ctrl-C (SIGINT) or SIGTERM raises KeyboardInterrupt (or `Terminated`) in the
worker, which fails its running trial with that reason and stops; further ones are ignored
while it stores that. A signal that arrives while Optuna creates a trial is held until the
objective has that trial in hand, so that no trial is left RUNNING by a clean stop. A process
can stop itself the same way with a reason of its own (`terminate`): a worker whose main process
is gone (see workers) fails its trial with "terminated: the main process (pid N) is gone".

Used by the trial (stamp, heartbeat), the sweep (reclaiming) and the process pool (signals); it
imports none of them.
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
from optuna.trial import TrialState

from . import keys
from .optuna_private import is_heartbeat_enabled, storage_of, trial_id
from .record import Record, worker_name, write_by_id
from .storage import GRACE_S, HEARTBEAT_S, requeue

HOST = socket.gethostname()
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that Optuna fails the running trial the same way."""


def exit_code(exc: BaseException) -> int:
    return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT


def interrupt_reason(exc: BaseException) -> str:
    if isinstance(exc, Terminated):
        return f"terminated: {exc.args[0]}" if exc.args else "terminated (SIGTERM) while running"
    return "interrupted (Ctrl-C / SIGINT) while running"


# Why this process sent itself SIGTERM (`terminate`); None for a SIGTERM from outside.
_terminating: dict[str, str | None] = {"why": None}


def terminate(why: str) -> None:
    """Stop this process as SIGTERM from outside does (the path that fails the running trial,
    queues its configuration and stops), with `why` as the reason its trial is failed with.
    Safe from any thread: the signal's handler runs in the main thread."""
    _terminating["why"] = why
    os.kill(os.getpid(), signal.SIGTERM)


def _raised(signum: int) -> KeyboardInterrupt:
    if signum != signal.SIGTERM:
        return KeyboardInterrupt()
    why = _terminating["why"]
    return Terminated(why) if why else Terminated()


# While Optuna creates a trial or stores its end, a signal is held here instead of raised:
# raised in the middle of either, it would leave the trial RUNNING with nobody to fail it.
_held: dict[str, Any] = {"holding": False, "signal": None}


def hold_signals() -> None:
    """Hold the first signal from now until `release_signals`."""
    _held["holding"] = True


def hold_signals_while_asking(study: optuna.Study) -> None:
    """Make `study.ask` hold signals; the objective's first step releases them (inside its
    handler, which fails the trial with the reason), or a failing ask does."""
    ask = study.ask

    def held_ask(*args: Any, **kwargs: Any) -> optuna.Trial:
        hold_signals()
        try:
            return ask(*args, **kwargs)
        except BaseException:
            release_signals()
            raise

    study.ask = held_ask  # type: ignore[method-assign]


def release_signals() -> None:
    """Stop holding signals; raise the one held meanwhile, if any."""
    _held["holding"] = False
    signum, _held["signal"] = _held["signal"], None
    if signum is not None:
        raise _raised(signum)


def signal_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM that `exc` was raised while handling, if any. Code cleaning up
    after a signal can fail in turn and hide it: Optuna's journal file lock, signalled right
    after it has released itself, tries to remove its file a second time and raises
    FileNotFoundError."""
    seen: set[int] = set()
    cause = exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__context__
    return None


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """The first SIGINT or SIGTERM raises KeyboardInterrupt or Terminated; later ones are
    ignored, so that the interrupted trial's failure is stored in full. An error that hides
    the signal (`signal_behind`) leaves as the signal."""
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            return
        received.append(signum)
        if _held["holding"]:
            _held["signal"] = signum
            return
        raise _raised(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except Exception as exc:
        stop = signal_behind(exc)
        if stop is None:
            raise
        raise stop from None
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
    storage = storage_of(trial.study)
    if is_heartbeat_enabled(storage) or isinstance(storage, optuna.storages.InMemoryStorage):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            with contextlib.suppress(Exception):  # a missed beat only makes the trial look older
                write_by_id(storage, trial_id(trial), {keys.HEARTBEAT: time.time()})

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
    rec = Record.of(trial)
    worker = rec.worker
    who = worker_name(trial)
    if worker.get("host") == HOST:
        pid = int(worker["pid"])
        if pid == os.getpid():  # asked between this process's trials: it has none running
            return f"its worker {who} (this process) lost it after a storage error"
        if process_gone(pid, trial.datetime_start):
            return f"its worker {who} ended without finishing it (killed or crashed)"
        return None
    # Optuna fails those itself, from its heartbeat table; a trial whose worker stopped (an
    # outage, a kill) before recording itself or a heartbeat is in neither, and is judged here.
    if worker and is_heartbeat_enabled(storage):
        return None
    last = rec.heartbeat  # before its first beat: when it started
    if last is None and trial.datetime_start is not None:
        last = trial.datetime_start.timestamp()
    if last is not None and now - last > GRACE_S:
        return (f"no heartbeat from its worker {who} for {now - last:.0f} s" if worker
                else f"no worker recorded itself on it, and it started {now - last:.0f} s ago")
    return None


def reclaim_stale(study: optuna.Study, out: Callable[[str], None], heartbeats: bool = True
                  ) -> int:
    """Fail every RUNNING trial whose worker is gone, with the reason, and queue its
    configuration again; returns how many were reclaimed. With `heartbeats`, also run Optuna's
    heartbeat check (database storages), which Study.optimize itself runs before each trial."""
    storage = storage_of(study)
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
            write_by_id(storage, trial_id(t), {keys.FAIL_REASON: f"stale: {why}"})
            storage.set_trial_state_values(trial_id(t), TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker reclaimed it first
        queued = requeue(study, t)
        searched = study.user_attrs.get(keys.STUDY_SEARCHED) or []
        partial = (f"; it had drawn {len(t.params)} of its {len(searched)} parameters, not a "
                   "whole configuration, so none is queued" if t.params and not queued else "")
        out(f"trial #{t.number} was left running: {why}; marked failed"
            + (", and its configuration is queued again" if queued else partial))
        reclaimed += 1
    return reclaimed
