"""What keeping the delivered model costs a sweep: best-epoch checkpoints and model files.

For configurations drawn from studies/sunspots.py's space, each trial's 3 repeats train as the
sweep trains them (automatic engine, degradation stopping), once with every repeat keeping its
best-validation weights (sweeper as it is) and once with that copy switched off, alternating
the order each round. Then what the sweep does with a completed trial's checkpoints is timed:
the delivered model's validation loss (the repeats rebuilt, predictions averaged), the model
file written, and its size.

    python benchmarks/bench_checkpoints.py            # 8 configurations, 3 rounds
    python benchmarks/bench_checkpoints.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import optuna
import torch

from sweeper.delivery import DeliveredModel
from sweeper.modelfile import meta_for, to_bytes
from sweeper.space import suggest
from sweeper.spec import load_study_file
from sweeper.train import SequentialEngine, VectorizedEngine, train_repeats
from sweeper.windows import prepare

STUDY = Path(__file__).resolve().parent.parent / "studies" / "sunspots.py"


@contextmanager
def no_checkpoints():
    """Training exactly as before checkpoints: the per-epoch copy of improved weights is off."""
    saved = SequentialEngine.snapshot, VectorizedEngine.snapshot
    SequentialEngine.snapshot = VectorizedEngine.snapshot = lambda self, improved: None
    try:
        yield
    finally:
        SequentialEngine.snapshot, VectorizedEngine.snapshot = saved


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    spec = load_study_file(STUDY)
    if args.quick:  # one configuration of a few epochs: every step once
        args.configs, args.rounds = 1, 1
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    windows = prepare(spec.data, STUDY.parent)
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = [suggest(sampler.ask(), spec.space) for _ in range(args.configs)]
    if args.quick:
        configs = [{**c, "epochs": 5} for c in configs]
    seeds = [11, 12, 13]
    cpu = torch.device("cpu")
    print(f"# bench_checkpoints: sunspots, {len(configs)} configurations x 3 repeats, "
          f"{args.rounds} rounds, 1 torch thread on {platform.processor() or platform.machine()}")
    print("| config | engine | train s with / without checkpoints (median) | with / without | "
          "model file and delivered validation s | of the trial | file MB |")
    print("|---|---|---|---|---|---|---|")
    ratios, shares = [], []
    for i, config in enumerate(configs):
        def run(config=config):
            return train_repeats(config, windows, seeds, cpu, patience=spec.patience,
                                 min_rise=spec.min_rise)
        run()  # warm-up, and the engine choice for this shape
        with_s, without_s = [], []
        for r in range(args.rounds):
            for keep in ((True, False) if r % 2 == 0 else (False, True)):
                t0 = time.perf_counter()
                if keep:
                    result = run()
                else:
                    with no_checkpoints():
                        run()
                (with_s if keep else without_s).append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        meta = meta_for("sunspots", i, config, spec.data, windows.task, seeds,
                        [int(e) for e in result.best_epoch])
        DeliveredModel(meta, result.states).losses_on(windows, "val")
        content = to_bytes(meta, result.states)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "model.pt").write_bytes(content)
        model_s = time.perf_counter() - t0
        w, wo = float(np.median(with_s)), float(np.median(without_s))
        ratios.append(w / wo)
        shares.append(model_s / (w + model_s))
        print(f"| h{config['hidden']} x{config['layers']}, {config['epochs']} epochs | "
              f"{result.engine['engine']} | {w:.2f} / {wo:.2f} | {w / wo:.3f} | {model_s:.3f} | "
              f"{model_s / (w + model_s):.1%} | {len(content) / 1e6:.3f} |")
    print(f"\nmedian over configurations: training with / without checkpoints "
          f"{np.median(ratios):.3f}; model file and delivered validation {np.median(shares):.1%}"
          f" of a trial; together about {np.median(ratios) - 1 + np.median(shares):+.1%}")


if __name__ == "__main__":
    main()
