"""Small branching flow for `python -m rillet.visualize` tests."""

import rillet.operators as op
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

flow = Dataflow("viz")
s = op.input("inp", flow, TestingSource([1, 2, 3]))
b = op.branch("even", s, lambda x: x % 2 == 0)
d = op.map("double", b.trues, lambda x: x * 2)
m = op.merge("merge", d, b.falses)
op.output("out", m, StdOutSink())
