"""Sink interfaces: partitioned routing, lazy building, lifecycle."""

from datetime import timedelta
from zlib import adler32

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.outputs import (
    DynamicSink,
    FixedPartitionedSink,
    StatefulSinkPartition,
    StatelessSinkPartition,
)
from rillet.testing import TestingSource


class _LogPartition(StatefulSinkPartition):
    def __init__(self, log, part):
        self.log = log
        self.part = part
        self.written = 0
        self.closed = False

    def write_batch(self, values):
        assert not self.closed
        self.log.append(("write", self.part, list(values)))
        self.written += len(values)

    def snapshot(self):
        assert not self.closed, "snapshot after close"
        self.log.append(("snapshot", self.part))
        return self.written

    def close(self):
        self.closed = True
        self.log.append(("close", self.part))


class _Parted(FixedPartitionedSink):
    def __init__(self, log, parts, route):
        self.log = log
        self.parts = parts
        self.route = route

    def list_parts(self):
        return list(self.parts)

    def part_fn(self, item_key):
        return self.route[item_key]

    def build_part(self, step_id, for_part, resume_state):
        self.log.append(("build", step_id, for_part, resume_state))
        return _LogPartition(self.log, for_part)


def _written(log, part):
    return [v for e in log if e[0] == "write" and e[1] == part for v in e[2]]


def test_partitioned_sink_routes_values_by_part_fn(entry_point):
    log = []
    # Index = part_fn(key) modulo the number of partitions.
    route = {"a": 0, "b": 4, "c": 2, "d": 7}
    inp = [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("a", 5), ("c", 6)]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp, batch_size=2))
    op.output("out", s, _Parted(log, ["s0", "s1", "s2"], route))
    entry_point(flow)
    # Partitions get bare values, keys stripped.
    assert _written(log, "s0") == [1, 5]
    assert _written(log, "s1") == [2, 4]
    assert _written(log, "s2") == [3, 6]


def test_partitioned_sink_builds_lazily_and_closes_built_parts(entry_point):
    log = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("x", 1), ("x", 2)]))
    op.output("out", s, _Parted(log, ["s0", "s1", "s2"], {"x": 1}))
    entry_point(flow)
    # Only the partition that received items is built (once, no resume
    # state) and closed; snapshot comes before close.
    assert [e for e in log if e[0] == "build"] == [("build", "test_df.out", "s1", None)]
    assert _written(log, "s1") == [1, 2]
    events = [e[0] for e in log if e[0] != "build"]
    assert events[-2:] == ["snapshot", "close"]
    assert events.count("close") == 1
    assert {e[1] for e in log if e[0] in ("write", "snapshot", "close")} == {"s1"}


def test_partitioned_sink_snapshots_each_epoch(entry_point):
    log = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("x", 1), ("x", 2), ("x", 3)]))
    op.output("out", s, _Parted(log, ["only"], {"x": 0}))
    entry_point(flow, epoch_interval=timedelta(0))
    assert [e for e in log if e[0] != "build"] == [
        ("write", "only", [1]),
        ("snapshot", "only"),
        ("write", "only", [2]),
        ("snapshot", "only"),
        ("write", "only", [3]),
        ("snapshot", "only"),
        ("close", "only"),
    ]


def test_default_part_fn_is_adler32():
    class Sink(FixedPartitionedSink):
        def list_parts(self):
            return ["a"]

        def build_part(self, step_id, for_part, resume_state):
            raise AssertionError

    assert Sink().part_fn("hello") == adler32(b"hello")
    assert Sink().part_fn("") == 1


class _StatelessLog(StatelessSinkPartition):
    def __init__(self, log, worker):
        self.log = log
        self.worker = worker

    def write_batch(self, items):
        self.log.append(("write", self.worker, list(items)))

    def close(self):
        self.log.append(("close", self.worker))


class _Dyn(DynamicSink):
    def __init__(self, log):
        self.log = log

    def build(self, step_id, worker_index, worker_count):
        self.log.append(("build", step_id, worker_index, worker_count))
        return _StatelessLog(self.log, worker_index)


def test_dynamic_sink_one_partition_per_worker(entry_point):
    log = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(list(range(6)), batch_size=3))
    op.output("out", s, _Dyn(log))
    entry_point(flow)
    w = entry_point.workers
    assert sorted(e for e in log if e[0] == "build") == [("build", "test_df.out", i, w) for i in range(w)]
    assert sorted(e for e in log if e[0] == "close") == [("close", i) for i in range(w)]
    # Items are written on the worker that holds them, in batches as
    # they arrive from upstream.
    writes = [e for e in log if e[0] == "write"]
    assert [e[2] for e in writes] == [[0, 1, 2], [3, 4, 5]]


def test_output_returns_none():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    assert op.output("out", s, _Dyn([])) is None
