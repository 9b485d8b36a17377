"""How well does a validation score pick LSTMs for a later test period?

A sweep can only be as good as the score it ranks configurations by. This benchmark takes the
search space and series of bench_sweep.py, draws N configurations at random, and asks of
three scores how well each ranks them for the test period that no sweep sees:

    one run      one seeded run's validation loss on the sweep's split (plain Optuna's view)
    3 seeds      the mean over 3 seeds on the same split (sweeper's repeats)
    3 periods    the mean over 3 validation periods, one seed each: the sweep's split and two
                 earlier ones, each shifted back by half a validation block, every period with
                 its own training part (what came before it) and its own scaler

The truth each is compared with: the configuration's test loss, retrained on the sweep's split
with 3 fresh seeds (mean of their last 5 epochs, then over seeds). Every run trains for the
configuration's full epochs, with no stopping. Reported per series:

    - Spearman correlation of each score with the test loss over the N configurations;
    - a simulated search: draw M configurations, keep the one the score ranks first, and take
      its test loss (mean over 4000 draws), with the regret against the best test loss in the
      draw. "one run, equal compute" draws 3M configurations, as a one-run search affords
      three times the trials.

    python benchmarks/bench_selection.py --quick    # smoke run: 1 series, 4 short configurations
    python benchmarks/bench_selection.py            # full: 3 series x 48 configurations
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import numpy as np
import optuna
import torch
from bench_sweep import SERIES, SPACE, series_for, windows_for  # benchmarks/, beside this script
from joblib import Parallel, delayed

from sweeper import Data, IntRange
from sweeper.objective import final_loss
from sweeper.space import suggest
from sweeper.train import train_repeats
from sweeper.windows import make_windows

PERIODS, SEEDS, TEST_SEEDS, DRAWS = 3, 3, 3, 4000


def period_windows(name: str, k: int):
    """The sweep's split (k = 0) or the validation period k half-blocks earlier, with only what
    precedes it for training; the sweep's split also carries the test windows."""
    full = windows_for(name)
    if k == 0:
        return full
    n_val = full.n_val
    end = full.n_train + n_val - k * (n_val // 2)  # windows up to the period's last
    window = SERIES[name]
    cut = series_for(name)[: end + window]
    part = make_windows(cut, Data(source=cut, window=window, val_fraction=n_val / end,
                                  test_fraction=0.0), name)
    assert part.n_val == n_val, (part.n_val, n_val)
    return part


def configs(n: int, seed: int, space) -> list[dict]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [suggest(study.ask(), space) for _ in range(n)]


def final_val(config: dict, windows, seeds: list[int]) -> list[float]:
    res = train_repeats(config, windows, seeds, torch.device("cpu"), patience=None,
                        engine="sequential")
    return [final_loss(res.curve(r)[1]) for r in range(len(seeds))]


def measure(name: str, i: int, config: dict) -> dict:
    torch.set_num_threads(1)
    base = 1000 * i
    split = period_windows(name, 0)
    seeds = final_val(config, split, [base + s for s in range(SEEDS)])
    earlier = [final_val(config, period_windows(name, k), [base])[0] for k in range(1, PERIODS)]
    on_test = split.heldout_as_validation()
    test = final_val(config, on_test, [500_000 + base + s for s in range(TEST_SEEDS)])
    return {"series": name, "i": i, "config": config, "val_seeds": seeds,
            "val_periods": [seeds[0], *earlier], "test": float(np.mean(test)),
            "test_runs": test}


def scores(rows: list[dict]) -> dict[str, np.ndarray]:
    return {"one run": np.array([r["val_seeds"][0] for r in rows]),
            "3 seeds": np.array([np.mean(r["val_seeds"]) for r in rows]),
            "3 periods": np.array([np.mean(r["val_periods"]) for r in rows])}


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of the ranks they span."""
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # 0-based rank where each distinct value starts
    return (first + (counts + 1) / 2.0)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's on average ranks."""
    return float(np.corrcoef(average_ranks(np.asarray(a)), average_ranks(np.asarray(b)))[0, 1])


def simulate(score: np.ndarray, test: np.ndarray, m: int, rng: np.random.Generator
             ) -> tuple[float, float]:
    """(mean test loss of the pick, mean regret) over DRAWS searches of m configurations."""
    picks, regrets = [], []
    for _ in range(DRAWS):
        drawn = rng.choice(len(test), size=min(m, len(test)), replace=False)
        pick = test[drawn[np.argmin(score[drawn])]]
        picks.append(pick)
        regrets.append(pick - test[drawn].min())
    return float(np.mean(picks)), float(np.mean(regrets))


def summarize(rows: list[dict], m: int) -> str:
    lines = [f"| series | score | Spearman with test | test loss of the pick (M={m}) | regret |",
             "|---|---|---|---|---|"]
    for name in SERIES:
        rs = [r for r in rows if r["series"] == name]
        if not rs:
            continue
        test = np.array([r["test"] for r in rs])
        by = scores(rs)
        rng = np.random.default_rng(0)
        for label, score in by.items():
            pick, regret = simulate(score, test, m, rng)
            rho = spearman(score, test)
            lines.append(f"| {name} | {label} | {rho:.3f} | {pick:.4f} | {regret:.4f} |")
        pick, regret = simulate(by["one run"], test, PERIODS * m, rng)
        lines.append(f"| {name} | one run, equal compute (M={PERIODS * m}) | | {pick:.4f} | "
                     f"{regret:.4f} |")
        lines.append(f"| {name} | (best of all {len(rs)}; median) | | {test.min():.4f}; "
                     f"{np.median(test):.4f} | |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: sunspots, 4 configurations")
    p.add_argument("--configs", type=int, default=48, help="configurations per series")
    p.add_argument("--draw", type=int, default=10, help="configurations per simulated search")
    p.add_argument("--seed", type=int, default=0, help="seed of the configurations' draw")
    p.add_argument("--series", nargs="+", default=list(SERIES), choices=list(SERIES))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", help="also write every configuration's row as JSON here")
    args = p.parse_args()
    space = SPACE
    if args.quick:
        args.configs, args.draw, args.series = 4, 2, ["sunspots"]
        space = dataclasses.replace(SPACE, epochs=IntRange(5, 10, step=5),
                                    batch_size=1024)  # one step an epoch
    if args.configs < 2 or args.draw < 1:
        p.error("--configs must be at least 2 and --draw at least 1")
    start = time.perf_counter()
    drawn = configs(args.configs, args.seed, space)
    rows = Parallel(n_jobs=args.jobs)(delayed(measure)(name, i, c) for name in args.series
                                      for i, c in enumerate(drawn))
    print(f"# bench_selection: {args.configs} configurations x {len(args.series)} series, "
          f"{args.jobs} processes x 1 torch thread on "
          f"{platform.processor() or platform.machine()}; {time.perf_counter() - start:.0f} s")
    print(summarize(rows, args.draw))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
