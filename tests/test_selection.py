"""Choosing the delivered model from the kept runs: the rule on plain arrays, and a study's
choice end to end (it never reads the test split)."""

import shutil
from pathlib import Path

import numpy as np
import optuna
import pytest

from sweeper import keys
from sweeper.kept import from_study
from sweeper.selection import BEST, GREEDY, Pool, pick
from sweeper.spec import load_study_file
from sweeper.storage import load_existing_study
from sweeper.task import Forecast
from sweeper.windows import halves, prepare

FIXTURES = Path(__file__).parent / "fixtures"
TASK = Forecast(("y",), (), (), 3, 1, ("",), np.zeros((1, 1)), np.ones((1, 1)))
RNG = np.random.default_rng(0)


def pool(noise: np.ndarray, truth: np.ndarray, runs_per_trial: int = 3) -> Pool:
    """Runs predicting `truth` plus their `noise` (n_runs, n), `runs_per_trial` per trial, the
    trials ranked in the order given."""
    preds = (truth[None] + noise)[..., None]
    trial_of = np.repeat(np.arange(len(noise) // runs_per_trial), runs_per_trial)
    return Pool(preds, trial_of, truth[:, None], TASK, "mse")


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    return halves(np.column_stack([np.zeros(n, int), np.arange(n)]))


def test_halves_are_each_series_earlier_and_later_windows():
    at = np.array([[0, 5], [0, 6], [0, 7], [0, 8], [1, 3], [1, 4]])
    first, second = halves(at)
    assert first.tolist() == [0, 1, 4] and second.tolist() == [2, 3, 5]
    # series of one validation window each go to the halves in turn
    first, second = halves(np.array([[0, 9], [1, 9], [2, 9], [3, 9]]))
    assert first.tolist() == [0, 2] and second.tolist() == [1, 3]
    # sequences (in no order of time or class): every other one
    first, second = halves(np.column_stack([np.zeros(5, int), np.arange(5)]), interleave=True)
    assert first.tolist() == [0, 2, 4] and second.tolist() == [1, 3]


def test_the_best_trial_stays_when_nothing_beats_it_on_both_halves():
    truth = np.sin(np.arange(60) / 3)
    # The best trial predicts well; the others are off by a lot on both halves.
    noise = np.vstack([0.05 * RNG.standard_normal((3, 60)),
                       1.0 + 0.05 * RNG.standard_normal((6, 60))])
    chosen = pick(pool(noise, truth), split(60))
    assert chosen.how == BEST
    np.testing.assert_allclose(chosen.weights, [1 / 3] * 3 + [0] * 6)
    assert "no challenger beat the best trial's repeats on both halves" in chosen.reason


def test_averaging_runs_with_independent_errors_is_chosen():
    truth = np.sin(np.arange(80) / 3)
    # Every run is equally good and its errors independent: averaging more of them helps.
    noise = 0.3 * RNG.standard_normal((15, 80))
    chosen = pick(pool(noise, truth), split(80))
    assert chosen.how != BEST
    assert (chosen.weights > 0).sum() > 3
    assert chosen.weights.sum() == pytest.approx(1.0)
    for name, ratios in chosen.held_out.items():
        assert len(ratios) == 2 and all(r > 0 for r in ratios), name


def test_a_single_run_far_better_than_the_rest_is_reached_by_the_greedy_ensemble():
    truth = np.sin(np.arange(60) / 3)
    noise = 0.5 * RNG.standard_normal((9, 60))
    noise[4] = 0.01 * RNG.standard_normal(60)  # one run of the second trial is nearly exact
    chosen = pick(pool(noise, truth), split(60))
    assert chosen.how == GREEDY
    assert chosen.weights[4] > 0.9


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The covariate study swept with a test split (tiny, seconds)."""
    from sweeper.__main__ import main

    root = tmp_path_factory.mktemp("sites")
    shutil.copy(FIXTURES / "sites_toy.py", root)
    shutil.copy(FIXTURES / "sites.csv", root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # runs/ goes beside the study file
        assert main([str(root / "sites_toy.py"), "--n-trials", "5"]) == 0
        yield root


def test_a_sweep_stores_its_choice_and_predict_uses_it(swept):
    spec = load_study_file(swept / "sites_toy.py")
    study = load_existing_study(spec.name, f"sqlite:///{swept / 'runs/sites_toy/study.db'}")
    choice = study.user_attrs[keys.STUDY_DELIVERY]
    assert choice["best_trial"] == study.best_trial.number and choice["reason"]
    model = from_study(study, str(swept / "runs/sites_toy/artifacts"))
    assert [(m.trial, m.repeat) for m in model.members] == \
        [(m["trial"], m["repeat"]) for m in choice["members"]]
    assert model.weights.sum() == pytest.approx(1.0)
    # The delivered prediction is the weighted mean of its members' predictions.
    windows = prepare(spec.data, swept, spec.seed)
    x, k, _ = windows.split("val")
    members = model.predict_scaled(x, k).astype(np.float64)
    np.testing.assert_allclose(model.combined(x, k),
                               np.tensordot(model.weights, members, axes=1), rtol=1e-12)
    rows = model.predict()
    assert {"lower_80", "upper_80", "lower_95", "upper_95"} <= set(rows.columns)
    assert (rows["lower_95"] <= rows["lower_80"]).all()
    assert (rows["lower_80"] <= rows["prediction"]).all()
    assert (rows["prediction"] <= rows["upper_80"]).all()


def test_the_choice_never_reads_the_test_split(swept):
    from sweeper.selection import choose

    spec = load_study_file(swept / "sites_toy.py")
    study = load_existing_study(spec.name, f"sqlite:///{swept / 'runs/sites_toy/study.db'}")
    artifacts = str(swept / "runs/sites_toy/artifacts")
    windows = prepare(spec.data, swept, spec.seed)
    shuffled = windows.__class__(**{**windows.__dict__,
                                    "test_y": RNG.permutation(windows.test_y) * 7.0})
    assert choose(study, shuffled, artifacts) == choose(study, windows, artifacts)


def test_a_trial_asked_for_by_number_is_its_own_model(swept):
    spec = load_study_file(swept / "sites_toy.py")
    study = load_existing_study(spec.name, f"sqlite:///{swept / 'runs/sites_toy/study.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    model = from_study(study, str(swept / "runs/sites_toy/artifacts"), done[0].number)
    assert model.trials == [done[0].number]
    assert all(m.weight == pytest.approx(1 / len(model.members)) for m in model.members)
