"""Sequences instead of series: a class per sequence (cross-entropy, accuracy) or numbers per
sequence, through the data, the engines, the sweep and the delivered model."""

import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

import sweeper
from sweeper import Data, SpecError, keys
from sweeper.__main__ import main
from sweeper.train import train_repeats
from sweeper.windows import prepare

FIXTURES = Path(__file__).parent / "fixtures"
CPU = torch.device("cpu")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(90, 8, 3)).astype(np.float32)
LABELS = np.repeat([0, 1, 2], 30)
X[:, :, 0] += LABELS[:, None]  # a learnable class signal


def test_validation_and_test_are_drawn_per_class_with_the_seed():
    w = prepare(Data(x=X, y=LABELS, task="classify", test_fraction=0.2), seed=3)
    assert (w.n_train, w.n_val, w.n_test) == (54, 18, 18)
    for y in (w.train_y, w.val_y, w.test_y):  # every class in every split, in proportion
        assert list(np.bincount(y[:, 0].astype(int))) == [len(y) // 3] * 3
    again = prepare(Data(x=X, y=LABELS, task="classify", test_fraction=0.2), seed=3)
    other = prepare(Data(x=X, y=LABELS, task="classify", test_fraction=0.2), seed=4)
    np.testing.assert_array_equal(again.val_at, w.val_at)
    assert not np.array_equal(other.val_at, w.val_at)
    # features scaled with the training sequences only
    train = X[w.train_at[:, 1]]
    np.testing.assert_allclose(w.task.offset, train.reshape(-1, 3).mean(axis=0), rtol=1e-5)
    assert w.task.kind == "classify" and w.task.n_outputs == 3 and w.train_k.shape == (54, 0)
    assert "90 sequences of 8 steps x 3 features; task classify, 3 classes" in w.summary


def test_the_naive_baseline_is_the_training_class_shares():
    y = np.array([0] * 60 + [1] * 20 + [2] * 10)
    w = prepare(Data(x=X, y=y, task="classify"))
    prior = np.bincount(w.train_y[:, 0].astype(int)) / w.n_train
    expected = -np.mean(np.log(prior[w.val_y[:, 0].astype(int)]))
    assert w.baseline("mse") == pytest.approx(expected)
    assert w.task.majority(w.val_y) == pytest.approx(np.mean(w.val_y[:, 0] == 0))
    assert w.task.unbalanced and w.task.metric_names == ("accuracy", "macro_f1")


@pytest.mark.parametrize("engine", ["sequential", "vectorized"])
def test_engines_learn_classes_and_record_accuracy_every_epoch(engine):
    w = prepare(Data(x=X, y=LABELS, task="classify"))
    cfg = {"hidden": 8, "layers": 1, "dropout": 0.0, "weight_decay": 0.0, "lr": 1e-2,
           "batch_size": 32, "optimizer": "adamw", "loss": "mse", "init": "keras",
           "shuffle": True, "epochs": 12}
    res = train_repeats(cfg, w, [0, 1], CPU, patience=None, engine=engine)
    assert res.metrics["accuracy"].shape == (2, 12)
    assert res.val[0, -1] < res.val[0, 0] and res.metrics["accuracy"][0, -1] > 0.6
    alone = train_repeats(cfg, w, [1], CPU, patience=None, engine="sequential")
    np.testing.assert_allclose(res.val[1], alone.val[0], rtol=1e-4)
    np.testing.assert_allclose(res.metrics["accuracy"][1], alone.metrics["accuracy"][0])


def test_numbers_per_sequence_are_a_regression_on_the_users_windows():
    y = X[:, -1, :2].sum(axis=1) * 10 + 100  # float targets: regression, scaled and undone
    w = prepare(Data(x=X, y=y, test_fraction=0.1))
    assert w.task.kind == "regress" and w.train_y.shape == (63, 1)
    assert abs(float(w.train_y.mean())) < 0.2
    np.testing.assert_allclose(w.task.inverse(w.val_y, None)[:, 0], y[w.val_at[:, 1]],
                               rtol=1e-4)


@pytest.mark.parametrize("kwargs, message", [
    ({"x": X[:, :, 0], "y": LABELS}, r"Data.x must have shape \(n, time, features\), but got "
                                     r"shape \(90, 8\) \(one feature\? add it as a last axis"),
    ({"x": X, "y": LABELS[:50]}, r"x has 90 sequences, but y has shape \(50,\)"),
    ({"x": X, "y": np.r_[np.full(89, "a", dtype=object), None], "task": "classify"},
     r"Data.y in the arrays has 1 missing labels \(first for sequence 90\)"),
    ({"x": X, "y": np.full(90, "walking"), "task": "classify"},
     r"has one class only \('walking'\); classification needs at least two"),
    ({"x": X, "y": np.full(90, "walking"), "task": "regress"},
     r"holds labels that are not numbers \(such as 'walking'\), but Data.task is 'regress'"),
    ({"x": X, "y": np.r_[LABELS[:-2], 3, 3], "task": "classify", "test_fraction": 0.2},
     r"class 3 has 2 sequences; training, validation and test need at least 3 of each class"),
    ({"x": np.where(np.arange(90)[:, None, None] == 4, np.nan, X), "y": LABELS},
     r"Data.x in the arrays has 24 missing or infinite values \(first in sequence 5, step 1, "
     r"feature 1\)"),
    ({"x": X, "y": LABELS, "task": "forecasting"}, r"Data.task must be one of forecast, "
                                                   r"classify, regress.*did you mean 'forecast'"),
])
def test_bad_sequences_are_one_sentence(kwargs, message):
    with pytest.raises(SpecError, match=message):
        prepare(Data(**kwargs))


def test_an_npz_file_is_read_without_unpickling(tmp_path):
    np.savez(tmp_path / "set.npz", x=X, y=LABELS)
    w = prepare(Data(source=str(tmp_path / "set.npz"), task="classify"))
    assert w.task.n_classes == 3
    np.savez(tmp_path / "objects.npz", x=np.array([X, "code"], dtype=object), y=LABELS)
    with pytest.raises(SpecError, match="holds Python objects, not plain arrays; sweeper does "
                                        "not unpickle data files"):
        prepare(Data(source=str(tmp_path / "objects.npz"), task="classify"))
    np.savez(tmp_path / "nox.npz", inputs=X, y=LABELS)
    with pytest.raises(SpecError, match="holds inputs, y arrays but not x"):
        prepare(Data(source=str(tmp_path / "nox.npz")))


@pytest.fixture(scope="module")
def vowels(tmp_path_factory):
    root = tmp_path_factory.mktemp("vowels")
    shutil.copy(FIXTURES / "vowels_toy.py", root / "vowels_toy.py")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main([str(root / "vowels_toy.py"), "--device", "cpu"]) == 0
    return root


def test_a_classification_sweep_stores_accuracy_and_delivers_classes(vowels, monkeypatch,
                                                                     capsys):
    monkeypatch.chdir(vowels)
    study = optuna.load_study(study_name="vowels_toy",
                              storage="sqlite:///runs/vowels_toy/study.db")
    for t in study.trials:
        curves = t.user_attrs[keys.CURVES]
        assert len(curves["val_accuracy"]) == 2 and len(curves["val_macro_f1"]) == 2
        scores = t.user_attrs[keys.DELIVERED]["scores"]
        assert 0 <= scores["accuracy"] <= 1
    test = study.user_attrs[keys.STUDY_TEST]
    assert test["loss"] == "cross-entropy" and 0 <= test["scores"]["accuracy"] <= 1
    assert test["majority"] == pytest.approx(0.18, abs=0.05)
    model = sweeper.load_model(str(vowels / "vowels_toy.py"))
    rows = model.predict()
    assert list(rows.columns[:7]) == ["sequence", "split", "label", "prediction",
                                      "probability", "lowest", "highest"]
    probs = rows[[f"p_{c}" for c in range(9)]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(rows["prediction"], probs.argmax(axis=1))
    assert (rows["lowest"] <= rows["probability"]).all()
    # the test split the study scored is the one predict labels "test"
    test_rows = rows[rows["split"] == "test"]
    assert len(test_rows) == test["n_windows"]
    assert np.mean(test_rows["label"] == test_rows["prediction"]) == pytest.approx(
        test["scores"]["accuracy"])
    x = np.load(resources.files("sweeper.datasets").joinpath(
        "japanese_vowels.npz"))["x"][:5]
    assert list(model.predict(x)["split"]) == ["new"] * 5
    with pytest.raises(SpecError, match=r"this model reads sequences of 29 steps x 12 "
                                        r"features"):
        model.predict(x[:, :10])
    assert main(["report", str(vowels / "vowels_toy.py")]) == 0
    out = capsys.readouterr().out
    assert "val_accuracy" in out and "the majority class's accuracy" in out
    assert (vowels / "runs/vowels_toy/report/confusion.png").exists()


LABEL_KINDS = {
    "names": np.array(["walking", "sitting", "standing"])[LABELS],
    "shuffled integers": np.array([40, -2, 7])[LABELS],
    "UEA/UCR strings": np.array(["1", "2", "3"])[LABELS],
    "booleans": LABELS > 0,
}


@pytest.mark.parametrize("kind", LABEL_KINDS)
def test_labels_of_any_kind_round_trip_through_sweep_predict_and_export(kind, tmp_path,
                                                                        monkeypatch):
    y = LABEL_KINDS[kind]
    np.savez(tmp_path / "set.npz", x=X, y=y)
    (tmp_path / "labels.py").write_text(
        "from sweeper import Data, Space, Study\n"
        "study = Study(name='labels', data=Data(source='set.npz', test_fraction=0.2),\n"
        "              space=Space(hidden=4, layers=1, dropout=0.0, weight_decay=0.0,\n"
        "                          epochs=3, lr=1e-2, batch_size=64),\n"
        "              repeats=1, n_trials=1, pruner='none', trial_figures=False,\n"
        "              study_figures=False)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["labels.py"]) == 0
    classes = sorted(set(y.tolist()))
    rows = sweeper.load_model("labels.py").predict()
    assert [c for c in rows.columns if c.startswith("p_")] == [f"p_{c}" for c in classes]
    assert set(rows["prediction"]) <= set(classes)
    np.testing.assert_array_equal(rows["label"].to_numpy(), y)  # as given, in data order
    assert main(["export", "labels.py", "--out", "m.pt"]) == 0
    exported = sweeper.load_model("m.pt")
    # predict on a file uses x and ignores its labels, whatever they are
    again = exported.predict(str(tmp_path / "set.npz"))
    assert list(again["split"].unique()) == ["new"] and "label" not in again
    np.testing.assert_array_equal(again["prediction"], rows["prediction"])
    assert main(["predict", "labels.py"]) == 0
    assert (tmp_path / "runs/labels/predictions.png").exists()
