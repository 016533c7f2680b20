"""The windowing operators: window, fold/collect/reduce/count/max/min,
join_window; clocks (system time, idle watermark advance); step
nesting; errors.

Expected outputs are Bytewax 0.21.1's (RILLET_TEST_PEER=bytewax),
except the `rillet_only` message checks.
"""

from datetime import datetime, timedelta, timezone
from typing import List

import pytest

import rillet.operators as op
import rillet.operators.windowing as win
from conftest import chain_text
from rillet.dataflow import Dataflow
from rillet.errors import RilletRuntimeError
from rillet.testing import TestingSink, TestingSource, TimeTestingGetter
from windowing_support import (
    T0,
    LogSink,
    PhasedSource,
    at,
    event_clock,
    labels_fold,
    meta,
    run_windowed,
    secs,
)

TEN = win.TumblingWindower(length=secs(10), align_to=T0)
GAP = win.SessionWindower(gap=secs(10))


class Tracing(win.WindowLogic):
    """Emits what happens to it."""

    def __init__(self, seen):
        self.seen = seen

    def on_value(self, value):
        self.seen.append(value[0])
        return [("value", value[0])]

    def on_merge(self, original):
        self.seen.extend(original.seen)
        return [("merge", len(original.seen))]

    def on_close(self):
        return [("close", list(self.seen))]

    def snapshot(self):
        return list(self.seen)


def test_window_calls_the_logic(entry_point):
    items = [("k", ("p", 0)), ("k", ("q", 20)), ("k", ("r", 10))]
    down, late, metas = run_windowed(
        entry_point,
        items,
        lambda s: win.window(
            "win", s, event_clock(wait=100), GAP, lambda state: Tracing(state or []), ordered=False
        ),
    )
    assert down == [
        ("k", (0, ("value", "p"))),
        ("k", (1, ("value", "q"))),
        ("k", (0, ("value", "r"))),
        ("k", (0, ("merge", 1))),
        ("k", (0, ("close", ["p", "r", "q"]))),
    ]
    assert late == []
    assert metas == [("k", (0, meta(0, 20, merged={1})))]


def test_collect_window_list_in_timestamp_order(entry_point):
    items = [("k", ("b", 5)), ("k", ("a", 2)), ("k", ("c", 14))]
    down, _, _ = run_windowed(
        entry_point, items, lambda s: win.collect_window("win", s, event_clock(wait=5), TEN)
    )
    assert down == [("k", (0, [("a", 2), ("b", 5)])), ("k", (1, [("c", 14)]))]


def test_collect_window_unordered(entry_point):
    items = [("k", ("b", 5)), ("k", ("a", 2)), ("k", ("c", 14))]
    down, _, _ = run_windowed(
        entry_point,
        items,
        lambda s: win.collect_window("win", s, event_clock(wait=5), TEN, ordered=False),
    )
    assert down == [("k", (0, [("b", 5), ("a", 2)])), ("k", (1, [("c", 14)]))]


def test_collect_window_set_and_dict(entry_point):
    items = [("k", ("x", 1)), ("k", ("y", 2)), ("k", ("x", 3)), ("k", ("z", 12))]
    down, _, _ = run_windowed(
        entry_point, items, lambda s: win.collect_window("win", s, event_clock(), TEN, into=set)
    )
    assert down == [("k", (0, {("x", 1), ("y", 2), ("x", 3)})), ("k", (1, {("z", 12)}))]
    down, _, _ = run_windowed(
        entry_point, items, lambda s: win.collect_window("win", s, event_clock(), TEN, into=dict)
    )
    # Later pairs overwrite earlier ones.
    assert down == [("k", (0, {"x": 3, "y": 2})), ("k", (1, {"z": 12}))]


def test_collect_window_merges_sessions(entry_point):
    items = [("k", ("p", 0)), ("k", ("q", 20)), ("k", ("r", 10))]
    down, _, _ = run_windowed(
        entry_point,
        items,
        lambda s: win.collect_window("win", s, event_clock(wait=100), GAP, ordered=False),
    )
    assert down == [("k", (0, [("p", 0), ("r", 10), ("q", 20)]))]


def test_collect_window_refuses_other_containers():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([]))
    with pytest.raises(TypeError):
        win.collect_window("win", s, event_clock(), TEN, into=tuple)


def test_fold_window_builds_per_window(entry_point):
    items = [("k", ("a", 1)), ("k", ("b", 2)), ("k", ("c", 11)), ("j", ("d", 3))]
    down, _, _ = run_windowed(
        entry_point,
        items,
        lambda s: win.fold_window(
            "win", s, event_clock(), TEN, lambda: 100, lambda acc, v: acc + v[1], lambda a, b: a + b
        ),
    )
    assert sorted(down) == [("j", (0, 103)), ("k", (0, 103)), ("k", (1, 111))]


def test_reduce_window_in_arrival_order(entry_point):
    items = [("k", ("b", 5)), ("k", ("a", 2)), ("k", ("c", 7)), ("k", ("d", 12))]
    down, late, _ = run_windowed(
        entry_point,
        items,
        lambda s: win.reduce_window(
            "win", s, event_clock(wait=5), TEN, lambda acc, v: (acc[0] + v[0], max(acc[1], v[1]))
        ),
    )
    assert down == [("k", (0, ("bac", 7))), ("k", (1, ("d", 12)))]
    assert late == []


def test_count_window(entry_point, check_keyed):
    items = [("apple", 1), ("apple", 5), ("pear", 3), ("apple", 12), ("pear", 30)]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(items))
    counts = win.count_window("count", s, event_clock(), TEN, key=lambda x: x[0])
    out: List = []
    op.output("out", counts.down, TestingSink(out))
    entry_point(flow)
    check_keyed(
        out,
        [("apple", (0, 2)), ("pear", (0, 1)), ("apple", (1, 1)), ("pear", (3, 1))],
    )


def test_max_and_min_window_by(entry_point):
    items = [
        ("k", ("a", 1, 5)),
        ("k", ("b", 2, 9)),
        ("k", ("c", 3, 9)),
        ("k", ("d", 4, 1)),
        ("k", ("e", 14, 1)),
    ]
    down, _, _ = run_windowed(
        entry_point,
        items,
        lambda s: win.max_window("win", s, event_clock(), TEN, by=lambda v: v[2]),
    )
    assert down == [("k", (0, ("b", 2, 9))), ("k", (1, ("e", 14, 1)))]
    down, _, _ = run_windowed(
        entry_point,
        items,
        lambda s: win.min_window("win", s, event_clock(), TEN, by=lambda v: v[2]),
    )
    assert down == [("k", (0, ("d", 4, 1))), ("k", (1, ("e", 14, 1)))]


def test_max_and_min_window_default_compares_values(entry_point):
    items = [("k", ("b", 2)), ("k", ("a", 3)), ("k", ("c", 1))]
    down, _, _ = run_windowed(
        entry_point, items, lambda s: win.max_window("win", s, event_clock(wait=5), TEN)
    )
    assert down == [("k", (0, ("c", 1)))]
    down, _, _ = run_windowed(
        entry_point, items, lambda s: win.min_window("win", s, event_clock(wait=5), TEN)
    )
    assert down == [("k", (0, ("a", 3)))]


def _join_flow(entry_point, left, right, **kwargs):
    flow = Dataflow("test_df")
    ls = op.input("left", flow, TestingSource(left))
    rs = op.input("right", flow, TestingSource(right))
    # A long wait: nothing is late, and everything is applied in
    # timestamp order at EOF, whatever order the two inputs interleave.
    joined = win.join_window("join", event_clock(wait=1000), TEN, ls, rs, **kwargs)
    down: List = []
    op.output("out", joined.down, TestingSink(down))
    entry_point(flow)
    return down


LEFT = [("a", ("l1", 1)), ("a", ("l2", 3)), ("a", ("l3", 15))]
RIGHT = [("a", ("r1", 2)), ("b", ("rb", 4))]


@pytest.mark.parametrize(
    "insert_mode,emit_mode,expected",
    [
        (
            "last",
            "final",
            [
                ("a", (0, (("l2", 3), ("r1", 2)))),
                ("a", (1, (("l3", 15), None))),
                ("b", (0, (None, ("rb", 4)))),
            ],
        ),
        (
            "first",
            "final",
            [
                ("a", (0, (("l1", 1), ("r1", 2)))),
                ("a", (1, (("l3", 15), None))),
                ("b", (0, (None, ("rb", 4)))),
            ],
        ),
        (
            "product",
            "final",
            [
                ("a", (0, (("l1", 1), ("r1", 2)))),
                ("a", (0, (("l2", 3), ("r1", 2)))),
                ("a", (1, (("l3", 15), None))),
                ("b", (0, (None, ("rb", 4)))),
            ],
        ),
        ("last", "complete", [("a", (0, (("l1", 1), ("r1", 2))))]),
        (
            "last",
            "running",
            [
                ("a", (0, (("l1", 1), None))),
                ("a", (0, (("l1", 1), ("r1", 2)))),
                ("a", (0, (("l2", 3), ("r1", 2)))),
                ("a", (1, (("l3", 15), None))),
                ("b", (0, (None, ("rb", 4)))),
            ],
        ),
        (
            "product",
            "running",
            [
                ("a", (0, (("l1", 1), None))),
                ("a", (0, (("l1", 1), ("r1", 2)))),
                ("a", (0, (("l1", 1), ("r1", 2)))),
                ("a", (0, (("l2", 3), ("r1", 2)))),
                ("a", (1, (("l3", 15), None))),
                ("b", (0, (None, ("rb", 4)))),
            ],
        ),
    ],
)
def test_join_window_modes(entry_point, insert_mode, emit_mode, expected):
    down = _join_flow(entry_point, LEFT, RIGHT, insert_mode=insert_mode, emit_mode=emit_mode)
    assert sorted(down, key=repr) == sorted(expected, key=repr)
    by_window = {}
    for key, (wid, row) in down:
        by_window.setdefault((key, wid), []).append(row)
    for key, (wid, row) in expected:
        assert row in by_window[(key, wid)]
    assert [r for k, (w, r) in down if (k, w) == ("a", 0)] == [
        r for k, (w, r) in expected if (k, w) == ("a", 0)
    ]


@pytest.mark.parametrize(
    "insert_mode,expected",
    [
        # The merged-in (later) session's value wins in "first" mode,
        # this session's in "last" mode: Bytewax 0.21.1's behaviour.
        ("first", [("k", (0, (("q", 20),)))]),
        ("last", [("k", (0, (("r", 10),)))]),
        ("product", [("k", (0, (("p", 0),))), ("k", (0, (("r", 10),))), ("k", (0, (("q", 20),)))]),
    ],
)
def test_join_window_merging_sessions(entry_point, insert_mode, expected):
    items = [("k", ("p", 0)), ("k", ("q", 20)), ("k", ("r", 10))]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(items))
    joined = win.join_window(
        "join", event_clock(wait=100), GAP, s, insert_mode=insert_mode, ordered=False
    )
    down: List = []
    op.output("out", joined.down, TestingSink(down))
    entry_point(flow)
    assert down == expected


def test_join_window_unknown_modes():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([]))
    with pytest.raises(ValueError):
        win.join_window("join", event_clock(), TEN, s, insert_mode="middle")
    with pytest.raises(ValueError):
        win.join_window("join", event_clock(), TEN, s, emit_mode="never")


def test_system_clock(entry_point):
    items = [("k", ("a", 0)), ("k", ("b", 0)), ("k", ("c", 0))]
    before = datetime.now(timezone.utc)
    down, late, metas = run_windowed(
        entry_point,
        items,
        lambda s: labels_fold("win", s, win.SystemClock(), win.SessionWindower(timedelta(hours=1))),
    )
    after = datetime.now(timezone.utc)
    assert down == [("k", (0, ["a", "b", "c"]))]
    assert late == []
    [(key, (wid, m))] = metas
    assert before <= m.open_time <= m.close_time <= after


def test_watermark_advances_while_the_input_is_idle(entry_point):
    # After the two values, the input sends nothing but keeps running
    # while its "system time" moves on a second per poll. The window
    # [0, 10) closes once the watermark (last timestamp 2, minus the
    # 5 s wait, plus the system time since) reaches 10: before EOF.
    getter = TimeTestingGetter(at(0))
    log: List = []
    closed_at: List = []

    def done(phase):
        if any(isinstance(x, tuple) for x in log):
            closed_at.append(getter.now)
            return True
        return False

    flow = Dataflow("test_df")
    s = op.input(
        "inp", flow, PhasedSource([[("a", ("a1", 1)), ("a", ("a2", 2))]], getter, done, log)
    )
    clock = win.EventClock(
        lambda v: at(v[1]), wait_for_system_duration=secs(5), now_getter=getter.get
    )
    out = labels_fold("win", s, clock, TEN)
    op.output("down", out.down, LogSink(log))
    entry_point(flow)
    assert log == [("a", (0, ["a1", "a2"])), "phase 0 done", "source EOF"]
    # Not before the wait: the watermark reached 10 at system time 13.
    assert closed_at[0] >= at(13)


def _names(step):
    # Down to the windowing operators' own substeps; what is inside
    # the other operators is covered by their own tests.
    subs = None
    if type(step).__name__ != "filter_map_value":
        subs = [_names(sub) for sub in step.substeps]
    return (step.step_id.split(".")[-1], type(step).__name__, subs)


WINDOW_SUBSTEPS = [
    ("stateful_batch", "stateful_batch", []),
    ("unwrap_down", "filter_map_value", None),
    ("unwrap_late", "filter_map_value", None),
    ("unwrap_meta", "filter_map_value", None),
]


def test_substep_nesting():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([]))
    plain = op.key_rm("plain", s)
    clock = event_clock()
    win.collect_window("collect", s, clock, TEN)
    win.max_window("max", s, clock, TEN)
    win.count_window("count", plain, clock, TEN, key=str)
    win.join_window("join", clock, TEN, s, s)
    steps = {sub.step_id.split(".")[-1]: sub for sub in flow.substeps}

    window = ("window", "window", WINDOW_SUBSTEPS)
    fold = ("fold_window", "fold_window", [window])
    assert _names(steps["collect"]) == ("collect", "collect_window", [fold])
    assert _names(steps["max"]) == (
        "max",
        "max_window",
        [("reduce_window", "reduce_window", [fold])],
    )
    count = _names(steps["count"])
    assert count[2][0][:2] == ("keyed", "key_on")
    assert count[2][1] == ("sum", "fold_window", [window])
    join = _names(steps["join"])
    assert join[2][0][:2] == ("add_names", "_join_label_merge")
    assert join[2][1] == window
    assert steps["collect"].substeps[0].substeps[0].substeps[0].step_id == (
        "test_df.collect.fold_window.window.stateful_batch"
    )


def test_naive_timestamps_fail_the_run(entry_point):
    items = [("k", ("a", 1))]
    clock = win.EventClock(
        lambda v: datetime(2024, 1, 1, 0, 0, v[1]), wait_for_system_duration=secs(0)
    )
    with pytest.raises(RilletRuntimeError):
        run_windowed(entry_point, items, lambda s: labels_fold("win", s, clock, TEN))


@pytest.mark.rillet_only
def test_naive_timestamp_error_names_the_step_and_the_fix(entry_point):
    items = [("k", ("a", 1))]
    clock = win.EventClock(
        lambda v: datetime(2024, 1, 1, 0, 0, v[1]), wait_for_system_duration=secs(0)
    )
    with pytest.raises(RilletRuntimeError) as info:
        run_windowed(entry_point, items, lambda s: labels_fold("win", s, clock, TEN))
    text = chain_text(info.value)
    assert "'test_df.win.window'" in text
    assert "`ts_getter`" in text
    assert "timezone-aware" in text
    assert "tzinfo=timezone.utc" in text


@pytest.mark.rillet_only
def test_naive_now_getter_error(entry_point):
    clock = win.EventClock(
        lambda v: at(v[1]), wait_for_system_duration=secs(0), now_getter=datetime.now
    )
    with pytest.raises(RilletRuntimeError) as info:
        run_windowed(entry_point, [("k", ("a", 1))], lambda s: labels_fold("win", s, clock, TEN))
    text = chain_text(info.value)
    assert "'test_df.win.window'" in text
    assert "`now_getter`" in text and "timezone-aware" in text


@pytest.mark.rillet_only
def test_naive_align_to_is_refused_when_building():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([]))
    naive = win.TumblingWindower(length=secs(10), align_to=datetime(2024, 1, 1))
    with pytest.raises(TypeError) as info:
        labels_fold("win", s, event_clock(), naive)
    msg = str(info.value)
    assert "'test_df.win.window'" in msg
    assert "`align_to`" in msg and "tzinfo=timezone.utc" in msg


@pytest.mark.rillet_only
def test_non_positive_lengths_are_refused():
    with pytest.raises(ValueError, match="positive"):
        win.TumblingWindower(length=secs(0), align_to=T0)
    with pytest.raises(ValueError, match="positive"):
        win.SlidingWindower(length=secs(10), offset=secs(0), align_to=T0)
