"""`flow` and the factory `make_flow(n, prefix=...)` for CLI tests."""

import rillet.operators as op
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource


def make_flow(n, prefix="item"):
    flow = Dataflow("simple")
    s = op.input("inp", flow, TestingSource(range(n)))
    s = op.map("fmt", s, lambda x: f"{prefix}-{x}")
    op.output("out", s, StdOutSink())
    return flow


flow = make_flow(3)

not_a_flow = 42
