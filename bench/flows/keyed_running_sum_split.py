"""Workload (b) for the scaling comparison: the same `key_on` +
`stateful_map` running sum, but the input is split evenly across all workers
of the cluster (`WorkerSplitSource`), so that 1 process and 2 processes read
the same N items in total, each worker its own share."""

import rillet.operators as op
from benchlib import CountingSink, WorkerSplitSource, item_count
from rillet.dataflow import Dataflow

N = item_count()

EXPECTED_COUNT = N


def running_sum(total, x):
    total = x if total is None else total + x
    return total, total


flow = Dataflow("bench_keyed_running_sum_split")
nums = op.input("inp", flow, WorkerSplitSource(N))
keyed = op.key_on("key", nums, lambda x: str(x % 1000))
sums = op.stateful_map("running_sum", keyed, running_sum)
op.output("out", sums, CountingSink())
