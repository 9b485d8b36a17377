"""The LSTM regressor: stacked LSTM layers, dropout between them and before a linear head.

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
    """(batch, window, n_inputs) -> (batch, 1)."""

    def __init__(self, n_inputs: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        self.lstms = nn.ModuleList(
            nn.LSTM(n_inputs if i == 0 else hidden, hidden, batch_first=True)
            for i in range(layers)
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        h = x
        for lstm in self.lstms:
            h, _ = lstm(h)
            # Between layers and (after the last layer) before the head, as Keras' dropout on
            # each layer's output does.
            h = self._drop(h if lstm is not self.lstms[-1] else h[:, -1, :], generator)
        return self.head(h)

    def _drop(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if not self.training or self.dropout == 0.0:
            return h
        keep = 1.0 - self.dropout
        mask = torch.empty_like(h).bernoulli_(keep, generator=generator)
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
    n_inputs: int, hidden: int, layers: int, dropout: float, init: str, seed: int
) -> LSTMRegressor:
    """A model whose initial weights depend on `seed` alone (built on CPU, same on any device)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # torch's default init draws from the global generator
        model = LSTMRegressor(n_inputs, hidden, layers, dropout)
    if init == "keras":
        keras_init_(model, torch.Generator().manual_seed(seed))
    return model
