"""What a delivered model is worth: the baselines, the scorecard in the data's own units, the
warning when it loses, and prediction intervals that hold what they say."""

import io

import numpy as np
import pytest
import torch

from sweeper import Data
from sweeper.baselines import for_numbers, ridge, seasonal
from sweeper.delivery import DeliveredModel, calibrate, from_bytes
from sweeper.model import build
from sweeper.modelfile import FORMAT, meta_for
from sweeper.windows import make_windows
from sweeper.worth import lines, scorecard, warnings

RNG = np.random.default_rng(0)


def mse(p, y):
    return float(np.mean((p - y) ** 2))


def test_ridge_recovers_a_linear_autoregression():
    series = np.zeros(400)
    for t in range(2, 400):
        series[t] = 0.6 * series[t - 1] - 0.3 * series[t - 2] + RNG.normal()
    w = make_windows(series, Data(source=series, window=2, val_fraction=0.2, scale="none"))
    predict = ridge(w.split("train"), w.split("val"), mse)
    x, k, y = w.split("val")
    # As good as the true coefficients on the same windows, and far better than the last value
    oracle = 0.6 * x[:, -1, :1] - 0.3 * x[:, -2, :1]
    assert mse(predict(x, k), y) == pytest.approx(mse(oracle, y), rel=0.05)
    assert mse(x[:, -1, :1], y) > 1.3 * mse(oracle, y)


def test_the_seasonal_baseline_repeats_the_same_step_one_season_back():
    predict, why = seasonal(4, window=8, horizon=6, n_targets=1)
    assert why is None
    x = np.arange(8.0)[None, :, None]  # one window: steps 0..7
    # step j forecasts t+j; a season back within the window: steps 4, 5, 6, 7, 4, 5
    np.testing.assert_array_equal(predict(x, None), [[4, 5, 6, 7, 4, 5]])
    assert seasonal(12, window=8, horizon=1, n_targets=1)[1] == \
        "the window (8) is shorter than the season (12)"
    assert "no season" in seasonal(None, 8, 1, 1)[1]


def test_a_baseline_that_cannot_be_fit_is_left_out_with_the_reason():
    train = (np.zeros((3, 2, 1)), np.zeros((3, 0)), np.zeros((3, 1)))
    fitted = for_numbers(train, train, 1, 1, None, mse, window=2)
    assert "linear (ridge)" not in fitted.predict
    assert fitted.left_out["linear (ridge)"] == "too few training windows (3; it needs 5)"
    assert {"last value", "training mean"} <= set(fitted.predict)


def model_for(windows, data, hidden: int = 3, seed: int = 0) -> DeliveredModel:
    t = windows.task
    state = build(t.n_inputs, hidden, 1, 0.0, "keras", seed, t.n_outputs, t.n_known).state_dict()
    config = {"hidden": hidden, "layers": 1, "dropout": 0.0, "loss": "mse"}
    return DeliveredModel(meta_for("s", 0, config, data, t, [seed], [1]), [state])


def test_the_warning_fires_when_the_model_loses_to_a_baseline_and_not_when_it_wins():
    series = np.sin(np.arange(300) / 4.0) * 10 + 50
    data = Data(source=series, window=8, test_fraction=0.1)
    windows = make_windows(series, data)
    losing = model_for(windows, data)  # untrained: far worse than repeating the last value
    card = scorecard(losing, windows)
    assert card["verdicts"]["val"]["beats"] is False and card["verdicts"]["test"]["beats"] is False
    said = warnings(card)
    assert len(said) == 2 and "does not beat the linear (ridge) baseline on the validation" in \
        said[0]
    text = "\n".join(lines(card))
    assert "RMSE" in text and "in its own units" in text and "Skill on validation: " in text
    # A model that predicts every target exactly wins on both splits: no warning.
    class Oracle(DeliveredModel):
        def combined(self, x, k=None):
            return next(y for split in ("val", "test") for wx, _, y in [windows.split(split)]
                        if len(wx) == len(x) and np.array_equal(wx, x))

    oracle = Oracle(losing.meta, losing.states())
    card = scorecard(oracle, windows)
    assert card["verdicts"]["val"]["beats"] and card["verdicts"]["test"]["beats"]
    assert warnings(card) == [] and "warning" not in "\n".join(lines(card))


def test_errors_are_in_the_datas_own_units():
    series = np.sin(np.arange(300) / 4.0) * 10 + 50  # standardized for training
    data = Data(source=series, window=8, test_fraction=0.1)
    windows = make_windows(series, data)
    card = scorecard(model_for(windows, data), windows)
    last = card["splits"]["val"]["last value"]
    x, _, y = windows.split("val")
    raw_error = (x[:, -1, 0] - y[:, 0]) * windows.scale  # back to the series' units
    assert last["units"]["value"]["mae"] == pytest.approx(np.mean(np.abs(raw_error)), rel=1e-5)
    assert card["unit"] == "scaled mse"


def test_intervals_cover_their_share_of_new_windows_with_known_noise():
    # A model that predicts the truth exactly: its residuals are the noise alone.
    noise = RNG.normal(0, 2.0, 20000)
    truth = np.zeros(20000)
    series = truth + noise
    data = Data(source=series, window=1, val_fraction=0.5, scale="none")
    windows = make_windows(series, data)
    t = windows.task
    run = build(t.n_inputs, 1, 1, 0.0, "keras", 0, t.n_outputs, t.n_known)
    with torch.no_grad():
        for p in run.parameters():
            p.zero_()  # predicts 0: the truth
    config = {"hidden": 1, "layers": 1, "dropout": 0.0, "loss": "mse"}
    model = DeliveredModel(meta_for("s", 0, config, data, t, [0], [1]), [run.state_dict()])
    widths = calibrate(model, windows)
    # Normal noise of sd 2: 80% within 2.563, 95% within 3.920
    assert widths["0.8"][0] == pytest.approx(2.563, rel=0.05)
    assert widths["0.95"][0] == pytest.approx(3.920, rel=0.05)


def test_a_model_file_of_format_1_still_loads():
    series = np.sin(np.arange(60) / 4.0)
    data = Data(source=series, window=4)
    windows = make_windows(series, data)
    t = windows.task
    states = [build(1, 3, 1, 0.0, "keras", s, 1, 0).state_dict() for s in (0, 1)]
    meta = meta_for("old", 7, {"hidden": 3, "layers": 1, "dropout": 0.0, "loss": "mse"},
                    data, t, [11, 12], [5, 6])
    del meta["members"]  # what format 1 wrote
    import json

    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "format_version": 1, "meta": json.dumps(meta),
                "members": states}, buffer)
    model = from_bytes(buffer.getvalue(), "old.pt")
    assert [(m.trial, m.repeat, m.seed, m.best_epoch) for m in model.members] == \
        [(7, 0, 11, 5), (7, 1, 12, 6)]
    np.testing.assert_allclose(model.weights, [0.5, 0.5])
    assert "lower_80" not in model.predict(series)  # it carries no intervals
    assert len(model.predict(series)) == 60 - 4 + 1


def test_intervals_from_too_few_windows_are_infinite_not_undefined():
    series = 0.1 * np.arange(11)  # the tutorial's toy: 5 validation windows, too few for 95%
    data = Data(source=series, window=1, val_fraction=0.5, scale="none")
    windows = make_windows(series, data)
    widths = calibrate(model_for(windows, data), windows)
    assert not np.isnan(np.concatenate([np.asarray(w, float) for w in widths.values()])).any()
    assert np.isinf(widths["0.95"]).all()


def test_a_wider_level_holds_the_narrower_interval_when_its_halves_are_too_small():
    # 26 validation windows: each half (13) can measure the 80% width's drift but not the 95%
    # width's; errors grow over time, so the 80% width is widened and the 95% must follow.
    series = np.concatenate([np.zeros(26), 0.2 * np.arange(26) * RNG.choice([-1, 1], 26)])
    data = Data(source=series, window=1, val_fraction=0.5, scale="none")
    windows = make_windows(series, data)
    widths = calibrate(model_for(windows, data), windows)
    assert (np.asarray(widths["0.95"]) >= np.asarray(widths["0.8"])).all()
    plain = calibrate(model_for(windows, data), windows, design="plain")
    assert widths["0.8"][0] > plain["0.8"][0]  # the drift was measured and applied
