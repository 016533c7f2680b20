"""fold_final, reduce_final, count_final, max_final, min_final.

These emit once per key at end of input, in key order on one worker.
"""

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition
from rillet.testing import TestingSink, TestingSource


def _flow(inp, build, batch_size=1):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp, batch_size=batch_size))
    out = []
    op.output("out", build(s), TestingSink(out))
    return flow, out


KEYED = [("b", 3), ("a", 5), ("b", 1), ("c", 2), ("a", 4), ("b", 7)]


def test_fold_final_list(entry_point, check_keyed):
    flow, out = _flow(KEYED, lambda s: op.fold_final("fold", s, list, lambda acc, v: acc + [v]))
    entry_point(flow)
    check_keyed(out, [("a", [5, 4]), ("b", [3, 1, 7]), ("c", [2])])


def test_fold_final_builder_called_per_key(entry_point):
    built = []

    def builder():
        built.append(1)
        return 0

    flow, out = _flow(KEYED, lambda s: op.fold_final("fold", s, builder, lambda acc, v: acc + v), 4)
    entry_point(flow)
    assert sorted(out) == [("a", 9), ("b", 11), ("c", 2)]
    assert len(built) == 3


def test_fold_final_nothing_for_empty_stream(entry_point):
    flow, out = _flow([], lambda s: op.fold_final("fold", s, int, lambda acc, v: acc + v))
    entry_point(flow)
    assert out == []


def test_reduce_final(entry_point, check_keyed):
    flow, out = _flow(KEYED, lambda s: op.reduce_final("sum", s, lambda a, b: a + b))
    entry_point(flow)
    check_keyed(out, [("a", 9), ("b", 11), ("c", 2)])


def test_reduce_final_order_of_arguments(entry_point, check_keyed):
    # reduce_final first reduces within each upstream batch, then folds
    # the per-batch results: batches [a b] [c d] [e] give this nesting.
    # (A plain item-by-item fold would give "((((ab)c)d)e)".)
    inp = [("k", "a"), ("k", "b"), ("k", "c"), ("k", "d"), ("k", "e")]
    flow, out = _flow(inp, lambda s: op.reduce_final("cat", s, lambda a, b: f"({a}{b})"), 2)
    entry_point(flow)
    check_keyed(out, [("k", "(((ab)(cd))e)")])


def test_reduce_final_single_value_not_reduced(entry_point, check_keyed):
    calls = []

    def reducer(a, b):
        calls.append((a, b))
        return a + b

    flow, out = _flow([("solo", 42)], lambda s: op.reduce_final("r", s, reducer))
    entry_point(flow)
    check_keyed(out, [("solo", 42)])
    assert calls == []


def test_count_final(entry_point, check_keyed):
    words = ["apple", "bee", "apple", "cat", "bee", "apple"]
    flow, out = _flow(words, lambda s: op.count_final("count", s, lambda w: w), 4)
    entry_point(flow)
    check_keyed(out, [("apple", 3), ("bee", 2), ("cat", 1)])


def test_count_final_by_derived_key(entry_point, check_keyed):
    flow, out = _flow(list(range(10)), lambda s: op.count_final("count", s, lambda x: "even" if x % 2 == 0 else "odd"))
    entry_point(flow)
    check_keyed(out, [("even", 5), ("odd", 5)])


def test_max_final(entry_point, check_keyed):
    flow, out = _flow(KEYED, lambda s: op.max_final("max", s))
    entry_point(flow)
    check_keyed(out, [("a", 5), ("b", 7), ("c", 2)])


def test_min_final(entry_point, check_keyed):
    flow, out = _flow(KEYED, lambda s: op.min_final("min", s))
    entry_point(flow)
    check_keyed(out, [("a", 4), ("b", 1), ("c", 2)])


def test_max_min_final_by(entry_point, check_keyed):
    inp = [("u", {"n": 3, "id": "x"}), ("u", {"n": 9, "id": "y"}), ("u", {"n": 1, "id": "z"})]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    hi, lo = [], []
    op.output("hi", op.max_final("max", s, by=lambda d: d["n"]), TestingSink(hi))
    op.output("lo", op.min_final("min", s, lambda d: d["n"]), TestingSink(lo))
    entry_point(flow)
    assert hi == [("u", {"n": 9, "id": "y"})]
    assert lo == [("u", {"n": 1, "id": "z"})]


def test_max_final_ties_keep_first(entry_point, check_keyed):
    # Python's max/min return the first of equal elements.
    inp = [("k", (1, "first")), ("k", (1, "second"))]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    hi, lo = [], []
    op.output("hi", op.max_final("max", s, by=lambda t: t[0]), TestingSink(hi))
    op.output("lo", op.min_final("min", s, by=lambda t: t[0]), TestingSink(lo))
    entry_point(flow)
    assert hi == [("k", (1, "first"))]
    assert lo == [("k", (1, "first"))]


class _SameKeysPartition(StatelessSourcePartition):
    def __init__(self, worker_index):
        self.items = [("k1", 1), ("k2", 10), ("k1", 100)]
        self.worker_index = worker_index

    def next_batch(self):
        if not self.items:
            raise StopIteration()
        k, v = self.items.pop(0)
        return [(k, v * (self.worker_index + 1))]


class _SameKeysEveryWorker(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        return _SameKeysPartition(worker_index)


def test_keys_from_all_workers_meet_in_one_state(entry_point):
    # Every worker emits the same keys; each key's state must see the
    # values from all workers.
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _SameKeysEveryWorker())
    s = op.fold_final("fold", s, list, lambda acc, v: sorted(acc + [v]))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    ws = range(1, entry_point.workers + 1)
    assert sorted(out) == [
        ("k1", sorted([1 * w for w in ws] + [100 * w for w in ws])),
        ("k2", sorted(10 * w for w in ws)),
    ]
