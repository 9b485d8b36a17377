"""The model file format: one self-contained file of weights and the JSON that describes them.

    {"format": "sweeper-model", "format_version": 2,
     "meta": "<JSON: sweeper version, study, data spec, task with its scalers, split seed;
              members: [{trial, repeat, seed, best_epoch, weight, config}], one per run;
              how they were chosen; prediction intervals; and, for the trial the model
              is built around, its trial number, config, seeds and best epochs>",
     "members": [one LSTMRegressor state dict per member, in the same order]}

written with `torch.save` and read with `torch.load(..., weights_only=True)`: tensors, numbers
and strings only, so reading a model file never runs code from it. Any problem with a file is
one SpecError sentence naming it. A file cut to `REMOVED` and a sentence is a model file that a
sweep no longer keeps (see kept). Files of format 1 (one trial's repeats, equal weights, no
members list) are read as the format-2 description of the same model.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from typing import Any

import torch

from . import __version__
from .data import Data
from .record import json_safe
from .task import Task
from .validate import SpecError

FORMAT = "sweeper-model"
FORMAT_VERSION = 2
READS = (1, 2)  # format versions this sweeper reads
# What an evicted model file is cut to (then a sentence saying why).
REMOVED = b"sweeper: model file removed\n"
# What torch.load raises for files it cannot read, whatever the cause.
UNREADABLE = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, KeyError,
              AttributeError, ImportError, IndexError, TypeError, zipfile.BadZipFile)


def meta_for(study: str, trial: int, config: dict[str, Any], data: Data, task: Task,
             seeds: list[int], best_epochs: list[int], split_seed: int = 0) -> dict[str, Any]:
    """Everything besides the weights that a model file of one trial's repeats holds: enough
    to rebuild them (equal weights) and to cut and scale new data exactly as the study did
    (the task holds the scalers; `split_seed` drew a sequence set's validation and test
    sequences)."""
    members = [member(trial, r, seed, epoch, 1 / len(seeds), config)
               for r, (seed, epoch) in enumerate(zip(seeds, best_epochs, strict=True))]
    return json_safe({
        "sweeper_version": __version__, "study": study, "trial": trial, "config": config,
        "data": data.describe(), "task": task.describe(), "seeds": seeds,
        "best_epochs": best_epochs, "split_seed": split_seed, "members": members,
    })


def member(trial: int, repeat: int, seed: int, best_epoch: int, weight: float,
           config: dict[str, Any]) -> dict[str, Any]:
    """One run of a delivered model, as the file describes it: the trial and repeat that
    trained it, its seed, the epoch its weights are from, its weight in the average, and its
    trial's configuration."""
    return {"trial": trial, "repeat": repeat, "seed": seed, "best_epoch": best_epoch,
            "weight": weight, "config": config}


def upgrade(meta: dict[str, Any]) -> dict[str, Any]:
    """A format-1 description (one trial's repeats) with the members list format 2 adds."""
    if "members" in meta:
        return meta
    seeds, epochs = meta.get("seeds") or [], meta.get("best_epochs") or []
    n = max(len(seeds), len(epochs))
    return {**meta, "members": [
        member(meta.get("trial"), r, seeds[r] if r < len(seeds) else None,
               epochs[r] if r < len(epochs) else None, 1 / n, meta["config"])
        for r in range(n)]}


def to_bytes(meta: dict[str, Any], states: list[dict[str, torch.Tensor]]) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "meta": json.dumps(meta),
                "members": [{k: v.detach().cpu().float() for k, v in s.items()}
                            for s in states]}, buffer)
    return buffer.getvalue()


def read(content: bytes, what: str) -> tuple[dict[str, Any], list[dict[str, torch.Tensor]]]:
    """(meta, members) of a model file's bytes; `what` names the file in the one-sentence
    error that any problem with it becomes."""
    if content.startswith(REMOVED):
        why = content[len(REMOVED):].decode("utf-8", "replace").strip()
        raise SpecError(f"{what} no longer holds a model: {why}")
    if not zipfile.is_zipfile(io.BytesIO(content)) and content[:2] != b"PK":
        raise SpecError(f"{what} is not a sweeper model file: it is not a file torch.save "
                        "wrote (a model file is written by a sweep or by 'python -m sweeper "
                        "export').")
    try:
        payload = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    except UNREADABLE as exc:
        if not zipfile.is_zipfile(io.BytesIO(content)) and content[:2] == b"PK":
            raise SpecError(f"{what} is cut off (truncated): it is not a whole model "
                            "file.") from None
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise SpecError(f"{what} holds objects other than tensors, numbers and strings; "
                            "sweeper never runs code from a model file, so it is refused.") \
                from None
        raise SpecError(f"{what} is not a sweeper model file (it cannot be read as one: "
                        f"{first_line(exc)}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SpecError(f"{what} is not a sweeper model file (a {FORMAT!r} file is written "
                        "by a sweep or by 'python -m sweeper export').")
    version = payload.get("format_version")
    try:
        meta = json.loads(payload["meta"])
        written_by = meta.get("sweeper_version", "?")
    except (KeyError, TypeError, ValueError):
        meta, written_by = None, "?"
    if version not in READS:
        raise SpecError(f"{what} was written by sweeper {written_by} in model format "
                        f"{version}; this sweeper ({__version__}) reads formats "
                        f"{', '.join(map(str, READS))}. Use the sweeper version that wrote it, "
                        "or export the model again.")
    members = payload.get("members")
    if meta is None or not isinstance(members, list) or not members:
        raise SpecError(f"{what} is a damaged sweeper model file (its description or weights "
                        "are missing).")
    if version == 1:
        try:
            meta = upgrade(meta)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            raise SpecError(f"{what} is a damaged sweeper model file (its description lacks "
                            "the configuration, seeds or best epochs).") from None
    if len(meta.get("members") or []) != len(members):
        raise SpecError(f"{what} is a damaged sweeper model file (it describes "
                        f"{len(meta.get('members') or [])} runs but holds {len(members)}).")
    return meta, members


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
