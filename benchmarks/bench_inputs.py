"""What several inputs and a 24-step horizon cost a repeat-epoch, against one input.

An hourly frame of about 10,000 windows: a load target, two past covariates (temperature,
humidity) and two future covariates (hour of day, holiday), a window of 48 hours and a horizon of
24 forecast at once. The same model (hidden 32, 1 layer, batch 64) trains on it twice per round:
reading all five columns with the future covariates of the 24 forecast steps at its head, and
reading the target alone. Both forecast 24 steps. Median seconds per repeat-epoch over rounds,
alternating the order, and their ratio in the same run.

    python benchmarks/bench_inputs.py            # 3 repeats, 2 epochs, 3 rounds
    python benchmarks/bench_inputs.py --quick    # smoke run on a small frame
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
import torch

from sweeper import Data
from sweeper.train import train_repeats
from sweeper.windows import prepare


def frame(n_hours: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = pd.date_range("2020-01-01", periods=n_hours, freq="h")
    hour = t.hour.to_numpy()
    temp = 10 + 8 * np.sin(2 * np.pi * np.arange(n_hours) / (24 * 365)) + rng.normal(0, 1, n_hours)
    humidity = 60 + 10 * np.sin(2 * np.pi * (hour - 5) / 24) + rng.normal(0, 3, n_hours)
    holiday = (t.day_of_week >= 5).astype(int)
    load = 100 + 15 * np.sin(2 * np.pi * (hour - 18) / 24) - 1.5 * temp - 10 * holiday + \
        rng.normal(0, 2, n_hours)
    return pd.DataFrame({"time": t, "load": load, "temperature": temp, "humidity": humidity,
                         "hour": hour, "holiday": holiday})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=int, default=10_000 + 48 + 24 - 1 + 2500,
                   help="rows: about 10,000 training windows, the rest validate")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.hours, args.repeats, args.epochs, args.rounds = 400, 1, 1, 1
    torch.set_num_threads(1)
    data = frame(args.hours)
    common = {"source": data, "time": "time", "target": "load", "window": 48, "horizon": 24}
    variants = {
        "5 inputs, future covariates at the head": prepare(Data(
            **common, past_covariates=["temperature", "humidity"],
            future_covariates=["hour", "holiday"])),
        "1 input": prepare(Data(**common)),
    }
    config = {"hidden": 32, "layers": 1, "dropout": 0.0, "weight_decay": 0.0, "lr": 1e-3,
              "batch_size": 64, "optimizer": "adamw", "loss": "mse", "init": "keras",
              "shuffle": True, "epochs": args.epochs}
    seeds = list(range(args.repeats))
    cpu = torch.device("cpu")
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    engines = {}
    for name, windows in variants.items():  # warm-up and the engine choice per shape
        engines[name] = train_repeats({**config, "epochs": 1}, windows, seeds, cpu,
                                      patience=None).engine["engine"]
    for r in range(args.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            t0 = time.perf_counter()
            train_repeats(config, variants[name], seeds, cpu, patience=None)
            seconds[name].append((time.perf_counter() - t0) / (args.epochs * args.repeats))
    w = variants["1 input"]
    print(f"# bench_inputs: {w.n_train} training and {w.n_val} validation windows, window 48, "
          f"horizon 24, hidden 32, batch 64, {args.repeats} repeats x {args.epochs} epochs, "
          f"{args.rounds} rounds, 1 torch thread on {platform.processor() or platform.machine()}")
    print("| inputs | engine | s per repeat-epoch (median) | rounds |")
    print("|---|---|---|---|")
    for name, values in seconds.items():
        print(f"| {name} | {engines[name]} | {np.median(values):.3f} | "
              f"{', '.join(f'{v:.3f}' for v in values)} |")
    ratio = np.median(seconds["5 inputs, future covariates at the head"]) / \
        np.median(seconds["1 input"])
    print(f"\n5 inputs / 1 input: {ratio:.3f}")


if __name__ == "__main__":
    main()
