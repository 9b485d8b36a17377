"""Build the diagnosis evaluation set from real training runs (see RESULTS.md for the rule).

Plain PyTorch LSTMs (nn.LSTM + Dropout + Linear, minibatch Adam or SGD) are trained on the
bundled sunspots, monthly CO2 (as month-to-month differences) and El Nino series (60/20/20
train/validation/test in time order) and on the tutorial's toy problem with five test pairs
inside its validation range. Each run trains 3E epochs and records train, validation and test
loss per epoch; the diagnosis later sees only the first E epochs of train and validation. Per
series a strong reference (best validation of a grid of larger models, at its validation
minimum) is stored.

What rule v3 (RESULTS.md) also asks about is stored beside the runs:
- five configurations per series from the cases a diagnosis finds hard (plain SGD at a very
  small learning rate, 5-epoch runs, heavy dropout with large weight decay, a 2-unit model, a
  model trained on a small slice of the training windows), each with its own seeds; their meta
  says which case they are;
- every configuration's "better optimized" twins: the same model trained E epochs with Adam at
  learning rates 1e-3 and 3e-3 (`twin_curves`, `twin_meta`);
- the reference grid's full curves, which are the same for every set and so are trained once
  into benchmarks/data/diagnosis_grid.npz.

Writes benchmarks/data/diagnosis_eval.npz, the development set (about 16 minutes on one core,
plus 5 for the grid the first time). The held-out sets are the same recipe with other
configurations and seeds (about 45 minutes each on one core). `--extend FILE` adds the case
configurations and the twins to a set built before they existed, leaving its runs as they were:

    python benchmarks/make_diagnosis_eval.py [--configs 12] [--seeds 3] [--jobs 2]
    python benchmarks/make_diagnosis_eval.py --seed 2027 --first-seed 100 --configs 24 \
        --out benchmarks/data/diagnosis_holdout.npz
    python benchmarks/make_diagnosis_eval.py --extend benchmarks/data/diagnosis_holdout.npz \
        --seed 2027 --first-seed 100
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from joblib import Parallel, delayed
from plain_lstm import PlainLSTM  # benchmarks/, beside this script

from sweeper import Data
from sweeper.frames import load_series
from sweeper.windows import make_windows

OUT = Path(__file__).resolve().parent / "data" / "diagnosis_eval.npz"
GRID = Path(__file__).resolve().parent / "data" / "diagnosis_grid.npz"
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
# "The same configuration better optimized": Adam at the learning rates the reference grid
# uses, which train every model here well.
TWIN_LRS = (1e-3, 3e-3)
# A small slice: the most recent fifth of the training windows (the ones next to validation).
SLICE = 0.2


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
    fraction = cfg.get("train_fraction", 1.0)
    if fraction < 1.0:
        keep = max(1, round(fraction * len(ty)))
        tx, ty = tx[-keep:], ty[-keep:]
    torch.manual_seed(seed)
    net = PlainLSTM(cfg["hidden"], cfg["layers"], cfg["dropout"])
    opt_cls = torch.optim.Adam if cfg["optimizer"] == "adam" else torch.optim.SGD
    opt = opt_cls(net.parameters(), lr=cfg["lr"], weight_decay=cfg.get("weight_decay", 0.0))
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


def case_configs(rng: np.random.Generator) -> list[tuple[str, dict]]:
    """One configuration per hard case, as (case, config); what the case does not fix is drawn
    as sample_configs draws it."""
    def base(**fixed) -> dict:
        cfg = sample_configs(rng, 1)[0]
        cfg.update(fixed)
        return cfg

    def pick(options: list) -> Any:
        return options[int(rng.integers(len(options)))]

    return [
        ("small-lr-sgd", base(optimizer="sgd", lr=pick([3e-4, 1e-3]),
                              epochs=pick([40, 100, 200]))),
        ("5-epochs", base(optimizer="adam", lr=pick([1e-3, 3e-3]), epochs=5)),
        ("heavy-regularization", base(optimizer="adam", lr=pick([1e-3, 3e-3]), dropout=0.5,
                                      weight_decay=pick([1e-2, 3e-2]),
                                      hidden=pick([16, 32, 64]), epochs=pick([40, 100, 200]))),
        ("2-units", base(optimizer="adam", lr=pick([1e-3, 3e-3]), hidden=2,
                         epochs=pick([40, 100, 200]))),
        ("small-slice", base(optimizer="adam", lr=pick([1e-3, 3e-3]), train_fraction=SLICE,
                             hidden=pick([32, 64]), dropout=pick([0.0, 0.2]),
                             epochs=pick([100, 200]))),
    ]


def twin_config(cfg: dict, lr: float) -> dict:
    """The same model, data slice, regularization, batch and loss, optimized with Adam at lr."""
    return {**cfg, "optimizer": "adam", "lr": lr}


def grid_jobs() -> list[tuple]:
    """The strong reference grid, per series and loss: (kind, series, config, seed, epochs)."""
    jobs = []
    for name in SERIES:
        for hidden in (32, 64):
            for lr in (1e-3, 3e-3):
                ref = {"hidden": hidden, "layers": 2, "dropout": 0.2, "optimizer": "adam",
                       "lr": lr, "loss": "mse", "batch_size": 32, "shuffle": True,
                       "epochs": 300}
                jobs += [("grid", name, ref, s, 300) for s in range(2)]
    for loss in ("mse", "mae"):  # toy reference: the tutorial's model, trained long
        cfg = {"hidden": 10, "layers": 1, "dropout": 0.0, "optimizer": "adam", "lr": 1e-3,
               "loss": loss, "batch_size": 32, "shuffle": False, "epochs": 2000}
        jobs += [("grid", "toy", cfg, s, 2000) for s in range(2)]
    return jobs


def run_all(jobs: list[tuple], n_jobs: int) -> list[dict]:
    """Train every (kind, series, config, seed, epochs) job; results in the jobs' order."""
    # Longest first, so the workers finish together.
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][4])
    out = Parallel(n_jobs=n_jobs, verbose=5)(
        delayed(train_run)(jobs[i][1], jobs[i][2], jobs[i][3], jobs[i][4]) for i in order)
    results: list[dict] = [{}] * len(jobs)
    for i, r in zip(order, out, strict=True):
        results[i] = r
    return results


def stack(results: list[dict], width: int = 0) -> np.ndarray:
    """Curves of different lengths as one array (n, 3, longest), NaN after each run's end."""
    width = max([width] + [r["curves"].shape[1] for r in results])
    curves = np.full((len(results), 3, width), np.nan, dtype=np.float32)
    for i, r in enumerate(results):
        curves[i, :, : r["curves"].shape[1]] = r["curves"]
    return curves


def load_grid(path: Path, n_jobs: int) -> tuple[np.ndarray, list[dict]]:
    """The reference grid's curves and meta, trained once into `path` (the same for every set)."""
    if path.is_file():
        d = np.load(path)
        return d["curves"], json.loads(str(d["meta"]))
    jobs = grid_jobs()
    results = run_all(jobs, n_jobs)
    meta = [{"series": name, "config": cfg, "seed": seed, "epochs": epochs}
            for _, name, cfg, seed, epochs in jobs]
    curves = stack(results)
    save(path, curves=curves, meta=json.dumps(meta))
    return curves, meta


def v2_reference(curves: np.ndarray, meta: list[dict]) -> dict[str, list[float]]:
    """Rules v1 and v2's reference per (series, loss): the grid run with the lowest validation
    loss at any one epoch, with its test loss there."""
    reference: dict[str, list[float]] = {}
    for c, m in zip(curves, meta, strict=True):
        val, test = c[1], c[2]
        if not np.isfinite(val).any():
            continue
        b = int(np.nanargmin(val))
        key = f"{m['series']}/{m['config']['loss']}"
        if key not in reference or val[b] < reference[key][0]:
            reference[key] = [float(val[b]), float(test[b])]
    return reference


def save(path: Path, **arrays) -> None:
    """Write an .npz whole or not at all (an interrupted run leaves the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--configs", type=int, default=12, help="random configs per series")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--toy-seeds", type=int, default=10)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--seed", type=int, default=2026, help="draws the random configurations")
    p.add_argument("--first-seed", type=int, default=0, help="first training seed of each config")
    p.add_argument("--extend", metavar="FILE",
                   help="add the hard cases and the twins to a set made without them")
    p.add_argument("--grid", default=str(GRID), help="the reference grid's curves (made once)")
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    case_rng = np.random.default_rng([args.seed, 1])  # apart, so the random configs stay put
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    toy_seeds = range(args.first_seed, args.first_seed + args.toy_seeds)
    t0 = time.perf_counter()
    grid_curves, grid_meta = load_grid(Path(args.grid), args.jobs)

    if args.extend:
        out_path = Path(args.extend)
        d = np.load(out_path)
        curves, meta = d["curves"], json.loads(str(d["meta"]))
        reference = json.loads(str(d["reference"]))
        if any("case" in m for m in meta):
            p.error(f"{out_path} already has the hard cases and twins.")
        for m in meta:
            m["case"] = "tutorial" if m["series"] == "toy" else "random"
    else:
        out_path = Path(args.out)
        jobs = []  # (kind, series, config, seed, epochs trained)
        for name in SERIES:
            for cfg in sample_configs(rng, args.configs):
                jobs += [("random", name, cfg, s, 3 * cfg["epochs"]) for s in seeds]
        for tag, hidden, optimizer, lr, loss, epochs in TUTORIAL:
            cfg = {"name": tag, "hidden": hidden, "layers": 1, "dropout": 0.0,
                   "optimizer": optimizer, "lr": lr, "loss": loss, "batch_size": 32,
                   "shuffle": False, "epochs": epochs}
            jobs += [("tutorial", "toy", cfg, s, 3 * epochs) for s in toy_seeds]
        results = run_all(jobs, args.jobs)
        curves = stack(results)
        meta = [{"series": name, "config": cfg, "seed": seed, "epochs": cfg["epochs"],
                 "baseline": r["baseline"], "case": kind}
                for (kind, name, cfg, seed, _), r in zip(jobs, results, strict=True)]
        reference = v2_reference(grid_curves, grid_meta)

    case_jobs = [(case, name, cfg, s, 3 * cfg["epochs"])
                 for name in SERIES for case, cfg in case_configs(case_rng) for s in seeds]
    case_results = run_all(case_jobs, args.jobs)
    curves = stack([{"curves": c} for c in curves] + case_results)
    meta += [{"series": name, "config": cfg, "seed": seed, "epochs": cfg["epochs"],
              "baseline": r["baseline"], "case": case}
             for (case, name, cfg, seed, _), r in zip(case_jobs, case_results, strict=True)]

    # Every run's twins: the same seed, so they differ from it by the optimizer alone. A twin
    # whose optimizer is the run's own is the run itself, and is copied rather than retrained.
    twin_meta, twin_jobs, copies = [], [], {}
    for i, m in enumerate(meta):
        for lr in TWIN_LRS:
            twin_meta.append({"run": i, "lr": lr})
            cfg = m["config"]
            if cfg["optimizer"] == "adam" and cfg["lr"] == lr:
                copies[len(twin_meta) - 1] = i
            else:
                twin_jobs.append(("twin", m["series"], twin_config(cfg, lr), m["seed"],
                                  m["epochs"]))
    trained = iter(run_all(twin_jobs, args.jobs))
    twin_curves = stack([{"curves": curves[copies[t], :, : meta[copies[t]]["epochs"]]}
                         if t in copies else next(trained) for t in range(len(twin_meta))])
    save(out_path, curves=curves, meta=json.dumps(meta), reference=json.dumps(reference),
         twin_curves=twin_curves, twin_meta=json.dumps(twin_meta))
    print(f"{len(meta)} runs ({len(case_jobs)} of hard cases), {len(twin_meta)} twins "
          f"({len(twin_jobs)} trained) in {time.perf_counter() - t0:.0f} s -> {out_path}")


if __name__ == "__main__":
    main()
