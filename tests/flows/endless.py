"""Never ends: each worker prints `w<index>-<n>` every 20 ms."""

from datetime import datetime, timedelta, timezone

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition

from flows.line_sink import LineSink


class _Part(StatelessSourcePartition):
    def __init__(self, worker_index):
        self.worker_index = worker_index
        self.n = 0
        self.awake = datetime.now(timezone.utc)

    def next_batch(self):
        self.n += 1
        self.awake = datetime.now(timezone.utc) + timedelta(milliseconds=20)
        return [f"w{self.worker_index}-{self.n}"]

    def next_awake(self):
        return self.awake


class Endless(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        return _Part(worker_index)


flow = Dataflow("endless")
s = op.input("inp", flow, Endless())
op.output("out", s, LineSink())
