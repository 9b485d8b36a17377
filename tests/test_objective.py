import numpy as np
import pytest

from sweeper.objective import final_loss, score


def test_score_adds_the_penalized_gap():
    s = score(np.array([0.1, 0.2]), np.array([0.3, 0.5]), gap_penalty=2.0)
    assert s.val_loss == pytest.approx(0.4)
    assert s.gap == pytest.approx(0.25)
    assert s.penalty == pytest.approx(0.5)
    assert s.score == pytest.approx(0.9)


def test_zero_penalty_is_a_plain_validation_sweep():
    s = score(np.array([0.1, 0.2]), np.array([0.3, 0.5]), gap_penalty=0.0)
    assert s.score == s.val_loss and s.penalty == 0.0


def test_negative_gap_is_not_rewarded():
    s = score(np.array([0.5]), np.array([0.3]), gap_penalty=1.0)
    assert s.gap == pytest.approx(-0.2) and s.penalty == 0.0 and s.score == pytest.approx(0.3)


def test_final_loss_averages_the_last_five_finite_epochs():
    curve = np.array([9.0, 9.0, 1.0, 2.0, 3.0, 4.0, 5.0, np.nan, np.nan])
    assert final_loss(curve) == pytest.approx(3.0)
    assert np.isnan(final_loss(np.array([np.nan])))
