import pickle
import warnings

import numpy as np
import optuna
import pytest

from sweeper.pruning import (
    N_STARTUP_TRIALS,
    PRUNERS,
    explain,
    find_degradation,
    make_pruner,
    report_steps,
)

E = np.arange(200)
TRAIN = 0.01 + np.exp(-E / 30.0)


def test_stops_when_validation_rises_while_training_falls():
    val = 0.05 + np.exp(-E / 20.0) + np.where(E > 60, 0.004 * (E - 60), 0.0)
    stop = find_degradation(TRAIN, val, patience=10, min_rise=0.1)
    assert stop is not None
    assert 55 <= stop.turn_epoch <= 75 and stop.epoch > stop.turn_epoch + 10
    assert stop.rise > 0.1
    assert "rose" in stop.reason and f"epoch {stop.epoch + 1}" in stop.reason


def test_no_stop_while_validation_keeps_falling():
    assert find_degradation(TRAIN, 0.05 + np.exp(-E / 20.0), patience=10, min_rise=0.1) is None


def test_no_stop_when_training_rises_too():
    val = 0.05 + np.exp(-E / 20.0) + np.where(E > 60, 0.004 * (E - 60), 0.0)
    train = TRAIN + np.where(E > 60, 0.01 * (E - 60), 0.0)  # lr blow-up, not overfitting
    assert find_degradation(train, val, patience=10, min_rise=0.1) is None


def test_noise_raises_the_bar():
    rng = np.random.default_rng(1)
    val = (0.2 + np.exp(-E / 20.0)) * np.exp(0.15 * rng.standard_normal(200))
    assert find_degradation(TRAIN, val, patience=10, min_rise=0.1) is None


def test_a_short_blip_does_not_stop():
    val = 0.05 + np.exp(-E / 20.0)
    val[100:105] *= 3.0
    assert find_degradation(TRAIN, val, patience=10, min_rise=0.1) is None


@pytest.mark.parametrize("name", PRUNERS)
def test_every_named_pruner_is_an_optuna_pruner(name):
    assert isinstance(make_pruner(name, first_step=5, max_epochs=100), optuna.pruners.BasePruner)


def test_user_pruner_instances_pass_through():
    mine = optuna.pruners.ThresholdPruner(upper=1.0)
    assert make_pruner(mine, 1, 10) is mine


@pytest.mark.parametrize("max_epochs, max_reports, every", [(1200, 20, 60), (10, 20, 1),
                                                            (101, 20, 6)])
def test_reports_per_trial_are_bounded(max_epochs, max_reports, every):
    assert report_steps(max_epochs, max_reports) == every
    assert max_epochs // every <= max_reports


@pytest.mark.parametrize("name, kwargs, says", [
    ("median", {}, "by the median pruner: its best mean validation loss so far, 0.5, is above "
                   "the median 0.3 of the 3 completed trials' values at that epoch"),
    ("percentile", {}, "by the 25th percentile pruner: its best mean validation loss so far, "
                       "0.5, is above the 25th percentile 0.25 of the 3 completed trials'"),
    ("patient", {}, "by the patient pruner: no improvement over its last 3 reports, and its "
                    "best mean validation loss so far, 0.5, is above the median 0.3"),
    ("successive_halving", {}, "by successive halving: at this rung its mean validation loss "
                               "0.6 was not among the best 1/4 of the trials that reached it"),
    ("hyperband", {}, "by hyperband's successive halving: at this rung"),
])
def test_every_named_pruner_explains_itself_with_its_own_comparison(name, kwargs, says):
    pruner = make_pruner(name, 5, 100)
    reason = explain(pruner, 40, 0.6, 0.5, [0.2, 0.3, 0.4])
    assert reason.startswith("pruned at epoch 40 ") and says in reason, reason


def test_a_users_pruner_is_named_with_the_value_it_saw():
    class Mine:
        def prune(self, study, trial):
            return True

    assert explain(Mine(), 12, 0.75, 0.5, []) == (
        "pruned at epoch 12 by Mine with mean validation loss 0.75")


def _optunas_own(name, first_step, max_epochs):
    """The plain Optuna pruner that make_pruner's `name` stands for."""
    warmup = max_epochs // 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return {
            "none": lambda: optuna.pruners.NopPruner(),
            "median": lambda: optuna.pruners.MedianPruner(
                n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup),
            "percentile": lambda: optuna.pruners.PercentilePruner(
                25.0, n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup),
            "successive_halving": lambda: optuna.pruners.SuccessiveHalvingPruner(
                min_resource=first_step),
            "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=first_step),
            "patient": lambda: optuna.pruners.PatientPruner(optuna.pruners.MedianPruner(
                n_startup_trials=N_STARTUP_TRIALS, n_warmup_steps=warmup), patience=3),
        }[name]()


def _pruned_at(pruner, every=5, max_epochs=100, n_trials=16):
    """The step at which each of a fixed set of noisy learning curves is pruned (None: ran to
    the end)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="same", pruner=pruner)  # hyperband hashes the name
    rng = np.random.default_rng(0)
    steps = []
    for _ in range(n_trials):
        trial, level, noise = study.ask(), rng.uniform(0.1, 1.0), rng.uniform(0.0, 0.3)
        at = None
        for step in range(every, max_epochs + 1, every):
            trial.report(level + np.exp(-step / 30) + noise * rng.standard_normal() ** 2, step)
            if trial.should_prune():
                at = step
                break
        steps.append(at)
        if at is None:
            study.tell(trial, level)
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return steps


@pytest.mark.parametrize("name", PRUNERS)
def test_named_pruners_prune_exactly_as_optunas_own(name):
    ours = _pruned_at(make_pruner(name, 5, 100))
    assert ours == _pruned_at(_optunas_own(name, 5, 100))
    assert (name == "none") == all(at is None for at in ours)  # the curves do get pruned


def test_named_pruners_keep_their_settings_public():
    median = make_pruner("median", 5, 100)
    assert isinstance(median, optuna.pruners.MedianPruner)
    assert (median.percentile, median.n_startup_trials, median.n_warmup_steps) == (
        50.0, N_STARTUP_TRIALS, 25)
    percentile = make_pruner("percentile", 5, 100)
    assert isinstance(percentile, optuna.pruners.PercentilePruner)
    assert (percentile.percentile, percentile.n_warmup_steps) == (25.0, 25)
    halving = make_pruner("successive_halving", 5, 100)
    assert isinstance(halving, optuna.pruners.SuccessiveHalvingPruner)
    assert (halving.min_resource, halving.reduction_factor) == (5, 4)
    hyperband = make_pruner("hyperband", 5, 100)
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner)
    assert (hyperband.min_resource, hyperband.reduction_factor) == (5, 3)
    patient = make_pruner("patient", 5, 100)
    assert isinstance(patient, optuna.pruners.PatientPruner) and patient.patience == 3
    assert type(patient.wrapped) is type(median) and patient.wrapped.n_warmup_steps == 25


@pytest.mark.parametrize("name", [n for n in PRUNERS if n != "none"])
def test_named_pruners_pickle_as_themselves(name):
    pruner = make_pruner(name, 5, 100)
    again = pickle.loads(pickle.dumps(pruner))
    assert type(again) is type(pruner)
    assert type(pruner).__name__ == type(pruner).__mro__[1].__name__  # named as Optuna's
    assert explain(again, 40, 0.6, 0.5, [0.2, 0.3, 0.4]) == \
        explain(pruner, 40, 0.6, 0.5, [0.2, 0.3, 0.4])


def _spied(pruner, read):
    """`pruner`, now recording in `read` every private (single-underscore) attribute read."""
    def getattribute(self, attr):
        if attr.startswith("_") and not attr.startswith("__"):
            read.append(attr)
        return object.__getattribute__(self, attr)

    pruner.__class__ = type(type(pruner).__name__, (type(pruner),),
                            {"__getattribute__": getattribute})
    return pruner


@pytest.mark.parametrize("name", [n for n in PRUNERS if n != "none"])
def test_explaining_a_named_pruner_reads_only_public_settings(name):
    read = []
    pruner = _spied(make_pruner(name, 5, 100), read)
    if name == "patient":
        _spied(pruner.wrapped, read)
    explain(pruner, 40, 0.6, 0.5, [0.2, 0.3, 0.4])
    assert read == []


@pytest.mark.parametrize("pruner", [
    optuna.pruners.MedianPruner(), optuna.pruners.PercentilePruner(10.0),
    optuna.pruners.SuccessiveHalvingPruner(), optuna.pruners.HyperbandPruner(),
    optuna.pruners.ThresholdPruner(upper=1.0),
], ids=lambda p: type(p).__name__)
def test_a_users_optuna_pruner_is_named_without_reading_its_private_settings(pruner):
    read = []
    reason = explain(_spied(pruner, read), 40, 0.6, 0.5, [0.2, 0.3, 0.4])
    assert reason == f"pruned at epoch 40 by {type(pruner).__name__} with mean validation loss 0.6"
    assert read == []


def test_the_patient_pruner_explains_itself_with_no_completed_values_at_that_epoch():
    assert explain(make_pruner("patient", 5, 100), 40, 0.6, 0.5, []) == (
        "pruned at epoch 40 by the patient pruner: no improvement over its last 3 reports, and "
        "mean validation loss 0.6")
    assert explain(make_pruner("median", 5, 100), 40, 0.6, 0.5, []) == (
        "pruned at epoch 40 by MedianPruner with mean validation loss 0.6")
