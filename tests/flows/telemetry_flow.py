"""A flow whose per-step counts are known exactly, for the run-channel
tests (tests/test_telemetry.py).

1,000 numbers in batches of 100 go through a native `map`, a keyed
`stateful_map` over 10 keys, a composite operator of two inner steps that
doubles the records, and a `count_final` whose 10 totals are written.
"""

import rillet.operators as op
from rillet.dataflow import Dataflow, Stream, operator
from rillet.outputs import DynamicSink, StatelessSinkPartition
from rillet.testing import TestingSource

N = 1_000
KEYS = 10

# (step name, items in, items out), summed over every worker and process.
EXPECTED = [
    ("inp", 0, N),
    ("double", N, N),
    ("key", N, N),
    ("running", N, N),
    ("twice", N, 2 * N),
    ("count", 2 * N, KEYS),
    ("out", KEYS, KEYS),
]


@operator
def twice(step_id: str, up: Stream) -> Stream:
    """Each record twice: two inner steps, reported as one."""
    pairs = op.flat_map("dup", up, lambda kv: [kv, kv])
    return op.filter("keep", pairs, lambda kv: True)


def running_count(count, _value):
    count = (count or 0) + 1
    return count, count


class _Quiet(StatelessSinkPartition):
    def write_batch(self, items):
        pass


class QuietSink(DynamicSink):
    def build(self, step_id, worker_index, worker_count):
        return _Quiet()


def build(sink=None) -> Dataflow:
    flow = Dataflow("tele")
    s = op.input("inp", flow, TestingSource(range(N), batch_size=100))
    s = op.map("double", s, lambda x: 2 * x)
    keyed = op.key_on("key", s, lambda x: str(x // 2 % KEYS))
    running = op.stateful_map("running", keyed, running_count)
    doubled = twice("twice", running)
    counts = op.count_final("count", doubled, lambda kv: kv[0])
    op.output("out", counts, sink if sink is not None else QuietSink())
    return flow


flow = build()
