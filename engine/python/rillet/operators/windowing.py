"""Windowing operators: group each key's values by time.

A windowing step needs two definitions:

- a **clock**, which gives each value a timestamp and keeps a
  *watermark*: the time before which no more values are expected.
  `EventClock` reads the timestamp from the value; `SystemClock`
  uses the time the value arrived.
- a **windower**, which says which windows a timestamp falls in:
  `TumblingWindower` (back to back, fixed length), `SlidingWindower`
  (fixed length, starting every `offset`, possibly overlapping) or
  `SessionWindower` (values closer together than `gap` form one
  window).

A window closes once the watermark passes its end; then its result
is emitted. Values whose timestamp is already behind the watermark
when they arrive are *late* and go to a separate stream. Every
windowing operator returns a `WindowOut` with three keyed streams:
`down` (results as `(window_id, value)`), `late` (late values as
`(window_id, value)`) and `meta` (`(window_id, WindowMetadata)` for
each closed window).

>>> from datetime import datetime, timedelta, timezone
>>> import rillet.operators as op
>>> import rillet.operators.windowing as win
>>> from rillet.dataflow import Dataflow
>>> from rillet.testing import TestingSource, run_main
>>> start = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> readings = [("temp", 20, start), ("temp", 22, start + timedelta(minutes=3)),
...             ("temp", 25, start + timedelta(minutes=12))]
>>> flow = Dataflow("windowing_eg")
>>> s = op.input("inp", flow, TestingSource(readings))
>>> keyed = op.key_on("key", s, lambda r: r[0])
>>> clock = win.EventClock(lambda r: r[2], wait_for_system_duration=timedelta(0))
>>> windower = win.TumblingWindower(length=timedelta(minutes=10), align_to=start)
>>> highs = win.max_window("high", keyed, clock, windower, by=lambda r: r[1])
>>> _ = op.inspect("out", op.map_value("deg", highs.down, lambda w: (w[0], w[1][1])))
>>> run_main(flow)
windowing_eg.out: ('temp', (0, 22))
windowing_eg.out: ('temp', (1, 25))

All timestamps must be timezone-aware `datetime`s (use
`tzinfo=timezone.utc`): the watermark is compared with the system
time, which is aware.

How the parts fit, so each can be replaced on its own (e.g. by a
native implementation):

- `ClockLogic` (one per key): timestamps and the watermark.
- `WindowerLogic` (one per key): which windows are open, merges, and
  which windows close at a watermark.
- `WindowLogic` (one per open window): what the window computes.
- `_KeyWindows` (one per key, the `stateful_batch` logic): holds the
  three above plus the values waiting for the watermark, and drops
  itself as soon as its key has no open window left.

With exactly the built-in clocks and windowers, the engine runs a
`window` step natively instead (`_native_plan`, engine/DESIGN.md
"Windowing"), with the same outputs; subclasses of `Clock`,
`ClockLogic`, `Windower` or `WindowerLogic` run the Python classes
above.
"""

import copy
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import (
    Any,
    Callable,
    Dict,
    Generic,
    Iterable,
    List,
    Literal,
    Optional,
    Self,
    Set,
    Tuple,
    Type,
    TypeAlias,
    TypeVar,
    Union,
    overload,
)

import rillet.operators as op
from rillet._utils import partition
from rillet.dataflow import Stream, operator
from rillet.operators import (
    DK,
    DV,
    JoinEmitMode,
    JoinInsertMode,
    KeyedStream,
    S,
    StatefulBatchLogic,
    U,
    V,
    W,
    W_co,
    X,
    _join_label_merge,
)
from rillet.operators._common import EMPTY, _get_system_utc, _identity, _untyped_none
from rillet.operators._join import _JoinState

ZERO_TD: timedelta = timedelta(0)
"""A duration of zero."""

UTC_MAX: datetime = datetime.max.replace(tzinfo=timezone.utc)
"""The latest representable UTC time; the watermark at end of input."""

UTC_MIN: datetime = datetime.min.replace(tzinfo=timezone.utc)
"""The earliest representable UTC time."""

LATE_SESSION_ID: int = -1
"""The window ID given to late values by `SessionWindower`.

A late value can't be placed in a session (the session it would
have joined may never have existed), so it gets this ID instead.
"""

SC = TypeVar("SC")
"""Type of a `ClockLogic`'s snapshots."""

SW = TypeVar("SW")
"""Type of a `WindowerLogic`'s snapshots."""

C = TypeVar("C", bound=Iterable)
"""Type of a container of results."""


# --- Timezone checks -------------------------------------------------


class _NaiveDatetimeError(TypeError):
    """A clock produced a naive `datetime`; re-raised with the step."""


def _require_aware(dt: Any, what: str) -> None:
    if not isinstance(dt, datetime):
        msg = (
            f"{what} must be a timezone-aware `datetime`; got a {type(dt)!r}; "
            "return e.g. `datetime(..., tzinfo=timezone.utc)`"
        )
        raise _NaiveDatetimeError(msg)
    if dt.tzinfo is None or dt.utcoffset() is None:
        msg = (
            f"{what} must be a timezone-aware `datetime`; got the naive "
            f"{dt!r}; attach a time zone, e.g. `dt.replace(tzinfo=timezone.utc)` "
            "for a UTC time, or `dt.astimezone(timezone.utc)` for a local one"
        )
        raise _NaiveDatetimeError(msg)


def _naive_in_step(step_id: str, ex: _NaiveDatetimeError) -> TypeError:
    return TypeError(f"step {step_id!r}: {ex}")


# --- Clocks ----------------------------------------------------------


class ClockLogic(ABC, Generic[V, S]):
    """The per-key state of a clock: timestamps and the watermark.

    Built by `Clock.build` for each key a windowing step sees. The
    step calls `before_batch`, then `on_item` for each new value;
    `on_notify` when it wakes up without values; `on_eof` when the
    input ends. The watermark these return must never go backwards.
    To write a new kind of clock, subclass this and `Clock`.
    """

    @abstractmethod
    def before_batch(self) -> None:
        """Called before the `on_item` calls for one batch of values.

        A good place to read the current system time once per batch.
        """
        ...

    @abstractmethod
    def on_item(self, value: V) -> Tuple[datetime, datetime]:
        """Timestamp a new value and return the watermark after it.

        :arg value: The value of an upstream `(key, value)` item.

        :returns: `(timestamp, watermark)`. The value is late if its
            timestamp is before the watermark.
        """
        ...

    @abstractmethod
    def on_notify(self) -> datetime:
        """Return the watermark now, when no value arrived.

        :returns: The watermark.
        """
        ...

    @abstractmethod
    def on_eof(self) -> datetime:
        """Return the watermark at the end of the input.

        Return `UTC_MAX` to close every window. Don't change the
        state that `snapshot` returns here, so a resumed run can go on.

        :returns: The watermark.
        """
        ...

    @abstractmethod
    def to_system_utc(self, timestamp: datetime) -> Optional[datetime]:
        """Map a time of this clock to the UTC system time it happens.

        The step uses it to know when to wake up to close windows.

        :arg timestamp: A time on this clock (e.g. a window's close).

        :returns: The UTC system time, or `None` for "no wake-up
            needed; new values or the end of input will do".
        """
        ...

    @abstractmethod
    def snapshot(self) -> S:
        """Return the clock's state, for recovery.

        It is given back to `Clock.build` on resume. It must be
        picklable and must not change afterwards (return a
        `copy.deepcopy` if other methods mutate it in place).

        :returns: The state.
        """
        ...


class Clock(ABC, Generic[V, S]):
    """The configuration of a clock; builds a `ClockLogic` per key.

    Use `EventClock` or `SystemClock`, or subclass this together with
    `ClockLogic` for another sense of time.
    """

    @abstractmethod
    def build(self, resume_state: Optional[S]) -> ClockLogic[V, S]:
        """Make the clock logic for one key.

        :arg resume_state: What `ClockLogic.snapshot` returned for
            this key in a previous run, or `None`.

        :returns: The clock logic.
        """
        ...


@dataclass
class _SystemClockLogic(ClockLogic[Any, None]):
    now_getter: Callable[[], datetime]
    _now: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._now = self.now_getter()

    def before_batch(self) -> None:
        self._now = self.now_getter()

    def on_item(self, value: Any) -> Tuple[datetime, datetime]:
        # A value arrives exactly at the watermark: never late.
        return (self._now, self._now)

    def on_notify(self) -> datetime:
        self._now = self.now_getter()
        return self._now

    def on_eof(self) -> datetime:
        return UTC_MAX

    def to_system_utc(self, timestamp: datetime) -> Optional[datetime]:
        return timestamp

    def snapshot(self) -> None:
        return None


@dataclass
class SystemClock(Clock[Any, None]):
    """Timestamp each value with the UTC system time it arrives at.

    The watermark is the system time, so no value is ever late. All
    windows close when the input ends.

    >>> from rillet.operators.windowing import SystemClock
    >>> logic = SystemClock().build(None)
    >>> logic.before_batch()
    >>> ts, watermark = logic.on_item("anything")
    >>> ts == watermark and ts.tzinfo is not None
    True
    """

    def build(self, resume_state: None) -> _SystemClockLogic:
        """Make the clock logic for one key.

        :arg resume_state: Always `None`; this clock has no state.

        :returns: The clock logic.
        """
        return _SystemClockLogic(_get_system_utc)


@dataclass
class _EventClockState:
    # The system time at which the watermark was last pushed forward
    # by a value's timestamp, and the watermark at that moment. Since
    # then the watermark has moved on with the system time.
    system_time_of_max_event: datetime
    watermark_base: datetime


def _new_event_clock_state() -> _EventClockState:
    return _EventClockState(system_time_of_max_event=UTC_MIN, watermark_base=UTC_MIN)


@dataclass
class _EventClockLogic(ClockLogic[V, _EventClockState]):
    now_getter: Callable[[], datetime]
    ts_getter: Callable[[V], datetime]
    to_system: Callable[[datetime], Optional[datetime]]
    wait_for_system_duration: timedelta
    state: _EventClockState = field(default_factory=_new_event_clock_state)
    _system_now: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._system_now = self._read_now()
        if self.state.system_time_of_max_event <= UTC_MIN:
            # Fresh state: the watermark starts at `UTC_MIN` and
            # advances with the system time from now on.
            self.state.system_time_of_max_event = self._system_now

    def _read_now(self) -> datetime:
        now = self.now_getter()
        _require_aware(now, "the `now_getter` of `EventClock`")
        return now

    def _watermark(self) -> datetime:
        return self.state.watermark_base + (self._system_now - self.state.system_time_of_max_event)

    def before_batch(self) -> None:
        now = self._read_now()
        # The system clock can step backwards (NTP, manual changes);
        # the watermark must not, so hold it until time catches up.
        if now > self._system_now:
            self._system_now = now

    def on_item(self, value: V) -> Tuple[datetime, datetime]:
        ts = self.ts_getter(value)
        _require_aware(ts, "the timestamp returned by the `ts_getter` of `EventClock`")
        watermark = self._watermark()
        try:
            candidate = ts - self.wait_for_system_duration
        except OverflowError:
            # Too early to represent: it can't move the watermark.
            return (ts, watermark)
        if candidate > watermark:
            self.state.watermark_base = candidate
            self.state.system_time_of_max_event = self._system_now
            return (ts, candidate)
        return (ts, watermark)

    def on_notify(self) -> datetime:
        self.before_batch()
        return self._watermark()

    def on_eof(self) -> datetime:
        return UTC_MAX

    def to_system_utc(self, timestamp: datetime) -> Optional[datetime]:
        return self.to_system(timestamp)

    def snapshot(self) -> _EventClockState:
        return copy.deepcopy(self.state)


@dataclass
class EventClock(Clock[V, _EventClockState]):
    """Timestamp each value with a time it carries.

    The watermark is the latest timestamp seen minus
    `wait_for_system_duration`; between values it moves forward with
    the system time. So a value is on time if it arrives no more than
    `wait_for_system_duration` (of system time) after a value with a
    later timestamp, and windows close even while the input is idle.

    Timestamps must be timezone-aware (`ts_getter` can convert, e.g.
    `dt.replace(tzinfo=timezone.utc)`); with the default `now_getter`
    they are compared with the UTC system time.

    >>> from datetime import datetime, timedelta, timezone
    >>> from rillet.operators.windowing import EventClock
    >>> from rillet.testing import TimeTestingGetter
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> now = TimeTestingGetter(t0)
    >>> clock = EventClock(lambda v: v, timedelta(seconds=5), now_getter=now.get)
    >>> logic = clock.build(None)
    >>> logic.before_batch()
    >>> logic.on_item(t0 + timedelta(seconds=10))[1] == t0 + timedelta(seconds=5)
    True
    >>> now.advance(timedelta(seconds=3))
    >>> logic.on_notify() == t0 + timedelta(seconds=8)
    True

    :arg ts_getter: Returns a value's timestamp; called once per
        value.

    :arg wait_for_system_duration: How long (in system time) to wait
        for out-of-order values after seeing a timestamp.

    :arg now_getter: Returns the current system time. Defaults to
        the UTC system time.

    :arg to_system_utc: Maps a window's close time to the UTC system
        time at which to wake up and close it; `None` means don't
        wake up for it. Defaults to the close time itself.
    """

    ts_getter: Callable[[V], datetime]
    wait_for_system_duration: timedelta
    now_getter: Callable[[], datetime] = _get_system_utc
    to_system_utc: Callable[[datetime], Optional[datetime]] = _identity

    def build(self, resume_state: Optional[_EventClockState]) -> _EventClockLogic[V]:
        """Make the clock logic for one key.

        :arg resume_state: A previous snapshot, or `None`.

        :returns: The clock logic.
        """
        state = resume_state if resume_state is not None else _new_event_clock_state()
        return _EventClockLogic(
            self.now_getter,
            self.ts_getter,
            self.to_system_utc,
            self.wait_for_system_duration,
            state,
        )


# --- Windowers -------------------------------------------------------


@dataclass
class WindowMetadata:
    """What is known about a window when it closes.

    For `TumblingWindower` and `SlidingWindower` a window covers
    `open_time <= t < close_time`; for `SessionWindower`, `open_time`
    and `close_time` are the first and last timestamps in the session
    (both included).

    >>> from datetime import datetime, timezone
    >>> from rillet.operators.windowing import WindowMetadata
    >>> t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> WindowMetadata(t, t).merged_ids
    set()
    """

    open_time: datetime
    """When the window opens."""

    close_time: datetime
    """When the window closes."""

    merged_ids: Set[int] = field(default_factory=set)
    """IDs of the windows that were merged into this one."""


class WindowerLogic(ABC, Generic[S]):
    """The per-key state of a windower: the open windows.

    Built by `Windower.build` for each key a windowing step sees.
    Window IDs are `int`s, unique per key. To write a new kind of
    window, subclass this and `Windower`.
    """

    @abstractmethod
    def open_for(self, timestamp: datetime) -> Iterable[int]:
        """Open (or find) the windows an on-time value belongs in.

        :arg timestamp: The value's timestamp.

        :returns: The IDs of those windows.
        """
        ...

    @abstractmethod
    def late_for(self, timestamp: datetime) -> Iterable[int]:
        """Name the windows a late value would have belonged in.

        Must not open anything. May return a stand-in ID when the
        windows can't be known.

        :arg timestamp: The late value's timestamp.

        :returns: Window IDs.
        """
        ...

    @abstractmethod
    def merged(self) -> Iterable[Tuple[int, int]]:
        """Report the merges since the last call.

        Called after each batch of `open_for` calls. Each merge is
        reported once; a window merged away is never reported closed.

        :returns: `(original_window_id, target_window_id)` pairs.
        """
        ...

    @abstractmethod
    def close_for(self, watermark: datetime) -> Iterable[Tuple[int, WindowMetadata]]:
        """Close and forget the windows that end before the watermark.

        A closed window is never opened again (values for it are late
        from then on).

        :arg watermark: The watermark; it never goes backwards.

        :returns: `(window_id, metadata)` of each closed window.
        """
        ...

    @abstractmethod
    def notify_at(self) -> Optional[datetime]:
        """When the next window might close, on this clock's time.

        :returns: The time, or `None` if no window is open.
        """
        ...

    @abstractmethod
    def is_empty(self) -> bool:
        """Whether this logic holds nothing worth keeping.

        If it is empty and no window logic or waiting value is left,
        the key's windowing state is dropped and rebuilt if the key
        comes back.

        :returns: `True` if there's nothing to keep.
        """
        ...

    @abstractmethod
    def snapshot(self) -> S:
        """Return the windower's state, for recovery.

        It is given back to `Windower.build` on resume. It must be
        picklable and must not change afterwards.

        :returns: The state.
        """
        ...


class Windower(ABC, Generic[S]):
    """The configuration of a windower; builds a `WindowerLogic` per key.

    Use `TumblingWindower`, `SlidingWindower` or `SessionWindower`, or
    subclass this together with `WindowerLogic`.
    """

    @abstractmethod
    def build(self, resume_state: Optional[S]) -> WindowerLogic[S]:
        """Make the windower logic for one key.

        :arg resume_state: What `WindowerLogic.snapshot` returned for
            this key in a previous run, or `None`.

        :returns: The windower logic.
        """
        ...


@dataclass
class _SlidingWindowerState:
    # Open windows by ID, in the order they were opened.
    opened: Dict[int, WindowMetadata] = field(default_factory=dict)


@dataclass
class _SlidingWindowerLogic(WindowerLogic[_SlidingWindowerState]):
    # Window `i` covers `[align_to + i * offset, ... + length)`.
    length: timedelta
    offset: timedelta
    align_to: datetime
    state: _SlidingWindowerState

    def _ids_containing(self, timestamp: datetime) -> range:
        since = timestamp - self.align_to
        first = (since - self.length) // self.offset + 1
        last = since // self.offset
        return range(first, last + 1)

    def open_for(self, timestamp: datetime) -> List[int]:
        ids = self._ids_containing(timestamp)
        opened = self.state.opened
        for window_id in ids:
            if window_id not in opened:
                open_time = self.align_to + self.offset * window_id
                opened[window_id] = WindowMetadata(open_time, open_time + self.length)
        return list(ids)

    def late_for(self, timestamp: datetime) -> List[int]:
        return list(self._ids_containing(timestamp))

    def merged(self) -> Iterable[Tuple[int, int]]:
        return EMPTY

    def close_for(self, watermark: datetime) -> List[Tuple[int, WindowMetadata]]:
        opened = self.state.opened
        closed = [(wid, meta) for wid, meta in opened.items() if meta.close_time <= watermark]
        for wid, _meta in closed:
            del opened[wid]
        return closed

    def notify_at(self) -> Optional[datetime]:
        return min((meta.close_time for meta in self.state.opened.values()), default=None)

    def is_empty(self) -> bool:
        return not self.state.opened

    def snapshot(self) -> _SlidingWindowerState:
        return copy.deepcopy(self.state)


def _check_positive(cls_name: str, name: str, value: timedelta) -> None:
    if value <= ZERO_TD:
        msg = f"`{cls_name}` `{name}` must be a positive `timedelta`; got {value!r}"
        raise ValueError(msg)


@dataclass
class SlidingWindower(Windower[_SlidingWindowerState]):
    """Windows of a fixed `length`, one starting every `offset`.

    With `offset < length` the windows overlap and a value can be in
    several of them; with `offset == length` this is a
    `TumblingWindower`. `offset > length` is refused, as values
    between windows would be lost. A window includes its open time
    and excludes its close time. Window `0` opens at `align_to`;
    earlier windows have negative IDs.

    >>> from datetime import datetime, timedelta, timezone
    >>> from rillet.operators.windowing import SlidingWindower
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> windower = SlidingWindower(timedelta(minutes=10), timedelta(minutes=5), t0)
    >>> logic = windower.build(None)
    >>> logic.open_for(t0 + timedelta(minutes=7))
    [0, 1]

    Changing these parameters between a run and its resume makes the
    windows open at that time come out wrong.

    :arg length: How long each window is.

    :arg offset: Time between the starts of consecutive windows.

    :arg align_to: A time at which a window starts, e.g. the top of
        an hour. Must be timezone-aware.
    """

    length: timedelta
    offset: timedelta
    align_to: datetime

    def __post_init__(self) -> None:
        _check_positive("SlidingWindower", "length", self.length)
        _check_positive("SlidingWindower", "offset", self.offset)
        if self.offset > self.length:
            msg = (
                f"`SlidingWindower` `offset` ({self.offset}) can't be longer than "
                f"`length` ({self.length}): values in the gaps between windows would "
                "be lost; use an `offset` of at most `length`"
            )
            raise ValueError(msg)

    def build(self, resume_state: Optional[_SlidingWindowerState]) -> _SlidingWindowerLogic:
        """Make the windower logic for one key.

        :arg resume_state: A previous snapshot, or `None`.

        :returns: The windower logic.
        """
        state = resume_state if resume_state is not None else _SlidingWindowerState()
        return _SlidingWindowerLogic(self.length, self.offset, self.align_to, state)


@dataclass
class TumblingWindower(Windower[_SlidingWindowerState]):
    """Back-to-back windows of a fixed `length`.

    Every value is in exactly one window. A window includes its open
    time and excludes its close time. Window `0` opens at `align_to`;
    earlier windows have negative IDs.

    >>> from datetime import datetime, timedelta, timezone
    >>> from rillet.operators.windowing import TumblingWindower
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> logic = TumblingWindower(timedelta(minutes=10), t0).build(None)
    >>> logic.open_for(t0 + timedelta(minutes=25)), logic.open_for(t0 - timedelta(minutes=1))
    ([2], [-1])

    Changing these parameters between a run and its resume makes the
    windows open at that time come out wrong.

    :arg length: How long each window is.

    :arg align_to: A time at which a window starts, e.g. the top of
        an hour. Must be timezone-aware.
    """

    length: timedelta
    align_to: datetime

    def __post_init__(self) -> None:
        _check_positive("TumblingWindower", "length", self.length)

    def build(self, resume_state: Optional[_SlidingWindowerState]) -> _SlidingWindowerLogic:
        """Make the windower logic for one key.

        :arg resume_state: A previous snapshot, or `None`.

        :returns: The windower logic.
        """
        state = resume_state if resume_state is not None else _SlidingWindowerState()
        return _SlidingWindowerLogic(self.length, self.length, self.align_to, state)


@dataclass
class _SessionWindowerState:
    # The last session ID handed out.
    max_key: int = LATE_SESSION_ID
    # Open sessions by ID, in the order they were opened.
    sessions: Dict[int, WindowMetadata] = field(default_factory=dict)
    # `(original_id, target_id)` merges not yet reported.
    merge_queue: List[Tuple[int, int]] = field(default_factory=list)


def _by_open_time(id_meta: Tuple[int, WindowMetadata]) -> datetime:
    return id_meta[1].open_time


@dataclass
class _SessionWindowerLogic(WindowerLogic[_SessionWindowerState]):
    gap: timedelta
    state: _SessionWindowerState

    def _merge_overlapping(self) -> None:
        # Walk the sessions by open time and fold each one that starts
        # within `gap` of the running session's close into it.
        sessions = self.state.sessions
        if len(sessions) < 2:
            return
        ordered = sorted(sessions.items(), key=_by_open_time)
        into_id, into = ordered[0]
        for this_id, this in ordered[1:]:
            if this.open_time - into.close_time <= self.gap:
                if this.close_time > into.close_time:
                    into.close_time = this.close_time
                into.merged_ids.add(this_id)
                del sessions[this_id]
                self.state.merge_queue.append((this_id, into_id))
            else:
                into_id, into = this_id, this

    def open_for(self, timestamp: datetime) -> Tuple[int, ...]:
        for window_id, meta in self.state.sessions.items():
            if meta.open_time <= timestamp <= meta.close_time:
                # Inside a session: nothing moves, nothing merges.
                return (window_id,)
            if ZERO_TD < meta.open_time - timestamp <= self.gap:
                meta.open_time = timestamp
                self._merge_overlapping()
                return (window_id,)
            if ZERO_TD < timestamp - meta.close_time <= self.gap:
                meta.close_time = timestamp
                self._merge_overlapping()
                return (window_id,)
        # More than `gap` away from every session: a new one.
        self.state.max_key += 1
        window_id = self.state.max_key
        self.state.sessions[window_id] = WindowMetadata(timestamp, timestamp)
        return (window_id,)

    def late_for(self, timestamp: datetime) -> Tuple[int, ...]:
        return (LATE_SESSION_ID,)

    def merged(self) -> List[Tuple[int, int]]:
        merges = self.state.merge_queue
        self.state.merge_queue = []
        return merges

    def close_for(self, watermark: datetime) -> List[Tuple[int, WindowMetadata]]:
        try:
            closes_before = watermark - self.gap
        except OverflowError:
            closes_before = UTC_MIN
        sessions = self.state.sessions
        closed = [(wid, meta) for wid, meta in sessions.items() if meta.close_time < closes_before]
        for wid, _meta in closed:
            del sessions[wid]
        return closed

    def notify_at(self) -> Optional[datetime]:
        last = min((meta.close_time for meta in self.state.sessions.values()), default=None)
        return None if last is None else last + self.gap

    def is_empty(self) -> bool:
        # Unlike Bytewax 0.21.1 (which keeps every key's session
        # windower forever), nothing is kept once the key's sessions
        # have closed. Session IDs of a key that comes back start
        # again at 0.
        return not self.state.sessions and not self.state.merge_queue

    def snapshot(self) -> _SessionWindowerState:
        return copy.deepcopy(self.state)


@dataclass
class SessionWindower(Windower[_SessionWindowerState]):
    """Sessions: values less than `gap` apart share a window.

    A value within `gap` of a session (before or after it) joins and
    extends it; when that brings two sessions within `gap` of each
    other, they merge into the earlier one, whose `WindowMetadata`
    lists the merged IDs. A session closes once the watermark is more
    than `gap` past its last value. Values are late only if the
    watermark has passed them; they get the ID `LATE_SESSION_ID`.

    Once all of a key's sessions have closed, none of its state is
    kept (Bytewax keeps it forever); if the key comes back, its
    session IDs start from 0 again.

    >>> from datetime import datetime, timedelta, timezone
    >>> from rillet.operators.windowing import SessionWindower
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> logic = SessionWindower(gap=timedelta(seconds=10)).build(None)
    >>> logic.open_for(t0), logic.open_for(t0 + timedelta(seconds=20))
    ((0,), (1,))
    >>> logic.open_for(t0 + timedelta(seconds=10))
    (0,)
    >>> list(logic.merged())
    [(1, 0)]

    :arg gap: The longest time between values of one session; not
        negative.
    """

    gap: timedelta

    def __post_init__(self) -> None:
        if self.gap < ZERO_TD:
            msg = f"`SessionWindower` `gap` must not be negative; got {self.gap!r}"
            raise ValueError(msg)

    def build(self, resume_state: Optional[_SessionWindowerState]) -> _SessionWindowerLogic:
        """Make the windower logic for one key.

        :arg resume_state: A previous snapshot, or `None`.

        :returns: The windower logic.
        """
        state = resume_state if resume_state is not None else _SessionWindowerState()
        return _SessionWindowerLogic(self.gap, state)


# --- Window logic ----------------------------------------------------


@dataclass
class WindowLogic(ABC, Generic[V, W, S]):
    """What one window computes. Subclass this for `window`.

    One instance exists per open window of each key. Values emitted
    by these methods go to the `down` stream as
    `(key, (window_id, value))`.
    """

    @abstractmethod
    def on_value(self, value: V) -> Iterable[W]:
        """Take a new value of this window.

        In timestamp order if the step is `ordered`, otherwise in
        arrival order.

        :arg value: The value of an upstream `(key, value)` item.

        :returns: Values to emit now.
        """
        ...

    @abstractmethod
    def on_merge(self, original: Self) -> Iterable[W]:
        """Absorb the state of another window merged into this one.

        `original` is dropped afterwards. Only windowers that merge
        (like `SessionWindower`) cause this.

        :arg original: The logic of the merged window.

        :returns: Values to emit now.
        """
        ...

    @abstractmethod
    def on_close(self) -> Iterable[W]:
        """Called once when the window closes; the logic is then dropped.

        :returns: Values to emit now.
        """
        ...

    @abstractmethod
    def snapshot(self) -> S:
        """Return this window's state, for recovery.

        It is given to `window`'s `builder` on resume. It must be
        picklable and must not change afterwards.

        :returns: The state.
        """
        ...


# --- The per-key stateful logic ----------------------------------------

# Values waiting for the watermark, with their timestamps.
_Queued: TypeAlias = Tuple[Any, datetime]

# What `_KeyWindows` emits: `(window_id, tag, payload)` with tag "E"
# (a window emitted `payload`), "L" (`payload` is a late value) or "M"
# (`payload` is a closed window's `WindowMetadata`).
_Event: TypeAlias = Tuple[int, str, Any]


@dataclass(frozen=True)
class _WindowSnapshot(Generic[V, SC, SW, S]):
    clock_state: SC
    windower_state: SW
    logic_states: Dict[int, S]
    queue: List[Tuple[V, datetime]]


@dataclass
class _KeyWindows(StatefulBatchLogic[V, _Event, _WindowSnapshot]):
    """All windowing state of one key."""

    step_id: str
    clock: ClockLogic[V, Any]
    windower: WindowerLogic[Any]
    builder: Callable[[Optional[Any]], WindowLogic[V, Any, Any]]
    ordered: bool
    logics: Dict[int, WindowLogic[V, Any, Any]] = field(default_factory=dict)
    queue: List[_Queued] = field(default_factory=list)
    _last_watermark: datetime = UTC_MIN

    def _advance(self, watermark: datetime) -> None:
        if watermark < self._last_watermark:
            msg = (
                f"the clock of step {self.step_id!r} moved its watermark backwards "
                f"from {self._last_watermark} to {watermark}; a `ClockLogic` must "
                "never return an earlier watermark than before"
            )
            raise ValueError(msg)
        self._last_watermark = watermark

    def _insert(self, due: List[_Queued], events: List[_Event]) -> None:
        logics = self.logics
        for value, ts in due:
            for window_id in self.windower.open_for(ts):
                logic = logics.get(window_id)
                if logic is None:
                    logic = self.builder(None)
                    logics[window_id] = logic
                events.extend((window_id, "E", w) for w in logic.on_value(value))

    def _merge(self, events: List[_Event]) -> None:
        for original_id, target_id in self.windower.merged():
            if original_id == target_id:
                continue
            original = self.logics.pop(original_id)
            target = self.logics[target_id]
            events.extend((target_id, "E", w) for w in target.on_merge(original))

    def _close(self, watermark: datetime, events: List[_Event]) -> None:
        for window_id, meta in self.windower.close_for(watermark):
            logic = self.logics.pop(window_id)
            events.extend((window_id, "E", w) for w in logic.on_close())
            events.append((window_id, "M", meta))

    def _flush(self, watermark: datetime, events: List[_Event]) -> Tuple[List[_Event], bool]:
        if self.ordered:
            due, self.queue = partition(self.queue, lambda entry: entry[1] <= watermark)
            due.sort(key=lambda entry: entry[1])
        else:
            due, self.queue = self.queue, []
        self._insert(due, events)
        self._merge(events)
        self._close(watermark, events)
        empty = not self.logics and not self.queue and self.windower.is_empty()
        return (events, StatefulBatchLogic.DISCARD if empty else StatefulBatchLogic.RETAIN)

    def _naive(self, ex: _NaiveDatetimeError) -> TypeError:
        return _naive_in_step(self.step_id, ex)

    def on_batch(self, values: List[V]) -> Tuple[Iterable[_Event], bool]:
        events: List[_Event] = []
        clock = self.clock
        try:
            clock.before_batch()
            for value in values:
                ts, watermark = clock.on_item(value)
                self._advance(watermark)
                if ts < watermark:
                    events.extend(
                        (window_id, "L", value) for window_id in self.windower.late_for(ts)
                    )
                else:
                    self.queue.append((value, ts))
        except _NaiveDatetimeError as ex:
            raise self._naive(ex) from None
        return self._flush(self._last_watermark, events)

    def on_notify(self) -> Tuple[Iterable[_Event], bool]:
        try:
            watermark = self.clock.on_notify()
        except _NaiveDatetimeError as ex:
            raise self._naive(ex) from None
        self._advance(watermark)
        return self._flush(watermark, [])

    def on_eof(self) -> Tuple[Iterable[_Event], bool]:
        watermark = self.clock.on_eof()
        self._advance(watermark)
        return self._flush(watermark, [])

    def notify_at(self) -> Optional[datetime]:
        at = self.windower.notify_at()
        if self.ordered and self.queue:
            # Wake up when the earliest waiting value becomes due, or
            # it would wait for the next value or the end of input.
            first_due = min(ts for _value, ts in self.queue)
            at = first_due if at is None else min(at, first_due)
        return None if at is None else self.clock.to_system_utc(at)

    def snapshot(self) -> _WindowSnapshot:
        return _WindowSnapshot(
            self.clock.snapshot(),
            self.windower.snapshot(),
            {window_id: logic.snapshot() for window_id, logic in self.logics.items()},
            list(self.queue),
        )


# --- Operators -------------------------------------------------------


@dataclass(frozen=True)
class WindowOut(Generic[V, W_co]):
    """The streams a windowing operator returns."""

    down: KeyedStream[Tuple[int, W_co]]
    """Results, as `(key, (window_id, value))`."""

    late: KeyedStream[Tuple[int, V]]
    """Late values, as `(key, (window_id, value))`.

    The window ID is the window the value would have been in (for
    sessions, `LATE_SESSION_ID`); it may never appear in `down` or
    `meta`.
    """

    meta: KeyedStream[Tuple[int, WindowMetadata]]
    """`(key, (window_id, WindowMetadata))` once for each window that
    closes. Windows merged into another don't appear; they are listed
    in the target's `WindowMetadata.merged_ids`."""


def _pick(tag: str, event: _Event) -> Optional[Tuple[int, Any]]:
    window_id, event_tag, payload = event
    return (window_id, payload) if event_tag == tag else None


def _check_align_to(step_id: str, windower: Windower[Any]) -> None:
    if isinstance(windower, (SlidingWindower, TumblingWindower)):
        align_to = windower.align_to
        if isinstance(align_to, datetime) and align_to.utcoffset() is None:
            msg = (
                f"step {step_id!r}: `{type(windower).__name__}` `align_to` must be "
                f"a timezone-aware `datetime`; got the naive {align_to!r}; use "
                "e.g. `datetime(..., tzinfo=timezone.utc)`"
            )
            raise TypeError(msg)


@operator
def window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    builder: Callable[[Optional[S]], WindowLogic[V, W, S]],
    ordered: bool = True,
) -> WindowOut[V, W]:
    """The general windowing operator: your own `WindowLogic` per window.

    For each key, `clock` timestamps the values and `windower` places
    them in windows; each window gets a logic from `builder`. Values
    are held back until the watermark reaches their timestamp (if
    `ordered`), then given to their windows' logics; when the
    watermark passes a window's end, its logic's `on_close` runs.
    The fold, collect, reduce, count, max, min and join windowing
    operators are all built on this.

    >>> from datetime import datetime, timedelta, timezone
    >>> import rillet.operators as op
    >>> import rillet.operators.windowing as win
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> class First(win.WindowLogic):
    ...     def __init__(self):
    ...         self.first = None
    ...     def on_value(self, value):
    ...         if self.first is None:
    ...             self.first = value
    ...         return ()
    ...     def on_merge(self, original):
    ...         return ()
    ...     def on_close(self):
    ...         return (self.first,)
    ...     def snapshot(self):
    ...         return self.first
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> events = [("k", t0 + timedelta(seconds=s)) for s in (3, 1, 12)]
    >>> flow = Dataflow("window_eg")
    >>> s = op.input("inp", flow, TestingSource(events))
    >>> clock = win.EventClock(lambda t: t, timedelta(seconds=5))
    >>> windower = win.TumblingWindower(timedelta(seconds=10), t0)
    >>> out = win.window("first", s, clock, windower, lambda state: First())
    >>> _ = op.inspect("out", op.map_value("secs", out.down, lambda w: (w[0], w[1].second)))
    >>> run_main(flow)
    window_eg.out: ('k', (0, 1))
    window_eg.out: ('k', (1, 12))

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg clock: How time is told.

    :arg windower: Which windows there are.

    :arg builder: Called when a window opens, with the window's state
        from `WindowLogic.snapshot` on resume (else `None`); returns
        the window's logic.

    :arg ordered: Give values to the logics in timestamp order
        (waiting for the watermark). If `False`, in arrival order, as
        soon as they arrive. Defaults to `True`.

    :returns: The `down`, `late` and `meta` streams.
    """
    _check_align_to(step_id, windower)

    def key_builder(resume_state: Optional[_WindowSnapshot]) -> _KeyWindows:
        try:
            if resume_state is None:
                return _KeyWindows(
                    step_id, clock.build(None), windower.build(None), builder, ordered
                )
            return _KeyWindows(
                step_id,
                clock.build(resume_state.clock_state),
                windower.build(resume_state.windower_state),
                builder,
                ordered,
                {wid: builder(state) for wid, state in resume_state.logic_states.items()},
                list(resume_state.queue),
            )
        except _NaiveDatetimeError as ex:
            raise _naive_in_step(step_id, ex) from None

    events = op.stateful_batch("stateful_batch", up, key_builder)
    down = op.filter_map_value("unwrap_down", events, partial(_pick, "E"))
    late = op.filter_map_value("unwrap_late", events, partial(_pick, "L"))
    meta = op.filter_map_value("unwrap_meta", events, partial(_pick, "M"))
    return WindowOut(down, late, meta)


@dataclass
class _FoldWindowLogic(WindowLogic[V, S, S]):
    folder: Callable[[S, V], S]
    merger: Callable[[S, S], S]
    state: S

    def on_value(self, value: V) -> Iterable[S]:
        self.state = self.folder(self.state, value)
        return EMPTY

    def on_merge(self, original: Self) -> Iterable[S]:
        self.state = self.merger(self.state, original.state)
        return EMPTY

    def on_close(self) -> Iterable[S]:
        return (self.state,)

    def snapshot(self) -> S:
        return copy.deepcopy(self.state)


@dataclass(frozen=True)
class _FoldBuilder(Generic[V, S]):
    """`fold_window`'s logic builder; the engine folds natively when it
    sees one (see `_native_plan`)."""

    builder: Callable[[], S]
    folder: Callable[[S, V], S]
    merger: Callable[[S, S], S]

    def __call__(self, resume_state: Optional[S]) -> _FoldWindowLogic[V, S]:
        state = resume_state if resume_state is not None else self.builder()
        return _FoldWindowLogic(self.folder, self.merger, state)


@operator
def fold_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    builder: Callable[[], S],
    folder: Callable[[S, V], S],
    merger: Callable[[S, S], S],
    ordered: bool = True,
) -> WindowOut[V, S]:
    """Fold each window's values into an accumulator.

    Each window starts from `builder()`; `folder(acc, value)` returns
    the new accumulator; when two windows merge (sessions),
    `merger(acc, other_acc)` combines them. The accumulator is emitted
    when the window closes.

    >>> from datetime import datetime, timedelta, timezone
    >>> import rillet.operators as op
    >>> import rillet.operators.windowing as win
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> sales = [("shop", (5, t0)), ("shop", (7, t0 + timedelta(minutes=4))),
    ...          ("shop", (1, t0 + timedelta(minutes=11)))]
    >>> flow = Dataflow("fold_window_eg")
    >>> s = op.input("inp", flow, TestingSource(sales))
    >>> clock = win.EventClock(lambda v: v[1], wait_for_system_duration=timedelta(0))
    >>> windower = win.TumblingWindower(timedelta(minutes=10), align_to=t0)
    >>> totals = win.fold_window(
    ...     "total", s, clock, windower, lambda: 0, lambda acc, v: acc + v[0], lambda a, b: a + b
    ... )
    >>> _ = op.inspect("out", totals.down)
    >>> run_main(flow)
    fold_window_eg.out: ('shop', (0, 12))
    fold_window_eg.out: ('shop', (1, 1))

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg clock: How time is told.

    :arg windower: Which windows there are.

    :arg builder: Returns a new empty accumulator.

    :arg folder: Combines an accumulator and a value into the new
        accumulator.

    :arg merger: Combines the accumulators of two merging windows.

    :arg ordered: Fold values in timestamp order (waiting for the
        watermark). If `False`, in arrival order. Defaults to `True`.

    :returns: The `down` stream has `(window_id, accumulator)` for
        each window as it closes.
    """

    return window("window", up, clock, windower, _FoldBuilder(builder, folder, merger), ordered)


def _append(acc: List[V], value: V) -> List[V]:
    acc.append(value)
    return acc


def _add_to_set(acc: Set[V], value: V) -> Set[V]:
    acc.add(value)
    return acc


def _update_dict(acc: Dict[DK, DV], other: Dict[DK, DV]) -> Dict[DK, DV]:
    acc.update(other)
    return acc


def _collectors(step_id: str, into: Any) -> Tuple[Callable, Callable, Callable]:
    if isinstance(into, type) and issubclass(into, list):
        return (list, _append, list.__add__)
    if isinstance(into, type) and issubclass(into, set):
        return (set, _add_to_set, set.union)
    if isinstance(into, type) and issubclass(into, dict):

        def put(acc: Dict[DK, DV], k_v: Tuple[DK, DV]) -> Dict[DK, DV]:
            try:
                k, v = k_v
            except (TypeError, ValueError) as ex:
                msg = (
                    f"step {step_id!r} collects into a `dict`, so its values must "
                    f"be `(key, value)` 2-tuples; got a {type(k_v)!r}; map the "
                    "values to pairs first, or collect into a `list`"
                )
                raise TypeError(msg) from ex
            acc[k] = v
            return acc

        return (dict, put, _update_dict)
    msg = (
        f"step {step_id!r}: `collect_window` can collect into `list`, `set` or "
        f"`dict`, not {into!r}; for other containers use `fold_window`"
    )
    raise TypeError(msg)


@overload
def collect_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
) -> WindowOut[V, List[V]]: ...


@overload
def collect_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    into: Type[List],
) -> WindowOut[V, List[V]]: ...


@overload
def collect_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    into: Type[Set],
) -> WindowOut[V, Set[V]]: ...


@overload
def collect_window(
    step_id: str,
    up: KeyedStream[Tuple[DK, DV]],
    clock: Clock[Tuple[DK, DV], SC],
    windower: Windower[Any],
    into: Type[Dict],
) -> WindowOut[Tuple[DK, DV], Dict[DK, DV]]: ...


@overload
def collect_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    into=list,
) -> WindowOut[V, Any]: ...


@operator
def collect_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    into=list,
    ordered: bool = True,
) -> WindowOut[V, Any]:
    """Collect each window's values into a `list`, `set` or `dict`.

    For `dict`, the values must be `(key, value)` pairs; a later
    pair overwrites an earlier one with the same key.

    >>> from datetime import datetime, timedelta, timezone
    >>> import rillet.operators as op
    >>> import rillet.operators.windowing as win
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> clicks = [("ann", ("home", t0 + timedelta(seconds=2))),
    ...           ("ann", ("cart", t0 + timedelta(seconds=1))),
    ...           ("ann", ("help", t0 + timedelta(seconds=40)))]
    >>> flow = Dataflow("collect_window_eg")
    >>> s = op.input("inp", flow, TestingSource(clicks))
    >>> clock = win.EventClock(lambda v: v[1], wait_for_system_duration=timedelta(seconds=5))
    >>> sessions = win.collect_window("pages", s, clock, win.SessionWindower(timedelta(seconds=10)))
    >>> pages = op.map_value("names", sessions.down, lambda w: (w[0], [p for p, _ in w[1]]))
    >>> _ = op.inspect("out", pages)
    >>> run_main(flow)
    collect_window_eg.out: ('ann', (0, ['cart', 'home']))
    collect_window_eg.out: ('ann', (1, ['help']))

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg clock: How time is told.

    :arg windower: Which windows there are.

    :arg into: `list` (the default), `set` or `dict`.

    :arg ordered: Collect values in timestamp order (waiting for the
        watermark). If `False`, in arrival order. Defaults to `True`.

    :returns: The `down` stream has `(window_id, container)` for each
        window as it closes.
    """
    new, add, combine = _collectors(step_id, into)
    return fold_window("fold_window", up, clock, windower, new, add, combine, ordered)


def _count_one(count: int, _value: Any) -> int:
    return count + 1


def _add(a: int, b: int) -> int:
    return a + b


def _zero() -> int:
    return 0


@operator
def count_window(
    step_id: str,
    up: Stream[X],
    clock: Clock[X, SC],
    windower: Windower[Any],
    key: Callable[[X], str],
) -> WindowOut[X, int]:
    """Count the items of each key in each window.

    >>> from datetime import datetime, timedelta, timezone
    >>> import rillet.operators as op
    >>> import rillet.operators.windowing as win
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> hits = [("/a", t0), ("/b", t0 + timedelta(seconds=20)), ("/a", t0 + timedelta(seconds=50)),
    ...         ("/a", t0 + timedelta(seconds=70))]
    >>> flow = Dataflow("count_window_eg")
    >>> s = op.input("inp", flow, TestingSource(hits))
    >>> clock = win.EventClock(lambda h: h[1], wait_for_system_duration=timedelta(0))
    >>> windower = win.TumblingWindower(timedelta(minutes=1), align_to=t0)
    >>> counts = win.count_window("hits", s, clock, windower, key=lambda h: h[0])
    >>> _ = op.inspect("out", counts.down)
    >>> run_main(flow)
    count_window_eg.out: ('/a', (0, 2))
    count_window_eg.out: ('/a', (1, 1))
    count_window_eg.out: ('/b', (0, 1))

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream of items (not keyed).

    :arg clock: How time is told; gets the whole items.

    :arg windower: Which windows there are.

    :arg key: Returns the `str` key to count an item under.

    :returns: The `down` stream has `(key, (window_id, count))` for
        each window as it closes.
    """
    keyed = op.key_on("keyed", up, key)
    return fold_window(
        "sum", keyed, clock, windower, _zero, _count_one, _add, ordered=False
    )


@operator
def reduce_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    reducer: Callable[[V, V], V],
) -> WindowOut[V, V]:
    """Combine each window's values pairwise into one.

    The first value of a window is the start; `reducer(acc, value)`
    returns the new accumulated value. Values are combined in arrival
    order (not timestamp order), so `reducer` should not depend on
    the order. It also combines the results of merging windows.

    >>> from datetime import datetime, timedelta, timezone
    >>> import rillet.operators as op
    >>> import rillet.operators.windowing as win
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> flow = Dataflow("reduce_window_eg")
    >>> nums = op.input("inp", flow, TestingSource([("x", 2), ("x", 3), ("x", 4)]))
    >>> # Value n happened n * 3 seconds after t0.
    >>> clock = win.EventClock(lambda n: t0 + timedelta(seconds=n * 3), timedelta(0))
    >>> windower = win.TumblingWindower(timedelta(seconds=10), align_to=t0)
    >>> products = win.reduce_window("mul", nums, clock, windower, lambda a, b: a * b)
    >>> _ = op.inspect("out", products.down)
    >>> run_main(flow)
    reduce_window_eg.out: ('x', (0, 6))
    reduce_window_eg.out: ('x', (1, 4))

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg clock: How time is told.

    :arg windower: Which windows there are.

    :arg reducer: Combines the accumulated value and a new value.

    :returns: The `down` stream has `(window_id, value)` for each
        window as it closes.
    """

    def fold(acc: V, value: V) -> V:
        return value if acc is None else reducer(acc, value)

    return fold_window(
        "fold_window", up, clock, windower, _untyped_none, fold, reducer, ordered=False
    )


@overload
def max_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
) -> WindowOut[V, V]: ...


@overload
def max_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    by: Callable[[V], Any],
) -> WindowOut[V, V]: ...


@operator
def max_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    by=_identity,
) -> WindowOut[V, V]:
    """The largest value of each window.

    See the module's example. Of equal values, the first to arrive
    wins.

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg clock: How time is told.

    :arg windower: Which windows there are.

    :arg by: Returns what to compare a value by. Defaults to the
        value itself.

    :returns: The `down` stream has `(window_id, value)` for each
        window as it closes.
    """
    return reduce_window("reduce_window", up, clock, windower, partial(max, key=by))


@overload
def min_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
) -> WindowOut[V, V]: ...


@overload
def min_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    by: Callable[[V], Any],
) -> WindowOut[V, V]: ...


@operator
def min_window(
    step_id: str,
    up: KeyedStream[V],
    clock: Clock[V, Any],
    windower: Windower[Any],
    by=_identity,
) -> WindowOut[V, V]:
    """The smallest value of each window.

    Of equal values, the first to arrive wins.

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg clock: How time is told.

    :arg windower: Which windows there are.

    :arg by: Returns what to compare a value by. Defaults to the
        value itself.

    :returns: The `down` stream has `(window_id, value)` for each
        window as it closes.
    """
    return reduce_window("reduce_window", up, clock, windower, partial(min, key=by))


@dataclass
class _JoinWindowLogic(WindowLogic[Tuple[int, Any], Tuple, _JoinState]):
    insert_mode: JoinInsertMode
    emit_mode: JoinEmitMode
    state: _JoinState

    def _rows_now(self) -> Iterable[Tuple]:
        if self.emit_mode == "complete":
            if self.state.all_set():
                rows = self.state.astuples()
                self.state.clear()
                return rows
            return EMPTY
        if self.emit_mode == "running":
            return self.state.astuples()
        return EMPTY

    def on_value(self, value: Tuple[int, Any]) -> Iterable[Tuple]:
        side, side_value = value
        mode = self.insert_mode
        if mode == "first":
            if not self.state.is_set(side):
                self.state.set_val(side, side_value)
        elif mode == "last":
            self.state.set_val(side, side_value)
        else:
            self.state.add_val(side, side_value)
        return self._rows_now()

    def on_merge(self, original: Self) -> Iterable[Tuple]:
        # As in Bytewax 0.21.1: in "first" mode the merged-in window's
        # values win where it has any, in "last" mode this window's.
        if self.insert_mode == "first":
            self.state |= original.state
        elif self.insert_mode == "last":
            original.state |= self.state
            self.state = original.state
        else:
            self.state += original.state
        return self._rows_now()

    def on_close(self) -> Iterable[Tuple]:
        return self.state.astuples() if self.emit_mode == "final" else EMPTY

    def snapshot(self) -> _JoinState:
        return copy.deepcopy(self.state)


def _side_value_ts(ts_getter: Callable[[Any], datetime], side_value: Tuple[int, Any]) -> datetime:
    return ts_getter(side_value[1])


@overload
def join_window(
    step_id: str,
    clock: Clock[V, Any],
    windower: Windower[Any],
    side1: KeyedStream[V],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"],
    ordered: bool = ...,
) -> WindowOut[V, Tuple[V]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[Union[U, V], SC],
    windower: Windower[Any],
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"],
    ordered: bool = ...,
) -> WindowOut[Union[U, V], Tuple[U, V]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[Union[U, V, W], SC],
    windower: Windower[Any],
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"],
    ordered: bool = ...,
) -> WindowOut[Union[U, V, W], Tuple[U, V, W]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[Union[U, V, W, X], SC],
    windower: Windower[Any],
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    side4: KeyedStream[X],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: Literal["complete"],
    ordered: bool = ...,
) -> WindowOut[Union[U, V, W, X], Tuple[U, V, W, X]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[V, Any],
    windower: Windower[Any],
    side1: KeyedStream[V],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode = ...,
    ordered: bool = ...,
) -> WindowOut[V, Tuple[Optional[V]]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[Union[U, V], SC],
    windower: Windower[Any],
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode = ...,
    ordered: bool = ...,
) -> WindowOut[Union[U, V], Tuple[Optional[U], Optional[V]]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[Union[U, V, W], SC],
    windower: Windower[Any],
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode = ...,
    ordered: bool = ...,
) -> WindowOut[Union[U, V, W], Tuple[Optional[U], Optional[V], Optional[W]]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[Union[U, V, W, X], SC],
    windower: Windower[Any],
    side1: KeyedStream[U],
    side2: KeyedStream[V],
    side3: KeyedStream[W],
    side4: KeyedStream[X],
    /,
    *,
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode = ...,
    ordered: bool = ...,
) -> WindowOut[Union[U, V, W, X], Tuple[Optional[U], Optional[V], Optional[W], Optional[X]]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[V, Any],
    windower: Windower[Any],
    *sides: KeyedStream[V],
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode = ...,
    ordered: bool = ...,
) -> WindowOut[V, Tuple[Optional[V], ...]]: ...


@overload
def join_window(
    step_id: str,
    clock: Clock[Any, SC],
    windower: Windower[Any],
    *sides: KeyedStream[Any],
    insert_mode: JoinInsertMode = ...,
    emit_mode: JoinEmitMode = ...,
    ordered: bool = ...,
) -> WindowOut[Any, Tuple]: ...


@operator
def join_window(
    step_id: str,
    clock: Clock[Any, Any],
    windower: Windower[Any],
    *sides: KeyedStream[Any],
    insert_mode: JoinInsertMode = "last",
    emit_mode: JoinEmitMode = "final",
    ordered: bool = True,
) -> WindowOut[Any, Tuple]:
    """Join the values of a key from several streams, per window.

    Rows are tuples with one value per side, in argument order (`None`
    for a side without a value). `insert_mode` says which values of a
    side are kept, `emit_mode` when rows are emitted: `"final"` (the
    default) when the window closes, `"complete"` as soon as every
    side has a value, `"running"` on every value. See
    `rillet.operators.JoinInsertMode` and `JoinEmitMode`. An
    `EventClock`'s `ts_getter` is called with the values of the sides.

    >>> from datetime import datetime, timedelta, timezone
    >>> import rillet.operators as op
    >>> import rillet.operators.windowing as win
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> flow = Dataflow("join_window_eg")
    >>> names = op.input("names", flow, TestingSource([("u1", ("Ann", t0))]))
    >>> emails = op.input(
    ...     "emails", flow, TestingSource([("u1", ("ann@example.com", t0 + timedelta(seconds=1)))])
    ... )
    >>> clock = win.EventClock(lambda v: v[1], wait_for_system_duration=timedelta(seconds=5))
    >>> windower = win.TumblingWindower(timedelta(minutes=1), align_to=t0)
    >>> joined = win.join_window("join", clock, windower, names, emails)
    >>> rows = op.map_value("strip", joined.down, lambda w: (w[0], tuple(v[0] for v in w[1])))
    >>> _ = op.inspect("out", rows)
    >>> run_main(flow)
    join_window_eg.out: ('u1', (0, ('Ann', 'ann@example.com')))

    :arg step_id: Step ID, unique among its sibling steps.

    :arg clock: How time is told.

    :arg windower: Which windows there are.

    :arg *sides: Keyed streams to join.

    :arg insert_mode: `"first"`, `"last"` (the default) or
        `"product"`.

    :arg emit_mode: `"complete"`, `"final"` (the default) or
        `"running"`.

    :arg ordered: Apply values in timestamp order (waiting for the
        watermark). If `False`, in arrival order. Defaults to `True`.

    :returns: The `down` stream has `(window_id, row)` items.
    """
    if insert_mode not in typing.get_args(JoinInsertMode):
        msg = (
            f"step {step_id!r}: unknown join `insert_mode` {insert_mode!r}; "
            f"use one of {typing.get_args(JoinInsertMode)!r}"
        )
        raise ValueError(msg)
    if emit_mode not in typing.get_args(JoinEmitMode):
        msg = (
            f"step {step_id!r}: unknown join `emit_mode` {emit_mode!r}; "
            f"use one of {typing.get_args(JoinEmitMode)!r}"
        )
        raise ValueError(msg)

    side_count = len(sides)
    labelled = _join_label_merge("add_names", *sides)

    if isinstance(clock, EventClock):
        # The windowing step sees `(side, value)`; read the timestamp
        # from the value.
        clock = EventClock(
            ts_getter=partial(_side_value_ts, clock.ts_getter),
            wait_for_system_duration=clock.wait_for_system_duration,
            now_getter=clock.now_getter,
            to_system_utc=clock.to_system_utc,
        )

    def logic_builder(resume_state: Optional[_JoinState]) -> _JoinWindowLogic:
        state = resume_state if resume_state is not None else _JoinState.for_side_count(side_count)
        return _JoinWindowLogic(insert_mode, emit_mode, state)

    return window("window", labelled, clock, windower, logic_builder, ordered=ordered)


# --- Native plan -------------------------------------------------------

_MICROSECOND = timedelta(microseconds=1)


def _micros(td: timedelta) -> int:
    return td // _MICROSECOND


def _native_clock(clock: Any) -> Optional[tuple]:
    if type(clock) is SystemClock:
        return ("system",)
    if type(clock) is EventClock:
        if not isinstance(clock.wait_for_system_duration, timedelta):
            return None
        now_getter = None if clock.now_getter is _get_system_utc else clock.now_getter
        to_system = None if clock.to_system_utc is _identity else clock.to_system_utc
        return ("event", clock.ts_getter, _micros(clock.wait_for_system_duration), now_getter, to_system)
    return None


def _native_windower(windower: Any) -> Optional[tuple]:
    if type(windower) is SessionWindower:
        return ("session", _micros(windower.gap))
    if type(windower) is TumblingWindower:
        length, offset = windower.length, windower.length
    elif type(windower) is SlidingWindower:
        length, offset = windower.length, windower.offset
    else:
        return None
    align_to = windower.align_to
    # Window bounds are `align_to + offset * i`: wall-clock arithmetic
    # in `align_to`'s zone. It equals UTC arithmetic only for a fixed
    # offset, so other zones (DST) keep the Python path.
    if not isinstance(align_to, datetime) or not isinstance(align_to.tzinfo, timezone):
        return None
    return ("sliding", _micros(length), _micros(offset), align_to)


def _native_logic(builder: Any) -> tuple:
    if isinstance(builder, _FoldBuilder):
        if builder.builder is _zero and builder.folder is _count_one and builder.merger is _add:
            return ("count",)
        return ("fold", builder.builder, builder.folder, builder.merger)
    return ("logic", builder)


def _native_plan(step: Any) -> Optional[tuple]:
    """How the engine runs a `window` step natively, or `None`.

    Only the built-in clocks and windowers run natively (exactly these
    classes: a subclass may override any method, so it keeps the
    Python path through the step's substeps). The window logic always
    runs natively around the user's callables: a counter for
    `count_window`, `builder`/`folder`/`merger` for the other folds,
    and any other `WindowLogic` through its methods.

    Returns `(clock, windower, logic, ordered, WindowMetadata)`, where
    `clock` is `("event", ts_getter, wait_us, now_getter, to_system_utc)`
    (`None` for the defaults) or `("system",)`; `windower` is
    `("sliding", length_us, offset_us, align_to)` or
    `("session", gap_us)`; `logic` is `("count",)`,
    `("fold", builder, folder, merger)` or `("logic", builder)`.

    For example, `count_window` with an `EventClock` waiting 1 s and
    10 s tumbling windows gives `(("event", ts_getter, 1000000, None,
    None), ("sliding", 10000000, 10000000, align_to), ("count",),
    False, WindowMetadata)` (tests/test_windowing_native.py).
    """
    clock = _native_clock(step.clock)
    windower = _native_windower(step.windower)
    if clock is None or windower is None:
        return None
    return (clock, windower, _native_logic(step.builder), bool(step.ordered), WindowMetadata)
