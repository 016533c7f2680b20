"""Prints `item-0` .. `item-119`, one every 50 ms (about 6 seconds), for
the run-channel tests that take the studio away mid-run."""

from datetime import datetime, timedelta, timezone

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition

from flows.line_sink import LineSink

COUNT = 120


class _Part(StatelessSourcePartition):
    def __init__(self):
        self.n = 0
        self.awake = None

    def next_batch(self):
        if self.n >= COUNT:
            raise StopIteration()
        self.n += 1
        self.awake = datetime.now(timezone.utc) + timedelta(milliseconds=50)
        return [f"item-{self.n - 1}"]

    def next_awake(self):
        return self.awake


class Slow(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        return _Part() if worker_index == 0 else _Empty()


class _Empty(StatelessSourcePartition):
    def next_batch(self):
        raise StopIteration()


flow = Dataflow("slow")
s = op.input("inp", flow, Slow())
s = op.map("upper", s, str.upper)
op.output("out", s, LineSink())
