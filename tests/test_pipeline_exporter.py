"""Export: a readable Python file, snippets verbatim, that `python -m rillet.run` runs."""

import pytest

from pipeline_support import E, F, L, chain, fixtures, run_flow_file, run_ok
from rillet.pipeline.exporter import ExportError, export, topological, variable_names
from rillet.pipeline.model import Edge, Endpoint, Node, Pipeline, Position

pytestmark = pytest.mark.subprocess

PRELUDE = "from rillet.testing import TestingSource\nfrom rillet.connectors.stdio import StdOutSink"

EXPECTED_OUTPUT = {
    "branch_merge": ["0", "-2", "-4", "6", "8", "10"],
    "collect_join": ["j ('y', [3])", "k ('x', [1, 2])"],
    "keyed_sum": [
        "keyed_sum.show: ('a', 1)", "a=1", "keyed_sum.show: ('b', 2)", "b=2",
        "keyed_sum.show: ('a', 2)", "a=2", "keyed_sum.show: ('c', 3)", "c=3",
        "keyed_sum.show: ('b', 4)", "b=4", "keyed_sum.show: ('a', 3)", "a=3",
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_exported_fixtures_run_with_rillet_run(name, tmp_path):
    path = tmp_path / f"{name}.py"
    path.write_text(export(fixtures()[name]))
    out = run_ok(path, tmp_path)
    if name == "branch_merge":  # merge interleaves its inputs
        assert sorted(out, key=int) == sorted(EXPECTED_OUTPUT[name], key=int)
    else:
        assert out == EXPECTED_OUTPUT[name]


def test_the_file_reads_like_a_hand_written_program():
    source = export(fixtures()["keyed_sum"])
    assert (
        source
        == '''\
# Dataflow 'keyed_sum', written by the Rillet studio.
# Run it with: python -m rillet.run <this file>:flow
# --- prelude ---
from rillet.testing import TestingSource
from rillet.connectors.stdio import StdOutSink

WORDS = ['a', 'bb', 'a', 'ccc', 'bb', 'a']


def first_letter(word: str) -> str:
    """Helper shared by the steps."""
    return word[0]
# --- end prelude ---

from rillet.dataflow import Dataflow
import rillet.operators as op


def add(total, n):
    total = (total or 0) + n
    return total, total


flow = Dataflow('keyed_sum')
words = op.input('words', flow, TestingSource(WORDS))
not_empty = op.filter('not_empty', words, lambda w: len(w) > 0)
by_letter = op.key_on('by_letter', not_empty, first_letter)
length = op.map_value('length', by_letter, len)
running_sum = op.stateful_map('running_sum', length, add)
op.inspect('show', running_sum)
format_ = op.map('format', running_sum, lambda kv: f"{kv[0]}={kv[1]}")
op.output('out', format_, StdOutSink())

# rillet-pipeline: {"step": "words", "id": "src", "x": 10.0, "y": 20.5}
# rillet-pipeline: {"step": "not_empty", "id": "long", "x": 200.0, "y": 20.0}
# rillet-pipeline: {"step": "by_letter", "id": "key", "x": 400.0, "y": 20.0}
# rillet-pipeline: {"step": "length", "id": "len", "x": 600.0, "y": 20.0}
# rillet-pipeline: {"step": "running_sum", "id": "sum", "x": 800.0, "y": 20.0}
# rillet-pipeline: {"step": "show", "id": "show", "x": 1000.0, "y": -40.0}
# rillet-pipeline: {"step": "format", "id": "fmt", "x": 1000.0, "y": 60.0}
# rillet-pipeline: {"step": "out", "id": "out", "x": 1200.0, "y": 60.0}
'''
    )


def test_snippets_are_written_verbatim_and_run(tmp_path):
    prelude = '"""My flow."""\nfrom __future__ import annotations\n\nimport functools\n' + PRELUDE
    prelude += "\n\nLIMIT = 3  # items"
    fn = (
        "# Comments and decorators stay.\n@functools.lru_cache(maxsize=None)\n"
        "def clip(x: int) -> int:\n    '''Clip.'''\n\n    return min(x, LIMIT)"
    )
    multi = "lambda x: (\n    x\n    + 1  # odd spacing kept\n)"
    trailing = "lambda x: x < 4  # trailing comment"
    p = chain(
        ("input", "inp", {"source": E("TestingSource(range(6))")}),
        ("map", "clip", {"mapper": F(fn, "clip")}),
        ("map", "inc", {"mapper": E(multi)}),
        ("filter", "small", {"predicate": E(trailing)}),
        ("output", "out", {"sink": E("StdOutSink()")}),
        prelude=prelude,
    )
    source = export(p)
    for snippet in (prelude, fn, multi, trailing):
        assert snippet in source
    assert source.index("from __future__") < source.index("from rillet.dataflow import Dataflow")
    assert f"small = op.filter(\n    'small',\n    inc,\n    {trailing}\n    ,\n)" in source
    path = tmp_path / "verbatim.py"
    path.write_text(source)
    assert run_ok(path, tmp_path) == ["1", "2", "3"]  # clipped to 3, plus 1, below 4


def test_the_file_runs_and_names_steps_in_errors(tmp_path):
    p = chain(
        ("input", "inp", {"source": E("TestingSource([1, 2, 0])")}),
        ("map", "invert", {"mapper": F("def invert(x):\n    return 1 / x", "invert")}),
        ("output", "out", {"sink": E("StdOutSink()")}),
        prelude=PRELUDE,
        flow_id="inverse",
    )
    path = tmp_path / "inverse.py"
    path.write_text(export(p))
    proc = run_flow_file(path, tmp_path)
    assert proc.returncode != 0
    assert proc.stdout.splitlines() == ["1.0", "0.5"]
    assert "inverse.invert" in proc.stderr and "ZeroDivisionError" in proc.stderr


def test_args_are_positional_until_there_are_several_value_params():
    p = Pipeline("t", PRELUDE + "\nT = None", [
        Node("a", "input", "a", {"source": E("TestingSource([('k', 1)])")}),
        Node("c", "collect", "c", {"timeout": E("T"), "max_size": L(3)}),
        Node("m", "merge", "m"),
        Node("j", "join", "j", {"emit_mode": L("final")}),
        Node("e", "enrich_cached", "e", {"getter": E("str"), "mapper": E("max")}),
        Node("s", "inspect", "s"),
    ], [
        Edge(Endpoint("a", "down"), Endpoint("c", "up")),
        Edge(Endpoint("c", "down"), Endpoint("m", "ups", 1)),
        Edge(Endpoint("a", "down"), Endpoint("m", "ups", 0)),
        Edge(Endpoint("a", "down"), Endpoint("j", "sides", 0)),
        Edge(Endpoint("c", "down"), Endpoint("j", "sides", 1)),
        Edge(Endpoint("a", "down"), Endpoint("e", "up")),
        Edge(Endpoint("e", "down"), Endpoint("s", "up")),
    ])  # fmt: skip
    body = export(p).split("flow = Dataflow('t')\n")[1].split("\n\n")[0]
    assert body.splitlines() == [
        "a = op.input('a', flow, TestingSource([('k', 1)]))",
        "c = op.collect('c', a, timeout=T, max_size=3)",
        "op.merge('m', a, c)",
        "op.join('j', a, c, emit_mode='final')",
        "e = op.enrich_cached('e', a, getter=str, mapper=max)",
        "op.inspect('s', e)",
    ]


def test_windowing_steps_import_the_windowing_module():
    p = Pipeline("w", PRELUDE + "\nC = W = None", [
        Node("a", "input", "a", {"source": E("TestingSource([('k', 1)])")}),
        Node("b", "input", "b", {"source": E("TestingSource([('k', 2)])")}),
        Node("j", "join_window", "j", {"clock": E("C"), "windower": E("W"), "insert_mode": L("first")}),
        Node("i", "inspect", "late"),
    ], [
        Edge(Endpoint("b", "down"), Endpoint("j", "sides", 1)),
        Edge(Endpoint("a", "down"), Endpoint("j", "sides", 0)),
        Edge(Endpoint("j", "late"), Endpoint("i", "up")),
    ])  # fmt: skip
    source = export(p)
    assert "import rillet.operators as op\nimport rillet.operators.windowing as win\n" in source
    assert "j = win.join_window('j', C, W, a, b, insert_mode='first')\nop.inspect('late', j.late)\n" in source
    assert "import rillet.operators.windowing" not in export(chain(("input", "a", {"source": E("TestingSource([])")}),
                                                                prelude=PRELUDE))  # fmt: skip


def test_variable_names_avoid_python_and_the_file_s_own_names():
    p = Pipeline("t", "", [Node(str(i), "map", s) for i, s in enumerate(
        ["flow", "op", "class", "len", "2x", "a-b", "parse", "parse", "_"])])  # fmt: skip
    assert list(variable_names(p, {"parse"}).values()) == [
        "flow_2", "op_2", "class_", "len_", "s_2x", "a_b", "parse_2", "parse_3", "_",
    ]  # fmt: skip


def test_steps_are_written_upstream_first_keeping_node_order_for_ties():
    p = chain(("input", "a", {}), ("map", "b", {}), ("map", "c", {}))
    p = Pipeline("t", "", [p.nodes[2], p.nodes[1], Node("z", "input", "z"), p.nodes[0]], p.edges)
    assert topological(p) == ["z", "a", "b", "c"]


def test_positions_and_ids_travel_in_trailing_comments():
    p = chain(("input", "inp", {"source": E("TestingSource([1])")}), ("inspect", "show", {}), prelude=PRELUDE)
    p.nodes[1] = Node("node with spaces ü", "inspect", "show", {}, Position(-12.25, 1e6))
    p.edges[0] = Edge(Endpoint("inp", "down"), Endpoint("node with spaces ü", "up"))
    assert export(p).endswith(
        '# rillet-pipeline: {"step": "inp", "id": "inp", "x": 0.0, "y": 0.0}\n'
        '# rillet-pipeline: {"step": "show", "id": "node with spaces ü", "x": -12.25, "y": 1000000.0}\n'
    )


def test_expressions_that_look_like_literals_are_marked():
    p = chain(("input", "inp", {"source": E("TestingSource([('k', 1)])")}),
              ("collect", "c", {"timeout": E("T"), "max_size": E("2")}), prelude=PRELUDE + "\nT = None")  # fmt: skip
    assert '{"step": "c", "id": "c", "x": 100.0, "y": 0.0, "exprs": ["max_size"]}' in export(p)


def test_an_invalid_pipeline_is_refused_with_its_issues():
    p = chain(("input", "inp", {"source": E("TestingSource([1])")}), ("map", "m", {"mapper": E("lambda:")}),
              prelude=PRELUDE)  # fmt: skip
    with pytest.raises(ExportError) as info:
        export(p)
    assert str(info.value) == (
        "the pipeline has 1 error(s); the first: Python syntax error in param 'mapper' of step 'm': invalid "
        "syntax; fix the expression"
    )
    assert [(i.node, i.field, i.line) for i in info.value.issues] == [("m", "mapper", 1)]


def test_warnings_do_not_block_export(tmp_path):
    p = chain(("input", "inp", {"source": E("TestingSource([3])")}),
              ("map", "m", {"mapper": F("def f(x):\n    return undefined_name", "f")}), prelude=PRELUDE)  # fmt: skip
    assert "def f(x):\n    return undefined_name" in export(p)
    assert export(Pipeline("empty")).endswith("flow = Dataflow('empty')\n\n")
