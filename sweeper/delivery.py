"""The delivered model: a trial's repeats at their best validation epochs, predictions averaged.

What a sweep hands back is not one run but all of a trial's seeded repeats, each restored to the
epoch where its validation loss was lowest. Their predictions are averaged; each repeat's own
prediction is kept too, so their spread can be shown as a band.

A model file is one self-contained file:

    {"format": "sweeper-model", "format_version": 1,
     "meta": "<JSON: sweeper version, study, trial, config, data spec, scaler, best epochs>",
     "members": [one LSTMRegressor state dict per repeat]}

written with `torch.save` and read with `torch.load(..., weights_only=True)`: tensors, numbers
and strings only, so loading a model file never runs code from it. A completed trial that can
still matter (among the `Study.keep_models` best when it finished) saves its file as an Optuna
artifact of the trial; once it falls out of that many best, the file is cut to a short note
saying so, which keeps the disk used bounded while every artifact stays readable.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import torch
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from . import __version__, keys
from .data import (
    Data,
    Series,
    Windows,
    check_x,
    class_labels,
    load_frame,
    load_sequences,
    series_of,
    split_sequences,
    split_sizes,
    window_index,
)
from .model import EnsembleLSTM, build
from .record import Record, json_safe
from .task import from_description as task_from_description
from .validate import SpecError, did_you_mean

FORMAT = "sweeper-model"
FORMAT_VERSION = 1
# What an evicted model file is cut to (then a sentence saying why).
REMOVED = b"sweeper: model file removed\n"


def meta_for(study: str, trial: int, config: dict[str, Any], data: Data, windows: Windows,
             seeds: list[int], best_epochs: list[int], split_seed: int = 0) -> dict[str, Any]:
    """Everything besides the weights that a model file holds: enough to rebuild the repeats
    and to cut and scale new data exactly as the study did (the task holds the scalers;
    `split_seed` drew a sequence set's validation and test sequences)."""
    return json_safe({
        "sweeper_version": __version__, "study": study, "trial": trial, "config": config,
        "data": data.describe(), "task": windows.task.describe(), "seeds": seeds,
        "best_epochs": best_epochs, "split_seed": split_seed,
    })


def to_bytes(meta: dict[str, Any], states: list[dict[str, torch.Tensor]]) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "meta": json.dumps(meta),
                "members": [{k: v.detach().cpu().float() for k, v in s.items()}
                            for s in states]}, buffer)
    return buffer.getvalue()


def from_bytes(content: bytes, what: str) -> DeliveredModel:
    """A model from a model file's bytes; `what` names the file in the one-sentence error that
    any problem with it becomes."""
    if content.startswith(REMOVED):
        why = content[len(REMOVED):].decode("utf-8", "replace").strip()
        raise SpecError(f"{what} no longer holds a model: {why}")
    try:
        payload = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    except pickle_errors() as exc:
        if not zipfile.is_zipfile(io.BytesIO(content)) and content[:2] == b"PK":
            raise SpecError(f"{what} is cut off (truncated): it is not a whole model "
                            "file.") from None
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise SpecError(f"{what} holds objects other than tensors, numbers and strings; "
                            "sweeper never runs code from a model file, so it is refused.") \
                from None
        raise SpecError(f"{what} is not a sweeper model file (it cannot be read as one: "
                        f"{_first_line(exc)}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SpecError(f"{what} is not a sweeper model file (a {FORMAT!r} file is written "
                        "by a sweep or by 'python -m sweeper export').")
    version = payload.get("format_version")
    try:
        meta = json.loads(payload["meta"])
        written_by = meta.get("sweeper_version", "?")
    except (KeyError, TypeError, ValueError):
        meta, written_by = None, "?"
    if version != FORMAT_VERSION:
        raise SpecError(f"{what} was written by sweeper {written_by} in model format "
                        f"{version}; this sweeper ({__version__}) reads format {FORMAT_VERSION}. "
                        "Use the sweeper version that wrote it, or export the model again.")
    members = payload.get("members")
    if meta is None or not isinstance(members, list) or not members:
        raise SpecError(f"{what} is a damaged sweeper model file (its description or weights "
                        "are missing).")
    try:
        return DeliveredModel(meta, members)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise SpecError(f"{what} is a damaged sweeper model file ({_first_line(exc)}).") \
            from None


def pickle_errors() -> tuple[type[BaseException], ...]:
    """What torch.load raises for files it cannot read, whatever the cause."""
    import pickle

    return (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, KeyError,
            AttributeError, ImportError, IndexError, TypeError, zipfile.BadZipFile)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def load_file(path: str | Path) -> DeliveredModel:
    """A model file written by a sweep or by export."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such model file.")
    return from_bytes(path.read_bytes(), str(path))


class DeliveredModel:
    """A trial's repeats at their best validation epochs; `predict` averages them."""

    def __init__(self, meta: dict[str, Any], members: list[dict[str, torch.Tensor]],
                 base_dir: Path | None = None) -> None:
        self.meta = meta
        self.config: dict[str, Any] = dict(meta["config"])
        self.data = dict(meta["data"])
        self.task = task_from_description(meta["task"])
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

    def _frame(self, data: Any) -> tuple[pd.DataFrame, str, Data, bool]:
        """(frame, where, spec to read it with, whether it is the study's own data)."""
        spec = Data.from_description(self.data, source="toy")  # roles only; source below
        if data is None:
            if self.data["source"] in ("array", "dataframe"):
                raise SpecError(f"this model was trained on {self.data['source']} data, which "
                                "it does not carry; pass the data to predict.")
            own = Data.from_description(self.data)
            frame, _, where = load_frame(own, self.base_dir)
            return frame, where, own, True
        if isinstance(data, (str, Path)):
            path = Path(data)
            if not path.is_file():
                raise SpecError(f"{path}: no such data file.")
            try:
                frame = pd.read_csv(path, comment="#")
            except Exception as exc:  # pandas raises many types; all mean "not a readable CSV"
                raise SpecError(f"{path} is not a readable CSV file: {_first_line(exc)}.") \
                    from None
            where = path.name
        elif isinstance(data, pd.DataFrame):
            frame, where = data.reset_index(drop=True), "the DataFrame"
        else:
            values = np.asarray(data, dtype=float).reshape(-1)
            if len(self.task.targets) > 1 or self.task.past or self.task.future or \
                    self.data.get("group"):
                raise SpecError("this model reads several columns; pass a DataFrame or a CSV "
                                f"file with {', '.join(self.task.columns)}.")
            frame, where = pd.DataFrame({self.task.targets[0]: values}), "the data"
        if self.data.get("time") and self.data["time"] not in frame.columns:
            spec = dataclasses.replace(spec, time=None)  # new data may come without times
        return frame, where, dataclasses.replace(spec, target=list(self.task.targets)), False

    def _sequences(self, data: Any) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        """(x, labels or numbers if known, split per sequence) for a sequence model."""
        t = self.task
        if data is None:
            spec = Data.from_description(self.data)
            if spec.source == "arrays":
                raise SpecError("this model was trained on arrays, which it does not carry; "
                                "pass the sequences to predict.")
            x, y, _, where = load_sequences(spec, self.base_dir)
            labels = class_labels(y, where) if t.kind == "classify" else None
            parts = split_sequences(labels, len(x), spec, int(self.meta.get("split_seed", 0)),
                                     where)
            split = np.empty(len(x), dtype=object)
            for name, idx in zip(("train", "validation", "test"), parts, strict=True):
                split[idx] = name
            return x, y, list(split)
        if isinstance(data, (str, Path)):
            x, y, _, _ = load_sequences(Data(source=str(data), task=t.kind), None)
        else:
            x, y = np.asarray(data, dtype=float), None
        if x.ndim != 3 or x.shape[1:] != (t.length, t.n_features):
            raise SpecError(f"the sequences have shape {x.shape}; this model reads sequences "
                            f"of {t.length} steps x {t.n_features} features, shape (n, "
                            f"{t.length}, {t.n_features}).")
        check_x(x, "the sequences")
        return x, y, ["new"] * len(x)

    def _sequence_rows(self, data: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """One row per sequence: its class (with each class's probability, averaged over the
        repeats) or its numbers."""
        t = self.task
        x, y, split = self._sequences(data)
        scaled = ((x - t.offset) / t.scale).astype(np.float32)
        raw = self.predict_scaled(scaled).astype(np.float64)
        columns: dict[str, Any] = {"sequence": np.arange(1, len(x) + 1), "split": split}
        if t.kind == "classify":
            probs = t.inverse(raw, None)  # (R, n, k)
            mean = probs.mean(axis=0)
            pick = mean.argmax(axis=1)
            own = probs[:, np.arange(len(x)), pick]
            if y is not None:
                columns["label"] = np.asarray(y).astype(int)
            columns.update(prediction=pick, probability=mean[np.arange(len(x)), pick],
                           lowest=own.min(axis=0), highest=own.max(axis=0))
            for c in range(t.n_classes):
                columns[f"p_{c}"] = mean[:, c]
            return pd.DataFrame(columns), pick[None].repeat(len(probs), 0)
        values = t.inverse(raw, None)  # (R, n, outputs)
        n_out = values.shape[2]
        frame = pd.DataFrame({k: np.repeat(v, n_out) for k, v in columns.items()})
        if n_out > 1:
            frame["variable"] = np.tile(list(t.targets), len(x))
        known = None if y is None else np.asarray(y, dtype=float).reshape(len(x), -1)
        frame["target"] = np.nan if known is None else known.reshape(-1)
        frame["prediction"] = values.mean(axis=0).reshape(-1)
        frame["lowest"] = values.min(axis=0).reshape(-1)
        frame["highest"] = values.max(axis=0).reshape(-1)
        return frame, values.reshape(len(values), -1)

    def _rows(self, data: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """The prediction table and each repeat's prediction per row (n_repeats, n_rows)."""
        if self.task.kind != "forecast":
            return self._sequence_rows(data)
        frame, where, spec, own = self._frame(data)
        t = self.task
        try:
            series = series_of(spec, frame, where, future_rows=not own)
        except SpecError as exc:
            if own or len(t.targets) > 1 or t.past or t.future or spec.group:
                raise
            # A frame of new values for one target: its only numeric column, as a study reads.
            numeric = [str(c) for c in frame.select_dtypes("number").columns]
            if len(numeric) != 1:
                raise SpecError(f"{where} has no column {t.targets[0]!r}, the one this model "
                                f"reads, and {len(numeric)} numeric columns "
                                f"({', '.join(numeric) or 'none'}) to take it from.") from exc
            series = series_of(dataclasses.replace(spec, target=numeric), frame, where,
                               future_rows=True)
        index = self._series_index(series, where)
        w, h = t.window, t.horizon
        xs, ks, ys, ats, splits, times = [], [], [], [], [], []
        for s, si in zip(series, index, strict=True):
            if s.n_known < w:
                label = f"series {s.name!r}" if s.name else where
                raise SpecError(f"{label} has {s.n_known} values, too few for one window of "
                                f"{w}; this model needs at least {w}.")
            scaled = ((s.values - t.offset[si]) / t.scale[si]).astype(np.float32)
            inputs, steps = window_index(s.n_known, w, h)
            if own:
                a, b, _ = split_sizes(len(inputs), spec)
                labels = ["train"] * a + ["validation"] * b + ["test"] * (len(inputs) - a - b)
            else:
                labels = ["new"] * len(inputs)
            if not t.future or s.future_rows >= h:  # the forecast past the end
                inputs = np.vstack([inputs, np.arange(s.n_known - w, s.n_known)[None]])
                steps = np.vstack([steps, s.n_known + np.arange(h)[None]])
                labels.append("future")
            elif s.future_rows:
                raise SpecError(f"the forecast past the end of {where}"
                                f"{f' (series {s.name!r})' if s.name else ''} needs the future "
                                f"covariates {', '.join(t.future)} for {h} steps, but only "
                                f"{s.future_rows} rows after its last target value give them.")
            padded = np.vstack([scaled, np.full((h, scaled.shape[1]), np.nan, np.float32)])
            nt, nf = len(t.targets), len(t.future)
            xs.append(padded[inputs])
            ks.append(padded[steps][:, :, nt + len(t.past):].reshape(len(inputs), h * nf))
            raw = np.vstack([s.values, np.full((h, s.values.shape[1]), np.nan)])
            ys.append(raw[steps][:, :, :nt])
            ats.append(np.column_stack([np.full(len(inputs), si), steps[:, 0]]))
            splits += labels
            times.append(_step_times(s, steps))
        x, k, actual = np.concatenate(xs), np.concatenate(ks), np.concatenate(ys)
        at = np.concatenate(ats)
        pred = t.inverse(self.predict_scaled(x, k).astype(np.float64), at[:, 0])
        stamps = None if any(tm is None for tm in times) else np.concatenate(times)
        return self._table(pred, actual, at, splits, stamps, series, index)

    def _series_index(self, series: list[Series], where: str) -> list[int]:
        """Each series' row in the task's scalers: by name when the study had several."""
        names = list(self.task.series)
        if len(names) == 1 and names[0] == "":
            if len(series) > 1:
                raise SpecError(f"{where} holds {len(series)} series, but this model was "
                                "trained on one.")
            return [0]
        index = []
        for s in series:
            if s.name not in names:
                raise SpecError(f"series {s.name!r} in {where} is not one this model was "
                                f"trained on{did_you_mean(s.name, names)}; it scales each "
                                "series with that series' own training statistics, so it knows "
                                f"only {', '.join(names)}.")
            index.append(names.index(s.name))
        return index

    def _table(self, pred: np.ndarray, actual: np.ndarray, at: np.ndarray, splits: list[str],
               times: np.ndarray, series: list[Series], index: list[int]
               ) -> tuple[pd.DataFrame, np.ndarray]:
        """Long format: one row per window, forecast step and target."""
        t = self.task
        n, h, nt = actual.shape
        mean = pred.mean(axis=0)
        columns: dict[str, Any] = {}
        if self.data.get("group"):
            columns["series"] = np.repeat([t.series[i] for i in at[:, 0]], h * nt)
        if times is not None and self.data.get("time"):
            columns["time"] = np.repeat(times.reshape(n, h), nt, axis=1).reshape(-1)
        else:
            columns["position"] = np.repeat((at[:, 1:2] + np.arange(h)[None] + 1), nt,
                                            axis=1).reshape(-1)
        if h > 1:
            columns["step"] = np.tile(np.repeat(np.arange(1, h + 1), nt), n)
        if nt > 1:
            columns["variable"] = np.tile(list(t.targets), n * h)
        columns["split"] = np.repeat(splits, h * nt)
        columns["target"] = actual.reshape(-1)
        columns["prediction"] = mean.reshape(-1)
        columns["lowest"] = pred.min(axis=0).reshape(-1)
        columns["highest"] = pred.max(axis=0).reshape(-1)
        return pd.DataFrame(columns), pred.reshape(len(pred), -1)

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

    def describe(self) -> str:
        m = self.meta
        epochs = ", ".join(str(e) for e in m.get("best_epochs", []))
        return (f"study {m.get('study')!r} trial #{m.get('trial')}: {self.n_repeats} repeats "
                f"at their best validation epochs ({epochs}), sweeper {m.get('sweeper_version')}")


def _step_times(s: Series, steps: np.ndarray) -> np.ndarray | None:
    """The time of every forecast step (n_windows, horizon): the series' own times, then
    continued by its usual step past its end."""
    if s.times is None:
        return None
    times = s.times
    if np.issubdtype(times.dtype, np.datetime64):
        t = pd.DatetimeIndex(times)
        freq = pd.infer_freq(t) if len(t) >= 3 else None
        extra = pd.date_range(t[-1], periods=int(steps.max()) - len(t) + 2,
                              freq=freq or (t[-1] - t[-2]))[1:] if steps.max() >= len(t) \
            else pd.DatetimeIndex([])
        full = np.concatenate([times, extra.to_numpy()])
    else:
        step = times[-1] - times[-2] if len(times) > 1 else 1
        more = int(steps.max()) - len(times) + 1
        full = np.concatenate([times, times[-1] + step * np.arange(1, max(more, 0) + 1)])
    return full[steps]


# In a study: saving, keeping the best few, finding a trial's model.


def save_artifact(trial: optuna.Trial, store: FileSystemArtifactStore, meta: dict[str, Any],
                  states: list[dict[str, torch.Tensor]], keep: int) -> dict[str, Any]:
    """Upload the trial's model file as an artifact of the trial; returns what the trial
    record keeps of it (kept whole while the trial is among the `keep` best)."""
    content = to_bytes(meta, states)
    name = f"trial-{trial.number}-model.pt"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        artifact_id = upload_artifact(artifact_store=store, file_path=str(path),
                                      study_or_trial=trial,
                                      mimetype="application/octet-stream")
    return {"artifact_id": artifact_id, "file": name, "bytes": len(content), "keep": keep}


def still_matters(score: float, completed: list[float], keep: int) -> bool:
    """Whether a trial scoring `score` is among the `keep` best of the completed trials."""
    return sum(v <= score for v in completed) < keep


def keep_best(study: optuna.Study, store: FileSystemArtifactStore, keep: int) -> list[int]:
    """Cut the model files of completed trials that are no longer among the `keep` best to a
    note saying why; returns their numbers. Scores never change once a trial completes, so a
    file cut here can never be one of the best again."""
    done = sorted((Record.of(t) for t in study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))), key=lambda r: r.value)
    if len(done) <= keep:
        return []
    cut, bar = [], done[keep - 1]
    for rec in done[keep:]:
        model = rec.get(keys.MODEL)
        if not model:
            continue
        try:
            with store.open_reader(model["artifact_id"]) as f:
                if f.read(len(REMOVED)) == REMOVED:
                    continue
        except Exception:  # not on this machine's artifact folder: its own worker cuts it
            continue
        note = (f"trial #{rec.number} (score {rec.value:.4g}) fell out of the {keep} best "
                f"trials (the {keep}th, #{bar.number}, scores {bar.value:.4g}); only the best "
                "trials' model files are kept whole (Study.keep_models).\n")
        store.write(model["artifact_id"], io.BytesIO(REMOVED + note.encode()))
        cut.append(rec.number)
    return cut


def pick_trial(study: optuna.Study, number: int | None) -> Record:
    """The best completed trial, or trial `number` if it completed; SpecError otherwise."""
    trials = study.get_trials(deepcopy=False)
    if number is None:
        done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not done:
            raise SpecError(f"study {study.study_name!r} has no completed trial yet, so there "
                            "is no model to use.")
        return Record.of(min(done, key=lambda t: t.value))
    match = [t for t in trials if t.number == number]
    if not match:
        raise SpecError(f"study {study.study_name!r} has no trial #{number} (its trials are "
                        f"#0 to #{len(trials) - 1})." if trials else
                        f"study {study.study_name!r} has no trials yet.")
    rec = Record.of(match[0])
    if rec.state != "complete":
        why = f" ({rec.why})" if rec.why else ""
        raise SpecError(f"trial #{number} is {rec.state}{why}; only completed trials have a "
                        "model.")
    return rec


def from_study(study: optuna.Study, artifacts: str | Path, number: int | None = None,
               base_dir: Path | None = None) -> DeliveredModel:
    """The delivered model of the best completed trial (or trial `number`)."""
    rec = pick_trial(study, number)
    model = rec.get(keys.MODEL)
    if not model:
        raise SpecError(f"trial #{rec.number} has no model file: it was not among the best "
                        "trials when it finished (Study.keep_models), or the sweep ran "
                        "without an artifact folder.")
    path = Path(artifacts) / model["artifact_id"]
    if not path.is_file():
        raise SpecError(f"trial #{rec.number}'s model file {model['file']} is not in "
                        f"{artifacts} (worker {_who(rec)} saved it); with workers on several "
                        "machines, point --artifacts at a folder they share.")
    loaded = from_bytes(path.read_bytes(), f"trial #{rec.number}'s model file {model['file']}")
    loaded.base_dir = base_dir
    return loaded


def load_from_study_file(path: str | Path, number: int | None = None,
                         storage: str | None = None,
                         artifacts: str | None = None) -> DeliveredModel:
    """The delivered model of a study file's best completed trial (or trial `number`), from
    the storage and artifact folder the file names, or these."""
    from .spec import load_study_file
    from .storage import default_artifacts, default_storage, load_existing_study

    spec = load_study_file(path)
    study = load_existing_study(spec.name, storage or spec.storage or default_storage(spec.name))
    return from_study(study, artifacts or spec.artifacts or default_artifacts(spec.name), number,
                      Path(path).resolve().parent)


def _who(rec: Record) -> str:
    w = rec.worker
    return f"{w.get('host', '?')}:{w.get('pid', '?')}"


def test_score(model: DeliveredModel, windows: Windows, trial: int) -> dict[str, Any] | None:
    """The delivered model's loss on the test windows, beside each repeat's and the naive
    forecast's (the better of repeating the last value and the training mean); None without
    test windows."""
    if windows.n_test == 0:
        return None
    delivered, repeats = model.losses_on(windows, "test")
    out = {"trial": trial, "loss": loss_name(model.task, model.config["loss"]),
           "delivered": delivered, "repeats": repeats,
           "naive": windows.baseline(model.config["loss"], "test"),
           "n_windows": windows.n_test}
    scores = model.scores_on(windows, "test")
    if scores:
        out["scores"] = scores
        out["majority"] = model.task.majority(windows.test_y)
    return json_safe(out)


def loss_name(task: Any, configured: str) -> str:
    """The loss a task is scored with: cross-entropy for classes, else the configured one."""
    return "cross-entropy" if task.kind == "classify" else configured


def test_line(test: dict[str, Any]) -> str:
    repeats = ", ".join(f"{v:.4g}" for v in test["repeats"])
    scores = "".join(f", {k.replace('_', '-')} {v:.3f}" for k, v in
                     (test.get("scores") or {}).items())
    majority = (f"; the majority class: accuracy {test['majority']:.3f}"
                if "majority" in test else "")
    return (f"Test split of trial #{test['trial']} ({test['n_windows']} windows, scored once, "
            f"never used to choose): delivered model {test['loss']} {test['delivered']:.4g}"
            f"{scores} (repeats {repeats}; naive {test['naive']:.4g}{majority})")


def score_test(study: optuna.Study, windows: Windows, artifacts: str | None
               ) -> dict[str, Any] | None:
    """Score the best trial's delivered model once on the test split and store that on the
    study (keys.STUDY_TEST); the stored result is reused while that trial stays the best.
    None without test windows or a completed trial; SpecError when the best trial's model file
    cannot be read here."""
    if windows.n_test == 0 or not artifacts or not study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        return None
    best = pick_trial(study, None)
    stored = study.user_attrs.get(keys.STUDY_TEST)
    if stored and stored.get("trial") == best.number:
        return stored
    model = from_study(study, artifacts)
    result = test_score(model, windows, best.number)
    study.set_user_attr(keys.STUDY_TEST, result)
    return result
