"""Training: all seeded repeats of one configuration, epoch by epoch, by one of two engines.

Each repeat owns its seed, initial weights, dropout generator, batch order, optimizer state and
degradation monitor, so it trains as it would alone; the engines differ only in how the work is
laid out:

- "sequential": one `LSTMRegressor` (PyTorch's fused `nn.LSTM` kernel) per repeat, stepped in
  turn. Best where each run has enough work to fill the machine.
- "vectorized": one `EnsembleLSTM` whose weights carry a leading repeat axis, so a step of all
  repeats is a few batched matmuls. Best where per-op overhead dominates: small models, and
  GPUs. A repeat that stops is sliced out of the ensemble and its optimizer state, so it costs
  nothing further.

"auto" times one training step of each on throwaway copies of the trial's shape, once per
shape per process, and picks the faster (`choose_engine`).

Curves come back with shape (n_repeats, n_epochs), NaN after a repeat stopped. An epoch's
training loss is the mean of its batch losses (as Keras reports it, dropout active); the
validation loss is measured after the epoch with dropout off. Each repeat's final weights are
also scored on the training windows with dropout off (`train_fit`), so the generalization gap
compares like with like.

Every repeat keeps a copy of its weights at its best validation epoch while it trains
(`states`, in `LSTMRegressor` layout whichever engine ran): those are the weights sweeper
delivers. Its last weights come back too (`final_states`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .model import EnsembleLSTM, LSTMRegressor, build
from .pruning import DegradationMonitor, Stop, StopKind
from .validate import SpecError
from .windows import Windows


@dataclass
class TrainResult:
    train: np.ndarray  # (n_repeats, n_epochs), NaN after a repeat stopped
    val: np.ndarray
    n_epochs_run: np.ndarray  # (n_repeats,) epochs each repeat trained
    stops: list[Stop | None]  # degradation or divergence stop per repeat
    grad_norm: np.ndarray  # (n_repeats, n_epochs): the epoch's mean, before clipping
    weight_norm: np.ndarray  # (n_repeats, n_epochs): after the epoch
    interrupted_at: int | None = None  # epoch at which the caller asked every repeat to stop
    seconds: float = 0.0
    engine: dict[str, Any] = field(default_factory=dict)  # which engine ran, and why
    # (n_repeats,): training loss of each repeat's last weights, dropout off, as validation is
    train_fit: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # (n_repeats,): epoch (1-based) of each repeat's lowest validation loss; 0 if none was finite
    best_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    # Each repeat's weights at that epoch, as an LSTMRegressor state dict on the CPU.
    states: list[dict[str, torch.Tensor]] = field(default_factory=list)
    # Each repeat's last weights (where it stopped), likewise; what plain training hands back.
    final_states: list[dict[str, torch.Tensor]] = field(default_factory=list)
    # The task's validation metrics per epoch (accuracy, ...): name -> (n_repeats, n_epochs).
    metrics: dict[str, np.ndarray] = field(default_factory=dict)

    def curve(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Repeat r's curves, trimmed to the epochs it trained."""
        n = int(self.n_epochs_run[r])
        return self.train[r, :n], self.val[r, :n]

    def signals(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Repeat r's gradient and weight norms, trimmed to the epochs it trained."""
        n = int(self.n_epochs_run[r])
        return self.grad_norm[r, :n], self.weight_norm[r, :n]


def combine(first: TrainResult, rest: TrainResult) -> TrainResult:
    """Repeats trained in two calls as one result, the first call's repeats first."""
    width = max(first.train.shape[1], rest.train.shape[1])

    def stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        pad = [np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=np.nan)
               for x in (a, b)]
        return np.vstack(pad)

    return TrainResult(
        stack(first.train, rest.train), stack(first.val, rest.val),
        np.concatenate([first.n_epochs_run, rest.n_epochs_run]), first.stops + rest.stops,
        stack(first.grad_norm, rest.grad_norm), stack(first.weight_norm, rest.weight_norm),
        first.interrupted_at, first.seconds + rest.seconds, first.engine,
        np.concatenate([first.train_fit, rest.train_fit]),
        np.concatenate([first.best_epoch, rest.best_epoch]), first.states + rest.states,
        first.final_states + rest.final_states,
        {k: stack(first.metrics[k], rest.metrics[k]) for k in first.metrics},
    )


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


def make_optimizer(config: dict[str, Any], params: Any) -> torch.optim.Optimizer:
    """The configured optimizer; every rule here is elementwise, so it treats each member of an
    ensemble exactly as it would treat that member alone."""
    lr, wd = config["lr"], config["weight_decay"]
    name = config["optimizer"]
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "adam":  # L2 penalty added to the gradient, as torch.optim.Adam does it
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, weight_decay=wd)


def _flat_norms(tensors: list[torch.Tensor], n_members: int) -> torch.Tensor:
    """L2 norm per member over tensors with a leading member axis: shape (n_members,)."""
    return torch.cat([t.reshape(n_members, -1) for t in tensors], dim=1).norm(dim=1)


def _step(opt: torch.optim.Optimizer, params: list[torch.Tensor], loss: torch.Tensor,
          n_members: int, clip: float | None) -> torch.Tensor:
    """Backward, per-member gradient norms (before clipping), optional per-member clipping as
    torch.nn.utils.clip_grad_norm_ would do it for each member alone, optimizer step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    for p in params:
        if p.grad is None:  # the ensemble's w_hh with one-step windows; nn.LSTM gives zeros
            p.grad = torch.zeros_like(p)
    grads = [p.grad for p in params]
    norms = _flat_norms(grads, n_members)
    if clip is not None:
        coef = (clip / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))
    opt.step()
    return norms


class _Data:
    """The trial's windows as tensors on the device, and the task that scores them."""

    def __init__(self, windows: Windows, device: torch.device, batch_size: int) -> None:
        self.task = windows.task
        self.tx, self.tk, self.ty, self.vx, self.vk, self.vy = (
            torch.from_numpy(a).to(device)
            for a in (windows.train_x, windows.train_k, windows.train_y, windows.val_x,
                      windows.val_k, windows.val_y))
        self.n_train = len(self.ty)
        self.batch = min(batch_size, self.n_train)
        self.full_batch = self.batch >= self.n_train


class _Member:
    """One repeat's private state: seed-derived streams and its degradation monitor."""

    def __init__(self, seed: int, device: torch.device, patience: int | None,
                 min_rise: float) -> None:
        # Separate streams so that batch order and dropout masks don't depend on each other.
        self.drop_gen = torch.Generator(device=device).manual_seed(seed + 1)
        self.order_gen = torch.Generator().manual_seed(seed + 2)
        self.monitor = DegradationMonitor(patience, min_rise) if patience else None

    def order(self, n: int, shuffle: bool) -> torch.Tensor:
        return torch.randperm(n, generator=self.order_gen) if shuffle else torch.arange(n)


def _build_members(config: dict[str, Any], seeds: list[int], task: Any
                   ) -> list[LSTMRegressor]:
    return [build(task.n_inputs, config["hidden"], config["layers"], config["dropout"],
                  config["init"], s, task.n_outputs, task.n_known) for s in seeds]


class SequentialEngine:
    """Each repeat as its own LSTMRegressor and optimizer, stepped one after another."""

    name = "sequential"

    def __init__(self, config: dict[str, Any], members: list[_Member], seeds: list[int],
                 data: _Data, device: torch.device) -> None:
        self.config, self.members, self.data = config, members, data
        self.models = [m.to(device) for m in _build_members(config, seeds, data.task)]
        self.opts = [make_optimizer(config, m.parameters()) for m in self.models]
        self.active = list(range(len(seeds)))
        self.best = [_copy(m.state_dict()) for m in self.models]  # initial weights until then

    def epoch(self) -> tuple[list[float], ...]:
        d, loss, clip = self.data, self.config["loss"], self.config.get("grad_clip")
        member_loss = d.task.member_loss
        train, val, gnorm, wnorm, scores = [], [], [], [], []
        for r in self.active:
            model, opt, member = self.models[r], self.opts[r], self.members[r]
            model.train()
            if d.full_batch:
                batches = [(d.tx, d.tk, d.ty)]
            else:
                order = member.order(d.n_train, self.config["shuffle"]).to(d.tx.device)
                batches = [(d.tx[i], d.tk[i], d.ty[i]) for i in order.split(d.batch)]
            total = torch.zeros((), device=d.tx.device)
            grad_total = torch.zeros((), device=d.tx.device)
            params = list(model.parameters())
            for xb, kb, yb in batches:
                batch_loss = member_loss(loss, model(xb, member.drop_gen, kb)[None],
                                         yb[None])[0]
                grad_total += _step(opt, params, batch_loss, 1, clip)[0]
                total += batch_loss.detach() * len(yb)
            model.eval()
            with torch.no_grad():
                pred = model(d.vx, None, d.vk)[None]
                v = member_loss(loss, pred, d.vy[None])[0]
                w = _flat_norms([p.detach() for p in params], 1)[0]
                scores.append(_scores(d.task, pred, d.vy)[0])
            train.append(float(total) / d.n_train)
            val.append(float(v))
            gnorm.append(float(grad_total) / len(batches))
            wnorm.append(float(w))
        return train, val, gnorm, wnorm, scores

    def fit_loss(self) -> list[float]:
        """Each active repeat's loss on the training windows, dropout off."""
        d, out = self.data, []
        for r in self.active:
            model = self.models[r]
            model.eval()
            with torch.no_grad():
                out.append(float(d.task.member_loss(self.config["loss"],
                                                    model(d.tx, None, d.tk)[None],
                                                    d.ty[None])[0]))
        return out

    def snapshot(self, improved: list[int]) -> None:
        """Keep these repeats' current weights as their best."""
        for r in improved:
            self.best[r] = _copy(self.models[r].state_dict())

    def best_state(self, r: int) -> dict[str, torch.Tensor]:
        return {k: v.to("cpu", copy=True) for k, v in self.best[r].items()}

    def current_state(self, r: int) -> dict[str, torch.Tensor]:
        return {k: v.detach().to("cpu", copy=True) for k, v in
                self.models[r].state_dict().items()}

    def stop(self, stopped: list[int]) -> None:
        self.active = [r for r in self.active if r not in stopped]
        for r in stopped:  # free what the stopped repeat held
            self.models[r] = self.opts[r] = None  # type: ignore[call-overload]


class VectorizedEngine:
    """All active repeats as one EnsembleLSTM and one optimizer."""

    name = "vectorized"

    def __init__(self, config: dict[str, Any], members: list[_Member], seeds: list[int],
                 data: _Data, device: torch.device) -> None:
        self.config, self.members, self.data = config, members, data
        self.model = EnsembleLSTM(_build_members(config, seeds, data.task)).to(device)
        self.opt = make_optimizer(config, self.model.parameters())
        self.active = list(range(len(seeds)))
        # Every repeat's best weights, in the ensemble's layout with a leading repeat axis over
        # all repeats (also those sliced out after stopping).
        self.best = _copy(dict(self.model.named_parameters()))

    def epoch(self) -> tuple[list[float], ...]:
        d, loss, model = self.data, self.config["loss"], self.model
        member_loss = d.task.member_loss
        clip, n_active = self.config.get("grad_clip"), len(self.active)
        params = list(model.parameters())
        gens = [self.members[r].drop_gen for r in self.active]
        model.train()
        if d.full_batch:
            batches = [(d.tx, d.tk, d.ty[None])]  # one input shared by every member
        else:
            orders = torch.stack([self.members[r].order(d.n_train, self.config["shuffle"])
                                  for r in self.active]).to(d.tx.device)
            batches = [(d.tx[idx], d.tk[idx], d.ty[idx])
                       for idx in orders.split(d.batch, dim=1)]
        total = torch.zeros(n_active, device=d.tx.device)
        grad_total = torch.zeros(n_active, device=d.tx.device)
        for xb, kb, yb in batches:
            per_member = member_loss(loss, model(xb, gens, kb), yb)
            # Summing keeps each member's gradient equal to that of its own mean loss.
            grad_total += _step(self.opt, params, per_member.sum(), n_active, clip)
            total += per_member.detach() * yb.shape[1]
        model.eval()
        with torch.no_grad():
            pred = model(d.vx, None, d.vk)
            v = member_loss(loss, pred, d.vy[None])
            w = _flat_norms([p.detach() for p in params], n_active)
            scores = _scores(d.task, pred, d.vy)
        return ((total / d.n_train).tolist(), v.tolist(),
                (grad_total / len(batches)).tolist(), w.tolist(), scores)

    def fit_loss(self) -> list[float]:
        """Each active repeat's loss on the training windows, dropout off."""
        self.model.eval()
        with torch.no_grad():
            d = self.data
            return d.task.member_loss(self.config["loss"], self.model(d.tx, None, d.tk),
                                      d.ty[None]).tolist()

    def snapshot(self, improved: list[int]) -> None:
        """Keep these repeats' current weights as their best: one indexed copy per tensor."""
        if not improved:
            return
        at = torch.tensor([self.active.index(r) for r in improved],
                          device=self.model.head_w.device)
        to = torch.tensor(improved, device=self.model.head_w.device)
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                self.best[name].index_copy_(0, to, p.index_select(0, at))

    def best_state(self, r: int) -> dict[str, torch.Tensor]:
        return EnsembleLSTM.member_state(self.best, r)

    def current_state(self, r: int) -> dict[str, torch.Tensor]:
        return EnsembleLSTM.member_state(dict(self.model.named_parameters()),
                                         self.active.index(r))

    def stop(self, stopped: list[int]) -> None:
        keep = [i for i, r in enumerate(self.active) if r not in stopped]
        self.active = [self.active[i] for i in keep]
        if not keep:
            return
        old_params = list(self.model.parameters())
        self.model = self.model.take(keep)
        new_params = list(self.model.parameters())
        old_state = self.opt.state
        self.opt = make_optimizer(self.config, new_params)
        idx = torch.tensor(keep, device=new_params[0].device)
        for old, new in zip(old_params, new_params, strict=True):
            if old in old_state:
                self.opt.state[new] = {
                    k: v.index_select(0, idx) if torch.is_tensor(v) and v.dim() > 0 else v
                    for k, v in old_state[old].items()
                }


def _scores(task: Any, pred: torch.Tensor, y: torch.Tensor) -> list[dict[str, float]]:
    """The task's validation metrics per member (empty dicts for a task without any)."""
    if not task.metric_names:
        return [{} for _ in range(pred.shape[0])]
    values = task.metrics(pred, y[None])
    return [{k: float(v[i]) for k, v in values.items()} for i in range(pred.shape[0])]


def _copy(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in tensors.items()}


_ENGINES = {e.name: e for e in (SequentialEngine, VectorizedEngine)}
# Engine choice per trial shape, measured once per process.
_CHOICES: dict[tuple, dict[str, Any]] = {}


def choose_engine(config: dict[str, Any], windows: Windows, n_repeats: int,
                  device: torch.device) -> dict[str, Any]:
    """Time one training step of each engine on throwaway copies of this shape; pick the faster.

    Returns {"engine", "why", "ms_per_step": {engine: ms}}. Even one repeat is timed: on tiny
    models the hand-written cell beats nn.LSTM's per-call overhead.
    """
    key = (config["hidden"], config["layers"], config["dropout"] > 0, config["batch_size"],
           windows.train_x.shape, windows.task.n_known, windows.task.n_outputs, n_repeats,
           str(device))
    if key not in _CHOICES:
        ms = {name: _time_step(cls, config, windows, n_repeats, device)
              for name, cls in _ENGINES.items()}
        best = min(ms, key=ms.get)
        other = next(n for n in ms if n != best)
        _CHOICES[key] = {
            "engine": best,
            "why": f"one step of {n_repeats} repeats took {ms[best]:.3g} ms {best} vs "
                   f"{ms[other]:.3g} ms {other}",
            "ms_per_step": {k: round(v, 4) for k, v in ms.items()},
        }
    return _CHOICES[key]


def _time_step(cls: type, config: dict[str, Any], windows: Windows, n_repeats: int,
               device: torch.device) -> float:
    """Median ms of one epoch-step (a training batch for every repeat) after a warm-up."""
    data = _Data(windows, device, int(config["batch_size"]))
    # One batch is one epoch.
    data.tx, data.tk, data.ty = data.tx[: data.batch], data.tk[: data.batch], data.ty[: data.batch]
    data.n_train, data.full_batch = data.batch, True
    seeds = list(range(n_repeats))
    members = [_Member(s, device, None, 0.0) for s in seeds]
    engine = cls(config, members, seeds, data, device)
    times = []
    for _ in range(4):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        engine.epoch()  # returns Python floats, which synchronizes
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times[1:]))


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
    engine: str = "auto",
) -> TrainResult:
    """Train len(seeds) repeats of `config` for config["epochs"] epochs.

    `on_report(epoch, mean_val)` is called every `report_every` epochs (epoch counted from 1)
    with the repeats' mean validation loss; returning True stops every repeat (a prune).
    """
    start = time.perf_counter()
    choice = (choose_engine(config, windows, len(seeds), device) if engine == "auto"
              else {"engine": engine, "why": "asked for"})
    n_repeats, n_epochs = len(seeds), int(config["epochs"])
    data = _Data(windows, device, int(config["batch_size"]))
    members = [_Member(s, device, patience, min_rise) for s in seeds]
    runner = _ENGINES[choice["engine"]](config, members, seeds, data, device)

    train, val, gnorm, wnorm = (np.full((n_repeats, n_epochs), np.nan) for _ in range(4))
    metrics = {k: np.full((n_repeats, n_epochs), np.nan) for k in windows.task.metric_names}
    n_run = np.zeros(n_repeats, dtype=int)
    fit = np.full(n_repeats, np.nan)
    stops: list[Stop | None] = [None] * n_repeats
    best_val, best_epoch = np.full(n_repeats, np.inf), np.zeros(n_repeats, dtype=int)
    final: list[dict[str, torch.Tensor]] = [{} for _ in range(n_repeats)]
    interrupted = None

    for epoch in range(n_epochs):
        stopped, improved = [], []
        for r, t_loss, v_loss, g, w, m in zip(runner.active, *runner.epoch(), strict=True):
            train[r, epoch], val[r, epoch] = t_loss, v_loss
            gnorm[r, epoch], wnorm[r, epoch] = g, w
            for k, value in m.items():
                metrics[k][r, epoch] = value
            n_run[r] = epoch + 1
            if not (math.isfinite(t_loss) and math.isfinite(v_loss)):
                why = f"loss became non-finite at epoch {epoch + 1}"
                stops[r] = Stop(epoch, epoch, math.nan, why, StopKind.DIVERGED)
            elif members[r].monitor is not None:
                stops[r] = members[r].monitor.update(t_loss, v_loss)
            if math.isfinite(v_loss) and v_loss < best_val[r]:
                best_val[r], best_epoch[r] = v_loss, epoch + 1
                improved.append(r)
            if stops[r] is not None:
                stopped.append(r)
        runner.snapshot(improved)
        if stopped:
            for r, loss in zip(runner.active, runner.fit_loss(), strict=True):
                if r in stopped:
                    fit[r] = loss
            for r in stopped:
                final[r] = runner.current_state(r)
            runner.stop(stopped)
        if on_epoch is not None:
            on_epoch(epoch + 1, n_epochs)
        if on_report is not None and (epoch + 1) % report_every == 0:
            last = [val[r, n_run[r] - 1] for r in range(n_repeats) if n_run[r]]
            finite = [v for v in last if math.isfinite(v)]
            if finite and on_report(epoch + 1, float(np.mean(finite))):
                interrupted = epoch
                break
        if not runner.active:
            break

    if runner.active:
        fit[runner.active] = runner.fit_loss()
        for r in runner.active:
            final[r] = runner.current_state(r)
    states = [runner.best_state(r) for r in range(n_repeats)]
    return TrainResult(train, val, n_run, stops, gnorm, wnorm, interrupted,
                       time.perf_counter() - start, choice, fit, best_epoch, states, final,
                       metrics)
