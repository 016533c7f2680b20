"""Interfaces for sources, and helpers for writing them.

For ready-made sources see `rillet.connectors`. To write your own,
subclass one of:

- `FixedPartitionedSource` with `StatefulSourcePartition`: a fixed set
  of named partitions, each of which can snapshot and resume its
  position (exactly-once capable if the source can seek).
- `DynamicSource` with `StatelessSourcePartition`: one partition per
  worker, no resume state.
- `SimplePollingSource`: call one function on a schedule.

A minimal partitioned source:

>>> from rillet.inputs import FixedPartitionedSource, StatefulSourcePartition
>>> class _CountPart(StatefulSourcePartition):
...     def __init__(self, start, stop):
...         self._next, self._stop = start, stop
...     def next_batch(self):
...         if self._next >= self._stop:
...             raise StopIteration()
...         self._next += 1
...         return [self._next - 1]
...     def snapshot(self):
...         return self._next
>>> class CountSource(FixedPartitionedSource):
...     def list_parts(self):
...         return ["only"]
...     def build_part(self, step_id, for_part, resume_state):
...         return _CountPart(resume_state or 0, 3)
>>> part = CountSource().build_part("eg.inp", "only", None)
>>> part.next_batch(), part.next_batch(), part.snapshot()
([0], [1], 2)
"""

import asyncio
import queue
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import (
    AsyncIterable,
    Callable,
    Generic,
    Iterable,
    Iterator,
    List,
    Optional,
    Type,
    TypeVar,
    cast,
)

__all__ = [
    "AbortExecution",
    "DynamicSource",
    "FixedPartitionedSource",
    "S",
    "SimplePollingSource",
    "Sn",
    "Source",
    "StatefulSourcePartition",
    "StatelessSourcePartition",
    "X",
    "batch",
    "batch_async",
    "batch_getter",
    "batch_getter_ex",
]

X = TypeVar("X")
"""Type of the items a `Source` emits."""

S = TypeVar("S")
"""Type of a partition's resume state."""

Sn = TypeVar("Sn")
"""Type of resume state for sources that may not have any (`None`)."""


class AbortExecution(RuntimeError):
    """Raise from `next_batch` to abort the run, as if it crashed.

    Meant for testing recovery: the runtime stops at once without
    closing partitions. `rillet.testing.TestingSource.ABORT` raises
    it for you.

    >>> from rillet.inputs import AbortExecution
    >>> issubclass(AbortExecution, RuntimeError)
    True
    """


class Source(ABC, Generic[X]):  # noqa: B024
    """Base of every source. Don't subclass it directly.

    Subclass `FixedPartitionedSource`, `DynamicSource` or
    `SimplePollingSource` instead.

    >>> from rillet.inputs import Source
    >>> from rillet.testing import TestingSource
    >>> isinstance(TestingSource([1]), Source)
    True
    """


class StatefulSourcePartition(ABC, Generic[X, S]):
    """One partition of a `FixedPartitionedSource`, with resume state.

    >>> from rillet.testing import TestingSource
    >>> part = TestingSource([1, 2, 3]).build_part("eg.inp", "iterable", None)
    >>> part.next_batch(), part.snapshot()
    ([1], 1)
    """

    @abstractmethod
    def next_batch(self) -> Iterable[X]:
        """Return the items that are ready now, maybe none.

        Must never block: return an empty batch when nothing is ready,
        and use `next_awake` to ask to be called later.

        :returns: Items ready to emit.

        :raises StopIteration: When this partition has no more items.
        """
        ...

    def next_awake(self) -> Optional[datetime]:
        """When to call `next_batch` next.

        Asked after each `next_batch` call (and possibly at other
        times); only the latest answer counts. `None` means "as soon
        as possible", with a 1 ms pause after an empty batch. Return a
        time instead of sleeping in `next_batch`.

        :returns: The next time to call `next_batch`, or `None`.
        """
        return None

    @abstractmethod
    def snapshot(self) -> S:
        """Return the position to resume reading from.

        The value comes back as `resume_state` of
        `FixedPartitionedSource.build_part`. It must point just after
        the last item returned by `next_batch`, so nothing is read
        twice. Never called after `close`.

        :returns: Resume state; must be picklable.
        """
        ...

    def close(self) -> None:
        """Release resources when the dataflow finishes.

        Only called when the input completes normally, not when the
        run is aborted or crashes.
        """
        return


class FixedPartitionedSource(Source[X], Generic[X, S]):
    """A source with a fixed set of independent, resumable partitions.

    Each partition is read by one worker and keeps its own resume
    state, so a source that can seek supports exactly-once
    processing. Partitions must hold distinct data, or items are
    processed once per partition holding them.

    >>> from rillet.testing import TestingSource
    >>> TestingSource([1, 2]).list_parts()
    ['iterable']
    """

    @abstractmethod
    def list_parts(self) -> List[str]:
        """List the partitions this worker can read.

        Need not be all partitions; across all workers the lists are
        combined.

        :returns: Partition keys available locally.
        """
        ...

    @abstractmethod
    def build_part(
        self,
        step_id: str,
        for_part: str,
        resume_state: Optional[S],
    ) -> StatefulSourcePartition[X, S]:
        """Create a partition, resuming from `resume_state` if given.

        Called once per run for each partition assigned to this
        worker. Derive all position state from `resume_state`, not
        from the source object, or resuming won't work.

        :arg step_id: ID of the input step.

        :arg for_part: The partition key; one of `list_parts`.

        :arg resume_state: What `StatefulSourcePartition.snapshot`
            returned last time, or `None` on a fresh start.

        :returns: The partition.
        """
        ...


class StatelessSourcePartition(ABC, Generic[X]):
    """One worker's partition of a `DynamicSource`; no resume state.

    >>> from rillet.inputs import StatelessSourcePartition
    >>> class Once(StatelessSourcePartition):
    ...     def __init__(self):
    ...         self._done = False
    ...     def next_batch(self):
    ...         if self._done:
    ...             raise StopIteration()
    ...         self._done = True
    ...         return ["hello"]
    >>> Once().next_batch()
    ['hello']
    """

    @abstractmethod
    def next_batch(self) -> Iterable[X]:
        """Return the items that are ready now, maybe none.

        Must never block: return an empty batch when nothing is ready,
        and use `next_awake` to ask to be called later.

        :returns: Items ready to emit.

        :raises StopIteration: When this partition has no more items.
        """
        ...

    def next_awake(self) -> Optional[datetime]:
        """When to call `next_batch` next.

        Asked after each `next_batch` call (and possibly at other
        times); only the latest answer counts. `None` means "as soon
        as possible", with a 1 ms pause after an empty batch.

        :returns: The next time to call `next_batch`, or `None`.
        """
        return None

    def close(self) -> None:
        """Release resources when the dataflow finishes.

        Only called when the input completes normally, not when the
        run is aborted or crashes.
        """
        return


class DynamicSource(Source[X]):
    """A source where every worker reads its own share of the items.

    Keeps no resume state, so it can offer at-most-once processing.
    Each worker's partition must produce different items, or they are
    processed more than once.

    >>> from rillet.inputs import DynamicSource, StatelessSourcePartition
    >>> class _Part(StatelessSourcePartition):
    ...     def __init__(self, items):
    ...         self._items = items
    ...     def next_batch(self):
    ...         if not self._items:
    ...             raise StopIteration()
    ...         items, self._items = self._items, []
    ...         return items
    >>> class Stripes(DynamicSource):
    ...     def build(self, step_id, worker_index, worker_count):
    ...         return _Part(list(range(worker_index, 6, worker_count)))
    >>> Stripes().build("eg.inp", 1, 2).next_batch()
    [1, 3, 5]
    """

    @abstractmethod
    def build(
        self, step_id: str, worker_index: int, worker_count: int
    ) -> StatelessSourcePartition[X]:
        """Create this worker's partition. Called once per worker.

        :arg step_id: ID of the input step.

        :arg worker_index: This worker's index, from 0.

        :arg worker_count: How many workers there are in total.

        :returns: The partition.
        """
        ...


class _SimplePollingPartition(StatefulSourcePartition[X, S]):
    def __init__(
        self,
        now: datetime,
        interval: timedelta,
        align_to: Optional[datetime],
        getter: Callable[[], X],
        snapshot: Callable[[], S],
    ):
        self._interval = interval
        self._getter = getter
        self._snapshot = snapshot
        if align_to is None:
            self._awake_at = now
        else:
            # Wait until the next instant that is a whole number of
            # intervals after `align_to`; if now is one, start now.
            into_interval = (now - align_to) % interval
            wait = interval - into_interval if into_interval > timedelta(0) else timedelta(0)
            self._awake_at = now + wait

    def next_batch(self) -> List[X]:
        try:
            item = self._getter()
        except SimplePollingSource.Retry as retry:
            self._awake_at += retry.timeout
            return []
        self._awake_at += self._interval
        return [] if item is None else [item]

    def next_awake(self) -> Optional[datetime]:
        return self._awake_at

    def snapshot(self) -> S:
        return self._snapshot()


class SimplePollingSource(FixedPartitionedSource[X, Sn]):
    """Call `next_item` on a fixed interval and emit what it returns.

    Good for slow polling (seconds to hours) of something like a web
    API. Only one worker polls; for throughput or custom timing write
    a `FixedPartitionedSource` instead. Override `snapshot` and
    `resume` if the polled thing has a position to resume from.

    >>> from datetime import timedelta
    >>> from rillet.inputs import SimplePollingSource
    >>> class Clock(SimplePollingSource):
    ...     def __init__(self):
    ...         super().__init__(interval=timedelta(seconds=10))
    ...         self.ticks = 0
    ...     def next_item(self):
    ...         self.ticks += 1
    ...         return self.ticks
    >>> part = Clock().build_part("eg.inp", "singleton", None)
    >>> part.next_batch(), part.next_batch()
    ([1], [2])
    """

    @dataclass
    class Retry(Exception):
        """Raise from `next_item` to try again sooner than `interval`.

        >>> from datetime import timedelta
        >>> from rillet.inputs import SimplePollingSource
        >>> SimplePollingSource.Retry(timedelta(seconds=1)).timeout
        datetime.timedelta(seconds=1)

        :arg timeout: Delay until `next_item` is tried again.
        """

        timeout: timedelta

    def __init__(self, interval: timedelta, align_to: Optional[datetime] = None):
        """Set up the schedule.

        :arg interval: Time between calls to `next_item`.

        :arg align_to: Make calls happen at whole multiples of
            `interval` after this time. Defaults to starting now.
        """
        self._interval = interval
        self._align_to = align_to

    def list_parts(self) -> List[str]:
        """There is one partition, `"singleton"`.

        :returns: `["singleton"]`.
        """
        return ["singleton"]

    def build_part(
        self,
        _step_id: str,
        for_part: str,
        resume_state: Optional[Sn],
    ) -> _SimplePollingPartition[X, Sn]:
        """Build the polling partition, calling `resume` first if needed.

        :arg _step_id: ID of the input step.

        :arg for_part: Always `"singleton"`.

        :arg resume_state: What `snapshot` returned last run, if any.

        :returns: The partition.
        """
        now = datetime.now(timezone.utc)
        if resume_state is not None:
            self.resume(resume_state)
        return _SimplePollingPartition(
            now, self._interval, self._align_to, self.next_item, self.snapshot
        )

    @abstractmethod
    def next_item(self) -> X:
        """Poll once. Override this.

        :returns: The item to emit, or `None` to emit nothing this
            time.

        :raises Retry: To be called again after `Retry.timeout`
            instead of the usual interval.
        """
        ...

    def snapshot(self) -> Sn:
        """Return the position to resume polling from.

        Passed to `resume` on the next run. Defaults to `None`.

        :returns: Resume state; must be picklable.
        """
        return cast(Sn, None)

    def resume(self, resume_state: Sn) -> None:
        """Restore the position saved by `snapshot`.

        Called once, before the first `next_item`, when resuming.
        Does nothing by default.

        :arg resume_state: What `snapshot` returned.
        """
        pass


def batch(ib: Iterable[X], batch_size: int) -> Iterator[List[X]]:
    """Split an iterable into lists of at most `batch_size` items.

    Useful in a partition's `next_batch`: keep the generator and call
    `next()` on it.

    >>> from rillet.inputs import batch
    >>> list(batch(range(5), 2))
    [[0, 1], [2, 3], [4]]

    :arg ib: Items to batch.

    :arg batch_size: Most items per batch.

    :yields: Non-empty lists of items, in order.
    """
    it = iter(ib)
    while True:
        chunk = list(islice(it, batch_size))
        if not chunk:
            return
        yield chunk


def batch_getter(
    getter: Callable[[], X], batch_size: int, yield_on: Optional[X] = None
) -> Iterator[List[X]]:
    """Batch the results of a getter that may have nothing ready.

    Each batch ends when `batch_size` items were gathered or when
    `getter` returns `yield_on` ("nothing ready yet"); then the batch
    is yielded, possibly empty. When `getter` raises `StopIteration`,
    the last batch is yielded and the generator ends.

    >>> from rillet.inputs import batch_getter
    >>> results = iter([1, 2, None, 3])
    >>> def getter():
    ...     return next(results)
    >>> list(batch_getter(getter, 5))
    [[1, 2], [3]]

    :arg getter: Returns the next item, `yield_on` if none is ready,
        or raises `StopIteration` when there are no more.

    :arg batch_size: Most items per batch.

    :arg yield_on: The "nothing ready" value. Defaults to `None`.

    :yields: Lists of items.
    """
    while True:
        chunk: List[X] = []
        while len(chunk) < batch_size:
            try:
                item = getter()
            except StopIteration:
                yield chunk
                return
            if item == yield_on:
                break
            chunk.append(item)
        yield chunk


def batch_getter_ex(
    getter: Callable[[], X], batch_size: int, yield_ex: Type[Exception] = queue.Empty
) -> Iterator[List[X]]:
    """Batch the results of a getter that raises when nothing is ready.

    Like `batch_getter`, but "nothing ready" is signalled by raising
    `yield_ex` (by default `queue.Empty`, so `Queue.get_nowait` works
    as is).

    >>> import queue
    >>> from rillet.inputs import batch_getter_ex
    >>> q = queue.Queue()
    >>> for i in range(3):
    ...     q.put(i)
    >>> batches = batch_getter_ex(q.get_nowait, 2)
    >>> next(batches), next(batches), next(batches)
    ([0, 1], [2], [])

    :arg getter: Returns the next item, raises `yield_ex` if none is
        ready, or raises `StopIteration` when there are no more.

    :arg batch_size: Most items per batch.

    :arg yield_ex: The "nothing ready" exception type.

    :yields: Lists of items.
    """
    while True:
        chunk: List[X] = []
        while len(chunk) < batch_size:
            try:
                chunk.append(getter())
            except yield_ex:
                break
            except StopIteration:
                yield chunk
                return
        yield chunk


def batch_async(
    aib: AsyncIterable[X],
    timeout: timedelta,
    batch_size: int,
    loop=None,
) -> Iterator[List[X]]:
    """Read an async iterable in batches without blocking for long.

    Each step of the returned generator runs the async iterator for at
    most `timeout`, or until it produced `batch_size` items, and
    yields what it got (possibly an empty list). An item still being
    awaited when the time is up is kept for the next batch, not lost.

    >>> import asyncio
    >>> from datetime import timedelta
    >>> from rillet.inputs import batch_async
    >>> async def numbers():
    ...     for i in range(3):
    ...         await asyncio.sleep(0)
    ...         yield i
    >>> list(batch_async(numbers(), timedelta(seconds=1), 2))
    [[0, 1], [2]]

    :arg aib: The async iterable to read.

    :arg timeout: Longest time to spend gathering one batch.

    :arg batch_size: Most items per batch.

    :arg loop: An `asyncio` event loop to run on. Defaults to a new
        one.

    :yields: Lists of items.
    """
    ait = aib.__aiter__()
    event_loop = loop if loop is not None else asyncio.new_event_loop()
    # The `__anext__` call in flight, if a timeout interrupted it.
    pending: Optional[asyncio.Future] = None

    async def _await_next() -> X:
        return await ait.__anext__()

    async def gather() -> List[X]:
        nonlocal pending
        chunk: List[X] = []
        for _ in range(batch_size):
            if pending is None:
                pending = event_loop.create_task(_await_next())
            try:
                # `shield` keeps the `wait_for` timeout from cancelling
                # the pending `__anext__`; it is reused next batch.
                item = await asyncio.shield(pending)
            except asyncio.CancelledError:
                break
            except StopAsyncIteration:
                if chunk:
                    break
                raise
            chunk.append(item)
            pending = None
        return chunk

    while True:
        try:
            chunk = event_loop.run_until_complete(
                asyncio.wait_for(gather(), timeout.total_seconds())
            )
        except StopAsyncIteration:
            return
        yield chunk
