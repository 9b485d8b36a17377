"""The task: what a model reads and predicts, how it is scored, and how its output reads.

Everything that depends on the shape of the problem lives here, behind one protocol (`Task`),
so that the engines, the sweep and the delivered model stay the same for every task:

- widths: features per time step the LSTM reads (`n_inputs`), known-ahead values fed to the
  head beside its last hidden state (`n_known`), and the head's outputs (`n_outputs`);
- the loss per repeat (averaged over every output), its name, and the metrics beside it;
- how the repeats' predictions combine into the delivered one;
- the baseline a model must beat, and what it is called;
- scaling inputs and targets, and undoing it (the data's own units, or class probabilities);
- the prediction table, its figure and its summary lines.

`Forecast` is one or more target series forecast `horizon` steps at once, from a window of
targets and covariates; its scaler is per series and column, fit on each series' training part.
`Classify` labels whole sequences (cross-entropy, accuracy); `Regress` maps sequences the user
cut to numbers. Both scale per feature on the training sequences.

No torch import at module level: the data modules build a task without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

LOSSES = ("mse", "mae")


def loss_value(name: str, pred: np.ndarray, y: np.ndarray) -> float:
    """A regression loss over every element, in float64."""
    err = np.asarray(pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(err**2) if name == "mse" else np.mean(np.abs(err)))


class Task(Protocol):
    """What every task provides. Arrays of predictions are (n_repeats, n_windows, n_outputs)
    in scaled units; the torch-facing methods (`member_loss`, `metrics`) take tensors."""

    kind: str  # the name a model file stores the task under
    targets: tuple[str, ...]  # what is predicted, by name
    past: tuple[str, ...]  # input columns known only up to the forecast time
    future: tuple[str, ...]  # input columns known ahead, fed for the forecast steps too
    series: tuple[str, ...]  # one name per series ("" for a lone unnamed series)
    window: int  # steps a window reads (0 for whole sequences)
    horizon: int
    offset: np.ndarray  # input scalers: scaled = (raw - offset) / scale
    scale: np.ndarray
    metric_names: tuple[str, ...]  # recorded beside the loss (accuracy, ...)
    predicts_numbers: bool  # its outputs are numbers (prediction intervals apply)
    loss_names: tuple[str, ...]  # the losses the task can be scored with
    baseline_name: str  # what `baseline` predicts, in words

    @property
    def columns(self) -> tuple[str, ...]: ...
    @property
    def n_inputs(self) -> int: ...
    @property
    def n_known(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    @property
    def input_shape(self) -> tuple[int, int]: ...
    def loss_name(self, configured: str) -> str: ...
    def loss_label(self, configured: str) -> str: ...
    def member_loss(self, name: str, pred: Any, y: Any) -> Any: ...
    def metrics(self, pred: Any, y: Any) -> dict[str, Any]: ...
    def loss(self, name: str, pred: np.ndarray, y: np.ndarray) -> float: ...
    def scores(self, pred: np.ndarray, y: np.ndarray) -> dict[str, float]: ...
    def combine(self, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray: ...
    def baseline(self, name: str, x: np.ndarray, y: np.ndarray, train_y: np.ndarray
                 ) -> float: ...
    def baseline_scores(self, y: np.ndarray) -> dict[str, float]: ...
    def baselines(self, windows: Any, loss: str) -> Any: ...
    def in_units(self, pred: np.ndarray, y: np.ndarray, series: np.ndarray
                 ) -> dict[str, dict[str, float]]: ...
    def encode_inputs(self, values: np.ndarray, row: int = 0) -> np.ndarray: ...
    def encode_targets(self, values: np.ndarray) -> np.ndarray: ...
    def inverse(self, pred: np.ndarray, series: np.ndarray | None) -> np.ndarray: ...
    def table(self, pred: np.ndarray, windows: Any, weights: np.ndarray | None = None,
              intervals: dict[float, np.ndarray] | None = None
              ) -> tuple[pd.DataFrame, np.ndarray]: ...
    def figure(self, rows: pd.DataFrame, title: str) -> tuple[str, Any]: ...
    def summary(self, rows: pd.DataFrame, what: str, show: int = 6) -> list[str]: ...
    def describe(self) -> dict[str, Any]: ...


def scaled(values: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Raw values as the model reads them, float32: one formula for fitting and predicting."""
    return ((values - offset) / scale).astype(np.float32)


def _scaled_label(loss: str, offset: np.ndarray, scale: np.ndarray) -> str:
    """The loss a model of numbers trains on, with its unit: of the scaled targets, unless
    the scaler leaves them as they are."""
    plain = np.allclose(offset, 0.0) and np.allclose(scale, 1.0)
    return loss if plain else f"scaled {loss}"


def _errors(pred: np.ndarray, truth: np.ndarray, targets: tuple[str, ...]
            ) -> dict[str, dict[str, float]]:
    """{target: {"mse", "rmse", "mae"}} of predictions against the truth, both in the data's
    units with targets on the last axis."""
    err = (pred - truth).reshape(-1, len(targets))
    out = {}
    for j, name in enumerate(targets):
        mse = float(np.mean(err[:, j] ** 2)) if len(err) else float("nan")
        out[name] = {"mse": mse, "rmse": float(np.sqrt(mse)),
                     "mae": float(np.mean(np.abs(err[:, j]))) if len(err) else float("nan")}
    return out


def _bands(center: np.ndarray, intervals: dict[float, np.ndarray] | None,
           inverse: Any) -> dict[str, np.ndarray]:
    """lower_<level> and upper_<level> columns (level in percent) around a scaled prediction
    (n, n_outputs), with scaled half-widths per output, in the data's units by `inverse`."""
    out = {}
    for level, width in sorted((intervals or {}).items()):
        pct = f"{level * 100:g}"
        out[f"lower_{pct}"] = inverse(center - width).reshape(-1)
        out[f"upper_{pct}"] = inverse(center + width).reshape(-1)
    return out


def _plain(value: Any) -> str:
    """A time at midnight as its date; anything else as it prints."""
    if hasattr(value, "normalize") and value == value.normalize():
        return str(value.date())
    return str(value)


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
    metric_names = ()
    predicts_numbers = True
    loss_names = LOSSES
    baseline_name = "naive forecast"  # the better of the last value and the training mean

    @property
    def columns(self) -> tuple[str, ...]:
        return self.targets + self.past + self.future

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.window, self.n_inputs

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

    def loss_name(self, configured: str) -> str:
        return configured

    def loss_label(self, configured: str) -> str:
        t = len(self.targets)
        return _scaled_label(configured, self.offset[:, :t], self.scale[:, :t])

    def metrics(self, pred: Any, y: Any) -> dict[str, Any]:
        return {}

    def loss(self, name: str, pred: np.ndarray, y: np.ndarray) -> float:
        return loss_value(name, pred, y)

    def scores(self, pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return {}

    def combine(self, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The members' predictions (R, n, n_outputs) as the delivered one: their mean,
        weighted by `weights` (R,) when given."""
        return np.average(pred, axis=0, weights=weights)

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

    def baseline_scores(self, y: np.ndarray) -> dict[str, float]:
        return {}

    def baselines(self, windows: Any, loss: str) -> Any:
        """What a forecaster gets without sweeper on these windows (see baselines)."""
        from .baselines import for_numbers

        return for_numbers(windows.split("train"), windows.split("val"), self.horizon,
                           len(self.targets), windows.season,
                           lambda p, y: self.loss(loss, p, y), self.window)

    def in_units(self, pred: np.ndarray, y: np.ndarray, series: np.ndarray
                 ) -> dict[str, dict[str, float]]:
        """MSE, RMSE and MAE per target in the data's own units, over every window and step,
        of a scaled prediction (n, n_outputs) against scaled targets, per window's series."""
        return _errors(self.inverse(pred, series), self.inverse(y.astype(np.float64), series),
                       self.targets)

    def encode_inputs(self, values: np.ndarray, row: int = 0) -> np.ndarray:
        """A series' values (n_steps, columns), scaled with that series' (`row`) scaler."""
        return scaled(values, self.offset[row], self.scale[row])

    def encode_targets(self, values: np.ndarray) -> np.ndarray:
        return values  # the targets are input columns, scaled with them

    def inverse(self, pred: np.ndarray, series: np.ndarray | None) -> np.ndarray:
        """Scaled outputs (..., n_windows, n_outputs) back to the data's units, per window's
        series: shape (..., n_windows, horizon, n_targets)."""
        t = len(self.targets)
        shaped = pred.reshape(*pred.shape[:-1], self.horizon, t)
        rows = np.zeros(pred.shape[-2], int) if series is None else series
        scale = self.scale[rows][:, None, :t]  # (n_windows, 1, n_targets)
        offset = self.offset[rows][:, None, :t]
        return shaped * scale + offset

    def table(self, pred: np.ndarray, windows: Any, weights: np.ndarray | None = None,
              intervals: dict[float, np.ndarray] | None = None
              ) -> tuple[pd.DataFrame, np.ndarray]:
        """Long format, one row per window, forecast step and target (see
        DeliveredModel.predict), from each member's scaled prediction (R, n, n_outputs) for
        `windows` (windows.PredictionWindows), averaged with `weights`, with the prediction
        intervals whose scaled half-widths per output `intervals` gives by level; and each
        member's prediction per row."""
        at, w = windows.at, windows
        values = self.inverse(pred, at[:, 0])  # (R, n, horizon, n_targets)
        center = self.combine(pred, weights)  # (n, n_outputs), scaled
        n, h, nt = len(at), self.horizon, len(self.targets)
        columns: dict[str, Any] = {}
        if w.grouped:
            columns["series"] = np.repeat([self.series[i] for i in at[:, 0]], h * nt)
        if w.times is not None:
            columns["time"] = np.repeat(w.times.reshape(n, h), nt, axis=1).reshape(-1)
        else:
            columns["position"] = np.repeat((at[:, 1:2] + np.arange(h)[None] + 1), nt,
                                            axis=1).reshape(-1)
        if h > 1:
            columns["step"] = np.tile(np.repeat(np.arange(1, h + 1), nt), n)
        if nt > 1:
            columns["variable"] = np.tile(list(self.targets), n * h)
        columns["split"] = np.repeat(w.split, h * nt)
        columns["target"] = w.y.reshape(-1)
        columns["prediction"] = self.inverse(center, at[:, 0]).reshape(-1)
        columns.update(_bands(center, intervals, lambda v: self.inverse(v, at[:, 0])))
        columns["lowest"] = values.min(axis=0).reshape(-1)
        columns["highest"] = values.max(axis=0).reshape(-1)
        return pd.DataFrame(columns), values.reshape(len(values), -1)

    def figure(self, rows: pd.DataFrame, title: str) -> tuple[str, Any]:
        """(file name, Figure): target against prediction and the repeats' band over time."""
        from .plots import draw_forecast, forecast_figure_data

        return "forecast.png", draw_forecast(forecast_figure_data(rows, title,
                                                                  self.targets[0]))

    def summary(self, rows: pd.DataFrame, what: str, show: int = 6) -> list[str]:
        """Windows per split, and the first few values forecast past the data's end."""
        first = rows
        for column in ("step", "variable"):
            if column in rows:
                first = first[first[column] == first[column].iloc[0]]
        counts = first["split"].value_counts()
        lines = [f"{len(first)} windows on {what} ({len(rows)} rows of predictions): " + ", ".join(
            f"{counts[s]} {s}" for s in ("train", "validation", "test", "new", "future")
            if s in counts)]
        future = rows[rows["split"] == "future"]
        if future.empty:
            lines.append("no forecast past the data's end: it needs the future covariates of "
                         "the steps it forecasts (give them in rows after the last target "
                         "value, with --data)")
        for _, row in future.head(show).iterrows():
            where = ", ".join(f"{c} {_plain(row[c])}" for c in ("series", "time", "position",
                                                                 "step", "variable")
                              if c in row)
            bands = "".join(f"{level}% interval {row[f'lower_{level}']:.6g} to "
                            f"{row[f'upper_{level}']:.6g}; " for level in ("80", "95")
                            if f"lower_{level}" in row)
            lines.append(f"forecast ({where}): {row['prediction']:.6g} ({bands}the runs' range "
                         f"{row['lowest']:.6g} to {row['highest']:.6g})")
        if len(future) > show:
            lines.append(f"... and {len(future) - show} more forecast rows in the file")
        return lines

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
    past: tuple[str, ...] = ()
    future: tuple[str, ...] = ()
    n_features: int
    length: int
    offset: np.ndarray
    scale: np.ndarray

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f"x{i}" for i in range(self.n_features))

    @property
    def n_inputs(self) -> int:
        return self.n_features

    @property
    def n_known(self) -> int:
        return 0

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.length, self.n_features

    def encode_inputs(self, values: np.ndarray, row: int = 0) -> np.ndarray:
        """Sequences (n, time, features), scaled per feature."""
        return scaled(values, self.offset, self.scale)

    def baseline_scores(self, y: np.ndarray) -> dict[str, float]:
        return {}

    def _rows(self, windows: Any) -> dict[str, Any]:
        """The columns every sequence table starts with: its number and split."""
        return {"sequence": np.arange(1, len(windows.x) + 1), "split": windows.split}

    def summary(self, rows: pd.DataFrame, what: str, show: int = 6) -> list[str]:
        """Sequences per split (with the accuracy where labels are known)."""
        lines = []
        for split, part in rows.groupby("split", sort=False):
            n = part["sequence"].nunique()
            hit = (f": accuracy {(part['label'] == part['prediction']).mean():.3f}"
                   if "label" in part else "")
            lines.append(f"{n} {split} sequences{hit}")
        return [f"on {what}: " + "; ".join(lines)]


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
    # The label of each class 0..k-1, as the data gave it (a name, a number, True/False);
    # empty for models written before labels were kept: the classes are then 0..k-1.
    classes: tuple[Any, ...] = ()

    kind = "classify"
    targets = ("class",)
    predicts_numbers = False
    loss_names = ("cross-entropy",)
    baseline_name = "class-prior prediction"  # the training class shares for every sequence

    @property
    def n_outputs(self) -> int:
        return self.n_classes

    @property
    def labels(self) -> np.ndarray:
        """The label of each class 0..k-1, as given (object array)."""
        names = self.classes or tuple(range(self.n_classes))
        out = np.empty(len(names), dtype=object)
        out[:] = list(names)
        return out

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

    def loss_name(self, configured: str) -> str:
        return "cross-entropy"  # whatever the configuration's regression loss says

    def loss_label(self, configured: str) -> str:
        return "cross-entropy"

    def loss(self, name: str, pred: np.ndarray, y: np.ndarray) -> float:
        return cross_entropy(pred, y)

    def combine(self, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The members' predictions (R, n, k) as one: logits of their averaged probabilities
        (weighted by `weights` when given), so that the ensemble's loss is that of what it
        delivers."""
        return np.log(np.clip(np.average(_softmax(pred), axis=0, weights=weights), 1e-12,
                              None))

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

    def baseline_scores(self, y: np.ndarray) -> dict[str, float]:
        """The majority class's accuracy on labels y, to hold the model's accuracy against."""
        return {"majority": self.majority(y)}

    def baselines(self, windows: Any, loss: str) -> Any:
        """The majority class and a linear classifier on these windows (see baselines)."""
        from .baselines import for_classes

        return for_classes(windows.split("train"), windows.split("val"), self.prior,
                           lambda p, y: self.loss(loss, p, y))

    def in_units(self, pred: np.ndarray, y: np.ndarray, series: np.ndarray
                 ) -> dict[str, dict[str, float]]:
        """Accuracy (and macro-F1 for unbalanced classes) of logits against labels."""
        return {"class": self.scores(pred, y)}

    def encode_targets(self, values: np.ndarray) -> np.ndarray:
        """Class labels 0..k-1 as the float column (n, 1) the windows hold."""
        return np.asarray(values).astype(np.float32)[:, None]

    def inverse(self, pred: np.ndarray, series: np.ndarray | None) -> np.ndarray:
        """Logits (..., n, k) as class probabilities."""
        return _softmax(pred)

    def table(self, pred: np.ndarray, windows: Any, weights: np.ndarray | None = None,
              intervals: dict[float, np.ndarray] | None = None
              ) -> tuple[pd.DataFrame, np.ndarray]:
        """One row per sequence: its `label` where known, the class of the highest averaged
        probability (weighted by `weights`), that probability and the members' lowest and
        highest of it, and each class's probability; and the class each member would pick."""
        probs = self.inverse(pred, None)  # (R, n, k)
        n = probs.shape[1]
        mean = np.average(probs, axis=0, weights=weights)
        pick = mean.argmax(axis=1)
        own = probs[:, np.arange(n), pick]
        columns = self._rows(windows)
        if windows.y is not None:
            columns["label"] = np.asarray(windows.y)
        labels = self.labels
        columns.update(prediction=labels[pick], probability=mean[np.arange(n), pick],
                       lowest=own.min(axis=0), highest=own.max(axis=0))
        for c, name in enumerate(labels):
            columns[f"p_{name}"] = mean[:, c]
        return pd.DataFrame(columns), labels[probs.argmax(axis=2)]

    def figure(self, rows: pd.DataFrame, title: str) -> tuple[str, Any]:
        """(file name, Figure): the confusion matrix of the validation sequences."""
        from .plots import confusion_data, draw_confusion

        return "confusion.png", draw_confusion(confusion_data(rows, "validation", title))

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_features": self.n_features, "n_classes": self.n_classes,
                "length": self.length, "offset": self.offset.tolist(),
                "scale": self.scale.tolist(), "prior": self.prior.tolist(),
                "unbalanced": self.unbalanced, "classes": list(self.classes)}

    @classmethod
    def from_description(cls, d: dict[str, Any]) -> Classify:
        return cls(int(d["n_features"]), int(d["n_classes"]), int(d["length"]),
                   np.asarray(d["offset"], dtype=np.float64),
                   np.asarray(d["scale"], dtype=np.float64),
                   np.asarray(d["prior"], dtype=np.float64), bool(d["unbalanced"]),
                   tuple(d.get("classes") or ()))


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
    predicts_numbers = True
    loss_names = LOSSES
    baseline_name = "training-mean prediction"

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

    def loss_name(self, configured: str) -> str:
        return configured

    def loss_label(self, configured: str) -> str:
        return _scaled_label(configured, self.y_offset, self.y_scale)

    def metrics(self, pred: Any, y: Any) -> dict[str, Any]:
        return {}

    def loss(self, name: str, pred: np.ndarray, y: np.ndarray) -> float:
        return loss_value(name, pred, y)

    def scores(self, pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return {}

    def combine(self, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.average(pred, axis=0, weights=weights)

    def baseline(self, name: str, x: np.ndarray, y: np.ndarray, train_y: np.ndarray) -> float:
        """Loss of predicting the training mean of each output."""
        if len(y) == 0:
            return float("nan")
        return self.loss(name, np.tile(train_y.mean(axis=0), (len(y), 1)), y)

    def baselines(self, windows: Any, loss: str) -> Any:
        """The training mean and a linear model of the sequences (see baselines)."""
        from .baselines import for_numbers

        return for_numbers(windows.split("train"), windows.split("val"), 1, self.n_targets,
                           None, lambda p, y: self.loss(loss, p, y))

    def in_units(self, pred: np.ndarray, y: np.ndarray, series: np.ndarray
                 ) -> dict[str, dict[str, float]]:
        """MSE, RMSE and MAE per output in the data's own units."""
        return _errors(self.inverse(pred, None), self.inverse(y.astype(np.float64), None),
                       self.targets)

    def encode_targets(self, values: np.ndarray) -> np.ndarray:
        """Numbers (n, outputs), scaled per output with the training sequences' scaler."""
        return scaled(values, self.y_offset, self.y_scale)

    def inverse(self, pred: np.ndarray, series: np.ndarray | None) -> np.ndarray:
        return pred * self.y_scale + self.y_offset

    def table(self, pred: np.ndarray, windows: Any, weights: np.ndarray | None = None,
              intervals: dict[float, np.ndarray] | None = None
              ) -> tuple[pd.DataFrame, np.ndarray]:
        """One row per sequence and output (`variable` with several): the `target` where
        known, the members' weighted mean `prediction`, its prediction intervals, and the
        members' `lowest` and `highest`; and each member's prediction per row."""
        values = self.inverse(pred, None)  # (R, n, outputs)
        center = self.combine(pred, weights)
        n, n_out = values.shape[1:]
        frame = pd.DataFrame({k: np.repeat(v, n_out) for k, v in self._rows(windows).items()})
        if n_out > 1:
            frame["variable"] = np.tile(list(self.targets), n)
        known = windows.y
        frame["target"] = np.nan if known is None else \
            np.asarray(known, dtype=float).reshape(-1)
        frame["prediction"] = self.inverse(center, None).reshape(-1)
        for name, column in _bands(center, intervals, lambda v: self.inverse(v, None)).items():
            frame[name] = column
        frame["lowest"] = values.min(axis=0).reshape(-1)
        frame["highest"] = values.max(axis=0).reshape(-1)
        return frame, values.reshape(len(values), -1)

    def figure(self, rows: pd.DataFrame, title: str) -> tuple[str, Any]:
        """(file name, Figure): prediction against target, per split."""
        from .plots import draw_scatter

        return "predictions.png", draw_scatter(rows, title)

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


def from_description(d: dict[str, Any]) -> Task:
    """The task a model file describes."""
    return TASKS[d.get("kind", "forecast")].from_description(d)
