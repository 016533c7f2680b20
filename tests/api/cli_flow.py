"""A small dataflow for the command-line tests in test_cli.py."""

import os
from pathlib import Path

import rillet.operators as op
from rillet.connectors.files import FileSink
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource


def make_flow(out_path: str, n: int = 10) -> Dataflow:
    """Write `"0"` .. `"n-1"` as lines to `out_path`."""
    flow = Dataflow("cli")
    nums = op.input("inp", flow, TestingSource(range(n)))
    keyed = op.map("key", nums, lambda x: ("k", str(x)))
    op.output("out", keyed, FileSink(Path(out_path)))
    return flow


flow = make_flow(os.devnull)

not_a_flow = 42
