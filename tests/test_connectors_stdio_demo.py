"""rillet.connectors.stdio.StdOutSink and rillet.connectors.demo."""

from datetime import datetime, timedelta, timezone

import rillet.operators as op
from rillet.connectors.demo import RandomMetricSource
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow
from rillet.testing import TestingSink, TestingSource


class _Obj:
    def __str__(self):
        return "str-of-obj"

    def __repr__(self):
        return "repr-of-obj"


def test_stdout_sink_prints_str_of_each_item(entry_point, capfd):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["plain", 42, ("k", 1), None, _Obj(), "two\nlines"], batch_size=2))
    op.output("out", s, StdOutSink())
    entry_point(flow)
    captured = capfd.readouterr()
    assert captured.out == "plain\n42\n('k', 1)\nNone\nstr-of-obj\ntwo\nlines\n"
    assert captured.err == ""


def test_random_metric_source(entry_point):
    values = iter([3.5, 1.0, 7.25])
    flow = Dataflow("test_df")
    s = op.input(
        "inp",
        flow,
        RandomMetricSource("cpu", interval=timedelta(milliseconds=20), count=3, next_random=lambda: next(values)),
    )
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == [("cpu", 3.5), ("cpu", 1.0), ("cpu", 7.25)]


def test_random_metric_source_defaults_and_partition():
    src = RandomMetricSource("mem", count=2)
    assert src.list_parts() == ["mem"]
    before = datetime.now(timezone.utc)
    part = src.build_part("s", "mem", None)
    # First awake is "now"; each batch moves it on by the interval.
    assert before <= part.next_awake() <= datetime.now(timezone.utc)
    first_awake = part.next_awake()
    (name, value), = part.next_batch()
    assert name == "mem"
    assert value in range(0, 10)
    assert part.next_awake() == first_awake + timedelta(seconds=0.7)
    part.next_batch()
    try:
        part.next_batch()
    except StopIteration:
        pass
    else:
        raise AssertionError("expected EOF after count items")


def test_random_metric_source_multiple_metrics(entry_point):
    flow = Dataflow("test_df")
    a = op.input("a", flow, RandomMetricSource("a", interval=timedelta(milliseconds=5), count=4))
    b = op.input("b", flow, RandomMetricSource("b", interval=timedelta(milliseconds=5), count=2))
    s = op.merge("m", a, b)
    s = op.count_final("count", s, lambda kv: kv[0])
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert sorted(out) == [("a", 4), ("b", 2)]
