import numpy as np
import pytest

from sweeper import Data, SpecError
from sweeper.data import BUNDLED, make_windows, prepare


def test_toy_is_exactly_the_tutorials_pairs():
    w = prepare(Data.toy())
    np.testing.assert_allclose(w.train_x.ravel(), [0.0, 0.1, 0.2, 0.3, 0.4], atol=1e-7)
    np.testing.assert_allclose(w.train_y.ravel(), [0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-7)
    np.testing.assert_allclose(w.val_x.ravel(), [0.5, 0.6, 0.7, 0.8, 0.9], atol=1e-7)
    np.testing.assert_allclose(w.val_y.ravel(), [0.6, 0.7, 0.8, 0.9, 1.0], atol=1e-7)
    assert w.train_x.shape == (5, 1, 1) and w.train_y.shape == (5, 1)


def test_windows_are_sliding_and_predict_horizon_ahead():
    series = np.arange(20, dtype=float)
    w = make_windows(series, Data(source=series, window=3, horizon=2, val_fraction=0.25,
                                  scale="none"))
    # 20 - 3 - 2 + 1 = 16 windows: 12 train, 4 validation
    assert (w.n_train, w.n_val) == (12, 4)
    np.testing.assert_array_equal(w.train_x[0].ravel(), [0, 1, 2])
    assert w.train_y[0, 0] == 4  # last input 2, two steps ahead
    np.testing.assert_array_equal(w.val_x[0].ravel(), [12, 13, 14])


def test_split_is_chronological_with_test_last():
    series = np.arange(100, dtype=float)
    w = make_windows(series, Data(source=series, window=5, val_fraction=0.2, test_fraction=0.1,
                                  scale="none"))
    assert w.train_y.max() < w.val_y.min() and w.val_y.max() < w.test_y.min()
    assert w.n_train + w.n_val + len(w.test_y) == 95


@pytest.mark.parametrize("scale", ["standard", "minmax"])
def test_scaler_sees_only_the_training_part(scale):
    series = np.sin(np.arange(60) / 3.0)
    data = Data(source=series, window=4, val_fraction=0.25, scale=scale)
    base = make_windows(series, data)
    changed = series.copy()
    n_seen = base.n_train + 4  # values the training windows touch (inputs and targets)
    changed[n_seen:] *= 100.0  # a wild validation period must not move the scaler
    other = make_windows(changed, data)
    assert (other.offset, other.scale) == (base.offset, base.scale)
    np.testing.assert_array_equal(other.train_x, base.train_x)
    # ...but a change inside the training part does.
    changed[n_seen - 1] += 5.0
    moved = make_windows(changed, data)
    assert (moved.offset, moved.scale) != (base.offset, base.scale)


def test_standard_scaling_centres_the_training_part():
    series = np.random.default_rng(0).normal(10.0, 3.0, 200)
    w = make_windows(series, Data(source=series, window=5))
    assert abs(float(w.train_y.mean())) < 0.2 and abs(float(w.train_y.std()) - 1.0) < 0.2


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_series_load(name):
    w = prepare(Data(source=name))
    assert w.n_train > 100 and np.isfinite(w.train_x).all()


def test_baseline_is_the_better_naive_forecast():
    w = prepare(Data.toy())
    assert w.baseline("mse") == pytest.approx(0.01, rel=1e-5)  # persistence is off by 0.1
    assert w.baseline("mae") == pytest.approx(0.1, rel=1e-5)


@pytest.mark.parametrize(
    "values, message",
    [
        ([1.0, np.nan, 3.0] + [4.0] * 30, r"1 missing or infinite values \(first at row 2\)"),
        ([1.0, 2.0, 3.0], r"has 3 points, too short for window=12"),
        ([5.0] * 50, r"is constant over its training part"),
        (np.ones((10, 3)), r"must be a 1-D series, but has shape \(10, 3\)"),
    ],
)
def test_bad_data_is_one_sentence(values, message):
    with pytest.raises(SpecError, match=message):
        prepare(Data(source=values))


def test_csv_source_and_column_errors(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("date,value,other\n" + "".join(f"d{i},{i % 7},{i}\n" for i in range(40)))
    w = prepare(Data(source=str(path), column="value", window=3))
    assert w.n_train + w.n_val == 37
    with pytest.raises(SpecError, match=r"'valu' is not in series.csv \(did you mean 'value'\?\)"):
        prepare(Data(source=str(path), column="valu"))
    with pytest.raises(SpecError, match=r"Data.column must name the series"):
        prepare(Data(source=str(path)))
    with pytest.raises(SpecError, match=r"neither a bundled dataset .* nor an existing file"):
        prepare(Data(source="nope.csv"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"window": 0}, r"Data.window must be an int >= 1"),
        ({"val_fraction": 0.0}, r"Data.val_fraction must be > 0"),
        ({"val_fraction": 0.6, "test_fraction": 0.4}, r"must leave windows for training"),
        ({"scale": "log"}, r"Data.scale must be one of standard, minmax, none"),
    ],
)
def test_data_fields_are_validated(kwargs, message):
    with pytest.raises(SpecError, match=message):
        Data(source="toy", **kwargs)
