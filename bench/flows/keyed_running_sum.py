"""Workload (b): `key_on` over 1,000 keys, then `stateful_map` keeping a running sum."""

import rillet.operators as op
from benchlib import BATCH_SIZE, CountingSink, item_count
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

N = item_count()

EXPECTED_COUNT = N  # one running sum per input item


def running_sum(total, x):
    total = x if total is None else total + x
    return total, total


flow = Dataflow("bench_keyed_running_sum")
nums = op.input("inp", flow, TestingSource(range(N), batch_size=BATCH_SIZE))
keyed = op.key_on("key", nums, lambda x: str(x % 1000))
sums = op.stateful_map("running_sum", keyed, running_sum)
op.output("out", sums, CountingSink())
