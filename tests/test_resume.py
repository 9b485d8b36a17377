"""A study resumes only on the data and fixed settings its trials were judged on."""

import numpy as np
import pandas as pd
import pytest

from sweeper import keys
from sweeper.__main__ import main
from sweeper.storage import load_existing_study

STUDY = """\
from sweeper import Data, IntRange, Space, Study

study = Study(
    name="resumed",
    data=Data(source="series.csv", target="{target}", window={window}),
    space=Space(hidden=IntRange(2, {high}), layers=1, dropout=0.0, weight_decay=0.0,
                epochs=4, lr={lr}, batch_size=64),
    repeats=1, n_trials=2, pruner="none", screen=False, trial_figures=False,
    study_figures=False, storage="runs/journal.log",
)
"""


def write(folder, target="y", window=3, high=4, lr=0.01, rows=80):
    t = np.arange(rows)
    pd.DataFrame({"y": np.sin(t / 3.0), "z": np.cos(t / 5.0)}).to_csv(folder / "series.csv",
                                                                       index=False)
    (folder / "study.py").write_text(STUDY.format(target=target, window=window, high=high,
                                                  lr=lr))


def n_trials(name="resumed"):
    return len(load_existing_study(name, "runs/journal.log").trials)


@pytest.fixture
def swept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path)
    assert main(["study.py"]) == 0
    assert n_trials() == 2
    return tmp_path


@pytest.mark.parametrize("change, said", [
    ({"window": 4}, "window 3 -> 4"),
    ({"target": "z"}, 'target ["y"] -> ["z"]'),
    ({"rows": 90}, "its content (rows added, removed or edited: the windows differ)"),
    ({"lr": 0.001}, "swept with other fixed settings: lr 0.01 -> 0.001"),
])
def test_a_study_resumed_on_other_data_or_settings_stops_and_keeps_its_trials(
        swept, capsys, change, said):
    write(swept, **change)
    capsys.readouterr()
    assert main(["study.py", "--n-trials", "3"]) == 2
    err = capsys.readouterr().err
    assert said in err and "Its 2 trials were judged on those" in err
    assert "--name resumed-2" in err and err.count("\n") == 1  # one sentence
    assert n_trials() == 2  # nothing ran, nothing was lost
    # A new name starts a new study from the same file, and report finds it by that name.
    capsys.readouterr()
    assert main(["study.py", "--name", "resumed-2"]) == 0
    out = capsys.readouterr().out  # the commands it suggests open this study, not the other
    assert "python -m sweeper predict study.py --name resumed-2" in out
    assert "python -m sweeper dashboard study.py --name resumed-2" in out
    assert n_trials("resumed-2") == 2
    assert main(["report", "study.py", "--name", "resumed-2"]) == 0


def test_a_changed_search_space_is_said_and_the_study_goes_on(swept, capsys):
    write(swept, high=8)  # a widened range
    capsys.readouterr()
    assert main(["study.py", "--n-trials", "3"]) == 0
    out = capsys.readouterr().out
    assert "the search space changed since the study began (hidden" in out
    assert n_trials() == 3
    study = load_existing_study("resumed", "runs/journal.log")
    assert study.user_attrs[keys.STUDY_DATA]["summary"].startswith("series: 80 rows")
    assert main(["report", "study.py"]) == 0
    assert "judged on:      series: 80 rows" in capsys.readouterr().out
