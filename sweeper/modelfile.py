"""The model file format: one self-contained file of weights and the JSON that describes them.

    {"format": "sweeper-model", "format_version": 1,
     "meta": "<JSON: sweeper version, study, trial, config, data spec, task with its scalers,
              seeds, best epochs, split seed>",
     "members": [one LSTMRegressor state dict per repeat]}

written with `torch.save` and read with `torch.load(..., weights_only=True)`: tensors, numbers
and strings only, so reading a model file never runs code from it. Any problem with a file is
one SpecError sentence naming it. A file cut to `REMOVED` and a sentence is a model file that a
sweep no longer keeps (see kept).
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
FORMAT_VERSION = 1
# What an evicted model file is cut to (then a sentence saying why).
REMOVED = b"sweeper: model file removed\n"
# What torch.load raises for files it cannot read, whatever the cause.
UNREADABLE = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, KeyError,
              AttributeError, ImportError, IndexError, TypeError, zipfile.BadZipFile)


def meta_for(study: str, trial: int, config: dict[str, Any], data: Data, task: Task,
             seeds: list[int], best_epochs: list[int], split_seed: int = 0) -> dict[str, Any]:
    """Everything besides the weights that a model file holds: enough to rebuild the repeats
    and to cut and scale new data exactly as the study did (the task holds the scalers;
    `split_seed` drew a sequence set's validation and test sequences)."""
    return json_safe({
        "sweeper_version": __version__, "study": study, "trial": trial, "config": config,
        "data": data.describe(), "task": task.describe(), "seeds": seeds,
        "best_epochs": best_epochs, "split_seed": split_seed,
    })


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
    if version != FORMAT_VERSION:
        raise SpecError(f"{what} was written by sweeper {written_by} in model format "
                        f"{version}; this sweeper ({__version__}) reads format {FORMAT_VERSION}. "
                        "Use the sweeper version that wrote it, or export the model again.")
    members = payload.get("members")
    if meta is None or not isinstance(members, list) or not members:
        raise SpecError(f"{what} is a damaged sweeper model file (its description or weights "
                        "are missing).")
    return meta, members


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
