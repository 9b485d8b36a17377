"""End to end: the CLI runs a real sweep into a real SQLite file."""

from pathlib import Path

import numpy as np
import optuna
import pytest
import torch
from conftest import tiny_with_figures
from optuna.artifacts import get_all_artifact_meta

from sweeper import keys
from sweeper.__main__ import main
from sweeper.liveness import Terminated, stop_on_signals
from sweeper.record import load_curves
from sweeper.spec import load_study_file
from sweeper.train import train_repeats
from sweeper.trial import derive_seeds
from sweeper.windows import prepare

FIXTURES = Path(__file__).parent / "fixtures"
TINY = str(FIXTURES / "tiny_toy.py")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(name, url=None):
    """The study as swept: on `url`, else on the journal file the tiny study names, else on the
    default storage."""
    journal = Path("runs") / name / "journal.log"
    if url is None and journal.exists():
        url = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(journal)))
    return optuna.load_study(study_name=name, storage=url or f"sqlite:///runs/{name}/study.db")


def test_sweep_stores_diagnosis_score_and_curves(in_tmp, capsys):
    assert main([tiny_with_figures(in_tmp), "--n-trials", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert (in_tmp / "runs" / "tiny_toy" / "study.db").exists()
    assert "optuna-dashboard sqlite:///runs/tiny_toy/study.db" in out
    assert "Best trial: #" in out and "recommendation:" in out
    study = load("tiny_toy")
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 3
    for t in trials:
        a = t.user_attrs
        assert a[keys.LABEL] in ("underfit", "good", "overfit")
        assert len(a[keys.REPEAT_LABELS]) == 2 and a[keys.AGREEMENT].endswith(a[keys.LABEL])
        assert a[keys.REASON] and a[keys.RECOMMENDATION]
        assert t.value == pytest.approx(a[keys.VAL_LOSS] + a[keys.PENALTY])
        # gap_penalty and spread_penalty 1
        assert a[keys.PENALTY] == pytest.approx(a[keys.OVERFIT_GAP] + a[keys.SPREAD])
        assert a[keys.SPREAD] >= 0.0
        assert a[keys.OVERFIT_GAP] >= 0.0 and np.isfinite(a[keys.GAP])
        assert a[keys.DEVICE] == "cpu"
        assert a[keys.ENGINE]["engine"] in ("sequential", "vectorized")
        assert a[keys.SEEDS] == derive_seeds(0, t.number, 2)
        assert a[keys.CONFIG]["epochs"] == t.params["epochs"]
        train, val = load_curves(t)
        assert len(train) == len(val) == 2
        assert all(len(v) <= t.params["epochs"] for v in val)
        assert set(a[keys.TIMING]) == {"train_s", "diagnosis_s", "storage_s", "review_s",
                                       "model_s"}
        assert keys.REVIEW_ERROR not in a
        # Intermediate values are bounded: one per report step, never per epoch.
        assert len(t.intermediate_values) <= 20
    assert study.user_attrs[keys.STUDY_SPEC]["name"] == "tiny_toy"
    # A learning-curve PNG and a model file per completed trial, plus the study's figures.
    for t in trials:
        metas = get_all_artifact_meta(t, storage=study._storage)
        assert sorted(m.filename for m in metas) == [f"trial-{t.number}-curves.png",
                                                     f"trial-{t.number}-model.pt"]
        assert t.user_attrs[keys.MODEL]["file"] == f"trial-{t.number}-model.pt"
        delivered = t.user_attrs[keys.DELIVERED]
        assert len(delivered["best_epochs"]) == len(delivered["repeat_val_loss"]) == 2
    study_metas = get_all_artifact_meta(study)
    assert sorted(m.filename for m in study_metas) == ["best-trials.png", "forecast.png",
                                                       "overview.png"]
    files = list((in_tmp / "runs" / "tiny_toy" / "artifacts").iterdir())
    assert len(files) == 9
    assert sum(p.read_bytes()[:8] == PNG for p in files) == 6
    assert "--artifact-dir runs/tiny_toy/artifacts" in out
    for name in ("number", "label", "score", "val_loss", "gap", "state", "hidden"):
        assert name in out


def test_rerunning_resumes_and_a_trial_reproduces_on_its_own(in_tmp, capsys):
    assert main([TINY, "--n-trials", "2"]) == 0
    assert main([TINY, "--n-trials", "3"]) == 0
    assert "resuming study 'tiny_toy': 2 finished trials, 1 to go" in capsys.readouterr().out
    study = load("tiny_toy")
    assert len(study.trials) == 3
    assert get_all_artifact_meta(study) == []  # Study(study_figures=False) draws none
    t = study.trials[2]
    spec = load_study_file(TINY)
    # On the device and engine the sweep used: a GPU's kernels round differently from a CPU's.
    res = train_repeats(t.user_attrs[keys.CONFIG], prepare(spec.data),
                        derive_seeds(spec.seed, t.number, spec.repeats),
                        torch.device(t.user_attrs[keys.DEVICE]), patience=spec.patience,
                        min_rise=spec.min_rise, engine=t.user_attrs[keys.ENGINE]["engine"])
    train, val = load_curves(t)
    for r in range(spec.repeats):
        np.testing.assert_allclose(res.curve(r)[1], val[r], rtol=1e-5)
        np.testing.assert_allclose(res.curve(r)[0], train[r], rtol=1e-5)


def test_flags_override_the_file(in_tmp, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert main([TINY, "--n-trials", "2", "--repeats", "3", "--seed", "7", "--storage", url,
                 "--pruner", "median"]) == 0
    out = capsys.readouterr().out  # the hints name the storage the sweep used
    assert f"python -m sweeper dashboard {TINY} --storage {url}" in out
    assert f"python -m sweeper predict {TINY} --storage {url}" in out
    study = load("tiny_toy", url)
    assert len(study.trials) == 2 and not (in_tmp / "runs" / "tiny_toy" / "study.db").exists()
    assert study.trials[0].user_attrs[keys.SEEDS] == derive_seeds(7, 0, 3)
    assert type(study.pruner).__name__ == "MedianPruner"


def test_journal_file_storage(in_tmp):
    path = str(in_tmp / "journal.log")
    assert main([TINY, "--n-trials", "2", "--storage", path]) == 0
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    assert len(optuna.load_study(study_name="tiny_toy", storage=storage).trials) == 2


def test_diverging_runs_are_pruned_with_reason_and_the_sweep_goes_on(in_tmp, capsys):
    assert main([str(FIXTURES / "diverging.py")]) == 0
    out = capsys.readouterr().out
    study = load("diverging")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    for t in study.trials:
        reason = t.user_attrs[keys.PRUNE_REASON]
        assert reason.startswith("diverged: 2/2 repeats' loss became NaN or inf (repeat 1 at "
                                 "epoch"), reason
        assert t.user_attrs[keys.LABEL] == "diverged"
        # Each run ended at the epoch its loss stopped being a number.
        stop = t.user_attrs[keys.EARLY_STOP][0]["epoch"]
        assert len(load_curves(t)[1][0]) == stop < 20
    assert "No trial completed" in out
    assert main(["report", str(FIXTURES / "diverging.py")]) == 0
    assert "#0 pruned: diverged: 2/2 repeats' loss became NaN" in capsys.readouterr().out


def _failing_training(monkeypatch, failures):
    """Make training raise failures[i] on its i-th call, or `failures` on every call where it
    is one exception."""
    import sweeper.trial as sweep_module

    real = sweep_module.train_repeats
    calls = []

    def train(config, windows, seeds, *args, **kwargs):
        calls.append(seeds)
        exc = failures if isinstance(failures, BaseException) else failures.get(len(calls) - 1)
        if exc is not None:
            raise exc
        return real(config, windows, seeds, *args, **kwargs)

    monkeypatch.setattr(sweep_module, "train_repeats", train)


def test_failing_trials_are_recorded_with_their_reasons_and_made_up_for(in_tmp, monkeypatch,
                                                                         capsys):
    reasons = {1: "oom: CUDA out of memory. Tried to allocate 2.00 GiB", 2: "RuntimeError: boom"}
    _failing_training(monkeypatch, {
        1: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        2: RuntimeError("boom")})
    assert main([TINY, "--n-trials", "3"]) == 0
    study = load("tiny_toy")
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 3  # the failures are made up for
    out = capsys.readouterr().out
    for number, reason in reasons.items():
        failed = study.trials[number]
        assert failed.state == optuna.trial.TrialState.FAIL
        assert failed.user_attrs[keys.FAIL_REASON] == reason
        assert f"failed   {reason}" in out


def _hidden_sigterm() -> FileNotFoundError:
    """What SIGTERM becomes when it lands right after Optuna's journal lock released itself:
    the lock's cleanup raises FileNotFoundError while handling it."""
    try:
        try:
            raise Terminated()
        except Terminated:
            raise FileNotFoundError("journal.log.lock1234.rename") from None
    except FileNotFoundError as exc:
        return exc


def test_a_signal_hidden_by_an_error_of_its_cleanup_still_stops_the_sweep(in_tmp, monkeypatch,
                                                                          capsys):
    """In a trial: failed and queued as the signal's, and the sweep stops as on SIGTERM."""
    _failing_training(monkeypatch, {1: _hidden_sigterm()})
    assert main([TINY, "--n-trials", "3"]) == 143
    assert "finished trials are kept" in capsys.readouterr().err
    ts = load("tiny_toy").trials
    assert ts[1].state == optuna.trial.TrialState.FAIL
    assert ts[1].user_attrs[keys.FAIL_REASON] == "terminated (SIGTERM) while running"
    assert [t.user_attrs[keys.RETRY_OF] for t in ts
            if t.state == optuna.trial.TrialState.WAITING] == [1]


def test_a_signal_hidden_by_an_error_of_its_cleanup_leaves_as_the_signal():
    """Between trials (a storage call of the sweep loop): the process stops as on SIGTERM."""
    with pytest.raises(Terminated), stop_on_signals():
        raise _hidden_sigterm()


def test_consecutive_failures_stop_the_sweep(in_tmp, monkeypatch, capsys):
    _failing_training(monkeypatch, RuntimeError("no GPU driver"))
    assert main([TINY, "--n-trials", "10", "--max-failures", "3"]) == 1
    err = capsys.readouterr().err
    assert "3 trials in a row failed" in err and "RuntimeError: no GPU driver" in err
    assert len(load("tiny_toy").trials) == 3


def test_zero_penalties_score_validation_loss_only(in_tmp, tmp_path):
    study_file = tmp_path / "nopenalty.py"
    study_file.write_text(Path(TINY).read_text().replace(
        'pruner="none",', 'pruner="none", gap_penalty=0.0, spread_penalty=0.0,'))
    assert main([str(study_file), "--n-trials", "2"]) == 0
    for t in load("tiny_toy").trials:
        assert t.value == pytest.approx(t.user_attrs[keys.VAL_LOSS])
        assert t.user_attrs[keys.PENALTY] == 0.0


@pytest.mark.parametrize("pruner", ["median", "percentile", "successive_halving", "hyperband",
                                    "patient"])
def test_every_named_pruner_runs_a_sweep(in_tmp, pruner):
    assert main([TINY, "--n-trials", "3", "--repeats", "1", "--pruner", pruner]) == 0
    study = load("tiny_toy")
    assert len(study.trials) == 3
    assert all(t.state != optuna.trial.TrialState.FAIL for t in study.trials)


def test_screening_trains_the_other_repeats_only_for_promising_configurations(in_tmp):
    # The tiny study turns screening off; the flag turns it back on.
    assert main([TINY, "--n-trials", "10", "--repeats", "3", "--screen"]) == 0
    trials = load("tiny_toy").trials
    values = []
    for t in trials:
        n_runs = len(load_curves(t)[1])
        if t.state == optuna.trial.TrialState.PRUNED:  # judged against the completed median
            reason = t.user_attrs[keys.PRUNE_REASON]
            assert n_runs == 1 and len(values) >= 4
            assert reason.startswith("screened: its first run scored")
            one = float(reason.split("scored ")[1].split(",")[0])
            assert one > float(np.median(values)) * (1 - 1e-3)
        else:
            assert t.state == optuna.trial.TrialState.COMPLETE and n_runs == 3
            assert t.user_attrs[keys.SEEDS] == derive_seeds(0, t.number, 3)
            values.append(t.value)
    assert any(t.state == optuna.trial.TrialState.PRUNED for t in trials)


@pytest.mark.parametrize("sampler", ["tpe", "random", "gp", "cmaes", "qmc"])
def test_every_named_sampler_runs_a_sweep(in_tmp, sampler):
    assert main([TINY, "--n-trials", "3", "--repeats", "1", "--sampler", sampler]) == 0
    study = load("tiny_toy")
    assert len(study.trials) == 3 and study.user_attrs[keys.STUDY_SPEC]["sampler"] == sampler


def test_a_sampler_instance_from_the_study_file_is_used(in_tmp, tmp_path):
    study_file = tmp_path / "own_sampler.py"
    study_file.write_text(Path(TINY).read_text().replace(
        "from sweeper import", "import optuna\nfrom sweeper import").replace(
        'pruner="none",', 'pruner="none", sampler=optuna.samplers.RandomSampler(seed=3),'))
    assert main([str(study_file), "--n-trials", "2"]) == 0
    assert load("tiny_toy").user_attrs[keys.STUDY_SPEC]["sampler"] == "RandomSampler"


def test_one_exploded_repeat_prunes_its_trial_and_is_named(in_tmp, capsys):
    assert main([str(FIXTURES / "exploding.py")]) == 0
    study = load("exploding")
    mixed = 0
    for t in study.trials:
        labels = t.user_attrs[keys.REPEAT_LABELS]
        if "diverged" not in labels:
            assert t.state == optuna.trial.TrialState.COMPLETE
            continue
        assert t.state == optuna.trial.TrialState.PRUNED
        reason = t.user_attrs[keys.PRUNE_REASON]
        n = labels.count("diverged")
        assert reason.startswith(f"diverged: {n}/4 repeats diverged (")
        for r, label in enumerate(labels):
            assert (f"repeat {r + 1}: " in reason) == (label == "diverged")
        mixed += n < 4
    assert mixed, "expected a trial where some repeats exploded and others did not"
