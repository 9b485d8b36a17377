"""How should a delivered model's prediction intervals be calibrated? Three designs, one test.

Each study is a sweep of bench_sweep's "sweeper" contender (the default space, a smaller
budget), its delivered model chosen from the kept runs. The model's absolute residuals on the
validation windows calibrate its intervals; the test windows (later in time, never seen) say
how often they hold, pooled over studies, for the central 80% and 95%:

    all          split conformal on every validation window (what sweeper does)
    later half   split conformal on the later half of each series' validation windows only,
                 the part closest in time to what comes next
    drift        the all-window width times the drift seen inside validation: how much wider
                 the later half's quantile is than the earlier half's (at least 1)

    python benchmarks/bench_intervals.py --quick       # smoke: 1 series, 1 seed, tiny space
    python benchmarks/bench_intervals.py --seeds 5     # the measurement in RESULTS.md
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import numpy as np
import optuna
import torch
from bench_sweep import QUICK_SPACE, SERIES, SPACE, spec_for, sweep_to_budget, windows_for

from sweeper.delivery import calibrate, conformal
from sweeper.kept import from_study
from sweeper.selection import choose
from sweeper.windows import halves

LEVELS = (0.8, 0.95)
DESIGNS = ("all", "later half", "drift")


def widths(model, windows, level: float) -> dict[str, np.ndarray]:
    """Each design's half-width per output at `level` (the later-half one measured here)."""
    val = np.abs(model.combined(*windows.split("val")[:2]) - windows.val_y)
    _, later = halves(windows.val_at)
    return {"all": np.array(calibrate(model, windows, (level,), "all")[str(level)]),
            "later half": conformal(val[later], level),
            "drift": np.array(calibrate(model, windows, (level,), "drift")[str(level)])}


def run_study(series: str, seed: int, budget: int, quick: bool) -> dict:
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    windows = windows_for(series)
    spec = spec_for("sweeper", series, seed, QUICK_SPACE if quick else SPACE)
    with tempfile.TemporaryDirectory() as artifacts:
        study, _, _ = sweep_to_budget(spec, windows, budget, artifacts)
        choose(study, windows, artifacts)
        model = from_study(study, artifacts)
        test = np.abs(model.combined(*windows.split("test")[:2]) - windows.test_y)
        out = {}
        for level in LEVELS:
            for design, width in widths(model, windows, level).items():
                out[(design, level)] = (int((test <= width).sum()), int(test.size))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: sunspots, 1 seed, tiny")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0,
                   help="study seeds run are FIRST_SEED ... FIRST_SEED + SEEDS - 1")
    p.add_argument("--budget", type=int, default=1500, help="member-epochs per study")
    args = p.parse_args()
    series = ["sunspots"] if args.quick else list(SERIES)
    seeds, budget = (1, 30) if args.quick else (args.seeds, args.budget)
    start = time.perf_counter()
    pooled = {(d, lv): [0, 0] for d in DESIGNS for lv in LEVELS}
    per_series = {s: {(d, lv): [0, 0] for d in DESIGNS for lv in LEVELS} for s in series}
    for s in series:
        for seed in range(args.first_seed, args.first_seed + seeds):
            for key, (inside, total) in run_study(s, seed, budget, args.quick).items():
                for into in (pooled, per_series[s]):
                    into[key][0] += inside
                    into[key][1] += total
    print(f"# bench_intervals: budget {budget} member-epochs, study seeds {args.first_seed}-"
          f"{args.first_seed + seeds - 1} per series, "
          f"1 process x 1 torch thread on {platform.processor() or platform.machine()}; "
          f"{time.perf_counter() - start:.0f} s")
    print("| series | design | 80% intervals hold | 95% intervals hold |")
    print("|---|---|---|---|")
    for name, counts in [*per_series.items(), ("pooled", pooled)]:
        for d in DESIGNS:
            cells = " | ".join(f"{counts[(d, lv)][0] / max(1, counts[(d, lv)][1]):.1%}"
                               for lv in LEVELS)
            print(f"| {name} | {d} | {cells} |")


if __name__ == "__main__":
    main()
