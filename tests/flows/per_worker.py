"""Each worker emits three items naming itself; shows worker layout.

Several worker threads share stdout here, so the sink writes each batch
with one `write` call (StdOutSink writes the line and the newline
separately, which can interleave between threads).
"""

import sys

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition
from rillet.outputs import DynamicSink, StatelessSinkPartition


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


class _LinePart(StatelessSinkPartition):
    def write_batch(self, items):
        sys.stdout.write("".join(f"{x}\n" for x in items))
        sys.stdout.flush()


class LineSink(DynamicSink):
    def build(self, step_id, worker_index, worker_count):
        return _LinePart()


flow = Dataflow("per_worker")
s = op.input("inp", flow, PerWorker())
op.output("out", s, LineSink())
