"""The search space: which hyperparameters a trial varies, and how a trial picks them.

Every model and training setting is either a fixed value or a range (`IntRange`, `FloatRange`,
`Choice`). `suggest()` turns an Optuna trial into a complete, plain-Python config; fixed values
are not sent to Optuna, so `trial.params` holds exactly what was searched.
"""

from __future__ import annotations

import math
from dataclasses import field, fields
from typing import Any

from .validate import SpecError, must, spec_dataclass

OPTIMIZERS = ("adamw", "adam", "sgd", "rmsprop")
LOSSES = ("mse", "mae")
INITS = ("keras", "torch")


@spec_dataclass
class IntRange:
    """Integers from low to high inclusive; `log=True` samples on a log scale."""

    low: int
    high: int
    step: int = 1
    log: bool = False


@spec_dataclass
class FloatRange:
    """Floats from low to high; `log=True` samples on a log scale (low must be > 0)."""

    low: float
    high: float
    step: float | None = None
    log: bool = False


@spec_dataclass
class Choice:
    """One of a fixed list of options, e.g. Choice(["adam", "sgd"])."""

    options: tuple = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))


Range = IntRange | FloatRange | Choice


@spec_dataclass
class Space:
    """Model and training settings; each is a fixed value or a range to search.

    The defaults suit a univariate series of a few hundred to a few thousand points.
    """

    # Memory cells per layer; log scale because 4 -> 8 matters as much as 32 -> 64.
    hidden: Any = IntRange(4, 64, log=True)
    # Stacked LSTM layers; more than 2 rarely helps on short univariate series.
    layers: Any = IntRange(1, 2)
    # Applied between stacked layers and before the linear head.
    dropout: Any = FloatRange(0.0, 0.5)
    # Through the optimizer (decoupled for adamw); log scale spans "none to strong".
    weight_decay: Any = FloatRange(1e-6, 1e-2, log=True)
    # Training length is part of the search: too few underfits, too many overfits.
    epochs: Any = IntRange(50, 400, step=50)
    # Keras' Adam default; fixed unless the user searches it.
    lr: Any = 1e-3
    # Windows per optimizer step; larger than the training set means full batch.
    batch_size: Any = 32
    # adamw equals adam when weight_decay is 0, and decays weights properly when it is not.
    optimizer: Any = "adamw"
    # Loss minimized and reported; curves, baseline and score all use it.
    loss: Any = "mse"
    # "keras": glorot/orthogonal/forget-bias-1, which converges more reliably on small problems.
    init: Any = "keras"
    # Shuffle windows each epoch (per-repeat order); the tutorial trains with shuffle off.
    shuffle: Any = True
    # Largest gradient L2 norm per step (each repeat clipped on its own); None leaves it be.
    grad_clip: Any = None

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, getattr(self, f.name))

    def searched(self) -> dict[str, Range]:
        """The settings that are ranges, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), (IntRange, FloatRange, Choice))
        }

    def max_epochs(self) -> int:
        e = self.epochs
        if isinstance(e, IntRange):
            return e.high
        if isinstance(e, Choice):
            return max(e.options)
        return int(e)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description, for the study's stored spec."""
        return {f.name: describe(getattr(self, f.name)) for f in fields(self)}


def describe(value: Any) -> Any:
    if isinstance(value, (IntRange, FloatRange)):
        d = {"low": value.low, "high": value.high}
        if value.step not in (None, 1) or isinstance(value, FloatRange) and value.step:
            d["step"] = value.step
        if value.log:
            d["log"] = True
        return {type(value).__name__: d}
    if isinstance(value, Choice):
        return {"Choice": list(value.options)}
    return value


# name -> (kind, predicate on one value, rule sentence)
_RULES: dict[str, tuple[type, Any, str]] = {
    "hidden": (int, lambda v: v >= 1, "an int >= 1"),
    "layers": (int, lambda v: v >= 1, "an int >= 1"),
    "dropout": (float, lambda v: 0.0 <= v < 1.0, "a float in [0, 1)"),
    "weight_decay": (float, lambda v: v >= 0.0, "a float >= 0"),
    "epochs": (int, lambda v: v >= 1, "an int >= 1"),
    "lr": (float, lambda v: v > 0.0, "a float > 0"),
    "batch_size": (int, lambda v: v >= 1, "an int >= 1"),
    "optimizer": (str, lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "loss": (str, lambda v: v in LOSSES, f"one of {', '.join(LOSSES)}"),
    "init": (str, lambda v: v in INITS, f"one of {', '.join(INITS)}"),
    "shuffle": (bool, lambda v: True, "True or False"),
    "grad_clip": (float, lambda v: v > 0.0, "None or a float > 0"),
}
OPTIONAL = {"grad_clip"}  # settings where None means "off"


def _is_kind(kind: type, v: Any) -> bool:
    if kind is bool:
        return isinstance(v, bool)
    if isinstance(v, bool):
        return False
    if kind is float:
        return isinstance(v, (int, float)) and math.isfinite(v)
    return isinstance(v, kind)


def _check(name: str, value: Any) -> None:
    if value is None and name in OPTIONAL:
        return
    kind, ok, rule = _RULES[name]
    owner = f"Space.{name}"
    if isinstance(value, Choice):
        if not value.options:
            raise SpecError(f"{owner} is an empty Choice; give at least one option.")
        for option in value.options:
            if option is None and name in OPTIONAL:
                continue
            if not (_is_kind(kind, option) and ok(option)):
                raise must(f"every option of {owner}", rule, option)
        return
    if isinstance(value, (IntRange, FloatRange)):
        if kind not in (int, float):
            raise must(owner, f"{rule} or a Choice", value)
        if kind is int and not isinstance(value, IntRange):
            raise must(owner, "an IntRange (it counts whole things)", value)
        for end in ("low", "high"):
            v = getattr(value, end)
            if not (_is_kind(kind, v) and ok(v)):
                raise must(f"{owner}.{end}", rule, v)
        if value.low > value.high:
            raise SpecError(
                f"{owner} is an inverted range: low={value.low!r} is above high={value.high!r}; "
                "swap them."
            )
        if value.log and value.low <= 0:
            raise must(f"{owner}.low", "> 0 on a log scale", value.low, "Use log=False or low > 0.")
        if value.log and value.step not in (None, 1):
            raise SpecError(f"{owner} cannot have both log=True and a step; choose one.")
        step = value.step
        if step is not None and (not _is_kind(float, step) or step <= 0):
            raise must(f"{owner}.step", "> 0", step)
        if step is not None and value.low + step > value.high and value.low != value.high:
            raise SpecError(
                f"{owner} is an empty range: step={step!r} is wider than "
                f"low={value.low!r} to high={value.high!r}."
            )
        return
    if not (_is_kind(kind, value) and ok(value)):
        ranged = {int: ", an IntRange", float: ", a FloatRange"}.get(kind, "")
        raise must(owner, f"{rule}{ranged} or a Choice", value)


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """Every setting for one trial: searched ones drawn from the trial, fixed ones as given."""
    config: dict[str, Any] = {}
    for f in fields(space):
        value = getattr(space, f.name)
        if isinstance(value, IntRange):
            config[f.name] = trial.suggest_int(
                f.name, value.low, value.high, step=value.step, log=value.log
            )
        elif isinstance(value, FloatRange):
            config[f.name] = trial.suggest_float(
                f.name, value.low, value.high, step=value.step, log=value.log
            )
        elif isinstance(value, Choice):
            config[f.name] = trial.suggest_categorical(f.name, list(value.options))
        else:
            config[f.name] = value
    return config
