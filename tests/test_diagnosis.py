"""Diagnosis on curves built inline; nothing here trains."""

import numpy as np
import pytest

from sweeper.diagnosis import Diagnosis, Label, Thresholds, diagnose_run, diagnose_trial

E = np.arange(300)


def decay(start, end, rate):
    return end + (start - end) * np.exp(-rate * E)


def test_still_falling_is_underfit_with_more_epochs():
    train, val = decay(1.0, 0.01, 0.005), decay(1.2, 0.02, 0.005)
    d = diagnose_run(train, val)
    assert d.label is Label.UNDERFIT
    assert "still falling" in d.reason and d.recommendation == "train for more epochs"


def test_plateau_above_naive_forecast_is_underfit_with_more_capacity():
    train, val = decay(1.0, 0.4, 0.05), decay(1.0, 0.5, 0.05)
    d = diagnose_run(train, val, baseline=0.1)
    assert d.label is Label.UNDERFIT
    assert "above the naive forecast's 0.1" in d.reason and "capacity" in d.recommendation


def test_settled_close_together_is_good():
    d = diagnose_run(decay(1.0, 0.02, 0.05), decay(1.0, 0.025, 0.05), baseline=0.1)
    assert d.label is Label.GOOD and d.evidence["best_epoch"] > 250


def test_validation_turning_up_is_overfit_with_its_minimum():
    train = decay(1.0, 0.001, 0.03)
    val = decay(1.0, 0.05, 0.05) + np.where(E > 100, 0.0005 * (E - 100), 0.0)
    d = diagnose_run(train, val)
    assert d.label is Label.OVERFIT
    assert 95 <= d.evidence["best_epoch"] <= 115
    assert "rose" in d.reason and "epoch" in d.recommendation


def test_tiny_absolute_but_large_relative_rise_is_overfit():
    # On a linear plot from 0.1 this looks flat: the rise is about 1e-4 in absolute terms,
    # but the last epochs average about double the minimum.
    train = decay(0.1, 1e-6, 0.02)
    val = decay(0.1, 2e-5, 0.05) + np.where(E > 120, 1e-6 * (E - 120), 0.0)
    d = diagnose_run(train, val)
    assert val[-1] - val.min() < 2e-4
    assert d.label is Label.OVERFIT and d.evidence["rise"] > 0.9


def test_noisy_flat_curve_is_not_overfit():
    rng = np.random.default_rng(0)
    train = decay(1.0, 0.1, 0.05) * np.exp(0.05 * rng.standard_normal(300))
    val = decay(1.0, 0.12, 0.05) * np.exp(0.05 * rng.standard_normal(300))
    assert diagnose_run(train, val, baseline=0.5).label is Label.GOOD


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_loss_is_diverged(bad):
    val = decay(1.0, 0.1, 0.05)
    val[40] = bad
    d = diagnose_run(decay(1.0, 0.1, 0.05), val)
    assert d.label is Label.DIVERGED and "epoch 41" in d.reason


def test_exploding_loss_is_diverged():
    train = np.exp(E / 20.0)
    assert diagnose_run(train, train).label is Label.DIVERGED


def test_short_curves_still_get_a_label():
    assert diagnose_run([1.0, 0.9], [1.1, 1.0], baseline=0.5).label is Label.UNDERFIT
    d = diagnose_run([1.0], [0.2], baseline=0.5)
    assert d.label is Label.UNDERFIT and d.recommendation == "train for more epochs"


def test_reasons_carry_numbers():
    d = diagnose_run(decay(1.0, 0.4, 0.05), decay(1.0, 0.5, 0.05), baseline=0.1)
    assert any(ch.isdigit() for ch in d.reason)


def _d(label, val_end=1.0):
    return Diagnosis(label, f"{label.value} reason", f"{label.value} fix", {"val_end": val_end})


def test_trial_label_is_the_majority_with_agreement():
    t = diagnose_trial([_d(Label.GOOD), _d(Label.OVERFIT), _d(Label.GOOD)])
    assert t.label is Label.GOOD and t.agreement == "2/3 repeats good"
    assert t.reason.startswith("2/3 repeats good: ")
    assert t.repeat_labels == ["good", "overfit", "good"]


def test_repeats_with_no_majority_make_a_mixed_trial_that_says_so():
    t = diagnose_trial([_d(Label.GOOD), _d(Label.UNDERFIT), _d(Label.OVERFIT)])
    assert t.label is Label.MIXED and t.branch == "mixed"
    assert t.agreement == "no majority among 3 repeats (1 overfit, 1 underfit, 1 good)"
    assert "repeat 3 overfit: overfit reason" in t.reason
    assert diagnose_trial([_d(Label.GOOD), _d(Label.OVERFIT)]).label is Label.MIXED
    # two of three is a majority; a diverged repeat still makes the trial diverged
    assert diagnose_trial([_d(Label.GOOD), _d(Label.GOOD), _d(Label.OVERFIT)]).label is \
        Label.GOOD
    assert diagnose_trial([_d(Label.UNDERFIT), _d(Label.DIVERGED)]).label is Label.DIVERGED


def test_diagnosis_imports_neither_torch_nor_optuna():
    import subprocess
    import sys

    code = ("import sys, sweeper.diagnosis; "
            "print(any(m in sys.modules for m in ('torch', 'optuna')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_good_reason_says_why_a_rise_was_not_overfitting():
    train = decay(1.0, 0.02, 0.05) + np.where(E > 150, 0.0002 * (E - 150), 0.0)  # rises too
    val = decay(1.0, 0.02, 0.05) + np.where(E > 150, 0.0002 * (E - 150), 0.0)
    d = diagnose_run(train, val)
    assert d.label is Label.GOOD and "training loss stopped falling too" in d.reason


def test_exploding_gradients_are_flagged_with_clipping_advice():
    grad = np.ones(300)
    grad[200:210] = 500.0
    d = diagnose_run(decay(1.0, 0.02, 0.05), decay(1.0, 0.025, 0.05), baseline=0.1,
                     grad_norm=grad)
    assert d.evidence["unstable"] == "exploding gradients"
    assert "spiked 500x" in d.reason and "clip gradients" in d.recommendation


def test_vanishing_gradients_back_up_an_underfit():
    grad = np.geomspace(1.0, 1e-6, 300)
    d = diagnose_run(decay(1.0, 0.4, 0.05), decay(1.0, 0.5, 0.05), baseline=0.1, grad_norm=grad)
    assert d.label is Label.UNDERFIT and d.evidence["unstable"] == "vanishing gradients"


def test_trial_confidence_is_the_agreeing_share():
    t = diagnose_trial([_d(Label.GOOD), _d(Label.OVERFIT), _d(Label.GOOD), _d(Label.GOOD)])
    assert t.confidence == 0.75


def test_plateau_well_above_the_best_comparable_run_is_underfit():
    train, val = decay(1.0, 0.1, 0.05), decay(1.0, 0.12, 0.05)
    assert diagnose_run(train, val, baseline=0.5).label is Label.GOOD
    d = diagnose_run(train, val, baseline=0.5, reference=0.05)
    assert d.label is Label.UNDERFIT and "above the 0.05 that the best comparable run" in d.reason
    assert diagnose_run(train, val, baseline=0.5, reference=0.115).label is Label.GOOD


def test_slow_fall_with_stalled_training_is_underfit_with_a_higher_learning_rate():
    # Plain SGD at a tiny learning rate: validation still at its lowest, falling 2% a fifth.
    train, val = 1.0 - 0.0005 * E[:200], 1.1 - 0.00055 * E[:200]
    d = diagnose_run(train, val)
    assert d.label is Label.UNDERFIT and "still at its lowest at the end" in d.reason
    assert d.recommendation.startswith("raise the learning rate")


@pytest.mark.parametrize("n_epochs", [4, 5])
def test_few_epochs_still_falling_steeply_is_underfit(n_epochs):
    train = [1.0, 0.7, 0.5, 0.35, 0.25][:n_epochs]
    val = [1.1, 0.8, 0.6, 0.45, 0.33][:n_epochs]
    d = diagnose_run(train, val)
    assert d.label is Label.UNDERFIT and "still falling" in d.reason
    assert d.recommendation == "train for more epochs"


def test_training_loss_that_barely_came_down_is_underfit_unless_a_reference_says_otherwise():
    # Heavy dropout and weight decay, or 2 units: both losses level off, training at a third
    # of its first epoch's. Without a reference that progress is the evidence; with one, the
    # reference decides.
    train, val = decay(1.0, 0.35, 0.05), decay(1.0, 0.3, 0.05)
    d = diagnose_run(train, val)
    assert d.label is Label.UNDERFIT and "came down only to 35% of its first epoch's" in d.reason
    assert "less dropout and weight decay" in d.recommendation
    assert diagnose_run(train, val, reference=0.28).label is Label.GOOD


def test_validation_bump_smaller_than_the_rise_threshold_is_not_overfit():
    # A 12% bump, as a model trained on a small slice shows: not enough to say stopping at the
    # minimum would have been clearly better.
    val = decay(1.0, 0.1, 0.05) * np.where(E > 150, 1 + 0.12 * np.minimum(1, (E - 150) / 50), 1)
    d = diagnose_run(decay(1.0, 0.05, 0.03), val)
    assert d.label is Label.GOOD and "less than the 15% a rise must exceed" in d.reason
    assert diagnose_run(decay(1.0, 0.05, 0.03), val,
                        thresholds=Thresholds(min_rise=0.05)).label is Label.OVERFIT


def test_confidence_is_lower_near_a_threshold():
    train = decay(1.0, 0.05, 0.03)
    near = decay(1.0, 0.1, 0.05) * np.where(E > 150, 1 + 0.12 * np.minimum(1, (E - 150) / 50), 1)
    far = decay(1.0, 0.1, 0.05) * np.where(E > 150, 1 + np.minimum(1, (E - 150) / 50), 1)
    assert diagnose_run(train, near).confidence < 1.0
    assert diagnose_run(train, far).confidence == 1.0
