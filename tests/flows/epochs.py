"""Prints `item@epoch`; a 1.5 s pause lets a 1 s epoch interval pass."""

from datetime import timedelta

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

flow = Dataflow("epochs")
s = op.input("inp", flow, TestingSource([1, TestingSource.PAUSE(timedelta(seconds=1.5)), 2, 3]))
op.inspect_debug("dbg", s, lambda _sid, item, epoch, _worker: print(f"{item}@{epoch}", flush=True))
