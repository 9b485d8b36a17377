"""The delivered model: saved by the sweep, loaded without running code, predicting as the mean
of its repeats in the data's own units; and every bad model file or input in one sentence."""

import io
import pickle
import shutil
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

import sweeper
from sweeper import Data, SpecError, keys
from sweeper.__main__ import main
from sweeper.delivery import from_bytes, load_file
from sweeper.frames import load_series
from sweeper.model import build
from sweeper.modelfile import FORMAT_VERSION, REMOVED, meta_for, to_bytes
from sweeper.spec import load_study_file
from sweeper.train import train_repeats
from sweeper.trial import derive_seeds
from sweeper.windows import prepare

FIXTURES = Path(__file__).parent / "fixtures"
STUDY = FIXTURES / "model_toy.py"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The model_toy study swept once; tests work on copies of its folder."""
    root = tmp_path_factory.mktemp("swept")
    shutil.copy(STUDY, root / "model_toy.py")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main([str(root / "model_toy.py"), "--n-trials", "4", "--device", "cpu"]) == 0
    return root


@pytest.fixture
def study_dir(swept, tmp_path, monkeypatch):
    shutil.copytree(swept, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def stored(root):
    return optuna.load_study(study_name="model_toy",
                             storage=f"sqlite:///{root / 'runs/model_toy/study.db'}")


def model_file(root, number):
    trial = stored(root).trials[number]
    return root / "runs/model_toy/artifacts" / trial.user_attrs[keys.MODEL]["artifact_id"]


def test_a_trials_model_is_its_repeats_at_their_best_epochs(study_dir):
    study = stored(study_dir)
    best = study.best_trial
    model = sweeper.load_model(str(study_dir / "model_toy.py"), trial=best.number)
    assert model.meta["trial"] == best.number and model.n_repeats == 2
    assert model.config == best.user_attrs[keys.CONFIG]
    # The same seeds retrained give the same checkpoints.
    spec = load_study_file(study_dir / "model_toy.py")
    again = train_repeats(best.user_attrs[keys.CONFIG], prepare(spec.data),
                          derive_seeds(spec.seed, best.number, 2), torch.device("cpu"),
                          patience=spec.patience, min_rise=spec.min_rise,
                          engine=best.user_attrs[keys.ENGINE]["engine"])
    assert list(again.best_epoch) == model.meta["best_epochs"]
    assert [(m.trial, m.repeat, m.weight) for m in model.members] == \
        [(best.number, 0, 0.5), (best.number, 1, 0.5)]
    for kept, state in zip(model.states(), again.states, strict=True):
        for name, value in state.items():
            torch.testing.assert_close(kept[name], value, rtol=1e-4, atol=1e-6)


def test_predict_is_the_weighted_mean_of_the_members_in_original_units(study_dir):
    model = sweeper.load_model(str(study_dir / "model_toy.py"))
    rows = model.predict()
    members = model.predict_members()
    np.testing.assert_allclose(rows["prediction"], model.weights @ members, rtol=1e-6)
    np.testing.assert_allclose(rows["lowest"], members.min(axis=0))
    np.testing.assert_allclose(rows["highest"], members.max(axis=0))
    series, _ = load_series(load_study_file(study_dir / "model_toy.py").data)
    known = rows[rows["split"] != "future"]
    # position counts from 1; the target is the raw series, not its scaled copy
    np.testing.assert_allclose(known["target"], series[known["position"] - 1])
    assert list(rows["split"].unique()) == ["train", "validation", "test", "future"]
    w = prepare(load_study_file(study_dir / "model_toy.py").data)
    assert (rows["split"] == "test").sum() == len(w.test_y)
    assert rows["position"].iloc[-1] == len(series) + 1
    # Predictions are near the data's own level, not the scaled one's.
    assert abs(known["prediction"].mean() - known["target"].mean()) < 0.5 * known["target"].std()


def test_new_data_as_an_array_a_series_a_frame_or_a_csv_give_the_same_rows(study_dir):
    model = sweeper.load_model(str(study_dir / "model_toy.py"))
    series, _ = load_series(load_study_file(study_dir / "model_toy.py").data)
    tail = series[-40:]
    pd.DataFrame({"day": [f"d{i}" for i in range(40)], "value": tail}).to_csv(
        study_dir / "new.csv", index=False)
    as_array = model.predict(tail)
    for same in (list(tail), pd.Series(tail), pd.DataFrame({"value": tail}),
                 str(study_dir / "new.csv")):
        pd.testing.assert_frame_equal(model.predict(same), as_array)
    assert set(as_array["split"]) == {"new", "future"} and len(as_array) == 40 - 6 + 1


def test_export_writes_one_file_that_loads_and_predicts_alike(study_dir, capsys):
    assert main(["export", str(study_dir / "model_toy.py"), "--out", "exported.pt"]) == 0
    assert "wrote exported.pt" in capsys.readouterr().out
    exported = sweeper.load_model("exported.pt")
    pd.testing.assert_frame_equal(exported.predict(np.arange(30.0)),
                                  sweeper.load_model(str(study_dir / "model_toy.py"))
                                  .predict(np.arange(30.0)))


def test_predict_writes_a_csv_and_a_figure(study_dir, capsys):
    assert main(["predict", str(study_dir / "model_toy.py")]) == 0
    out = capsys.readouterr().out
    assert "forecast (position 601): " in out and "wrote runs/model_toy/predictions.csv" in out
    rows = pd.read_csv(study_dir / "runs/model_toy/predictions.csv")
    assert list(rows.columns) == ["position", "split", "target", "prediction", "lower_80",
                                  "upper_80", "lower_95", "upper_95", "lowest", "highest"]
    assert (study_dir / "runs/model_toy/predictions.png").read_bytes()[:4] == b"\x89PNG"
    pd.DataFrame({"value": np.sin(np.arange(20.0))}).to_csv("new.csv", index=False)
    assert main(["predict", str(study_dir / "model_toy.py"), "--data", "new.csv", "--out",
                 "p.csv", "--trial", "0"]) == 0
    assert "15 windows on new.csv (15 rows of predictions): 14 new, 1 future" in \
        capsys.readouterr().out


def test_the_test_split_is_scored_once_for_the_delivered_model_and_stored(study_dir, capsys):
    study = stored(study_dir)
    test = study.user_attrs[keys.STUDY_TEST]
    assert test["trial"] == study.best_trial.number and test["n_windows"] > 0
    delivered = sweeper.load_model(str(study_dir / "model_toy.py"))
    assert len(test["repeats"]) == delivered.n_repeats and test["naive"] > 0
    assert test["trials"] == delivered.trials
    assert main(["report", str(study_dir / "model_toy.py")]) == 0
    assert "test windows, scored once and never used to choose" in capsys.readouterr().out
    from optuna_dashboard._note import get_note_from_system_attrs

    attrs = study._storage.get_study_system_attrs(study._study_id)
    note = get_note_from_system_attrs(attrs, study.best_trial._trial_id)["body"]
    assert "**Test split.** On the" in note and "**Delivered model.**" in note


def test_only_the_best_trials_keep_their_model_files_whole(study_dir):
    study = stored(study_dir)
    done = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
                  key=lambda t: t.value)
    assert len(done) == 4  # keep_models=2
    for rank, t in enumerate(done):
        if keys.MODEL not in t.user_attrs:  # not among the 2 best when it finished: no file
            assert rank >= 2
            with pytest.raises(SpecError, match=f"trial #{t.number} has no model file: it was "
                                                "not among the best trials when it finished"):
                sweeper.load_model(str(study_dir / "model_toy.py"), trial=t.number)
            continue
        content = model_file(study_dir, t.number).read_bytes()
        assert content.startswith(REMOVED) == (rank >= 2), (rank, content[:40])
        if rank >= 2:
            with pytest.raises(SpecError, match=f"no longer holds a model: trial #{t.number} "
                                                r"\(score .*\) fell out of the 2 best trials"):
                sweeper.load_model(str(study_dir / "model_toy.py"), trial=t.number)


class _RunsCode:
    def __reduce__(self):
        return (Path.touch, (Path("code-ran"),))


def _write(path, payload):
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_loading_never_runs_code_from_the_file(study_dir):
    bad = _write(study_dir / "evil.pt", {"format": "sweeper-model", "x": _RunsCode()})
    with pytest.raises(SpecError, match="holds objects other than tensors, numbers and "
                                        "strings; sweeper never runs code from a model file"):
        load_file(bad)
    assert not (study_dir / "code-ran").exists()
    # and a plain pickle is no model file either
    (study_dir / "evil.pkl").write_bytes(pickle.dumps(_RunsCode(), protocol=2))
    with pytest.raises(SpecError):
        load_file(study_dir / "evil.pkl")
    assert not (study_dir / "code-ran").exists()


def _good_bytes(root):
    return model_file(root, stored(root).best_trial.number).read_bytes()


@pytest.mark.parametrize("make, message", [
    (lambda root, p: None, "no such model file"),
    (lambda root, p: p.write_bytes(_good_bytes(root)[:5000]), r"is cut off \(truncated\)"),
    (lambda root, p: p.write_text("t,value\n1,2\n"), "is not a sweeper model file"),
    (lambda root, p: _write(p, {"lstm.weight": torch.zeros(3)}), "is not a sweeper model file"),
    (lambda root, p: _write(p, {**torch.load(io.BytesIO(_good_bytes(root)),
                                             weights_only=True),
                                "format_version": FORMAT_VERSION + 1}),
     r"in model format 3; this sweeper \(0.1.0\) reads formats 1, 2"),
])
def test_a_bad_model_file_is_one_sentence(study_dir, make, message):
    path = study_dir / "model.pt"
    make(study_dir, path)
    with pytest.raises(SpecError, match=message):
        load_file(path)


@pytest.mark.parametrize("argv, message", [
    (["predict", "{study}", "--trial", "99"], r"has no trial #99 \(its trials are #0 to #3\)"),
    (["export", "{study}", "--trial", "99", "--out", "m.pt"], "has no trial #99"),
    (["predict", "{study}", "--data", "missing.csv"], "missing.csv: no such data file"),
    (["predict", "{study}", "--data", "short.csv"], "has 3 values, too few for one window of 6"),
    (["predict", "{study}", "--data", "other.csv"],
     r"other.csv has no column 'value', the one this model reads, and 2 numeric columns \(a, b\)"),
])
def test_bad_predict_and_export_input_is_one_sentence_and_exit_2(study_dir, capsys, argv,
                                                                 message):
    pd.DataFrame({"value": [1.0, 2.0, 3.0]}).to_csv("short.csv", index=False)
    pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0)}).to_csv("other.csv", index=False)
    assert main([a.format(study=study_dir / "model_toy.py") for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert __import__("re").search(message, err), err


def test_a_pruned_trial_has_no_model(study_dir, capsys):
    study = stored(study_dir)
    trial = study.ask()  # told from outside optimize, as a pruner would end it
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert main(["predict", str(study_dir / "model_toy.py"), "--trial", str(trial.number)]) == 2
    assert f"trial #{trial.number} is pruned; only completed trials have a model" in \
        capsys.readouterr().err


def test_the_file_format_round_trips():
    data = Data(source=np.sin(np.arange(40.0)), window=2)
    windows = prepare(data)
    meta = meta_for("s", 0, {"hidden": 3, "layers": 1, "dropout": 0.0, "loss": "mse"}, data,
                    windows.task, [0], [1])
    state = build(1, 3, 1, 0.0, "keras", 0).state_dict()
    model = from_bytes(to_bytes(meta, [state]), "x")
    assert model.predict(np.arange(5.0))["prediction"].shape == (4,)


SITES = FIXTURES / "sites_toy.py"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The sites_toy study (two series, covariates, horizon 4) swept once."""
    root = tmp_path_factory.mktemp("sites")
    shutil.copy(SITES, root / "sites_toy.py")
    shutil.copy(FIXTURES / "sites.csv", root / "sites.csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main([str(root / "sites_toy.py"), "--device", "cpu"]) == 0
    return root


@pytest.fixture
def in_sites(sites, monkeypatch):
    monkeypatch.chdir(sites)
    return sites


def _new_sites(root, ahead=4, drop=None):
    frame = pd.read_csv(root / "sites.csv", comment="#")
    parts = []
    for site, rows in frame.groupby("site", sort=False):
        rows = rows.tail(12)
        last = pd.Timestamp(rows["timestamp"].iloc[-1])
        times = pd.date_range(last, periods=ahead + 1, freq="h")[1:]
        future = pd.DataFrame({"site": site, "timestamp": times.strftime("%Y-%m-%d %H:%M"),
                               "hour": times.hour, "holiday": 0})
        parts += [rows, future]
    new = pd.concat(parts, ignore_index=True)
    if drop is not None:
        new.loc[drop, "hour"] = np.nan
    new.to_csv(root / "new-sites.csv", index=False)
    return root / "new-sites.csv"


def test_several_series_covariates_and_steps_predict_in_long_format(in_sites):
    sites = in_sites
    model = sweeper.load_model(str(sites / "sites_toy.py"))
    rows = model.predict()
    assert list(rows.columns) == ["series", "time", "step", "split", "target", "prediction",
                                  "lower_80", "upper_80", "lower_95", "upper_95", "lowest",
                                  "highest"]
    assert set(rows["series"]) == {"north", "south"} and set(rows["step"]) == {1, 2, 3, 4}
    # Every window forecasts 4 steps at once, each at its own time, in each series' own units.
    first = rows[(rows["series"] == "south")].head(4)
    assert list(pd.to_datetime(first["time"]).diff().dropna()) == [pd.Timedelta(hours=1)] * 3
    assert abs(rows[rows["series"] == "south"]["prediction"].mean() - 80) < 15
    assert "future" not in set(rows["split"])  # future covariates come with new data only
    members = model.predict_members()  # the delivered prediction is their weighted mean
    np.testing.assert_allclose(rows["prediction"], model.weights @ members, rtol=1e-6)


def test_new_data_gives_the_future_covariates_of_the_forecast_period(in_sites, capsys):
    sites = in_sites
    path = _new_sites(sites)
    rows = sweeper.load_model(str(sites / "sites_toy.py")).predict(str(path))
    future = rows[rows["split"] == "future"]
    assert len(future) == 2 * 4 and future["target"].isna().all()
    assert list(future["time"].iloc[:4].astype(str)) == [
        "2024-03-04 08:00:00", "2024-03-04 09:00:00", "2024-03-04 10:00:00",
        "2024-03-04 11:00:00"]
    assert main(["predict", str(sites / "sites_toy.py"), "--data", str(path), "--out",
                 str(sites / "p.csv")]) == 0
    assert "forecast (series north, time 2024-03-04 08:00:00, step 1)" in \
        capsys.readouterr().out


@pytest.mark.parametrize("edit, message", [
    (lambda root: _new_sites(root, ahead=2), r"the forecast past the end of new-sites.csv "
     r"\(series 'north'\) needs the future covariates hour, holiday for 4 steps, but only 2"),
    (lambda root: _new_sites(root, drop=13), r"the future covariate 'hour' of series 'north' "
     r"\(site\) is missing at row 14 of new-sites.csv, in the forecast period"),
    (lambda root: _new_sites(root).write_text(
        (root / "new-sites.csv").read_text().replace("south", "east")),
     r"series 'east' in new-sites.csv is not one this model was trained on"),
])
def test_bad_new_data_for_a_covariate_model_is_one_sentence(in_sites, edit, message):
    sites = in_sites
    edit(sites)
    with pytest.raises(SpecError, match=message):
        sweeper.load_model(str(sites / "sites_toy.py")).predict(str(sites / "new-sites.csv"))


def test_the_forecast_figure_draws_every_step_of_the_forecast_past_the_end(in_sites):
    from sweeper.plots import draw_forecast, forecast_figure_data, save_png

    model = sweeper.load_model(str(in_sites / "sites_toy.py"))
    rows = model.predict(str(_new_sites(in_sites)))
    data = forecast_figure_data(rows, "sites", "load")
    future = [p for p in data.paths if p.split == "future"]
    assert len(future) == 1 and len(future[0].x) == 4  # every step of the horizon
    assert set(future[0].bands) == {"80", "95"} and np.isfinite(future[0].naive).all()
    # the history runs to the last known value, right before the forecast
    assert data.history[0][-1] < future[0].x[0] and data.ylabel.startswith("load")
    assert [p.split for p in data.paths].count("new") >= 1
    assert save_png(draw_forecast(data), in_sites / "f.png").read_bytes()[:4] == b"\x89PNG"
