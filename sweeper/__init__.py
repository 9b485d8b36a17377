"""sweeper: LSTM hyperparameter sweeps driven by fit diagnosis.

A study file builds one `Study`; `python -m sweeper study.py` runs it, and
`sweeper.load_model(path)` hands back the best trial's model.
"""

__version__ = "0.1.0"  # before the imports: the model file format records it

from .data import Data  # noqa: E402
from .space import Choice, FloatRange, IntRange, Space  # noqa: E402
from .spec import Study  # noqa: E402
from .validate import SpecError  # noqa: E402


def load_model(path: str, trial: int | None = None, storage: str | None = None,
               artifacts: str | None = None):  # noqa: ANN201 (torch loads on first use)
    """The delivered model in a model file (from a sweep or `export`), or, for a study file,
    of its best completed trial (or `trial`). Returns a `delivery.DeliveredModel`: `.predict`
    takes a series, array, DataFrame or CSV path like the study's data, `.config` is the
    configuration."""
    from .delivery import load_file
    from .kept import load_from_study_file

    if str(path).endswith(".py"):
        return load_from_study_file(path, trial, storage, artifacts)
    return load_file(path)


__all__ = ["Choice", "Data", "FloatRange", "IntRange", "SpecError", "Space", "Study",
           "load_model"]
