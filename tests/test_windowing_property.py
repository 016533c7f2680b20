"""Property test: `fold_window` agrees with a brute-force reference.

For random event streams (keys, integer-second timestamps in any
order), random waits, and random tumbling or sliding windows, the
windows' contents and the late values match a direct computation of
the documented rules:

- per key, the watermark is the largest `timestamp - wait` so far
  (the system time is frozen, so it never moves on its own);
- a value is late if its timestamp is before the watermark after it;
- an on-time value is in every window `i` with
  `align + i * offset <= t < align + i * offset + length`;
- with `ordered=True` a window sees its values in timestamp order
  (arrival order among equal timestamps), else in arrival order;
- at EOF every window closes.
"""

from typing import Dict, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rillet.operators.windowing as win
from windowing_support import at, event_clock, labels_fold, run_windowed, secs

EVENTS = st.lists(
    st.tuples(st.sampled_from("abc"), st.integers(min_value=-30, max_value=60)),
    max_size=25,
)


def _ids(t: int, length: int, offset: int, align: int) -> range:
    since = t - align
    return range((since - length) // offset + 1, since // offset + 1)


def reference(events, wait, length, offset, align, ordered):
    watermark: Dict[str, float] = {}
    windows: Dict[Tuple[str, int], List[Tuple[int, int, str]]] = {}
    late = []
    for i, (key, t) in enumerate(events):
        label = f"v{i}"
        wm = max(watermark.get(key, float("-inf")), t - wait)
        watermark[key] = wm
        ids = _ids(t, length, offset, align)
        if t < wm:
            late.extend((key, (wid, (label, t))) for wid in ids)
        else:
            for wid in ids:
                windows.setdefault((key, wid), []).append((t, i, label))
    down = []
    for (key, wid), vals in windows.items():
        if ordered:
            vals = sorted(vals)
        down.append((key, (wid, [label for _t, _i, label in vals])))
    return sorted(down), sorted(late)


def run(entry_point, events, wait, windower, ordered, batch_size):
    items = [(key, (f"v{i}", t)) for i, (key, t) in enumerate(events)]
    down, late, metas = run_windowed(
        entry_point,
        items,
        lambda s: labels_fold("win", s, event_clock(wait=wait), windower, ordered),
        batch_size,
    )
    # One metadata per emitted window, with matching IDs.
    assert sorted((k, wid) for k, (wid, _m) in metas) == sorted((k, wid) for k, (wid, _v) in down)
    return sorted(down), sorted(late)


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(
    events=EVENTS,
    wait=st.integers(min_value=0, max_value=20),
    length=st.integers(min_value=1, max_value=20),
    align=st.integers(min_value=-15, max_value=15),
    ordered=st.booleans(),
    batch_size=st.integers(min_value=1, max_value=4),
)
def test_tumbling_matches_reference(entry_point, events, wait, length, align, ordered, batch_size):
    windower = win.TumblingWindower(length=secs(length), align_to=at(align))
    got = run(entry_point, events, wait, windower, ordered, batch_size)
    assert got == reference(events, wait, length, length, align, ordered)


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
def test_sliding_matches_reference(
    entry_point, events, wait, length_offset, align, ordered, batch_size
):
    length, offset = length_offset
    windower = win.SlidingWindower(length=secs(length), offset=secs(offset), align_to=at(align))
    got = run(entry_point, events, wait, windower, ordered, batch_size)
    assert got == reference(events, wait, length, offset, align, ordered)


# The same reference checks on the Python path: a subclass of a built-in
# windower keeps the step's Python substeps (the built-ins above run
# natively), and both must follow the documented rules.


class _PySliding(win.SlidingWindower):
    pass


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
def test_python_path_sliding_matches_reference(
    entry_point, events, wait, length_offset, align, ordered, batch_size
):
    length, offset = length_offset
    windower = _PySliding(length=secs(length), offset=secs(offset), align_to=at(align))
    got = run(entry_point, events, wait, windower, ordered, batch_size)
    assert got == reference(events, wait, length, offset, align, ordered)
