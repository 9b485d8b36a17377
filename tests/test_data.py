import numpy as np
import pandas as pd
import pytest

from sweeper import Data, SpecError
from sweeper.data import BUNDLED
from sweeper.windows import make_windows, prepare


def test_toy_is_exactly_the_tutorials_pairs():
    w = prepare(Data.toy())
    np.testing.assert_allclose(w.train_x.ravel(), [0.0, 0.1, 0.2, 0.3, 0.4], atol=1e-7)
    np.testing.assert_allclose(w.train_y.ravel(), [0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-7)
    np.testing.assert_allclose(w.val_x.ravel(), [0.5, 0.6, 0.7, 0.8, 0.9], atol=1e-7)
    np.testing.assert_allclose(w.val_y.ravel(), [0.6, 0.7, 0.8, 0.9, 1.0], atol=1e-7)
    assert w.train_x.shape == (5, 1, 1) and w.train_y.shape == (5, 1)


def test_windows_are_sliding_and_forecast_every_step_of_the_horizon():
    series = np.arange(20, dtype=float)
    w = make_windows(series, Data(source=series, window=3, horizon=2, val_fraction=0.25,
                                  scale="none"))
    # 20 - 3 - 2 + 1 = 16 windows: 11 train, 1 left out (its second step would be the first
    # validation window's first), 4 validation
    assert (w.n_train, w.n_val) == (11, 4)
    np.testing.assert_array_equal(w.train_x[0].ravel(), [0, 1, 2])
    np.testing.assert_array_equal(w.train_y[0], [3, 4])  # last input 2: both next steps
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
        ([1.0, np.nan, 3.0] + [4.0] * 30,
         r"1 missing or infinite values in the series \(first at row 2, column 'value'\)"),
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
    with pytest.raises(SpecError, match=r"Data.target must name the series in series.csv"):
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


# Several columns, covariates, groups, time and horizons.


def load_frame_csv(tmp_path, rows=60, groups=("a", "b"), gap_at=None):
    """An hourly frame with two sites: load (target), temp (past), hour and holiday (future)."""
    frames = []
    for g in groups:
        t = pd.date_range("2024-01-01", periods=rows, freq="h")
        if gap_at is not None and g == groups[0]:
            t = t.delete(gap_at)
        n = len(t)
        frames.append(pd.DataFrame({
            "site": g, "timestamp": t.astype(str), "load": np.sin(np.arange(n) / 3) + 5,
            "temp": np.cos(np.arange(n) / 5), "hour": t.hour, "holiday": (t.day == 2) * 1}))
    path = tmp_path / "load.csv"
    pd.concat(frames).sample(frac=1.0, random_state=0).to_csv(path, index=False)  # shuffled
    return path


def spec(path, **over):
    return Data(**{"source": str(path), "time": "timestamp", "target": "load",
                   "past_covariates": ["temp"], "future_covariates": ["hour", "holiday"],
                   "group": "site", "window": 6, "horizon": 3, "val_fraction": 0.2,
                   "test_fraction": 0.1, **over})


def test_series_are_cut_apart_split_in_time_order_and_scaled_on_their_own_training_part(
        tmp_path):
    w = prepare(spec(load_frame_csv(tmp_path)))
    t = w.task
    assert t.columns == ("load", "temp", "hour", "holiday") and t.series == ("a", "b")
    assert (t.n_inputs, t.n_known, t.n_outputs) == (4, 3 * 2, 3)
    # 60 rows per site: 60 - 6 - 3 + 1 = 52 windows each; the 2 after the last training and
    # the 2 after the last validation window are left out (their steps overlap the split's
    # before), and the other 48 split 33 / 10 / 5 per site
    assert (w.n_train, w.n_val, w.n_test) == (2 * 33, 2 * 10, 2 * 5)
    assert w.train_x.shape == (66, 6, 4) and w.train_k.shape == (66, 6) and \
        w.train_y.shape == (66, 3)
    for split in ("train", "val", "test"):
        at = getattr(w, f"{split}_at")
        for s in (0, 1):  # in time order within each series, and no window crosses series
            starts = at[at[:, 0] == s, 1]
            assert np.all(np.diff(starts) == 1)
    # the first validation window of site b starts after its last training window
    assert w.val_at[w.val_at[:, 0] == 1, 1].min() > w.train_at[w.train_at[:, 0] == 1, 1].max()
    # scaled per series with its training rows only: the training targets are centred
    assert abs(float(w.train_y[w.train_at[:, 0] == 0].mean())) < 0.3
    assert "120 rows; 2 series (by site); target load; past covariates temp; future " \
           "covariates hour, holiday; window 6, horizon 3; 66 training, 20 validation and 10 " \
           "test windows" in w.summary


def test_the_future_covariates_of_the_forecast_steps_reach_the_head(tmp_path):
    w = prepare(spec(load_frame_csv(tmp_path), scale="none", group=None,
                     source=str(load_frame_csv(tmp_path, groups=("a",)))))
    start = int(w.train_at[0, 1])  # the first forecast step, 6 hours in
    np.testing.assert_allclose(w.train_k[0].reshape(3, 2)[:, 0], [start, start + 1, start + 2])
    np.testing.assert_allclose(w.train_x[0, :, 2], np.arange(6))  # hours over the window


def test_column_stays_an_alias_of_one_target(tmp_path):
    path = load_frame_csv(tmp_path)
    assert Data(source=str(path), column="load").target == ["load"]
    with pytest.raises(SpecError, match="Data.column is another name for a single "
                                        "Data.target; give one of them, not both"):
        Data(source=str(path), column="load", target="temp")


@pytest.mark.parametrize("over, edit, message", [
    ({"target": "lod"}, None, r"Data.target 'lod' is not in load.csv \(did you mean 'load'\?\)"),
    ({"past_covariates": ["tmp"]}, None, r"Data.past_covariates 'tmp' is not in load.csv "
                                         r"\(did you mean 'temp'\?\)"),
    ({}, lambda f: f.assign(temp=f["temp"].astype(str).where(f.index != 3, "warm")),
     r"Data.past_covariates 'temp' in load.csv is not numeric: 1 values are not numbers "
     r"\(first at row 4: 'warm'\); encode it as numbers"),
    ({}, lambda f: f.assign(timestamp=f["timestamp"].where(f.index != 5, "soon")),
     r"Data.time 'timestamp' in load.csv has values that are not times \(row 6: 'soon'\)"),
    ({}, lambda f: f.assign(load=f["load"].where(f.index != 7)),
     r"load.csv has 1 missing or infinite values in series '.' \(site\) \(first at row 8, "
     r"column 'load'\)"),
    ({}, lambda f: pd.concat([f, f.iloc[[0]]]), r"Data.time: series '.' \(site\) has two rows "
                                                r"at 2024-01-0\d( \d\d:00:00)? \(rows"),
    ({"window": 48, "horizon": 24}, None, r"series 'a' \(site\) has 60 points, too short for "
                                          r"window=48 and horizon=24"),
    ({"target": ["load", "load"]}, None, r"Data.target must be a list of different column "
                                         r"names"),
    ({"past_covariates": ["load"]}, None, r"the column 'load' is both Data.target and "
                                          r"Data.past_covariates"),
])
def test_bad_frames_are_one_sentence(tmp_path, over, edit, message):
    path = load_frame_csv(tmp_path)
    if edit is not None:
        edit(pd.read_csv(path)).to_csv(path, index=False)
    with pytest.raises(SpecError, match=message):
        prepare(spec(path, **over))


def test_a_missing_timestamp_is_reported_with_where(tmp_path):
    with pytest.raises(SpecError, match=r"Data.time: series 'a' \(site\) is missing 1 "
                                        r"timestamps \(first after 2024-01-01 09:00:00, row "
                                        r"\d+ of load.csv, where the step is 1 hour\)"):
        prepare(spec(load_frame_csv(tmp_path, gap_at=10)))


def test_monthly_and_quarterly_dates_count_as_even_steps():
    for source, time in (("co2", "month"), ("macro", "date"), ("elnino", "month")):
        assert prepare(Data(source=source, time=time)).n_train > 100


def test_a_dataframe_source_and_several_targets():
    frame = pd.DataFrame({"x": np.sin(np.arange(80) / 4), "y": np.cos(np.arange(80) / 4),
                          "z": np.arange(80.0)})
    w = prepare(Data(source=frame, target=["x", "y"], past_covariates=["z"], window=5,
                     horizon=2))
    assert w.task.targets == ("x", "y") and w.train_y.shape[1] == 4
    # Outputs are step-major: step 1's x and y, then step 2's.
    raw = (frame[["x", "y"]].to_numpy() - w.task.offset[0, :2]) / w.task.scale[0, :2]
    np.testing.assert_allclose(w.train_y[0], raw[5:7].reshape(-1), rtol=1e-5)


def test_multi_step_baselines_repeat_the_last_value_or_predict_the_training_mean():
    series = np.arange(40, dtype=float)
    w = make_windows(series, Data(source=series, window=3, horizon=2, scale="none"))
    persistence = np.repeat(w.val_x[:, -1, :1], 2, axis=1)
    expected = float(np.mean((persistence - w.val_y) ** 2))  # a trend: persistence is better
    assert w.baseline("mse") == pytest.approx(min(expected, float(np.mean(
        (w.train_y.mean() - w.val_y) ** 2))))
    assert w.baseline("mse") == pytest.approx(2.5)  # off by 1 and 2 steps


def test_covariates_need_named_columns():
    with pytest.raises(SpecError, match="an array holds one series and no named columns"):
        Data(source=[1.0, 2.0, 3.0], past_covariates=["x"])
