"""Study files: the `Study` spec and loading a user's study file into one.

A study file is ordinary Python that builds one `Study`:

    from sweeper import Data, IntRange, Space, Study
    study = Study(name="toy", data=Data.toy(), space=Space(hidden=IntRange(2, 20)))

`load_study_file` runs it under its own filename (so tracebacks point at the user's line) and turns
every problem into one SpecError sentence naming the file, and the line where there is one.
"""

from __future__ import annotations

import dataclasses
import re
import traceback
from pathlib import Path
from typing import Any

from .data import Data
from .pruning import PRUNERS
from .repair import POLICIES
from .samplers import check as check_sampler
from .space import Space
from .validate import SpecError, did_you_mean, must, spec_dataclass

ENGINES = ("auto", "vectorized", "sequential")  # how repeats train; see train.py
# Which validation loss a trial's score starts from; see objective.py.
VALIDATIONS = ("final", "delivered")

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@spec_dataclass
class Study:
    """Everything a sweep needs; command-line flags override fields by name."""

    # Names the Optuna study and its folder runs/<name>/; re-running the same name resumes.
    name: str
    data: Data
    space: Space = dataclasses.field(default_factory=Space)
    # Seeded runs per trial: 3 shows whether repeats agree at 3x the cost of one.
    repeats: int = 3
    # Finished trials to reach; a resumed study only runs what is missing.
    n_trials: int = 20
    # Train one repeat first and the others only when that run scores at or below the median
    # completed trial; otherwise the trial is pruned with that reason. Repeats go to
    # configurations that may win, and more trials fit a budget.
    screen: bool = True
    # Score = val_loss + gap_penalty * overfit gap (validation above its own best, on repeats
    # diagnosed overfit); with spread_penalty 0 too, a plain validation-loss sweep.
    gap_penalty: float = 1.0
    # Score also adds spread_penalty * the standard error of the repeats' validation losses:
    # configurations whose seeds agree rank above ones that are good for one seed only.
    spread_penalty: float = 1.0
    # An Optuna pruner by name (see PRUNERS) or any optuna.pruners instance.
    pruner: Any = "median"
    # An Optuna sampler by name (tpe, random, gp, cmaes, qmc) or any optuna.samplers instance;
    # TPE models good and bad regions of a mixed space and works from the first trials.
    sampler: Any = "tpe"
    # Optuna storage URL; None means sqlite:///runs/<name>/study.db.
    storage: str | None = None
    # Folder for learning-curve PNGs and study figures (optuna-dashboard --artifact-dir);
    # None means runs/<name>/artifacts.
    artifacts: str | None = None
    # A learning-curve PNG and a note per finished trial (about 0.15 s each on 2 CPU cores);
    # turn off for very short trials where that is a large share of the time.
    trial_figures: bool = True
    # The study page's figures each sweep ends with (each searched parameter against score,
    # the best trials' curves, the best model's forecast): one to two seconds on 2 CPU cores;
    # turn off for smoke runs of a study file. `report` draws them either way.
    study_figures: bool = True
    # Drives the sampler and every repeat's seed: same seed, same sweep.
    seed: int = 0
    # Epochs validation must stay above its minimum before a run stops; None disables.
    patience: int | None = 20
    # Smallest relative validation rise that counts as degradation (the noise floor may be
    # higher); 0.1 = 10% above the minimum.
    min_rise: float = 0.1
    # Intermediate values written per trial: each write costs a storage round trip.
    max_reports: int = 20
    # "auto" uses CUDA when available.
    device: str = "auto"
    # How repeats train: "auto" times one step of each engine per model shape and picks the
    # faster; "vectorized" (one batched model) or "sequential" (one nn.LSTM per repeat) force it.
    engine: str = "auto"
    # Model files kept whole: those of the trials among this many best (about 0.6 MB each for
    # 3 repeats of a 64-unit, 2-layer LSTM); the others are cut to a note saying why.
    keep_models: int = 5
    # The score's validation term: "delivered" (the delivered model's: repeats at their best
    # epochs, predictions averaged; the spread over their best-epoch losses) or "final" (each
    # repeat's last 5-epoch mean, at its final weights).
    validation: str = "delivered"
    # After each trial, its diagnosis may queue one child configuration by a repair move (see
    # repair): "auto" (moves chosen by the verdict and by what worked in this study), "off",
    # or "random" (the same share of children, moves drawn at random: the control that proves
    # whether reading the verdict helps).
    repair: str = "off"
    # A worker stops after this many failed trials in a row (exceptions, out of memory): at that
    # point every trial probably fails for the same reason. Diverged runs are pruned, not failed.
    max_failures: int = 5

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise must("Study.name", "letters, digits, '_', '-' or '.' (it names a folder)",
                       self.name)
        if not isinstance(self.data, Data):
            raise must("Study.data", "a Data(...)", self.data)
        if not isinstance(self.space, Space):
            raise must("Study.space", "a Space(...)", self.space)
        _positive_int("repeats", self.repeats)
        _positive_int("n_trials", self.n_trials)
        _positive_int("max_reports", self.max_reports)
        _positive_int("max_failures", self.max_failures)
        _positive_int("keep_models", self.keep_models)
        if self.repair not in POLICIES:
            raise SpecError(f"Study.repair must be one of {', '.join(POLICIES)}, but got "
                            f"{self.repair!r}{did_you_mean(str(self.repair), POLICIES)}.")
        if self.validation not in VALIDATIONS:
            close = did_you_mean(str(self.validation), VALIDATIONS)
            raise SpecError(f"Study.validation must be one of {', '.join(VALIDATIONS)}, but got "
                            f"{self.validation!r}{close}.")
        if self.patience is not None:
            _positive_int("patience", self.patience)
        for field in ("gap_penalty", "spread_penalty"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise must(f"Study.{field}", "a number >= 0", value)
        if isinstance(self.min_rise, bool) or not isinstance(self.min_rise, (int, float)) \
                or not self.min_rise > 0:
            raise must("Study.min_rise", "a number > 0", self.min_rise)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise must("Study.seed", "an int >= 0", self.seed)
        if self.storage is not None and not isinstance(self.storage, str):
            raise must("Study.storage", "an Optuna storage URL or None", self.storage)
        if not isinstance(self.screen, bool):
            raise must("Study.screen", "True or False", self.screen)
        for field in ("trial_figures", "study_figures"):
            if not isinstance(getattr(self, field), bool):
                raise must(f"Study.{field}", "True or False", getattr(self, field))
        if self.artifacts is not None and not isinstance(self.artifacts, str):
            raise must("Study.artifacts", "a folder path or None", self.artifacts)
        if isinstance(self.pruner, str):
            if self.pruner not in PRUNERS:
                raise SpecError(
                    f"Study.pruner must be one of {', '.join(PRUNERS)}, but got "
                    f"{self.pruner!r}{did_you_mean(self.pruner, PRUNERS)}."
                )
        elif not (hasattr(self.pruner, "prune") and callable(self.pruner.prune)):
            raise must("Study.pruner", f"one of {', '.join(PRUNERS)} or an Optuna pruner",
                       self.pruner)
        check_sampler(self.sampler)
        if self.engine not in ENGINES:
            raise SpecError(f"Study.engine must be one of {', '.join(ENGINES)}, but got "
                            f"{self.engine!r}{did_you_mean(str(self.engine), ENGINES)}.")
        if not isinstance(self.device, str):
            raise must("Study.device", "auto, cpu, cuda or cuda:N", self.device)

    def override(self, **flags: Any) -> Study:
        """A copy with the given fields replaced (None values are ignored), re-validated."""
        changes = {k: v for k, v in flags.items() if v is not None}
        return dataclasses.replace(self, **changes) if changes else self

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description, stored on the study so reviewers see what ran."""
        return {
            "name": self.name, "data": self.data.describe(), "space": self.space.to_dict(),
            "repeats": self.repeats, "n_trials": self.n_trials, "gap_penalty": self.gap_penalty,
            "spread_penalty": self.spread_penalty,
            "pruner": self.pruner if isinstance(self.pruner, str) else type(self.pruner).__name__,
            "sampler": self.sampler if isinstance(self.sampler, str)
            else type(self.sampler).__name__,
            "seed": self.seed, "patience": self.patience, "min_rise": self.min_rise,
            "max_reports": self.max_reports, "engine": self.engine,
            "max_failures": self.max_failures, "screen": self.screen,
            "keep_models": self.keep_models, "validation": self.validation,
            "repair": self.repair,
        }


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise must(f"Study.{name}", "an int >= 1", value)


def load_study_file(path: str | Path) -> Study:
    """Run a study file and return the one Study it builds; SpecError names the file on failure."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such study file.")
    try:
        source = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read ({exc}).") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise SpecError(
            f"{path}, line {exc.lineno}: there is a syntax error in the study file: {exc.msg}."
        ) from None
    namespace: dict[str, Any] = {"__file__": str(path), "__name__": "__sweeper_study__"}
    try:
        exec(code, namespace)
    except SpecError as exc:
        raise SpecError(f"{path}{_line_in(exc, path)}: {exc}") from None
    except Exception as exc:  # the user's code raised: report it against their line
        raise SpecError(
            f"{path}{_line_in(exc, path)}: the study file raised {type(exc).__name__}: {exc}"
        ) from exc
    studies = [v for v in namespace.values() if isinstance(v, Study)]
    if not studies:
        raise SpecError(
            f"{path}: defines no Study; build one, e.g. study = Study(name=..., data=...)."
        )
    if len({id(s) for s in studies}) > 1:
        names = [k for k, v in namespace.items() if isinstance(v, Study)]
        raise SpecError(f"{path}: defines {len(names)} Study objects ({', '.join(names)}); "
                        "keep exactly one.")
    return studies[0]


def _line_in(exc: BaseException, path: Path) -> str:
    """', line N' for the innermost frame of the traceback that is in the study file."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return f", line {lines[-1]}" if lines else ""
