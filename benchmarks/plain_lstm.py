"""The LSTM regressor as it is usually written in plain PyTorch, for the benchmarks' baselines:
nn.LSTM (with its own between-layer dropout), dropout on the last step, a linear head."""

from __future__ import annotations

import torch
from torch import nn


class PlainLSTM(nn.Module):
    def __init__(self, hidden: int, layers: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1]))
