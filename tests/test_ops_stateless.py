"""Stateless 1:1 and 1:N operators.

All data here comes from one TestingSource partition and never crosses
workers, so the exact output order holds on every entry point.
"""

import pytest
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.operators.helpers import map_dict_value
from rillet.testing import TestingSink, TestingSource


def _flow(inp, build, batch_size=1):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp, batch_size=batch_size))
    out = []
    op.output("out", build(s), TestingSink(out))
    return flow, out


@pytest.mark.parametrize("batch_size", [1, 3])
def test_map(entry_point, batch_size):
    flow, out = _flow([0, 1, 2, 3], lambda s: op.map("add_one", s, lambda x: x + 1), batch_size)
    entry_point(flow)
    assert out == [1, 2, 3, 4]


def test_map_value(entry_point):
    inp = [("a", 1), ("b", 2), ("a", 3)]
    flow, out = _flow(inp, lambda s: op.map_value("dbl", s, lambda v: v * 2))
    entry_point(flow)
    assert out == [("a", 2), ("b", 4), ("a", 6)]


def test_map_value_unpacks_any_two_item_iterable(entry_point):
    # Bytewax unpacks `k, v = item`, so a 2-char str or 2-list passes.
    inp = [("a", 1), "bc", ["d", 5]]
    flow, out = _flow(inp, lambda s: op.map_value("id", s, lambda v: v))
    entry_point(flow)
    assert out == [("a", 1), ("b", "c"), ("d", 5)]


def test_filter(entry_point):
    flow, out = _flow(list(range(10)), lambda s: op.filter("even", s, lambda x: x % 2 == 0), 4)
    entry_point(flow)
    assert out == [0, 2, 4, 6, 8]


def test_filter_value(entry_point):
    inp = [("a", 1), ("b", 20), ("c", 3), ("d", 40)]
    flow, out = _flow(inp, lambda s: op.filter_value("big", s, lambda v: v > 10))
    entry_point(flow)
    assert out == [("b", 20), ("d", 40)]


def test_filter_map(entry_point):
    inp = ["1", "x", "3", "", "5"]

    def parse(s):
        return int(s) if s.isdigit() else None

    flow, out = _flow(inp, lambda s: op.filter_map("parse", s, parse))
    entry_point(flow)
    assert out == [1, 3, 5]


def test_filter_map_keeps_falsy_non_none(entry_point):
    flow, out = _flow([0, 1, 2], lambda s: op.filter_map("fm", s, lambda x: x - 1 if x else False))
    entry_point(flow)
    assert out == [False, 0, 1]


def test_filter_map_value(entry_point):
    inp = [("a", "1"), ("b", "no"), ("c", "7")]
    flow, out = _flow(
        inp,
        lambda s: op.filter_map_value("parse", s, lambda v: int(v) if v.isdigit() else None),
    )
    entry_point(flow)
    assert out == [("a", 1), ("c", 7)]


def test_flat_map(entry_point):
    flow, out = _flow(["hello world", "", "a b c"], lambda s: op.flat_map("split", s, str.split), 2)
    entry_point(flow)
    assert out == ["hello", "world", "a", "b", "c"]


def test_flat_map_generator(entry_point):
    def gen(n):
        yield from range(n)

    flow, out = _flow([3, 0, 2], lambda s: op.flat_map("gen", s, gen))
    entry_point(flow)
    assert out == [0, 1, 2, 0, 1]


def test_flat_map_value(entry_point):
    inp = [("a", "x y"), ("b", ""), ("c", "z")]
    flow, out = _flow(inp, lambda s: op.flat_map_value("split", s, str.split))
    entry_point(flow)
    assert out == [("a", "x"), ("a", "y"), ("c", "z")]


@pytest.mark.parametrize(
    ("batch_size", "expected"),
    [
        (1, [[0], [1], [2], [3], [4]]),
        (2, [[0, 1], [2, 3], [4]]),
        (10, [[0, 1, 2, 3, 4]]),
    ],
)
def test_flat_map_batch_sees_source_batches(entry_point, batch_size, expected):
    # Each `next_batch` of the source arrives as one mapper call.
    flow, out = _flow(list(range(5)), lambda s: op.flat_map_batch("b", s, lambda xs: [list(xs)]), batch_size)
    entry_point(flow)
    assert out == expected


def test_flat_map_batch_expands(entry_point):
    flow, out = _flow([1, 2, 3], lambda s: op.flat_map_batch("b", s, lambda xs: [x * 10 for x in xs for _ in range(x)]), 3)
    entry_point(flow)
    assert out == [10, 20, 20, 30, 30, 30]


def test_flatten(entry_point):
    flow, out = _flow([[1, 2], (), (3,), range(4, 6), "ab"], lambda s: op.flatten("flat", s))
    entry_point(flow)
    assert out == [1, 2, 3, 4, 5, "a", "b"]


def test_key_on(entry_point):
    inp = [{"user": "u1", "n": 1}, {"user": "u2", "n": 2}]
    flow, out = _flow(inp, lambda s: op.key_on("k", s, lambda d: d["user"]))
    entry_point(flow)
    assert out == [("u1", {"user": "u1", "n": 1}), ("u2", {"user": "u2", "n": 2})]


def test_key_rm(entry_point):
    flow, out = _flow([("a", 1), ("b", (2, 3))], lambda s: op.key_rm("rm", s))
    entry_point(flow)
    assert out == [1, (2, 3)]


def test_key_on_then_key_rm_roundtrip(entry_point):
    flow, out = _flow(
        ["x", "yy", "zzz"],
        lambda s: op.key_rm("rm", op.key_on("k", s, lambda x: str(len(x)))),
    )
    entry_point(flow)
    assert out == ["x", "yy", "zzz"]


def test_map_dict_value(entry_point):
    inp = [{"name": "ada", "n": 1}, {"name": "bob", "n": 2}]
    flow, out = _flow(inp, lambda s: op.map("up", s, map_dict_value("name", str.upper)))
    entry_point(flow)
    assert out == [{"name": "ADA", "n": 1}, {"name": "BOB", "n": 2}]


def test_map_dict_value_mutates_and_returns_same_dict():
    d = {"a": 1, "b": 2}
    f = map_dict_value("a", lambda v: v + 10)
    res = f(d)
    assert res is d
    assert d == {"a": 11, "b": 2}


def test_then_chains_operators(entry_point):
    def build(s):
        return s.then(op.map, "dbl", lambda x: x * 2).then(op.filter, "gt2", lambda x: x > 2)

    flow, out = _flow([1, 2, 3], build)
    entry_point(flow)
    assert out == [4, 6]


def test_inspect_default_prints_step_id_and_repr(entry_point, capfd):
    flow, out = _flow(["a", 1, None], lambda s: op.inspect("peek", s))
    entry_point(flow)
    assert out == ["a", 1, None]
    captured = capfd.readouterr()
    assert captured.out == "test_df.peek: 'a'\ntest_df.peek: 1\ntest_df.peek: None\n"


def test_inspect_custom_inspector(entry_point):
    seen = []
    flow, out = _flow([1, 2], lambda s: op.inspect("peek", s, lambda step_id, x: seen.append((step_id, x))))
    entry_point(flow)
    assert out == [1, 2]
    assert seen == [("test_df.peek", 1), ("test_df.peek", 2)]


def test_inspect_debug_default_prints_worker_and_epoch(entry_point, capfd):
    flow, out = _flow(["a", "b"], lambda s: op.inspect_debug("dbg", s))
    entry_point(flow)
    assert out == ["a", "b"]
    # The single TestingSource partition is read by worker 0.
    assert capfd.readouterr().out == "test_df.dbg W0 @1: 'a'\ntest_df.dbg W0 @1: 'b'\n"


def test_inspect_debug_custom_inspector(entry_point):
    seen = []
    flow, out = _flow(
        [1, 2, 3],
        lambda s: op.inspect_debug("dbg", s, lambda sid, x, epoch, worker: seen.append((sid, x, epoch, worker))),
    )
    entry_point(flow)
    assert out == [1, 2, 3]
    assert seen == [("test_df.dbg", 1, 1, 0), ("test_df.dbg", 2, 1, 0), ("test_df.dbg", 3, 1, 0)]


def test_nested_step_ids_in_inspect_debug(entry_point):
    # `inspect` is built from `inspect_debug`; the inner inspector sees
    # the inner step id but calls the user function with the outer one.
    seen = []
    flow, _ = _flow([1], lambda s: op.inspect("peek", s, lambda sid, x: seen.append(sid)))
    entry_point(flow)
    assert seen == ["test_df.peek"]
