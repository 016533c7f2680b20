"""Windowed steps on the run channel (engine/TELEMETRY.md): the native
path reports its lowest watermark (as `watermark_lag_s`) and the keys it
holds, and lets every key go once its windows have closed.

The test plays the studio with test_telemetry.py's `FakeStudio`.
"""

import time
from datetime import datetime, timedelta, timezone
from typing import List, Optional

import pytest

import rillet.operators as op
import rillet.operators.windowing as win
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition
from rillet.testing import TestingSink
from test_telemetry import FakeStudio, final_metrics, finished

pytestmark = pytest.mark.rillet_only

KEYS = 5
WAIT = timedelta(seconds=30)


class PyTumbling(win.TumblingWindower):
    """A subclass: the step runs on the Python path."""


def _window_entries(studio: FakeStudio, step_id: str) -> List[dict]:
    entries = []
    for conn in studio.conns:
        for msg in conn.of("metrics"):
            entries += [s for s in msg["steps"] if s["step_id"] == step_id]
    return entries


class _HoldOpen(StatelessSourcePartition):
    """Emits the items, then nothing until `done()` (or a deadline)."""

    def __init__(self, items, done):
        self.items = items
        self.done = done
        self.deadline: Optional[float] = None

    def next_batch(self):
        if self.deadline is None:
            self.deadline = time.monotonic() + 15
            return self.items
        if self.done() or time.monotonic() > self.deadline:
            raise StopIteration()
        return []

    def next_awake(self):
        return datetime.now(timezone.utc) + timedelta(milliseconds=50)


class HoldOpenSource(DynamicSource):
    def __init__(self, items, done):
        self.items = items
        self.done = done

    def build(self, step_id, worker_index, worker_count):
        return _HoldOpen(self.items if worker_index == 0 else [], self.done)


@pytest.fixture
def studio(monkeypatch):
    s = FakeStudio()
    for k, v in s.env().items():
        monkeypatch.setenv(k, v)
    yield s
    s.close()


def _run(studio, entry_point, windower, held):
    """Run until a metrics entry of the windowed step satisfies `held`."""
    now = datetime.now(timezone.utc)
    items = [(f"k{i}", now) for i in range(KEYS)]
    flow = Dataflow("tw")
    s = op.input(
        "inp",
        flow,
        HoldOpenSource(items, lambda: any(held(e) for e in _window_entries(studio, "tw.win"))),
    )
    clock = win.EventClock(lambda kv: kv[1], wait_for_system_duration=WAIT)
    out = win.count_window("win", s, clock, windower, key=lambda kv: kv[0])
    got: List = []
    op.output("out", out.down, TestingSink(got))
    entry_point(flow)
    assert sorted(k for k, (_wid, n) in got) == [f"k{i}" for i in range(KEYS)]
    return [m for c in studio.conns for m in finished(c)]


def test_a_native_windowed_step_reports_its_watermark_lag(studio, entry_point):
    windower = win.TumblingWindower(timedelta(hours=1), datetime(2024, 1, 1, tzinfo=timezone.utc))
    msgs = _run(
        studio,
        entry_point,
        windower,
        lambda e: e["watermark_lag_s"] is not None and (e["state_keys"] or 0) > 0,
    )
    entries = [e for e in _window_entries(studio, "tw.win") if e["watermark_lag_s"] is not None]
    assert entries, "no metrics message showed a watermark for the windowed step"
    # The watermark is the latest timestamp minus the wait, moving on
    # with the system time: it lags the system time by about the wait.
    for e in entries:
        assert 25 <= e["watermark_lag_s"] <= 35, e
    assert sum(e["state_keys"] for e in entries if e["state_keys"]) >= 1
    # At the end every window closed: no key is held.
    final = final_metrics(msgs)
    ends = [s for s in final["steps"] if s["step_id"] == "tw.win"]
    assert len(ends) == entry_point.workers
    assert all(s["state_keys"] == 0 and s["watermark_lag_s"] is None for s in ends), ends


def test_the_python_path_reports_no_watermark(studio, entry_point):
    windower = PyTumbling(timedelta(hours=1), datetime(2024, 1, 1, tzinfo=timezone.utc))
    _run(studio, entry_point, windower, lambda e: (e["state_keys"] or 0) > 0)
    entries = _window_entries(studio, "tw.win")
    assert any((e["state_keys"] or 0) > 0 for e in entries), "the keys were held"
    assert all(e["watermark_lag_s"] is None for e in entries)



class _ThenIdle(StatelessSourcePartition):
    """Emits the items, then advances `getter` by a second per poll (every
    20 ms) until `done()`, or a deadline."""

    def __init__(self, items, getter, done):
        self.items = items
        self.getter = getter
        self.done = done
        self.deadline: Optional[float] = None

    def next_batch(self):
        if self.deadline is None:
            self.deadline = time.monotonic() + 15
            return self.items
        if self.done() or time.monotonic() > self.deadline:
            raise StopIteration()
        self.getter.advance(timedelta(seconds=1))
        return []

    def next_awake(self):
        return datetime.now(timezone.utc) + timedelta(milliseconds=20)


class ThenIdleSource(DynamicSource):
    def __init__(self, items, getter, done):
        self.args = (items, getter, done)

    def build(self, step_id, worker_index, worker_count):
        items, getter, done = self.args
        return _ThenIdle(items if worker_index == 0 else [], getter, done)


@pytest.mark.parametrize("windower", ["tumbling", "session"])
def test_native_keys_are_dropped_once_their_windows_close(studio, entry_point, windower):
    # Many keys open windows; the input then idles while the system
    # time moves on, until a metrics message sent after every result
    # shows that the step holds no key, while the input is still open.
    from rillet.testing import TimeTestingGetter
    from windowing_support import at, labels_fold, secs

    keys = [f"u{i}" for i in range(50)]
    getter = TimeTestingGetter(at(0))
    log: List = []
    results_at: List[float] = []
    emptied: List[dict] = []

    def done():
        if len(log) < len(keys):
            return False
        if not results_at:
            results_at.append(time.time())
        for conn in studio.conns:
            for msg in conn.of("metrics"):
                if msg["ts"] <= results_at[0]:
                    continue
                steps = [e for e in msg["steps"] if e["step_id"] == "tw.win"]
                if len(steps) == entry_point.workers and all(e["state_keys"] == 0 for e in steps):
                    emptied.append(msg)
                    return True
        return False

    flow = Dataflow("tw")
    items = [(k, ("hi", 0)) for k in keys] + [(k, ("again", 3)) for k in keys]
    s = op.input("inp", flow, ThenIdleSource(items, getter, done))
    clock = win.EventClock(lambda v: at(v[1]), wait_for_system_duration=secs(1), now_getter=getter.get)
    if windower == "tumbling":
        w = win.TumblingWindower(secs(10), at(0))
    else:
        w = win.SessionWindower(secs(10))
    out = labels_fold("win", s, clock, w)
    op.output("down", out.down, TestingSink(log))
    entry_point(flow)
    assert emptied, "no metrics message showed the step holding no key before the input ended"
    assert sorted(log) == sorted((k, (0, ["hi", "again"])) for k in keys)
