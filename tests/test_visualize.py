"""Dataflow structure, rillet.visualize and `python -m rillet.visualize`.

The nested step ids and operator types are part of the API (the engine
reads them), so they are pinned exactly here.
"""

import json
from datetime import timedelta

import pytest
import rillet.operators as op
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow, operator
from rillet.testing import TestingSink, TestingSource
from rillet.visualize import to_json, to_mermaid


def _walk(steps):
    for step in steps:
        yield (step.step_id, type(step).__name__)
        yield from _walk(step.substeps)


def test_composite_operator_nesting():
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1]))
    k = op.key_on("key", s, str)
    a = op.stateful_map("sm", k, lambda st, v: (st, v))
    b = op.reduce_final("rf", k, lambda x, y: x)
    op.count_final("cf", s, str)
    op.collect("col", k, timedelta(seconds=1), 2)
    j = op.join("j", a, b)
    f = op.filter_value("fv", j, bool)
    op.inspect("insp", f)
    op.output("out", f, TestingSink([]))
    assert list(_walk(flow.substeps)) == [
        ("df.inp", "input"),
        ("df.key", "key_on"),
        ("df.key.map", "map"),
        ("df.key.map.flat_map_batch", "flat_map_batch"),
        ("df.sm", "stateful_map"),
        ("df.sm.stateful_flat_map", "stateful_flat_map"),
        ("df.sm.stateful_flat_map.stateful", "stateful"),
        ("df.sm.stateful_flat_map.stateful.stateful_batch", "stateful_batch"),
        ("df.rf", "reduce_final"),
        ("df.rf.pre_reduce", "flat_map_batch"),
        ("df.rf.fold_final", "fold_final"),
        ("df.rf.fold_final.stateful", "stateful"),
        ("df.rf.fold_final.stateful.stateful_batch", "stateful_batch"),
        ("df.cf", "count_final"),
        ("df.cf.init_count", "map"),
        ("df.cf.init_count.flat_map_batch", "flat_map_batch"),
        ("df.cf.sum", "reduce_final"),
        ("df.cf.sum.pre_reduce", "flat_map_batch"),
        ("df.cf.sum.fold_final", "fold_final"),
        ("df.cf.sum.fold_final.stateful", "stateful"),
        ("df.cf.sum.fold_final.stateful.stateful_batch", "stateful_batch"),
        ("df.col", "collect"),
        ("df.col.stateful", "stateful"),
        ("df.col.stateful.stateful_batch", "stateful_batch"),
        ("df.j", "join"),
        ("df.j.add_names", "_join_label_merge"),
        ("df.j.add_names.label_0", "map_value"),
        ("df.j.add_names.label_0.map", "map"),
        ("df.j.add_names.label_0.map.flat_map_batch", "flat_map_batch"),
        ("df.j.add_names.label_1", "map_value"),
        ("df.j.add_names.label_1.map", "map"),
        ("df.j.add_names.label_1.map.flat_map_batch", "flat_map_batch"),
        ("df.j.add_names.merge", "merge"),
        ("df.j.join", "stateful"),
        ("df.j.join.stateful_batch", "stateful_batch"),
        ("df.fv", "filter_value"),
        ("df.fv.filter", "flat_map_value"),
        ("df.fv.filter.flat_map", "flat_map"),
        ("df.fv.filter.flat_map.flat_map_batch", "flat_map_batch"),
        ("df.insp", "inspect"),
        ("df.insp.inspect_debug", "inspect_debug"),
        ("df.out", "output"),
    ]


@operator
def _add_then_square(step_id, up, n: int):
    s = op.map("add", up, lambda x: x + n)
    return op.map("square", s, lambda x: x * x)


def test_user_operator_structure_and_run(entry_point):
    flow = Dataflow("df")
    s = op.input("inp", flow, TestingSource([1, 2, 3]))
    s = _add_then_square("as", s, 1)
    out = []
    op.output("out", s, TestingSink(out))
    assert [x for x in _walk(flow.substeps) if x[0].startswith("df.as")] == [
        ("df.as", "_add_then_square"),
        ("df.as.add", "map"),
        ("df.as.add.flat_map_batch", "flat_map_batch"),
        ("df.as.square", "map"),
        ("df.as.square.flat_map_batch", "flat_map_batch"),
    ]
    step = flow.substeps[1]
    assert step.step_name == "as"
    assert step.n == 1
    assert step.up.stream_id == "df.inp.down"
    assert step.down.stream_id == "df.as.square.flat_map_batch.down"
    entry_point(flow)
    assert out == [4, 9, 16]


def _viz_flow():
    flow = Dataflow("viz")
    s = op.input("inp", flow, TestingSource([1]))
    b = op.branch("even", s, lambda x: x % 2 == 0)
    d = op.map("double", b.trues, lambda x: x * 2)
    m = op.merge("merge", d, b.falses)
    op.output("out", m, StdOutSink())
    return flow


MERMAID = """\
flowchart TD
subgraph "viz (Dataflow)"
viz.inp["inp (input)"]
viz.even["even (branch)"]
viz.inp -- "down → up" --> viz.even
viz.double["double (map)"]
viz.even -- "trues → up" --> viz.double
viz.merge["merge (merge)"]
viz.double -- "down → ups" --> viz.merge
viz.even -- "falses → ups" --> viz.merge
viz.out["out (output)"]
viz.merge -- "down → up" --> viz.out
end"""


def test_to_mermaid():
    assert to_mermaid(_viz_flow()) == MERMAID


def _port(name, port_id, from_ports=(), from_streams=()):
    return {
        "typ": "RenderedPort",
        "port_name": name,
        "port_id": port_id,
        "from_port_ids": list(from_ports),
        "from_stream_ids": list(from_streams),
    }


def _op(op_type, name, step_id, inp, out, substeps=()):
    return {
        "typ": "RenderedOperator",
        "op_type": op_type,
        "step_name": name,
        "step_id": step_id,
        "inp_ports": inp,
        "out_ports": out,
        "substeps": list(substeps),
    }


EXPECTED_JSON = {
    "typ": "RenderedDataflow",
    "flow_id": "viz",
    "substeps": [
        _op("input", "inp", "viz.inp", [], [_port("down", "viz.inp.down")]),
        _op(
            "branch",
            "even",
            "viz.even",
            [_port("up", "viz.even.up", ["viz.inp.down"], ["viz.inp.down"])],
            [_port("trues", "viz.even.trues"), _port("falses", "viz.even.falses")],
        ),
        _op(
            "map",
            "double",
            "viz.double",
            [_port("up", "viz.double.up", ["viz.even.trues"], ["viz.even.trues"])],
            [
                _port(
                    "down",
                    "viz.double.down",
                    ["viz.double.flat_map_batch.down"],
                    ["viz.double.flat_map_batch.down"],
                )
            ],
            [
                _op(
                    "flat_map_batch",
                    "flat_map_batch",
                    "viz.double.flat_map_batch",
                    [_port("up", "viz.double.flat_map_batch.up", ["viz.double.up"], ["viz.even.trues"])],
                    [_port("down", "viz.double.flat_map_batch.down")],
                )
            ],
        ),
        _op(
            "merge",
            "merge",
            "viz.merge",
            [
                _port(
                    "ups",
                    "viz.merge.ups",
                    ["viz.double.down", "viz.even.falses"],
                    ["viz.double.flat_map_batch.down", "viz.even.falses"],
                )
            ],
            [_port("down", "viz.merge.down")],
        ),
        _op("output", "out", "viz.out", [_port("up", "viz.out.up", ["viz.merge.down"], ["viz.merge.down"])], []),
    ],
}


def test_to_json():
    text = to_json(_viz_flow())
    assert json.loads(text) == EXPECTED_JSON
    assert text.startswith('{\n  "typ": "RenderedDataflow",\n  "flow_id": "viz",')


@pytest.mark.subprocess
def test_visualize_cli_mermaid_default(cli):
    res = cli.run("visualize", "flows.viz:flow")
    assert res.returncode == 0, res.stderr
    assert res.stdout == MERMAID + "\n"


@pytest.mark.subprocess
def test_visualize_cli_json(cli):
    res = cli.run("visualize", "flows.viz", "-o", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == EXPECTED_JSON


@pytest.mark.subprocess
def test_visualize_cli_bad_attribute(cli):
    res = cli.run("visualize", "flows.viz:nope")
    assert res.returncode != 0
    assert "nope" in res.stderr
