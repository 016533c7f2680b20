"""collect (max_size, timeout) and join (insert and emit modes)."""

from datetime import timedelta

import pytest
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.testing import TestingSink, TestingSource

LONG = timedelta(seconds=30)


def _collect_flow(inp, timeout, max_size, batch_size=1):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp, batch_size=batch_size))
    out = []
    op.output("out", op.collect("coll", s, timeout=timeout, max_size=max_size), TestingSink(out))
    return flow, out


def test_collect_max_size(entry_point, check_keyed):
    inp = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2), ("a", 4), ("a", 5)]
    flow, out = _collect_flow(inp, LONG, 2)
    entry_point(flow)
    # Full lists as soon as they reach max_size; leftovers at EOF.
    check_keyed(out, [("a", [1, 2]), ("b", [1, 2]), ("a", [3, 4]), ("a", [5])])


def test_collect_max_size_within_one_batch(entry_point, check_keyed):
    inp = [("a", i) for i in range(7)]
    flow, out = _collect_flow(inp, LONG, 3, batch_size=7)
    entry_point(flow)
    check_keyed(out, [("a", [0, 1, 2]), ("a", [3, 4, 5]), ("a", [6])])


def test_collect_timeout(entry_point, check_keyed):
    pause = TestingSource.PAUSE(timedelta(seconds=1))
    inp = [("a", 1), ("a", 2), pause, ("a", 3)]
    flow, out = _collect_flow(inp, timedelta(milliseconds=100), 10)
    entry_point(flow)
    check_keyed(out, [("a", [1, 2]), ("a", [3])])


def test_collect_timeout_restarts_on_each_item(entry_point, check_keyed):
    # The deadline is `timeout` after the latest item, not the first.
    short = TestingSource.PAUSE(timedelta(milliseconds=100))
    long = TestingSource.PAUSE(timedelta(milliseconds=1500))
    inp = [("a", 1), short, ("a", 2), short, ("a", 3), long, ("a", 4)]
    flow, out = _collect_flow(inp, timedelta(milliseconds=600), 10)
    entry_point(flow)
    check_keyed(out, [("a", [1, 2, 3]), ("a", [4])])


# One source, one batch per item, routed to join sides by a tag, so
# items reach the join in exactly this order.
JOIN_INP = [
    ("L", "a", 1),
    ("R", "a", "x"),
    ("L", "b", 2),
    ("L", "b", 3),
    ("R", "b", "y"),
    ("L", "c", 4),
]


def _join_flow(insert_mode, emit_mode):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(JOIN_INP))
    b = op.branch("side", s, lambda t: t[0] == "L")
    left = op.map("l", b.trues, lambda t: (t[1], t[2]))
    right = op.map("r", b.falses, lambda t: (t[1], t[2]))
    out = []
    joined = op.join("j", left, right, insert_mode=insert_mode, emit_mode=emit_mode)
    op.output("out", joined, TestingSink(out))
    return flow, out


@pytest.mark.parametrize(
    ("insert_mode", "emit_mode", "expected"),
    [
        ("last", "complete", [("a", (1, "x")), ("b", (3, "y"))]),
        ("first", "complete", [("a", (1, "x")), ("b", (2, "y"))]),
        ("product", "complete", [("a", (1, "x")), ("b", (2, "y")), ("b", (3, "y"))]),
        ("last", "final", [("a", (1, "x")), ("b", (3, "y")), ("c", (4, None))]),
        ("first", "final", [("a", (1, "x")), ("b", (2, "y")), ("c", (4, None))]),
        (
            "product",
            "final",
            [("a", (1, "x")), ("b", (2, "y")), ("b", (3, "y")), ("c", (4, None))],
        ),
        (
            "last",
            "running",
            [
                ("a", (1, None)),
                ("a", (1, "x")),
                ("b", (2, None)),
                ("b", (3, None)),
                ("b", (3, "y")),
                ("c", (4, None)),
            ],
        ),
        (
            "first",
            "running",
            [
                ("a", (1, None)),
                ("a", (1, "x")),
                ("b", (2, None)),
                ("b", (2, None)),
                ("b", (2, "y")),
                ("c", (4, None)),
            ],
        ),
        (
            "product",
            "running",
            [
                ("a", (1, None)),
                ("a", (1, "x")),
                ("b", (2, None)),
                ("b", (2, None)),
                ("b", (3, None)),
                ("b", (2, "y")),
                ("b", (3, "y")),
                ("c", (4, None)),
            ],
        ),
    ],
)
def test_join_modes(entry_point, check_keyed, insert_mode, emit_mode, expected):
    flow, out = _join_flow(insert_mode, emit_mode)
    entry_point(flow)
    check_keyed(out, expected)


def test_join_defaults_are_last_and_complete(entry_point, check_keyed):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(JOIN_INP))
    b = op.branch("side", s, lambda t: t[0] == "L")
    left = op.map("l", b.trues, lambda t: (t[1], t[2]))
    right = op.map("r", b.falses, lambda t: (t[1], t[2]))
    out = []
    op.output("out", op.join("j", left, right), TestingSink(out))
    entry_point(flow)
    check_keyed(out, [("a", (1, "x")), ("b", (3, "y"))])


def test_join_complete_discards_state(entry_point, check_keyed):
    # After a complete row is emitted the key starts over.
    flow = Dataflow("test_df")
    left = op.input("l", flow, TestingSource([("k", 1), ("k", 2)]))
    right = op.input("r", flow, TestingSource([("k", "x")]))
    out = []
    op.output("out", op.join("j", left, right), TestingSink(out))
    entry_point(flow)
    # Either 1 or 2 pairs with "x" depending on arrival; exactly one row.
    assert len(out) == 1
    assert out[0] in [("k", (1, "x")), ("k", (2, "x"))]


def test_join_three_sides_from_separate_inputs(entry_point):
    flow = Dataflow("test_df")
    names = op.input("names", flow, TestingSource([("1", "ada"), ("2", "bob"), ("3", "cy")]))
    ages = op.input("ages", flow, TestingSource([("2", 41), ("1", 36)]))
    towns = op.input("towns", flow, TestingSource([("1", "oslo"), ("3", "rome"), ("2", "lima")]))
    out = []
    op.output("out", op.join("j", names, ages, towns), TestingSink(out))
    entry_point(flow)
    assert sorted(out) == [("1", ("ada", 36, "oslo")), ("2", ("bob", 41, "lima"))]


def test_join_final_three_sides_missing_values(entry_point):
    flow = Dataflow("test_df")
    a = op.input("a", flow, TestingSource([("k1", "a1"), ("k2", "a2")]))
    b = op.input("b", flow, TestingSource([("k2", "b2")]))
    c = op.input("c", flow, TestingSource([("k3", "c3")]))
    out = []
    op.output("out", op.join("j", a, b, c, emit_mode="final"), TestingSink(out))
    entry_point(flow)
    assert sorted(out) == [
        ("k1", ("a1", None, None)),
        ("k2", ("a2", "b2", None)),
        ("k3", (None, None, "c3")),
    ]


def test_join_single_side_running(entry_point, check_keyed):
    flow = Dataflow("test_df")
    a = op.input("a", flow, TestingSource([("k", 1), ("k", 2)]))
    out = []
    op.output("out", op.join("j", a, emit_mode="running"), TestingSink(out))
    entry_point(flow)
    check_keyed(out, [("k", (1,)), ("k", (2,))])


@pytest.mark.parametrize("kwargs", [{"insert_mode": "middle"}, {"emit_mode": "eventually"}])
def test_join_rejects_unknown_modes(kwargs):
    flow = Dataflow("test_df")
    a = op.input("a", flow, TestingSource([]))
    b = op.input("b", flow, TestingSource([]))
    with pytest.raises(ValueError, match="unknown join"):
        op.join("j", a, b, **kwargs)
