"""Repair moves: what a verdict proposes, the control that ignores it, and children queued
through Optuna that survive a resume and a second worker, within their share."""

import subprocess
import sys

import numpy as np
import optuna
import pytest

from sweeper import Choice, FloatRange, IntRange, Space, keys
from sweeper.repair import CHILD_SHARE, EVERY_MOVE, TABLE, apply, choose, problems, tally
from sweeper.storage import load_existing_study

SPACE = Space(hidden=IntRange(4, 64), layers=IntRange(1, 2), dropout=FloatRange(0.0, 0.5),
              weight_decay=FloatRange(1e-6, 1e-2, log=True), epochs=IntRange(20, 200, step=20),
              lr=FloatRange(1e-4, 1e-1, log=True))
CONFIG = {"hidden": 16, "layers": 1, "dropout": 0.1, "weight_decay": 1e-5, "epochs": 100,
          "lr": 1e-2, "grad_clip": None}
RNG = np.random.default_rng(0)


def verdict(label, branch, **evidence):
    return {"label": label, "branch": branch, "recommendation": "", "evidence": evidence,
            "runs": []}


def test_an_overfit_trial_gets_more_regularization_or_less_capacity():
    move, why = choose(verdict("overfit", "overfit", best_epoch=30), CONFIG, SPACE, {}, RNG)
    assert move.name in {m.name for m in TABLE["overfit"]}
    assert (move.param, move.new > move.old) in {("dropout", True), ("weight_decay", True),
                                                 ("hidden", False), ("epochs", False)}
    assert "Thompson sampling" in why


def test_a_diverged_trial_gets_a_lower_learning_rate():
    move, _ = choose(verdict("diverged", "diverged"), CONFIG, SPACE, {}, RNG)
    assert (move.param, move.old, move.new) == ("lr", 1e-2, pytest.approx(4e-3))


def test_moves_stay_inside_the_space_and_skip_fixed_settings():
    fixed = Space(hidden=64, layers=1, dropout=FloatRange(0.0, 0.5), weight_decay=0.0,
                  epochs=100, lr=1e-3)
    config = {**CONFIG, "hidden": 64, "weight_decay": 0.0, "epochs": 100, "lr": 1e-3}
    spec = next(m for m in TABLE["plateau"] if m.param == "hidden")
    assert apply(spec, config, fixed, {})[1] == "hidden is not searched (fixed at 64)"
    at_top = {**CONFIG, "hidden": 64}
    assert apply(spec, at_top, SPACE, {})[1] == "hidden is already at the end of its range (64)"
    more = next(m for m in TABLE["still improving"] if m.param == "epochs")
    move, _ = apply(more, {**CONFIG, "epochs": 180}, SPACE, {})
    assert move.new == 200  # clipped to the range's end, on its grid
    # a verdict whose every move is fixed gets no move, and says why
    none, why = choose(verdict("good", "good"), config, fixed, {}, RNG)
    assert none is None and "no move for good applies here" in why


def test_the_control_never_reads_the_label():
    picks = {label: [choose(verdict(label, branch), CONFIG, SPACE, {},
                            np.random.default_rng(seed), "random")[0].name
                     for seed in range(40)]
             for label, branch in (("overfit", "overfit"), ("good", "good"))}
    assert picks["overfit"] == picks["good"]  # the same draws whatever the verdict says
    assert set(picks["good"]) > {m.name for m in TABLE["good"]}


def test_moves_that_work_here_are_chosen_more_often():
    stats = tally([{"move": "more dropout", "score": 0.5, "parent_score": 1.0}] * 8
                  + [{"move": "fewer units", "score": 2.0, "parent_score": 1.0}] * 8)
    assert stats == {"more dropout": (8, 0), "fewer units": (0, 8)}
    names = [choose(verdict("overfit", "overfit", best_epoch=30), CONFIG, SPACE, stats,
                    np.random.default_rng(s))[0].name for s in range(50)]
    assert names.count("more dropout") > 25 and names.count("fewer units") < 5


def test_a_mixed_trial_uses_each_repeats_problem():
    mixed = {"label": "mixed", "branch": "mixed", "recommendation": "", "evidence": {},
             "runs": [{"label": "overfit", "branch": "overfit", "evidence": {}},
                      {"label": "underfit", "branch": "still falling", "evidence": {}},
                      {"label": "good", "branch": "good", "evidence": {}}]}
    assert list(problems(mixed)) == ["overfit", "still improving"]
    assert len(EVERY_MOVE) == len({m.name for m in EVERY_MOVE})


def test_a_mixed_trials_move_reads_the_repeat_that_named_its_problem():
    mixed = {"label": "mixed", "branch": "mixed", "recommendation": "",
             "evidence": {"best_epoch": 90},  # the first repeat's, which was good
             "runs": [{"label": "good", "branch": "good", "evidence": {"best_epoch": 90}},
                      {"label": "overfit", "branch": "overfit", "evidence": {"best_epoch": 20}}]}
    assert problems(mixed) == {"overfit": {"best_epoch": 20}}
    fewer = {"fewer epochs": (1, 0)} | {m.name: (0, 50) for m in TABLE["overfit"]
                                         if m.name != "fewer epochs"}
    move, why = choose(mixed, CONFIG, SPACE, fewer, RNG)
    assert (move.name, move.new) == ("fewer epochs", 20)  # 1.25 x the overfit repeat's 20
    assert why.startswith("mixed, read as overfit; the moves that apply: ")


def test_a_move_stays_on_a_grid_whose_last_point_lies_below_the_ranges_end():
    space = Space(epochs=IntRange(50, 300, step=70), hidden=IntRange(4, 64))  # 50 ... 260
    more = next(m for m in TABLE["still improving"] if m.param == "epochs")
    assert apply(more, {**CONFIG, "epochs": 190}, space, {})[0].new == 260
    assert apply(more, {**CONFIG, "epochs": 260}, space, {})[1] == \
        "epochs is already at the end of its range (260)"


def test_clipping_can_be_switched_on_from_a_choice_that_holds_none():
    space = Space(grad_clip=Choice([None, 1.0]), lr=FloatRange(1e-4, 1e-3, log=True))
    config = {**CONFIG, "lr": 1e-4}  # at the low end: clipping is the one move left
    move, why = choose(verdict("diverged", "diverged"), config, space, {}, RNG)
    assert (move.param, move.old, move.new) == ("grad_clip", None, 1.0)
    assert why.endswith("; not made: lower learning rate: lr is already at the end of its "
                        "range (0.0001)")


def test_a_configuration_run_again_does_not_queue_a_second_child():
    from types import SimpleNamespace

    from sweeper import Data, Study
    from sweeper.trial import TrialObjective

    spec = Study(name="again", data=Data.toy(), space=SPACE, repair="auto", n_trials=20)
    objective = TrialObjective(spec, None, None)
    study = optuna.create_study()
    first = study.ask()
    first.suggest_int("hidden", 4, 64)
    study.enqueue_trial({"hidden": 5}, user_attrs={keys.PARENT: 0, keys.MOVE: "fewer units"})
    study.tell(first, state=optuna.trial.TrialState.FAIL)  # killed after queueing its child
    study.enqueue_trial(first.params, user_attrs={keys.RETRY_OF: 0})
    child, again = study.ask(), study.ask()
    trials = study.get_trials(deepcopy=False)
    children = [t for t in trials if keys.PARENT in t.user_attrs]
    done = SimpleNamespace(prune_reason=None, completes=True)
    assert objective._no_child(again, done, trials, children) == \
        "an earlier run of this configuration queued #1 already"
    assert objective._no_child(child, done, trials, children) == (  # past that check
        "the study has 2 trials, 1 of them a child, and one more would make children over 30% "
        "of its trials")


STUDY = """\
from sweeper import Data, FloatRange, IntRange, Space, Study

study = Study(
    name="repaired",
    data=Data(source="synthetic", window=6),
    space=Space(hidden=IntRange(2, 8), layers=1, dropout=FloatRange(0.0, 0.4),
                weight_decay=0.0, epochs=IntRange(4, 12, step=4), lr=1e-2, batch_size=256),
    repeats=1, n_trials={n}, pruner="none", screen=False, trial_figures=False,
    study_figures=False, repair="auto", storage="runs/journal.log",
)
"""


@pytest.mark.slow
def test_children_are_queued_through_optuna_survive_a_resume_and_a_second_worker(
        tmp_path, monkeypatch, capsys):
    from sweeper.__main__ import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.py").write_text(STUDY.format(n=6))
    assert main(["study.py"]) == 0
    out = capsys.readouterr().out
    assert "repair of #" in out
    study = load_existing_study("repaired", "runs/journal.log")
    children = [t for t in study.trials if keys.PARENT in t.user_attrs]
    assert 1 <= len(children) <= CHILD_SHARE * len(study.trials) + 1
    for child in children:  # one child per parent, its configuration one move away
        parent = study.trials[child.user_attrs[keys.PARENT]]
        assert parent.user_attrs[keys.REPAIR]["move"] == child.user_attrs[keys.MOVE]
        changed = {k for k in child.params if child.params[k] != parent.params[k]}
        assert len(changed) == 1
    assert len({c.user_attrs[keys.PARENT] for c in children}) == len(children)
    # A resume with more trials, by two workers: children keep coming, within their share,
    # and a child queued before the resume is run by one of them.
    (tmp_path / "study.py").write_text(STUDY.format(n=14))
    # In a process of its own: the pytest process's one fork server must keep the preload the
    # worker tests expect of it.
    done = subprocess.run([sys.executable, "-m", "sweeper", "study.py", "--jobs", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    study = load_existing_study("repaired", "runs/journal.log")
    children = [t for t in study.trials if keys.PARENT in t.user_attrs]
    assert 2 <= len(children) <= CHILD_SHARE * len(study.trials) + 1
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in study.trials)
    assert main(["report", "study.py"]) == 0
    assert "Repair moves (each child's score against its parent's; a negative change" in \
        capsys.readouterr().out


def test_a_space_that_fixes_every_setting_gets_no_moves_and_says_so_once(tmp_path,
                                                                         monkeypatch, capsys):
    from sweeper.__main__ import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.py").write_text(
        "from sweeper import Data, Space, Study\n"
        "study = Study(name='fixed', data=Data.toy(), repair='auto', n_trials=2, repeats=1,\n"
        "              space=Space(hidden=2, layers=1, dropout=0.0, weight_decay=0.0,\n"
        "                          epochs=5, lr=0.01, batch_size=5),\n"
        "              trial_figures=False, study_figures=False, pruner='none')\n")
    assert main(["study.py"]) == 0
    out = capsys.readouterr().out
    assert out.count("the space fixes every setting: no move can change one") == 1
    assert "repair of #" not in out


def test_a_childs_note_says_where_it_came_from_and_its_parents_what_it_queued(
        tmp_path, monkeypatch, capsys):
    from optuna_dashboard import get_note

    from sweeper.__main__ import main
    from sweeper.optuna_private import trial_handle

    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.py").write_text(
        STUDY.format(n=4).replace("trial_figures=False", "trial_figures=True"))
    assert main(["study.py"]) == 0
    study = load_existing_study("repaired", "runs/journal.log")
    notes = {t.number: get_note(trial_handle(study, t)) for t in study.trials}
    child = next(t for t in study.trials if keys.PARENT in t.user_attrs)
    parent = child.user_attrs[keys.PARENT]
    assert f"**Lineage.** This trial is the repair of #{parent}: " in notes[child.number]
    assert f"**Next.** Queued a child: {child.user_attrs[keys.MOVE]} (" in notes[parent]
    first = study.trials[0]  # too early for a child: the share says so
    assert "the study has 1 trial, 0 of them children" in first.user_attrs[keys.REPAIR]["why"]
    assert "**Next.** No child: the study has 1 trial" in notes[0]


def test_a_float_grid_move_stops_at_the_ranges_end_not_a_rounding_past_it():
    space = Space(dropout=FloatRange(0.0, 0.6, step=0.1), hidden=IntRange(4, 64))
    more = next(m for m in TABLE["overfit"] if m.param == "dropout")
    assert apply(more, {**CONFIG, "dropout": 0.5}, space, {})[0].new == 0.6
    assert apply(more, {**CONFIG, "dropout": 0.6}, space, {})[1] == \
        "dropout is already at the end of its range (0.6)"


def test_the_moves_table_counts_the_children_the_sampler_counts():
    from sweeper.record import Record
    from sweeper.report import moves_table

    study = optuna.create_study()
    for value, state in ((1.0, "COMPLETE"), (0.5, "COMPLETE"), (None, "FAIL"), (2.0, "COMPLETE")):
        trial = study.ask()
        if study.trials[-1].number > 0:
            trial.set_user_attr(keys.PARENT, 0)
            trial.set_user_attr(keys.MOVE, "more dropout")
            trial.set_user_attr(keys.PARENT_SCORE, 1.0)
        study.tell(trial, value, state=getattr(optuna.trial.TrialState, state))
    rows = moves_table([Record.of(t) for t in study.trials])
    # the failed child says nothing of its move: 2 tried, 1 improved, changes -50% and +100%
    assert rows[-1].split() == ["more", "dropout", "2", "1", "+25.0%"]


def test_a_childs_lineage_names_the_problem_its_move_answers():
    from sweeper.record import Record

    study = optuna.create_study()
    for problem in ("fits its training data only", "overfit"):
        study.enqueue_trial({}, user_attrs={keys.PARENT: 2, keys.PARENT_LABEL: "underfit"
                                            if problem != "overfit" else "overfit",
                                            keys.PROBLEM: problem, keys.MOVE: "fewer units",
                                            keys.MOVE_DETAIL: "hidden 6 -> 4"})
        study.tell(study.ask(), 1.0)
    assert [Record.of(t).lineage for t in study.trials] == [
        "repair of #2: underfit, read as fits its training data only -> fewer units "
        "(hidden 6 -> 4)",
        "repair of #2: overfit -> fewer units (hidden 6 -> 4)"]
    move, _ = choose(verdict("underfit", "above baseline"), CONFIG, SPACE, {}, RNG)
    assert move.problem == "plateau"
