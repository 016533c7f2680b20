"""Pieces shared by the benchmark flows.

The flows import `rillet` only. Under Bytewax they run through
tests/peer_alias.py, which makes `import rillet.*` load `bytewax.*`, so the
very same files measure both engines.

Every flow ends in a `CountingSink`: a `DynamicSink` whose partitions add
`len(items)` of each batch to a counter, and optionally a cheap checksum. The
flow module states `EXPECTED_COUNT` (and `EXPECTED_CHECKSUM` where it has one);
bench/_time_flow.py compares them with what the sinks saw, so a benchmark
that computes a wrong result fails instead of reporting a speed.
"""

import os
import zlib
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator, List, Optional, Tuple

from rillet.inputs import DynamicSource, StatelessSourcePartition
from rillet.outputs import DynamicSink, StatelessSinkPartition

BATCH_SIZE = 1000
"""Items per source batch, for every workload."""


def item_count() -> int:
    """Number of input items, from `RILLET_BENCH_ITEMS` (default 1,000,000)."""
    return int(os.environ.get("RILLET_BENCH_ITEMS", "1000000"))


class _CountingPartition(StatelessSinkPartition):
    def __init__(self, checksum: Optional[Callable[[List], int]]) -> None:
        self.count = 0
        self.checksum = 0
        self._checksum_fn = checksum

    def write_batch(self, items: List) -> None:
        self.count += len(items)
        if self._checksum_fn is not None:
            self.checksum += self._checksum_fn(items)


_PARTITIONS: List[_CountingPartition] = []


class CountingSink(DynamicSink):
    """Counts the items written to it, on every worker of this process.

    `checksum`, if given, is called with each batch and its results are
    summed; keep it cheap, it is part of the measured work.
    """

    def __init__(self, checksum: Optional[Callable[[List], int]] = None) -> None:
        self._checksum_fn = checksum

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _CountingPartition:
        part = _CountingPartition(self._checksum_fn)
        # `list.append` is atomic, so workers on threads may share the list.
        _PARTITIONS.append(part)
        return part


def counted() -> dict:
    """What the sinks of this process saw: `{"count": n, "checksum": s}`."""
    return {
        "count": sum(p.count for p in _PARTITIONS),
        "checksum": sum(p.checksum for p in _PARTITIONS),
    }


class _RangePartition(StatelessSourcePartition):
    def __init__(self, start: int, stop: int, batch_size: int) -> None:
        self._next = start
        self._stop = stop
        self._batch_size = batch_size

    def next_batch(self) -> List[int]:
        if self._next >= self._stop:
            raise StopIteration()
        end = min(self._next + self._batch_size, self._stop)
        batch = list(range(self._next, end))
        self._next = end
        return batch


class WorkerSplitSource(DynamicSource):
    """The integers `0 .. total - 1`, split evenly across all workers.

    Worker `i` of `n` reads the contiguous slice
    `[i * total // n, (i + 1) * total // n)` in batches of `batch_size`. The
    cluster as a whole reads the same items whatever its size, which is what
    makes a 1-process vs 2-process comparison fair.
    """

    def __init__(self, total: int, batch_size: int = BATCH_SIZE) -> None:
        self._total = total
        self._batch_size = batch_size

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _RangePartition:
        start = worker_index * self._total // worker_count
        stop = (worker_index + 1) * self._total // worker_count
        return _RangePartition(start, stop, self._batch_size)


# ----------------------------------------------------------- windowing ------

EVENT_KEYS = 1000
"""Distinct keys in the windowing workloads."""

EVENT_BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)

WAIT = timedelta(seconds=5)
"""The event clocks' `wait_for_system_duration`. The watermark moves on
with the system time between a key's events, so a run that stalls for
longer than the wait minus the events' disorder (1 s) turns events late
and changes the output. With 2 s, Bytewax (0.2 s between a key's events
at its speed) lost that race on a loaded 2-core machine and the engines'
digests differed; 5 s leaves room for a 4 s stall."""


def event_time(i: int) -> datetime:
    """Timestamp of event `i`: 1 ms apart, up to 1 s out of order, and a
    20 s quiet gap every 50,000 events (so sessions open and close)."""
    jitter_ms = (i * 7919) % 2000 - 1000
    gap_ms = (i // 50_000) * 20_000
    return EVENT_BASE + timedelta(milliseconds=i + jitter_ms + gap_ms)


def keyed_events(n: int) -> Iterator[Tuple[str, Tuple[datetime, int]]]:
    """`(key, (timestamp, value))` events over `EVENT_KEYS` keys."""
    for i in range(n):
        yield (str(i % EVENT_KEYS), (event_time(i), i % 100))


def window_digest(items: List) -> int:
    """An order-independent digest of window output records, the same for
    equal outputs on both engines (repr is deterministic for these types)."""
    return sum(zlib.crc32(repr(item).encode()) for item in items)
