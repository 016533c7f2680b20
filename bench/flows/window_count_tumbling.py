"""Workload (d): `count_window` over tumbling 10 s event-time windows,
1,000 keys, out-of-order timestamps. Outputs are compared across engines
by an order-independent digest."""

from datetime import timedelta

import rillet.operators as op
import rillet.operators.windowing as win
from benchlib import BATCH_SIZE, EVENT_BASE, WAIT, CountingSink, item_count, keyed_events, window_digest
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

N = item_count()
EXPECTED_COUNT = None  # compared between engines instead
COMPARE_OUTPUTS = True

flow = Dataflow("bench_window_count_tumbling")
events = op.input("inp", flow, TestingSource(keyed_events(N), batch_size=BATCH_SIZE))
clock = win.EventClock(lambda e: e[1][0], wait_for_system_duration=WAIT)
windower = win.TumblingWindower(length=timedelta(seconds=10), align_to=EVENT_BASE)
counts = win.count_window("count", events, clock, windower, key=lambda e: e[0])
op.output("out", counts.down, CountingSink(checksum=window_digest))
