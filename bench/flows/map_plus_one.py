"""Workload (a): `map` (x -> x + 1) over the integers 0 .. N - 1."""

import rillet.operators as op
from benchlib import BATCH_SIZE, CountingSink, item_count
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

N = item_count()

EXPECTED_COUNT = N
EXPECTED_CHECKSUM = N * (N + 1) // 2  # sum of 1 .. N

flow = Dataflow("bench_map")
nums = op.input("inp", flow, TestingSource(range(N), batch_size=BATCH_SIZE))
plus_one = op.map("plus_one", nums, lambda x: x + 1)
op.output("out", plus_one, CountingSink(checksum=sum))
