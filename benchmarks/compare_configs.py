"""The tutorial's configurations side by side, each trained R times with sweeper's engine.

On the tutorial's toy problem (y = x + 0.1; 5 training pairs, the next 5 for validation), each
configuration trains R seeded repeats for its full epoch count (no early stopping, as the
tutorial trains), and every repeat is diagnosed. The table gives, per configuration: the label
counts across repeats, the final validation loss (mean of the last 5 epochs) mean ± std over
repeats, the mean gap (validation - training), the median best epoch, and the wall time. The
tutorial's multiple-runs figure (every repeat's train and validation curves, one panel per
configuration) is saved as a PNG.

    python benchmarks/compare_configs.py [--repeats 10] [--device cpu] [--out compare.png]
    python benchmarks/compare_configs.py --quick    # smoke run: 2 repeats, a tenth of the epochs
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from sweeper import Data, Space
from sweeper.diagnosis import diagnose_run
from sweeper.objective import score
from sweeper.plots import curve_figure_data, draw_multiple_runs, save_png
from sweeper.space import suggest
from sweeper.train import resolve_device, train_repeats
from sweeper.trial import derive_seeds
from sweeper.windows import prepare

# The tutorial's models: LSTM(hidden) + Dense(1), full batch, no shuffling, Keras defaults
# (Adam lr 1e-3, SGD lr 1e-2).
TUTORIAL = {"layers": 1, "dropout": 0.0, "weight_decay": 0.0, "lr": 1e-3, "batch_size": 5,
            "optimizer": "adam", "loss": "mse", "shuffle": False}
CONFIGS = {
    "100 epochs": {"hidden": 10, "epochs": 100},
    "LSTM(1), sgd, mae, 300 epochs": {"hidden": 1, "epochs": 300, "optimizer": "sgd",
                                      "lr": 1e-2, "loss": "mae"},
    "800 epochs": {"hidden": 10, "epochs": 800},
    "1200 epochs": {"hidden": 10, "epochs": 1200},
    "multiple runs (300 epochs)": {"hidden": 10, "epochs": 300},
}


def config_of(changes: dict) -> dict:
    """Every setting of one configuration: sweeper's defaults, the tutorial's, then its own."""
    return suggest(None, Space(**{**TUTORIAL, **changes}))  # all fixed: no trial is asked


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="compare_configs.png", help="the multiple-runs figure")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 repeats, each configuration at a tenth of its epochs")
    args = p.parse_args()
    if args.quick:
        args.repeats = 2
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    torch.set_num_threads(1)
    device = resolve_device(args.device)
    windows = prepare(Data.toy())
    print(f"# tutorial configurations, {args.repeats} repeats each, on {device} "
          f"({platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread)"
          + ("; quick: each configuration at a tenth of its epochs" if args.quick else ""))
    header = (f"{'configuration':32s} {'labels across repeats':32s} {'val loss mean ± std':>20s}"
              f" {'gap':>8s} {'best ep':>7s} {'time':>7s}")
    print(header)
    print("-" * len(header))
    panels = []
    for i, (name, changes) in enumerate(CONFIGS.items()):
        config = config_of(changes)
        if args.quick:
            config["epochs"] = max(1, config["epochs"] // 10)
        seeds = derive_seeds(args.seed, i, args.repeats)
        start = time.perf_counter()
        result = train_repeats(config, windows, seeds, device, patience=None)
        seconds = time.perf_counter() - start
        baseline = windows.baseline(config["loss"])
        curves = [result.curve(r) for r in range(args.repeats)]
        runs = [diagnose_run(t, v, baseline=baseline, grad_norm=result.signals(r)[0])
                for r, (t, v) in enumerate(curves)]
        labels = Counter(d.label.value for d in runs)
        # Each repeat's parts as sweeper scores them (gap: training loss with dropout off).
        parts = [score([v], result.train_fit[r:r + 1], 0.0) for r, (_, v) in enumerate(curves)]
        val = np.array([s.val_loss for s in parts])
        gap = np.array([s.gap for s in parts])
        best = [d.evidence.get("best_epoch") for d in runs if d.evidence.get("best_epoch")]
        print(f"{name:32s} {', '.join(f'{n} {lbl}' for lbl, n in labels.most_common()):32s} "
              f"{val.mean():>10.4g} ± {val.std():<8.2g} {gap.mean():>8.3g} "
              f"{int(np.median(best)) if best else '-':>7} {seconds:>6.1f}s")
        panels.append(curve_figure_data([t for t, _ in curves], [v for _, v in curves],
                                        title=name, label=labels.most_common(1)[0][0]))
    out = save_png(draw_multiple_runs(panels, f"The tutorial's configurations, "
                                              f"{args.repeats} repeats each"), Path(args.out))
    print(f"\nmultiple-runs figure: {out}")


if __name__ == "__main__":
    main()
