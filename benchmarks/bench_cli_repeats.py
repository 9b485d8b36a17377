"""Whole-process cost of repeats through the CLI: `--repeats 10` vs `--repeats 1`.

Same study file, seed, trial count and pruner; each run is a fresh `python -m sweeper` process
writing to its own SQLite file, alternating, several rounds; prints medians and the ratio.

    python benchmarks/bench_cli_repeats.py [--n-trials 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser()
p.add_argument("--study", default=str(ROOT / "studies" / "seed_toy.py"))
p.add_argument("--n-trials", type=int, default=8)
p.add_argument("--rounds", type=int, default=3)
args = p.parse_args()

walls: dict[int, list[float]] = {1: [], 10: []}
for _ in range(args.rounds):
    for repeats in walls:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "sweeper", args.study, "--n-trials", str(args.n_trials),
                   "--repeats", str(repeats), "--storage", f"sqlite:///{tmp}/study.db"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls[repeats].append(time.perf_counter() - t0)

print(f"# {Path(args.study).name}, {args.n_trials} trials, {args.rounds} rounds, whole process, "
      "cpu, 1 torch thread")
for repeats, w in walls.items():
    print(f"--repeats {repeats:<3d} median {statistics.median(w):6.2f} s   "
          f"runs {' '.join(f'{x:.2f}' for x in w)}")
ratio = statistics.median(walls[10]) / statistics.median(walls[1])
print(f"repeats 10 / repeats 1: {ratio:.2f}x")
