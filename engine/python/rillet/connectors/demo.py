"""Sources for demos that need no outside system."""

import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional, Tuple, TypeVar

from rillet.inputs import FixedPartitionedSource, StatefulSourcePartition

X = TypeVar("X")
"""Unused type variable, kept for parity with Bytewax."""


@dataclass
class _RandomMetricState:
    awake_at: datetime
    count: int


@dataclass
class _RandomMetricPartition(
    StatefulSourcePartition[Tuple[str, float], _RandomMetricState]
):
    metric_name: str
    interval: timedelta
    count: int
    next_random: Callable[[], float]
    state: _RandomMetricState

    def next_batch(self) -> List[Tuple[str, float]]:
        self.state.awake_at += self.interval
        self.state.count += 1
        if self.state.count > self.count:
            raise StopIteration()
        return [(self.metric_name, self.next_random())]

    def next_awake(self) -> Optional[datetime]:
        return self.state.awake_at

    def snapshot(self) -> _RandomMetricState:
        return self.state


@dataclass
class RandomMetricSource(FixedPartitionedSource[Tuple[str, float], _RandomMetricState]):
    """Emit `(metric_name, value)` pairs of random values on a schedule.

    Runs forever unless `count` is given. For several metrics, use
    several `input` steps and `merge` them.

    >>> from datetime import timedelta
    >>> import rillet.operators as op
    >>> from rillet.connectors.demo import RandomMetricSource
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import run_main
    >>> flow = Dataflow("demo_eg")
    >>> src = RandomMetricSource(
    ...     "temp", interval=timedelta(0), count=3, next_random=lambda: 20.5
    ... )
    >>> s = op.input("inp", flow, src)
    >>> _ = op.inspect("out", s)
    >>> run_main(flow)
    demo_eg.out: ('temp', 20.5)
    demo_eg.out: ('temp', 20.5)
    demo_eg.out: ('temp', 20.5)
    """

    def __init__(
        self,
        metric_name: str,
        interval: timedelta = timedelta(seconds=0.7),
        count: int = sys.maxsize,
        next_random: Callable[[], float] = lambda: random.randrange(0, 10),
    ):
        """Set up the source.

        :arg metric_name: Name emitted with every value; also the
            partition name.

        :arg interval: Time between values. Defaults to 0.7 seconds.

        :arg count: How many values to emit. Defaults to practically
            unlimited.

        :arg next_random: Returns the next value. Defaults to a random
            `int` from 0 to 9.
        """
        self._metric_name = metric_name
        self._interval = interval
        self._count = count
        self._next_random = next_random

    def list_parts(self) -> List[str]:
        """One partition, named after the metric.

        :returns: `[metric_name]`.
        """
        return [self._metric_name]

    def build_part(
        self, step_id: str, for_part: str, resume_state: Optional[_RandomMetricState]
    ):
        """Start emitting, or continue from `resume_state`.

        :arg step_id: ID of the input step.

        :arg for_part: The metric name.

        :arg resume_state: State from a previous run, or `None`.

        :returns: The partition.
        """
        now = datetime.now(timezone.utc)
        state = resume_state if resume_state is not None else _RandomMetricState(now, 0)
        return _RandomMetricPartition(
            for_part, self._interval, self._count, self._next_random, state
        )
