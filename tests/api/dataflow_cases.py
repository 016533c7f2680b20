"""Dataflow-building rules: which mistakes raise which exception.

Only `rillet` is imported, so with `peer_alias.install()` the same
cases run on Bytewax 0.21.1; `test_dataflow_rules.py` compares the
exception types and checks Rillet's messages. `results()` returns
`{case: outcome}` where the outcome is `"ok: ..."` or the exception
type's name.
"""

from dataclasses import dataclass
from typing import Callable, Dict

import rillet.operators as op
from rillet.dataflow import Dataflow, Stream, operator
from rillet.testing import TestingSource


def _flow_and_stream():
    flow = Dataflow("f")
    return flow, op.input("inp", flow, TestingSource([1]))


def _outcome(fn: Callable[[], object]) -> str:
    try:
        return f"ok: {fn()!r}"
    except Exception as ex:  # noqa: BLE001 - the outcome is compared
        return type(ex).__name__


def duplicate_top_level():
    flow, s = _flow_and_stream()
    op.map("same", s, str)
    op.map("same", s, str)


def duplicate_nested():
    @operator
    def twice(step_id: str, up: Stream[int]) -> Stream[int]:
        op.map("inner", up, str)
        return op.map("inner", up, str)

    _flow, s = _flow_and_stream()
    twice("outer", s)


def same_name_other_level():
    @operator
    def wrap(step_id: str, up: Stream[int]) -> Stream[int]:
        return op.map("name", up, str)

    flow, s = _flow_and_stream()
    wrap("name", s)
    return [step.step_id for step in flow.substeps[1].substeps]


def period_in_step_id():
    _flow, s = _flow_and_stream()
    op.map("a.b", s, str)


def period_in_flow_id():
    Dataflow("a.b")


def step_id_not_str():
    _flow, s = _flow_and_stream()
    op.map(7, s, str)


def upstream_not_stream():
    _flow, s = _flow_and_stream()
    out = op.branch("b", s, bool)
    op.map("m", out, str)


def merge_args_not_streams():
    _flow, s = _flow_and_stream()
    op.merge("m", s, [s])


def streams_from_two_flows():
    _f1, s1 = _flow_and_stream()
    f2 = Dataflow("g")
    s2 = op.input("inp", f2, TestingSource([2]))
    op.merge("m", s1, s2)


def merge_nothing():
    op.merge("m")


def missing_argument():
    _flow, s = _flow_and_stream()
    op.map("m", s)


def builder_without_step_id():
    @operator
    def bad(up: Stream[int]) -> Stream[int]:
        return up


def builder_shadows_base_field():
    @operator
    def bad(step_id: str, up: Stream[int], substeps: int) -> Stream[int]:
        return up


@dataclass(frozen=True)
class _Out:
    up: Stream[int]


def builder_field_clash():
    @operator
    def bad(step_id: str, up: Stream[int]) -> _Out:
        return _Out(up)


def then_chain():
    flow, s = _flow_and_stream()
    s.then(op.map, "m", mapper=str).then(op.key_on, "k", str)
    return [(type(st).__name__, st.step_name, st.step_id) for st in flow.substeps]


def fields_of_steps():
    flow, s = _flow_and_stream()
    op.map("m", s, str)
    step = flow.substeps[1]
    return (step.step_name, step.step_id, step.up, step.down, type(step).ups_names)


def results() -> Dict[str, str]:
    cases = [
        duplicate_top_level,
        duplicate_nested,
        same_name_other_level,
        period_in_step_id,
        period_in_flow_id,
        step_id_not_str,
        upstream_not_stream,
        merge_args_not_streams,
        streams_from_two_flows,
        merge_nothing,
        missing_argument,
        builder_without_step_id,
        builder_shadows_base_field,
        builder_field_clash,
        then_chain,
        fields_of_steps,
    ]
    return {case.__name__: _outcome(case) for case in cases}
