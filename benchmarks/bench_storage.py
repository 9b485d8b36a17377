"""What storage writes cost a sweep: the seed_toy study on SQLite vs in memory.

Both sweeps run the same trials (same seed, deterministic training), alternating, several
rounds; the ratio of medians is the storage overhead. Also prints the share of each SQLite
trial's time that its own storage calls took (from the trial's stored timing).

    python benchmarks/bench_storage.py [--n-trials 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from sweeper import keys
from sweeper.spec import load_study_file
from sweeper.sweep import run_sweep
from sweeper.train import resolve_device
from sweeper.windows import prepare

ROOT = Path(__file__).resolve().parent.parent

p = argparse.ArgumentParser()
p.add_argument("--n-trials", type=int, default=8)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--threads", type=int, default=1)
args = p.parse_args()

torch.set_num_threads(args.threads)
spec = load_study_file(ROOT / "studies" / "seed_toy.py").override(n_trials=args.n_trials)
windows = prepare(spec.data)
device = resolve_device("cpu")
print(f"# seed_toy, {args.n_trials} trials x {spec.repeats} repeats, pruner {spec.pruner}, "
      f"device cpu, torch threads {torch.get_num_threads()}, {args.rounds} rounds, "
      f"{platform.processor() or platform.machine()}, torch {torch.__version__}")

walls: dict[str, list[float]] = {"memory": [], "sqlite": []}
shares: list[float] = []
for _ in range(args.rounds):
    for kind in ("memory", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            url = ":memory:" if kind == "memory" else f"sqlite:///{tmp}/study.db"
            t0 = time.perf_counter()
            study = run_sweep(spec, windows, device, url, out=lambda s: None, progress=False)
            walls[kind].append(time.perf_counter() - t0)
            if kind == "sqlite":
                for t in study.trials:
                    timing = t.user_attrs.get(keys.TIMING)
                    if timing:
                        total = timing["train_s"] + timing["diagnosis_s"] + timing["storage_s"]
                        shares.append(timing["storage_s"] / total)

mem, sql = statistics.median(walls["memory"]), statistics.median(walls["sqlite"])
print(f"{'storage':10s} {'median sweep s':>15s} {'runs':>30s}")
for kind, w in walls.items():
    print(f"{kind:10s} {statistics.median(w):15.2f} {' '.join(f'{x:.2f}' for x in w):>30s}")
print(f"sqlite / memory wall ratio: {sql / mem:.3f}  (storage overhead {sql / mem - 1:.1%})")
print(f"storage share of a trial (sqlite, from stored timing): "
      f"median {statistics.median(shares):.1%}, max {max(shares):.1%}")
