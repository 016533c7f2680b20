"""stateful_map, stateful_flat_map and stateful / StatefulLogic."""

from datetime import datetime, timedelta, timezone

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.operators import StatefulLogic
from rillet.testing import TestingSink, TestingSource


def _keyed_flow(inp, build, batch_size=1):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp, batch_size=batch_size))
    out = []
    op.output("out", build(s), TestingSink(out))
    return flow, out


def _running_sum(state, v):
    state = (state or 0) + v
    return state, state


def test_stateful_map_running_sum(entry_point, check_keyed):
    inp = [("a", 1), ("b", 10), ("a", 2), ("b", 20), ("a", 3)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful_map("sum", s, _running_sum))
    entry_point(flow)
    check_keyed(out, [("a", 1), ("b", 10), ("a", 3), ("b", 30), ("a", 6)])


def test_stateful_map_groups_each_batch_by_sorted_key(entry_point, check_keyed):
    # Items arriving together are processed key by key in sorted key
    # order, each key's values in arrival order.
    inp = [("b", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful_map("sum", s, _running_sum), batch_size=10)
    entry_point(flow)
    check_keyed(out, [("a", 2), ("a", 6), ("b", 1), ("b", 4), ("c", 5)])


def test_stateful_map_sorted_within_each_batch_only(entry_point, check_keyed):
    inp = [("b", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful_map("sum", s, _running_sum), batch_size=2)
    entry_point(flow)
    check_keyed(out, [("a", 2), ("b", 1), ("a", 6), ("b", 4), ("c", 5)])


def test_stateful_map_none_state_discards(entry_point, check_keyed):
    # Returning `None` as the state forgets the key; the next value
    # starts again from `None`.
    def mapper(state, v):
        if v == "reset":
            return None, ("reset", state)
        state = (state or []) + [v]
        return state, list(state)

    inp = [("a", 1), ("a", 2), ("a", "reset"), ("a", 3)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful_map("acc", s, mapper))
    entry_point(flow)
    check_keyed(out, [("a", [1]), ("a", [1, 2]), ("a", ("reset", [1, 2])), ("a", [3])])


def test_stateful_map_first_state_is_none(entry_point):
    seen = []

    def mapper(state, v):
        seen.append(state)
        return v, v

    flow, out = _keyed_flow([("k", 1), ("k", 2), ("k", 3)], lambda s: op.stateful_map("m", s, mapper))
    entry_point(flow)
    assert seen == [None, 1, 2]
    assert out == [("k", 1), ("k", 2), ("k", 3)]


def test_stateful_flat_map(entry_point, check_keyed):
    def mapper(state, v):
        state = (state or 0) + 1
        return state, [v] * state

    inp = [("a", "x"), ("b", "y"), ("a", "z")]
    flow, out = _keyed_flow(inp, lambda s: op.stateful_flat_map("rep", s, mapper))
    entry_point(flow)
    check_keyed(out, [("a", "x"), ("b", "y"), ("a", "z"), ("a", "z")])


def test_stateful_flat_map_emit_nothing(entry_point, check_keyed):
    def mapper(state, v):
        total = (state or 0) + v
        if total >= 10:
            return None, [total]
        return total, []

    inp = [("a", 4), ("a", 5), ("a", 6), ("a", 9), ("a", 1)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful_flat_map("sum10", s, mapper))
    entry_point(flow)
    check_keyed(out, [("a", 15), ("a", 10)])


class _Counter(StatefulLogic):
    """Counts values; emits on `"flush"` and discards on `"drop"`."""

    def __init__(self, resume_state, builds):
        builds.append(resume_state)
        self.items = []

    def on_item(self, value):
        if value == "drop":
            return [("dropped", list(self.items))], StatefulLogic.DISCARD
        self.items.append(value)
        return [("seen", len(self.items))], StatefulLogic.RETAIN

    def on_eof(self):
        return [("eof", list(self.items))], StatefulLogic.RETAIN

    def snapshot(self):
        return list(self.items)


def test_stateful_logic_items_discard_and_eof(entry_point, check_keyed):
    builds = []
    inp = [("a", 1), ("b", 2), ("a", "drop"), ("a", 3), ("b", 4)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful("cnt", s, lambda r: _Counter(r, builds)))
    entry_point(flow)
    check_keyed(
        out,
        [
            ("a", ("seen", 1)),
            ("b", ("seen", 1)),
            ("a", ("dropped", [1])),
            ("a", ("seen", 1)),
            ("b", ("seen", 2)),
            # on_eof for live keys, in key order.
            ("a", ("eof", [3])),
            ("b", ("eof", [2, 4])),
        ],
    )
    # a, b, then a again after the discard; never resumed.
    assert builds == [None, None, None]


def test_stateful_logic_discard_mid_batch_rebuilds(entry_point, check_keyed):
    # Within one batch, a discard on one value builds a fresh logic for
    # the next value of the same key.
    builds = []
    inp = [("a", 1), ("a", "drop"), ("a", 2), ("a", 3)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful("cnt", s, lambda r: _Counter(r, builds)), batch_size=4)
    entry_point(flow)
    check_keyed(
        out,
        [
            ("a", ("seen", 1)),
            ("a", ("dropped", [1])),
            ("a", ("seen", 1)),
            ("a", ("seen", 2)),
            ("a", ("eof", [2, 3])),
        ],
    )
    assert builds == [None, None]


class _EofDiscard(StatefulLogic):
    def __init__(self):
        self.n = 0

    def on_item(self, value):
        self.n += value
        return [], StatefulLogic.RETAIN

    def on_eof(self):
        return [self.n], StatefulLogic.DISCARD

    def snapshot(self):
        return self.n


def test_stateful_logic_emits_only_on_eof(entry_point, check_keyed):
    inp = [("x", 1), ("y", 5), ("x", 2)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful("sum", s, lambda _r: _EofDiscard()))
    entry_point(flow)
    check_keyed(out, [("x", 3), ("y", 5)])


class _Timeout(StatefulLogic):
    """Emits `("timeout", seen)` 50 ms after the first value."""

    def __init__(self):
        self.seen = []
        self.due = None

    def on_item(self, value):
        self.seen.append(value)
        if self.due is None:
            self.due = datetime.now(timezone.utc) + timedelta(milliseconds=50)
        return [], StatefulLogic.RETAIN

    def on_notify(self):
        return [("timeout", list(self.seen))], StatefulLogic.DISCARD

    def on_eof(self):
        return [("eof", list(self.seen))], StatefulLogic.DISCARD

    def notify_at(self):
        return self.due

    def snapshot(self):
        return list(self.seen)


def test_stateful_logic_notify(entry_point, check_keyed):
    pause = TestingSource.PAUSE(timedelta(seconds=1))
    inp = [("a", 1), ("a", 2), pause, ("a", 3)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful("to", s, lambda _r: _Timeout()))
    entry_point(flow)
    check_keyed(out, [("a", ("timeout", [1, 2])), ("a", ("eof", [3]))])


class _SnapLog(StatefulLogic):
    def __init__(self, log):
        self.log = log
        self.total = 0

    def on_item(self, value):
        self.total += value
        self.log.append(("item", value))
        return [self.total], StatefulLogic.RETAIN

    def snapshot(self):
        self.log.append(("snapshot", self.total))
        return self.total


def test_snapshot_once_per_live_key_at_epoch_close(entry_point):
    # Without recovery, snapshot() is still called when an epoch closes,
    # once for each key that was touched in it and is still alive.
    log = []
    inp = [("a", 1), ("a", 2), ("a", 3)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful("snap", s, lambda _r: _SnapLog(log)))
    entry_point(flow)
    assert out == [("a", 1), ("a", 3), ("a", 6)]
    assert log == [("item", 1), ("item", 2), ("item", 3), ("snapshot", 6)]


def test_snapshot_every_epoch_with_zero_interval(entry_point):
    # With a zero epoch interval every source batch is its own epoch;
    # the epoch's snapshot is taken before the next epoch's items are
    # applied, and the end-of-input call (on_eof) touches the key once
    # more in a later epoch.
    log = []
    inp = [("a", 1), ("a", 2), ("a", 3)]
    flow, out = _keyed_flow(inp, lambda s: op.stateful("snap", s, lambda _r: _SnapLog(log)))
    entry_point(flow, epoch_interval=timedelta(0))
    assert out == [("a", 1), ("a", 3), ("a", 6)]
    assert log == [
        ("item", 1),
        ("snapshot", 1),
        ("item", 2),
        ("snapshot", 3),
        ("item", 3),
        ("snapshot", 6),
        ("snapshot", 6),
    ]
