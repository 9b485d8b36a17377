"""Repair moves: what a trial's diagnosis proposes to try next, and which moves work in a study.

A finished trial's verdict names its problem, and the problem names the moves that can mend it
(`TABLE`, which the README prints):

    overfit                      more dropout, more weight decay, fewer units, fewer epochs
    fits its training data only  more dropout, more weight decay, fewer units
    still improving              more epochs, a higher learning rate
    plateau                      more units, one more layer, a higher or a lower learning rate
    diverged / exploding         a lower learning rate, gradient clipping
    good                         a small step toward simpler: fewer units, fewer epochs
    mixed (no majority)          the moves of the repeats' own problems (good ones left out)

A move changes one searched setting and stays inside its range (`apply`): a setting that is
fixed, or already at the end of its range, gives no move, and the reason is kept. Which of a
verdict's moves is made is chosen by Thompson sampling over what each move achieved in this
study so far (its child beat its parent's score, or not): a draw from Beta(1 + successes,
1 + failures) per move, the highest draw wins, so moves that work here are made more often and
the others are still tried now and then. The control ("random") makes a move drawn at random
from the whole table, without reading the verdict.

Pure: no torch, no Optuna. The sweep (see trial) queues the child through Optuna.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .space import Choice, IntRange, Space

# At most this share of a study's trials (so far, the child included) are children of a
# verdict: TPE proposes the rest, so its model of the space keeps growing from its own draws
# (and sees the children too), and a study of any length gets the same share.
CHILD_SHARE = 0.3
POLICIES = ("auto", "off", "random")


@dataclass(frozen=True)
class MoveSpec:
    """One move: its name, the setting it changes, and how (a function of the current value
    and the parent's evidence to the new value)."""

    name: str
    param: str
    change: Callable[[Any, dict[str, Any]], Any]


def _times(factor: float) -> Callable[[Any, dict[str, Any]], Any]:
    return lambda value, evidence: value * factor


def _plus(step: float) -> Callable[[Any, dict[str, Any]], Any]:
    return lambda value, evidence: value + step


def _to_best_epoch(value: Any, evidence: dict[str, Any]) -> Any:
    """A quarter past the epoch where validation was lowest (at most 0.8 of now)."""
    best = evidence.get("best_epoch")
    return min(value * 0.8, best * 1.25) if best else value * 0.7


MORE_DROPOUT = MoveSpec("more dropout", "dropout", lambda v, e: v + 0.15 if v < 0.15 else v * 2)
MORE_DECAY = MoveSpec("more weight decay", "weight_decay",
                      lambda v, e: v * 10 if v > 0 else 1e-4)
FEWER_UNITS = MoveSpec("fewer units", "hidden", _times(0.6))
FEWER_EPOCHS = MoveSpec("fewer epochs", "epochs", _to_best_epoch)
MORE_EPOCHS = MoveSpec("more epochs", "epochs", _times(1.6))
HIGHER_LR = MoveSpec("higher learning rate", "lr", _times(2.5))
LOWER_LR = MoveSpec("lower learning rate", "lr", _times(0.4))
MORE_UNITS = MoveSpec("more units", "hidden", _times(1.6))
MORE_LAYERS = MoveSpec("one more layer", "layers", _plus(1))
CLIP = MoveSpec("gradient clipping", "grad_clip", lambda v, e: 1.0 if v is None else v * 0.5)
SIMPLER_UNITS = MoveSpec("simpler: fewer units", "hidden", _times(0.8))
SIMPLER_EPOCHS = MoveSpec("simpler: fewer epochs", "epochs", _times(0.8))

TABLE: dict[str, tuple[MoveSpec, ...]] = {
    "overfit": (MORE_DROPOUT, MORE_DECAY, FEWER_UNITS, FEWER_EPOCHS),
    "fits its training data only": (MORE_DROPOUT, MORE_DECAY, FEWER_UNITS),
    "still improving": (MORE_EPOCHS, HIGHER_LR),
    "plateau": (MORE_UNITS, MORE_LAYERS, HIGHER_LR, LOWER_LR),
    "diverged": (LOWER_LR, CLIP),
    "good": (SIMPLER_UNITS, SIMPLER_EPOCHS),
}
# Every move once, for the control that ignores the verdict.
EVERY_MOVE = tuple({m.name: m for moves in TABLE.values() for m in moves}.values())

# The diagnosis's branches (see diagnosis._decide) by problem.
_PROBLEM_OF_BRANCH = {"overfit": "overfit", "still falling": "still improving",
                      "too short": "still improving", "above baseline": "plateau",
                      "above reference": "plateau", "stalled": "plateau", "good": "good",
                      "diverged": "diverged"}


def problem(label: str, branch: str, evidence: dict[str, Any], recommendation: str = ""
            ) -> str | None:
    """The problem one diagnosis names (a key of TABLE), or None when it names none."""
    if label == "diverged" or evidence.get("unstable") == "exploding gradients":
        return "diverged"
    found = _PROBLEM_OF_BRANCH.get(branch)
    if found == "plateau" and recommendation.startswith("regularize"):
        return "fits its training data only"  # training far below validation: see diagnosis
    return found


def problems(verdict: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The problems a trial's verdict names, most pressing first, each with the evidence of the
    diagnosis that named it: the trial's own, or for a mixed trial each repeat's (its good
    repeats name none) ({"label", "branch", "evidence", "recommendation", "runs": [each
    repeat's]})."""
    if verdict["label"] != "mixed":
        found = problem(verdict["label"], verdict.get("branch", ""),
                        verdict.get("evidence") or {}, verdict.get("recommendation", ""))
        return {found: verdict.get("evidence") or {}} if found else {}
    seen: dict[str, dict[str, Any]] = {}
    for run in verdict.get("runs", []):
        found = problem(run["label"], run.get("branch", ""), run.get("evidence") or {},
                        run.get("recommendation", ""))
        if found and found != "good" and found not in seen:
            seen[found] = run.get("evidence") or {}
    return seen


@dataclass(frozen=True)
class Move:
    """A move made on a configuration: its name, the setting, the value before and after, and
    the problem it answers (a key of TABLE; "" for a move drawn at random)."""

    name: str
    param: str
    old: Any
    new: Any
    problem: str = ""

    def describe(self) -> str:
        return f"{self.param} {_show(self.old)} -> {_show(self.new)}"


def _show(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def apply(spec: MoveSpec, config: dict[str, Any], space: Space, evidence: dict[str, Any]
          ) -> tuple[Move | None, str | None]:
    """The move on `config`, kept inside the space: (move, None), or (None, why not)."""
    searched = space.searched()
    if spec.param not in searched:
        return None, f"{spec.param} is not searched (fixed at {_show(config.get(spec.param))})"
    old = config.get(spec.param)
    if old is None and spec.param != "grad_clip":
        return None, f"{spec.param} has no value to move"
    new = _inside(searched[spec.param], spec.change(old, evidence), old)
    if new is None or new == old:
        return None, f"{spec.param} is already at the end of its range ({_show(old)})"
    return Move(spec.name, spec.param, old, new), None


def _inside(rng: Any, value: Any, old: Any) -> Any:
    """`value` clipped into the range (on its grid); for a Choice, the next option toward it."""
    if isinstance(rng, Choice):
        numeric = [o for o in rng.options if isinstance(o, (int, float))
                   and not isinstance(o, bool)]
        if value is None or old not in numeric + [None]:
            return None
        if old is None:  # gradient clipping off: the option nearest the move's value
            return min(numeric, key=lambda o: abs(o - value)) if numeric else None
        ahead = [o for o in numeric if (o > old if value > old else o < old)]
        return min(ahead, key=lambda o: abs(o - value)) if ahead else None
    low, high = rng.low, rng.high
    step = (rng.step or 1) if isinstance(rng, IntRange) else rng.step
    if step:  # the grid's last point may lie below `high`
        high = min(low + step * math.floor((high - low) / step + 1e-9), rng.high)
        value = low + step * round((min(max(value, low), high) - low) / step)
    value = min(max(value, low), high)  # a float grid's point may be off by a rounding
    return int(round(value)) if isinstance(rng, IntRange) else float(value)


def tally(children: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """(successes, failures) per move from finished children ({"move", "score",
    "parent_score"}): a success is a child scoring below its parent."""
    out: dict[str, tuple[int, int]] = {}
    for child in children:
        s, f = out.get(child["move"], (0, 0))
        score, bar = child["score"], child["parent_score"]
        # A child of a diverged parent (no score) succeeds by completing at all.
        better = score is not None and math.isfinite(score) and (bar is None or score < bar)
        out[child["move"]] = (s + better, f + (not better))
    return out


def choose(verdict: dict[str, Any], config: dict[str, Any], space: Space,
           stats: dict[str, tuple[int, int]], rng: np.random.Generator, policy: str = "auto"
           ) -> tuple[Move | None, str]:
    """The move to make after a trial: by the verdict's problems and Thompson sampling over
    `stats` ("auto"), or drawn at random from every move ("random"); (None, why) when no move
    applies."""
    if policy == "random":
        evidence = verdict.get("evidence") or {}
        specs = [(spec, evidence, "") for spec in EVERY_MOVE]
        why_none = "no move of the table applies to this configuration in this space"
        named = ""
    else:
        found = problems(verdict)
        by_name: dict[str, tuple[MoveSpec, dict[str, Any], str]] = {}
        for name, evidence in found.items():  # each move once, for the first problem naming it
            for spec in TABLE[name]:
                by_name.setdefault(spec.name, (spec, evidence, name))
        specs = list(by_name.values())
        named = ("" if list(found) == [verdict["label"]] else
                 f"{verdict['label']}, read as {' and '.join(found)}; ")
        why_none = (f"the verdict names no problem with moves ({verdict['label']})"
                    if not found else f"no move for {', '.join(found)} applies here")
    made, skipped = [], []
    for spec, evidence, answered in specs:
        move, why = apply(spec, config, space, evidence)
        (made.append(replace(move, problem=answered)) if move
         else skipped.append(f"{spec.name}: {why}"))
    if not made:
        return None, why_none + (f" ({'; '.join(skipped)})" if skipped else "")
    unmade = f"; not made: {'; '.join(skipped)}" if skipped else ""
    if policy == "random":
        return made[int(rng.integers(len(made)))], "drawn at random from every move" + unmade
    draws = [rng.beta(1 + stats.get(m.name, (0, 0))[0], 1 + stats.get(m.name, (0, 0))[1])
             for m in made]
    pick = made[int(np.argmax(draws))]
    s, f = stats.get(pick.name, (0, 0))
    return pick, (f"{named}the moves that apply: {', '.join(m.name for m in made)}; chosen by "
                  f"Thompson sampling ({pick.name} beat its parent {s} of {s + f} times here so "
                  f"far)" + unmade)
