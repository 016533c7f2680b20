"""A stdout sink that is safe with several worker threads.

StdOutSink writes each line and its newline with separate calls, so two
workers of one process can interleave them. This sink writes a whole
batch with a single `write` call.
"""

import sys

from rillet.outputs import DynamicSink, StatelessSinkPartition


class _LinePart(StatelessSinkPartition):
    def write_batch(self, items):
        sys.stdout.write("".join(f"{x}\n" for x in items))
        sys.stdout.flush()


class LineSink(DynamicSink):
    def build(self, step_id, worker_index, worker_count):
        return _LinePart()
