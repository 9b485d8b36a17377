"""Journal files: checking one before a sweep opens it, and repairing what a killed worker left.

Optuna's journal file storage tolerates several writer processes on one filesystem, but a
worker killed while writing leaves a partial last line, which breaks the study at the next
write, and one killed while holding the lock blocks every writer until Optuna breaks the lock
after 30 s. `check_journal` refuses the first and says the second; `repair_journal` (the
`repair` command) fixes both while no worker is running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .validate import SpecError


def check_journal(path: Path, warn: Callable[[str], None]) -> None:
    """Refuse a journal whose last record is cut off, and say when its lock looks abandoned.

    A worker killed while writing leaves a partial last line, which breaks the study at the next
    write; one killed while holding the lock blocks every writer until Optuna breaks the lock
    after 30 s."""
    lock = Path(f"{path}.lock")
    age = _lock_age(lock)
    if age is not None and age < 1:  # a live writer holds it for milliseconds
        time.sleep(1.0)
        age = _lock_age(lock)
    if age is not None:
        warn(f"waiting for the journal lock {lock}, held for {age:.0f} s: if no sweeper is "
             "writing to this journal, a killed worker left it, and writers wait until it is "
             "30 s old ('python -m sweeper repair STUDY.py' removes it at once).")
    torn = torn_tail(path)
    if torn:  # perhaps a live writer mid-line: it finishes in milliseconds
        time.sleep(1.0)
        torn = torn_tail(path)
    if torn:
        raise SpecError(
            f"the journal {path} ends in a partial record ({torn} bytes), left by a worker "
            "killed while writing; run 'python -m sweeper repair STUDY.py' to cut it off (it is "
            "saved beside the journal), then run the sweep again.")


def _lock_age(lock: Path) -> float | None:
    """Seconds since the lock was taken, or None when there is none."""
    try:
        return time.time() - lock.lstat().st_mtime
    except FileNotFoundError:  # no lock, or its holder just released it
        return None


def torn_tail(path: Path) -> int:
    """Bytes after the journal's last complete line (0 when it ends cleanly)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb") as f:
        back = min(size, 1 << 20)
        f.seek(size - back)
        tail = f.read()
    if tail.endswith(b"\n"):
        return 0
    cut = tail.rfind(b"\n")
    return len(tail) - cut - 1 if cut >= 0 else len(tail)


def repair_journal(path: Path) -> list[str]:
    """Cut a journal's torn tail (kept in PATH.torn) and remove a lock left by a killed worker;
    returns what was done. Only for when no worker is writing to this journal."""
    done = []
    torn = torn_tail(path)
    if torn:
        size = path.stat().st_size
        with open(path, "rb+") as f:
            f.seek(size - torn)
            Path(f"{path}.torn").write_bytes(f.read())
            f.truncate(size - torn)
        done.append(f"cut a partial last record of {torn} bytes from {path} (saved in "
                    f"{path}.torn)")
    lock = Path(f"{path}.lock")
    if lock.is_symlink() or lock.exists():
        lock.unlink()
        done.append(f"removed the journal lock {lock}")
    return done
