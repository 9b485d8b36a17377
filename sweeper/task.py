"""The task: what a model reads and predicts, how it is scored, and how to undo the scaling.

Everything that depends on the shape of the problem lives here, so that the engines, the sweep
and the delivered model stay the same for every task:

- widths: features per time step the LSTM reads (`n_inputs`), known-ahead values fed to the
  head beside its last hidden state (`n_known`), and the head's outputs (`n_outputs`);
- the loss per repeat, averaged over every output (all forecast steps and targets);
- the naive baselines a model must beat;
- inverse scaling back to the data's own units.

`Forecast` is one or more target series forecast `horizon` steps at once, from a window of
targets and covariates; its scaler is per series and column, fit on each series' training part.

No torch import at module level: the data module builds a task without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

LOSSES = ("mse", "mae")


def loss_value(name: str, pred: np.ndarray, y: np.ndarray) -> float:
    """A regression loss over every element, in float64."""
    err = np.asarray(pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(err**2) if name == "mse" else np.mean(np.abs(err)))


@dataclass(frozen=True)
class Forecast:
    """Targets forecast `horizon` steps at once from a window of past values.

    Input columns per time step, in this order: targets, past covariates, future covariates.
    Outputs are step-major: (step 1: every target, step 2: every target, ...). `offset` and
    `scale` have shape (n_series, n_columns) over the same columns: scaled = (raw - offset) /
    scale, fit on each series' training part.
    """

    targets: tuple[str, ...]
    past: tuple[str, ...]
    future: tuple[str, ...]
    window: int
    horizon: int
    series: tuple[str, ...]  # one name per series ("" for a lone unnamed series)
    offset: np.ndarray = field(compare=False, repr=False)
    scale: np.ndarray = field(compare=False, repr=False)

    kind = "forecast"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.targets + self.past + self.future

    @property
    def n_inputs(self) -> int:
        return len(self.columns)

    @property
    def n_known(self) -> int:
        return self.horizon * len(self.future)

    @property
    def n_outputs(self) -> int:
        return self.horizon * len(self.targets)

    def member_loss(self, name: str, pred: Any, y: Any) -> Any:
        """Loss per repeat, shape (R,), from predictions (R, B, n_outputs) and targets
        (R or 1, B, n_outputs): the mean over every window, step and target."""
        err = pred - y
        per = err.square() if name == "mse" else err.abs()
        return per.mean(dim=(1, 2))

    def loss(self, name: str, pred: np.ndarray, y: np.ndarray) -> float:
        return loss_value(name, pred, y)

    def naive(self, x: np.ndarray, train_y: np.ndarray) -> dict[str, np.ndarray]:
        """The naive forecasts for windows `x` (scaled): repeat each target's last value for
        every step, or predict each target's training mean."""
        n = len(x)
        last = x[:, -1, : len(self.targets)]  # (n, n_targets)
        mean = train_y.reshape(-1, self.horizon, len(self.targets)).mean(axis=(0, 1)) \
            if len(train_y) else np.zeros(len(self.targets))
        return {"persistence": np.tile(last, (1, self.horizon)),
                "mean": np.tile(mean, (n, self.horizon)).astype(np.float32)}

    def baseline(self, name: str, x: np.ndarray, y: np.ndarray, train_y: np.ndarray) -> float:
        """Loss of the better naive forecast on windows (x, y): a model that cannot beat it has
        learnt nothing useful."""
        if len(y) == 0:
            return float("nan")
        return min(self.loss(name, p, y) for p in self.naive(x, train_y).values())

    def inverse(self, pred: np.ndarray, series: np.ndarray) -> np.ndarray:
        """Scaled outputs (..., n_windows, n_outputs) back to the data's units, per window's
        series: shape (..., n_windows, horizon, n_targets)."""
        t = len(self.targets)
        shaped = pred.reshape(*pred.shape[:-1], self.horizon, t)
        scale = self.scale[series][:, None, :t]  # (n_windows, 1, n_targets)
        offset = self.offset[series][:, None, :t]
        return shaped * scale + offset

    def describe(self) -> dict[str, Any]:
        """JSON-safe: what a model file needs to cut and scale new data as the study did."""
        return {"kind": self.kind, "targets": list(self.targets), "past": list(self.past),
                "future": list(self.future), "window": self.window, "horizon": self.horizon,
                "series": list(self.series), "offset": self.offset.tolist(),
                "scale": self.scale.tolist()}

    @classmethod
    def from_description(cls, d: dict[str, Any]) -> Forecast:
        return cls(tuple(d["targets"]), tuple(d["past"]), tuple(d["future"]), int(d["window"]),
                   int(d["horizon"]), tuple(d["series"]),
                   np.asarray(d["offset"], dtype=np.float64),
                   np.asarray(d["scale"], dtype=np.float64))


def from_description(d: dict[str, Any]) -> Forecast:
    """The task a model file describes."""
    return Forecast.from_description(d)
