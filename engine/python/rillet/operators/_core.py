"""The core operators, which the runtime implements natively.

They have no substeps; each just declares its output streams. See
`engine/DESIGN.md` for how the runtime runs them.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import (
    Any,
    Callable,
    Generic,
    Iterable,
    List,
    Optional,
    Tuple,
    TypeGuard,
    Union,
    overload,
)

from rillet.dataflow import Dataflow, Stream, operator
from rillet.inputs import Source
from rillet.operators._common import EMPTY, KeyedStream, S, U, V, W, X, Y, public
from rillet.outputs import Sink

__all__ = [
    "BranchOut",
    "StatefulBatchLogic",
    "branch",
    "flat_map_batch",
    "input",
    "inspect_debug",
    "merge",
    "output",
    "redistribute",
    "stateful_batch",
]

def _down(up_scope_owner: Any) -> Stream:
    """The output stream of a core step, given any of its inputs."""
    scope = up_scope_owner._scope
    return Stream(f"{scope.parent_id}.down", scope)


@public
@dataclass(frozen=True)
class BranchOut(Generic[X, Y]):
    """The two streams `branch` returns.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> flow = Dataflow("eg")
    >>> nums = op.input("nums", flow, TestingSource([1, 2]))
    >>> out = op.branch("even_odd", nums, lambda x: x % 2 == 0)
    >>> out.trues.stream_id, out.falses.stream_id
    ('eg.even_odd.trues', 'eg.even_odd.falses')
    """

    trues: Stream[X]
    falses: Stream[Y]


@overload
@public
def branch(
    step_id: str,
    up: Stream[X],
    predicate: Callable[[X], TypeGuard[Y]],
) -> BranchOut[Y, X]: ...


@overload
@public
def branch(
    step_id: str,
    up: Stream[X],
    predicate: Callable[[X], bool],
) -> BranchOut[X, X]: ...


@operator(_core=True)
@public
def branch(
    step_id: str,
    up: Stream[X],
    predicate: Callable[[X], bool],
) -> BranchOut:
    """Split a stream in two by a predicate.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("branch_eg")
    >>> nums = op.input("nums", flow, TestingSource([1, 2, 3, 4]))
    >>> out = op.branch("even_odd", nums, lambda x: x % 2 == 0)
    >>> _ = op.inspect("evens", out.trues)
    >>> _ = op.inspect("odds", out.falses)
    >>> run_main(flow)
    branch_eg.odds: 1
    branch_eg.evens: 2
    branch_eg.odds: 3
    branch_eg.evens: 4

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream to split.

    :arg predicate: Called on each item; items for which it returns
        `True` go to `trues`, the rest to `falses`. It must return a
        `bool`. If it is a `typing.TypeGuard`, type checkers narrow
        the `trues` stream.

    :returns: The `trues` and `falses` streams.
    """
    scope = up._scope
    return BranchOut(
        trues=Stream(f"{scope.parent_id}.trues", scope),
        falses=Stream(f"{scope.parent_id}.falses", scope),
    )


@operator(_core=True)
@public
def flat_map_batch(
    step_id: str,
    up: Stream[X],
    mapper: Callable[[List[X]], Iterable[Y]],
) -> Stream[Y]:
    """Transform whole batches of items, one batch to many items.

    The runtime calls `mapper` with every batch of items it has at
    this step; how items are batched depends on the sources and on
    timing, so use this only as an optimisation for work that is
    cheaper per batch (e.g. a vectorised call), not for grouping. See
    `collect` for grouping items into lists.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("flat_map_batch_eg")
    >>> nums = op.input("nums", flow, TestingSource([1, 2, 3], batch_size=3))
    >>> def tenfold(batch):
    ...     return [x * 10 for x in batch]
    >>> big = op.flat_map_batch("tenfold", nums, tenfold)
    >>> _ = op.inspect("out", big)
    >>> run_main(flow)
    flat_map_batch_eg.out: 10
    flat_map_batch_eg.out: 20
    flat_map_batch_eg.out: 30

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg mapper: Called with each list of items; returns the items to
        emit downstream.

    :returns: A stream of every item `mapper` returns.
    """
    return _down(up)


@operator(_core=True)
@public
def input(  # noqa: A001
    step_id: str,
    flow: Dataflow,
    source: Source[X],
) -> Stream[X]:
    """Bring items into the dataflow from a source.

    See `rillet.inputs` for how sources work and `rillet.connectors`
    for ready-made ones.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("input_eg")
    >>> nums = op.input("nums", flow, TestingSource([10, 20]))
    >>> _ = op.inspect("out", nums)
    >>> run_main(flow)
    input_eg.out: 10
    input_eg.out: 20

    :arg step_id: Step ID, unique among its sibling steps.

    :arg flow: The dataflow to add the input to.

    :arg source: Where to read items from.

    :returns: A stream of the source's items; see the source's
        documentation for what they look like (some sources emit
        `(key, value)` items).
    """
    return _down(flow)


def _default_debug_inspector(step_id: str, item: Any, epoch: int, worker: int) -> None:
    print(f"{step_id} W{worker} @{epoch}: {item!r}", flush=True)


@operator(_core=True)
@public
def inspect_debug(
    step_id: str,
    up: Stream[X],
    inspector: Callable[[str, X, int, int], None] = _default_debug_inspector,
) -> Stream[X]:
    """Look at items with their epoch and worker, for debugging.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("inspect_debug_eg")
    >>> s = op.input("inp", flow, TestingSource(["a", "b"]))
    >>> _ = op.inspect_debug("peek", s)
    >>> run_main(flow)
    inspect_debug_eg.peek W0 @1: 'a'
    inspect_debug_eg.peek W0 @1: 'b'

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg inspector: Called as `inspector(step_id, item, epoch,
        worker_index)` for each item. Defaults to printing
        `"{step_id} W{worker} @{epoch}: {item!r}"`.

    :returns: The upstream, unchanged.
    """
    return _down(up)


@overload
@public
def merge(
    step_id: str,
    up1: Stream[X],
    /,
) -> Stream[X]: ...


@overload
@public
def merge(
    step_id: str,
    up1: Stream[X],
    up2: Stream[Y],
    /,
) -> Stream[Union[X, Y]]: ...


@overload
@public
def merge(
    step_id: str,
    up1: Stream[X],
    up2: Stream[Y],
    up3: Stream[U],
    /,
) -> Stream[Union[X, Y, U]]: ...


@overload
@public
def merge(
    step_id: str,
    up1: Stream[X],
    up2: Stream[Y],
    up3: Stream[U],
    up4: Stream[V],
    /,
) -> Stream[Union[X, Y, U, V]]: ...


@overload
@public
def merge(
    step_id: str,
    *ups: Stream[X],
) -> Stream[X]: ...


@overload
@public
def merge(
    step_id: str,
    *ups: Stream[Any],
) -> Stream[Any]: ...


@operator(_core=True)
@public
def merge(
    step_id: str,
    *ups: Stream[Any],
) -> Stream[Any]:
    """Combine several streams into one.

    Items keep their order within each upstream; how the upstreams
    interleave depends on timing.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("merge_eg")
    >>> a = op.input("a", flow, TestingSource([1, 2]))
    >>> b = op.input("b", flow, TestingSource([3]))
    >>> both = op.merge("both", a, b)
    >>> out = []
    >>> _ = op.inspect("out", both, lambda _id, x: out.append(x))
    >>> run_main(flow)
    >>> sorted(out)
    [1, 2, 3]

    :arg step_id: Step ID, unique among its sibling steps.

    :arg *ups: The streams to combine; at least one.

    :returns: One stream with every item of every upstream.
    """
    if not ups:
        msg = f"`merge` step {step_id!r} needs at least one upstream stream"
        raise TypeError(msg)
    return _down(ups[0])


@operator(_core=True)
@public
def output(step_id: str, up: Stream[X], sink: Sink[X]) -> None:
    """Write items out of the dataflow to a sink.

    See `rillet.outputs` for how sinks work and `rillet.connectors`
    for ready-made ones.

    >>> import rillet.operators as op
    >>> from rillet.connectors.stdio import StdOutSink
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("output_eg")
    >>> words = op.input("words", flow, TestingSource(["hello", "world"]))
    >>> op.output("print", words, StdOutSink())
    >>> run_main(flow)
    hello
    world

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Items to write; see the sink's documentation for the
        shape it needs (partitioned sinks need `(key, value)` items).

    :arg sink: Where to write.
    """
    return None


@operator(_core=True)
@public
def redistribute(step_id: str, up: Stream[X]) -> Stream[X]:
    """Spread items over all workers to balance the work after it.

    Stateless steps like `map` run on whichever worker the item is
    on. If an earlier step left most items on a few workers (for
    example a source with a single partition), put this right before
    an expensive stateless step so every worker shares that work. It
    only costs time before cheap steps, and does nothing useful before
    stateful steps, which route items by key anyway.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("redistribute_eg")
    >>> nums = op.input("nums", flow, TestingSource([1, 2, 3]))
    >>> spread = op.redistribute("spread", nums)
    >>> _ = op.inspect_debug("out", spread)
    >>> run_main(flow)
    redistribute_eg.out W0 @1: 1
    redistribute_eg.out W0 @1: 2
    redistribute_eg.out W0 @1: 3

    With `python -m rillet.run -w 2 ...` the items would be spread
    over workers `W0` and `W1`.

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :returns: The same items, possibly on other workers.
    """
    return _down(up)


@public
class StatefulBatchLogic(ABC, Generic[V, W, S]):
    """The per-key logic of a `stateful_batch` step. Subclass this.

    The runtime builds one logic per key (with the `builder` given to
    `stateful_batch`) and, each time the step runs, calls: `on_batch`
    with the key's new values, then `on_notify` if the time from
    `notify_at` has passed, then `on_eof` once the upstream has ended.
    Each returns `(values_to_emit, discard)`; emitted values are paired
    with the key. While the logic is kept, `notify_at` is asked for the
    next wake-up time, and `snapshot` is called when state is saved.

    >>> from rillet.operators import StatefulBatchLogic
    >>> class Sum(StatefulBatchLogic):
    ...     def __init__(self, total):
    ...         self.total = total
    ...     def on_batch(self, values):
    ...         self.total += sum(values)
    ...         return [self.total], StatefulBatchLogic.RETAIN
    ...     def snapshot(self):
    ...         return self.total
    >>> logic = Sum(0)
    >>> logic.on_batch([1, 2]), logic.on_batch([3])
    (([3], False), ([6], False))
    >>> logic.on_eof(), logic.notify_at()
    (((), False), None)
    """

    RETAIN: bool = False
    """Return this as `discard` to keep the logic for its key.

    A logic that is always retained lives forever: with an unbounded
    key space, memory use grows without bound.
    """

    DISCARD: bool = True
    """Return this as `discard` to drop the logic for its key now."""

    @abstractmethod
    def on_batch(self, values: List[V]) -> Tuple[Iterable[W], bool]:
        """Handle this key's new values, in arrival order.

        :arg values: The values of the upstream `(key, value)` items.

        :returns: `(values_to_emit, discard)`. The values are emitted
            as `(key, value)`.
        """
        ...

    def on_notify(self) -> Tuple[Iterable[W], bool]:
        """Called once the time returned by `notify_at` has passed.

        Emits nothing and keeps the logic by default.

        :returns: `(values_to_emit, discard)`.
        """
        return (EMPTY, StatefulBatchLogic.RETAIN)

    def on_eof(self) -> Tuple[Iterable[W], bool]:
        """Called when the upstream has no more items in this run.

        Called after `on_batch` in the same activation. Emits nothing
        and keeps the logic by default.

        :returns: `(values_to_emit, discard)`.
        """
        return (EMPTY, StatefulBatchLogic.RETAIN)

    def notify_at(self) -> Optional[datetime]:
        """The next time `on_notify` should be called, if any.

        Asked once when the logic is created, and again after each
        `on_*` call that keeps it. Only one time is stored: if
        you need several, keep them yourself and return the earliest.
        `None` (the default) means no notification.

        :returns: A timezone-aware time, or `None`.
        """
        return None

    @abstractmethod
    def snapshot(self) -> S:
        """Return this key's state, for recovery.

        It is passed back to `stateful_batch`'s `builder` on resume.
        It must be picklable, and must not change afterwards: if other
        methods mutate the state in place, return a
        `copy.deepcopy` of it.

        :returns: The state.
        """
        ...


@operator(_core=True)
@public
def stateful_batch(
    step_id: str,
    up: KeyedStream[V],
    builder: Callable[[Optional[S]], StatefulBatchLogic[V, W, S]],
) -> KeyedStream[W]:
    """The lowest-level stateful operator: full control per key.

    Subclass `StatefulBatchLogic` (see there for the call order). The
    items are routed to workers by key, so all values of a key meet
    the same logic. Most of the time a higher-level operator such as
    `stateful_map`, `stateful` or `collect` is simpler.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.operators import StatefulBatchLogic
    >>> from rillet.testing import TestingSource, run_main
    >>> class RunningSum(StatefulBatchLogic):
    ...     def __init__(self, total):
    ...         self.total = total
    ...     def on_batch(self, values):
    ...         self.total += sum(values)
    ...         return [self.total], StatefulBatchLogic.RETAIN
    ...     def snapshot(self):
    ...         return self.total
    >>> flow = Dataflow("stateful_batch_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("b", 2), ("a", 3)]))
    >>> sums = op.stateful_batch("sum", s, lambda state: RunningSum(state or 0))
    >>> _ = op.inspect("out", sums)
    >>> run_main(flow)
    stateful_batch_eg.out: ('a', 1)
    stateful_batch_eg.out: ('b', 2)
    stateful_batch_eg.out: ('a', 4)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg builder: Called the first time a key is seen, with the state
        `StatefulBatchLogic.snapshot` saved for that key (or `None`);
        returns the logic for that key.

    :returns: A keyed stream of the values the logics emit.
    """
    return _down(up)
