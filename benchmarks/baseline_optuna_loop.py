"""How LSTM sweeps are written today vs sweeper, on the same seed_toy sweep.

Baseline: Optuna's TPE sampler and a plain PyTorch loop (nn.LSTM + Dropout + Linear, Adam) that
repeats each trial's configuration R times, one run after another, and returns the mean final
validation loss. sweeper: the seed_toy study with the same trials, repeats and epochs (pruning
and degradation stopping off, so both train every epoch), and once more with the study's own
pruner and degradation stopping. Prints trials per minute and the ratio, measured in one run.

    python benchmarks/baseline_optuna_loop.py [--n-trials 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time
from pathlib import Path

import optuna
import torch
import torch.nn.functional as F
from plain_lstm import PlainLSTM  # benchmarks/, beside this script

from sweeper.space import suggest
from sweeper.spec import load_study_file
from sweeper.sweep import run_sweep
from sweeper.windows import prepare

ROOT = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser()
p.add_argument("--n-trials", type=int, default=20)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--threads", type=int, default=1)
args = p.parse_args()
torch.set_num_threads(args.threads)
optuna.logging.set_verbosity(optuna.logging.ERROR)

spec = load_study_file(ROOT / "studies" / "seed_toy.py").override(
    n_trials=args.n_trials, repeats=args.repeats)
windows = prepare(spec.data)
tx, ty, vx, vy = (torch.from_numpy(a) for a in
                  (windows.train_x, windows.train_y, windows.val_x, windows.val_y))




def baseline_objective(trial: optuna.Trial) -> float:
    cfg = suggest(trial, spec.space)
    finals = []
    for r in range(args.repeats):
        torch.manual_seed(1000 * trial.number + r)
        net = PlainLSTM(cfg["hidden"], cfg["layers"], cfg["dropout"])
        opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        for _ in range(cfg["epochs"]):
            net.train()
            opt.zero_grad()
            loss = F.mse_loss(net(tx), ty)  # the 5 training pairs are one batch
            loss.backward()
            opt.step()
            net.eval()
            with torch.no_grad():
                val = F.mse_loss(net(vx), vy).item()
        finals.append(val)
    return sum(finals) / len(finals)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


print(f"# seed_toy sweep, {args.n_trials} trials x {args.repeats} repeats, epochs "
      f"{spec.space.epochs.low}-{spec.space.epochs.high}, TPE seed {spec.seed}, cpu, torch "
      f"threads {torch.get_num_threads()}, {platform.machine()}, torch {torch.__version__}")
base = timed(lambda: optuna.create_study(sampler=optuna.samplers.TPESampler(seed=spec.seed))
             .optimize(baseline_objective, n_trials=args.n_trials))
same = dataclasses.replace(spec, pruner="none", patience=None)
equal = timed(lambda: run_sweep(same, windows, torch.device("cpu"), ":memory:",
                                out=lambda s: None, progress=False))
full = timed(lambda: run_sweep(spec, windows, torch.device("cpu"), ":memory:",
                               out=lambda s: None, progress=False))
rows = [("Optuna TPE + plain loop, repeats in turn", base),
        ("sweeper, same epochs (no pruning, no early stop)", equal),
        ("sweeper, study defaults (median pruner, degradation stop)", full)]
print(f"{'':58s} {'seconds':>8s} {'trials/min':>11s} {'vs baseline':>12s}")
for name, seconds in rows:
    print(f"{name:58s} {seconds:8.1f} {60 * args.n_trials / seconds:11.1f} "
          f"{base / seconds:11.2f}x")
