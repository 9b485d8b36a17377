"""What the review surface costs a sweep: drawing and uploading each trial's figure and note.

Runs the seed_toy study into a fresh SQLite file with artifacts on, and compares each trial's
stored review time (figure + artifact upload + note) with its training time.

    python benchmarks/bench_review.py [--n-trials 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

from sweeper import keys
from sweeper.spec import load_study_file
from sweeper.sweep import run_sweep
from sweeper.windows import prepare

ROOT = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser()
p.add_argument("--n-trials", type=int, default=8)
args = p.parse_args()
torch.set_num_threads(1)
spec = load_study_file(ROOT / "studies" / "seed_toy.py").override(n_trials=args.n_trials)
with tempfile.TemporaryDirectory() as tmp:
    study = run_sweep(spec, prepare(spec.data), torch.device("cpu"),
                      f"sqlite:///{tmp}/study.db", out=lambda s: None, progress=False,
                      artifacts=f"{tmp}/artifacts")
    rows = [(t.number, t.user_attrs[keys.TIMING]) for t in study.trials
            if keys.TIMING in t.user_attrs]
print(f"# seed_toy, {args.n_trials} trials x {spec.repeats} repeats, cpu, 1 torch thread")
print(f"{'trial':>5} {'train s':>8} {'review s':>9} {'review/train':>13}")
for number, t in rows:
    print(f"{number:>5} {t['train_s']:8.2f} {t['review_s']:9.3f} "
          f"{t['review_s'] / t['train_s']:12.1%}")
review = [t["review_s"] for _, t in rows[1:]]  # the first trial also imports matplotlib
train = [t["train_s"] for _, t in rows[1:]]
print(f"after the first trial: median review {statistics.median(review):.3f} s per trial, "
      f"{sum(review) / sum(train):.1%} of training time in total")
