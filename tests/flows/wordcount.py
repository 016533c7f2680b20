"""Every worker reads the same words; counts are combined across
workers and processes, so the totals prove the exchange works.

Under `python -m rillet.testing -p 2` both processes share one stdout
pipe; LineSink's single write per batch keeps lines whole (StdOutSink
writes the newline separately, so lines of two processes can mix).
"""

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition

from flows.line_sink import LineSink

WORDS = "apple banana cherry apple banana apple date".split()


class _Part(StatelessSourcePartition):
    def __init__(self):
        self.items = list(WORDS)

    def next_batch(self):
        if not self.items:
            raise StopIteration()
        return [self.items.pop(0), self.items.pop(0)] if len(self.items) > 1 else [self.items.pop(0)]


class EveryWorker(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        return _Part()


flow = Dataflow("wordcount")
s = op.input("inp", flow, EveryWorker())
s = op.count_final("count", s, lambda w: w)
s = op.map("fmt", s, lambda kv: f"{kv[0]}={kv[1]}")
op.output("out", s, LineSink())
