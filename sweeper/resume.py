"""Resuming a study: only on the data and the fixed settings its trials were judged on.

Re-running a study file resumes its study. Trials are ranked against each other, so they must
have been judged on the same windows: the study stores what defines its data (the data spec and
a fingerprint of every window cut from it, so that rows appended to a CSV count too) and the
settings every trial shares (the space's fixed values and how the score is computed). A resume
whose data or fixed settings differ stops before any trial with one sentence saying what
changed and how to start a new study; a changed search space is allowed (widening or narrowing
a range is normal) and said in one line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna

from . import keys
from .record import json_safe, store_study_attr
from .space import describe
from .spec import Study
from .validate import SpecError
from .windows import Windows

# The Study fields that decide how a trial's score is computed: trials scored otherwise
# cannot be ranked with these.
SCORE_SETTINGS = ("gap_penalty", "spread_penalty", "validation")


def data_identity(spec: Study, windows: Windows) -> dict[str, Any]:
    """What defines the study's data: its spec, a fingerprint of every window (inputs,
    known-ahead values and targets of each split), and the line that says what was read."""
    digest = hashlib.sha256()
    for split in ("train", "val", "test"):
        for array in windows.split(split):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    settings = spec.data.describe()
    if spec.data.sequences:  # the study seed draws a sequence set's split
        settings["split seed"] = spec.seed
    return json_safe({"settings": settings, "fingerprint": digest.hexdigest(),
                      "summary": windows.summary})


def fixed_settings(spec: Study) -> dict[str, Any]:
    """The settings every trial shares: the space's fixed values and the score's settings."""
    searched = spec.space.searched()
    fixed = {f.name: describe(getattr(spec.space, f.name)) for f in dataclasses.fields(spec.space)
             if f.name not in searched}
    return json_safe({**fixed, **{name: getattr(spec, name) for name in SCORE_SETTINGS}})


def _changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [f"{name} {_show(before.get(name))} -> {_show(now.get(name))}"
            for name in sorted(set(before) | set(now)) if before.get(name) != now.get(name)]


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else repr(value)


def check(study: optuna.Study, spec: Study, windows: Windows, resumed: bool,
          out: Callable[[str], None]) -> None:
    """Store what the study is judged on; on resume, stop (SpecError) if its data or fixed
    settings changed, and say in one line if its search space did."""
    identity, fixed = data_identity(spec, windows), fixed_settings(spec)
    stored_data = study.user_attrs.get(keys.STUDY_DATA)
    stored_fixed = study.user_attrs.get(keys.STUDY_FIXED)
    n = len(study.get_trials(deepcopy=False))
    if resumed and stored_data and n:
        changed = _changes(stored_data["settings"], identity["settings"])
        if not changed and stored_data["fingerprint"] != identity["fingerprint"]:
            changed = ["its content (rows added, removed or edited: the windows differ)"]
        if changed:
            raise _refuse(spec, n, "data", changed, stored_data.get("summary"))
    if resumed and stored_fixed and n:
        # A setting fixed before and searched now (or the other way) is a change of the
        # search space, which is allowed: only settings fixed in both must agree.
        both = set(stored_fixed) & set(fixed)
        changed = _changes({k: stored_fixed[k] for k in both}, {k: fixed[k] for k in both})
        if changed:
            raise _refuse(spec, n, "fixed settings", changed, None)
    before = (study.user_attrs.get(keys.STUDY_SPEC) or {}).get("space")
    now = spec.space.to_dict()
    if resumed and before and before != now:
        out(f"the search space changed since the study began ({'; '.join(_changes(before, now))}"
            "); the study goes on with it, and its earlier trials stay in the ranking")
        store_study_attr(study, keys.STUDY_SPEC, spec.to_dict())
    if stored_data != identity:
        store_study_attr(study, keys.STUDY_DATA, identity)
    if stored_fixed != fixed:
        store_study_attr(study, keys.STUDY_FIXED, fixed)


def _refuse(spec: Study, n: int, what: str, changed: list[str], summary: str | None
            ) -> SpecError:
    on = f" ({summary})" if summary else ""
    return SpecError(
        f"study {spec.name!r} was swept with other {what}{on}: {'; '.join(changed)}. Its {n} "
        f"trials were judged on those and cannot be ranked with trials judged on these; start "
        f"a new study: give the study another Study.name, or run with --name {spec.name}-2 "
        "(and the same --name for report, predict and export).")
