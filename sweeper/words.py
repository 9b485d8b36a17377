"""How sweeper words a count in what it prints: "1 repeat", "3 repeats", "3 runs of trials #4, #9".

Pure: no import from the rest of sweeper, so any stage can use it.
"""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """"1 repeat" / "3 repeats"."""
    return f"{n} {noun}{'s' if n != 1 else ''}"


def runs_of(n_runs: int, trials: list[int]) -> str:
    """"3 runs of trials #4, #9" / "1 run of trial #4"."""
    return (f"{counted(n_runs, 'run')} of trial{'s' if len(trials) != 1 else ''} "
            + ", ".join(f"#{t}" for t in trials))
