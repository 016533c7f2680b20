"""Shared helpers for the tests/test_windowing_*.py files.

Values are `(label, seconds)`; their timestamp is `T0 + seconds`.
Clocks use a frozen `TimeTestingGetter` as the system time unless a
test moves it, so the watermark only moves with the timestamps and
every run is deterministic.
"""

import gc
import threading
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, List, Optional, Tuple

import rillet.operators as op
import rillet.operators.windowing as win
from rillet.dataflow import Dataflow
from rillet.inputs import FixedPartitionedSource, StatefulSourcePartition
from rillet.outputs import DynamicSink, StatelessSinkPartition
from rillet.testing import TestingSink, TestingSource, TimeTestingGetter

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
# The frozen "system time": far after every event, as for replayed data.
SYSTEM_NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def secs(n: float) -> timedelta:
    return timedelta(seconds=n)


def value_ts(value: Tuple[Any, float]) -> datetime:
    return at(value[1])


def event_clock(wait: float = 0, getter: Optional[TimeTestingGetter] = None) -> win.EventClock:
    now = getter if getter is not None else TimeTestingGetter(SYSTEM_NOW)
    return win.EventClock(value_ts, wait_for_system_duration=secs(wait), now_getter=now.get)


def meta(open_s: float, close_s: float, merged=None) -> win.WindowMetadata:
    return win.WindowMetadata(at(open_s), at(close_s), set(merged or ()))


def labels_fold(
    step_id: str, up, clock, windower, ordered: bool = True
) -> win.WindowOut:
    """`fold_window` that gathers the labels of the values."""
    return win.fold_window(
        step_id,
        up,
        clock,
        windower,
        list,
        lambda acc, v: acc + [v[0]],
        lambda a, b: a + b,
        ordered,
    )


def run_windowed(
    entry_point,
    items: List[Any],
    build: Callable[[Any], win.WindowOut],
    batch_size: int = 1,
) -> Tuple[list, list, list]:
    """Run `build(keyed_stream)`; return its `(down, late, meta)`."""
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(items, batch_size=batch_size))
    out = build(s)
    down: list = []
    late: list = []
    metas: list = []
    op.output("down", out.down, TestingSink(down))
    op.output("late", out.late, TestingSink(late))
    op.output("meta", out.meta, TestingSink(metas))
    entry_point(flow)
    return down, late, metas


class _Phases(StatefulSourcePartition):
    """Emits each phase's items, then lets the system time run on
    (moving the getter forward a second per poll) until `done(phase)`
    holds, then the next phase. Ends after the last phase, or fails
    after `max_polls` polls without progress."""

    def __init__(self, phases, getter, done, log, max_polls=3000):
        self.phases = phases
        self.getter = getter
        self.done = done
        self.log = log
        self.max_polls = max_polls
        self.phase = 0
        self.emitted = False
        self.polls = 0

    def next_batch(self):
        if self.phase >= len(self.phases):
            self.log.append("source EOF")
            raise StopIteration()
        if not self.emitted:
            self.emitted = True
            self.polls = 0
            return list(self.phases[self.phase])
        if self.done(self.phase):
            self.log.append(f"phase {self.phase} done")
            self.phase += 1
            self.emitted = False
            return []
        self.polls += 1
        if self.polls > self.max_polls:
            self.log.append(f"phase {self.phase} timed out")
            raise StopIteration()
        self.getter.advance(timedelta(seconds=1))
        return []

    def next_awake(self):
        return None

    def snapshot(self):
        return None


class PhasedSource(FixedPartitionedSource):
    def __init__(self, phases, getter, done, log):
        self.args = (phases, getter, done, log)

    def list_parts(self):
        return ["only"]

    def build_part(self, step_id, for_part, resume_state):
        return _Phases(*self.args)


class _LineSink(StatelessSinkPartition):
    def __init__(self, log):
        self.log = log

    def write_batch(self, items):
        self.log.extend(items)


class LogSink(DynamicSink):
    def __init__(self, log):
        self.log = log

    def build(self, step_id, worker_index, worker_count):
        return _LineSink(self.log)


class LiveCounter:
    """Counts objects built and still alive (e.g. per-key logics)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.built = 0
        self.live = 0

    def _dropped(self):
        with self.lock:
            self.live -= 1

    def all_dropped(self) -> bool:
        """Whether every tracked object is gone (after a GC pass)."""
        gc.collect()
        return self.live == 0

    def track(self, obj):
        with self.lock:
            self.built += 1
            self.live += 1
        weakref.finalize(obj, self._dropped)
        return obj
