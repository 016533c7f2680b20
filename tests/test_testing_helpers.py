"""rillet.testing helpers and rillet.inputs batch helpers."""

import asyncio
import queue
from datetime import datetime, timedelta, timezone

import pytest
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import batch, batch_async, batch_getter, batch_getter_ex
from rillet.testing import (
    TestingSink,
    TestingSource,
    TimeTestingGetter,
    ffwd_iter,
    poll_next_batch,
)


def _run(entry_point, source, **kw):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, source)
    s = op.flat_map_batch("batches", s, lambda xs: [list(xs)])
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow, **kw)
    return out


def test_testing_source_default_batch_size_is_one(entry_point):
    assert _run(entry_point, TestingSource(["a", "b", "c"])) == [["a"], ["b"], ["c"]]


def test_testing_source_batch_size(entry_point):
    assert _run(entry_point, TestingSource(range(7), batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_testing_source_empty(entry_point):
    assert _run(entry_point, TestingSource([])) == []


def test_testing_source_eof_ends_input(entry_point):
    src = TestingSource([1, 2, TestingSource.EOF(), 3, 4], batch_size=5)
    # The batch ends early at the sentinel; nothing after it is read.
    assert _run(entry_point, src) == [[1, 2]]


def test_testing_source_pause_splits_batches_and_waits(entry_point):
    pause = timedelta(milliseconds=300)
    src = TestingSource([1, 2, TestingSource.PAUSE(pause), 3, 4], batch_size=5)
    stamps = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, src)
    s = op.flat_map_batch("batches", s, lambda xs: [list(xs)])
    s = op.inspect("when", s, lambda _sid, _x: stamps.append(datetime.now(timezone.utc)))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == [[1, 2], [3, 4]]
    # (Slack: the first stamp is taken a moment after the pause starts.)
    assert stamps[1] - stamps[0] >= pause - timedelta(milliseconds=100)


def test_testing_source_abort_ends_run_early(entry_point):
    if entry_point.workers > 1:
        pytest.skip("ABORT is single-worker only (documented in TestingSource.ABORT)")
    src = TestingSource([1, 2, TestingSource.ABORT(), 3], batch_size=5)
    assert _run(entry_point, src) == [[1, 2]]


def test_testing_source_abort_triggers_once_per_sentinel(entry_point):
    if entry_point.workers > 1:
        pytest.skip("ABORT is single-worker only (documented in TestingSource.ABORT)")
    abort = TestingSource.ABORT()
    inp = [1, abort, 2]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == [1]
    # Without recovery the next execution starts over; the triggered
    # ABORT is skipped now.
    entry_point(flow)
    assert out == [1, 1, 2]


def test_testing_sink_appends_across_runs(entry_point):
    out = ["pre-existing"]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["x"]))
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    entry_point(flow)
    assert out == ["pre-existing", "x", "x"]


def test_testing_source_partition_snapshot_and_resume():
    src = TestingSource(["a", "b", TestingSource.EOF(), "c", "d", "e"], batch_size=2)
    assert src.list_parts() == ["iterable"]
    part = src.build_part("s", "iterable", None)
    assert part.next_awake() is None
    assert part.next_batch() == ["a", "b"]
    assert part.snapshot() == 2
    # The EOF sentinel ends the batch early, then raises next time.
    assert part.next_batch() == []
    assert part.snapshot() == 3
    with pytest.raises(StopIteration):
        part.next_batch()
    # Resuming continues after the EOF.
    part = src.build_part("s", "iterable", 3)
    assert part.next_batch() == ["c", "d"]
    assert part.next_batch() == ["e"]
    assert part.snapshot() == 6
    with pytest.raises(StopIteration):
        part.next_batch()


def test_testing_source_partition_pause_sets_next_awake():
    src = TestingSource([1, TestingSource.PAUSE(timedelta(seconds=5)), 2], batch_size=3)
    part = src.build_part("s", "iterable", None)
    before = datetime.now(timezone.utc)
    assert part.next_batch() == [1]
    awake = part.next_awake()
    assert awake is not None
    assert before + timedelta(seconds=5) <= awake <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert part.next_batch() == [2]
    assert part.next_awake() is None


def test_time_testing_getter():
    t0 = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    clock = TimeTestingGetter(t0)
    assert clock.get() == t0
    clock.advance(timedelta(minutes=90))
    assert clock.get() == datetime(2024, 5, 1, 13, 30, tzinfo=timezone.utc)
    assert clock.now == clock.get()


def test_ffwd_iter():
    it = iter(range(10))
    ffwd_iter(it, 3)
    assert next(it) == 3
    ffwd_iter(it, 0)
    assert next(it) == 4
    ffwd_iter(it, 100)
    assert list(it) == []


def test_poll_next_batch_skips_empty_batches():
    class Part:
        def __init__(self):
            self.batches = [[], [], ["x", "y"]]

        def next_batch(self):
            return self.batches.pop(0)

    assert poll_next_batch(Part()) == ["x", "y"]


def test_poll_next_batch_times_out():
    class Never:
        def next_batch(self):
            return []

    with pytest.raises(TimeoutError):
        poll_next_batch(Never(), timeout=timedelta(milliseconds=50))


def test_batch():
    assert list(batch(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batch([], 3)) == []
    it = batch(iter("abcd"), 2)
    assert next(it) == ["a", "b"]
    assert next(it) == ["c", "d"]
    with pytest.raises(StopIteration):
        next(it)


def test_batch_getter():
    values = iter([1, 2, None, 3, 4, 5, None, None, 6])

    def getter():
        return next(values)

    assert list(batch_getter(getter, 2)) == [[1, 2], [], [3, 4], [5], [], [6]]


def test_batch_getter_custom_yield_on():
    values = iter(["a", "", "b"])
    assert list(batch_getter(lambda: next(values), 5, yield_on="")) == [["a"], ["b"]]


def test_batch_getter_ex():
    q = queue.Queue()
    for x in [1, 2, 3]:
        q.put(x)
    state = {"closed": False}

    def getter():
        if state["closed"] and q.empty():
            raise StopIteration()
        return q.get_nowait()

    it = batch_getter_ex(getter, 2)
    assert next(it) == [1, 2]
    assert next(it) == [3]
    assert next(it) == []
    q.put(4)
    state["closed"] = True
    assert next(it) == [4]
    with pytest.raises(StopIteration):
        next(it)


def test_batch_async():
    async def numbers():
        for i in range(5):
            yield i
        await asyncio.sleep(0.5)
        yield 5

    it = batch_async(numbers(), timedelta(milliseconds=100), 3)
    assert next(it) == [0, 1, 2]
    assert next(it) == [3, 4]
    # Times out while the generator sleeps: an empty batch, not a block.
    assert next(it) == []
    assert poll_next_batch(type("P", (), {"next_batch": lambda self: next(it)})()) == [5]
    assert list(it) == []
