"""The LSTM models: one repeat's (stacked LSTM layers, dropout, a linear head) and R at once.

`LSTMRegressor` is one repeat's model, whatever the task: its linear head emits the task's
outputs (forecast values, numbers, or class logits). `EnsembleLSTM` holds R of them with a
leading repeat axis on every weight, so that repeats train and predict as one batched model.
The head reads the last hidden state and, when the task has them, the known-ahead values of
the steps it forecasts (future covariates: calendar, holidays, planned prices), and emits every
output at once (all forecast steps of every target). Widths come from the task.

Dropout draws from a generator passed in by the caller, so each seeded repeat owns its masks and a
run is reproducible however runs are interleaved. Two initializations:

- "keras" (default): glorot-uniform input weights, orthogonal recurrent weights, zero biases with
  the forget gate's bias at 1, glorot-uniform head. On the tutorial's toy problem this converges
  reliably; with PyTorch's default uniform(-1/sqrt(h), 1/sqrt(h)) init some seeds of the same
  config are still far from converged at the tutorial's epoch counts.
- "torch": PyTorch's defaults, for comparison with plain PyTorch code.
"""

from __future__ import annotations

import torch
from torch import nn


class LSTMRegressor(nn.Module):
    """(batch, window, n_inputs) [+ (batch, n_known)] -> (batch, n_outputs)."""

    def __init__(self, n_inputs: int, hidden: int, layers: int, dropout: float,
                 n_outputs: int = 1, n_known: int = 0) -> None:
        super().__init__()
        self.dropout = dropout
        self.n_known = n_known
        self.lstms = nn.ModuleList(
            nn.LSTM(n_inputs if i == 0 else hidden, hidden, batch_first=True)
            for i in range(layers)
        )
        self.head = nn.Linear(hidden + n_known, n_outputs)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None,
                known: torch.Tensor | None = None) -> torch.Tensor:
        h = x
        for lstm in self.lstms:
            h, _ = lstm(h)
            # Between layers and (after the last layer) before the head, as Keras' dropout on
            # each layer's output does.
            h = self._drop(h if lstm is not self.lstms[-1] else h[:, -1, :], generator)
        if self.n_known:
            h = torch.cat([h, known], dim=-1)
        return self.head(h)

    def _drop(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if not self.training or self.dropout == 0.0:
            return h
        keep = 1.0 - self.dropout
        # A contiguous mask (not empty_like: nn.LSTM's batch-first output can be a transposed
        # view), so the same generator gives the same mask whatever the layout of h.
        mask = torch.empty(h.shape, device=h.device, dtype=h.dtype)
        mask.bernoulli_(keep, generator=generator)
        return h * mask / keep


def keras_init_(model: LSTMRegressor, generator: torch.Generator) -> None:
    """Keras' LSTM defaults: glorot kernel, orthogonal recurrent kernel, unit forget bias."""
    with torch.no_grad():
        for lstm in model.lstms:
            hidden = lstm.hidden_size
            w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0  # (4h, in), (4h, h)
            limit = (6.0 / (w_ih.shape[1] + w_ih.shape[0])) ** 0.5
            nn.init.uniform_(w_ih, -limit, limit, generator=generator)
            nn.init.orthogonal_(w_hh, generator=generator)
            lstm.bias_ih_l0.zero_()
            lstm.bias_hh_l0.zero_()
            lstm.bias_ih_l0[hidden : 2 * hidden] = 1.0  # gate order i, f, g, o
        limit = (6.0 / (model.head.in_features + model.head.out_features)) ** 0.5
        nn.init.uniform_(model.head.weight, -limit, limit, generator=generator)
        model.head.bias.zero_()


def build(
    n_inputs: int, hidden: int, layers: int, dropout: float, init: str, seed: int,
    n_outputs: int = 1, n_known: int = 0,
) -> LSTMRegressor:
    """A model whose initial weights depend on `seed` alone (built on CPU, same on any device)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # torch's default init draws from the global generator
        model = LSTMRegressor(n_inputs, hidden, layers, dropout, n_outputs, n_known)
    if init == "keras":
        keras_init_(model, torch.Generator().manual_seed(seed))
    return model


class EnsembleLSTM(nn.Module):
    """R independent LSTMRegressors as one module: every weight carries a leading repeat axis.

    `nn.LSTM` cannot be vmapped, so the recurrence is written out with batched matmuls. Each
    member keeps the parameter layout of an `LSTMRegressor` (separate input and recurrent
    biases included), so an optimizer over the ensemble updates every member exactly as it
    would update that member alone. Shapes: input (R, B, T, n_inputs), or (B, T, n_inputs)
    shared by all members, and known-ahead values (R, B, n_known) or (B, n_known); output
    (R, B, n_outputs).
    """

    def __init__(self, members: list[LSTMRegressor]) -> None:
        super().__init__()
        first = members[0]
        self.dropout = first.dropout
        self.hidden = first.lstms[0].hidden_size
        self.n_known = first.n_known

        def stack(get: object) -> nn.Parameter:
            return nn.Parameter(torch.stack([get(m).detach() for m in members]).contiguous())

        n_layers = len(first.lstms)
        # Stored transposed ((in, 4h), (h, 4h)) so that x @ w needs no transpose per step.
        self.w_ih = nn.ParameterList(
            stack(lambda m, i=i: m.lstms[i].weight_ih_l0.T) for i in range(n_layers))
        self.w_hh = nn.ParameterList(
            stack(lambda m, i=i: m.lstms[i].weight_hh_l0.T) for i in range(n_layers))
        self.b_ih = nn.ParameterList(
            stack(lambda m, i=i: m.lstms[i].bias_ih_l0[None]) for i in range(n_layers))
        self.b_hh = nn.ParameterList(
            stack(lambda m, i=i: m.lstms[i].bias_hh_l0[None]) for i in range(n_layers))
        self.head_w = stack(lambda m: m.head.weight.T)  # (R, h + n_known, n_outputs)
        self.head_b = stack(lambda m: m.head.bias[None])  # (R, 1, n_outputs)

    @property
    def n_members(self) -> int:
        return self.head_w.shape[0]

    def forward(
        self, x: torch.Tensor, generators: list[torch.Generator] | None = None,
        known: torch.Tensor | None = None,
    ) -> torch.Tensor:
        n_members, hidden = self.n_members, self.hidden
        seq = x
        last = len(self.w_ih) - 1
        for layer in range(last + 1):
            w_ih, w_hh = self.w_ih[layer], self.w_hh[layer]
            n_batch, n_steps, n_in = seq.shape[-3:]
            # Input projection for every step at once: one large matmul per layer.
            xw = torch.matmul(seq.reshape(-1, n_batch * n_steps, n_in), w_ih)
            xw = (xw + (self.b_ih[layer] + self.b_hh[layer])).view(
                n_members, n_batch, n_steps, 4 * hidden)
            h = c = None
            outputs = []
            for t in range(n_steps):
                gates = xw[:, :, t] if h is None else torch.baddbmm(xw[:, :, t], h, w_hh)
                act = torch.sigmoid(gates)  # i, f, o; g's slice is replaced by tanh below
                i, f, o = act[..., :hidden], act[..., hidden:2 * hidden], act[..., 3 * hidden:]
                g = torch.tanh(gates[..., 2 * hidden:3 * hidden])
                c = i * g if c is None else torch.addcmul(i * g, f, c)
                h = o * torch.tanh(c)
                if layer < last:
                    outputs.append(h)
            if layer < last:
                seq = self._drop(torch.stack(outputs, dim=2), generators)
        out = self._drop(h, generators)
        if self.n_known:
            if known.dim() == 2:  # shared by every member
                known = known.expand(n_members, -1, -1)
            out = torch.cat([out, known], dim=-1)
        return torch.baddbmm(self.head_b, out, self.head_w)

    def _drop(self, h: torch.Tensor, generators: list[torch.Generator] | None) -> torch.Tensor:
        if not self.training or self.dropout == 0.0:
            return h
        keep = 1.0 - self.dropout
        # One draw per member from its own generator, in the order and shape its single model
        # would draw, so masks match member by member.
        mask = torch.stack([
            torch.empty(h.shape[1:], device=h.device, dtype=h.dtype).bernoulli_(keep, generator=g)
            for g in generators
        ])
        return h * mask / keep

    @staticmethod
    def member_state(stacked: dict[str, torch.Tensor], r: int) -> dict[str, torch.Tensor]:
        """Member r of an ensemble's named parameters (as `named_parameters()` gives them, each
        with a leading member axis) as an `LSTMRegressor` state dict, on the CPU."""
        state = {}
        layers = sum(1 for name in stacked if name.startswith("w_ih."))
        for i in range(layers):
            state[f"lstms.{i}.weight_ih_l0"] = stacked[f"w_ih.{i}"][r].T
            state[f"lstms.{i}.weight_hh_l0"] = stacked[f"w_hh.{i}"][r].T
            state[f"lstms.{i}.bias_ih_l0"] = stacked[f"b_ih.{i}"][r][0]
            state[f"lstms.{i}.bias_hh_l0"] = stacked[f"b_hh.{i}"][r][0]
        state["head.weight"] = stacked["head_w"][r].T
        state["head.bias"] = stacked["head_b"][r][0]
        return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}

    def take(self, members: list[int]) -> EnsembleLSTM:
        """A smaller ensemble holding only `members`, sharing nothing with this one."""
        idx = torch.tensor(members, device=self.head_w.device)
        clone = EnsembleLSTM.__new__(EnsembleLSTM)
        nn.Module.__init__(clone)
        clone.dropout, clone.hidden, clone.n_known = self.dropout, self.hidden, self.n_known
        for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
            setattr(clone, name, nn.ParameterList(
                nn.Parameter(p.detach().index_select(0, idx)) for p in getattr(self, name)))
        clone.head_w = nn.Parameter(self.head_w.detach().index_select(0, idx))
        clone.head_b = nn.Parameter(self.head_b.detach().index_select(0, idx))
        return clone
