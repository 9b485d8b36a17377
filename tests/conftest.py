"""Shared fixtures: a real PostgreSQL server on 127.0.0.1 for the scale-out tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

# The throwaway server lives beside the fault benchmark, which starts one too.
sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from pgserver import Postgres, pg_bin  # noqa: E402

# Tiny models train fastest on one thread, and a second one spins against whatever else the
# machine runs (as the CLI's workers do by default).
torch.set_num_threads(1)


def _missing(what: str) -> None:
    """Skip a test that needs `what`, or fail it where the run says PostgreSQL must be there
    (CI sets SWEEPER_TEST_REQUIRE_POSTGRES=1, so that a broken set-up cannot pass as skips)."""
    if os.environ.get("SWEEPER_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{what}, and SWEEPER_TEST_REQUIRE_POSTGRES=1 says it must be")
    pytest.skip(what)


@pytest.fixture(scope="session")
def postgres():
    if not (pg_bin("initdb") and pg_bin("pg_ctl")):
        _missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("the PostgreSQL driver psycopg (in the dev and postgres extras) is missing")
    # Not under pytest's temporary folder: the server's user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="sweeper-pg-"))
    try:
        server = Postgres(root)
        yield server
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass
    finally:
        shutil.rmtree(root, ignore_errors=True)


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    """Poll until condition() is truthy; fail the test naming `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


TINY = Path(__file__).parent / "fixtures" / "tiny_toy.py"


def tiny_with_figures(folder) -> str:
    """A copy of the tiny study in `folder` as a user's study would run: each trial's figure
    and the study's drawn, on the default storage (runs/tiny_toy/study.db). The original draws
    none and sweeps on a journal file, to save the tests a quarter second a trial and a second
    or two a sweep."""
    text = TINY.read_text()
    for field in ("trial_figures", "study_figures"):
        assert f"{field}=False" in text
        text = text.replace(f"{field}=False", f"{field}=True")
    storage = '    storage="runs/tiny_toy/journal.log",\n'
    assert storage in text
    text = text.replace(storage, "")
    path = Path(folder) / "tiny_toy.py"
    path.write_text(text)
    return str(path)
