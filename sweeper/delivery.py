"""The delivered model: a trial's repeats at their best validation epochs, predictions averaged.

What a sweep hands back is not one run but all of a trial's seeded repeats, each restored to the
epoch where its validation loss was lowest. Their predictions are averaged; each repeat's own
prediction is kept too, so their spread can be shown as a band. New data is cut by the same
cutter as the sweep's (see windows), with the scalers the model carries; what its table,
figure and summary hold is the task's. The file it is saved in is `modelfile`'s format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from . import modelfile
from .model import EnsembleLSTM, build
from .task import Task
from .task import from_description as task_from_description
from .validate import SpecError
from .windows import PredictionWindows, Windows, for_prediction


def from_bytes(content: bytes, what: str) -> DeliveredModel:
    """A model from a model file's bytes; `what` names the file in the one-sentence error that
    any problem with it becomes."""
    meta, members = modelfile.read(content, what)
    try:
        return DeliveredModel(meta, members)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise SpecError(f"{what} is a damaged sweeper model file "
                        f"({modelfile.first_line(exc)}).") from None


def load_file(path: str | Path) -> DeliveredModel:
    """A model file written by a sweep or by export."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such model file.")
    return from_bytes(path.read_bytes(), str(path))


class DeliveredModel:
    """A trial's repeats at their best validation epochs; `predict` averages them.

    `task` is the task the repeats were trained for (a sweep passes its own); without it, the
    one `meta` describes is rebuilt (a model file)."""

    def __init__(self, meta: dict[str, Any], members: list[dict[str, torch.Tensor]],
                 base_dir: Path | None = None, task: Task | None = None) -> None:
        self.meta = meta
        self.config: dict[str, Any] = dict(meta["config"])
        self.data = dict(meta["data"])
        self.task: Task = task if task is not None else task_from_description(meta["task"])
        self.base_dir = base_dir  # where the study file is: relative data paths start there
        c, t = self.config, self.task
        models = []
        for state in members:
            model = build(t.n_inputs, int(c["hidden"]), int(c["layers"]), float(c["dropout"]),
                          "torch", 0, t.n_outputs, t.n_known)
            model.load_state_dict(state)
            models.append(model.eval())
        self.members = models
        self._ensemble = EnsembleLSTM(models).eval()

    @property
    def n_repeats(self) -> int:
        return len(self.members)

    @property
    def window(self) -> int:
        return self.task.window

    @property
    def horizon(self) -> int:
        return self.task.horizon

    @property
    def loss_name(self) -> str:
        """The loss the model is scored with: the configuration's, or the task's own."""
        return self.task.loss_name(self.config["loss"])

    def predict_scaled(self, x: np.ndarray, k: np.ndarray | None = None, batch: int = 4096
                       ) -> np.ndarray:
        """Each repeat's prediction for scaled windows x (n, window, n_inputs) with known-ahead
        values k (n, n_known): shape (n_repeats, n, n_outputs), in scaled units."""
        k = np.zeros((len(x), 0), np.float32) if k is None else k
        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch):
                xb, kb = (torch.from_numpy(np.ascontiguousarray(a[start:start + batch],
                                                                dtype=np.float32))
                          for a in (x, k))
                out.append(self._ensemble(xb, None, kb).numpy())
        width = self._ensemble.n_members
        return np.concatenate(out, axis=1) if out else \
            np.zeros((width, 0, self.task.n_outputs), np.float32)

    def losses(self, x: np.ndarray, k: np.ndarray, y: np.ndarray) -> tuple[float, list[float]]:
        """(loss of the delivered prediction, each repeat's loss) on scaled windows, with the
        task's loss (the configuration's loss function for numbers)."""
        pred = self.predict_scaled(x, k).astype(np.float64)
        return (self.task.loss(self.config["loss"], self.task.combine(pred), y),
                [self.task.loss(self.config["loss"], p, y) for p in pred])

    def losses_on(self, windows: Windows, split: str) -> tuple[float, list[float]]:
        """`losses` on a split of prepared windows ("val" or "test")."""
        return self.losses(*windows.split(split))

    def scores_on(self, windows: Windows, split: str) -> dict[str, float]:
        """The task's metrics (accuracy, ...) of the delivered prediction on a split; empty
        for a task without metrics."""
        if not self.task.metric_names:
            return {}
        x, k, y = windows.split(split)
        return self.task.scores(self.task.combine(self.predict_scaled(x, k).astype(np.float64)),
                                y)

    def windows(self, data: Any = None) -> PredictionWindows:
        """The windows `predict(data)` predicts, cut and scaled as the study's were."""
        return for_prediction(self.task, self.data, data, self.base_dir,
                              int(self.meta.get("split_seed", 0)))

    def _rows(self, data: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """The prediction table and each repeat's prediction per row (n_repeats, n_rows)."""
        w = self.windows(data)
        return self.task.table(self.predict_scaled(w.x, w.k).astype(np.float64), w)

    def predict(self, data: Any = None) -> pd.DataFrame:
        """One row per window, forecast step and target: `position` (1-based, in its series)
        or `time` of the value predicted, `series` (with several), `step` (with a horizon
        above 1), `variable` (with several targets), `split` (train, validation, test on the
        study's own data; `new` on other data; `future` for the forecast past the end),
        `target`, `prediction` (the repeats' mean) and the repeats' `lowest` and `highest`
        prediction, in the data's own units.

        `data`: None for the study's own data, a CSV path or a DataFrame in the study's format
        (for future covariates, rows after the last target value give them for the forecast
        period), or, for a model of one series, a list, array or Series of its values.

        For sequences (classify, regress): one row per sequence, `sequence` (1-based) and
        `split`; for classes `label` (when known), `prediction` (the class of the highest
        averaged probability), its `probability`, the repeats' `lowest` and `highest`
        probability of it, and `p_0` ... per class; `data` is an array (n, time, features) or
        an .npz file."""
        return self._rows(data)[0]

    def predict_members(self, data: Any = None) -> np.ndarray:
        """Each repeat's prediction per row of `predict(data)`: (n_repeats, n_rows); for
        classes, the class each repeat would pick."""
        return self._rows(data)[1]

    def figure(self, rows: pd.DataFrame, title: str) -> tuple[str, Any]:
        """(file name, Figure) of a `predict` table, as suits the task."""
        return self.task.figure(rows, title)

    def summary(self, rows: pd.DataFrame, what: str) -> list[str]:
        """Lines saying what a `predict` table holds (`what`: the data it was made on)."""
        return self.task.summary(rows, what)

    def to_bytes(self) -> bytes:
        """The model as a model file's content."""
        return modelfile.to_bytes(self.meta, [m.state_dict() for m in self.members])

    def describe(self) -> str:
        m = self.meta
        epochs = ", ".join(str(e) for e in m.get("best_epochs", []))
        return (f"study {m.get('study')!r} trial #{m.get('trial')}: {self.n_repeats} repeats "
                f"at their best validation epochs ({epochs}), sweeper {m.get('sweeper_version')}")
