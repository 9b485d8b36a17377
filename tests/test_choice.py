import optuna
import pytest

from sweeper import keys
from sweeper.choice import n_weights, recommend
from sweeper.model import build


def _numbered(number, value, hidden, layers, spread=0.0,
              state=optuna.trial.TrialState.COMPLETE):
    t = optuna.trial.create_trial(
        value=value, state=state,
        user_attrs={keys.CONFIG: {"hidden": hidden, "layers": layers}, keys.SPREAD: spread})
    t.number = number
    return t


@pytest.mark.parametrize("hidden,layers", [(1, 1), (16, 1), (8, 2), (48, 2)])
def test_weights_are_counted_as_the_model_has_them(hidden, layers):
    model = build(1, hidden, layers, 0.0, "keras", seed=0)
    assert n_weights({"hidden": hidden, "layers": layers}) == sum(
        p.numel() for p in model.parameters() if p.requires_grad)


def test_the_simplest_trial_within_the_best_ones_standard_error_is_recommended():
    trials = [_numbered(0, 0.100, 48, 2, spread=0.004), _numbered(1, 0.103, 16, 1),
              _numbered(2, 0.103, 8, 1), _numbered(3, 0.105, 4, 1)]
    pick, why = recommend(trials)
    assert pick.number == 2  # 0.103 <= 0.100 + 0.004; #3 is outside the band
    assert "#2 scores 0.103" in why and "#0" in why and "0.004" in why
    assert f"{n_weights({'hidden': 8, 'layers': 1})} weights against" in why


def test_without_a_standard_error_the_best_trial_is_recommended():
    trials = [_numbered(0, 0.100, 48, 2), _numbered(1, 0.1001, 4, 1)]
    pick, why = recommend(trials)
    assert pick.number == 0 and "no other trial is within its standard error" in why


def test_the_best_trial_stays_when_it_is_also_the_simplest():
    trials = [_numbered(0, 0.100, 4, 1, spread=0.01), _numbered(1, 0.105, 48, 2)]
    pick, why = recommend(trials)
    assert pick.number == 0 and "the fewest weights" in why and "of the 2 trials" in why


def test_pruned_and_failed_trials_are_never_recommended():
    trials = [_numbered(0, None, 4, 1, state=optuna.trial.TrialState.PRUNED),
              _numbered(1, 0.2, 48, 2, spread=0.1)]
    assert recommend(trials)[0].number == 1
    assert recommend(trials[:1]) is None and recommend([]) is None
