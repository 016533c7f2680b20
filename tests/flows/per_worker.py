"""Each worker emits three items naming itself; shows worker layout."""

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition

from flows.line_sink import LineSink


class _Part(StatelessSourcePartition):
    def __init__(self, worker_index, worker_count):
        self.items = [f"w{worker_index}/{worker_count}-{i}" for i in range(3)]

    def next_batch(self):
        if not self.items:
            raise StopIteration()
        return [self.items.pop(0)]


class PerWorker(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        return _Part(worker_index, worker_count)


flow = Dataflow("per_worker")
s = op.input("inp", flow, PerWorker())
op.output("out", s, LineSink())
