"""Faults, injected for real: what a sweep keeps when it is interrupted, killed or cut off from
its storage, and whether running the same command again completes it.

Every case runs `python -m sweeper` in real processes (--jobs 2, a study of 8 trials of a second
or two each) against a real journal file, or a real PostgreSQL server on 127.0.0.1 for the
outages, injects one fault once two trials have finished and another is running, and then
re-runs the same command. Per case it prints the first run's exit code; the finished (complete
or pruned), failed and still-running trials and the duplicates (a trial number or a finished
configuration twice) after it; the same after the re-run; and the tracebacks either printed.

    case          fault
    sigint        Ctrl-C to the sweep (exit 130; running trials failed and queued again)
    sigterm       SIGTERM to the sweep (exit 143)
    kill-worker   kill -9 of one of the two worker processes (the pool replaces it)
    kill-group    kill -9 of the whole process group (the re-run reclaims the trials)
    torn-journal  kill -9 of the group, then a record cut off at the journal's end (the re-run
                  refuses it with exit 2; `sweeper repair` cuts it, then the re-run completes)
    outage-short  PostgreSQL stopped for 6 s, within the outage limit (30 s here)
    outage-long   PostgreSQL stopped for 12 s, past the outage limit (4 s here): every worker
                  stops with exit 1, the re-run after the server is back completes

    python benchmarks/bench_faults.py                  # every case (about 5 minutes)
    python benchmarks/bench_faults.py --cases sigint kill-worker
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import optuna
from pgserver import Postgres, pg_bin

from sweeper.storage import make_storage

N_TRIALS = 8
STUDY = '''from sweeper import Data, FloatRange, Space, Study

study = Study(
    name="{name}",
    data=Data.toy(),
    space=Space(hidden=8, layers=1, dropout=FloatRange(0.0, 0.2),
                weight_decay=FloatRange(1e-6, 1e-3, log=True), epochs=120, lr=1e-3,
                batch_size=1, shuffle=False),
    repeats=2, n_trials={n}, pruner="none", patience=None, trial_figures=False,
    engine="sequential",
)
'''
JOURNAL_CASES = ["sigint", "sigterm", "kill-worker", "kill-group", "torn-journal"]
OUTAGE_CASES = ["outage-short", "outage-long"]
OUTAGE = {"outage-short": (6, 30), "outage-long": (12, 4)}  # seconds down, outage limit
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def worker_pids(pid: int) -> list[int]:
    """The worker processes of the sweep `pid`: its spawned children (workers on CUDA), or the
    children of its fork server (workers on the CPU)."""
    parents: dict[int, int] = {}
    cmdlines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        cmdlines[int(entry.name)] = cmdline
    servers = {p for p, parent in parents.items()
               if parent == pid and "multiprocessing.forkserver" in cmdlines[p]}
    return sorted(p for p, parent in parents.items()
                  if (parent == pid and "spawn_main" in cmdlines[p]) or parent in servers)


def trials(name: str, url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        study = optuna.load_study(study_name=name, storage=make_storage(url, retry=False))
        return study.get_trials(deepcopy=False)
    except Exception:  # not created yet, or the storage is down: nothing to count now
        return []


def counts(name: str, url: str) -> dict:
    ts = trials(name, url)
    states = Counter(t.state for t in ts)
    numbers = Counter(t.number for t in ts)
    configs = Counter(tuple(sorted(t.params.items())) for t in ts if t.state in FINISHED)
    return {"finished": sum(states[s] for s in FINISHED),
            "failed": states[optuna.trial.TrialState.FAIL],
            "running": states[optuna.trial.TrialState.RUNNING],
            "duplicated": sum(n - 1 for n in numbers.values())
            + sum(n - 1 for n in configs.values())}


def wait_for(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return False


class Sweep:
    """`python -m sweeper STUDY --jobs 2 --storage URL` in its own process group."""

    def __init__(self, study: Path, url: str, env: dict) -> None:
        self.argv = [sys.executable, "-m", "sweeper", str(study), "--jobs", "2", "--n-trials",
                     str(N_TRIALS), "--storage", url]
        self.cwd, self.env = study.parent, env
        self.output, self.starts = "", 0

    def start(self) -> subprocess.Popen:
        self.starts += 1
        self.log = open(self.cwd / f"run{self.starts}.log", "w+")
        return subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self.log,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def finish(self, proc: subprocess.Popen, timeout: float = 300) -> int:
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        self.log.seek(0)
        self.output += self.log.read()
        self.log.close()
        return code

    def run(self, *args: str) -> int:
        """The same command again, or `python -m sweeper ARGS`, run to its end."""
        argv = self.argv if not args else [sys.executable, "-m", "sweeper", *args]
        done = subprocess.run(argv, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=600)
        self.output += done.stdout + done.stderr
        return done.returncode


def run_case(case: str, root: Path, postgres: Postgres | None) -> dict:
    name = f"faults_{case.replace('-', '_')}"
    study = root / case / "study.py"
    study.parent.mkdir(parents=True)
    study.write_text(STUDY.format(name=name, n=N_TRIALS))
    url = postgres.url() if case in OUTAGE_CASES else str(study.parent / "journal.log")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if case in OUTAGE_CASES:
        env["SWEEPER_OUTAGE_LIMIT_S"] = str(OUTAGE[case][1])
    sweep = Sweep(study, url, env)
    proc = sweep.start()
    def mid_sweep() -> bool:  # two trials finished, another running, both workers up
        now = counts(name, url)
        return now["finished"] >= 2 and now["running"] >= 1 and len(worker_pids(proc.pid)) == 2

    ready = wait_for(mid_sweep, 180)
    if not ready:
        first = sweep.finish(proc, timeout=1)
        return {"case": case, "note": f"the fault was never injected (exit {first})"}
    note = ""
    if case in ("sigint", "sigterm"):
        os.kill(proc.pid, signal.SIGINT if case == "sigint" else signal.SIGTERM)
    elif case == "kill-worker":
        os.kill(worker_pids(proc.pid)[0], signal.SIGKILL)
    elif case in ("kill-group", "torn-journal"):
        os.killpg(proc.pid, signal.SIGKILL)
    elif case in OUTAGE_CASES:
        postgres.stop()
        time.sleep(OUTAGE[case][0])
        if case == "outage-short":
            postgres.start()
    first = sweep.finish(proc)
    if case == "outage-long":
        postgres.start()
    after = counts(name, url)
    if case == "torn-journal":
        with open(url, "ab") as f:
            f.write(b'{"op_code": 5, "worker_id": "w", "trial_id": ')  # cut off mid-write
        refused = sweep.run()
        repaired = sweep.run("repair", str(study), "--storage", url)
        note = f"re-run refused (exit {refused}), repair exit {repaired}"
    rerun = sweep.run()
    final = counts(name, url)
    if postgres is not None and case in OUTAGE_CASES:
        note = ("the password appears in the output" if postgres.password in sweep.output
                else "the password appears in no output")
    return {"case": case, "first_exit": first, "after": after, "rerun_exit": rerun,
            "final": final, "completed": rerun == 0 and final["finished"] >= N_TRIALS
            and final["running"] == 0 and final["duplicated"] == 0,
            "tracebacks": sweep.output.count("Traceback"), "note": note}


def table(rows: list[dict]) -> str:
    lines = ["| case | first run: exit | finished / failed / running / duplicated | "
             "re-run: exit | finished / failed / running / duplicated | re-run completed | "
             "tracebacks | note |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "after" not in r:
            lines.append(f"| {r['case']} | - | - | - | - | - | - | {r['note']} |")
            continue
        a, f = r["after"], r["final"]
        lines.append(
            f"| {r['case']} | {r['first_exit']} | {a['finished']} / {a['failed']} / "
            f"{a['running']} / {a['duplicated']} | {r['rerun_exit']} | {f['finished']} / "
            f"{f['failed']} / {f['running']} / {f['duplicated']} | "
            f"{'yes' if r['completed'] else 'NO'} | {r['tracebacks']} | {r['note']} |")
    return "\n".join(lines)


def main() -> None:
    cases = JOURNAL_CASES + OUTAGE_CASES
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", choices=cases, default=cases)
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if any(c in OUTAGE_CASES for c in args.cases) and not (pg_bin("initdb") and pg_bin("pg_ctl")):
        p.error("the outage cases need PostgreSQL's server binaries (initdb, pg_ctl); "
                "install them or pass --cases without outage-short and outage-long")
    root = Path(tempfile.mkdtemp(prefix="sweeper-faults-"))
    pg_root = Path(tempfile.mkdtemp(prefix="sweeper-faults-pg-"))  # the server's user reaches it
    postgres = None
    start = time.perf_counter()
    rows = []
    try:
        if any(c in OUTAGE_CASES for c in args.cases):
            postgres = Postgres(pg_root)
        for case in args.cases:
            rows.append(run_case(case, root, postgres))
            print(f"  {case}: {'completed' if rows[-1].get('completed') else 'NOT completed'}"
                  f" after the re-run", flush=True)
    finally:
        if postgres is not None:
            try:
                postgres.stop()
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pg_root, ignore_errors=True)
    print(f"# bench_faults: {N_TRIALS} trials, --jobs 2, journal file or PostgreSQL "
          f"{'on 127.0.0.1' if postgres else '(not used)'}; {platform.machine()}, "
          f"{os.cpu_count()} cores; {time.perf_counter() - start:.0f} s")
    print(table(rows))
    sys.exit(0 if all(r.get("completed") for r in rows) else 1)


if __name__ == "__main__":
    main()
