"""Training R seeded repeats: a plain sequential nn.LSTM loop vs sweeper's engines.

Two problems: (a) the tutorial's toy (LSTM(10), full batch of 5, window 1) and (b) a realistic
model on a real series (hidden 64, 2 layers, window 24, batch 64, weekly Mauna Loa CO2,
about 2,150 training windows). For each R it prints ms per epoch for all R repeats, member-epochs
per second, the speedup of sweeper's automatic engine choice over the plain loop, GFLOP/s and
the fraction of a matmul peak measured in the same run.

Sequential approaches run the R repeats one after another, each independent of the others, so
they are timed on min(R, 3) runs and scaled to R; the vectorized engine is timed at full R.

    python benchmarks/bench_repeats.py [--device cpu|cuda] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from plain_lstm import PlainLSTM  # benchmarks/, beside this script

from sweeper import Data
from sweeper.train import choose_engine, train_repeats
from sweeper.windows import prepare

p = argparse.ArgumentParser()
p.add_argument("--device", default="cpu")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--quick", action="store_true", help="R up to 10 and fewer epochs")
p.add_argument("--problem", choices=["toy", "realistic", "both"], default="both")
args = p.parse_args()
torch.set_num_threads(args.threads)
device = torch.device(args.device)
REPEATS = [1, 5, 10] if args.quick else [1, 5, 10, 32, 100]


def sync() -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak() -> tuple[float, str]:
    """GFLOP/s of a 1024^3 float32 matmul on this device and thread count (median of 5): the
    better of torch.mm and, on CPU, oneDNN's inner product."""
    a = torch.randn(1024, 1024, device=device)
    b = torch.randn(1024, 1024, device=device)
    kernels = {"torch.mm": lambda: a @ b}
    if device.type == "cpu" and torch.backends.mkldnn.is_available():
        am, bm = a.to_mkldnn(), b.to_mkldnn()
        kernels["oneDNN"] = lambda: torch._C._nn.mkldnn_linear(am, bm)
    best = (0.0, "")
    for name, fn in kernels.items():
        fn()
        times = []
        for _ in range(5):
            sync()
            t0 = time.perf_counter()
            for _ in range(4):
                fn()
            sync()
            times.append((time.perf_counter() - t0) / 4)
        best = max(best, (2 * 1024**3 / statistics.median(times) / 1e9, name))
    return best


def plain_loop(cfg: dict, windows, seed: int, n_epochs: int) -> list[float]:
    """How an LSTM is usually trained in PyTorch: nn.LSTM + Linear, Adam, .item() per batch.
    Returns the wall time of each epoch."""
    torch.manual_seed(seed)
    net = PlainLSTM(cfg["hidden"], cfg["layers"]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    tx, ty, vx, vy = (torch.from_numpy(a).to(device) for a in
                      (windows.train_x, windows.train_y, windows.val_x, windows.val_y))
    n, b = len(ty), cfg["batch_size"]
    times = []
    for _ in range(n_epochs):
        sync()
        t0 = time.perf_counter()
        order = torch.randperm(n, device=device) if cfg["shuffle"] else torch.arange(n)
        total = 0.0
        for i in range(0, n, b):
            idx = order[i:i + b]
            opt.zero_grad()
            loss = F.mse_loss(net(tx[idx]), ty[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        with torch.no_grad():
            F.mse_loss(net(vx), vy).item()
        times.append(time.perf_counter() - t0)
    return times


def engine_epochs(cfg: dict, windows, n_repeats: int, engine: str, n_epochs: int) -> list[float]:
    stamps: list[float] = []
    sync()
    stamps.append(time.perf_counter())
    train_repeats({**cfg, "epochs": n_epochs}, windows, list(range(n_repeats)), device,
                  patience=None, engine=engine,
                  on_epoch=lambda e, n: stamps.append(time.perf_counter()))
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def flops_per_member_epoch(cfg: dict, windows) -> float:
    """Matmul FLOPs: forward 2*4h*(in+h) per layer, step and window; backward twice that."""
    h, steps = cfg["hidden"], windows.train_x.shape[1]
    per_window = sum(2 * 4 * h * ((1 if i == 0 else h) + h) * steps for i in range(cfg["layers"]))
    per_window += 2 * h  # head
    return 3 * per_window * windows.n_train + per_window * windows.n_val


def run(title: str, cfg: dict, windows, n_epochs: int, peak: float) -> None:
    skip = 1  # the first epoch of every run pays one-time costs
    flops = flops_per_member_epoch(cfg, windows)
    print(f"\n## {title}: hidden {cfg['hidden']}, layers {cfg['layers']}, window "
          f"{windows.train_x.shape[1]}, batch {cfg['batch_size']}, {windows.n_train} training / "
          f"{windows.n_val} validation windows, {n_epochs - skip} timed epochs")
    print(f"{'R':>4} {'plain ms':>10} {'seq ms':>10} {'vec ms':>10} {'auto':>11} "
          f"{'auto ms':>10} {'member-ep/s':>12} {'vs plain':>9} {'vs best':>8} {'GFLOP/s':>8} "
          f"{'% peak':>7}")
    plain_loop(cfg, windows, 99, 2)  # warm-up: one-time kernel and allocator set-up
    plain_one = statistics.median(t for s in range(3)
                                  for t in plain_loop(cfg, windows, s, n_epochs)[skip:])
    for n_rep in REPEATS:
        k = min(3, n_rep)
        seq = statistics.median(engine_epochs(cfg, windows, k, "sequential", n_epochs)[skip:])
        seq = seq / k * n_rep
        vec = statistics.median(engine_epochs(cfg, windows, n_rep, "vectorized", n_epochs)[skip:])
        choice = choose_engine(cfg, windows, n_rep, device)["engine"]
        auto = {"sequential": seq, "vectorized": vec}[choice]
        plain = plain_one * n_rep
        print(f"{n_rep:>4} {plain * 1e3:>10.2f} {seq * 1e3:>10.2f} {vec * 1e3:>10.2f} "
              f"{choice:>11} {auto * 1e3:>10.2f} {n_rep / auto:>12.0f} {plain / auto:>8.2f}x "
              f"{auto / min(seq, vec):>7.2f}x {flops * n_rep / auto / 1e9:>8.2f} "
              f"{100 * flops * n_rep / auto / 1e9 / peak:>6.1f}%")


peak, kernel = matmul_peak()
print(f"# device {device}, torch threads {torch.get_num_threads()}, torch {torch.__version__}, "
      f"{platform.machine()}, matmul peak ({kernel}, 1024^3 float32) {peak:.1f} GFLOP/s")
base = dict(dropout=0.0, weight_decay=0.0, lr=1e-3, optimizer="adam", loss="mse",
            init="keras")
if args.problem in ("toy", "both"):
    run("toy (the tutorial's problem)",
        {**base, "hidden": 10, "layers": 1, "batch_size": 5, "shuffle": False},
        prepare(Data.toy()), 60 if args.quick else 200, peak)
if args.problem in ("realistic", "both"):
    run("realistic (weekly CO2)",
        {**base, "hidden": 64, "layers": 2, "batch_size": 64, "shuffle": True},
        prepare(Data(source="co2_weekly", window=24, val_fraction=0.05)),
        2 if args.quick else 3, peak)
