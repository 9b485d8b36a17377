import numpy as np
import pytest

from sweeper.objective import best_loss, final_loss, score

SETTLED = np.array([1.0, 0.6, 0.4, 0.3] + [0.25] * 10)
TURNED = np.array([1.0, 0.6, 0.4, 0.3] + [0.25] * 5 + [0.3, 0.35, 0.4, 0.45, 0.5])


def test_score_penalizes_how_far_validation_ended_above_its_best():
    s = score([SETTLED, TURNED], np.array([0.1, 0.2]), gap_penalty=2.0)
    assert s.val_loss == pytest.approx((0.25 + 0.4) / 2)
    assert s.overfit_gap == pytest.approx((0.0 + 0.15) / 2)
    assert s.penalty == pytest.approx(0.15)
    assert s.score == pytest.approx(s.val_loss + 0.15)
    assert s.train_loss == pytest.approx(0.15)
    assert s.gap == pytest.approx(((0.25 - 0.1) + (0.4 - 0.2)) / 2)  # stored, not penalized


def test_zero_penalty_is_a_plain_validation_sweep():
    s = score([SETTLED, TURNED], np.array([0.1, 0.2]), gap_penalty=0.0)
    assert s.score == s.val_loss and s.penalty == 0.0


def test_spread_penalizes_repeats_that_disagree():
    agree = [SETTLED * 1.0, SETTLED * 1.0, SETTLED * 1.0]
    disagree = [SETTLED * 0.8, SETTLED * 1.0, SETTLED * 1.2]  # same mean, wider
    assert score(agree, np.zeros(3), 0.0, 1.0).spread == pytest.approx(0.0)
    s = score(disagree, np.zeros(3), 0.0, spread_penalty=2.0)
    se = np.std([0.2, 0.25, 0.3], ddof=1) / np.sqrt(3)
    assert s.val_loss == pytest.approx(0.25)
    assert s.spread == pytest.approx(se)
    assert s.penalty == pytest.approx(2.0 * se) and s.score == pytest.approx(0.25 + 2.0 * se)
    assert score([SETTLED], np.zeros(1), 0.0, 1.0).spread == 0.0  # one run: nothing to spread


def test_only_repeats_diagnosed_overfit_count_toward_the_overfit_gap():
    s = score([TURNED, TURNED], np.array([0.1, 0.1]), 1.0, overfit=[True, False])
    assert s.overfit_gap == pytest.approx((0.15 + 0.0) / 2)
    assert score([TURNED], np.array([0.1]), 1.0, overfit=[False]).overfit_gap == 0.0
    assert score([TURNED], np.array([0.1]), 1.0).overfit_gap == pytest.approx(0.15)


def test_a_still_falling_or_short_run_has_no_overfit_gap():
    falling = np.linspace(1.0, 0.1, 30)
    assert score([falling], np.array([0.05]), 1.0).overfit_gap == 0.0
    assert score([np.array([0.5, 0.4])], np.array([0.3]), 1.0).overfit_gap == 0.0


def test_final_and_best_loss_average_five_finite_epochs():
    curve = np.array([9.0, 9.0, 1.0, 2.0, 3.0, 4.0, 5.0, np.nan, np.nan])
    assert final_loss(curve) == pytest.approx(3.0)
    assert best_loss(curve) == pytest.approx(3.0)  # windows: 4.8, 3.8, 3.0
    assert np.isnan(final_loss(np.array([np.nan])))
