"""Validation at the door: the error type for a misconfigured sweep and its sentence helpers.

A `SpecError` is one sentence a user can act on ("Space.dropout must be in [0, 1), but got 1.5.").
Code past the door trusts its inputs; a failing *trial* is not a SpecError.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from typing import Any


class SpecError(ValueError):
    """The study file, its data or a flag is wrong; the sweep must not start."""


def did_you_mean(name: str, options: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' when a close option exists, else ''."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def must(owner: str, rule: str, value: Any, fix: str = "") -> SpecError:
    """'<owner> must be <rule>, but got <value>.' plus an optional fix."""
    tail = f" {fix}" if fix else ""
    return SpecError(f"{owner} must be {rule}, but got {value!r}.{tail}")


def spec_dataclass(cls: type) -> type:
    """A frozen dataclass whose constructor refuses unknown or missing fields with a SpecError.

    Python's own TypeError ("unexpected keyword argument") names neither the class's fields nor
    the likely typo; study files are written by hand, so say both.
    """
    cls = dataclasses.dataclass(frozen=True)(cls)
    init = cls.__init__
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]

    @functools.wraps(init)
    def checked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise SpecError(
                f"{cls.__name__} takes at most {len(names)} positional values, but got {len(args)}."
            )
        for key in kwargs:
            if key not in names:
                raise SpecError(
                    f"{cls.__name__} has no field {key!r}{did_you_mean(key, names)}; "
                    f"its fields are {', '.join(names)}."
                )
        given = set(names[: len(args)]) | set(kwargs)
        missing = [n for n in required if n not in given]
        if missing:
            raise SpecError(f"{cls.__name__} needs {', '.join(repr(m) for m in missing)}.")
        init(self, *args, **kwargs)

    cls.__init__ = checked_init  # type: ignore[method-assign]
    return cls
