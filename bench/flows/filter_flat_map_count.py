"""Workload (c): `filter` (keep even), `flat_map` (x -> [x, x]), then
`count_final` by `str(x % 1000)`."""

import rillet.operators as op
from benchlib import BATCH_SIZE, CountingSink, item_count
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

N = item_count()

_EVENS = (N + 1) // 2
# One (key, count) per distinct even residue mod 1000 ...
EXPECTED_COUNT = len(range(0, min(N, 1000), 2))
# ... and the counts add up to two per even input.
EXPECTED_CHECKSUM = 2 * _EVENS


def _sum_counts(items):
    return sum(count for _key, count in items)


flow = Dataflow("bench_filter_flat_map_count")
nums = op.input("inp", flow, TestingSource(range(N), batch_size=BATCH_SIZE))
evens = op.filter("keep_even", nums, lambda x: x % 2 == 0)
doubled = op.flat_map("twice", evens, lambda x: [x, x])
counts = op.count_final("count", doubled, lambda x: str(x % 1000))
op.output("out", counts, CountingSink(checksum=_sum_counts))
