"""The native windowing path and the Python one.

A `window` step whose clock and windower are exactly the built-in
classes runs in Rust (`_native_plan` says how); with a subclass of any
of them it runs through its Python substeps. Both must give the same
outputs, record for record, on the same random streams.
"""

from datetime import datetime, timedelta, timezone
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rillet.operators as op
import rillet.operators.windowing as win
from conftest import chain_text
from rillet.dataflow import Dataflow
from rillet.errors import RilletRuntimeError
from rillet.testing import TestingSource, TimeTestingGetter
from windowing_support import SYSTEM_NOW, T0, at, event_clock, labels_fold, run_windowed, secs

pytestmark = pytest.mark.rillet_only


class PyEventClock(win.EventClock):
    """Behaves as `EventClock`, but is a subclass: the Python path."""


class PyTumbling(win.TumblingWindower):
    pass


class PySliding(win.SlidingWindower):
    pass


class PySession(win.SessionWindower):
    pass


def _window_step(build):
    flow = Dataflow("plan_df")
    s = op.input("inp", flow, TestingSource([]))
    build(s)
    step = flow.substeps[1]
    while type(step).__name__ != "window":
        step = step.substeps[-1]
    return step


TEN = win.TumblingWindower(length=secs(10), align_to=T0)


def test_built_in_clocks_and_windowers_run_natively():
    clock = event_clock(wait=5)
    windowers = [
        TEN,
        win.SlidingWindower(length=secs(10), offset=secs(5), align_to=T0),
        win.SessionWindower(gap=secs(3)),
    ]
    for windower in windowers:
        for c in (clock, win.SystemClock()):
            plan = win._native_plan(_window_step(lambda s: labels_fold("f", s, c, windower)))
            assert plan is not None, (c, windower)
            assert plan[2][0] == "fold"
    plan = win._native_plan(_window_step(lambda s: win.count_window("c", s, clock, TEN, key=str)))
    assert plan[2] == ("count",) and plan[3] is False
    assert plan[0][:3] == ("event", clock.ts_getter, 5_000_000)
    assert plan[0][3] is clock.now_getter  # a user getter is called
    assert plan[1] == ("sliding", 10_000_000, 10_000_000, T0)
    default = win.EventClock(lambda v: v, timedelta(0))
    plan = win._native_plan(_window_step(lambda s: win.collect_window("c", s, default, TEN)))
    assert plan[0][3] is None and plan[0][4] is None  # system time, no mapping
    plan = win._native_plan(_window_step(lambda s: win.join_window("j", clock, TEN, s, s)))
    assert plan[2][0] == "logic"


def test_subclasses_and_zoned_alignment_keep_the_python_path():
    from zoneinfo import ZoneInfo

    clock = event_clock()
    py_clock = PyEventClock(clock.ts_getter, secs(0), now_getter=clock.now_getter)
    cases = [
        (py_clock, TEN),
        (clock, PyTumbling(length=secs(10), align_to=T0)),
        (clock, PySliding(length=secs(10), offset=secs(5), align_to=T0)),
        (clock, PySession(gap=secs(3))),
        # Bounds in a zone with DST are wall-clock arithmetic: Python's.
        (clock, win.TumblingWindower(secs(10), datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Paris")))),
    ]
    for c, w in cases:
        assert win._native_plan(_window_step(lambda s: labels_fold("f", s, c, w))) is None, (c, w)


# --- Same outputs on both paths ---------------------------------------

EVENTS = st.lists(
    st.tuples(st.sampled_from("abc"), st.integers(min_value=-30, max_value=60)),
    max_size=25,
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _both(entry_point, events, batch_size, native_windower, python_windower, wait, ordered):
    items = [(key, (f"v{i}", t)) for i, (key, t) in enumerate(events)]
    getter = TimeTestingGetter(SYSTEM_NOW)
    native_clock = win.EventClock(at_value, secs(wait), now_getter=getter.get)
    python_clock = PyEventClock(at_value, secs(wait), now_getter=getter.get)

    def run(clock, windower):
        down, late, metas = run_windowed(
            entry_point,
            items,
            lambda s: labels_fold("win", s, clock, windower, ordered),
            batch_size,
        )
        if entry_point.ordered:
            return down, late, metas
        return sorted(down), sorted(late), sorted(metas, key=repr)

    assert run(native_clock, native_windower) == run(python_clock, python_windower)


def at_value(v):
    return at(v[1])


@SETTINGS
@given(
    events=EVENTS,
    wait=st.integers(min_value=0, max_value=20),
    length_offset=st.integers(min_value=1, max_value=20).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(min_value=1, max_value=n))
    ),
    align=st.integers(min_value=-15, max_value=15),
    ordered=st.booleans(),
    batch_size=st.integers(min_value=1, max_value=4),
)
def test_sliding_native_equals_python(
    entry_point, events, wait, length_offset, align, ordered, batch_size
):
    length, offset = length_offset
    args = dict(length=secs(length), offset=secs(offset), align_to=at(align))
    _both(
        entry_point, events, batch_size, win.SlidingWindower(**args), PySliding(**args), wait, ordered
    )


@SETTINGS
@given(
    events=EVENTS,
    wait=st.integers(min_value=0, max_value=40),
    gap=st.integers(min_value=0, max_value=15),
    ordered=st.booleans(),
    batch_size=st.integers(min_value=1, max_value=5),
)
def test_sessions_native_equal_python(entry_point, events, wait, gap, ordered, batch_size):
    _both(
        entry_point,
        events,
        batch_size,
        win.SessionWindower(gap=secs(gap)),
        PySession(gap=secs(gap)),
        wait,
        ordered,
    )


class Tracing(win.WindowLogic):
    def __init__(self):
        self.seen = []

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


@pytest.mark.parametrize("ordered", [True, False])
def test_window_logic_events_match_the_python_path(entry_point, ordered):
    items = [(k, (f"{k}{t}", t)) for k in "pq" for t in (0, 30, 15, 22, 7, 50, 3, 70)]

    def run(windower, clock):
        return run_windowed(
            entry_point,
            items,
            lambda s: win.window("win", s, clock, windower, lambda _state: Tracing(), ordered),
            3,
        )

    clock = event_clock(wait=25)
    py_clock = PyEventClock(clock.ts_getter, secs(25), now_getter=clock.now_getter)
    native = run(win.SessionWindower(gap=secs(10)), clock)
    python = run(PySession(gap=secs(10)), py_clock)
    if not entry_point.ordered:
        native, python = [sorted(x, key=repr) for x in native], [sorted(x, key=repr) for x in python]
    assert native == python
    assert native[0], "the logic emitted"


def test_non_utc_timestamps_are_compared_as_instants(entry_point):
    plus2 = timezone(timedelta(hours=2))
    items = [("a", ("x", T0.astimezone(plus2) + secs(1))), ("a", ("y", T0 + secs(12)))]
    down, _, metas = run_windowed(
        entry_point,
        items,
        lambda s: labels_fold(
            "win",
            s,
            win.EventClock(lambda v: v[1], secs(0), now_getter=TimeTestingGetter(SYSTEM_NOW).get),
            TEN,
        ),
    )
    assert down == [("a", (0, ["x"])), ("a", (1, ["y"]))]
    # Bounds are computed in `align_to`'s zone, as Python does.
    assert repr(metas[0][1][1].open_time) == repr(T0)


# --- Errors from user callables ----------------------------------------


def test_a_failing_folder_names_the_step_and_chains_the_cause(entry_point):
    def folder(acc, v):
        raise KeyError("no such thing")

    with pytest.raises(RilletRuntimeError) as info:
        run_windowed(
            entry_point,
            [("k", ("a", 1))],
            lambda s: win.fold_window("win", s, event_clock(), TEN, list, folder, list.__add__),
        )
    err = info.value
    assert "'test_df.win.window'" in str(err) and "`folder`" in str(err)
    assert "('a', 1)" in str(err)
    assert isinstance(err.__cause__, KeyError)
    assert err.__cause__.__traceback__ is not None


def test_a_failing_ts_getter_names_the_step_and_the_item(entry_point):
    def ts_getter(v):
        return {}["missing"]

    clock = win.EventClock(ts_getter, secs(0))
    with pytest.raises(RilletRuntimeError) as info:
        run_windowed(entry_point, [("k", ("a", 1))], lambda s: labels_fold("win", s, clock, TEN))
    text = chain_text(info.value)
    assert "'test_df.win.window'" in text and "`ts_getter`" in text and "('a', 1)" in text
    assert isinstance(info.value.__cause__, KeyError)


def test_a_ts_getter_returning_a_non_datetime_is_a_clear_error(entry_point):
    clock = win.EventClock(lambda v: v[1], secs(0))
    with pytest.raises(RilletRuntimeError) as info:
        run_windowed(entry_point, [("k", ("a", 1))], lambda s: labels_fold("win", s, clock, TEN))
    text = chain_text(info.value)
    assert "'test_df.win.window'" in text and "timezone-aware `datetime`" in text and "int" in text


def test_a_window_logic_returning_a_non_iterable_is_a_clear_error(entry_point):
    class Bad(Tracing):
        def on_value(self, value):
            return 5

    with pytest.raises(RilletRuntimeError) as info:
        run_windowed(
            entry_point,
            [("k", ("a", 1))],
            lambda s: win.window("win", s, event_clock(), TEN, lambda _s: Bad()),
        )
    text = chain_text(info.value)
    assert "step 'test_df.win'" in text and "on_value" in text and "iterable" in text


def test_system_clock_sessions_close_at_eof(entry_point):
    items: List = [("k", ("a", 0)), ("j", ("b", 0))]
    before = datetime.now(timezone.utc)
    down, late, metas = run_windowed(
        entry_point,
        items,
        lambda s: labels_fold("win", s, win.SystemClock(), win.SessionWindower(timedelta(hours=1))),
    )
    assert sorted(down) == [("j", (0, ["b"])), ("k", (0, ["a"]))]
    assert late == []
    for _key, (_wid, m) in metas:
        assert before <= m.open_time <= m.close_time <= datetime.now(timezone.utc)
        assert m.open_time.tzinfo is not None


class Snapshotting(Tracing):
    """Counts its `snapshot` calls (Bytewax makes them as epochs close)."""

    calls: List[str] = []

    def snapshot(self):
        Snapshotting.calls.append(",".join(self.seen))
        return list(self.seen)


def test_user_window_logics_are_snapshotted_as_on_the_python_path(entry_point):
    # Epochs of zero length: every poll of the input ends one, so the
    # keys' open windows are snapshotted between batches.
    items = [("k", (f"v{t}", t)) for t in (0, 3, 12, 14, 25, 31)]

    def calls(windower, clock):
        Snapshotting.calls = []
        flow = Dataflow("test_df")
        s = op.input("inp", flow, TestingSource(items, batch_size=2))
        out = win.window("win", s, clock, windower, lambda _s: Snapshotting())
        op.inspect("down", out.down)
        entry_point(flow, epoch_interval=timedelta(0))
        return sorted(Snapshotting.calls)

    clock = event_clock(wait=3)
    py_clock = PyEventClock(clock.ts_getter, secs(3), now_getter=clock.now_getter)
    native = calls(TEN, clock)
    assert native, "snapshots were taken"
    assert native == calls(PyTumbling(length=secs(10), align_to=T0), py_clock)


def test_session_metadata_keeps_the_timestamps_zones(entry_point):
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    plus2 = timezone(timedelta(hours=2))
    items = [
        ("a", T0.astimezone(paris)),
        ("a", (T0 + secs(4)).astimezone(plus2)),
        ("a", T0 + secs(30)),
        ("a", (T0 + secs(36)).astimezone(paris)),
        ("a", (T0 + secs(33)).astimezone(plus2)),
        ("b", (T0 + secs(2)).astimezone(plus2)),
    ]
    getter = TimeTestingGetter(SYSTEM_NOW)

    def metas(clock_cls, windower):
        clock = clock_cls(lambda t: t, secs(100), now_getter=getter.get)
        _, _, got = run_windowed(
            entry_point,
            items,
            lambda s: win.collect_window("win", s, clock, windower, ordered=False),
            2,
        )
        return sorted(repr(m) for m in got)

    native = metas(win.EventClock, win.SessionWindower(gap=secs(5)))
    assert native == metas(PyEventClock, PySession(gap=secs(5)))
    assert any("Europe/Paris" in m for m in native) and any("7200" in m for m in native)


_TWO_PROCESS_FLOW = '''
from datetime import datetime, timedelta, timezone

import rillet.operators as op
import rillet.operators.windowing as win
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
flow = Dataflow("xproc")
s = op.input("inp", flow, TestingSource([(f"k{i % 10}", i) for i in range(200)], batch_size=7))
clock = win.EventClock(lambda kv: T0 + timedelta(seconds=kv[1]), timedelta(seconds=0))
tumbling = win.TumblingWindower(timedelta(seconds=50), T0)
counts = win.count_window("count", s, clock, tumbling, key=lambda kv: kv[0])
op.inspect("out", counts.down)
'''


@pytest.mark.subprocess
@pytest.mark.cluster
def test_two_processes_window_every_key_once(tmp_path):
    # Keys are routed to the worker of their hash in either process; each
    # key's 20 values land in four 50 s windows of five.
    import re
    import subprocess
    import sys

    from conftest import wait_testing_ports

    wait_testing_ports()
    (tmp_path / "winflow.py").write_text(_TWO_PROCESS_FLOW)
    res = subprocess.run(
        [sys.executable, "-m", "rillet.testing", "winflow:flow", "-p", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert res.returncode == 0, res.stderr
    # Both processes print to one pipe, and `print` writes the text and its
    # newline separately, so two records can share a line: find them.
    lines = re.findall(r"xproc\.out: \('k\d+', \(\d+, \d+\)\)", res.stdout)
    assert sorted(lines) == sorted(
        f"xproc.out: ('k{k}', ({w}, 5))" for k in range(10) for w in range(4)
    )
