"""Optuna's private API that sweeper reads: all of it here, checked against Optuna 4.2 to 5.1.

Optuna's public API has no way to do these, and sweeper needs them:

- a study's storage and id, and a trial's id: to write on a trial another process ran (a
  heartbeat thread, reclaiming an abandoned trial), to serve a study to optuna-dashboard, and to
  save a note on a finished trial;
- its heartbeat base class and check: sweeper's retrying storage passes heartbeats through to
  the database storage it wraps, and tells the storages that have them from those that do not;
- the module of its database tables: imported once by the server workers are forked from.

pyproject.toml admits Optuna below 6 only, and tests/test_optuna_private.py fails, naming what
moved, when any of these is gone from the installed Optuna or its major version is not one
these were read against.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled

# The Optuna major versions these names were read against (4.2.1 and 5.1.0).
CHECKED_MAJORS = (4, 5)
# Optuna's database tables and migrations, imported when a database storage is first opened.
RDB_MODELS = "optuna.storages._rdb.models"
# The method a heartbeat storage answers stale trials with; sweeper's retrying storage
# overrides it to store each stale trial's reason first.
STALE_TRIAL_IDS = "_get_stale_trial_ids"

__all__ = ["BaseHeartbeat", "is_heartbeat_enabled", "storage_of", "study_id", "trial_id",
           "trial_handle"]


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study reads and writes through."""
    return study._storage


def study_id(study: optuna.Study) -> int:
    """The study's id in its storage (optuna-dashboard's URLs use it)."""
    return study._study_id


def trial_id(trial: Any) -> int:
    """A trial's id in its storage, from an optuna.Trial or a FrozenTrial."""
    return trial._trial_id


def trial_handle(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> optuna.Trial:
    """An optuna.Trial for a trial that may have finished: what optuna-dashboard's save_note
    takes to write that trial's note (notes live on the study, so this works after the end)."""
    return optuna.Trial(study, frozen._trial_id)
