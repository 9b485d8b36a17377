"""The stored trial record: written once, read through one reader."""

import optuna

from sweeper import keys
from sweeper.record import Record, best_val_loss


def _done(study, value, attrs):
    trial = study.ask()
    for k, v in attrs.items():
        trial.set_user_attr(k, v)
    study.tell(trial, value)


def test_the_reference_for_a_plateau_is_the_best_trials_repeats_at_their_minimum():
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    mse = {keys.CONFIG: {"loss": "mse"}}
    _done(study, 0.5, {**mse, keys.VAL_LOSS: 0.5,
                       keys.EVIDENCE: [{"val_best": 0.30}, {"val_best": 0.34}]})
    _done(study, 0.4, {**mse, keys.VAL_LOSS: 0.35, keys.EVIDENCE: [{}, {}]})  # runs too short
    _done(study, 0.1, {keys.CONFIG: {"loss": "mae"}, keys.VAL_LOSS: 0.1})  # another loss
    assert best_val_loss(study.trials, "mse") == 0.32  # mean of 0.30 and 0.34, below 0.35
    assert best_val_loss(study.trials, "mae") == 0.1
    assert best_val_loss(study.trials, "huber") is None


def test_a_record_reads_what_a_trial_stored_and_tolerates_what_it_did_not():
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    study.ask()  # a trial whose process died: no attrs at all
    rec = Record.of(study.trials[0])
    assert rec.state == "running" and rec.label is None and rec.curves == ([], [])
    assert rec.member_epochs == 0 and rec.why is None and rec.delivered_scores == {}
