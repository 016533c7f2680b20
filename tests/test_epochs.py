"""Epoch numbering as seen by inspect_debug.

Epochs start at 1. A batch is stamped with the current epoch; after it
is emitted the epoch advances if `epoch_interval` has passed since the
epoch began. So the first batch read after a long pause still belongs
to the old epoch.
"""

from datetime import timedelta

import pytest
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.testing import TestingSink, TestingSource


def _epochs(entry_point, inp, batch_size=1, **kw):
    seen = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp, batch_size=batch_size))
    s = op.inspect_debug("dbg", s, lambda _sid, x, epoch, _w: seen.append((x, epoch)))
    op.output("out", s, TestingSink([]))
    entry_point(flow, **kw)
    return seen


def test_default_interval_single_epoch(entry_point):
    assert _epochs(entry_point, [1, 2, 3, 4]) == [(1, 1), (2, 1), (3, 1), (4, 1)]


@pytest.mark.parametrize(
    ("batch_size", "expected"),
    [
        (1, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]),
        (2, [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3)]),
    ],
)
def test_zero_interval_one_epoch_per_batch(entry_point, batch_size, expected):
    got = _epochs(entry_point, [1, 2, 3, 4, 5], batch_size, epoch_interval=timedelta(0))
    assert got == expected


def test_epoch_advances_after_the_batch_that_crosses_the_interval(entry_point):
    pause = TestingSource.PAUSE(timedelta(milliseconds=600))
    inp = [1, pause, 2, 3, pause, 4, 5]
    got = _epochs(entry_point, inp, epoch_interval=timedelta(milliseconds=200))
    assert got == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3)]
