"""The tasks on their own: widths, losses, baselines, scaling and its inverse, the prediction
table and what a model file keeps of them."""

import typing

import numpy as np
import pandas as pd
import pytest
import torch

from sweeper.task import (
    Classify,
    Forecast,
    Regress,
    Task,
    cross_entropy,
    from_description,
    loss_value,
    macro_f1,
)
from sweeper.windows import PredictionWindows

RNG = np.random.default_rng(0)


def forecast() -> Forecast:
    """Two series; targets y, z; past covariate p; future covariate f; window 4, horizon 3."""
    offset = np.array([[1.0, 2.0, 0.0, 5.0], [-1.0, 0.5, 1.0, 5.0]])
    scale = np.array([[2.0, 4.0, 1.0, 3.0], [0.5, 1.0, 2.0, 3.0]])
    return Forecast(("y", "z"), ("p",), ("f",), 4, 3, ("a", "b"), offset, scale)


def classify(unbalanced: bool = False) -> Classify:
    return Classify(2, 3, 5, np.zeros(2), np.ones(2), np.array([0.5, 0.3, 0.2]), unbalanced)


def regress() -> Regress:
    return Regress(2, 2, 5, np.zeros(2), np.ones(2), np.array([10.0, -1.0]),
                   np.array([2.0, 0.5]))


TASKS = {"forecast": forecast, "classify": classify, "regress": regress}


@pytest.mark.parametrize("make", TASKS.values(), ids=TASKS)
def test_every_task_has_everything_the_protocol_asks(make):
    task = make()
    members = {name for name in dir(Task) if not name.startswith("_")} | \
        set(typing.get_type_hints(Task))
    missing = [name for name in members if not hasattr(task, name)]
    assert not missing, f"{type(task).__name__} lacks {missing}"


def test_forecast_widths_follow_its_columns_and_horizon():
    t = forecast()
    assert t.columns == ("y", "z", "p", "f") and t.n_inputs == 4
    assert t.n_known == 3 * 1 and t.n_outputs == 3 * 2 and t.input_shape == (4, 4)
    assert t.loss_names == ("mse", "mae") and t.loss_name("mae") == "mae"


def test_forecast_scaling_round_trips_per_series():
    t = forecast()
    raw = RNG.normal(size=(10, 4))
    for row in (0, 1):
        scaled = t.encode_inputs(raw, row)
        assert scaled.dtype == np.float32
        np.testing.assert_allclose(scaled * t.scale[row] + t.offset[row], raw, atol=1e-5)
    # Outputs are step-major (step 1: y, z; step 2: y, z; ...), unscaled by each window's series.
    pred = np.tile(np.array([[0.0, 1.0]]), (2, 3))  # two windows, y=0 and z=1 at every step
    back = t.inverse(pred, np.array([0, 1]))
    assert back.shape == (2, 3, 2)
    np.testing.assert_allclose(back[0, :, 0], 1.0)  # 0 * 2 + 1, series a
    np.testing.assert_allclose(back[1, :, 1], 1.5)  # 1 * 1 + 0.5, series b


def test_forecast_baseline_is_the_better_naive_forecast():
    t = Forecast(("y",), (), (), 2, 1, ("",), np.zeros((1, 1)), np.ones((1, 1)))
    x = np.array([[[5.0], [0.0]], [[5.0], [1.0]]])
    y = np.array([[1.0], [2.0]])  # the last value, repeated: off by 1 each time
    train_y = np.array([[1.5], [1.5]])  # the training mean, 1.5: off by 0.5 each time
    assert t.baseline("mae", x, y, train_y) == pytest.approx(0.5)
    assert t.baseline("mae", x, y + 1.0, train_y) == pytest.approx(1.0)  # now the last value
    assert np.isnan(t.baseline("mse", x[:0], y[:0], train_y))


def test_forecast_table_is_long_format_in_the_datas_units():
    t = forecast()
    n = 2
    windows = PredictionWindows(
        x=np.zeros((n, 4, 4), np.float32), k=np.zeros((n, 3), np.float32),
        y=np.arange(n * 3 * 2, dtype=float).reshape(n, 3, 2), at=np.array([[0, 10], [1, 20]]),
        split=np.array(["validation", "future"], dtype=object), grouped=True)
    pred = np.stack([np.zeros((n, 6)), np.ones((n, 6))])  # two repeats
    rows, members = t.table(pred, windows)
    assert list(rows.columns) == ["series", "position", "step", "variable", "split", "target",
                                  "prediction", "lowest", "highest"]
    assert len(rows) == n * 3 * 2 and members.shape == (2, n * 3 * 2)
    first = rows.iloc[0]
    assert (first["series"], first["position"], first["step"], first["variable"]) == \
        ("a", 11, 1, "y")
    # repeat 0 predicts 0 (scaled), repeat 1 predicts 1: y of series a is 1 and 3
    assert (first["lowest"], first["prediction"], first["highest"]) == (1.0, 2.0, 3.0)
    assert rows["target"].tolist() == list(range(12))
    lines = t.summary(rows, "the study's data")
    assert lines[0] == ("2 windows on the study's data (12 rows of predictions): 1 validation, "
                        "1 future")
    assert lines[1] == ("forecast (series b, position 21, step 1, variable y): -0.75 (the "
                        "runs' range -1 to -0.5)")


def test_classify_scores_cross_entropy_whatever_the_configured_loss():
    t = classify()
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    labels = np.array([[0.0], [2.0]])
    assert t.loss_name("mse") == "cross-entropy" and t.loss_names == ("cross-entropy",)
    expected = -np.mean(np.log([0.7, 0.8]))
    assert t.loss("mse", logits, labels) == pytest.approx(expected)
    assert cross_entropy(logits, labels) == pytest.approx(expected)
    tensor = torch.tensor(logits)[None]
    member = t.member_loss("mae", tensor, torch.tensor(labels)[None])
    assert float(member[0]) == pytest.approx(expected)
    assert t.scores(logits, labels) == {"accuracy": 1.0}


def test_classify_combines_probabilities_and_its_baseline_is_the_class_shares():
    t = classify()
    a = np.log(np.array([[0.9, 0.05, 0.05]]))
    b = np.log(np.array([[0.1, 0.8, 0.1]]))
    combined = t.combine(np.stack([a, b]))
    np.testing.assert_allclose(np.exp(combined), [[0.5, 0.425, 0.075]])
    y = np.array([[0.0], [1.0], [2.0]])
    assert t.baseline("mse", None, y, None) == pytest.approx(-np.mean(np.log([0.5, 0.3, 0.2])))
    assert t.baseline_scores(y) == {"majority": pytest.approx(1 / 3)}
    np.testing.assert_array_equal(t.encode_targets(np.array([0, 2])), [[0.0], [2.0]])


def test_classify_table_gives_each_sequence_its_class_and_probabilities():
    t = classify()
    windows = PredictionWindows(np.zeros((2, 5, 2), np.float32), np.zeros((2, 0), np.float32),
                                np.array([1, 2]), np.zeros((2, 2), int),
                                np.array(["validation", "new"], dtype=object))
    logits = np.log(np.array([[[0.2, 0.7, 0.1], [0.3, 0.3, 0.4]],
                              [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]]))
    rows, members = t.table(logits, windows)
    assert list(rows.columns) == ["sequence", "split", "label", "prediction", "probability",
                                  "lowest", "highest", "p_0", "p_1", "p_2"]
    assert rows["prediction"].tolist() == [1, 2]
    np.testing.assert_allclose(rows["probability"], [0.6, 0.6])
    np.testing.assert_allclose(rows[["p_0", "p_1", "p_2"]].sum(axis=1), 1.0)
    np.testing.assert_array_equal(members, [[1, 2], [1, 2]])
    assert t.summary(rows, "x") == ["on x: 1 validation sequences: accuracy 1.000; "
                                    "1 new sequences: accuracy 1.000"]


def test_unbalanced_classes_add_macro_f1():
    t = classify(unbalanced=True)
    assert t.metric_names == ("accuracy", "macro_f1")
    assert macro_f1(np.array([0, 0, 1]), np.array([0, 1, 1]), 3) == pytest.approx(
        (2 / 3 + 2 / 3 + 0) / 3)


def test_regress_scales_its_targets_and_undoes_it():
    t = regress()
    y = np.array([[12.0, -0.5], [8.0, -2.0]])
    scaled = t.encode_targets(y)
    np.testing.assert_allclose(scaled, [[1.0, 1.0], [-1.0, -2.0]])
    np.testing.assert_allclose(t.inverse(scaled.astype(float), None), y)
    assert t.targets == ("y0", "y1") and t.n_outputs == 2 and t.input_shape == (5, 2)
    assert t.baseline("mae", None, scaled, np.zeros((4, 2))) == pytest.approx(1.25)
    assert loss_value("mse", scaled, scaled) == 0.0


def test_regress_table_has_a_row_per_sequence_and_output():
    t = regress()
    windows = PredictionWindows(np.zeros((2, 5, 2), np.float32), np.zeros((2, 0), np.float32),
                                None, np.zeros((2, 2), int),
                                np.array(["new", "new"], dtype=object))
    rows, members = t.table(np.zeros((3, 2, 2)), windows)
    assert list(rows.columns) == ["sequence", "split", "variable", "target", "prediction",
                                  "lowest", "highest"]
    assert rows["variable"].tolist() == ["y0", "y1", "y0", "y1"]
    assert rows["prediction"].tolist() == [10.0, -1.0, 10.0, -1.0]
    assert rows["target"].isna().all() and members.shape == (3, 4)


@pytest.mark.parametrize("make", TASKS.values(), ids=TASKS)
def test_a_task_survives_its_description(make):
    task = make()
    again = from_description(task.describe())
    assert type(again) is type(task) and again == task  # scalers compare below
    for name in ("offset", "scale"):
        np.testing.assert_array_equal(getattr(again, name), getattr(task, name))
    assert again.describe() == task.describe()
    assert isinstance(pd.Series(task.describe()), pd.Series)  # plain JSON-able values
