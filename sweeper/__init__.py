"""sweeper: LSTM hyperparameter sweeps driven by fit diagnosis.

A study file builds one `Study`; `python -m sweeper study.py` runs it.
"""

from .data import Data
from .space import Choice, FloatRange, IntRange, Space
from .spec import Study
from .validate import SpecError

__all__ = ["Choice", "Data", "FloatRange", "IntRange", "SpecError", "Space", "Study"]
__version__ = "0.1.0"
