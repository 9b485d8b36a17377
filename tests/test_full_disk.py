"""A full disk stops the sweep at once with one sentence and exit code 1, leaves no partial model
file, and a re-run once there is room resumes with nothing lost.

The disks are real where this machine lets the test mount one (root with CAP_SYS_ADMIN: a 2 MB
tmpfs, else a loop-mounted 2 MB ext4 image); elsewhere those tests skip, and the ones with a
faked write (ENOSPC raised while the model file is copied in) and faked storage errors still
run.
"""

import contextlib
import errno
import io
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
from conftest import TINY, tiny_with_figures

from sweeper import keys
from sweeper import storage as stores
from sweeper.__main__ import main
from sweeper.kept import trial_model
from sweeper.storage import DiskFull, RetryingStorage, make_storage, retrying, transient

COMPLETE = optuna.trial.TrialState.COMPLETE
RUNNING = optuna.trial.TrialState.RUNNING
# The first words of the stop sentences: storage.storage_full and storage.folder_full.
STORAGE_FULL = "so the storage {url} cannot be written; free space there (or move"
ARTIFACTS_FULL = ("the disk holding the artifact folder {folder} is full (No space left on "
                  "device); free space there or point --artifacts at a folder with room, then "
                  "re-run the same command: finished trials are kept and the study resumes.")


@pytest.fixture(autouse=True)
def no_outage_left(monkeypatch):
    """Each test starts outside an outage, with no stop pending (the sweeps run in-process)."""
    monkeypatch.setitem(stores._OUTAGE, "since", None)
    monkeypatch.setitem(stores._OUTAGE, "said", False)
    monkeypatch.setitem(stores._RECOVERED, "at", -math.inf)
    monkeypatch.setattr(stores, "_STOP_AFTER", {})


def _mount(point: Path, image: Path) -> bool:
    """A 2 MB file system at `point`: tmpfs, else an ext4 image on a loop device."""
    point.mkdir(parents=True)
    tries = [["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(point)]]
    if shutil.which("mkfs.ext4"):
        tries.append(["sh", "-c", f"dd if=/dev/zero of={image} bs=1k count=2048 2>/dev/null && "
                                  f"mkfs.ext4 -q -F {image} && mount -o loop {image} {point}"])
    for argv in tries:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if subprocess.run(argv, capture_output=True, timeout=30).returncode == 0:
                return True
    return False


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB file system (see _mount), unmounted after the test; skips where this
    machine lets no test mount one."""
    point = tmp_path / "disk"
    if not _mount(point, tmp_path / "disk.img"):
        pytest.skip("cannot mount a small file system here (needs root with CAP_SYS_ADMIN)")
    yield point
    # Lazily: this process may still hold the study's SQLite file open.
    subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk to the last byte, then give `leave` bytes back; returns the filler file."""
    filler = disk / "filler"
    block = b"\0" * 4096
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):  # ENOSPC: full
        while f.write(block):
            pass
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def load(url: str) -> optuna.Study:
    return optuna.load_study(study_name="tiny_toy", storage=make_storage(url, retry=False))


def assert_models_whole(study: optuna.Study, artifacts: Path) -> None:
    """Every model file a trial points to is there, whole (it loads), with the bytes it had."""
    for t in study.trials:
        model = t.user_attrs.get(keys.MODEL)
        if model is None:
            continue
        assert t.state == COMPLETE, (t.number, t.state)
        path = artifacts / model["artifact_id"]
        assert path.is_file() and path.stat().st_size == model["bytes"], (t.number, model)
        trial_model(study, artifacts, t.number)


def sweep_process(args, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """`python -m sweeper ARGS` in a real process, and its wall time; a 10-minute outage limit,
    so that a full disk taken for an outage would run into the timeout."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SWEEPER_OUTAGE_LIMIT_S": "600"}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sweeper", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=150)
    return done, time.monotonic() - start


# -- what a full disk is ------------------------------------------------------------------------


def _sqlalchemy(message: str) -> sqlalchemy.exc.OperationalError:
    """What SQLAlchemy raises for a sqlite3 error with this message, raised as it raises it."""
    try:
        try:
            raise sqlite3.OperationalError(message)
        except sqlite3.OperationalError as orig:
            raise sqlalchemy.exc.OperationalError("INSERT INTO trials ...", {}, orig) from orig
    except sqlalchemy.exc.OperationalError as exc:
        return exc


def test_a_full_disk_is_not_transient_but_an_outage_still_is():
    assert not transient(_sqlalchemy("database or disk is full"))
    assert not transient(OSError(errno.ENOSPC, "No space left on device"))
    assert not transient(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert transient(_sqlalchemy("database is locked"))
    assert transient(_sqlalchemy("server closed the connection unexpectedly"))
    assert transient(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    assert stores.disk_full(_sqlalchemy("database or disk is full"))
    assert not stores.disk_full(_sqlalchemy("database is locked"))
    # A value being stored that mentions a full disk (a trial's fail reason) is no full disk.
    stored = sqlalchemy.exc.IntegrityError("INSERT ... 'the disk is full'", {}, Exception("x"))
    assert not stores.disk_full(stored)


def test_a_full_storage_raises_at_once_with_one_sentence_and_no_outage_said(tmp_path):
    said, calls = [], []

    def full():
        calls.append(1)
        raise _sqlalchemy("database or disk is full")

    url = f"sqlite:///{tmp_path / 'study.db'}"
    start = time.monotonic()
    with pytest.raises(DiskFull) as raised:
        retrying(full, url, said.append, retry_for=600)
    assert time.monotonic() - start < 1 and len(calls) == 1 and said == []
    assert str(raised.value) == (
        f"the disk holding {tmp_path} is full (database or disk is full), so the storage {url} "
        "cannot be written; free space there (or move study.db to a disk with room and point "
        "--storage at it), then re-run the same command: finished trials are kept and the "
        "study resumes.")
    assert isinstance(raised.value, stores.StorageUnavailable)  # run_main: "stopped:", exit 1
    assert stores._OUTAGE == {"since": None, "said": False}


def test_reachable_again_is_said_only_by_a_call_begun_in_the_outage():
    """A call that was already running when the outage began (on another thread, say) and
    then returns says nothing about the storage now: the outage goes on."""
    said = []

    def down():
        raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("server closed"))

    def in_flight():  # meanwhile, another call fails until its limit
        with pytest.raises(stores.StorageUnavailable):
            retrying(down, "postgresql://x", said.append, retry_for=0.2)
        return 7

    assert retrying(in_flight, "postgresql://x", said.append) == 7
    assert len(said) == 1 and " unreachable (" in said[0]
    assert stores._OUTAGE["since"] is not None
    assert retrying(lambda: 8, "postgresql://x", said.append) == 8  # this one began after it
    assert "reachable again" in said[-1] and stores._OUTAGE["since"] is None


def test_a_full_journal_disk_stops_a_storage_call_and_cuts_its_partial_record(tmp_path,
                                                                              monkeypatch):
    """The journal write that ran out of space left part of its record; it is cut, so the
    study opens again without `repair`."""
    url = str(tmp_path / "journal.log")
    storage = make_storage(url)
    study = optuna.create_study(study_name="s", storage=storage)
    backend = stores.optuna.storages.journal.JournalFileBackend

    def short_write(self, logs):
        with open(url, "ab") as f:
            f.write(b'{"op_code":5,"worker_id":"x","tri')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backend, "append_logs", short_write)
    with pytest.raises(DiskFull, match="is full \\(No space left on device\\), so the storage"):
        study.set_user_attr("k", 1)
    monkeypatch.undo()
    assert Path(url).read_bytes().endswith(b"\n")
    make_storage(url)  # the journal check passes


# -- sweeps on a full disk ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_sweep_whose_storage_disk_is_full_stops_at_once_then_resumes(small_disk, tmp_path,
                                                                       kind, monkeypatch,
                                                                       capsys):
    """The storage's disk fills: the sweep stops at once (not after an outage's retries) with
    the one sentence and exit code 1; with room again, the same command finishes the study."""
    monkeypatch.chdir(tmp_path)
    study_file = tiny_with_figures(tmp_path)  # the default storage, SQLite; figures drawn
    url = (f"sqlite:///{small_disk / 'tiny' / 'study.db'}" if kind == "sqlite"
           else str(small_disk / "tiny" / "journal.log"))
    artifacts = small_disk / "tiny" / "artifacts"
    args = [study_file, "--storage", url, "--artifacts", str(artifacts)]
    assert main([*args, "--n-trials", "1"]) == 0
    capsys.readouterr()
    filler = fill(small_disk)

    done, seconds = sweep_process([*args, "--n-trials", "3"], tmp_path)
    assert done.returncode == 1, done.stderr
    stop = [line for line in done.stderr.splitlines() if "stopped:" in line]
    # The storage and the artifact folder share the full disk: whichever write comes first
    # says so (the storage's, or a model file's or figure's).
    said = (STORAGE_FULL.format(url=url), f"the disk holding the artifact folder {artifacts} "
                                          "is full")
    assert len(stop) == 1 and any(s in stop[0] for s in said), done.stderr
    assert "re-run the same command: finished trials are kept" in stop[0]
    assert "unreachable" not in done.stderr + done.stdout, done.stderr
    assert "reachable again" not in done.stderr + done.stdout
    assert seconds < 60, seconds  # an import and a trial, not the outage limit (600 s here)
    if kind == "journal":
        assert Path(url).read_bytes().endswith(b"\n")  # no partial record: no repair needed
    study = load(url)
    # trial 1 completes only where its figure, written after its record, met the full disk
    assert [t.number for t in study.trials if t.state == COMPLETE] in ([0], [0, 1])
    assert_models_whole(study, artifacts)

    filler.unlink()
    assert main([*args, "--n-trials", "3"]) == 0
    study = load(url)
    assert sum(t.state == COMPLETE for t in study.trials) == 3
    assert not [t for t in study.trials if t.state == RUNNING]
    assert study.trials[0].state == COMPLETE  # the trial from before the full disk is kept
    assert_models_whole(study, artifacts)


def _assert_stopped_on_the_model_file(code: int, err: str, study: optuna.Study,
                                      artifacts: Path, seconds: float) -> None:
    """Exit 1 with the one sentence, at once; the trial failed with it, its configuration
    queued; no file in the artifact folder but whole ones that trials point to."""
    assert code == 1, err
    stop = [line for line in err.splitlines() if "stopped:" in line]
    assert stop == [f"sweeper: stopped: {ARTIFACTS_FULL.format(folder=artifacts)}"], err
    assert seconds < 30, seconds
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1, [t.state for t in study.trials]
    assert failed[0].user_attrs[keys.FAIL_REASON] == (
        f"DiskFull: {ARTIFACTS_FULL.format(folder=artifacts)}")
    assert keys.MODEL not in failed[0].user_attrs
    queued = [t for t in study.trials if t.state == optuna.trial.TrialState.WAITING]
    assert len(queued) == 1 and queued[0].user_attrs[keys.RETRY_OF] == failed[0].number
    assert queued[0].system_attrs["fixed_params"] == failed[0].params
    pointed = {t.user_attrs[keys.MODEL]["artifact_id"] for t in study.trials
               if keys.MODEL in t.user_attrs}
    assert {p.name for p in artifacts.iterdir()} == pointed  # nothing cut off, nothing stray
    assert_models_whole(study, artifacts)


def _resumes(args, url: str, artifacts: Path, failed_params: dict) -> None:
    assert main([*args, "--n-trials", "3"]) == 0
    study = load(url)
    done = [t for t in study.trials if t.state == COMPLETE]
    assert len(done) == 3
    assert any(t.params == failed_params and t.user_attrs.get(keys.RETRY_OF) is not None
               for t in done)  # the configuration whose model file was lost ran again
    assert_models_whole(study, artifacts)


@pytest.mark.slow
def test_a_full_artifact_disk_stops_the_sweep_at_its_model_file_then_resumes(
        small_disk, tmp_path, monkeypatch, capsys):
    """The artifact folder's disk has a page left, less than a model file: the model file is
    cut off there, removed, and the sweep stops; with room again, it finishes the study."""
    monkeypatch.chdir(tmp_path)
    url = str(tmp_path / "journal.log")
    artifacts = small_disk / "artifacts"
    artifacts.mkdir()
    filler = fill(small_disk, leave=4096)
    args = [str(TINY), "--storage", url, "--artifacts", str(artifacts)]
    start = time.monotonic()
    code = main([*args, "--n-trials", "3"])
    seconds = time.monotonic() - start
    study = load(url)
    _assert_stopped_on_the_model_file(code, capsys.readouterr().err, study, artifacts, seconds)

    filler.unlink()
    failed = next(t for t in study.trials if t.state == optuna.trial.TrialState.FAIL)
    _resumes(args, url, artifacts, failed.params)


def test_a_model_file_cut_off_by_a_full_disk_is_removed_and_stops_the_sweep(
        tmp_path, monkeypatch, capsys):
    """The same with the disk faked (runs everywhere): the copy into the artifact folder
    writes part of the file, then fails with ENOSPC."""
    import optuna.artifacts._filesystem as filesystem

    monkeypatch.chdir(tmp_path)
    url = str(tmp_path / "journal.log")
    artifacts = tmp_path / "artifacts"
    copy = filesystem.shutil.copyfileobj

    def full(source, target, *rest):
        target.write(source.read(1000))
        target.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(filesystem.shutil, "copyfileobj", full)
        args = [str(TINY), "--storage", url, "--artifacts", str(artifacts)]
        start = time.monotonic()
        code = main([*args, "--n-trials", "3"])
        seconds = time.monotonic() - start
    assert filesystem.shutil.copyfileobj is copy
    study = load(url)
    _assert_stopped_on_the_model_file(code, capsys.readouterr().err, study, artifacts, seconds)
    failed = next(t for t in study.trials if t.state == optuna.trial.TrialState.FAIL)
    _resumes(args, url, artifacts, failed.params)


def test_a_pending_stop_is_raised_once_its_trial_has_ended_and_not_for_another(tmp_path):
    storage = make_storage(str(tmp_path / "journal.log"))
    study = optuna.create_study(study_name="s", storage=storage)
    other, mine = study.ask(), study.ask()
    stores.stop_after_trial(mine._trial_id, DiskFull("full"))
    assert isinstance(storage, RetryingStorage)
    study.tell(other, 1.0)  # another trial's end: no stop
    with pytest.raises(DiskFull, match="full"):
        study.tell(mine, state=optuna.trial.TrialState.FAIL)
    assert study.trials[1].state == optuna.trial.TrialState.FAIL  # stored before the stop
    assert stores._STOP_AFTER == {}


def test_a_model_file_cut_on_a_full_disk_still_says_it_was_removed(tmp_path, monkeypatch):
    """keep_best replaces a file that fell out of the best with a note; when even that fails
    on a full disk, the file says it was removed, and DiskFull stops the sweep."""
    from sweeper.kept import keep_best
    from sweeper.modelfile import REMOVED
    from sweeper.review import artifact_store

    store = artifact_store(tmp_path)
    study = optuna.create_study()
    for number, value in enumerate([1.0, 2.0]):
        (tmp_path / f"m{number}").write_bytes(b"model" * 1000)
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={keys.MODEL: {
            "artifact_id": f"m{number}", "file": f"trial-{number}-model.pt", "bytes": 5000}}))
    write = store.write

    def full(artifact_id, body):
        content = body.read()
        if len(content) > len(REMOVED):  # the note does not fit; the bare mark does
            write(artifact_id, io.BytesIO(content[:10]))
            raise OSError(errno.ENOSPC, "No space left on device")
        write(artifact_id, io.BytesIO(content))

    monkeypatch.setattr(store, "write", full)
    with pytest.raises(DiskFull, match=f"the disk holding the artifact folder {tmp_path} is"):
        keep_best(study, store, keep=1)
    assert (tmp_path / "m1").read_bytes() == REMOVED
    assert (tmp_path / "m0").read_bytes() == b"model" * 1000
