import importlib.util
import warnings

import optuna
import pytest

from sweeper import samplers
from sweeper.samplers import SAMPLERS, check, make_sampler
from sweeper.validate import SpecError

CLASSES = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler,
           "gp": optuna.samplers.GPSampler, "cmaes": optuna.samplers.CmaEsSampler,
           "qmc": optuna.samplers.QMCSampler}


def _proposals(sampler, n_trials=2):
    """The parameters `sampler` proposes for the first trials of a tiny study in memory."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=sampler)
    seen = []
    for _ in range(n_trials):
        trial = study.ask()
        seen.append((trial.suggest_float("lr", 1e-4, 1e-1, log=True),
                     trial.suggest_int("hidden", 8, 256),
                     trial.suggest_categorical("loss", ["mse", "mae"])))
        study.tell(trial, seen[-1][0])
    return seen


def test_every_name_is_covered():
    assert set(CLASSES) == set(SAMPLERS)


@pytest.mark.parametrize("name", SAMPLERS)
def test_each_name_gives_its_own_optuna_sampler(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", optuna.exceptions.ExperimentalWarning)  # kept in
        sampler = make_sampler(name, 7)
    assert type(sampler) is CLASSES[name]


@pytest.mark.parametrize("name", ["tpe", "random", "gp", "qmc"])
def test_the_seed_is_honoured(name):
    first = _proposals(make_sampler(name, 7))
    assert _proposals(make_sampler(name, 7)) == first
    assert _proposals(make_sampler(name, 8)) != first


def test_a_users_sampler_comes_back_reseeded(monkeypatch):
    mine = optuna.samplers.RandomSampler(seed=0)
    reseeded = []
    monkeypatch.setattr(mine, "reseed_rng", lambda: reseeded.append(True))
    assert make_sampler(mine, 7) is mine
    assert reseeded == [True]


def test_a_users_sampler_does_not_replay_its_own_seed():
    mine = make_sampler(optuna.samplers.RandomSampler(seed=0), 7)
    assert _proposals(mine) != _proposals(optuna.samplers.RandomSampler(seed=0))


@pytest.mark.parametrize("name", SAMPLERS)
def test_check_accepts_every_name_whose_packages_are_installed(name):
    check(name)


def test_check_accepts_an_optuna_sampler():
    check(optuna.samplers.RandomSampler(seed=0))


@pytest.mark.parametrize("name, says", [
    ("tpee", r"but got 'tpee' \(did you mean 'tpe'\?\)\."),
    ("Random", r"but got 'Random' \(did you mean 'random'\?\)\."),
    ("cma-es", r"but got 'cma-es' \(did you mean 'cmaes'\?\)\."),
])
def test_check_refuses_an_unknown_name_and_suggests_the_close_one(name, says):
    with pytest.raises(SpecError, match=r"^Study\.sampler must be one of tpe, random, gp, "
                                        r"cmaes, qmc, " + says + "$"):
        check(name)


def test_check_refuses_a_far_name_without_a_suggestion():
    with pytest.raises(SpecError, match=r"but got 'banana'\.$"):
        check("banana")


def test_check_refuses_what_is_not_a_sampler():
    with pytest.raises(SpecError, match=r"one of tpe, random, gp, cmaes, qmc or an Optuna "
                                        r"sampler, but got 3\."):
        check(3)


@pytest.mark.parametrize("name, needs", [("cmaes", "cmaes"), ("gp", "scipy"), ("qmc", "scipy")])
def test_check_names_the_missing_package(monkeypatch, name, needs):
    found = importlib.util.find_spec
    monkeypatch.setattr(samplers.importlib.util, "find_spec",
                        lambda module: None if module == needs else found(module))
    with pytest.raises(SpecError, match=rf"the '{name}' sampler needs {needs}, which is not "
                                        r"installed; install it with pip install -e"):
        check(name)
