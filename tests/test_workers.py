"""Scale-out and crash safety with real worker processes, real signals and real storages."""

import contextlib
import datetime
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import optuna
import pytest
import torch
from bench_faults import worker_pids
from conftest import wait_for

from sweeper import keys
from sweeper import storage as stores
from sweeper.__main__ import main
from sweeper.storage import make_storage

FIXTURES = Path(__file__).parent / "fixtures"
FAST, SLOW = str(FIXTURES / "fast_toy.py"), str(FIXTURES / "slow_toy.py")
RUNNING = optuna.trial.TrialState.RUNNING
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def _argv_env(args, env):
    return ([sys.executable, "-m", "sweeper", *map(str, args)],
            {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def sweeper(*args, cwd, env=None, timeout=240):
    """`python -m sweeper ARGS` in a real process, run to its end."""
    argv, env = _argv_env(args, env)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@contextlib.contextmanager
def background(*args, cwd):
    """`python -m sweeper ARGS` running while the block runs; killed if still running after."""
    argv, env = _argv_env(args, None)
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


_OPENED: dict[str, optuna.storages.BaseStorage] = {}  # storages trials() opened, by URL


def trials(name, url):
    """The study's trials; none while the sweep has not created it yet. A SQLite file is
    looked into read-only first: opening it with Optuna while the sweep creates its tables
    would race the sweep for them."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                if not db.execute("SELECT 1 FROM studies WHERE study_name = ?",
                                  (name,)).fetchone():
                    return []
        except sqlite3.OperationalError:  # no file or no tables yet
            return []
    elif not url.startswith("postgresql") and not Path(url).exists():
        return []
    if url not in _OPENED:  # opened once per test process: opening costs a third of a second
        _OPENED[url] = make_storage(url, retry=False)
    try:
        return optuna.load_study(study_name=name, storage=_OPENED[url]).get_trials(
            deepcopy=False)
    except KeyError:
        return []


def assert_whole(ts, at_least):
    """Every trial finished, none left RUNNING, no trial number twice."""
    states = Counter(t.state for t in ts)
    assert states[RUNNING] == 0, states
    assert sum(states[s] for s in FINISHED) >= at_least, states
    numbers = [t.number for t in ts]
    assert len(numbers) == len(set(numbers)) and sorted(numbers) == list(range(len(numbers)))


@pytest.mark.slow
def test_four_workers_five_trials_each_on_a_journal_file(tmp_path):
    url = str(tmp_path / "journal.log")
    done = sweeper(FAST, "--jobs", 4, "--n-trials", 20, "--storage", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    ts = trials("fast_toy", url)
    assert_whole(ts, 20)
    # A worker starts no trial that the others are already finishing; only workers asking at
    # the same moment can each start one more.
    assert 20 <= len(ts) <= 23
    # They shared the trials; how many of the four got one depends on how fast each started
    # (a trial here takes a few hundredths of a second; the PostgreSQL test checks all four).
    assert len({t.user_attrs[keys.WORKER]["pid"] for t in ts}) >= 2
    assert f"4 workers on {'cuda' if torch.cuda.is_available() else 'cpu'}" in done.stdout


@pytest.mark.slow
def test_four_workers_three_trials_each_on_postgresql(tmp_path, postgres, monkeypatch,
                                                      capsys):
    url = postgres.url()
    done = sweeper(FAST, "--jobs", 4, "--n-trials", 12, "--storage", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    ts = trials("fast_toy", url)
    assert_whole(ts, 12)
    assert len({t.user_attrs[keys.WORKER]["pid"] for t in ts}) == 4
    # The password is in no output, no report and no stored attribute.
    monkeypatch.chdir(tmp_path)  # the report, in the test's process
    assert main(["report", FAST, "--storage", url]) == 0
    report = capsys.readouterr()
    written = (tmp_path / "runs" / "fast_toy" / "report" / "trials.csv").read_text()
    stored = str(optuna.load_study(study_name="fast_toy", storage=url).user_attrs)
    for text in (done.stdout, done.stderr, report.out, report.err, written, stored):
        assert postgres.password not in text
    assert "postgresql://sweeper:***@127.0.0.1" in done.stdout


# Spec and storage errors come before any worker starts: these run in the test's process.
def test_the_password_can_come_from_the_environment(tmp_path, postgres, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    url = postgres.url("${SWEEPER_TEST_DB_PASSWORD}")
    monkeypatch.setenv("SWEEPER_TEST_DB_PASSWORD", postgres.password)
    assert main([FAST, "--n-trials", "2", "--storage", url]) == 0
    done = capsys.readouterr()
    assert postgres.password not in done.out + done.err
    monkeypatch.delenv("SWEEPER_TEST_DB_PASSWORD")
    assert main([FAST, "--n-trials", "2", "--storage", url]) == 2
    assert "SWEEPER_TEST_DB_PASSWORD is not set" in capsys.readouterr().err


def test_a_wrong_password_is_one_sentence_that_does_not_repeat_it(tmp_path, postgres,
                                                                   monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([FAST, "--storage", postgres.url("not-the-password")]) == 2
    done = capsys.readouterr()
    assert "not-the-password" not in done.out + done.err
    assert done.err.count("\n") == 1 and "cannot be opened" in done.err


# SIGTERM in a single process is also sent by the test of a signal inside Optuna's calls.
@pytest.mark.parametrize("jobs, sig, code", [(1, signal.SIGINT, 130), (2, signal.SIGTERM, 143)])
def test_a_signal_fails_the_running_trial_and_keeps_the_finished_ones(tmp_path, jobs, sig, code):
    url = str(tmp_path / "journal.log")
    with background(SLOW, "--jobs", jobs, "--n-trials", 20, "--storage", url,
                    cwd=tmp_path) as proc:
        # Running with its parameters drawn: one signalled before that has nothing to queue.
        wait_for(lambda: sum(t.state in FINISHED for t in trials("slow_toy", url)) >= 1
                 and any(t.state == RUNNING and t.params for t in trials("slow_toy", url)),
                 120, "a finished and a running trial with its parameters")
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, out[-3000:]
    ts = trials("slow_toy", url)
    assert not [t for t in ts if t.state == RUNNING]
    failed = [t for t in ts if t.state == optuna.trial.TrialState.FAIL]
    assert failed
    word = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted"
    assert all(t.user_attrs[keys.FAIL_REASON].startswith(word) for t in failed), \
        [(t.number, t.user_attrs.get(keys.FAIL_REASON)) for t in failed]
    # Each interrupted configuration is queued, so that the resumed sweep runs it first. With
    # two workers the other one may be signalled before (or while) its trial draws parameters:
    # that trial has no whole configuration, and nothing is queued for it.
    queued = [t for t in ts if t.state == optuna.trial.TrialState.WAITING]
    retried = sorted(t.user_attrs[keys.RETRY_OF] for t in queued)
    assert retried and set(retried) <= {t.number for t in failed if t.params}
    assert len(retried) == len(failed) or jobs == 2
    assert all(q.system_attrs["fixed_params"] == ts[q.user_attrs[keys.RETRY_OF]].params
               for q in queued)
    assert sum(t.state in FINISHED for t in ts) >= 1
    assert "finished trials are kept" in out and "Traceback" not in out


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_after_kill_9_the_rerun_reclaims_the_trial_and_reaches_the_count(tmp_path, storage,
                                                                         monkeypatch, capsys):
    url = (f"sqlite:///{tmp_path / 'study.db'}" if storage == "sqlite"
           else str(tmp_path / "journal.log"))
    study_file = tmp_path / "long.py"  # a trial of several seconds: the kill lands inside it
    study_file.write_text(Path(SLOW).read_text().replace("epochs=60,", "epochs=240,"))
    args = (study_file, "--n-trials", 1, "--storage", url)  # the re-run runs the killed one again
    with background(*args, cwd=tmp_path) as proc:
        def just_started():  # so that it cannot finish before the kill lands
            now = datetime.datetime.now()
            return next((t for t in trials("slow_toy", url)
                         if t.state == RUNNING and keys.WORKER in t.user_attrs and t.params
                         and (now - t.datetime_start).total_seconds() < 2.0), None)

        killed = wait_for(just_started, 120, "a trial that has just started", every=0.05)
        proc.kill()  # SIGKILL: nothing runs in the worker after this
        proc.wait()
    assert trials("slow_toy", url)[killed.number].state == RUNNING  # the orphan
    monkeypatch.chdir(tmp_path)  # the re-run, in the test's process
    assert main(list(map(str, args))) == 0
    assert f"trial #{killed.number} was left running" in capsys.readouterr().out
    ts = trials("slow_toy", url)
    assert_whole(ts, 1)
    orphan = ts[killed.number]
    assert orphan.state == optuna.trial.TrialState.FAIL
    assert orphan.user_attrs[keys.FAIL_REASON].startswith("stale: its worker")
    retry = [t for t in ts if t.user_attrs.get(keys.RETRY_OF) == killed.number]
    assert len(retry) == 1 and retry[0].params == killed.params
    assert retry[0].state in FINISHED


@pytest.mark.slow
def test_kill_9_of_the_main_process_stops_its_workers_and_the_rerun_completes(tmp_path):
    """Workers whose main process is killed outright stop as on SIGTERM: their trials are
    failed with that reason and queued, instead of the workers running on unseen."""
    from sweeper.liveness import process_gone

    study_file = tmp_path / "long.py"  # trials of a few seconds: both still running at the kill
    study_file.write_text(Path(SLOW).read_text().replace("epochs=60,", "epochs=240,"))
    url = str(tmp_path / "journal.log")
    args = (study_file, "--jobs", 2, "--n-trials", 2, "--storage", url)
    with background(*args, cwd=tmp_path) as proc:
        def both_running():  # each worker in a trial it has recorded itself on, parameters drawn
            running = [t for t in trials("slow_toy", url) if t.state == RUNNING and t.params
                       and keys.WORKER in t.user_attrs]
            return running if len({t.user_attrs[keys.WORKER]["pid"] for t in running}) == 2 \
                else None

        running = wait_for(both_running, 180, "both workers running a trial")
        proc.kill()  # SIGKILL: the main process passes nothing on to its workers
        proc.wait()
        pids = [t.user_attrs[keys.WORKER]["pid"] for t in running]
        wait_for(lambda: all(process_gone(pid, None) for pid in pids), 15,
                 "the workers to stop after their main process")
    ts = trials("slow_toy", url)
    assert not [t for t in ts if t.state == RUNNING]
    why = f"terminated: the main process (pid {proc.pid}) is gone"
    for t in running:  # failed by their own workers, each configuration queued once
        assert ts[t.number].state == optuna.trial.TrialState.FAIL
        assert ts[t.number].user_attrs[keys.FAIL_REASON] == why
        queued = [q for q in ts if q.user_attrs.get(keys.RETRY_OF) == t.number]
        assert len(queued) == 1 and queued[0].state == optuna.trial.TrialState.WAITING
        assert queued[0].system_attrs["fixed_params"] == t.params
    # The re-run of the same command, in a process of its own: run here, its workers would
    # start this process's fork server, whose preloads the server tests choose.
    done = sweeper(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "resuming study 'slow_toy': 0 finished trials" in out and "Traceback" not in out
    assert "was left running" not in out  # nothing was left for the re-run to reclaim
    ts = trials("slow_toy", url)
    assert_whole(ts, 2)
    assert len(ts) == 4 and not [t for t in ts if t.state == optuna.trial.TrialState.WAITING]
    retries = {t.user_attrs[keys.RETRY_OF]: t for t in ts if keys.RETRY_OF in t.user_attrs}
    assert sorted(retries) == sorted(t.number for t in running)
    assert all(retries[t.number].params == t.params and retries[t.number].state in FINISHED
               for t in running)


WATCHED = """
import os, time
from sweeper.liveness import interrupt_reason, stop_on_signals

def sleeper(index, payload, out):  # a worker that waits under the sweep's signal handling
    folder = payload["folder"]
    try:
        with stop_on_signals():
            with open(os.path.join(folder, f"started-{index}"), "w") as f:
                f.write(str(os.getpid()))
            time.sleep(300)
    except KeyboardInterrupt as exc:
        with open(os.path.join(folder, f"stopped-{index}"), "w") as f:
            f.write(interrupt_reason(exc))
    return {"worker": index, "status": "done"}
"""

POOL = """
import sys
from watched import sleeper
from sweeper.workers import run_workers

run_workers(sleeper, {"devices": [sys.argv[1]] * 2, "folder": sys.argv[2]}, print)
"""


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cpu", "cuda:0"])  # forked from the server; spawned
def test_workers_stop_as_on_sigterm_when_the_main_process_is_gone(tmp_path, device):
    """Workers on a GPU are spawned, on the CPU forked from a server (whose children they
    are): both notice the main process's end. The device is only read to choose how workers
    start, so this needs no GPU."""
    from sweeper.liveness import process_gone

    (tmp_path / "watched.py").write_text(WATCHED)
    proc = subprocess.Popen([sys.executable, "-c", POOL, device, str(tmp_path)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = [tmp_path / f"started-{i}" for i in range(2)]
    try:
        wait_for(lambda: all(f.exists() and f.read_text() for f in started)
                 or proc.poll() is not None, 180, "both workers to start")
        assert proc.poll() is None, proc.communicate(timeout=30)[0][-3000:]
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    pids = [int(f.read_text()) for f in started]
    try:
        wait_for(lambda: all(process_gone(pid, None) for pid in pids), 15,
                 "the workers to stop after their main process")
    except BaseException:  # workers that missed it would sleep on for minutes
        for pid in pids:
            if not process_gone(pid, None):
                os.kill(pid, signal.SIGKILL)
        raise
    assert [(tmp_path / f"stopped-{i}").read_text() for i in range(2)] == \
        [f"terminated: the main process (pid {proc.pid}) is gone"] * 2


@pytest.mark.parametrize("message", [
    "table studies already exists",  # CREATE TABLE lost the race
    "UNIQUE constraint failed: alembic_version.version_num",  # the version stamp lost it
])
def test_a_database_whose_tables_another_process_just_created_opens(tmp_path, monkeypatch,
                                                                     message):
    import sqlalchemy.exc

    real, calls = optuna.storages.RDBStorage, []

    class Racing(real):  # another process creates the tables under our first open
        def __init__(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                real(*args, **kwargs)
                raise sqlalchemy.exc.OperationalError(
                    "CREATE TABLE studies", {}, Exception(message))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", Racing)
    storage = make_storage(f"sqlite:///{tmp_path / 'study.db'}", retry=False)
    assert len(calls) == 2
    assert optuna.create_study(study_name="opened", storage=storage).trials == []


@pytest.mark.slow
def test_a_torn_journal_tail_is_refused_then_repaired(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # in the test's process: the torn file is what matters here
    url = str(tmp_path / "journal.log")
    assert main([FAST, "--n-trials", "2", "--storage", url]) == 0
    with open(url, "ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":')  # a write cut off by kill -9
    capsys.readouterr()
    assert main([FAST, "--n-trials", "3", "--storage", url]) == 2
    refused = capsys.readouterr().err
    assert "ends in a partial record" in refused and "sweeper repair" in refused
    os.symlink(url, f"{url}.lock")  # and a lock its killed holder never released
    assert main(["repair", FAST, "--storage", url]) == 0
    repaired = capsys.readouterr().out
    assert "cut a partial last record" in repaired and "removed the journal lock" in repaired
    assert not os.path.lexists(f"{url}.lock") and Path(f"{url}.torn").exists()
    assert main([FAST, "--n-trials", "3", "--storage", url]) == 0
    assert_whole(trials("fast_toy", url), 3)


def test_an_old_journal_lock_is_reported(tmp_path):
    url = tmp_path / "journal.log"
    url.write_text("")
    os.symlink(url, f"{url}.lock")
    os.utime(f"{url}.lock", (1, 1), follow_symlinks=False)
    said = []
    make_storage(str(url), warn=said.append)
    assert len(said) == 1 and "journal lock" in said[0] and "sweeper repair" in said[0]


def test_a_journal_lock_released_while_it_is_checked_is_no_error(tmp_path, monkeypatch):
    """The lock's holder may release it between the look and the stat: opening goes on."""
    url = tmp_path / "journal.log"
    url.write_text("")
    os.symlink(url, f"{url}.lock")  # held when looked at, gone when its age is read
    real = Path.lstat

    def released(self):
        if self.name.endswith(".lock"):
            raise FileNotFoundError(self)
        return real(self)

    monkeypatch.setattr(Path, "lstat", released)
    said = []
    make_storage(str(url), warn=said.append)
    assert said == []


def _orphan_from_another_host(study):
    with warnings.catch_warnings():  # a trial asked for outside optimize, as a dead worker did
        warnings.simplefilter("ignore", UserWarning)
        trial = study.ask({"hidden": optuna.distributions.IntDistribution(2, 8)})
    trial.set_user_attr(keys.WORKER, {"host": "elsewhere", "pid": 1})
    return trial


def test_a_silent_worker_on_another_host_is_reclaimed_by_heartbeat_on_a_database(
        tmp_path, monkeypatch):
    from sweeper.liveness import reclaim_stale

    monkeypatch.setattr(stores, "GRACE_S", 1)
    study = optuna.create_study(study_name="s", storage=make_storage(
        f"sqlite:///{tmp_path / 'study.db'}"))
    trial = _orphan_from_another_host(study)
    study._storage.record_heartbeat(trial._trial_id)
    assert reclaim_stale(study, print) == 0 and study.trials[0].state == RUNNING
    time.sleep(2.5)
    reclaim_stale(study, print)
    failed, retry = study.trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert retry.state == optuna.trial.TrialState.WAITING
    assert retry.system_attrs["fixed_params"] == failed.params
    assert retry.user_attrs[keys.RETRY_REASON] == (
        "no heartbeat from its worker elsewhere:1 for over 1 s")


def test_a_trial_left_with_no_worker_and_no_heartbeat_is_reclaimed_on_a_database(
        tmp_path, monkeypatch):
    """A worker that stopped in an outage right after Optuna created its trial recorded
    neither itself nor a heartbeat: Optuna's heartbeat check never fails that trial, so a
    re-run would wait for it forever."""
    from sweeper import liveness

    study = optuna.create_study(study_name="s", storage=make_storage(
        f"sqlite:///{tmp_path / 'study.db'}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        study.ask({"hidden": optuna.distributions.IntDistribution(2, 8)})
    said = []
    assert liveness.reclaim_stale(study, said.append) == 0  # it may still be starting
    monkeypatch.setattr(liveness, "GRACE_S", 0)
    time.sleep(0.05)
    assert liveness.reclaim_stale(study, said.append) == 1
    failed, retry = study.trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert failed.user_attrs[keys.FAIL_REASON].startswith(
        "stale: no worker recorded itself on it, and it started")
    assert retry.system_attrs["fixed_params"] == failed.params


def test_a_silent_worker_on_another_host_is_reclaimed_on_a_journal(tmp_path, monkeypatch):
    from sweeper.liveness import reclaim_stale

    study = optuna.create_study(study_name="s", storage=make_storage(str(tmp_path / "j.log")))
    trial = _orphan_from_another_host(study)
    trial.set_user_attr(keys.HEARTBEAT, time.time())
    assert reclaim_stale(study, print) == 0
    trial.set_user_attr(keys.HEARTBEAT, time.time() - 3600)
    said = []
    assert reclaim_stale(study, said.append) == 1
    failed, retry = study.trials
    assert failed.user_attrs[keys.FAIL_REASON].startswith(
        "stale: no heartbeat from its worker elsewhere:1 for 3600 s")
    assert retry.user_attrs[keys.RETRY_OF] == 0
    assert retry.system_attrs["fixed_params"] == failed.params
    assert "queued again" in said[0]


def _where_a_worker_runs(index, payload, out):
    return {"worker": index, "status": "done", "parent": os.getppid(),
            "mark": os.environ.get("SWEEPER_TEST_MARK"),
            "imported": [m for m in payload["modules"] if m in sys.modules]}


def test_cpu_workers_are_forked_from_a_server_and_get_the_sweeps_environment(monkeypatch):
    """Workers on the CPU come from a fork server that imported torch and the storage's
    database layer once; each gets the environment the main process has when it starts them,
    not the server's."""
    from sweeper.workers import run_workers

    database = stores.opening_modules("sqlite:///study.db")
    payload = {"devices": ["cpu"], "modules": ["torch._dynamo", *database]}
    monkeypatch.setenv("SWEEPER_TEST_MARK", "first")
    first = run_workers(_where_a_worker_runs, payload, print, preload=database)
    monkeypatch.setenv("SWEEPER_TEST_MARK", "second")  # the server was started with "first"
    second = run_workers(_where_a_worker_runs, {**payload, "devices": ["cpu", "cpu"]}, print)
    assert first[0]["mark"] == "first" and [r["mark"] for r in second] == ["second"] * 2
    parents = {r["parent"] for r in first + second}
    assert len(parents) == 1 and os.getpid() not in parents  # children of one server
    assert all(r["imported"] == payload["modules"] for r in first + second)


def test_one_worker_per_visible_gpu(monkeypatch):
    from sweeper.workers import default_jobs, devices_for

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert default_jobs(torch.device("cuda")) == 3
    assert devices_for(torch.device("cuda"), 4) == ["cuda:0", "cuda:1", "cuda:2", "cuda:0"]
    assert devices_for(torch.device("cuda:1"), 2) == ["cuda:1", "cuda:1"]  # asked for one GPU
    assert default_jobs(torch.device("cpu")) == 1
    assert devices_for(torch.device("cpu"), 2) == ["cpu", "cpu"]


@pytest.mark.slow
def test_sqlite_workers_outlast_an_outside_write_lock(tmp_path):
    """Another program holding SQLite's write lock for 3 s delays the workers, not kills them."""
    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    with background(FAST, "--jobs", 2, "--n-trials", 10, "--storage", url,
                    cwd=tmp_path) as proc:
        wait_for(lambda: len(trials("fast_toy", url)) >= 3 or proc.poll() is not None, 120,
                 "the first trials")
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        outside = sqlite3.connect(db, timeout=30, isolation_level=None)
        outside.execute("BEGIN EXCLUSIVE")
        time.sleep(3)
        done = outside.execute("SELECT count(*) FROM trials WHERE state IN "
                               "('COMPLETE', 'PRUNED')").fetchone()[0]
        outside.execute("COMMIT")
        outside.close()
        out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    assert done < 10  # the lock held up a sweep that had trials left to run
    assert_whole(trials("fast_toy", url), 10)


@pytest.mark.slow
def test_kill_9_of_one_worker_replaces_it_and_the_sweep_goes_on(tmp_path):
    url = str(tmp_path / "journal.log")
    with background(SLOW, "--jobs", 2, "--n-trials", 4, "--storage", url, cwd=tmp_path) as proc:
        def running_worker():  # a worker in the middle of a trial it has recorded itself on
            pids, ts = worker_pids(proc.pid), trials("slow_toy", url)
            if len(pids) < 2 or not any(t.state in FINISHED for t in ts):
                return None
            return next((t.user_attrs[keys.WORKER]["pid"] for t in ts
                         if t.state == RUNNING and t.params and keys.WORKER in t.user_attrs
                         and t.user_attrs[keys.WORKER]["pid"] in pids), None)

        os.kill(wait_for(running_worker, 120, "a finished trial, and a worker running one"),
                signal.SIGKILL)
        out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out[-3000:]
    assert "killed by SIGKILL); its running trial is failed and queued again, and a new " \
           "worker takes its place" in out
    assert "Traceback" not in out
    ts = trials("slow_toy", url)
    assert_whole(ts, 4)
    failed = [t for t in ts if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1
    assert all(t.user_attrs[keys.FAIL_REASON].startswith("stale: its worker") for t in failed)
    assert not [t for t in ts if t.state == RUNNING]


@pytest.mark.slow
def test_a_short_outage_is_waited_out_and_a_long_one_stops_every_worker_once(tmp_path,
                                                                              postgres,
                                                                              monkeypatch):
    """With an outage limit of 8 s, a 2 s PostgreSQL outage is retried and the sweep goes on;
    a longer one stops both workers with one sentence and exit 1, and the re-run completes.
    The second outage starts once the sweep has said the first is over."""
    url = postgres.url()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SWEEPER_OUTAGE_LIMIT_S": "8"}
    study_file = tmp_path / "outage.py"  # a study of its own on the shared server
    study_file.write_text(Path(SLOW).read_text().replace('name="slow_toy"', 'name="outage"'))
    argv = [sys.executable, "-m", "sweeper", str(study_file), "--jobs", "2", "--n-trials", "4",
            "--storage", url]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(t.state == RUNNING for t in trials("outage", url)), 120,
                 "a running trial")
        postgres.stop()  # short: waited out
        time.sleep(2)
        postgres.start()
        back = datetime.datetime.now()
        wait_for(lambda: any("reachable again" in line for line in lines)
                 and any(t.state in FINISHED and t.datetime_complete > back
                         for t in trials("outage", url))
                 and any(t.state == RUNNING for t in trials("outage", url)), 120,
                 "the short outage said to be over, a trial finished after it, and one running")
        postgres.stop()  # long: every worker gives up after 8 s
        proc.wait(timeout=120)
        reader.join(timeout=10)
        out = "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        postgres.start()
    assert proc.returncode == 1, out[-3000:]
    assert out.count(" unreachable (") == 2, out  # once per outage for both workers
    assert "reachable again" in out and "stayed unreachable for" in out
    assert "Traceback" not in out
    monkeypatch.chdir(tmp_path)  # the re-run, in this process, by itself
    assert main([argv[3], "--jobs", "1", *argv[6:]]) == 0
    ts = trials("outage", url)
    assert_whole(ts, 4)
    assert all(t.user_attrs.get(keys.FAIL_REASON) for t in ts
               if t.state == optuna.trial.TrialState.FAIL)


def test_a_probe_of_a_stopped_server_says_it_is_down(postgres):
    """Optuna caches some answers of a database storage; the probe asks one it does not."""
    study = optuna.create_study(study_name="probe", storage=make_storage(postgres.url()),
                                load_if_exists=True)
    study._storage.get_study_name_from_id(study._study_id)  # cached from here on
    postgres.stop()
    try:
        assert not stores.probe(study)
    finally:
        postgres.start()
    assert stores.probe(study)


def test_a_sweep_complete_despite_a_worker_that_gave_up_is_finished():
    from sweeper.sweep import _settle
    from sweeper.workers import WorkerStopped

    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    said = []
    gave_up = {"worker": 1, "status": "StorageUnavailable", "message": "the storage stayed "
                                                                      "unreachable for 120 s"}
    _settle(study, 3, [{"worker": 0, "status": "done"}, gave_up], said.append)
    assert len(said) == 1 and "the study has its 3 finished trials" in said[0]
    with pytest.raises(WorkerStopped, match="stayed unreachable"):
        _settle(study, 4, [gave_up], said.append)


def signal_at(script, marker, sig, cwd, *args, env=None):
    """Run `script` (a patched `python -m sweeper ARGS`), send `sig` once it prints `marker`,
    and return (exit code, everything it printed)."""
    argv, env = _argv_env(args, env)
    proc = subprocess.Popen([sys.executable, "-c", script, *argv[3:]], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    try:
        while marker not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, seen + out


INTERRUPT_WHILE_DRAWING = """
import sys, time
import optuna
from sweeper.__main__ import main

real = optuna.trial.Trial.suggest_float

def slow(self, name, *args, **kwargs):  # trial 1 is interrupted between two of its draws
    if name == "weight_decay" and self.number == 1:
        print("DRAWING", flush=True)
        time.sleep(30)
    return real(self, name, *args, **kwargs)

optuna.trial.Trial.suggest_float = slow
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_trial_interrupted_while_drawing_its_parameters_is_not_queued_half(tmp_path,
                                                                             monkeypatch, capsys):
    study_file = tmp_path / "three.py"
    study_file.write_text(Path(FAST).read_text().replace(
        "weight_decay=0.0,", "weight_decay=FloatRange(1e-5, 1e-2, log=True),"))
    url = str(tmp_path / "journal.log")
    code, out = signal_at(INTERRUPT_WHILE_DRAWING, "DRAWING", signal.SIGINT, tmp_path,
                          study_file, "--n-trials", 3, "--storage", url)
    assert code == 130, out
    ts = trials("fast_toy", url)
    half = ts[1]
    assert half.state == optuna.trial.TrialState.FAIL and len(half.params) < 3
    assert not [t for t in ts if t.state == optuna.trial.TrialState.WAITING]  # nothing queued
    monkeypatch.chdir(tmp_path)  # the re-run, in the test's process
    assert main([str(study_file), "--n-trials", "3", "--storage", url]) == 0
    assert "configuration again" not in capsys.readouterr().out


INTERRUPT_IN_OPTUNA = """
import os, sys, time
import optuna
from optuna.storages import JournalStorage
from sweeper.__main__ import main

phase, calls = os.environ["PHASE"], []
real = getattr(JournalStorage, phase)

def slow(self, *args, **kwargs):  # the second trial's creation, or the first one's end
    calls.append(1)
    if len(calls) == (2 if phase == "create_new_trial" else 1):
        done = real(self, *args, **kwargs) if phase == "create_new_trial" else None
        print("INSIDE", flush=True)
        time.sleep(3)
        return done if phase == "create_new_trial" else real(self, *args, **kwargs)
    return real(self, *args, **kwargs)

setattr(JournalStorage, phase, slow)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("phase", ["create_new_trial", "set_trial_state_values"])
def test_a_signal_while_optuna_creates_or_ends_a_trial_leaves_none_running(tmp_path, phase):
    url = str(tmp_path / "journal.log")
    code, out = signal_at(INTERRUPT_IN_OPTUNA, "INSIDE", signal.SIGTERM, tmp_path, FAST,
                          "--n-trials", 3, "--storage", url, env={"PHASE": phase})
    assert code == 143, out
    assert "Traceback" not in out
    ts = trials("fast_toy", url)
    assert not [t for t in ts if t.state == RUNNING], ts
    if phase == "create_new_trial":  # the new trial is failed with the reason, nothing queued
        assert ts[-1].state == optuna.trial.TrialState.FAIL
        assert ts[-1].user_attrs[keys.FAIL_REASON].startswith("terminated (SIGTERM)")
    else:  # the finished trial is stored as it ended
        assert ts[0].state in FINISHED


def test_a_fresh_journal_lock_is_said_after_a_second(tmp_path):
    url = tmp_path / "journal.log"
    url.write_text("")
    os.symlink(url, f"{url}.lock")  # as a worker killed a moment ago leaves it
    said = []
    make_storage(str(url), warn=said.append)
    assert len(said) == 1 and said[0].startswith("waiting for the journal lock")


def test_a_heartbeat_is_tried_once_and_never_raises():
    import sqlalchemy.exc

    from sweeper.storage import RetryingStorage

    class Down(optuna.storages.InMemoryStorage):
        calls = 0

        def record_heartbeat(self, trial_id):
            Down.calls += 1
            raise sqlalchemy.exc.OperationalError("UPDATE", {}, Exception("server closed"))

    storage = RetryingStorage(Down(), "postgresql://x", warn=lambda line: None)
    start = time.monotonic()
    storage.record_heartbeat(0)
    assert Down.calls == 1 and time.monotonic() - start < 1


def test_one_outage_has_one_limit_however_many_calls_wait_in_it(monkeypatch):
    import sqlalchemy.exc

    from sweeper.storage import StorageUnavailable, retrying

    monkeypatch.setitem(stores._OUTAGE, "since", None)
    monkeypatch.setitem(stores._OUTAGE, "said", False)
    monkeypatch.setitem(stores._RECOVERED, "at", -math.inf)  # the end of this outage sets it
    said, tries = [], []

    def down():
        tries.append(1)
        raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("server closed"))

    with pytest.raises(StorageUnavailable, match="stayed unreachable for"):
        retrying(down, "postgresql://x", said.append, retry_for=1)
    tries.clear()
    start = time.monotonic()  # a call made after the outage outlasted the limit tries once
    with pytest.raises(StorageUnavailable):
        retrying(down, "postgresql://x", said.append, retry_for=1)
    assert len(tries) == 1 and time.monotonic() - start < 0.5
    assert len(said) == 1 and " unreachable (" in said[0]  # said once for the outage
    assert retrying(lambda: 7, "postgresql://x", said.append) == 7
    assert "reachable again" in said[-1] and stores._OUTAGE["since"] is None


def test_stale_trials_get_their_reason_and_none_are_taken_right_after_an_outage(
        tmp_path, monkeypatch):

    monkeypatch.setattr(stores, "GRACE_S", 1)
    study = optuna.create_study(study_name="s", storage=make_storage(
        f"sqlite:///{tmp_path / 'study.db'}"))
    trial = _orphan_from_another_host(study)
    study._storage.record_heartbeat(trial._trial_id)
    time.sleep(2.5)
    monkeypatch.setitem(stores._RECOVERED, "at", time.monotonic())
    assert study._storage._get_stale_trial_ids(study._study_id) == []  # just back: paused
    monkeypatch.setitem(stores._RECOVERED, "at", time.monotonic() - 5)
    assert study._storage._get_stale_trial_ids(study._study_id) == [trial._trial_id]
    assert study.trials[0].user_attrs[keys.FAIL_REASON] == (
        "stale: no heartbeat from its worker elsewhere:1 for over 1 s")


def test_an_outage_after_one_the_sweep_said_was_over_is_said_again():
    from sweeper.workers import OutageLines

    said: list[str] = []
    lines = OutageLines(said.append)
    down, up = "storage db unreachable (refused); retrying", "storage db reachable again after 2 s"
    lines(0, down)
    lines(1, down)  # the same outage: not said again
    lines(0, up)
    lines(0, down)  # worker 1 has made no call since: a new outage all the same
    lines(1, up)  # worker 1's late word from the first outage is not said
    lines(0, up)
    assert said == [f"{down} (every worker retries the same)", up,
                    f"{down} (every worker retries the same)", up]
