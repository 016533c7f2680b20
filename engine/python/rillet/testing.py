"""Helpers for testing dataflows.

`TestingSource` feeds a dataflow from a Python iterable and
`TestingSink` collects its output in a list; `run_main` runs a
dataflow in the current thread:

>>> import rillet.operators as op
>>> from rillet.dataflow import Dataflow
>>> from rillet.testing import TestingSink, TestingSource, run_main
>>> flow = Dataflow("testing_eg")
>>> s = op.input("inp", flow, TestingSource([1, 2, 3]))
>>> s = op.map("double", s, lambda x: x * 2)
>>> out = []
>>> op.output("out", s, TestingSink(out))
>>> run_main(flow)
>>> out
[2, 4, 6]

Run a dataflow as a local cluster of processes with
`python -m rillet.testing my_module:flow -p 2 -w 2`.
"""

import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

from rillet import _native
from rillet.inputs import (
    AbortExecution,
    FixedPartitionedSource,
    StatefulSourcePartition,
    X,
)
from rillet.outputs import DynamicSink, StatelessSinkPartition
from rillet.run import _create_arg_parser, _EnvDefault, _main_interruptible

__all__ = [
    "TestingSink",
    "TestingSource",
    "TimeTestingGetter",
    "ffwd_iter",
    "poll_next_batch",
    "run_main",
    "cluster_main",
]

_RUNTIME_NAMES = ("run_main", "cluster_main")
# `run_main(flow, *, epoch_interval=None, recovery_config=None)` and
# `cluster_main(flow, addresses, proc_id, *, epoch_interval=None,
# recovery_config=None, worker_count_per_proc=1)` come from the
# native runtime.
_native.bind(globals(), _RUNTIME_NAMES)


def __getattr__(name: str) -> Any:
    return _native.missing_attr(__name__, _RUNTIME_NAMES, name)


@dataclass
class TimeTestingGetter:
    """A clock you move by hand, for tests of time-dependent code.

    Pass its `get` method wherever a "now" getter is expected.

    >>> from datetime import datetime, timedelta, timezone
    >>> from rillet.testing import TimeTestingGetter
    >>> clock = TimeTestingGetter(datetime(2024, 1, 1, tzinfo=timezone.utc))
    >>> clock.advance(timedelta(minutes=5))
    >>> clock.get()
    datetime.datetime(2024, 1, 1, 0, 5, tzinfo=datetime.timezone.utc)
    """

    now: datetime

    def advance(self, td: timedelta) -> None:
        """Move the clock forward.

        :arg td: How far.
        """
        self.now += td

    def get(self) -> datetime:
        """Return the clock's current time.

        :returns: The current time.
        """
        return self.now


def ffwd_iter(it: Iterator[Any], n: int) -> None:
    """Advance an iterator by `n` items, discarding them.

    >>> from rillet.testing import ffwd_iter
    >>> it = iter(range(5))
    >>> ffwd_iter(it, 3)
    >>> list(it)
    [3, 4]

    :arg it: The iterator to advance.

    :arg n: How many items to skip.
    """
    # Slicing an empty range at `n` consumes `n` items without a loop.
    next(islice(it, n, n), None)


class _IterSourcePartition(StatefulSourcePartition[X, int]):
    def __init__(
        self,
        ib: Iterable[
            Union[
                X,
                "TestingSource.EOF",
                "TestingSource.ABORT",
                "TestingSource.PAUSE",
            ]
        ],
        batch_size: int,
        resume_state: Optional[int],
    ):
        # The resume state is the number of positions consumed: items
        # emitted plus `EOF` markers passed. `ABORT` (once triggered)
        # and `PAUSE` markers are not counted, as in Bytewax.
        self._pos = 0 if resume_state is None else resume_state
        self._batch_size = batch_size
        self._awake_at: Optional[datetime] = None
        self._it = iter(ib)
        ffwd_iter(self._it, self._pos)
        self._pending_raise: Optional[BaseException] = None

    def next_batch(self) -> List[X]:
        if self._pending_raise is not None:
            raise self._pending_raise
        self._awake_at = None

        chunk: List[X] = []
        while len(chunk) < self._batch_size:
            items, marker, _exhausted = _take_batch(self._it, self._batch_size - len(chunk), _MARKERS)
            chunk.extend(items)
            if marker is None:
                break
            if isinstance(marker, TestingSource.EOF):
                # Stop now; the next call ends this partition.
                self._pending_raise = StopIteration()
                self._pos += 1
                break
            if isinstance(marker, TestingSource.ABORT):
                if marker._triggered:
                    continue
                marker._triggered = True
                self._pending_raise = AbortExecution()
                break
            # A `PAUSE`: come back after it.
            self._awake_at = datetime.now(tz=timezone.utc) + marker.for_duration
            break

        if chunk or self._pending_raise is not None or self._awake_at is not None:
            self._pos += len(chunk)
            return chunk
        raise StopIteration()

    def next_awake(self) -> Optional[datetime]:
        return self._awake_at

    def snapshot(self) -> int:
        return self._pos


class TestingSource(FixedPartitionedSource[X, int]):
    """A source that emits the items of a Python iterable. For tests.

    Only one worker reads the iterable, so give every worker the same
    one. The resume state is the position in the iterable; beware of
    generators, which can't be re-read from the start when a test
    resumes without rebuilding the dataflow.

    Special items steer the input instead of being emitted:
    `TestingSource.EOF()` ends the input (a resumed run continues
    after it), `TestingSource.ABORT()` crashes the run once, and
    `TestingSource.PAUSE(timedelta)` waits before the next item.

    >>> from rillet.testing import TestingSource
    >>> src = TestingSource([1, 2, TestingSource.EOF(), 3], batch_size=2)
    >>> part = src.build_part("eg.inp", "iterable", None)
    >>> part.next_batch()
    [1, 2]
    >>> part.next_batch()
    []
    >>> part.snapshot()
    3
    >>> part.next_batch()
    Traceback (most recent call last):
    ...
    StopIteration
    >>> src.build_part("eg.inp", "iterable", 3).next_batch()
    [3]
    """

    __test__ = False

    @dataclass
    class EOF:
        """Marks the end of the input for this run.

        A resumed run continues with the item after it.

        >>> from rillet.testing import TestingSource
        >>> TestingSource([1, TestingSource.EOF(), 2]).list_parts()
        ['iterable']
        """

        pass

    @dataclass
    class ABORT:
        """Crash the run (with `AbortExecution`) when reached.

        Each marker fires only once, so a resumed run passes over it.
        Only usable with a single worker: other workers wouldn't know
        to stop.

        >>> from rillet.testing import TestingSource
        >>> marker = TestingSource.ABORT()
        >>> part = TestingSource([marker, 1]).build_part("eg.inp", "iterable", None)
        >>> part.next_batch()
        []
        >>> marker._triggered
        True
        """

        _triggered: bool = False

    @dataclass
    class PAUSE:
        """Emit nothing for a while before the next item.

        >>> from datetime import timedelta
        >>> from rillet.testing import TestingSource
        >>> TestingSource.PAUSE(timedelta(seconds=1)).for_duration
        datetime.timedelta(seconds=1)
        """

        for_duration: timedelta

    def __init__(self, ib: Iterable[Union[X, EOF, ABORT, PAUSE]], batch_size: int = 1):
        """Set up the source.

        :arg ib: The items, possibly with `EOF`, `ABORT` and `PAUSE`
            markers.

        :arg batch_size: Most items per batch. Defaults to 1.
        """
        self._ib = ib
        self._batch_size = batch_size

    def list_parts(self):
        """There is one partition, `"iterable"`.

        :returns: `["iterable"]`.
        """
        return ["iterable"]

    def build_part(
        self, step_id: str, for_part: str, resume_state: Optional[int]
    ) -> _IterSourcePartition[X]:
        """Start reading the iterable, skipping `resume_state` positions.

        :arg step_id: ID of the input step.

        :arg for_part: Always `"iterable"`.

        :arg resume_state: Position to resume at, or `None`.

        :returns: The partition.
        """
        return _IterSourcePartition(self._ib, self._batch_size, resume_state)


class _ListSinkPartition(StatelessSinkPartition[X]):
    def __init__(self, ls: List[X]):
        self._ls = ls

    def write_batch(self, items: List[X]) -> None:
        self._ls += items


class TestingSink(DynamicSink[X]):
    """A sink that appends every item to a list. For tests.

    The list is not cleared between runs, so a resumed run appends to
    it (at-least-once output).

    >>> from rillet.testing import TestingSink
    >>> out = []
    >>> TestingSink(out).build("eg.out", 0, 1).write_batch(["a", "b"])
    >>> out
    ['a', 'b']
    """

    __test__ = False

    def __init__(self, ls: List[X]):
        """Set up the sink.

        :arg ls: The list to append to.
        """
        self._ls = ls

    def build(
        self, step_id: str, worker_index: int, worker_count: int
    ) -> _ListSinkPartition[X]:
        """Return a partition appending to the list.

        :arg step_id: ID of the output step.

        :arg worker_index: This worker's index.

        :arg worker_count: Number of workers.

        :returns: The partition.
        """
        return _ListSinkPartition(self._ls)


def poll_next_batch(part, timeout=timedelta(seconds=5)):
    """Call `part.next_batch()` until it returns a non-empty batch.

    For unit tests of partitions whose items arrive with some delay.
    This busy-waits.

    >>> from rillet.testing import TestingSource, poll_next_batch
    >>> part = TestingSource([1, 2]).build_part("eg.inp", "iterable", None)
    >>> poll_next_batch(part)
    [1]

    :arg part: A source partition (anything with `next_batch()`).

    :arg timeout: A `timedelta`: how long to keep polling. Defaults
        to 5 seconds.

    :returns: The first non-empty batch.

    :raises TimeoutError: If every batch within `timeout` was empty.
    """
    start = datetime.now(timezone.utc)
    found: Any = []
    while len(found) <= 0:
        if datetime.now(timezone.utc) - start > timeout:
            msg = (
                f"`next_batch` of {part!r} returned no items within "
                f"{timeout}; pass a longer `timeout` if the source is slow"
            )
            raise TimeoutError(msg)
        found = part.next_batch()
    return found


def _unparse_args(args: Dict[str, Any]) -> Iterable[str]:
    """Turn parsed options back into `--flag value` arguments."""
    for key, val in args.items():
        if val is None:
            continue
        yield "--" + key.replace("_", "-")
        if isinstance(val, timedelta):
            yield str(int(val.total_seconds()))
        else:
            yield str(val)


async def _run_and_check(argv: List[str]) -> None:
    proc = await asyncio.create_subprocess_exec(*argv)
    try:
        await proc.wait()
    except asyncio.CancelledError:
        proc.kill()
        raise
    if proc.returncode != 0:
        msg = (
            f"process {argv!r} exited with code {proc.returncode}; see its "
            "output above for the error"
        )
        raise RuntimeError(msg)


async def _testing_cli_main(
    import_str: str,
    processes: int,
    other_args: Dict[str, Any],
) -> None:
    """Run `import_str` as a cluster of `processes` local processes."""
    forwarded = list(_unparse_args(other_args))
    addresses = ";".join(f"localhost:{2101 + i}" for i in range(processes))
    argvs = [
        [sys.executable, "-m", "rillet.run", import_str]
        + ["-i", str(proc_id), "-a", addresses]
        + forwarded
        for proc_id in range(processes)
    ]
    tasks = [asyncio.create_task(_run_and_check(argv)) for argv in argvs]
    try:
        await asyncio.gather(*tasks)
    finally:
        # If one process failed, stop the others.
        for task in tasks:
            if not task.done():
                task.cancel()


def _parse_args():
    parser = _create_arg_parser()
    parser.prog = "python -m rillet.testing"
    scaling = parser.add_argument_group(
        "Scaling",
        "Start '-p' local processes with '-w' worker threads each; the "
        "processes talk over localhost ports from 2101 up.",
    )
    scaling.add_argument(
        "-w",
        "--workers-per-process",
        type=int,
        help="Worker threads in each process; defaults to 1",
        default=1,
        action=_EnvDefault,
        envvar="RILLET_WORKERS_PER_PROCESS",
    )
    scaling.add_argument(
        "-p",
        "--processes",
        type=int,
        help="How many local processes to start; defaults to 1",
        default=1,
        action=_EnvDefault,
        envvar="RILLET_PROCESSES",
    )
    return parser.parse_args()


if __name__ == "__main__":
    _args = vars(_parse_args())
    _import_str = _args.pop("import_str")
    _processes = _args.pop("processes")
    # Ctrl-C reaches the child processes too; each stops cleanly.
    _main_interruptible(lambda: asyncio.run(_testing_cli_main(_import_str, _processes, _args)))


_MARKERS = (TestingSource.EOF, TestingSource.ABORT, TestingSource.PAUSE)


def _py_take_batch(it: Iterator[Any], max_items: int, stop_types: tuple) -> tuple:
    """Python version of `rillet._engine.take_batch`, for when the native
    module is not built (partitions can still be polled by hand)."""
    items: List[Any] = []
    for item in it:
        if isinstance(item, stop_types):
            return items, item, False
        items.append(item)
        if len(items) >= max_items:
            return items, None, False
    return items, None, True


_engine = _native.try_load()
# The native loop is several times faster; TestingSource feeds most
# test and benchmark dataflows.
_take_batch = _engine.take_batch if _engine is not None else _py_take_batch
