"""Optuna's private API that sweeper reads (sweeper/optuna_private.py) is still there: when an
Optuna release moves any of it, this fails and says what moved, instead of a sweep failing."""

import importlib
import warnings

import optuna

from sweeper import optuna_private
from sweeper.storage import RetryingStorage


def test_optuna_is_a_major_version_the_private_names_were_read_against():
    major = int(optuna.__version__.split(".")[0])
    assert major in optuna_private.CHECKED_MAJORS, (
        f"Optuna {optuna.__version__} is installed, but sweeper's use of Optuna's private API "
        f"was checked against majors {optuna_private.CHECKED_MAJORS}: check every name in "
        "sweeper/optuna_private.py against it, then add it there and in pyproject.toml.")


def test_the_private_names_exist():
    study = optuna.create_study()
    trial = study.ask()
    study.tell(trial, 1.0)
    frozen = study.trials[0]
    assert isinstance(optuna_private.storage_of(study), optuna.storages.BaseStorage)
    assert isinstance(optuna_private.study_id(study), int)
    assert optuna_private.trial_id(trial) == optuna_private.trial_id(frozen)
    handle = optuna_private.trial_handle(study, frozen)
    assert handle.number == frozen.number
    assert importlib.import_module(optuna_private.RDB_MODELS)
    assert not optuna_private.is_heartbeat_enabled(optuna_private.storage_of(study))


def test_the_heartbeat_method_sweeper_overrides_is_the_one_optuna_calls(tmp_path):
    assert callable(getattr(optuna_private.BaseHeartbeat, optuna_private.STALE_TRIAL_IDS))
    assert optuna_private.STALE_TRIAL_IDS in vars(RetryingStorage)
    with warnings.catch_warnings():  # heartbeats: experimental in name only
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        rdb = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'x.db'}",
                                         heartbeat_interval=60)
    assert optuna_private.is_heartbeat_enabled(RetryingStorage(rdb, "x"))
    calls = []
    wrapped = RetryingStorage(rdb, "x")
    original = wrapped._get_stale_trial_ids

    def spy(study_id):
        calls.append(study_id)
        return original(study_id)

    wrapped._get_stale_trial_ids = spy
    study = optuna.create_study(storage=wrapped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    assert calls == [optuna_private.study_id(study)]
