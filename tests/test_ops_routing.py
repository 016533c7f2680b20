"""branch, merge, redistribute and raises."""

import pytest
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.errors import RilletRuntimeError
from rillet.testing import TestingSink, TestingSource

from conftest import chain_text, find_cause


def test_branch(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(range(7)))
    b = op.branch("even", s, lambda x: x % 2 == 0)
    assert isinstance(b, op.BranchOut)
    trues, falses = [], []
    op.output("t", b.trues, TestingSink(trues))
    op.output("f", b.falses, TestingSink(falses))
    entry_point(flow)
    assert trues == [0, 2, 4, 6]
    assert falses == [1, 3, 5]


def test_branch_predicate_must_return_bool(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    b = op.branch("br", s, lambda x: x)
    op.output("t", b.trues, TestingSink([]))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.br" in str(info.value)
    assert find_cause(info.value, TypeError) is not None
    assert "must be a `bool`" in chain_text(info.value)


def test_branch_one_side_unused(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["a", "bb", "ccc"]))
    b = op.branch("long", s, lambda x: len(x) > 1)
    out = []
    op.output("out", b.trues, TestingSink(out))
    entry_point(flow)
    assert out == ["bb", "ccc"]


def test_merge_branches_back_in_item_order(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(range(6)))
    b = op.branch("even", s, lambda x: x % 2 == 0)
    evens = op.map("tag_e", b.trues, lambda x: ("e", x))
    odds = op.map("tag_o", b.falses, lambda x: ("o", x))
    out = []
    op.output("out", op.merge("m", evens, odds), TestingSink(out))
    entry_point(flow)
    assert out == [("e", 0), ("o", 1), ("e", 2), ("o", 3), ("e", 4), ("o", 5)]


def test_merge_two_inputs(entry_point):
    flow = Dataflow("test_df")
    a = op.input("a", flow, TestingSource(["a1", "a2", "a3"]))
    b = op.input("b", flow, TestingSource(["b1", "b2"]))
    out = []
    op.output("out", op.merge("m", a, b), TestingSink(out))
    entry_point(flow)
    # Each input's own order is kept; their interleaving is not fixed.
    assert [x for x in out if x[0] == "a"] == ["a1", "a2", "a3"]
    assert [x for x in out if x[0] == "b"] == ["b1", "b2"]
    assert len(out) == 5


def test_merge_single_upstream(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1, 2]))
    out = []
    op.output("out", op.merge("m", s), TestingSink(out))
    entry_point(flow)
    assert out == [1, 2]


def test_merge_same_stream_twice_duplicates(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1, 2]))
    out = []
    op.output("out", op.merge("m", s, s), TestingSink(out))
    entry_point(flow)
    assert sorted(out) == [1, 1, 2, 2]


def test_redistribute_keeps_all_items(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(range(20), batch_size=5))
    s = op.redistribute("r", s)
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    if entry_point.ordered:
        assert out == list(range(20))
    else:
        assert sorted(out) == list(range(20))


def test_redistribute_spreads_over_workers(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(range(20), batch_size=5))
    s = op.redistribute("r", s)
    seen = []
    s = op.inspect_debug("w", s, lambda _sid, x, _epoch, worker: seen.append(worker))
    op.output("out", s, TestingSink([]))
    entry_point(flow)
    assert len(seen) == 20
    assert sorted(set(seen)) == list(range(entry_point.workers))


def test_raises_passes_when_stream_empty(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(range(5)))
    s = op.filter("none", s, lambda x: x > 100)
    op.raises("never", s)
    entry_point(flow)


def test_raises_fails_on_first_item(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["boom", "later"]))
    op.raises("never", s)
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "`raises` step 'test_df.never' got an item: 'boom'" in chain_text(info.value)
