"""Keyed stateful operators, composed from `stateful_batch`.

The runtime runs several of these natively (see `engine/DESIGN.md`),
but their composition here is the reference behaviour and the
fallback.
"""

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, Callable, Dict, Generic, Iterable, List, Optional, Tuple, overload

from rillet.dataflow import Stream, f_repr, operator
from rillet.operators._common import (
    EMPTY,
    KeyedStream,
    S,
    V,
    W,
    X,
    _identity,
    _untyped_none,
    public,
)
from rillet.operators._core import StatefulBatchLogic, flat_map_batch, stateful_batch
from rillet.operators._stateless import map

__all__ = [
    "StatefulLogic",
    "collect",
    "count_final",
    "fold_final",
    "max_final",
    "min_final",
    "reduce_final",
    "stateful",
    "stateful_flat_map",
    "stateful_map",
]


@public
class StatefulLogic(ABC, Generic[V, W, S]):
    """The per-key logic of a `stateful` step. Subclass this.

    Like `StatefulBatchLogic`, but gets one value at a time: the
    runtime calls `on_item` for each new value of the key, then
    `on_notify` if the time from `notify_at` has passed, then `on_eof`
    once the upstream has ended. Each returns
    `(values_to_emit, discard)`; emitted values are paired with the
    key. While the logic is kept, `notify_at` is asked for the next
    wake-up time, and `snapshot` is called when state is saved.

    >>> from rillet.operators import StatefulLogic
    >>> class CountUntilThree(StatefulLogic):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def on_item(self, value):
    ...         self.n += 1
    ...         if self.n >= 3:
    ...             return [self.n], StatefulLogic.DISCARD
    ...         return [], StatefulLogic.RETAIN
    ...     def snapshot(self):
    ...         return self.n
    >>> logic = CountUntilThree(1)
    >>> logic.on_item("x"), logic.on_item("y")
    (([], False), ([3], True))
    """

    RETAIN: bool = False
    """Return this as `discard` to keep the logic for its key.

    A logic that is always retained lives forever: with an unbounded
    key space, memory use grows without bound.
    """

    DISCARD: bool = True
    """Return this as `discard` to drop the logic for its key now."""

    @abstractmethod
    def on_item(self, value: V) -> Tuple[Iterable[W], bool]:
        """Handle one new value of this key.

        :arg value: The `value` part of a `(key, value)` item from
            upstream.

        :returns: `(values_to_emit, discard)`. The values are emitted
            as `(key, value)`.
        """
        ...

    def on_notify(self) -> Tuple[Iterable[W], bool]:
        """Called once the time returned by `notify_at` has passed.

        Emits nothing and keeps the logic by default.

        :returns: `(values_to_emit, discard)`.
        """
        return (EMPTY, StatefulLogic.RETAIN)

    def on_eof(self) -> Tuple[Iterable[W], bool]:
        """Called when the upstream has no more items in this run.

        Called after the `on_item` calls of the same activation.
        Emits nothing and keeps the logic by default.

        :returns: `(values_to_emit, discard)`.
        """
        return (EMPTY, StatefulLogic.RETAIN)

    def notify_at(self) -> Optional[datetime]:
        """The next time `on_notify` should be called, if any.

        Asked once when the logic is created, and again after each
        `on_*` call that keeps it. Only one time is stored;
        return the earliest one you need. `None` (the default) means
        no notification.

        :returns: A timezone-aware time, or `None`.
        """
        return None

    @abstractmethod
    def snapshot(self) -> S:
        """Return this key's state, for recovery.

        It is passed back to `stateful`'s `builder` on resume. It must
        be picklable, and must not change afterwards: if other methods
        mutate the state in place, return a `copy.deepcopy` of it.

        :returns: The state.
        """
        ...


@dataclass
class _OneAtATime(StatefulBatchLogic[V, W, S]):
    """Runs a `StatefulLogic` under the `StatefulBatchLogic` protocol."""

    logic: Optional[StatefulLogic[V, W, S]]
    builder: Callable[[Optional[S]], StatefulLogic[V, W, S]]

    def on_batch(self, values: List[V]) -> Tuple[Iterable[W], bool]:
        emit: List[W] = []
        for v in values:
            # A logic discarded mid-batch is rebuilt fresh for the
            # key's next value.
            if self.logic is None:
                self.logic = self.builder(None)
            ws, discard = self.logic.on_item(v)
            emit.extend(ws)
            if discard:
                self.logic = None
        return (emit, self.logic is None)

    def on_notify(self) -> Tuple[Iterable[W], bool]:
        assert self.logic is not None
        return self.logic.on_notify()

    def on_eof(self) -> Tuple[Iterable[W], bool]:
        assert self.logic is not None
        return self.logic.on_eof()

    def notify_at(self) -> Optional[datetime]:
        assert self.logic is not None
        return self.logic.notify_at()

    def snapshot(self) -> S:
        assert self.logic is not None
        return self.logic.snapshot()


@operator
@public
def stateful(
    step_id: str,
    up: KeyedStream[V],
    builder: Callable[[Optional[S]], StatefulLogic[V, W, S]],
) -> KeyedStream[W]:
    """A general stateful operator, handling one value at a time.

    Subclass `StatefulLogic` (see there for the call order). For
    control over whole batches use `stateful_batch`; for simple cases
    `stateful_map` is easier.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.operators import StatefulLogic
    >>> from rillet.testing import TestingSource, run_main
    >>> class Pairs(StatefulLogic):
    ...     def __init__(self, held):
    ...         self.held = held
    ...     def on_item(self, value):
    ...         if self.held is None:
    ...             self.held = value
    ...             return [], StatefulLogic.RETAIN
    ...         return [(self.held, value)], StatefulLogic.DISCARD
    ...     def snapshot(self):
    ...         return self.held
    >>> flow = Dataflow("stateful_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("a", 2), ("a", 3)]))
    >>> _ = op.inspect("out", op.stateful("pairs", s, Pairs))
    >>> run_main(flow)
    stateful_eg.out: ('a', (1, 2))

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg builder: Called the first time a key is seen (and again after
        its logic was discarded) with the state `StatefulLogic.snapshot`
        saved for that key, or `None`; returns the logic.

    :returns: A keyed stream of the values the logics emit.
    """

    def batch_builder(resume_state: Optional[S]) -> _OneAtATime[V, W, S]:
        return _OneAtATime(builder(resume_state), builder)

    return stateful_batch("stateful_batch", up, batch_builder)


@dataclass
class _CollectState(Generic[V]):
    acc: List[V] = field(default_factory=list)
    timeout_at: Optional[datetime] = None


@dataclass
class _CollectLogic(StatefulLogic[V, List[V], _CollectState[V]]):
    step_id: str
    now_getter: Callable[[], datetime]
    timeout: timedelta
    max_size: int
    state: _CollectState[V]

    def on_item(self, value: V) -> Tuple[Iterable[List[V]], bool]:
        # Every new value pushes the deadline back.
        self.state.timeout_at = self.now_getter() + self.timeout
        self.state.acc.append(value)
        if len(self.state.acc) >= self.max_size:
            return ((self.state.acc,), StatefulLogic.DISCARD)
        return (EMPTY, StatefulLogic.RETAIN)

    def on_notify(self) -> Tuple[Iterable[List[V]], bool]:
        return ((self.state.acc,), StatefulLogic.DISCARD)

    def on_eof(self) -> Tuple[Iterable[List[V]], bool]:
        return ((self.state.acc,), StatefulLogic.DISCARD)

    def notify_at(self) -> Optional[datetime]:
        return self.state.timeout_at

    def snapshot(self) -> _CollectState[V]:
        return copy.deepcopy(self.state)


@operator
@public
def collect(
    step_id: str, up: KeyedStream[V], timeout: timedelta, max_size: int
) -> KeyedStream[List[V]]:
    """Gather each key's values into lists, by size or by timeout.

    A key's list is emitted when it reaches `max_size` values, when
    `timeout` passes without a new value for that key, or when the
    upstream ends. See `rillet.operators.windowing` for event-time
    windows.

    >>> from datetime import timedelta
    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("collect_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("a", 2), ("a", 3)]))
    >>> lists = op.collect("pairs", s, timeout=timedelta(seconds=10), max_size=2)
    >>> _ = op.inspect("out", lists)
    >>> run_main(flow)
    collect_eg.out: ('a', [1, 2])
    collect_eg.out: ('a', [3])

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg timeout: Emit a key's list once this much system time passes
        after its last value.

    :arg max_size: Emit a key's list once it has this many values.

    :returns: A keyed stream of lists of values.
    """

    def builder(resume_state: Optional[_CollectState[V]]) -> _CollectLogic[V]:
        state = resume_state if resume_state is not None else _CollectState()
        return _CollectLogic(
            step_id, lambda: datetime.now(timezone.utc), timeout, max_size, state
        )

    return stateful("stateful", up, builder)


@operator
@public
def count_final(
    step_id: str, up: Stream[X], key: Callable[[X], str]
) -> KeyedStream[int]:
    """Count how often each key occurs in a finite stream.

    The counts are emitted once the upstream ends, so this only suits
    finite input; for unbounded input use
    `rillet.operators.windowing.count_window`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("count_final_eg")
    >>> s = op.input("inp", flow, TestingSource(["b", "a", "b"]))
    >>> counts = op.count_final("count", s, key=lambda w: w)
    >>> _ = op.inspect("out", counts)
    >>> run_main(flow)
    count_final_eg.out: ('a', 1)
    count_final_eg.out: ('b', 2)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: The items to count.

    :arg key: Returns the `str` key to count an item under.

    :returns: A keyed stream of `(key, count)`, once the upstream
        ends.
    """
    ones: KeyedStream[int] = map("init_count", up, lambda x: (key(x), 1))
    return reduce_final("sum", ones, lambda total, one: total + one)


@dataclass
class _FoldFinalLogic(StatefulLogic[V, S, S]):
    step_id: str
    folder: Callable[[S, V], S]
    state: S

    def on_item(self, value: V) -> Tuple[Iterable[S], bool]:
        self.state = self.folder(self.state, value)
        return (EMPTY, StatefulLogic.RETAIN)

    def on_eof(self) -> Tuple[Iterable[S], bool]:
        return ((self.state,), StatefulLogic.DISCARD)

    def snapshot(self) -> S:
        return copy.deepcopy(self.state)


@operator
@public
def fold_final(
    step_id: str,
    up: KeyedStream[V],
    builder: Callable[[], S],
    folder: Callable[[S, V], S],
) -> KeyedStream[S]:
    """Fold each key's values into an accumulator, for finite streams.

    `builder` makes a key's empty accumulator the first time the key
    is seen; `folder(acc, value)` returns the updated accumulator. The
    accumulators are emitted once the upstream ends. Like
    `reduce_final`, but the starting value comes from `builder`. For
    unbounded input use `rillet.operators.windowing.fold_window` or
    `stateful_flat_map`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("fold_final_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("b", 5), ("a", 2)]))
    >>> lists = op.fold_final("gather", s, list, lambda acc, v: acc + [v])
    >>> _ = op.inspect("out", lists)
    >>> run_main(flow)
    fold_final_eg.out: ('a', [1, 2])
    fold_final_eg.out: ('b', [5])

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg builder: Returns a new empty accumulator.

    :arg folder: Combines an accumulator and a value into the new
        accumulator.

    :returns: A keyed stream of the final accumulators, once the
        upstream ends.
    """

    def logic_builder(resume_state: Optional[S]) -> _FoldFinalLogic[V, S]:
        state = resume_state if resume_state is not None else builder()
        return _FoldFinalLogic(step_id, folder, state)

    return stateful("stateful", up, logic_builder)


@overload
@public
def max_final(
    step_id: str,
    up: KeyedStream[V],
) -> KeyedStream[V]: ...


@overload
@public
def max_final(
    step_id: str,
    up: KeyedStream[V],
    by: Callable[[V], Any],
) -> KeyedStream[V]: ...


@operator
@public
def max_final(
    step_id: str,
    up: KeyedStream[V],
    by=_identity,
) -> KeyedStream:
    """Find each key's largest value in a finite stream.

    Emitted once the upstream ends; for unbounded input use
    `rillet.operators.windowing.max_window`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("max_final_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 3), ("a", 7), ("b", 1)]))
    >>> _ = op.inspect("out", op.max_final("max", s))
    >>> run_main(flow)
    max_final_eg.out: ('a', 7)
    max_final_eg.out: ('b', 1)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg by: A `Callable[[V], Any]` giving what to compare each value
        by. Defaults to the value itself.

    :returns: A keyed stream of each key's maximum, once the upstream
        ends.
    """
    return reduce_final("reduce_final", up, partial(max, key=by))


@overload
@public
def min_final(
    step_id: str,
    up: KeyedStream[V],
) -> KeyedStream[V]: ...


@overload
@public
def min_final(
    step_id: str,
    up: KeyedStream[V],
    by: Callable[[V], Any],
) -> KeyedStream[V]: ...


@operator
@public
def min_final(
    step_id: str,
    up: KeyedStream[V],
    by=_identity,
) -> KeyedStream:
    """Find each key's smallest value in a finite stream.

    Emitted once the upstream ends; for unbounded input use
    `rillet.operators.windowing.min_window`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("min_final_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 3), ("a", 7), ("b", 1)]))
    >>> shortest = op.min_final("min", s)
    >>> _ = op.inspect("out", shortest)
    >>> run_main(flow)
    min_final_eg.out: ('a', 3)
    min_final_eg.out: ('b', 1)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg by: A `Callable[[V], Any]` giving what to compare each value
        by. Defaults to the value itself.

    :returns: A keyed stream of each key's minimum, once the upstream
        ends.
    """
    return reduce_final("reduce_final", up, partial(min, key=by))


@operator
@public
def reduce_final(
    step_id: str,
    up: KeyedStream[V],
    reducer: Callable[[V, V], V],
) -> KeyedStream[V]:
    """Combine each key's values pairwise into one, for finite streams.

    The first value of a key is the starting accumulator; then
    `reducer(acc, value)` combines each later value in. Emitted once
    the upstream ends. Like `fold_final`, without a separate starting
    value. Values are pre-combined within each batch before being
    routed by key, so `reducer` should be associative. For unbounded
    input use `rillet.operators.windowing.reduce_window`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("reduce_final_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("b", 5), ("a", 2)]))
    >>> _ = op.inspect("out", op.reduce_final("sum", s, lambda a, b: a + b))
    >>> run_main(flow)
    reduce_final_eg.out: ('a', 3)
    reduce_final_eg.out: ('b', 5)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg reducer: Combines the accumulator and a value into the new
        accumulator.

    :returns: A keyed stream of each key's result, once the upstream
        ends.
    """

    def combine_batch(items: List[Tuple[str, V]]) -> Iterable[Tuple[str, V]]:
        partials: Dict[str, V] = {}
        for k, v in items:
            if k in partials:
                partials[k] = reducer(partials[k], v)
            else:
                partials[k] = v
        return partials.items()

    combined = flat_map_batch("pre_reduce", up, combine_batch)

    def fold(acc: V, v: V) -> V:
        return v if acc is None else reducer(acc, v)

    return fold_final("fold_final", combined, _untyped_none, fold)


@dataclass
class _StatefulFlatMapLogic(StatefulLogic[V, W, S]):
    step_id: str
    mapper: Callable[[Optional[S], V], Tuple[Optional[S], Iterable[W]]]
    state: Optional[S]

    def on_item(self, value: V) -> Tuple[Iterable[W], bool]:
        res = self.mapper(self.state, value)
        try:
            s, ws = res
        except TypeError as ex:
            msg = (
                f"`mapper` {f_repr(self.mapper)} in step {self.step_id!r} "
                "must return a 2-tuple `(updated_state, values_to_emit)`; "
                f"got a {type(res)!r}; return `(None, [])` to drop the state "
                "and emit nothing"
            )
            raise TypeError(msg) from ex
        if s is None:
            return (ws, StatefulLogic.DISCARD)
        self.state = s
        return (ws, StatefulLogic.RETAIN)

    def snapshot(self) -> S:
        assert self.state is not None
        return copy.deepcopy(self.state)


@operator
@public
def stateful_flat_map(
    step_id: str,
    up: KeyedStream[V],
    mapper: Callable[[Optional[S], V], Tuple[Optional[S], Iterable[W]]],
) -> KeyedStream[W]:
    """Transform values one-to-many, with state kept per key.

    `mapper(state, value)` gets the key's state (`None` at first) and
    returns `(updated_state, values_to_emit)`. Returning `None` as the
    state forgets the key's state.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("stateful_flat_map_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 2), ("a", 3)]))
    >>> def repeat_running_total(total, v):
    ...     total = (total or 0) + v
    ...     return total, [total] * v
    >>> s = op.stateful_flat_map("repeat", s, repeat_running_total)
    >>> _ = op.inspect("out", s)
    >>> run_main(flow)
    stateful_flat_map_eg.out: ('a', 2)
    stateful_flat_map_eg.out: ('a', 2)
    stateful_flat_map_eg.out: ('a', 5)
    stateful_flat_map_eg.out: ('a', 5)
    stateful_flat_map_eg.out: ('a', 5)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg mapper: Called with the key's state (or `None`) and each
        value; returns `(updated_state, values_to_emit)`.

    :returns: A keyed stream of the emitted values.
    """

    def builder(resume_state: Optional[S]) -> _StatefulFlatMapLogic[V, W, S]:
        return _StatefulFlatMapLogic(step_id, mapper, resume_state)

    return stateful("stateful", up, builder)


@operator
@public
def stateful_map(
    step_id: str,
    up: KeyedStream[V],
    mapper: Callable[[Optional[S], V], Tuple[Optional[S], W]],
) -> KeyedStream[W]:
    """Transform values one-to-one, with state kept per key.

    `mapper(state, value)` gets the key's state (`None` at first) and
    returns `(updated_state, value_to_emit)`. Returning `None` as the
    state forgets the key's state. Typical uses: running totals,
    anomaly detection, state machines.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("stateful_map_eg")
    >>> s = op.input("inp", flow, TestingSource(["a", "b", "a"]))
    >>> s = op.key_on("self", s, lambda x: x)
    >>> def count(seen, _item):
    ...     seen = (seen or 0) + 1
    ...     return seen, seen
    >>> _ = op.inspect("out", op.stateful_map("count", s, count))
    >>> run_main(flow)
    stateful_map_eg.out: ('a', 1)
    stateful_map_eg.out: ('b', 1)
    stateful_map_eg.out: ('a', 2)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg mapper: Called with the key's state (or `None`) and each
        value; returns `(updated_state, value_to_emit)`.

    :returns: A keyed stream of the emitted values.
    """

    def one_to_many(state: Optional[S], v: V) -> Tuple[Optional[S], Iterable[W]]:
        res = mapper(state, v)
        try:
            s, w = res
        except TypeError as ex:
            msg = (
                f"`mapper` {f_repr(mapper)} in step {step_id!r} must return "
                "a 2-tuple `(updated_state, value_to_emit)`; got a "
                f"{type(res)!r}; return `(None, value)` to drop the state"
            )
            raise TypeError(msg) from ex
        return (s, (w,))

    return stateful_flat_map("stateful_flat_map", up, one_to_many)
