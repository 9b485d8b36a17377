"""Optuna samplers by name, seeded per worker.

`Study.sampler` is a name here or any `optuna.samplers` instance. A named sampler is built
with a seed from (study seed, trials already stored, worker index), so that a resumed sweep
does not replay its first picks and parallel workers do not make the same ones; an instance
the user built is reseeded per worker for the same reason.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

from .validate import SpecError, did_you_mean

SAMPLERS = ("tpe", "random", "gp", "cmaes", "qmc")
# What each named sampler needs beyond Optuna itself (the `samplers` extra installs them).
NEEDS = {"gp": ("scipy",), "qmc": ("scipy",), "cmaes": ("cmaes",)}


def check(sampler: Any) -> None:
    """SpecError unless `sampler` is a known name whose packages are installed, or an Optuna
    sampler."""
    if isinstance(sampler, str):
        if sampler not in SAMPLERS:
            raise SpecError(f"Study.sampler must be one of {', '.join(SAMPLERS)}, but got "
                            f"{sampler!r}{did_you_mean(sampler, SAMPLERS)}.")
        missing = [m for m in NEEDS.get(sampler, ()) if importlib.util.find_spec(m) is None]
        if missing:
            raise SpecError(f"the {sampler!r} sampler needs {', '.join(missing)}, which is not "
                            "installed; install it with pip install -e \".[samplers]\".")
    elif not (hasattr(sampler, "sample_independent") and hasattr(sampler, "reseed_rng")):
        raise SpecError(f"Study.sampler must be one of {', '.join(SAMPLERS)} or an Optuna "
                        f"sampler, but got {sampler!r}.")


def make_sampler(sampler: Any, seed: int) -> Any:
    """The named sampler seeded with `seed`, or the user's sampler reseeded."""
    import optuna

    if not isinstance(sampler, str):
        sampler.reseed_rng()
        return sampler
    with warnings.catch_warnings():  # GP and QMC are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed)
        if sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed)
        if sampler == "qmc":
            return optuna.samplers.QMCSampler(seed=seed)
        return optuna.samplers.TPESampler(seed=seed)
