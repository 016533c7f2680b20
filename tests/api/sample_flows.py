"""Dataflows that use every operator, for structure comparisons.

Only `rillet` is imported, so with `peer_alias.install()` the same
code builds the flows with Bytewax 0.21.1. Nothing here runs a flow.
"""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Dict

import rillet.operators as op
from rillet.connectors.demo import RandomMetricSource
from rillet.connectors.files import CSVSource, DirSink, FileSink, FileSource
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow, Stream, operator
from rillet.operators import StatefulBatchLogic, StatefulLogic
from rillet.operators.helpers import map_dict_value
from rillet.testing import TestingSink, TestingSource


class _Keep(StatefulLogic):
    def on_item(self, value):
        return [value], StatefulLogic.RETAIN

    def snapshot(self):
        return None


class _KeepBatch(StatefulBatchLogic):
    def on_batch(self, values):
        return values, StatefulBatchLogic.RETAIN

    def snapshot(self):
        return None


@dataclass(frozen=True)
class SplitOut:
    small: Stream[int]
    large: Stream[int]


@operator
def split_and_count(step_id: str, up: Stream[int], limit: int) -> SplitOut:
    """A custom operator returning a dataclass of streams."""
    b = op.branch("branch", up, lambda x: x < limit)
    counted = op.count_final("count", b.trues, key=str)
    small = op.map("unkey", counted, lambda kv: kv[1])
    return SplitOut(small=small, large=b.falses)


@operator
def merge_named(step_id: str, **ups: Stream[int]) -> Stream[int]:
    """A custom operator taking `**kwargs` of streams."""
    return op.merge("merge", *ups.values())


@operator
def nested_twice(step_id: str, up: Stream[int]) -> Stream[int]:
    """A custom operator that calls another custom operator."""
    out = split_and_count("inner", up, 5)
    return merge_named("named", a=out.small, b=out.large)


def stateless_flow() -> Dataflow:
    flow = Dataflow("stateless")
    s = op.input("inp", flow, TestingSource(list(range(10)), batch_size=3))
    s = op.map("map", s, lambda x: x + 1)
    s = op.filter("filter", s, lambda x: x % 2 == 0)
    s = op.filter_map("filter_map", s, lambda x: x or None)
    s = op.flat_map("flat_map", s, lambda x: [x, x])
    lists = op.flat_map_batch("flat_map_batch", s, lambda xs: [xs])
    s = op.flatten("flatten", lists)
    s = op.inspect("inspect", s)
    s = op.inspect_debug("inspect_debug", s)
    s = op.redistribute("redistribute", s)
    keyed = op.key_on("key_on", s, str)
    keyed = op.map_value("map_value", keyed, lambda v: v * 2)
    keyed = op.filter_value("filter_value", keyed, lambda v: v > 0)
    keyed = op.filter_map_value("filter_map_value", keyed, lambda v: v)
    keyed = op.flat_map_value("flat_map_value", keyed, lambda v: [v])
    unkeyed = op.key_rm("key_rm", keyed)
    dicts = op.map("to_dict", unkeyed, lambda x: {"x": x})
    dicts = op.map("helper", dicts, map_dict_value("x", lambda x: x + 1))
    enriched = op.enrich_cached("enrich", dicts, lambda k: k, lambda c, d: c.get(d["x"]))
    b = op.branch("branch", enriched, lambda x: x > 3)
    merged = op.merge("merge", b.trues, b.falses, s)
    chained = merged.then(op.map, "then_map", str).then(op.filter, "then_filter", bool)
    op.raises("raises", b.falses)
    op.output("stdout", chained, StdOutSink())
    op.output("testing", chained, TestingSink([]))
    return flow


def stateful_flow() -> Dataflow:
    flow = Dataflow("stateful")
    s = op.input("inp", flow, TestingSource([("a", 1), ("b", 2)]))
    op.stateful_map("stateful_map", s, lambda st, v: (st, v))
    op.stateful_flat_map("stateful_flat_map", s, lambda st, v: (st, [v]))
    op.stateful("stateful", s, lambda _state: _Keep())
    op.stateful_batch("stateful_batch", s, lambda _state: _KeepBatch())
    op.fold_final("fold_final", s, list, lambda acc, v: acc + [v])
    op.reduce_final("reduce_final", s, lambda a, b: a + b)
    op.count_final("count_final", s, key=lambda kv: kv[0])
    op.max_final("max_final", s)
    op.min_final("min_final", s, by=lambda v: -v)
    op.collect("collect", s, timedelta(seconds=1), 10)
    return flow


def join_flow() -> Dataflow:
    flow = Dataflow("join")
    left = op.input("left", flow, TestingSource([("a", 1)]))
    right = op.input("right", flow, TestingSource([("a", 2)]))
    third = op.input("third", flow, TestingSource([("a", 3)]))
    op.join("complete", left, right)
    op.join("final", left, right, third, emit_mode="final", insert_mode="product")
    op.join("running", left, emit_mode="running", insert_mode="first")
    return flow


def connectors_flow() -> Dataflow:
    flow = Dataflow("connectors")
    here = Path(__file__).resolve().parent
    same_fs = lambda _dir: "SHARED"  # noqa: E731
    lines = op.input("file", flow, FileSource(here / "sample_flows.py", get_fs_id=same_fs))
    rows = op.input("csv", flow, CSVSource(here / "missing.csv", get_fs_id=same_fs))
    metrics = op.input("metrics", flow, RandomMetricSource("m", count=3))
    keyed = op.key_on("key", op.merge("all", lines, rows, metrics), lambda _x: "k")
    text = op.map_value("str", keyed, str)
    op.output("file_sink", text, FileSink(here / "never_written.txt"))
    op.output("dir_sink", text, DirSink(here, 2))
    return flow


def custom_flow() -> Dataflow:
    flow = Dataflow("custom")
    s = op.input("inp", flow, TestingSource(list(range(10))))
    out = split_and_count("split", s, 3)
    op.inspect("small", out.small)
    merged = merge_named("named", x=out.small, y=out.large)
    nested_twice("nested", merged)
    return flow


def build_flows() -> Dict[str, Dataflow]:
    """Every sample flow, by name."""
    return {
        "stateless": stateless_flow(),
        "stateful": stateful_flow(),
        "join": join_flow(),
        "connectors": connectors_flow(),
        "custom": custom_flow(),
    }
