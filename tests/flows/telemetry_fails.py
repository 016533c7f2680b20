"""Fails in an inner step of a composite operator, with a chained cause."""

import rillet.operators as op
from rillet.dataflow import Dataflow, Stream, operator
from rillet.testing import TestingSink, TestingSource

LOOKUP = {n: n * 10 for n in range(5)}


def lookup(n):
    try:
        return LOOKUP[n]
    except KeyError as ex:
        raise ValueError(f"no entry for {n}") from ex


@operator
def enrich(step_id: str, up: Stream) -> Stream:
    """Looks each number up; the lookup step is inside this operator."""
    return op.map("lookup", up, lookup)


flow = Dataflow("boom")
s = op.input("inp", flow, TestingSource(range(10)))
s = enrich("enrich", s)
op.output("out", s, TestingSink([]))
