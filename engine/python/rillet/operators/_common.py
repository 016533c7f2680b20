"""Type variables and small helpers shared by the operator modules.

The operators are split over a few private modules to keep each one
readable, but they are all public as `rillet.operators.<name>`. The
runtime recognises built-in operators by their data model class
having `__module__ == "rillet.operators"`, so every public object
defined in these private modules is passed through `public` first.
"""

from datetime import datetime, timezone
from typing import Any, Tuple, TypeAlias, TypeVar

from rillet.dataflow import Stream

PUBLIC_MODULE = "rillet.operators"


def public(obj):
    """Make `obj` report `rillet.operators` as its module.

    Apply it below `@operator` / `@overload` so the generated operator
    class and the overload registry see the public module name.
    """
    obj.__module__ = PUBLIC_MODULE
    return obj


X = public(TypeVar("X"))
"""Type of upstream items."""

Y = public(TypeVar("Y"))
"""Type of downstream items after a change."""

U = public(TypeVar("U"))
"""Type of values of a further upstream."""

V = public(TypeVar("V"))
"""Type of upstream values (of `(key, value)` items)."""

W = public(TypeVar("W"))
"""Type of downstream values after a change."""

W_co = public(TypeVar("W_co", covariant=True))
"""Type of downstream values in a covariant container."""

S = public(TypeVar("S"))
"""Type of state snapshots."""

DK = public(TypeVar("DK"))
"""Type of `dict` keys."""

DV = public(TypeVar("DV"))
"""Type of `dict` values."""

KeyedStream: TypeAlias = Stream[Tuple[str, V]]
"""A `Stream` of `(key, value)` 2-tuples with `str` keys."""

EMPTY: Tuple = ()

# The names of these helpers show up in operator signatures (as
# default argument reprs), so they match Bytewax's.


def _identity(x: X) -> X:
    return x


def _untyped_none() -> Any:
    return None


def _get_system_utc() -> datetime:
    return datetime.now(tz=timezone.utc)
