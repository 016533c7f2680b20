"""A flow for a two-process cluster in which only process 1's worker hits
a bad record; process 0 must stop too, and say where the error is."""

import rillet.operators as op
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow
from rillet.inputs import DynamicSource, StatelessSourcePartition

BAD = 1_000_005


class _Counter(StatelessSourcePartition):
    def __init__(self, worker_index: int) -> None:
        self.base = worker_index * 1_000_000
        self.n = 0

    def next_batch(self):
        self.n += 1
        if self.n > 1_000_000:
            raise StopIteration()
        return [self.base + self.n]


class _PerWorker(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        return _Counter(worker_index)


def check(x):
    if x == BAD:
        raise ValueError(f"bad record {x}")
    return x


flow = Dataflow("fails")
s = op.input("inp", flow, _PerWorker())
s = op.map("check", s, check)
s = op.filter("drop_all", s, lambda x: False)
op.output("out", s, StdOutSink())
