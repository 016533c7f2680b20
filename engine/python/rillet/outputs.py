"""Interfaces for sinks.

For ready-made sinks see `rillet.connectors`. To write your own,
subclass one of:

- `FixedPartitionedSink` with `StatefulSinkPartition`: a fixed set of
  named partitions; `(key, value)` items are routed to a partition by
  key, and each partition can snapshot and resume its position.
- `DynamicSink` with `StatelessSinkPartition`: one partition per
  worker, no resume state.

>>> from rillet.outputs import DynamicSink, StatelessSinkPartition
>>> class _ListPart(StatelessSinkPartition):
...     def __init__(self, out):
...         self._out = out
...     def write_batch(self, items):
...         self._out.extend(items)
>>> class ListSink(DynamicSink):
...     def __init__(self):
...         self.out = []
...     def build(self, step_id, worker_index, worker_count):
...         return _ListPart(self.out)
>>> sink = ListSink()
>>> sink.build("eg.out", 0, 1).write_batch([1, 2])
>>> sink.out
[1, 2]
"""

from abc import ABC, abstractmethod
from typing import Generic, List, Optional, Tuple, TypeVar
from zlib import adler32

X = TypeVar("X")
"""Type of the items a `Sink` consumes."""

S = TypeVar("S")
"""Type of a partition's resume state."""


class Sink(ABC, Generic[X]):  # noqa: B024
    """Base of every sink. Don't subclass it directly.

    Subclass `FixedPartitionedSink` or `DynamicSink` instead.

    >>> from rillet.outputs import Sink
    >>> from rillet.testing import TestingSink
    >>> isinstance(TestingSink([]), Sink)
    True
    """


class StatefulSinkPartition(ABC, Generic[X, S]):
    """One partition of a `FixedPartitionedSink`, with resume state.

    >>> import tempfile, pathlib
    >>> from rillet.connectors.files import FileSink
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> part = FileSink(path).build_part("eg.out", str(path), None)
    >>> part.write_batch(["a", "b"])
    >>> part.snapshot()
    4
    >>> part.close()
    """

    @abstractmethod
    def write_batch(self, values: List[X]) -> None:
        """Write some values.

        Gets the `value` part of the `(key, value)` items routed to
        this partition (see `FixedPartitionedSink.part_fn`). Batch
        boundaries are arbitrary.

        :arg values: Values to write, in order.
        """
        ...

    @abstractmethod
    def snapshot(self) -> S:
        """Return the position to resume writing at.

        The value comes back as `resume_state` of
        `FixedPartitionedSink.build_part`. It must point just after the
        last value written, so nothing is overwritten or repeated.
        Never called after `close`.

        :returns: Resume state; must be picklable.
        """
        ...

    def close(self) -> None:
        """Release resources when the dataflow finishes.

        Only called when the dataflow completes normally, not when the
        run is aborted or crashes.
        """
        return


class FixedPartitionedSink(Sink[Tuple[str, X]], Generic[X, S]):
    """A sink with a fixed set of resumable partitions.

    Consumes `(key, value)` 2-tuples; `part_fn` of the key picks the
    partition. If the partitions can seek and overwrite, this supports
    exactly-once output.

    >>> from rillet.connectors.files import DirSink
    >>> from pathlib import Path
    >>> sink = DirSink(Path("/tmp"), 3)
    >>> sink.list_parts()
    ['part_0', 'part_1', 'part_2']
    """

    @abstractmethod
    def list_parts(self) -> List[str]:
        """List the partitions this worker can write.

        Need not be all partitions; across all workers the lists are
        combined.

        :returns: Partition keys available locally.
        """
        ...

    def part_fn(self, item_key: str) -> int:
        """Pick the partition for an item's key.

        The result is taken modulo the number of partitions, indexing
        the sorted list of all partitions in the cluster. It must be
        the same on every worker and every run, so don't use Python's
        `hash`, which is salted per process. Defaults to
        `zlib.adler32` of the UTF-8 key.

        >>> from rillet.connectors.files import DirSink
        >>> from pathlib import Path
        >>> DirSink(Path("/tmp"), 3).part_fn("a")
        6422626

        :arg item_key: Key of the item about to be written.

        :returns: A stable integer hash of the key.
        """
        return adler32(item_key.encode())

    @abstractmethod
    def build_part(
        self,
        step_id: str,
        for_part: str,
        resume_state: Optional[S],
    ) -> StatefulSinkPartition[X, S]:
        """Create a partition, resuming from `resume_state` if given.

        Called once per run for each partition assigned to this
        worker. Derive all position state from `resume_state`.

        :arg step_id: ID of the output step.

        :arg for_part: The partition key; one of `list_parts`.

        :arg resume_state: What `StatefulSinkPartition.snapshot`
            returned last time, or `None` on a fresh start.

        :returns: The partition.
        """
        ...


class StatelessSinkPartition(ABC, Generic[X]):
    """One worker's partition of a `DynamicSink`; no resume state.

    >>> from rillet.outputs import StatelessSinkPartition
    >>> class Printer(StatelessSinkPartition):
    ...     def write_batch(self, items):
    ...         for item in items:
    ...             print(item)
    >>> Printer().write_batch(["hi"])
    hi
    """

    @abstractmethod
    def write_batch(self, items: List[X]) -> None:
        """Write some items. Batch boundaries are arbitrary.

        :arg items: Items to write, in order.
        """
        ...

    def close(self) -> None:
        """Release resources when the dataflow finishes.

        Only called when the dataflow completes normally, not when the
        run is aborted or crashes.
        """
        return


class DynamicSink(Sink[X]):
    """A sink that every worker writes to independently.

    Keeps no resume state, so it offers at-least-once output.

    >>> from rillet.connectors.stdio import StdOutSink
    >>> StdOutSink().build("eg.out", 0, 1).write_batch(["hello"])
    hello
    """

    @abstractmethod
    def build(
        self, step_id: str, worker_index: int, worker_count: int
    ) -> StatelessSinkPartition[X]:
        """Create this worker's partition. Called once per worker.

        :arg step_id: ID of the output step.

        :arg worker_index: This worker's index, from 0.

        :arg worker_count: How many workers there are in total.

        :returns: The partition.
        """
        ...
