"""Source interfaces: partition lifecycle, dynamic sources, polling,
next_awake timing, abort and backpressure."""

import time
from datetime import datetime, timedelta, timezone

import pytest
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import (
    AbortExecution,
    DynamicSource,
    FixedPartitionedSource,
    SimplePollingSource,
    StatefulSourcePartition,
    StatelessSourcePartition,
)
from rillet.outputs import DynamicSink, StatelessSinkPartition
from rillet.testing import TestingSink


def _utcnow():
    return datetime.now(timezone.utc)


class _ListPartition(StatefulSourcePartition):
    def __init__(self, log, part, items, batch_size, resume_state):
        self.log = log
        self.part = part
        self.items = items
        self.batch_size = batch_size
        self.pos = 0 if resume_state is None else resume_state
        self.eof = False

    def next_batch(self):
        assert not self.eof, "next_batch called after StopIteration"
        self.log.append(("next_batch", self.part))
        if self.pos >= len(self.items):
            self.eof = True
            raise StopIteration()
        batch = self.items[self.pos : self.pos + self.batch_size]
        self.pos += len(batch)
        return batch

    def snapshot(self):
        return self.pos

    def close(self):
        self.log.append(("close", self.part))


class _ListSource(FixedPartitionedSource):
    def __init__(self, parts, log, batch_size=2):
        self.parts = parts
        self.log = log
        self.batch_size = batch_size

    def list_parts(self):
        return list(self.parts)

    def build_part(self, step_id, for_part, resume_state):
        self.log.append(("build_part", step_id, for_part, resume_state))
        return _ListPartition(self.log, for_part, self.parts[for_part], self.batch_size, resume_state)


def test_fixed_partitioned_source_lifecycle(entry_point):
    log = []
    parts = {"p1": ["a", "b", "c"], "p2": ["d"], "p3": []}
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _ListSource(parts, log))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)

    # Each partition is read by exactly one worker, in its own order.
    assert [x for x in out if x in "abc"] == ["a", "b", "c"]
    assert sorted(out) == ["a", "b", "c", "d"]
    builds = sorted(e for e in log if e[0] == "build_part")
    assert builds == [
        ("build_part", "test_df.inp", "p1", None),
        ("build_part", "test_df.inp", "p2", None),
        ("build_part", "test_df.inp", "p3", None),
    ]
    for part, n_batches in [("p1", 2), ("p2", 1), ("p3", 0)]:
        events = [e[0] for e in log if e[0] != "build_part" and e[1] == part]
        # Batches, then the StopIteration call, then close exactly once.
        assert events == ["next_batch"] * (n_batches + 1) + ["close"]


def test_fixed_partitioned_source_batches_pass_through(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _ListSource({"only": list(range(7))}, [], batch_size=3))
    s = op.flat_map_batch("batches", s, lambda xs: [list(xs)])
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == [[0, 1, 2], [3, 4, 5], [6]]


def test_partitions_spread_over_workers(entry_point):
    parts = {f"p{i}": [f"p{i}"] for i in range(8)}
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _ListSource(parts, []))
    seen = {}
    s = op.inspect_debug("who", s, lambda _sid, x, _e, worker: seen.setdefault(x, worker))
    op.output("out", s, TestingSink([]))
    entry_point(flow)
    assert sorted(seen) == sorted(parts)
    assert set(seen.values()) == set(range(entry_point.workers))


class _DynPartition(StatelessSourcePartition):
    def __init__(self, worker_index, worker_count, n, log):
        self.items = [f"w{worker_index}-{i}" for i in range(n)]
        self.log = log
        self.worker_index = worker_index

    def next_batch(self):
        if not self.items:
            raise StopIteration()
        return [self.items.pop(0)]

    def close(self):
        self.log.append(("close", self.worker_index))


class _DynSource(DynamicSource):
    def __init__(self, n, log):
        self.n = n
        self.log = log

    def build(self, step_id, worker_index, worker_count):
        self.log.append(("build", step_id, worker_index, worker_count))
        return _DynPartition(worker_index, worker_count, self.n, self.log)


def test_dynamic_source_one_partition_per_worker(entry_point):
    log = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _DynSource(3, log))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    w = entry_point.workers
    assert sorted(e for e in log if e[0] == "build") == [("build", "test_df.inp", i, w) for i in range(w)]
    assert sorted(e for e in log if e[0] == "close") == [("close", i) for i in range(w)]
    for i in range(w):
        assert [x for x in out if x.startswith(f"w{i}-")] == [f"w{i}-0", f"w{i}-1", f"w{i}-2"]
    assert len(out) == 3 * w


class _Poller(SimplePollingSource):
    def __init__(self, values, interval, align_to=None, calls=None):
        super().__init__(interval, align_to)
        self.values = list(values)
        self.calls = calls if calls is not None else []

    def next_item(self):
        self.calls.append(_utcnow())
        if not self.values:
            raise StopIteration()
        v = self.values.pop(0)
        if isinstance(v, timedelta):
            raise SimplePollingSource.Retry(v)
        return v


def test_simple_polling_source_interval_none_and_eof(entry_point):
    calls = []
    interval = timedelta(milliseconds=100)
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _Poller(["a", None, "b"], interval, calls=calls))
    out = []
    op.output("out", s, TestingSink(out))
    started = _utcnow()
    entry_point(flow)
    # `None` emits nothing; StopIteration from next_item ends the input.
    assert out == ["a", "b"]
    assert len(calls) == 4
    # Awake times are build time + k * interval (anchored, so one late
    # call does not delay the rest).
    for k, called in enumerate(calls):
        assert called >= started + k * interval, (k, called - started)


def test_simple_polling_source_retry(entry_point):
    calls = []
    interval = timedelta(seconds=1)
    retry = timedelta(milliseconds=50)
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _Poller([retry, "x"], interval, calls=calls))
    out = []
    op.output("out", s, TestingSink(out))
    started = _utcnow()
    entry_point(flow)
    assert out == ["x"]
    assert len(calls) == 3
    # Awake times are anchored at build time: Retry moves the next one
    # by its timeout (50 ms instead of 1 s); after "x" the next one is a
    # full interval later.
    assert started + retry <= calls[1] < started + timedelta(milliseconds=900)
    assert calls[2] >= started + retry + interval


def test_simple_polling_source_align_to(entry_point):
    calls = []
    interval = timedelta(milliseconds=400)
    now = _utcnow()
    align_to = now - timedelta(milliseconds=100)
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _Poller(["a", "b"], interval, align_to=align_to, calls=calls))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == ["a", "b"]
    # Awake times are align_to + k * interval: the first one is at
    # least align_to + interval.
    assert calls[0] >= align_to + interval - timedelta(milliseconds=2)
    assert calls[1] >= align_to + 2 * interval - timedelta(milliseconds=2)


class _AwakePartition(StatefulSourcePartition):
    """Asks to be woken `delay` after each batch; logs call times."""

    def __init__(self, n, delay, calls, first_awake):
        self.n = n
        self.delay = delay
        self.calls = calls
        self.awake = first_awake
        self.i = 0

    def next_batch(self):
        self.calls.append((_utcnow(), self.awake))
        if self.i >= self.n:
            raise StopIteration()
        self.i += 1
        self.awake = _utcnow() + self.delay
        return [self.i]

    def next_awake(self):
        return self.awake

    def snapshot(self):
        return self.i


class _AwakeSource(FixedPartitionedSource):
    def __init__(self, n, delay, calls, initial_delay):
        self.args = (n, delay, calls)
        self.initial_delay = initial_delay

    def list_parts(self):
        return ["one"]

    def build_part(self, step_id, for_part, resume_state):
        n, delay, calls = self.args
        return _AwakePartition(n, delay, calls, _utcnow() + self.initial_delay)


def test_next_awake_is_respected(entry_point):
    calls = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _AwakeSource(3, timedelta(milliseconds=150), calls, timedelta(milliseconds=300)))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == [1, 2, 3]
    assert len(calls) == 4
    # Never called before the awake time it last reported (the first
    # one, reported right after build, included).
    for called_at, awake in calls:
        assert called_at >= awake


def test_next_awake_none_polls_again_promptly(entry_point):
    # An always-empty partition is polled repeatedly (1 ms back-off),
    # not parked.
    class Part(StatelessSourcePartition):
        def __init__(self, worker_index):
            self.polls = 0
            self.worker_index = worker_index

        def next_batch(self):
            if self.worker_index != 0:
                raise StopIteration()
            self.polls += 1
            if self.polls >= 50:
                raise StopIteration()
            return []

    class Src(DynamicSource):
        def build(self, step_id, worker_index, worker_count):
            return Part(worker_index)

    flow = Dataflow("test_df")
    s = op.input("inp", flow, Src())
    out = []
    op.output("out", s, TestingSink(out))
    started = time.monotonic()
    entry_point(flow)
    assert out == []
    assert time.monotonic() - started < 5


class _AbortingPartition(StatefulSourcePartition):
    def __init__(self):
        self.i = 0

    def next_batch(self):
        self.i += 1
        if self.i == 3:
            raise AbortExecution()
        return [self.i]

    def snapshot(self):
        return self.i


class _AbortingSource(FixedPartitionedSource):
    def list_parts(self):
        return ["one"]

    def build_part(self, step_id, for_part, resume_state):
        return _AbortingPartition()


def test_abort_execution_stops_run_without_error(entry_point):
    if entry_point.workers > 1:
        pytest.skip("abort is single-worker only: Bytewax documents that other workers never learn of it")
    assert issubclass(AbortExecution, RuntimeError)
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _AbortingSource())
    out = []
    op.output("out", s, TestingSink(out))
    # The run ends (returns, no exception) with what was emitted before.
    entry_point(flow)
    assert out == [1, 2]


class _SlowSinkPartition(StatelessSinkPartition):
    def __init__(self, log):
        self.log = log

    def write_batch(self, items):
        time.sleep(0.005)
        for x in items:
            self.log.append(("write", x))


class _SlowSink(DynamicSink):
    def __init__(self, log):
        self.log = log

    def build(self, step_id, worker_index, worker_count):
        return _SlowSinkPartition(self.log)


class _CountingPartition(StatefulSourcePartition):
    def __init__(self, log, n):
        self.log = log
        self.n = n
        self.i = 0

    def next_batch(self):
        if self.i >= self.n:
            raise StopIteration()
        self.i += 1
        self.log.append(("read", self.i))
        return [self.i]

    def snapshot(self):
        return self.i


class _CountingSource(FixedPartitionedSource):
    def __init__(self, log, n):
        self.log = log
        self.n = n

    def list_parts(self):
        return ["one"]

    def build_part(self, step_id, for_part, resume_state):
        return _CountingPartition(self.log, self.n)


def test_backpressure_input_waits_for_old_epochs(entry_point):
    # With a zero epoch interval every batch is its own epoch. The input
    # may not start epoch e + 1 while epoch e - 1 is unfinished, so by
    # the time item x is read, every item up to x - 2 has been written.
    log = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _CountingSource(log, 30))
    s = op.redistribute("spread", s)
    op.output("out", s, _SlowSink(log))
    entry_point(flow, epoch_interval=timedelta(0))
    written = set()
    for event, x in log:
        if event == "write":
            written.add(x)
        else:
            missing = [y for y in range(1, x - 1) if y not in written]
            assert missing == [], f"read {x} while {missing} unwritten"
    assert written == set(range(1, 31))


class _SnapPartition(StatefulSourcePartition):
    def __init__(self, log, n):
        self.log = log
        self.n = n
        self.i = 0

    def next_batch(self):
        if self.i >= self.n:
            self.log.append("eof")
            raise StopIteration()
        self.i += 1
        self.log.append(f"batch{self.i}")
        return [self.i]

    def snapshot(self):
        self.log.append(f"snap{self.i}")
        return self.i

    def close(self):
        self.log.append("close")


class _SnapSource(FixedPartitionedSource):
    def __init__(self, log):
        self.log = log

    def list_parts(self):
        return ["one"]

    def build_part(self, step_id, for_part, resume_state):
        return _SnapPartition(self.log, 3)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (None, ["batch1", "batch2", "batch3", "eof", "snap3", "close"]),
        (
            timedelta(0),
            ["batch1", "snap1", "batch2", "snap2", "batch3", "snap3", "eof", "snap3", "close"],
        ),
    ],
    ids=["default", "zero"],
)
def test_source_snapshot_at_each_epoch_end_and_before_close(entry_point, interval, expected):
    # Even without recovery the engine snapshots each partition when an
    # epoch ends, and once more at EOF right before close().
    log = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _SnapSource(log))
    op.output("out", s, TestingSink([]))
    kw = {} if interval is None else {"epoch_interval": interval}
    entry_point(flow, **kw)
    assert log == expected
