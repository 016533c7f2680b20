"""The `join` operator."""

import copy
import itertools
import typing
from dataclasses import dataclass
from functools import partial
from typing import Any, Iterable, List, Literal, Optional, Self, Tuple, TypeAlias, overload

from rillet.dataflow import operator
from rillet.operators._common import EMPTY, KeyedStream, U, V, W, X, public
from rillet.operators._core import merge
from rillet.operators._stateful import StatefulLogic, stateful
from rillet.operators._stateless import map_value

__all__ = ["JoinEmitMode", "JoinInsertMode", "join"]

_NONE_ONLY = [None]


@dataclass
class _JoinState:
    # The values seen so far, one list per side.
    seen: List[List[Any]]

    @classmethod
    def for_side_count(cls, side_count: int) -> Self:
        return cls([[] for _ in range(side_count)])

    def set_val(self, side: int, value: Any) -> None:
        self.seen[side] = [value]

    def add_val(self, side: int, value: Any) -> None:
        self.seen[side].append(value)

    def is_set(self, side: int) -> bool:
        return bool(self.seen[side])

    def all_set(self) -> bool:
        return all(self.seen)

    def astuples(self) -> List[Tuple]:
        # Every combination of one value per side; a side with no
        # values contributes `None`.
        return list(itertools.product(*(vals or _NONE_ONLY for vals in self.seen)))

    def clear(self) -> None:
        for vals in self.seen:
            vals.clear()

    def _check_same_sides(self, other: "_JoinState") -> None:
        if len(self.seen) != len(other.seen):
            msg = (
                f"can't combine join states with {len(self.seen)} and "
                f"{len(other.seen)} sides; combine only states of one join"
            )
            raise ValueError(msg)

    def __iadd__(self, other: Self) -> Self:
        self._check_same_sides(other)
        self.seen = [mine + theirs for mine, theirs in zip(self.seen, other.seen)]
        return self

    def __ior__(self, other: Self) -> Self:
        self._check_same_sides(other)
        self.seen = [theirs or mine for mine, theirs in zip(self.seen, other.seen)]
        return self


JoinInsertMode: TypeAlias = Literal["first", "last", "product"]
"""What a join keeps when a side has several values for a key.

- `"first"`: only the first value seen on that side.
- `"last"`: only the latest value seen on that side.
- `"product"`: all of them; a row is emitted for every combination
  of values across sides (like a SQL cross join).
"""

JoinEmitMode: TypeAlias = Literal["complete", "final", "running"]
"""When a join emits rows.

- `"complete"`: as soon as every side has a value; then the key's
  state is dropped.
- `"final"`: once the upstream ends (or the window closes); then the
  state is dropped. Only for finite input.
- `"running"`: every time any side gets a value; the state is kept
  forever.
"""


@dataclass
class _JoinLogic(StatefulLogic[Tuple[int, Any], Tuple, _JoinState]):
    insert_mode: JoinInsertMode
    emit_mode: JoinEmitMode
    state: _JoinState

    def on_item(self, value: Tuple[int, Any]) -> Tuple[Iterable[Tuple], bool]:
        side, side_value = value
        if self.insert_mode == "first":
            if not self.state.is_set(side):
                self.state.set_val(side, side_value)
        elif self.insert_mode == "last":
            self.state.set_val(side, side_value)
        elif self.insert_mode == "product":
            self.state.add_val(side, side_value)

        if self.emit_mode == "complete" and self.state.all_set():
            return (self.state.astuples(), StatefulLogic.DISCARD)
        if self.emit_mode == "running":
            return (self.state.astuples(), StatefulLogic.RETAIN)
        return (EMPTY, StatefulLogic.RETAIN)

    def on_eof(self) -> Tuple[Iterable[Tuple], bool]:
        if self.emit_mode == "final":
            return (self.state.astuples(), StatefulLogic.DISCARD)
        return (EMPTY, StatefulLogic.RETAIN)

    def snapshot(self) -> _JoinState:
        return copy.deepcopy(self.state)


def _label(side: int, value: Any) -> Tuple[int, Any]:
    return (side, value)


@operator
@public
def _join_label_merge(
    step_id: str,
    *ups: KeyedStream[Any],
) -> KeyedStream[Tuple[int, Any]]:
    labelled = [
        map_value(f"label_{side}", up, partial(_label, side))
        for side, up in enumerate(ups)
    ]
    return merge("merge", *labelled)


@overload
@public
def join(
    step_id: str,
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"] = ...,
) -> KeyedStream[Tuple[U, V]]: ...


@overload
@public
def join(
    step_id: str,
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"] = ...,
) -> KeyedStream[Tuple[U, V, W]]: ...


@overload
@public
def join(
    step_id: str,
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    side4: KeyedStream[X],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"] = ...,
) -> KeyedStream[Tuple[U, V, W, X]]: ...


@overload
@public
def join(
    step_id: str,
    side1: KeyedStream[V],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode,
) -> KeyedStream[Tuple[V]]: ...


@overload
@public
def join(
    step_id: str,
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode,
) -> KeyedStream[Tuple[Optional[U], Optional[V]]]: ...


@overload
@public
def join(
    step_id: str,
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode,
) -> KeyedStream[Tuple[Optional[U], Optional[V], Optional[W]]]: ...


@overload
@public
def join(
    step_id: str,
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    side4: KeyedStream[X],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode,
) -> KeyedStream[Tuple[Optional[U], Optional[V], Optional[W], Optional[X]]]: ...


@overload
@public
def join(
    step_id: str,
    *sides: KeyedStream[V],
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"] = ...,
) -> KeyedStream[Tuple[V, ...]]: ...


@overload
@public
def join(
    step_id: str,
    *sides: KeyedStream[V],
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode,
) -> KeyedStream[Tuple[Optional[V], ...]]: ...


@overload
@public
def join(
    step_id: str,
    *sides: KeyedStream[Any],
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode,
) -> KeyedStream[Tuple]: ...


@operator
@public
def join(
    step_id: str,
    *sides: KeyedStream[Any],
    insert_mode: JoinInsertMode = "last",
    emit_mode: JoinEmitMode = "complete",
) -> KeyedStream[Tuple]:
    """Match up the values of a key across several keyed streams.

    Emits tuples with one value per side, in the order the sides are
    passed. `insert_mode` decides what is kept when a side sees a key
    more than once, and `emit_mode` when rows are emitted; see
    `JoinInsertMode` and `JoinEmitMode`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("join_eg")
    >>> names = op.input("names", flow, TestingSource([("1", "ann"), ("2", "bob")]))
    >>> ages = op.input("ages", flow, TestingSource([("1", 41)]))
    >>> rows = op.join("join", names, ages, emit_mode="final")
    >>> out = []
    >>> _ = op.inspect("out", rows, lambda _id, row: out.append(row))
    >>> run_main(flow)
    >>> sorted(out)
    [('1', ('ann', 41)), ('2', ('bob', None))]

    :arg step_id: Step ID, unique among its sibling steps.

    :arg *sides: The keyed streams to join.

    :arg insert_mode: One of `"first"`, `"last"`, `"product"`.
        Defaults to `"last"`.

    :arg emit_mode: One of `"complete"`, `"final"`, `"running"`.
        Defaults to `"complete"`.

    :returns: A keyed stream of tuples of the sides' values (`None`
        for a side without a value in `"final"` and `"running"`
        modes).
    """
    if insert_mode not in typing.get_args(JoinInsertMode):
        msg = (
            f"unknown join insert mode {insert_mode!r} in step {step_id!r}; "
            f"use one of {typing.get_args(JoinInsertMode)!r}"
        )
        raise ValueError(msg)
    if emit_mode not in typing.get_args(JoinEmitMode):
        msg = (
            f"unknown join emit mode {emit_mode!r} in step {step_id!r}; "
            f"use one of {typing.get_args(JoinEmitMode)!r}"
        )
        raise ValueError(msg)

    side_count = len(sides)

    def builder(resume_state: Optional[_JoinState]) -> _JoinLogic:
        state = (
            resume_state
            if resume_state is not None
            else _JoinState.for_side_count(side_count)
        )
        return _JoinLogic(insert_mode, emit_mode, state)

    labelled = _join_label_merge("add_names", *sides)
    return stateful("join", labelled, builder)
