"""The review surface against a real optuna-dashboard server, and the report command."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import tiny_with_figures

import sweeper.delivery
from sweeper import keys
from sweeper.__main__ import main

FIXTURES = Path(__file__).parent / "fixtures"
TINY = str(FIXTURES / "tiny_toy.py")
SWEPT = "tiny_toy.py"  # the study file of the swept folder (the `swept` tests' current directory)
PNG = b"\x89PNG\r\n\x1a\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


@pytest.fixture(scope="module")
def swept_once(tmp_path_factory):
    """The tiny_toy study swept once (into runs/ of its folder)."""
    root = tmp_path_factory.mktemp("swept")
    study_file = tiny_with_figures(root)  # the dashboard serves each trial's figure
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main([study_file, "--n-trials", "2"]) == 0
    return root


@pytest.fixture
def swept(swept_once, tmp_path, monkeypatch):
    """A copy of that sweep's folder, the current directory: each test may change it."""
    shutil.copytree(swept_once, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dashboard_serves_trials_attrs_notes_and_png_artifacts(swept):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sweeper", "dashboard", SWEPT, "--port", str(port)],
        cwd=swept, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                studies = json.loads(get(f"{base}/api/studies"))["study_summaries"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(server.stdout.read().decode()) from None
                time.sleep(0.3)
        study_id = next(s["study_id"] for s in studies if s["study_name"] == "tiny_toy")
        detail = json.loads(get(f"{base}/api/studies/{study_id}"))
        assert [t["state"] for t in detail["trials"]] == ["Complete", "Complete"]
        for trial in detail["trials"]:
            attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
            for key in (keys.LABEL, keys.REASON, keys.RECOMMENDATION, keys.VAL_LOSS, keys.GAP,
                        keys.PENALTY, keys.REPEAT_LABELS):
                assert key in attrs
            files = {a["filename"]: a["artifact_id"] for a in trial["artifacts"]}
            n = trial["number"]
            assert sorted(files) == [f"trial-{n}-curves.png", f"trial-{n}-model.pt"]
            png = get(f"{base}/artifacts/{study_id}/{trial['trial_id']}/"
                      f"{files[f'trial-{n}-curves.png']}")
            assert png[:8] == PNG
            model = get(f"{base}/artifacts/{study_id}/{trial['trial_id']}/"
                        f"{files[f'trial-{n}-model.pt']}")
            assert sweeper.delivery.from_bytes(model, "served").n_repeats == 2
            assert f"Trial {n}:" in trial["note"]["body"]
            assert f"Model file `trial-{n}-model.pt`" in trial["note"]["body"]
        names = sorted(a["filename"] for a in detail["artifacts"])
        assert names == ["best-trials.png", "forecast.png", "overview.png"]
        assert "sweeper study tiny_toy" in detail["note"]["body"]
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_report_writes_the_notes_a_sweep_could_not(tmp_path, monkeypatch, capsys):
    from optuna_dashboard import get_note

    from sweeper.optuna_private import trial_handle
    from sweeper.storage import load_existing_study

    study_file = tiny_with_figures(tmp_path)
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "optuna_dashboard", None)  # the sweep cannot import it
        assert main([study_file, "--n-trials", "2"]) == 0
    study = load_existing_study("tiny_toy", "sqlite:///runs/tiny_toy/study.db")
    assert all(get_note(trial_handle(study, t)) == "" for t in study.trials)
    assert main(["report", study_file]) == 0
    assert "Wrote the dashboard notes of 2 trials that had none." in capsys.readouterr().out
    assert all(get_note(trial_handle(study, t)).startswith(f"## Trial {t.number}:")
               for t in study.trials)
    assert main(["report", study_file]) == 0  # nothing left to write
    assert "that had none" not in capsys.readouterr().out


def test_report_prints_the_table_and_writes_csv_and_figures(swept, capsys):
    report = swept / "runs" / "tiny_toy" / "report"
    report.mkdir(parents=True)
    (report / "trial-7.png").write_bytes(PNG)  # what an earlier report wrote goes
    (report / "notes.txt").write_text("mine")  # what the user put there stays
    assert main(["report", SWEPT]) == 0
    out = capsys.readouterr().out
    assert "study 'tiny_toy': 2 trials (2 complete)" in out and "Best trial: #" in out
    assert "  model:          2 repeats at epochs" in out
    header = (report / "trials.csv").read_text().splitlines()[0]
    assert header.startswith("number,") and "artifacts:" not in header
    for name in ("overview.png", "best-trials.png", "trial-0.png", "trial-1.png",
                 "forecast.png"):
        assert (report / name).read_bytes()[:8] == PNG
    assert not (report / "trial-7.png").exists() and (report / "notes.txt").exists()


def test_the_study_figures_are_replaced_not_added_on_each_run(swept):
    import optuna
    from optuna.artifacts import get_all_artifact_meta

    assert main([SWEPT, "--n-trials", "3"]) == 0
    study = optuna.load_study(study_name="tiny_toy", storage="sqlite:///runs/tiny_toy/study.db")
    assert sorted(m.filename for m in get_all_artifact_meta(study)) == [
        "best-trials.png", "forecast.png", "overview.png"]


def test_a_pruned_trials_last_report_is_not_shown_as_a_score(swept):
    import optuna

    from sweeper.report import trial_table

    study = optuna.load_study(study_name="tiny_toy", storage="sqlite:///runs/tiny_toy/study.db")
    trial = study.ask()
    trial.report(0.01, 5)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    row = trial_table(study).iloc[-1]
    assert row["state"] == "pruned" and row["last_report"] == 0.01
    assert row["score"] != row["score"]  # NaN: not a score


def test_report_on_a_missing_study_is_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", TINY]) == 2
    assert "there is no study 'tiny_toy' yet" in capsys.readouterr().err


def test_report_reads_a_crashed_study(swept, capsys):
    import optuna

    study = optuna.load_study(study_name="tiny_toy", storage="sqlite:///runs/tiny_toy/study.db")
    study.ask()  # a trial whose process died: RUNNING forever, no attrs
    assert main(["report", SWEPT]) == 0
    out = capsys.readouterr().out
    assert "1 running" in out and "Running (or left running by a stopped process): #2" in out


def test_dashboard_on_a_busy_port_is_one_sentence(swept, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["dashboard", SWEPT, "--port", str(taken.getsockname()[1])]) == 2
    assert "choose another with --port" in capsys.readouterr().err


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_dashboard_listens_locally_unless_told_and_warns_when_exposed(swept, monkeypatch,
                                                                       capsys, host, warned):
    import optuna_dashboard

    calls = []
    monkeypatch.setattr(optuna_dashboard, "run_server", lambda *a, **k: calls.append(k))
    argv = ["dashboard", SWEPT] + ([] if host == "127.0.0.1" else ["--host", host])
    assert main(argv) == 0
    assert calls[0]["host"] == host
    err = capsys.readouterr().err
    assert ("has no authentication" in err) == warned
