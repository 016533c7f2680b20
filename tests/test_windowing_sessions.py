"""Session windows: gaps, merges, late values, and no leftover state.

Expected outputs are Bytewax 0.21.1's, except in the tests marked
`rillet_only`, which check that Rillet drops a key's windowing state
once its sessions have closed (Bytewax keeps it forever: its issue
577).
"""

from datetime import timedelta
from typing import List

import pytest

import rillet.operators as op
import rillet.operators.windowing as win
from conftest import per_key
from rillet.dataflow import Dataflow
from rillet.testing import TimeTestingGetter
from windowing_support import (
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

GAP = secs(10)


def sessions(step_id, s, wait=0, ordered=True):
    return labels_fold(step_id, s, event_clock(wait=wait), win.SessionWindower(gap=GAP), ordered)


def test_values_within_the_gap_share_a_session(entry_point):
    items = [
        ("a", ("a1", 0)),
        ("a", ("a2", 10)),  # exactly `gap` after: same session
        ("a", ("a3", 21)),  # 11 s after: a new session; the first closes
        ("a", ("a4", 25)),
    ]
    down, late, metas = run_windowed(entry_point, items, lambda s: sessions("sess", s))
    assert down == [("a", (0, ["a1", "a2"])), ("a", (1, ["a3", "a4"]))]
    assert late == []
    # Session metadata: first and last timestamps, both included.
    assert metas == [("a", (0, meta(0, 10))), ("a", (1, meta(21, 25)))]


def test_gap_of_exactly_the_gap_before_a_session(entry_point):
    items = [("a", ("later", 30)), ("a", ("earlier", 20))]
    down, _, metas = run_windowed(
        entry_point, items, lambda s: sessions("sess", s, wait=100, ordered=False)
    )
    assert down == [("a", (0, ["later", "earlier"]))]
    assert metas == [("a", (0, meta(20, 30)))]


def test_late_values_get_the_late_session_id(entry_point):
    items = [("a", ("a1", 50)), ("a", ("old", 5))]
    down, late, _ = run_windowed(entry_point, items, lambda s: sessions("sess", s))
    assert late == [("a", (win.LATE_SESSION_ID, ("old", 5)))]
    assert win.LATE_SESSION_ID == -1
    assert down == [("a", (0, ["a1"]))]


def test_three_sessions_merge_into_one(entry_point):
    # Unordered, so values are placed as they arrive and later values
    # can bridge earlier sessions.
    items = [
        ("x", ("x0", 0)),
        ("x", ("x30", 30)),  # session 1
        ("x", ("x15", 15)),  # session 2: 15 s from both
        ("x", ("x22", 22)),  # joins session 1, which then merges into 2
        ("x", ("x7", 7)),  # joins session 0, which then absorbs 2
    ]
    down, late, metas = run_windowed(
        entry_point, items, lambda s: sessions("sess", s, wait=100, ordered=False)
    )
    assert down == [("x", (0, ["x0", "x7", "x15", "x30", "x22"]))]
    assert late == []
    # As in Bytewax 0.21.1, only the directly merged ID is listed: 1
    # went into 2 before 2 went into 0.
    assert metas == [("x", (0, meta(0, 30, merged={2})))]


def test_merges_in_one_batch(entry_point):
    items = [
        ("x", ("x0", 0)),
        ("x", ("x20", 20)),
        ("x", ("x40", 40)),
        ("x", ("x10", 10)),  # bridges 0 and 1
        ("x", ("x30", 30)),  # bridges the result and 2
    ]
    down, _, metas = run_windowed(
        entry_point,
        items,
        lambda s: sessions("sess", s, wait=100, ordered=False),
        batch_size=5,
    )
    # Which values each window held before merging depends on how the
    # runtime splits the batch, so only the contents are compared.
    assert [(k, (wid, sorted(vals))) for k, (wid, vals) in down] == [
        ("x", (0, ["x0", "x10", "x20", "x30", "x40"]))
    ]
    assert metas == [("x", (0, meta(0, 40, merged={1, 2})))]


def test_ordered_sessions_see_values_in_timestamp_order(entry_point):
    items = [("x", ("x10", 10)), ("x", ("x0", 0)), ("x", ("x5", 5)), ("x", ("x40", 40))]
    down, _, metas = run_windowed(entry_point, items, lambda s: sessions("sess", s, wait=15))
    assert down == [("x", (0, ["x0", "x5", "x10"])), ("x", (1, ["x40"]))]
    assert metas == [("x", (0, meta(0, 10))), ("x", (1, meta(40, 40)))]


def test_sessions_per_key_on_several_workers(entry_point, check_keyed):
    items = []
    for k in "pqrstu":
        items += [(k, (f"{k}-a", 0)), (k, (f"{k}-b", 5)), (k, (f"{k}-c", 40))]
    down, _, metas = run_windowed(entry_point, items, lambda s: sessions("sess", s), 4)
    expected = {k: [(0, [f"{k}-a", f"{k}-b"]), (1, [f"{k}-c"])] for k in "pqrstu"}
    assert per_key(down) == expected
    assert len(metas) == 12


def test_session_windower_logic_boundaries():
    logic = win.SessionWindower(gap=GAP).build(None)
    assert list(logic.open_for(at(0))) == [0]
    assert list(logic.open_for(at(10))) == [0]  # exactly `gap` after
    assert list(logic.open_for(at(-10))) == [0]  # exactly `gap` before
    assert list(logic.open_for(at(20.5))) == [1]
    assert list(logic.merged()) == []
    # A session closes once the watermark is *more* than `gap` after
    # its last value.
    assert list(logic.close_for(at(20))) == []
    assert list(logic.close_for(at(20.25))) == [(0, meta(-10, 10))]
    assert logic.notify_at() == at(30.5)


def test_negative_gap_is_refused():
    with pytest.raises(ValueError):
        win.SessionWindower(gap=timedelta(seconds=-1))


# --- No state left behind ---------------------------------------------


class CountingSessionWindower(win.SessionWindower):
    """A `SessionWindower` whose per-key logics are counted while alive."""

    def __init__(self, gap, counter):
        super().__init__(gap)
        self.counter = counter

    def build(self, resume_state):
        return self.counter.track(super().build(resume_state))


@pytest.mark.rillet_only
def test_closed_sessions_leave_no_state_behind(entry_point):
    keys = [f"user{i}" for i in range(200)]
    getter = TimeTestingGetter(at(0))
    counter = LiveCounter()
    log: List = []
    metas: List = []

    def done(phase):
        want = len(keys) if phase == 0 else len(keys) + 1
        results = sum(1 for x in log if isinstance(x, tuple))
        return results >= want and len(metas) >= want and counter.all_dropped()

    phases = [
        [(k, ("hi", 0)) for k in keys] + [(k, ("again", 3)) for k in keys],
        [("user0", ("back", 200))],
    ]
    flow = Dataflow("test_df")
    s = op.input("inp", flow, PhasedSource(phases, getter, done, log))
    clock = win.EventClock(
        lambda v: at(v[1]), wait_for_system_duration=secs(1), now_getter=getter.get
    )
    out = labels_fold("sess", s, clock, CountingSessionWindower(GAP, counter))
    op.output("meta", out.meta, LogSink(metas))
    op.output("down", out.down, LogSink(log))
    entry_point(flow)

    # Every key's sessions closed while the input was still open, and
    # by then no per-key windower was alive.
    assert log.index("phase 0 done") >= len(keys)
    assert log[-2:] == ["phase 1 done", "source EOF"]
    assert counter.built == len(keys) + 1
    assert counter.live == 0
    # The returning key starts over, with session ID 0.
    assert log[-3] == ("user0", (0, ["back"]))
    assert sorted(log[: len(keys)]) == sorted((k, (0, ["hi", "again"])) for k in keys)
