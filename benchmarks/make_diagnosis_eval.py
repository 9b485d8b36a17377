"""Build the diagnosis evaluation set from real training runs (see RESULTS.md for the rule).

Plain PyTorch LSTMs (nn.LSTM + Dropout + Linear, minibatch Adam or SGD) are trained on the
bundled sunspots, monthly CO2 (as month-to-month differences) and El Nino series (60/20/20
train/validation/test in time order) and on the tutorial's toy problem with five test pairs
inside its validation range. Each run trains 3E epochs and records train, validation and test
loss per epoch; the diagnosis later sees only the first E epochs of train and validation. Per
series a strong reference (best validation of a grid of larger models, at its validation
minimum) is stored.

Writes benchmarks/data/diagnosis_eval.npz, the development set (about 6 minutes on 2 cores).
The held-out set is the same recipe with other configurations and seeds:

    python benchmarks/make_diagnosis_eval.py [--configs 12] [--seeds 3] [--jobs 2]
    python benchmarks/make_diagnosis_eval.py --seed 2027 --first-seed 100 \
        --out benchmarks/data/diagnosis_holdout.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from joblib import Parallel, delayed
from plain_lstm import PlainLSTM  # benchmarks/, beside this script

from sweeper import Data
from sweeper.data import load_series, make_windows

OUT = Path(__file__).resolve().parent / "data" / "diagnosis_eval.npz"
SERIES = {"sunspots": 11, "co2": 12, "elnino": 12}  # name -> window
TOY_SERIES = [round(0.1 * i, 1) for i in range(11)]  # 0.0 ... 1.0: the tutorial's 10 pairs
# Test pairs between the validation pairs (0.5->0.6 ... 0.9->1.0): data like the validation
# data that no run saw, rather than an extrapolation further out.
TOY_TEST_X = [0.55, 0.65, 0.75, 0.85, 0.95]
# The tutorial's configurations: (name, hidden, optimizer, lr, loss, epochs).
TUTORIAL = [("tutorial-100", 10, "adam", 1e-3, "mse", 100),
            ("tutorial-lstm1-sgd-mae", 1, "sgd", 1e-2, "mae", 300),
            ("tutorial-800", 10, "adam", 1e-3, "mse", 800),
            ("tutorial-1200", 10, "adam", 1e-3, "mse", 1200),
            ("tutorial-300", 10, "adam", 1e-3, "mse", 300)]




def windows_for(name: str):
    if name == "toy":
        series = np.array(TOY_SERIES)
        # 10 pairs: 5 train, 5 validation, unscaled, as in the tutorial; then the test pairs.
        w = make_windows(series, Data(source=series, window=1, val_fraction=0.5,
                                      test_fraction=0.0, scale="none"), "toy")
        x = np.array(TOY_TEST_X, dtype=np.float32)
        return dataclasses.replace(w, test_x=x[:, None, None], test_y=(x + 0.1)[:, None])
    series, _ = load_series(Data(source=name))
    if name == "co2":
        # Month-to-month changes: the level's trend would put the test years outside anything
        # the training years show, and every model would fail there alike.
        series = np.diff(series)
    data = Data(source=series, window=SERIES[name], val_fraction=0.2, test_fraction=0.2)
    return make_windows(series, data, name)


def train_run(name: str, cfg: dict, seed: int, n_epochs: int) -> dict:
    torch.set_num_threads(1)
    w = windows_for(name)
    tx, ty, vx, vy, sx, sy = (torch.from_numpy(a) for a in
                              (w.train_x, w.train_y, w.val_x, w.val_y, w.test_x, w.test_y))
    torch.manual_seed(seed)
    net = PlainLSTM(cfg["hidden"], cfg["layers"], cfg["dropout"])
    opt_cls = torch.optim.Adam if cfg["optimizer"] == "adam" else torch.optim.SGD
    opt = opt_cls(net.parameters(), lr=cfg["lr"])
    loss_fn = F.mse_loss if cfg["loss"] == "mse" else F.l1_loss
    n, b = len(ty), cfg["batch_size"]
    curves = np.full((3, n_epochs), np.nan, dtype=np.float32)
    for epoch in range(n_epochs):
        net.train()
        order = torch.randperm(n) if cfg["shuffle"] else torch.arange(n)
        total = 0.0
        for i in range(0, n, b):
            idx = order[i:i + b]
            opt.zero_grad()
            loss = loss_fn(net(tx[idx]), ty[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        net.eval()
        with torch.no_grad():
            curves[:, epoch] = (total / n, loss_fn(net(vx), vy).item(),
                                loss_fn(net(sx), sy).item())
        if not np.isfinite(curves[:, epoch]).all():
            break
    return {"series": name, "config": cfg, "seed": seed, "curves": curves,
            "baseline": w.baseline(cfg["loss"])}


def sample_configs(rng: np.random.Generator, n: int) -> list[dict]:
    configs = []
    for _ in range(n):
        optimizer = "sgd" if rng.random() < 0.2 else "adam"
        lr = float(rng.choice([1e-4, 3e-4, 1e-3, 3e-3, 1e-2]))
        configs.append({
            "hidden": int(rng.choice([2, 4, 8, 16, 32, 64])), "layers": int(rng.integers(1, 3)),
            "dropout": float(rng.choice([0.0, 0.2, 0.5])), "optimizer": optimizer,
            "lr": lr * (10 if optimizer == "sgd" else 1), "loss": "mse", "batch_size": 32,
            "shuffle": True, "epochs": int(rng.choice([15, 40, 100, 200])),
        })
    return configs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--configs", type=int, default=12, help="random configs per series")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--toy-seeds", type=int, default=10)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--seed", type=int, default=2026, help="draws the random configurations")
    p.add_argument("--first-seed", type=int, default=0, help="first training seed of each config")
    p.add_argument("--ref-sizes", type=int, default=2, help="hidden sizes in the reference grid")
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    toy_seeds = range(args.first_seed, args.first_seed + args.toy_seeds)
    jobs = []  # (kind, series, config, seed, epochs trained)
    for name in SERIES:
        for cfg in sample_configs(rng, args.configs):
            jobs += [("run", name, cfg, s, 3 * cfg["epochs"]) for s in seeds]
        for hidden in (32, 64)[: args.ref_sizes]:  # the strong reference grid
            for lr in (1e-3, 3e-3):
                ref = {"hidden": hidden, "layers": 2, "dropout": 0.2, "optimizer": "adam",
                       "lr": lr, "loss": "mse", "batch_size": 32, "shuffle": True,
                       "epochs": 300}
                jobs += [("reference", name, ref, s, 300) for s in range(2)]
    for tag, hidden, optimizer, lr, loss, epochs in TUTORIAL:
        cfg = {"name": tag, "hidden": hidden, "layers": 1, "dropout": 0.0,
               "optimizer": optimizer, "lr": lr, "loss": loss, "batch_size": 32,
               "shuffle": False, "epochs": epochs}
        jobs += [("run", "toy", cfg, s, 3 * epochs) for s in toy_seeds]
    for loss in ("mse", "mae"):  # toy reference: the tutorial's model, trained long
        cfg = {"hidden": 10, "layers": 1, "dropout": 0.0, "optimizer": "adam", "lr": 1e-3,
               "loss": loss, "batch_size": 32, "shuffle": False, "epochs": 2000}
        jobs += [("reference", "toy", cfg, s, 2000) for s in range(2)]

    t0 = time.perf_counter()
    # Longest first, so the workers finish together.
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][4])
    out = Parallel(n_jobs=args.jobs, verbose=5)(
        delayed(train_run)(jobs[i][1], jobs[i][2], jobs[i][3], jobs[i][4]) for i in order)
    results = [None] * len(jobs)
    for i, r in zip(order, out, strict=True):
        results[i] = r
    runs = [(j, r) for j, r in zip(jobs, results, strict=True) if j[0] == "run"]
    refs = [(j, r) for j, r in zip(jobs, results, strict=True) if j[0] == "reference"]
    n_max = max(r["curves"].shape[1] for _, r in runs)
    curves = np.full((len(runs), 3, n_max), np.nan, dtype=np.float32)
    for i, (_, r) in enumerate(runs):
        curves[i, :, : r["curves"].shape[1]] = r["curves"]
    # Reference per (series, loss): the best validation minimum, with its test loss there.
    reference: dict[str, list[float]] = {}
    for (_, name, cfg, _, _), r in refs:
        val, test = r["curves"][1], r["curves"][2]
        if not np.isfinite(val).any():
            continue
        b = int(np.nanargmin(val))
        key = f"{name}/{cfg['loss']}"
        if key not in reference or val[b] < reference[key][0]:
            reference[key] = [float(val[b]), float(test[b])]
    meta = [{"series": name, "config": cfg, "seed": seed, "epochs": cfg["epochs"],
             "baseline": r["baseline"]} for (_, name, cfg, seed, _), r in runs]
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_path, curves=curves, meta=json.dumps(meta),
                        reference=json.dumps(reference))
    print(f"{len(runs)} runs, {len(refs)} reference runs in {time.perf_counter() - t0:.0f} s "
          f"-> {out_path}")


if __name__ == "__main__":
    main()
