"""The one window cutter: what the sweep trains on and what a delivered model predicts are cut,
split and scaled by the same code, so `predict` on the study's own data sees exactly the
sweep's windows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sweeper import Data
from sweeper.delivery import DeliveredModel
from sweeper.model import build
from sweeper.modelfile import meta_for
from sweeper.windows import cut_series, for_prediction, gather, prepare

FIXTURES = Path(__file__).parent / "fixtures"
SITES = Data(source=str(FIXTURES / "sites.csv"), time="timestamp", group="site", target="load",
             past_covariates=["temperature"], future_covariates=["hour", "holiday"], window=6,
             horizon=4, val_fraction=0.2, test_fraction=0.1)
CASES = {
    "sites: two series, past and future covariates, horizon 4": SITES,
    "macro: five past covariates, a quarter ahead": Data(
        source="macro", time="date", target="gdp_growth",
        past_covariates=["cons_growth", "inv_growth", "unemp", "tbilrate", "infl"],
        future_covariates=["q"], window=8, horizon=4, test_fraction=0.1),
    "fertility: twenty series by country, horizon 2": Data(
        source="fertility", time="year", group="country", window=6, horizon=2,
        test_fraction=0.1, scale="minmax"),
    "sunspots: one column, no test split": Data(source="sunspots", window=11),
    "japanese vowels: sequences, split by the seed": Data(source="japanese_vowels",
                                                           test_fraction=0.1),
}
SPLITS = {"train": "train", "validation": "val", "test": "test"}


def model_for(data: Data, windows, seed: int) -> DeliveredModel:
    """A delivered model of two untrained repeats: predictions are arbitrary, but every
    number in them comes from the windows it was given."""
    t = windows.task
    states = [build(t.n_inputs, 4, 1, 0.0, "keras", s, t.n_outputs, t.n_known).state_dict()
              for s in (1, 2)]
    config = {"hidden": 4, "layers": 1, "dropout": 0.0, "loss": "mse"}
    return DeliveredModel(meta_for("s", 0, config, data, t, [1, 2], [1, 1], seed), states)


@pytest.mark.parametrize("name", CASES)
def test_predict_on_the_studys_data_reproduces_the_sweeps_windows(name):
    data, seed = CASES[name], 3
    windows = prepare(data, seed=seed)
    model = model_for(data, windows, seed)
    cut = model.windows()
    for split, field in SPLITS.items():
        x, k, _ = windows.split(field)
        pick = cut.split == split
        np.testing.assert_array_equal(cut.x[pick], x)  # the same inputs, bit for bit
        np.testing.assert_array_equal(cut.k[pick], k)
        np.testing.assert_array_equal(cut.at[pick], getattr(windows, f"{field}_at"))
    # ...so the validation rows of the table are the sweep's validation predictions.
    rows = model.predict()
    val = rows[rows["split"] == "validation"]
    expected = windows.task.inverse(model.predict_scaled(windows.val_x, windows.val_k)
                                    .astype(np.float64), windows.val_at[:, 0])
    if "sequence" in rows:  # a class per sequence: its averaged probability
        expected = expected.mean(axis=0)
        np.testing.assert_allclose(val[[f"p_{c}" for c in range(expected.shape[1])]],
                                   expected, rtol=1e-12)
        assert (val["label"].to_numpy() == windows.val_y[:, 0]).all()
    else:
        np.testing.assert_allclose(val["prediction"], expected.mean(axis=0).reshape(-1),
                                   rtol=1e-12)
        targets = windows.task.inverse(windows.val_y.astype(np.float64), windows.val_at[:, 0])
        np.testing.assert_allclose(val["target"], targets.reshape(-1), rtol=1e-5, atol=1e-6)


def test_new_data_is_one_new_split_plus_the_window_past_its_end():
    windows = prepare(SITES)
    model = model_for(SITES, windows, 0)
    frame = pd.read_csv(FIXTURES / "sites.csv", comment="#")
    north = frame[frame["site"] == "north"].iloc[-30:].copy()
    future = north.iloc[-4:].copy()
    north.loc[north.index[-4:], ["load", "temperature"]] = np.nan  # the forecast period
    cut = model.windows(north)
    assert set(cut.split[:-1]) == {"new"} and cut.split[-1] == "future"
    # 26 known steps: 26 - 6 - 4 + 1 windows, then the one that forecasts the 4 unknown ones
    assert len(cut.split) == 17 + 1
    assert cut.times is not None and str(cut.times[-1, 0]) == str(
        np.datetime64(pd.Timestamp(future["timestamp"].iloc[0])))
    assert np.isnan(cut.y[-1]).all() and not np.isnan(cut.y[:-1]).any()


def test_the_cutter_labels_splits_in_time_order_and_adds_the_future_window():
    data = Data(source=np.arange(30.0), window=3, horizon=2, val_fraction=0.2,
                test_fraction=0.2)
    cut = cut_series(30, 3, 2, data, future=True)
    # 26 windows; the one after the last training window and the one after the last
    # validation window are left out (each would forecast a step the split before forecasts)
    n = 30 - 3 - 2 + 1 - 2
    assert list(cut.split) == ["train"] * 14 + ["validation"] * 5 + ["test"] * 5 + ["future"]
    assert len(cut.inputs) == n + 1
    first = {s: int(cut.steps[list(cut.split).index(s), 0]) for s in ("validation", "test")}
    last = {s: int(cut.steps[len(cut.split) - 1 - list(cut.split)[::-1].index(s), -1])
            for s in ("train", "validation")}
    assert first["validation"] > last["train"] and first["test"] > last["validation"]
    np.testing.assert_array_equal(cut.inputs[-1], [27, 28, 29])
    np.testing.assert_array_equal(cut.steps[-1], [30, 31])
    values = np.column_stack([np.arange(30.0), 100 + np.arange(30.0)])  # a target, a future
    x, k, y = gather(values, cut, n_targets=1, n_past=0)
    assert x.shape == (n + 1, 3, 2) and k.shape == (n + 1, 2) and y.shape == (n + 1, 2, 1)
    np.testing.assert_array_equal(y[0, :, 0], [3, 4])
    np.testing.assert_array_equal(k[0], [103, 104])
    assert np.isnan(y[-1]).all() and np.isnan(k[-1]).all()  # past the end: unknown


def test_new_sequences_are_new_and_must_have_the_models_shape():
    data = Data(source="japanese_vowels")
    windows = prepare(data)
    model = model_for(data, windows, 0)
    x = np.zeros((3, 29, 12))
    cut = for_prediction(model.task, model.data, x)
    assert list(cut.split) == ["new"] * 3 and cut.y is None and cut.k.shape == (3, 0)
    with pytest.raises(Exception, match=r"this model reads sequences of 29 steps x 12"):
        for_prediction(model.task, model.data, x[:, :5])
