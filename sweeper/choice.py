"""Which configuration to recommend: the simplest whose score is within one standard error of
the best.

The trial with the lowest score is the winner of a contest between noisy estimates; several
others are often not told apart from it by their repeats. Among those, the one with the fewest
weights is recommended (the "one standard error" rule of cross-validation): when validation
cannot separate a small model from a large one, the small one is the safer bet for data that
come later. The band is the best trial's own standard error over its repeats (`keys.SPREAD`),
so a study with one repeat per trial has no band and recommends its best trial.

Reads only what every trial stores; imports neither torch nor the sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import optuna

from . import keys


def n_weights(config: dict[str, Any], n_inputs: int = 1) -> int:
    """Trainable numbers of an `LSTMRegressor` with this config: per layer 4 gates x hidden x
    (inputs + hidden + 2 biases), plus the linear head."""
    h, layers = int(config["hidden"]), int(config["layers"])
    lstm = sum(4 * h * ((n_inputs if i == 0 else h) + h + 2) for i in range(layers))
    return lstm + h + 1


def recommend(trials: Iterable[optuna.trial.FrozenTrial]
              ) -> tuple[optuna.trial.FrozenTrial, str] | None:
    """The recommended complete trial and why, with numbers; None before any completes."""
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE
            and t.value is not None and keys.CONFIG in t.user_attrs]
    if not done:
        return None
    best = min(done, key=lambda t: t.value)
    se = float(best.user_attrs.get(keys.SPREAD) or 0.0)
    band = [t for t in done if t.value <= best.value + se]
    pick = min(band, key=lambda t: (n_weights(t.user_attrs[keys.CONFIG]), t.value))
    size = n_weights(pick.user_attrs[keys.CONFIG])
    if pick is best:
        if len(band) == 1:
            return best, (f"#{best.number} has the lowest score, {best.value:.4g}, and no other "
                          f"trial is within its standard error ({se:.2g})")
        return best, (f"#{best.number} has the lowest score, {best.value:.4g}, and the fewest "
                      f"weights ({size}) of the {len(band)} trials within its standard error "
                      f"({se:.2g})")
    return pick, (f"#{pick.number} scores {pick.value:.4g}, within the standard error ({se:.2g}) "
                  f"of the lowest score {best.value:.4g} (#{best.number}), with "
                  f"{size} weights against {n_weights(best.user_attrs[keys.CONFIG])}: the "
                  f"simplest of {len(band)} trials the repeats cannot tell apart")
