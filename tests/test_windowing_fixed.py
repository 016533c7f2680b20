"""Tumbling and sliding windows: placement, lateness, ordering, EOF.

Every expected output here is Bytewax 0.21.1's (run with
RILLET_TEST_PEER=bytewax).
"""

from typing import List

import pytest

import rillet.operators as op
import rillet.operators.windowing as win
from conftest import per_key
from rillet.dataflow import Dataflow
from rillet.testing import TimeTestingGetter
from windowing_support import (
    T0,
    LiveCounter,
    LogSink,
    PhasedSource,
    at,
    event_clock,
    labels_fold,
    meta,
    run_windowed,
    secs,
)


def tumbling(length=10, align=0):
    return win.TumblingWindower(length=secs(length), align_to=at(align))


def sliding(length, offset, align=0):
    return win.SlidingWindower(length=secs(length), offset=secs(offset), align_to=at(align))


def test_tumbling_assigns_windows_and_reports_late(entry_point, check_keyed):
    items = [
        ("a", ("a1", 1)),
        ("a", ("a2", 4)),
        ("a", ("a3", 12)),
        ("a", ("a4", 3)),  # window 0 is closed: late
        ("a", ("a5", 25)),
    ]
    down, late, metas = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(), tumbling())
    )
    check_keyed(down, [("a", (0, ["a1", "a2"])), ("a", (1, ["a3"])), ("a", (2, ["a5"]))])
    assert late == [("a", (0, ("a4", 3)))]
    assert metas == [("a", (0, meta(0, 10))), ("a", (1, meta(10, 20))), ("a", (2, meta(20, 30)))]


def test_window_close_time_is_exclusive(entry_point):
    items = [("a", ("start", 0)), ("a", ("edge", 10)), ("a", ("end", 19.999))]
    down, late, _ = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(), tumbling())
    )
    assert down == [("a", (0, ["start"])), ("a", (1, ["edge", "end"]))]
    assert late == []


def test_out_of_order_within_wait_is_ordered_by_timestamp(entry_point):
    items = [
        ("b", ("b1", 8)),  # watermark 3
        ("b", ("b2", 3)),  # == watermark: on time
        ("b", ("b3", 1)),  # before the watermark: late
        ("b", ("b4", 12)),  # watermark 7
        ("b", ("b5", 9)),  # on time, window 0
        ("b", ("b6", 16)),  # watermark 11: window 0 closes
        ("b", ("b7", 6)),  # late
    ]
    down, late, metas = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(wait=5), tumbling())
    )
    assert down == [("b", (0, ["b2", "b1", "b5"])), ("b", (1, ["b4", "b6"]))]
    assert late == [("b", (0, ("b3", 1))), ("b", (0, ("b7", 6)))]
    assert metas == [("b", (0, meta(0, 10))), ("b", (1, meta(10, 20)))]


def test_unordered_keeps_arrival_order(entry_point):
    items = [
        ("b", ("b1", 8)),
        ("b", ("b2", 3)),
        ("b", ("b3", 1)),
        ("b", ("b4", 12)),
        ("b", ("b5", 9)),
        ("b", ("b6", 16)),
    ]
    down, late, _ = run_windowed(
        entry_point,
        items,
        lambda s: labels_fold("win", s, event_clock(wait=5), tumbling(), ordered=False),
    )
    assert down == [("b", (0, ["b1", "b2", "b5"])), ("b", (1, ["b4", "b6"]))]
    assert late == [("b", (0, ("b3", 1)))]


def test_eof_flushes_every_open_window(entry_point):
    # The watermark waits an hour, so nothing closes before EOF; then
    # every window closes, in order.
    items = [("c", ("c1", 25)), ("c", ("c2", 2)), ("c", ("c3", 14)), ("c", ("c4", 5))]
    down, late, metas = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(wait=3600), tumbling())
    )
    assert down == [("c", (0, ["c2", "c4"])), ("c", (1, ["c3"])), ("c", (2, ["c1"]))]
    assert late == []
    assert [m for _k, (_id, m) in metas] == [meta(0, 10), meta(10, 20), meta(20, 30)]


def test_alignment_after_the_items_gives_negative_ids(entry_point):
    items = [("a", ("x", 5)), ("a", ("y", 15)), ("a", ("z", 100))]
    down, _, metas = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(), tumbling(align=100))
    )
    assert down == [("a", (-10, ["x"])), ("a", (-9, ["y"])), ("a", (0, ["z"]))]
    assert metas[0] == ("a", (-10, meta(0, 10)))


def test_alignment_long_before_the_first_item(entry_point):
    # Aligned to a day before: window IDs count from there.
    items = [("a", ("x", 5)), ("a", ("y", 7))]
    down, _, metas = run_windowed(
        entry_point,
        items,
        lambda s: labels_fold("win", s, event_clock(), tumbling(length=60, align=-86400)),
    )
    assert down == [("a", (1440, ["x", "y"]))]
    assert metas == [("a", (1440, meta(0, 60)))]


def test_sliding_offset_smaller_than_length(entry_point):
    items = [("a", ("p", 0)), ("a", ("q", 7)), ("a", ("r", 10)), ("a", ("s", 12))]
    down, _, metas = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(wait=100), sliding(10, 5))
    )
    assert down == [
        ("a", (-1, ["p"])),
        ("a", (0, ["p", "q"])),
        ("a", (1, ["q", "r", "s"])),
        ("a", (2, ["r", "s"])),
    ]
    assert [m for _k, (_id, m) in metas] == [meta(-5, 5), meta(0, 10), meta(5, 15), meta(10, 20)]


def test_sliding_offset_not_dividing_length(entry_point):
    items = [("a", ("p", 9))]
    down, _, metas = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(), sliding(10, 4))
    )
    assert down == [("a", (0, ["p"])), ("a", (1, ["p"])), ("a", (2, ["p"]))]
    assert [m for _k, (_id, m) in metas] == [meta(0, 10), meta(4, 14), meta(8, 18)]


def test_sliding_late_item_reports_every_window_it_missed(entry_point):
    items = [("a", ("p", 30)), ("a", ("late", 7))]
    _, late, _ = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(), sliding(10, 5))
    )
    assert late == [("a", (0, ("late", 7))), ("a", (1, ("late", 7)))]


def test_sliding_offset_equal_to_length_is_tumbling(entry_point):
    items = [("a", ("p", 1)), ("a", ("q", 11)), ("a", ("r", 3)), ("a", ("s", 29))]

    def both(windower):
        return run_windowed(
            entry_point, items, lambda s: labels_fold("win", s, event_clock(), windower)
        )

    assert both(sliding(10, 10)) == both(tumbling(10))
    down, late, _ = both(sliding(10, 10))
    assert down == [("a", (0, ["p"])), ("a", (1, ["q"])), ("a", (2, ["s"]))]
    assert late == [("a", (0, ("r", 3)))]


def test_sliding_offset_larger_than_length_is_refused():
    with pytest.raises(ValueError):
        win.SlidingWindower(length=secs(5), offset=secs(10), align_to=T0)


def test_many_keys_on_several_workers(entry_point, check_keyed):
    items = []
    expected_down = []
    for k in "abcdefgh":
        items += [(k, (f"{k}1", 1)), (k, (f"{k}2", 11))]
    for k in "abcdefgh":
        items.append((k, (f"{k}3", 2)))  # late
        expected_down += [(k, (0, [f"{k}1"])), (k, (1, [f"{k}2"]))]
    down, late, metas = run_windowed(
        entry_point, items, lambda s: labels_fold("win", s, event_clock(), tumbling()), 3
    )
    assert per_key(down) == per_key(expected_down)
    assert sorted(late) == sorted((k, (0, (f"{k}3", 2))) for k in "abcdefgh")
    assert sorted(metas, key=repr) == sorted(
        [(k, (0, meta(0, 10))) for k in "abcdefgh"] + [(k, (1, meta(10, 20))) for k in "abcdefgh"],
        key=repr,
    )
    if entry_point.ordered:
        check_keyed(down, sorted(expected_down, key=lambda kv: (kv[1][0], kv[0])))


class CountingTumblingWindower(win.TumblingWindower):
    """A `TumblingWindower` whose per-key logics are counted while alive."""

    def __init__(self, length, align_to, counter):
        super().__init__(length, align_to)
        self.counter = counter

    def build(self, resume_state):
        return self.counter.track(super().build(resume_state))


def test_closed_windows_leave_no_state_behind(entry_point):
    # Once a key's windows have closed (here: while the input is idle
    # and the system time moves on), its windowing state is dropped; a
    # returning key gets new state.
    keys = [f"k{i}" for i in range(100)]
    getter = TimeTestingGetter(at(0))
    counter = LiveCounter()
    log: List = []

    def done(phase):
        want = len(keys) if phase == 0 else len(keys) + 1
        results = sum(1 for x in log if isinstance(x, tuple))
        return results >= want and counter.all_dropped()

    phases = [
        [(k, ("a", 1)) for k in keys] + [(k, ("b", 3)) for k in keys],
        [("k0", ("back", 25))],
    ]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, PhasedSource(phases, getter, done, log))
    clock = win.EventClock(
        lambda v: at(v[1]), wait_for_system_duration=secs(1), now_getter=getter.get
    )
    out = labels_fold("win", s, clock, CountingTumblingWindower(secs(10), at(0), counter))
    op.output("down", out.down, LogSink(log))
    entry_point(flow)

    assert log.index("phase 0 done") == len(keys)
    assert sorted(log[: len(keys)]) == sorted((k, (0, ["a", "b"])) for k in keys)
    assert log[len(keys) + 1 :] == [("k0", (2, ["back"])), "phase 1 done", "source EOF"]
    assert counter.built == len(keys) + 1
    assert counter.live == 0
