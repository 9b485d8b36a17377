"""Training: all seeded repeats of one configuration, stepped epoch by epoch in lockstep.

Each repeat owns its seed, initial weights, dropout generator, batch order, optimizer and
degradation monitor, so it trains exactly as it would alone; stepping them together lets the
trial report the repeats' aggregate validation loss every few epochs, and a repeat that stopped
costs nothing further.

Curves come back with shape (n_repeats, n_epochs), NaN after a repeat stopped. The training loss
of an epoch is the mean of its batch losses (as Keras reports it, with dropout active); the
validation loss is measured after the epoch with dropout off.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .data import Windows
from .model import build
from .pruning import DegradationMonitor, Stop
from .validate import SpecError

LOSSES: dict[str, Callable[..., torch.Tensor]] = {"mse": F.mse_loss, "mae": F.l1_loss}


@dataclass
class TrainResult:
    train: np.ndarray  # (n_repeats, n_epochs), NaN after a repeat stopped
    val: np.ndarray
    n_epochs_run: np.ndarray  # (n_repeats,) epochs each repeat trained
    stops: list[Stop | None]  # degradation or divergence stop per repeat
    interrupted_at: int | None = None  # epoch at which the caller asked every repeat to stop
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def curve(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Repeat r's curves, trimmed to the epochs it trained."""
        n = int(self.n_epochs_run[r])
        return self.train[r, :n], self.val[r, :n]


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available else cpu; 'cpu', 'cuda', 'cuda:N' as given, if present."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SpecError(
            f"--device must be auto, cpu, cuda or cuda:N, but got {name!r}."
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SpecError(f"--device {name} was asked for, but no CUDA device is available.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise SpecError(
                f"--device {name} was asked for, but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible."
            )
    elif device.type != "cpu":
        raise SpecError(f"--device must be auto, cpu, cuda or cuda:N, but got {name!r}.")
    return device


def _optimizer(config: dict[str, Any], params: Any) -> torch.optim.Optimizer:
    lr, wd = config["lr"], config["weight_decay"]
    name = config["optimizer"]
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "adam":  # L2 penalty added to the gradient, as torch.optim.Adam does it
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, weight_decay=wd)


class _Repeat:
    """One seeded run: its model, optimizer, random streams and monitor."""

    def __init__(self, config: dict[str, Any], seed: int, device: torch.device,
                 patience: int | None, min_rise: float) -> None:
        self.model = build(1, config["hidden"], config["layers"], config["dropout"],
                           config["init"], seed).to(device)
        self.opt = _optimizer(config, self.model.parameters())
        # Separate streams so that batch order and dropout masks don't depend on each other.
        self.drop_gen = torch.Generator(device=device).manual_seed(seed + 1)
        self.order_gen = torch.Generator().manual_seed(seed + 2)
        self.monitor = DegradationMonitor(patience, min_rise) if patience else None
        self.active = True


def train_repeats(
    config: dict[str, Any],
    windows: Windows,
    seeds: list[int],
    device: torch.device,
    *,
    patience: int | None = 20,
    min_rise: float = 0.1,
    report_every: int = 1,
    on_report: Callable[[int, float], bool] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train len(seeds) repeats of `config` for config["epochs"] epochs.

    `on_report(epoch, mean_val)` is called every `report_every` epochs (epoch counted from 1)
    with the repeats' mean validation loss; returning True stops every repeat (a prune).
    """
    start = time.perf_counter()
    n_repeats, n_epochs = len(seeds), int(config["epochs"])
    loss_fn = LOSSES[config["loss"]]
    tx, ty = (torch.from_numpy(a).to(device) for a in (windows.train_x, windows.train_y))
    vx, vy = (torch.from_numpy(a).to(device) for a in (windows.val_x, windows.val_y))
    n_train, batch = len(ty), min(int(config["batch_size"]), len(ty))
    full_batch = batch >= n_train

    repeats = [_Repeat(config, s, device, patience, min_rise) for s in seeds]
    train = np.full((n_repeats, n_epochs), np.nan)
    val = np.full((n_repeats, n_epochs), np.nan)
    n_run = np.zeros(n_repeats, dtype=int)
    stops: list[Stop | None] = [None] * n_repeats
    interrupted = None

    for epoch in range(n_epochs):
        for r, rep in enumerate(repeats):
            if not rep.active:
                continue
            t_loss, v_loss = _epoch(rep, config, loss_fn, tx, ty, vx, vy, batch, full_batch)
            train[r, epoch], val[r, epoch] = t_loss, v_loss
            n_run[r] = epoch + 1
            if not (math.isfinite(t_loss) and math.isfinite(v_loss)):
                rep.active = False
                why = f"loss became non-finite at epoch {epoch + 1}"
                stops[r] = Stop(epoch, epoch, math.nan, why)
            elif rep.monitor is not None:
                stop = rep.monitor.update(t_loss, v_loss)
                if stop is not None:
                    rep.active, stops[r] = False, stop
        if on_epoch is not None:
            on_epoch(epoch + 1, n_epochs)
        if on_report is not None and (epoch + 1) % report_every == 0:
            last = [val[r, n_run[r] - 1] for r in range(n_repeats) if n_run[r]]
            finite = [v for v in last if math.isfinite(v)]
            if finite and on_report(epoch + 1, float(np.mean(finite))):
                interrupted = epoch
                break
        if not any(rep.active for rep in repeats):
            break

    return TrainResult(train, val, n_run, stops, interrupted, time.perf_counter() - start)


def _epoch(rep: _Repeat, config: dict[str, Any], loss_fn: Callable[..., torch.Tensor],
           tx: torch.Tensor, ty: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor,
           batch: int, full_batch: bool) -> tuple[float, float]:
    model, opt = rep.model, rep.opt
    model.train()
    n = len(ty)
    if full_batch:
        batches = [(tx, ty)]
    else:
        order = (torch.randperm(n, generator=rep.order_gen) if config["shuffle"]
                 else torch.arange(n)).to(tx.device)
        batches = [(tx[idx], ty[idx]) for idx in order.split(batch)]
    total = torch.zeros((), device=tx.device)
    for xb, yb in batches:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb, rep.drop_gen), yb)
        loss.backward()
        opt.step()
        total += loss.detach() * len(yb)
    model.eval()
    with torch.no_grad():
        v = loss_fn(model(vx), vy)
    return float(total) / n, float(v)
