"""Connectors for the console."""

import sys
from typing import Any, List

from rillet.outputs import DynamicSink, StatelessSinkPartition


class _PrintSinkPartition(StatelessSinkPartition[Any]):
    def write_batch(self, items: List[Any]) -> None:
        for item in items:
            sys.stdout.write(f"{item}\n")
        sys.stdout.flush()


class StdOutSink(DynamicSink[Any]):
    """Print each item on its own line on the worker's standard output.

    Items are printed with `str`; format them with a `map` step first
    if you need something else. Every worker prints its own items.
    Output is at-least-once: after a resume, the items of the resumed
    epoch are printed again.

    >>> import rillet.operators as op
    >>> from rillet.connectors.stdio import StdOutSink
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("stdout_eg")
    >>> s = op.input("inp", flow, TestingSource(["a", "b"]))
    >>> op.output("print", s, StdOutSink())
    >>> run_main(flow)
    a
    b
    """

    def build(
        self, _step_id: str, _worker_index: int, _worker_count: int
    ) -> _PrintSinkPartition:
        """Return this worker's printing partition.

        :arg _step_id: ID of the output step.

        :arg _worker_index: This worker's index.

        :arg _worker_count: Number of workers.

        :returns: The partition.
        """
        return _PrintSinkPartition()
