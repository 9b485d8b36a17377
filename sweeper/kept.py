"""Model files as trial artifacts: saving them, keeping the best few whole, and building the
delivered model from them.

A completed trial that can still matter (among the `Study.keep_models` best when it finished)
saves its model file (see modelfile) as an Optuna artifact of the trial; once it falls out of
that many best, the file is cut to a short note saying so, unless its runs are part of the
delivered model the sweep chose (see selection), which keeps the disk used bounded while every
artifact stays readable. `from_study` hands back the delivered model the sweep chose (or a given
trial's own model) as a DeliveredModel; `assemble` builds a stored choice from its trials' files.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from . import keys
from .delivery import DeliveredModel, from_bytes
from .modelfile import REMOVED, member, to_bytes
from .record import Record
from .validate import SpecError


def save_artifact(trial: optuna.Trial, store: FileSystemArtifactStore, meta: dict[str, Any],
                  states: list[dict[str, torch.Tensor]], keep: int) -> dict[str, Any]:
    """Upload the trial's model file as an artifact of the trial; returns what the trial
    record keeps of it (kept whole while the trial is among the `keep` best).

    On a full disk nothing is left: no file, cut off or whole, and no record of one. The trial
    fails with storage.DiskFull (one sentence: which folder, what to do), its configuration
    is queued to run again, and the worker stops once Optuna has stored the failure."""
    import contextlib

    from .optuna_private import trial_id
    from .storage import (
        DiskFull,
        WholeOrNone,
        artifact_folder,
        disk_full,
        folder_full,
        requeue,
        stop_after_trial,
    )

    content = to_bytes(meta, states)
    name = f"trial-{trial.number}-model.pt"
    whole = WholeOrNone(store)
    # Where a full disk was met: first the temporary folder of the copy that is uploaded.
    where: tuple[str | Path, str, str] = (tempfile.gettempdir(), "the temporary folder",
                                          "TMPDIR")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(content)
            where = (artifact_folder(store), "the artifact folder", "--artifacts")
            artifact_id = upload_artifact(artifact_store=whole, file_path=str(path),
                                          study_or_trial=trial,
                                          mimetype="application/octet-stream")
    except Exception as exc:
        for written in whole.written:  # whole, but the storage did not take its record
            whole.remove(written)
        if not disk_full(exc):
            raise
        folder, what, flag = where
        error = exc if isinstance(exc, DiskFull) else folder_full(folder, exc, what, flag)
        with contextlib.suppress(Exception):  # a storage as full fails this too: the next run
            # then reclaims the trial left running, and queues it the same way
            requeue(trial.study, trial, "its model file could not be saved: a disk was full")
        stop_after_trial(trial_id(trial), error)
        raise error from exc
    return {"artifact_id": artifact_id, "file": name, "bytes": len(content), "keep": keep}


def still_matters(score: float, completed: list[float], keep: int) -> bool:
    """Whether a trial scoring `score` is among the `keep` best of the completed trials."""
    return sum(v <= score for v in completed) < keep


def keep_best(study: optuna.Study, store: FileSystemArtifactStore, keep: int) -> list[int]:
    """Cut the model files of completed trials that are no longer among the `keep` best to a
    note saying why; returns their numbers. Scores never change once a trial completes, so a
    file cut here can never be one of the best again. A full disk (the note replaces the file
    in place) leaves the file saying at least that it was removed, and raises
    storage.DiskFull."""
    import contextlib

    from .storage import artifact_folder, disk_full, folder_full

    done = sorted((Record.of(t) for t in study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))), key=lambda r: r.value)
    if len(done) <= keep:
        return []
    cut, bar, chosen = [], done[keep - 1], chosen_trials(study)
    for rec in done[keep:]:
        model = rec.get(keys.MODEL)
        if not model or rec.number in chosen:  # part of the delivered model: kept whole
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
        try:
            store.write(model["artifact_id"], io.BytesIO(REMOVED + note.encode()))
        except OSError as exc:
            if not disk_full(exc):
                raise
            with contextlib.suppress(OSError):  # the start of the space it just freed
                store.write(model["artifact_id"], io.BytesIO(REMOVED))
            raise folder_full(artifact_folder(store), exc) from exc
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


# How a delivered model that is one trial's own repeats is named in a stored choice.
BEST = "best trial"


def from_study(study: optuna.Study, artifacts: str | Path, number: int | None = None,
               base_dir: Path | None = None) -> DeliveredModel:
    """The delivered model the sweep chose (keys.STUDY_DELIVERY, while the trial it was chosen
    around is still the best), else the best completed trial's own model; with `number`, that
    trial's own model."""
    if number is None:
        best = pick_trial(study, None)
        choice = study.user_attrs.get(keys.STUDY_DELIVERY)
        if choice and choice.get("best_trial") == best.number:
            try:
                return assemble(study, artifacts, choice, base_dir=base_dir)
            except SpecError as exc:  # a file of the choice is not here: say it, go on
                model = trial_model(study, artifacts, best.number, base_dir)
                model.meta["chosen"] = {"how": BEST, "reason": f"the chosen {choice['how']} "
                                        f"could not be built here ({exc}), so the best "
                                        "trial's own model stands in"}
                return model
    return trial_model(study, artifacts, number, base_dir)


def trial_model(study: optuna.Study, artifacts: str | Path, number: int | None = None,
                base_dir: Path | None = None) -> DeliveredModel:
    """The best completed trial's own model (or trial `number`'s), from its model file."""
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


def assemble(study: optuna.Study, artifacts: str | Path, choice: dict[str, Any],
             models: list[DeliveredModel] | None = None, base_dir: Path | None = None
             ) -> DeliveredModel:
    """The delivered model a stored choice describes ({"how", "reason", "best_trial",
    "members": [{"trial", "repeat", "weight"}], "intervals"}), from its trials' model files
    (or these trials' `models`)."""
    by_trial = {m.trials[0]: m for m in models or []}
    for trial in {m["trial"] for m in choice["members"]} | {choice["best_trial"]}:
        if trial not in by_trial:
            by_trial[trial] = trial_model(study, artifacts, trial, base_dir)
    first = by_trial[choice["best_trial"]]
    runs = [(by_trial[m["trial"]], int(m["repeat"]), float(m["weight"]))
            for m in choice["members"]]
    meta = {**first.meta, "chosen": {"how": choice["how"], "reason": choice["reason"]},
            "intervals": choice.get("intervals") or first.meta.get("intervals") or {},
            "members": [member(source.members[r].trial, r, source.members[r].seed,
                               source.members[r].best_epoch, weight, source.members[r].config)
                        for source, r, weight in runs]}
    model = DeliveredModel(meta, [source.states()[r] for source, r, _ in runs], base_dir,
                           first.task)
    return model


def chosen_trials(study: optuna.Study) -> set[int]:
    """The trials whose runs the stored choice of delivered model uses."""
    choice = study.user_attrs.get(keys.STUDY_DELIVERY) or {}
    return {m["trial"] for m in choice.get("members", [])}


def load_from_study_file(path: str | Path, number: int | None = None,
                         storage: str | None = None,
                         artifacts: str | None = None) -> DeliveredModel:
    """The delivered model of a study file's best completed trial (or trial `number`), from
    the storage and artifact folder the file names, or these."""
    from .spec import load_study_file
    from .storage import load_existing_study, locate

    spec = load_study_file(path)
    url, folder = locate(spec, storage, artifacts)
    return from_study(load_existing_study(spec.name, url), folder, number,
                      Path(path).resolve().parent)


def _who(rec: Record) -> str:
    w = rec.worker
    return f"{w.get('host', '?')}:{w.get('pid', '?')}"
