"""Worker processes: whole-command wall time of `--jobs J` on each storage, and the integrity
check (every trial finished, none duplicated, none left RUNNING).

Runs `python -m sweeper tests/fixtures/fast_toy.py --jobs J --n-trials N --storage S` (trials of
a few hundredths of a second, so storage and process start-up dominate: the worst case for
concurrency) and `studies/seed_toy.py` (real trials, so training dominates). Each in a fresh
folder; the median of --rounds rounds.

    python benchmarks/bench_workers.py [--rounds 3] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import optuna

from sweeper.storage import make_storage

ROOT = Path(__file__).resolve().parent.parent
STUDIES = {"fast_toy": (ROOT / "tests" / "fixtures" / "fast_toy.py", 200),
           "seed_toy": (ROOT / "studies" / "seed_toy.py", 16)}


def one(study: str, jobs: int, storage: str, postgres: str | None) -> tuple[float, str]:
    path, n = STUDIES[study]
    with tempfile.TemporaryDirectory() as tmp:
        url = {"journal": str(Path(tmp) / "journal.log"), "sqlite": f"sqlite:///{tmp}/study.db",
               "postgres": postgres}[storage]
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "sweeper", str(path), "--jobs", str(jobs),
                               "--n-trials", str(n), "--storage", url],
                              cwd=tmp, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        trials = optuna.load_study(study_name=path.stem, storage=make_storage(url, retry=False)
                                   ).get_trials(deepcopy=False)
        states = Counter(t.state.name for t in trials)
        numbers = [t.number for t in trials]
        check = (f"{states['COMPLETE'] + states['PRUNED']} finished, "
                 f"{len(numbers) - len(set(numbers))} duplicates, {states['RUNNING']} running")
        if storage == "postgres":  # the next round starts a fresh study on the same server
            optuna.delete_study(study_name=path.stem, storage=url)
    return seconds, check


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--postgres", help="a PostgreSQL URL to include (its study is deleted)")
    args = p.parse_args()
    storages = ["journal", "sqlite"] + (["postgres"] if args.postgres else [])
    print(f"# bench_workers: {os.cpu_count()} cores, 1 torch thread per worker, "
          f"{args.rounds} rounds (median)")
    print("| study (trials) | storage | jobs | wall s (median) | rounds | trials/s | check |")
    print("|---|---|---|---|---|---|---|")
    for study, (_, n) in STUDIES.items():
        for storage in storages:
            for jobs in (1, 2, 4):
                runs = [one(study, jobs, storage, args.postgres) for _ in range(args.rounds)]
                secs = [r[0] for r in runs]
                print(f"| {study} ({n}) | {storage} | {jobs} | {np.median(secs):.1f} | "
                      f"{', '.join(f'{s:.1f}' for s in secs)} | {n / np.median(secs):.1f} | "
                      f"{runs[-1][1]} |", flush=True)


if __name__ == "__main__":
    main()
