"""Workload (f): `fold_window` with a Python folder over session windows
(5 s gap), 1,000 keys, out-of-order timestamps, a quiet gap every
50,000 events that closes every key's session."""

from datetime import timedelta

import rillet.operators as op
import rillet.operators.windowing as win
from benchlib import BATCH_SIZE, WAIT, CountingSink, item_count, keyed_events, window_digest
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

N = item_count()
EXPECTED_COUNT = None  # compared between engines instead
COMPARE_OUTPUTS = True


def add(total, event):
    return total + event[1]


flow = Dataflow("bench_window_fold_session")
events = op.input("inp", flow, TestingSource(keyed_events(N), batch_size=BATCH_SIZE))
clock = win.EventClock(lambda e: e[0], wait_for_system_duration=WAIT)
windower = win.SessionWindower(gap=timedelta(seconds=5))
sums = win.fold_window("sum", events, clock, windower, lambda: 0, add, lambda a, b: a + b)
op.output("out", sums.down, CountingSink(checksum=window_digest))
