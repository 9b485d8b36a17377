"""Diagnosis on curves built inline; nothing here trains."""

import numpy as np
import pytest

from sweeper.diagnosis import Diagnosis, Label, diagnose_run, diagnose_trial

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
    # but more than double the minimum.
    train = decay(0.1, 1e-6, 0.02)
    val = decay(0.1, 2e-5, 0.05) + np.where(E > 120, 1e-6 * (E - 120), 0.0)
    d = diagnose_run(train, val)
    assert val[-1] - val.min() < 2e-4
    assert d.label is Label.OVERFIT and d.evidence["rise"] > 1.0


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
    assert diagnose_run([1.0], [0.2], baseline=0.5).label is Label.GOOD


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


def test_trial_ties_go_to_the_more_severe_label():
    assert diagnose_trial([_d(Label.GOOD), _d(Label.OVERFIT)]).label is Label.OVERFIT
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
