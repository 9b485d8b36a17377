"""The process pool: several worker processes on one study, kept at their number.

    python -m sweeper study.py --jobs 4                    four processes on this machine
    python -m sweeper study.py --storage postgresql://...  the same command on every host

`run_workers` starts one process per device and runs the sweep's worker function in each; with
several GPUs, worker i gets GPU i. On Linux, workers on the CPU are forked from a server that has
imported torch, the worker function's module and the storage's database layer once, so a new
worker starts in a fraction of a second instead of importing them again; workers on CUDA are
started fresh ("spawn"), because a process forked from one that touched the CUDA driver cannot
use it.

Workers print through the main process, which prefixes their lines and says a storage outage
once for all of them. A worker that ends without reporting (killed, out of memory) is replaced
by a new one on the same device, and `on_death` lets the sweep reclaim the trial it left
running; the others go on.

The first SIGINT or SIGTERM is passed on to the workers, and the main process raises
KeyboardInterrupt or Terminated (exit 130 or 143) once they have stopped. A main process that is
gone (kill -9) passes nothing on: each worker notices its end at once and stops as on SIGTERM,
its running trial failed with "terminated: the main process (pid N) is gone" and queued again.
What a worker does and how abandoned trials are reclaimed are in `sweep` and `liveness`; this
module imports neither, beside liveness's signal exception and `terminate`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import queue as queues
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .liveness import EXIT_SIGTERM, Terminated, terminate

# Replacement workers started per worker, at most, before the pool stops replacing: a worker
# that dies again and again (killed by the OOM killer at start, say) would otherwise loop.
RESTARTS_PER_WORKER = 3


class WorkerError(Exception):
    """A worker process stopped on an unexpected error (its trials so far are stored)."""


class WorkerStopped(Exception):
    """A worker gave up: too many failures in a row, or a storage outage outlasted its retries."""


def _watch_main(channel: Any) -> None:
    """A worker's thread: once the main process is gone, stop this worker as its SIGTERM
    would have. multiprocessing's parent of a worker is the main process even for one forked
    from the server (whose child it is): the main holds a pipe to each worker open until it
    ends, and that pipe is the sentinel waited on, so neither a reused pid nor a main process
    that is a zombie yet can hide its end."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing: no main process to watch
        return
    multiprocessing.connection.wait([parent.sentinel])
    # Nobody reads the channel any more: lines and the report put on it must not keep this
    # process from exiting once its pipe is full.
    channel.cancel_join_thread()
    terminate(f"the main process (pid {parent.pid}) is gone")


def _run(target: Callable[..., dict[str, Any]], index: int, payload: dict[str, Any],
         channel: Any, environ: dict[str, str]) -> None:
    """A worker process: target(index, payload, out) with its lines and result sent to the
    main process, whose end stops it (`_watch_main`). `environ` is the main process's
    environment now: a forked worker would otherwise have the fork server's, from when it
    started."""
    os.environ.clear()
    os.environ.update(environ)
    # Left running after target returns: a worker whose main process ends while it reports
    # is ended by the SIGTERM, whose default action it has again by then.
    threading.Thread(target=_watch_main, args=(channel,), name="watch-main",
                     daemon=True).start()

    def out(line: str) -> None:
        channel.put(("line", index, line))

    result = target(index, payload, out)
    channel.put(("result", index, result))


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class OutageLines:
    """Lines to `out`, a worker's prefixed with its number, with one line for a storage outage
    however many workers (and the main process, index None) report it: the first
    'unreachable' and the first 'reachable again'. Once one process has reached the storage
    again, an 'unreachable' is a new outage, though another process may not have made a call
    since the last one (its late 'reachable again' is then not said)."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out
        self.down: set[int] = set()
        self.said_up = False

    def __call__(self, index: int | None, line: str) -> None:
        if line.startswith("storage ") and " unreachable (" in line:
            if not self.down or self.said_up:
                self.down, self.said_up = set(), False
                self.out(f"{line} (every worker retries the same)")
            self.down.add(index)
            return
        if line.startswith("storage ") and " reachable again" in line:
            if index in self.down:
                self.down.discard(index)
                if not self.said_up:
                    self.out(line)
                    self.said_up = True
            return
        self.out(line if index is None else f"[worker {index}] {line}")


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


def _context(target: Callable[..., Any], devices: list[str], preload: Sequence[str]) -> Any:
    """The start method for workers on `devices`: fork from a preloaded server on the CPU on
    Linux; spawn where any worker is on a GPU, and on macOS and Windows (where Python itself
    does not fork by default, as system libraries may not survive it)."""
    if any(not d.startswith("cpu") for d in devices) or not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # Only read when the server starts (once per main process); a module that fails to import
    # is skipped there. torch._dynamo is what torch's optimizers import on first use:
    # importing it in each worker took as long as torch.
    ctx.set_forkserver_preload(["torch._dynamo", *preload, target.__module__])
    return ctx


class _Pool:
    """The worker processes of one `run_workers` call, one per device in payload["devices"]:
    the channel they report on, the results so far, each worker's restarts, and the signals
    the main process received (a first is passed on to the workers, a second abandons them)."""

    def __init__(self, target: Callable[..., dict[str, Any]], payload: dict[str, Any],
                 out: Callable[[str], None], on_death: Callable[[], None] | None,
                 print_line: OutageLines, preload: Sequence[str]) -> None:
        self.target, self.payload, self.out, self.on_death = target, payload, out, on_death
        self.ctx = _context(target, [str(d) for d in payload["devices"]], preload)
        self.channel = self.ctx.Queue()
        self.print_line = print_line
        self.received: list[int] = []
        self.procs: dict[int, Any] = {}
        self.results: dict[int, dict[str, Any]] = {}
        self.restarts = dict.fromkeys(range(len(payload["devices"])), 0)

    def start(self, index: int) -> None:
        args = (self.target, index, self.payload, self.channel, dict(os.environ))
        proc = self.ctx.Process(target=_run, args=args, name=f"sweeper-worker-{index}")
        proc.start()
        self.procs[index] = proc

    def on_signal(self, signum: int, frame: Any) -> None:
        """The SIGINT and SIGTERM handler: the first is passed on to the workers (SIGTERM as
        SIGTERM, SIGINT as SIGINT); a second raises KeyboardInterrupt here."""
        if self.received:
            raise KeyboardInterrupt()
        self.received.append(signum)
        self.out(f"stopping: signal {signal.Signals(signum).name} passed to the workers; each "
                 "fails its running trial and stops")
        for proc in self.procs.values():
            with contextlib.suppress(OSError, ValueError):
                os.kill(proc.pid, signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    def wait(self) -> None:
        """Until a worker ends or half a second passes, then what the workers sent meanwhile."""
        multiprocessing.connection.wait([p.sentinel for p in self.procs.values()], timeout=0.5)
        self.drain(0.05)

    def drain(self, block: float) -> None:
        """Print the lines and keep the results on the channel: waits up to `block` seconds
        for the first message, then takes only those already there."""
        deadline = time.monotonic() + block
        while True:
            try:
                kind, index, value = self.channel.get(
                    timeout=max(0.0, deadline - time.monotonic()))
            except queues.Empty:
                return
            if kind == "line":
                self.print_line(index, value)
            else:
                self.results[index] = value
            deadline = time.monotonic()

    def reap(self) -> None:
        """Forget the workers that have ended; replace those that ended without a result."""
        for index, proc in list(self.procs.items()):
            if proc.is_alive():
                continue
            proc.join()
            self.drain(0.2)  # its last lines and result may still be in the queue
            del self.procs[index]
            if index not in self.results:
                self.replace_or_give_up(index, proc)

    def replace_or_give_up(self, index: int, proc: Any) -> None:
        """Worker `index` died without a result: start a new one, unless a signal was received
        or it has been replaced RESTARTS_PER_WORKER times already (its report is then "lost")."""
        why = _death(proc.exitcode)
        if self.received or self.restarts[index] >= RESTARTS_PER_WORKER:
            self.results[index] = {"worker": index, "status": "lost", "message": why}
            if not self.received:
                self.out(f"worker {index} (pid {proc.pid}) ended without finishing ({why}) "
                         f"for the {RESTARTS_PER_WORKER + 1}th time; it is not replaced "
                         "again, and the other workers go on")
            return
        self.restarts[index] += 1
        self.out(f"worker {index} (pid {proc.pid}) ended without finishing ({why}); its "
                 "running trial is failed and queued again, and a new worker takes its "
                 "place")
        if self.on_death is not None:
            with contextlib.suppress(Exception):  # the new worker reclaims it too
                self.on_death()
        self.start(index)

    def kill_leftovers(self) -> None:
        """Kill the workers still running: only after a second signal, which abandons them."""
        for proc in self.procs.values():
            with contextlib.suppress(Exception):
                proc.kill()

    def reports(self) -> list[dict[str, Any]]:
        """The workers' reports by index; raises KeyboardInterrupt or Terminated for a worker
        stopped by a signal sent to it alone."""
        reports = [self.results[i] for i in sorted(self.results)]
        for r in reports:
            if r["status"] == "stopped":  # a signal sent to one worker only
                raise Terminated() if r.get("code") == EXIT_SIGTERM else KeyboardInterrupt()
        return reports


def run_workers(target: Callable[..., dict[str, Any]], payload: dict[str, Any],
                out: Callable[[str], None],
                on_death: Callable[[], None] | None = None,
                lines: OutageLines | None = None,
                preload: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Run target(i, payload, out) in one process per device in payload["devices"] and wait
    for all of them; returns each worker's report {"worker", "status", ...}: "done",
    "stopped" (a signal), "TooManyFailures" or "StorageUnavailable" (with a message), "error",
    or "lost" for a worker that died and could not be replaced.

    Workers forked from a server start with `preload` (module names) imported: what each
    would import anyway. The first SIGINT or SIGTERM is passed on to the workers, which fail
    their running trial and stop; this then raises KeyboardInterrupt or Terminated. A second
    signal abandons them."""
    pool = _Pool(target, payload, out, on_death, lines or OutageLines(out), preload)
    previous = {s: signal.signal(s, pool.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in range(len(payload["devices"])):
            pool.start(index)
        while pool.procs:
            pool.wait()
            pool.reap()
        pool.drain(0.1)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        pool.kill_leftovers()
    if pool.received:
        raise Terminated() if pool.received[0] == signal.SIGTERM else KeyboardInterrupt()
    return pool.reports()
