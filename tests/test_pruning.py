import numpy as np
import optuna
import pytest

from sweeper.pruning import PRUNERS, explain, find_degradation, make_pruner, report_steps

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
