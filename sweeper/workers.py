"""The process pool: several worker processes on one study, and the signals passed to them.

    python -m sweeper study.py --jobs 4                    four processes on this machine
    python -m sweeper study.py --storage postgresql://...  the same command on every host

`run_workers` starts one process per device and runs the sweep's worker function in each; with
several GPUs, worker i gets GPU i. The first SIGINT or SIGTERM is passed on to the workers, and
the main process exits 130 (SIGINT) or 143 (SIGTERM) once they have stopped. What a worker does
and how abandoned trials are reclaimed are in `sweep` and `liveness`; this module imports
neither.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any

from .liveness import EXIT_SIGTERM, Terminated


class WorkerError(Exception):
    """A worker process stopped on an unexpected error (its trials so far are stored)."""


class WorkerStopped(Exception):
    """A worker gave up: too many failures in a row, or a storage outage outlasted its retries."""


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


def run_workers(target: Callable[[int, dict[str, Any]], dict[str, Any]],
                payload: dict[str, Any], out: Callable[[str], None]) -> None:
    """Run target(i, payload) in one process per device in payload["devices"] (joblib) and wait
    for all of them. Each returns {"worker", "status", ...}: "done", "stopped" (a signal),
    "TooManyFailures" or "StorageUnavailable" (with a message), or "error".

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
            delayed(target)(i, payload) for i in range(len(payload["devices"])))
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
            raise WorkerStopped(f"worker {r['worker']}: {r['message']}")
        if r["status"] == "StorageUnavailable":
            raise WorkerStopped(r["message"])
        if r["status"] == "error":
            raise WorkerError(f"worker {r['worker']} stopped on {r['message']}; finished "
                              "trials are kept")
