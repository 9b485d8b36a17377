"""The task: what a model reads and predicts, how it is scored, and how to undo the scaling.

Everything that depends on the shape of the problem lives here, so that the engines, the sweep
and the delivered model stay the same for every task:

- widths: features per time step the LSTM reads (`n_inputs`), known-ahead values fed to the
  head beside its last hidden state (`n_known`), and the head's outputs (`n_outputs`);
- the loss per repeat (averaged over every output) and the metrics recorded beside it;
- how the repeats' predictions combine into the delivered one;
- the naive baselines a model must beat;
- inverse scaling back to the data's own units (or class probabilities).

`Forecast` is one or more target series forecast `horizon` steps at once, from a window of
targets and covariates; its scaler is per series and column, fit on each series' training part.
`Classify` labels whole sequences (cross-entropy, accuracy); `Regress` maps sequences the user
cut to numbers. Both scale per feature on the training sequences.

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

    metric_names = ()

    def combine(self, pred: np.ndarray) -> np.ndarray:
        """The repeats' predictions (R, n, n_outputs) as the delivered one: their mean."""
        return pred.mean(axis=0)

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




def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of logits (n, k) for integer labels (n,) or (n, 1)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1).astype(int)
    z = logits - logits.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean()) if len(labels) else float("nan")


def macro_f1(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    """Unweighted mean over classes of each class's F1 (0 for a class never predicted)."""
    scores = []
    for c in range(n_classes):
        tp = np.sum((pred == c) & (labels == c))
        fp, fn = np.sum((pred == c) & (labels != c)), np.sum((pred != c) & (labels == c))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


class _PerSequence:
    """What the sequence tasks share: one whole sequence per window, every feature an input,
    nothing known ahead."""

    window = 0
    horizon = 1
    series = ("",)

    @property
    def n_inputs(self) -> int:
        return self.n_features  # type: ignore[attr-defined]

    @property
    def n_known(self) -> int:
        return 0


@dataclass(frozen=True)
class Classify(_PerSequence):
    """A label per sequence from (n, time, features) arrays: cross-entropy, accuracy, and
    macro-F1 when the classes are unbalanced. Features are scaled per feature, fit on the
    training sequences."""

    n_features: int
    n_classes: int
    length: int  # time steps per sequence
    offset: np.ndarray = field(compare=False, repr=False)  # (n_features,)
    scale: np.ndarray = field(compare=False, repr=False)
    prior: np.ndarray = field(compare=False, repr=False)  # class shares in training
    unbalanced: bool = False  # the largest class over 1.5x the smallest: report macro-F1 too

    kind = "classify"
    targets = ("class",)

    @property
    def n_outputs(self) -> int:
        return self.n_classes

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("accuracy", "macro_f1") if self.unbalanced else ("accuracy",)

    def member_loss(self, name: str, pred: Any, y: Any) -> Any:
        """Cross-entropy per repeat, shape (R,), from logits (R, B, k) and labels (R or 1,
        B, 1); the study's regression loss setting does not apply to classes."""
        import torch.nn.functional as F

        labels = y[..., 0].long().expand(pred.shape[0], -1)
        per = F.cross_entropy(pred.reshape(-1, pred.shape[-1]), labels.reshape(-1),
                              reduction="none")
        return per.view(pred.shape[0], -1).mean(dim=1)

    def metrics(self, pred: Any, y: Any) -> dict[str, Any]:
        """Per repeat, from logits (R, B, k) and labels (1, B, 1): accuracy (and macro-F1)."""
        hits = pred.argmax(dim=-1) == y[..., 0].long()
        out = {"accuracy": hits.float().mean(dim=1)}
        if self.unbalanced:
            labels = y[0, :, 0].long().cpu().numpy()
            out["macro_f1"] = [macro_f1(p, labels, self.n_classes)
                               for p in pred.argmax(dim=-1).cpu().numpy()]
        return out

    def scores(self, logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """The metrics of one prediction (n, k) against labels (n, 1)."""
        labels = np.asarray(y).reshape(-1).astype(int)
        pred = np.asarray(logits).argmax(axis=-1)
        out = {"accuracy": float(np.mean(pred == labels)) if len(labels) else float("nan")}
        if self.unbalanced:
            out["macro_f1"] = macro_f1(pred, labels, self.n_classes)
        return out

    def loss(self, name: str, pred: np.ndarray, y: np.ndarray) -> float:
        return cross_entropy(pred, y)

    def combine(self, pred: np.ndarray) -> np.ndarray:
        """The repeats' predictions (R, n, k) as one: logits of their averaged probabilities,
        so that the ensemble's loss is that of what it delivers."""
        return np.log(np.clip(_softmax(pred).mean(axis=0), 1e-12, None))

    def baseline(self, name: str, x: np.ndarray, y: np.ndarray, train_y: np.ndarray) -> float:
        """Cross-entropy of predicting the training class shares for every sequence: a model
        above it has learnt nothing about the sequences."""
        if len(y) == 0:
            return float("nan")
        return cross_entropy(np.tile(np.log(np.clip(self.prior, 1e-12, None)), (len(y), 1)), y)

    def majority(self, y: np.ndarray) -> float:
        """Accuracy of always predicting the training set's most common class."""
        labels = np.asarray(y).reshape(-1).astype(int)
        return float(np.mean(labels == int(np.argmax(self.prior)))) if len(labels) else \
            float("nan")

    def inverse(self, pred: np.ndarray, series: np.ndarray) -> np.ndarray:
        """Logits (..., n, k) as class probabilities."""
        return _softmax(pred)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_features": self.n_features, "n_classes": self.n_classes,
                "length": self.length, "offset": self.offset.tolist(),
                "scale": self.scale.tolist(), "prior": self.prior.tolist(),
                "unbalanced": self.unbalanced}

    @classmethod
    def from_description(cls, d: dict[str, Any]) -> Classify:
        return cls(int(d["n_features"]), int(d["n_classes"]), int(d["length"]),
                   np.asarray(d["offset"], dtype=np.float64),
                   np.asarray(d["scale"], dtype=np.float64),
                   np.asarray(d["prior"], dtype=np.float64), bool(d["unbalanced"]))


@dataclass(frozen=True)
class Regress(_PerSequence):
    """Numbers per sequence from (n, time, features) arrays (windows the user cut): a
    regression loss over every output. Features and outputs are scaled per column, fit on the
    training sequences."""

    n_features: int
    n_targets: int
    length: int
    offset: np.ndarray = field(compare=False, repr=False)  # (n_features,)
    scale: np.ndarray = field(compare=False, repr=False)
    y_offset: np.ndarray = field(compare=False, repr=False)  # (n_targets,)
    y_scale: np.ndarray = field(compare=False, repr=False)

    kind = "regress"
    metric_names = ()

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(f"y{i}" for i in range(self.n_targets)) if self.n_targets > 1 else ("y",)

    @property
    def n_outputs(self) -> int:
        return self.n_targets

    def member_loss(self, name: str, pred: Any, y: Any) -> Any:
        err = pred - y
        per = err.square() if name == "mse" else err.abs()
        return per.mean(dim=(1, 2))

    def loss(self, name: str, pred: np.ndarray, y: np.ndarray) -> float:
        return loss_value(name, pred, y)

    def combine(self, pred: np.ndarray) -> np.ndarray:
        return pred.mean(axis=0)

    def baseline(self, name: str, x: np.ndarray, y: np.ndarray, train_y: np.ndarray) -> float:
        """Loss of predicting the training mean of each output."""
        if len(y) == 0:
            return float("nan")
        return self.loss(name, np.tile(train_y.mean(axis=0), (len(y), 1)), y)

    def inverse(self, pred: np.ndarray, series: np.ndarray) -> np.ndarray:
        return pred * self.y_scale + self.y_offset

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_features": self.n_features, "n_targets": self.n_targets,
                "length": self.length, "offset": self.offset.tolist(),
                "scale": self.scale.tolist(), "y_offset": self.y_offset.tolist(),
                "y_scale": self.y_scale.tolist()}

    @classmethod
    def from_description(cls, d: dict[str, Any]) -> Regress:
        return cls(int(d["n_features"]), int(d["n_targets"]), int(d["length"]),
                   *(np.asarray(d[k], dtype=np.float64)
                     for k in ("offset", "scale", "y_offset", "y_scale")))


TASKS = {"forecast": Forecast, "classify": Classify, "regress": Regress}


def from_description(d: dict[str, Any]) -> Forecast | Classify | Regress:
    """The task a model file describes."""
    return TASKS[d.get("kind", "forecast")].from_description(d)
