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
from .data import BUNDLED, Data, Windows, load_series, split_sizes, window_index
from .model import EnsembleLSTM, build
from .record import Record, json_safe
from .validate import SpecError, did_you_mean

FORMAT = "sweeper-model"
FORMAT_VERSION = 1
# What an evicted model file is cut to (then a sentence saying why).
REMOVED = b"sweeper: model file removed\n"


def meta_for(study: str, trial: int, config: dict[str, Any], data: Data, windows: Windows,
             seeds: list[int], best_epochs: list[int]) -> dict[str, Any]:
    """Everything besides the weights that a model file holds: enough to rebuild the repeats
    and to cut and scale new data exactly as the study did."""
    return json_safe({
        "sweeper_version": __version__, "study": study, "trial": trial, "config": config,
        "data": data.describe(), "scaler": {"offset": windows.offset, "scale": windows.scale},
        "seeds": seeds, "best_epochs": best_epochs,
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
        self.offset = float(meta["scaler"]["offset"])
        self.scale = float(meta["scaler"]["scale"])
        self.base_dir = base_dir  # where the study file is: relative data paths start there
        c = self.config
        models = []
        for state in members:
            model = build(1, int(c["hidden"]), int(c["layers"]), float(c["dropout"]), "torch", 0)
            model.load_state_dict(state)
            models.append(model.eval())
        self.members = models
        self._ensemble = EnsembleLSTM(models).eval()

    @property
    def n_repeats(self) -> int:
        return len(self.members)

    @property
    def window(self) -> int:
        return int(self.data["window"])

    @property
    def horizon(self) -> int:
        return int(self.data["horizon"])

    def predict_scaled(self, x: np.ndarray, batch: int = 4096) -> np.ndarray:
        """Each repeat's prediction for scaled windows (n_windows, window, 1): shape
        (n_repeats, n_windows, 1), in scaled units."""
        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch):
                xb = torch.from_numpy(np.ascontiguousarray(x[start:start + batch],
                                                           dtype=np.float32))
                out.append(self._ensemble(xb).numpy())
        width = self._ensemble.n_members
        return np.concatenate(out, axis=1) if out else np.zeros((width, 0, 1), np.float32)

    def losses(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[float]]:
        """(loss of the averaged prediction, each repeat's loss) on scaled windows, with the
        configuration's loss function."""
        pred = self.predict_scaled(x).astype(np.float64)
        return (_loss(self.config["loss"], pred.mean(axis=0), y),
                [_loss(self.config["loss"], p, y) for p in pred])

    def series(self, data: Any = None) -> tuple[np.ndarray, bool]:
        """(raw series, whether it is the study's own data) for `data`: None for the study's
        own, a CSV path, a DataFrame holding the study's column, a Series, a list or an
        array."""
        column = self.data.get("column")
        if data is None:
            source = self.data["source"]
            if source == "array":
                raise SpecError("this model was trained on an array, which it does not carry; "
                                "pass the data to predict.")
            spec = Data(source=source, column=column, window=self.window, horizon=self.horizon,
                        val_fraction=self.data["val_fraction"],
                        test_fraction=self.data["test_fraction"], scale=self.data["scale"])
            return load_series(spec, self.base_dir)[0], True
        if isinstance(data, (str, Path)):
            return load_series(Data(source=str(data), column=self._csv_column(Path(data))))[0], \
                False
        if isinstance(data, pd.DataFrame):
            if column is not None:
                if column not in data.columns:
                    raise SpecError(f"the data has no column {column!r}, which this model "
                                    f"reads; its columns are "
                                    f"{', '.join(map(str, data.columns))}.")
                data = data[column]
            elif data.shape[1] == 1:
                data = data.iloc[:, 0]
            else:
                raise SpecError("this model reads one series; pass a DataFrame with one "
                                "column, a Series or an array.")
        return load_series(Data(source=np.asarray(data, dtype=float)))[0], False

    def _csv_column(self, path: Path) -> str | None:
        """The column of a new CSV file that holds the series: the study's column (for a
        bundled series, its name there), or the file's only numeric column."""
        if not path.is_file():
            raise SpecError(f"{path}: no such data file.")
        try:
            header = [str(c) for c in pd.read_csv(path, comment="#", nrows=0).columns]
        except Exception as exc:  # pandas raises many types; all mean "not a readable CSV"
            raise SpecError(f"{path} is not a readable CSV file: {_first_line(exc)}.") from None
        named = self.data.get("column")
        wanted = named or BUNDLED.get(self.data["source"], (None, None))[1]
        if wanted in header:
            return wanted
        if named is None:  # the file's only numeric column, as a study would take it
            numeric = list(pd.read_csv(path, comment="#", nrows=50).select_dtypes("number"))
            if len(numeric) != 1:
                raise SpecError(f"{path} has {len(numeric)} numeric columns "
                                f"({', '.join(map(str, numeric)) or 'none'}); this model reads "
                                "one series, so give a file with one numeric column (or pass "
                                "that column as a pandas Series).")
            return None
        raise SpecError(f"{path} has no column {named!r}, the one this model reads"
                        f"{did_you_mean(named, header)}; its columns are {', '.join(header)}.")

    def predict(self, data: Any = None) -> pd.DataFrame:
        """One row per window: `position` (1-based, of the value predicted), `split` (train,
        validation, test on the study's own data; `new` on other data; `future` for the
        forecast past the end), `target`, `prediction` (the repeats' mean) and the repeats'
        `lowest` and `highest` prediction, in the data's original units."""
        series, own = self.series(data)
        w, h = self.window, self.horizon
        if len(series) < w:
            raise SpecError(f"the data has {len(series)} values, too few for one window of "
                            f"{w}; this model needs at least {w}.")
        inputs, targets = window_index(len(series), w, h)
        inputs = np.vstack([inputs, np.arange(len(series) - w, len(series))[None]])
        scaled = ((series - self.offset) / self.scale).astype(np.float32)
        pred = self.predict_scaled(scaled[inputs][:, :, None])[:, :, 0] * self.scale + \
            self.offset
        if own:
            n_train, n_val, n_test = split_sizes(len(targets), Data(
                source="toy", val_fraction=self.data["val_fraction"],
                test_fraction=self.data["test_fraction"]))
            split = ["train"] * n_train + ["validation"] * n_val + ["test"] * n_test
        else:
            split = ["new"] * len(targets)
        return pd.DataFrame({
            "position": np.append(targets, len(series) - 1 + h) + 1,
            "split": split + ["future"],
            "target": np.append(series[targets], np.nan),
            "prediction": pred.mean(axis=0),
            "lowest": pred.min(axis=0),
            "highest": pred.max(axis=0),
        })

    def predict_members(self, data: Any = None) -> np.ndarray:
        """Each repeat's prediction per row of `predict(data)`: (n_repeats, n_rows)."""
        series, _ = self.series(data)
        w = self.window
        inputs, _ = window_index(len(series), w, self.horizon)
        inputs = np.vstack([inputs, np.arange(len(series) - w, len(series))[None]])
        scaled = ((series - self.offset) / self.scale).astype(np.float32)
        return self.predict_scaled(scaled[inputs][:, :, None])[:, :, 0] * self.scale + \
            self.offset

    def describe(self) -> str:
        m = self.meta
        epochs = ", ".join(str(e) for e in m.get("best_epochs", []))
        return (f"study {m.get('study')!r} trial #{m.get('trial')}: {self.n_repeats} repeats "
                f"at their best validation epochs ({epochs}), sweeper {m.get('sweeper_version')}")


def _loss(name: str, pred: np.ndarray, y: np.ndarray) -> float:
    err = pred.astype(np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(err**2) if name == "mse" else np.mean(np.abs(err)))


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
    if len(windows.test_y) == 0:
        return None
    loss = model.config["loss"]
    delivered, repeats = model.losses(windows.test_x, windows.test_y)
    persistence = _loss(loss, windows.test_x[:, -1, :], windows.test_y)
    mean = _loss(loss, np.full_like(windows.test_y, windows.train_y.mean()), windows.test_y)
    return json_safe({"trial": trial, "loss": loss, "delivered": delivered, "repeats": repeats,
                      "naive": min(persistence, mean), "n_windows": len(windows.test_y)})


def test_line(test: dict[str, Any]) -> str:
    repeats = ", ".join(f"{v:.4g}" for v in test["repeats"])
    return (f"Test split of trial #{test['trial']} ({test['n_windows']} windows, scored once, "
            f"never used to choose): delivered model {test['loss']} {test['delivered']:.4g} "
            f"(repeats {repeats}; naive forecast {test['naive']:.4g})")


def score_test(study: optuna.Study, windows: Windows, artifacts: str | None
               ) -> dict[str, Any] | None:
    """Score the best trial's delivered model once on the test split and store that on the
    study (keys.STUDY_TEST); the stored result is reused while that trial stays the best.
    None without test windows or a completed trial; SpecError when the best trial's model file
    cannot be read here."""
    if len(windows.test_y) == 0 or not artifacts or not study.get_trials(
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
