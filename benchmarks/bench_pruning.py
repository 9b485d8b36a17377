"""Pruning: degradation stopping plus Optuna pruners vs no pruning, on sweeper's own objective.

On the sunspots series (60/20/20 in time order), sweeper's default study (3 repeats, score =
val + overfit gap) runs with:

    none            every run trains every epoch
    degradation     runs stop once validation degrades (patience 20, 10% rise)
    median+deg      degradation stopping and MedianPruner, every trial trains all repeats
    sha+deg         degradation stopping and SuccessiveHalvingPruner
    median+deg+screen   sweeper's default: median+deg, and screening (a trial's other repeats
                    train only when its first run scores at or below the median completed
                    trial; otherwise the trial is pruned)

Two protocols, each over several study seeds (same TPE seed for every variant):
    fixed trials    N trials each: member-epochs used (one epoch of one seeded run), saved vs
                    none, and the best score reached;
    fixed time      T seconds each (Optuna paper's trials-per-budget view): trials finished and
                    the best score reached.

    python benchmarks/bench_pruning.py --quick     # smoke run
    python benchmarks/bench_pruning.py             # 20 trials and 90 s, 3 study seeds
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import optuna
import torch
from bench_sweep import QUICK_SPACE, SPACE, member_epochs, windows_for  # benchmarks/, beside this

from sweeper import Data, Space, Study
from sweeper.pruning import make_pruner, report_steps
from sweeper.trial import TrialObjective

VARIANTS = {  # name -> (pruner, degradation stopping, screening)
    "none": ("none", False, False),
    "degradation": ("none", True, False),
    "median+deg": ("median", True, False),
    "sha+deg": ("successive_halving", True, False),
    "median+deg+screen": ("median", True, True),
}


def run(variant: str, seed: int, n_trials: int | None, seconds: float | None,
        space: Space = SPACE) -> dict:
    pruner_name, stopping, screen = VARIANTS[variant]
    spec = Study(name=f"pruning-{variant.replace('+', '-')}-{seed}",
                 data=Data(source="sunspots"), space=space, repeats=3, pruner=pruner_name,
                 seed=seed, patience=20 if stopping else None, trial_figures=False,
                 engine="sequential", screen=screen)
    max_epochs = spec.space.max_epochs()
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=make_pruner(pruner_name, report_steps(max_epochs, spec.max_reports), max_epochs))
    objective = TrialObjective(spec, windows_for("sunspots"), torch.device("cpu"))
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, timeout=seconds, catch=(Exception,))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {"variant": variant, "seed": seed, "trials": len(study.trials),
            "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
            "member_epochs": sum(member_epochs(t) for t in study.trials),
            "best": min(t.value for t in done) if done else float("nan"),
            "seconds": time.perf_counter() - start}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--n-trials", type=int, default=20)
    p.add_argument("--seconds", type=float, default=90.0)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = p.parse_args()
    space = SPACE
    if args.quick:  # every variant and both tables, on a tiny space
        args.n_trials, args.seconds, args.seeds, space = 2, 0.5, 1, QUICK_SPACE
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    print(f"# bench_pruning: sunspots, 3 repeats per trial, {args.seeds} study seeds, 1 process"
          f" x 1 torch thread on {platform.processor() or platform.machine()}")

    print(f"\n## fixed trials: {args.n_trials} per study (medians over study seeds)")
    print("| variant | member-epochs | saved vs none | pruned trials | best score | wall s |")
    print("|---|---|---|---|---|---|")
    variants = ["none"] + [v for v in args.variants if v != "none"]  # "saved" is against none
    fixed = {v: [run(v, s, args.n_trials, None, space) for s in range(args.seeds)]
             for v in variants}
    base = np.array([r["member_epochs"] for r in fixed["none"]], dtype=float)
    for v, rows in fixed.items():
        me = np.array([r["member_epochs"] for r in rows], dtype=float)
        print(f"| {v} | {np.median(me):.0f} | {np.median(1 - me / base):.0%} | "
              f"{np.median([r['pruned'] for r in rows]):.0f}/{args.n_trials} | "
              f"{np.median([r['best'] for r in rows]):.4f} | "
              f"{np.median([r['seconds'] for r in rows]):.0f} |")

    print(f"\n## fixed time: {args.seconds:g} s per study (medians over study seeds)")
    print("| variant | trials | pruned | member-epochs | best score |")
    print("|---|---|---|---|---|")
    for v in variants:
        rows = [run(v, s, None, args.seconds, space) for s in range(args.seeds)]
        print(f"| {v} | {np.median([r['trials'] for r in rows]):.0f} | "
              f"{np.median([r['pruned'] for r in rows]):.0f} | "
              f"{np.median([r['member_epochs'] for r in rows]):.0f} | "
              f"{np.median([r['best'] for r in rows]):.4f} |")
    print("\nper study (fixed trials): " + "; ".join(
        f"{r['variant']} s{r['seed']}: {r['member_epochs']} ME, best {r['best']:.4f}"
        for rows in fixed.values() for r in rows))


if __name__ == "__main__":
    main()
