"""Import: hand-written rillet programs become pipelines (parsed, never run);
what can't be represented is an error naming the line and the step."""

import textwrap

import pytest

from pipeline_support import E, F, L
from rillet.pipeline.exporter import export
from rillet.pipeline.importer import LAYER_DX, ROW_DY, PipelineImportError, import_source
from rillet.pipeline.model import Edge, Endpoint, Position
from rillet.pipeline.validation import validate


def read(source: str):
    p = import_source(textwrap.dedent(source))
    assert validate(p).errors == [], validate(p).to_json()
    return p


def steps(p):
    return [(n.id, n.op, n.step_id) for n in p.nodes]


def edges(p):
    return sorted((e.src.node, e.src.port, e.dst.node, e.dst.port, e.dst.index) for e in p.edges)


def test_lambdas_defs_and_helpers_in_the_prelude():
    p = read(
        '''
        """Counts words."""
        import functools
        import re

        import rillet.operators as op
        from rillet.connectors.stdio import StdOutSink
        from rillet.dataflow import Dataflow
        from rillet.testing import TestingSource

        WORD = re.compile(r"\\w+")


        def words_of(line):
            return WORD.findall(helper(line))


        def helper(text):
            return text.lower()


        # Splits lines.
        @functools.lru_cache(maxsize=None)
        def split(line):
            """All the words."""
            return words_of(line)


        SPLITTERS = {"words": split}

        flow = Dataflow("wc")
        lines = op.input("lines", flow, TestingSource(["a b", "b"]))
        words = op.flat_map("split", lines, split)
        words2 = op.flat_map("again", words, lambda line: split(line))
        counts = op.count_final("count", words, lambda w: w)
        op.output("out", counts, StdOutSink())
        '''
    )
    assert p.flow_id == "wc"
    assert steps(p) == [
        ("lines", "input", "lines"), ("split", "flat_map", "split"), ("again", "flat_map", "again"),
        ("count", "count_final", "count"), ("out", "output", "out"),
    ]  # fmt: skip
    assert p.nodes[0].params == {"source": E('TestingSource(["a b", "b"])')}
    # `split` is used by the prelude too, so it stays there.
    assert p.nodes[1].params == {"mapper": E("split")}
    assert p.nodes[2].params == {"mapper": E("lambda line: split(line)")}
    assert p.nodes[3].params == {"key": E("lambda w: w")}
    assert p.prelude == textwrap.dedent(
        '''\
        """Counts words."""
        import functools
        import re

        from rillet.connectors.stdio import StdOutSink
        from rillet.testing import TestingSource

        WORD = re.compile(r"\\w+")


        def words_of(line):
            return WORD.findall(helper(line))


        def helper(text):
            return text.lower()


        # Splits lines.
        @functools.lru_cache(maxsize=None)
        def split(line):
            """All the words."""
            return words_of(line)


        SPLITTERS = {"words": split}'''
    )
    assert edges(p) == [
        ("count", "down", "out", "up", None), ("lines", "down", "split", "up", None),
        ("split", "down", "again", "up", None), ("split", "down", "count", "up", None),
    ]  # fmt: skip


def test_a_def_passed_only_to_steps_becomes_a_function_param():
    p = read(
        """
        from rillet.dataflow import Dataflow
        from rillet.operators import input, map, inspect
        from rillet.testing import TestingSource

        BASE = 10


        # Adds the base.
        # Two lines of comment.
        def add_base(x):
            return x + BASE


        flow = Dataflow("f")
        nums = input("nums", flow, TestingSource([1]))
        inspect("show", map("add", nums, add_base))
        more = map("add_again", nums, mapper=add_base)
        """
    )
    code = "# Adds the base.\n# Two lines of comment.\ndef add_base(x):\n    return x + BASE"
    assert p.node("add").params == {"mapper": F(code, "add_base")}
    assert p.node("add_again").params == {"mapper": F(code, "add_base")}
    assert p.prelude == "from rillet.testing import TestingSource\n\nBASE = 10"
    assert steps(p) == [
        ("nums", "input", "nums"), ("add", "map", "add"), ("show", "inspect", "show"),
        ("add_again", "map", "add_again"),
    ]  # fmt: skip


def test_then_branch_merge_and_aliases():
    p = read(
        """
        from rillet import operators as op
        from rillet.dataflow import Dataflow
        from rillet.testing import TestingSource

        flow = Dataflow("bm")
        nums = op.input("nums", flow, TestingSource(range(10)))
        doubled = nums.then(op.map, "double", lambda x: x * 2).then(op.filter, "pos", lambda x: x > 0)
        parts = op.branch("split", doubled, lambda x: x > 10)
        big = parts.trues
        small: object = op.map("neg", parts.falses, lambda x: -x)
        both = op.merge("all", big, small, parts.falses)
        op.inspect("show", both)
        """
    )
    assert steps(p) == [
        ("nums", "input", "nums"), ("double", "map", "double"), ("pos", "filter", "pos"),
        ("split", "branch", "split"), ("neg", "map", "neg"), ("all", "merge", "all"),
        ("show", "inspect", "show"),
    ]  # fmt: skip
    assert edges(p) == [
        ("all", "down", "show", "up", None), ("double", "down", "pos", "up", None),
        ("neg", "down", "all", "ups", 1), ("nums", "down", "double", "up", None),
        ("pos", "down", "split", "up", None), ("split", "falses", "all", "ups", 2),
        ("split", "falses", "neg", "up", None), ("split", "trues", "all", "ups", 0),
    ]  # fmt: skip


def test_windowing_join_and_literals():
    p = read(
        """
        from datetime import datetime, timedelta, timezone

        import rillet.operators as op
        import rillet.operators.windowing as win
        from rillet.dataflow import Dataflow
        from rillet.operators.windowing import EventClock, SessionWindower, TumblingWindower
        from rillet.testing import TestingSource

        ALIGN = datetime(2024, 1, 1, tzinfo=timezone.utc)
        CLOCK = EventClock(lambda v: v["at"], timedelta(seconds=5))

        flow = Dataflow("win")
        a = op.input("a", flow, TestingSource([("k", {"at": ALIGN})]))
        b = op.input("b", flow, TestingSource([("k", {"at": ALIGN})]))
        counts = win.count_window(
            "counts",
            a,
            CLOCK,
            TumblingWindower(
                length=timedelta(minutes=1),  # one minute
                align_to=ALIGN,
            ),
            key=lambda kv: kv[0],
        )
        joined = win.join_window("jw", CLOCK, SessionWindower(gap=timedelta(seconds=30)), a, b, emit_mode="final")
        pairs = op.join("pairs", counts.down, joined.down, insert_mode="first", emit_mode="running")
        late = op.inspect("late", counts.late)
        col = op.collect("col", pairs, timedelta(seconds=1), max_size=3)
        cw = win.collect_window("cw", col, CLOCK, SessionWindower(timedelta(seconds=1)), into=dict, ordered=False)
        """
    )
    assert steps(p) == [
        ("a", "input", "a"), ("b", "input", "b"), ("counts", "count_window", "counts"),
        ("jw", "join_window", "jw"), ("pairs", "join", "pairs"), ("late", "inspect", "late"),
        ("col", "collect", "col"), ("cw", "collect_window", "cw"),
    ]  # fmt: skip
    assert p.node("counts").params == {
        "clock": E("CLOCK"),
        "windower": E(
            "TumblingWindower(\n"
            "        length=timedelta(minutes=1),  # one minute\n"
            "        align_to=ALIGN,\n"
            "    )"
        ),
        "key": E("lambda kv: kv[0]"),
    }
    assert p.node("jw").params == {
        "clock": E("CLOCK"),
        "windower": E("SessionWindower(gap=timedelta(seconds=30))"),
        "emit_mode": L("final"),
    }
    assert p.node("pairs").params == {"insert_mode": L("first"), "emit_mode": L("running")}
    assert p.node("col").params == {"timeout": E("timedelta(seconds=1)"), "max_size": L(3)}
    assert p.node("cw").params["into"] == E("dict") and p.node("cw").params["ordered"] == L(False)
    assert edges(p) == [
        ("a", "down", "counts", "up", None), ("a", "down", "jw", "sides", 0),
        ("b", "down", "jw", "sides", 1), ("col", "down", "cw", "up", None),
        ("counts", "down", "pairs", "sides", 0), ("counts", "late", "late", "up", None),
        ("jw", "down", "pairs", "sides", 1), ("pairs", "down", "col", "up", None),
    ]  # fmt: skip


def test_literal_or_expression():
    p = import_source(
        textwrap.dedent(
            """
        import rillet.operators as op
        from rillet.dataflow import Dataflow
        from rillet.testing import TestingSource

        N = 2
        flow = Dataflow("lit")
        s = op.input("s", flow, TestingSource([("k", 1)]))
        c1 = op.collect("c1", s, timeout=N, max_size=-3)
        c2 = op.collect("c2", s, timeout=(N), max_size=(1_000))
        c3 = op.collect("c3", s, timeout=N, max_size=(1, 2))
        c4 = op.collect("c4", s, timeout=N, max_size={"a": [None, True, 1.5, "x"]})
        """
        )
    )
    assert validate(p).errors[0].message.startswith("param 'max_size' of step 'c4' takes a whole number")
    assert [p.node(f"c{i}").params["max_size"] for i in range(1, 5)] == [
        L(-3), L(1000), E("(1, 2)"), L({"a": [None, True, 1.5, "x"]}),
    ]  # fmt: skip
    assert p.node("c2").params["timeout"] == E("(N)")  # the parentheses written around it stay


def test_nested_steps_and_keyword_streams():
    p = read(
        """
        import rillet.operators as op
        from rillet.dataflow import Dataflow
        from rillet.testing import TestingSource

        flow = Dataflow("n")
        op.output("out", up=op.map("m", op.input("i", flow=flow, source=TestingSource([1])), str),
                  sink=__import__("rillet.connectors.stdio").connectors.stdio.StdOutSink())
        """
    )
    assert steps(p) == [("i", "input", "i"), ("m", "map", "m"), ("out", "output", "out")]


def test_layout_of_a_hand_written_file_is_layered():
    p = read(
        """
        import rillet.operators as op
        from rillet.dataflow import Dataflow
        from rillet.testing import TestingSource

        flow = Dataflow("l")
        a = op.input("a", flow, TestingSource([1]))
        b = op.input("b", flow, TestingSource([2]))
        m = op.merge("m", a, b)
        x = op.map("x", a, str)
        op.inspect("y", m)
        """
    )
    assert {n.id: n.position for n in p.nodes} == {
        "a": Position(0.0, 0.0), "b": Position(0.0, ROW_DY), "m": Position(LAYER_DX, 0.0),
        "x": Position(LAYER_DX, ROW_DY), "y": Position(2 * LAYER_DX, 0.0),
    }  # fmt: skip


def test_an_exported_file_keeps_ids_positions_and_prelude():
    p = read(
        """
        import rillet.operators as op
        from rillet.dataflow import Dataflow
        from rillet.testing import TestingSource

        flow = Dataflow("l")
        a = op.input("a", flow, TestingSource([1]))
        """
    )
    text = export(p).replace('"id": "a", "x": 0.0', '"id": "node-7", "x": 42.5')
    q = import_source(text)
    assert [(n.id, n.position) for n in q.nodes] == [("node-7", Position(42.5, 0.0))]
    assert q.prelude == p.prelude


def error(source: str) -> PipelineImportError:
    with pytest.raises(PipelineImportError) as info:
        import_source(textwrap.dedent(source).lstrip("\n"))
    return info.value


HEAD = """\
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

flow = Dataflow("e")
s = op.input("s", flow, TestingSource([1]))
"""

ERRORS = [
    (HEAD + "def build():\n    return op.map('m', s, str)\n", 7, None,
     "`build` uses the dataflow or its streams inside a function; the studio shows steps written at the top "
     "level, so move them there"),
    (HEAD.replace('flow = Dataflow("e")\ns = op.input', 'def get_flow():\n    flow = Dataflow("e")\n    s = op.input'),
     6, None, "`get_flow` (line 5) builds the dataflow inside a function; the studio shows steps written at the "
     "top level, so move them there"),
    (HEAD + "for i in range(3):\n    s = op.map(f'm{i}', s, str)\n", 7, None,
     "a loop uses the dataflow or its streams; the studio shows steps written one per statement at the top "
     'level (`var = op.<operator>("step_id", ...)`), so write each step out there'),
    (HEAD + "s2 = op.map(f'm{1}', s, str)\n", 7, None,
     "the first argument of this 'map' call must be the step id as a string, like \"parse\"; computed step "
     "ids (loops, f-strings) can't be shown in the studio"),
    (HEAD + "from mylib import my_op\nt = my_op('custom', s)\n", 8, "custom",
     "step 'custom' calls 'my_op', which is not an operator of rillet.operators; the studio shows built-in "
     "operators only, so write the steps of a custom operator out one by one"),
    (HEAD + "t = s.then(my_op, 'custom')\n", 7, "custom",
     "`s.then(my_op, 'custom')` is not `.then(<operator>, \"step_id\", ...)` with an operator of "
     "rillet.operators; call a built-in operator there"),
    (HEAD + "t = op.map('m', s, lambda x: (x, s))\n", 7, "m",
     "step 'm' passes a stream or the dataflow as 'mapper'; only input ports take streams, so pass a plain "
     "value there"),
    (HEAD + "ups = [s, s]\n", 7, None,
     "this statement uses the dataflow or its streams without adding a step; write one step per statement, "
     'like `words = op.flat_map("split", lines, str.split)`'),
    (HEAD + "ups = (s,)\nt = op.merge('m', *ups)\n", 7, None,
     "this statement uses the dataflow or its streams without adding a step; write one step per statement, "
     'like `words = op.flat_map("split", lines, str.split)`'),
    (HEAD + "t = op.merge('m', *[s])\n", 7, "m", "step 'm' passes `*args` or `**kwargs`; write each argument out"),
    (HEAD + "t = op.map('s', s, str)\n", 7, "s", "step id 's' is used twice; give each step a unique id"),
    (HEAD + "t = op.map('m', s)\n", 7, "m",
     "step 'm' calls map with arguments that don't fit map(step_id: str, up: rillet.dataflow.Stream[~X], "
     "mapper: Callable[[~X], ~Y]) -> rillet.dataflow.Stream[~Y]: missing a required argument: 'mapper'; "
     "fix the call"),
    (HEAD + "b = op.branch('b', s, bool)\nt = op.map('m', b, str)\n", 8, "m",
     "step 'm' gets 'b' as input 'up', which has several outputs (trues, falses); pass one of them, like `.trues`"),
    (HEAD + "b = op.branch('b', s, bool)\nt = op.map('m', b.maybe, str)\n", 8, None,
     "'b' has no output 'maybe'; use one of trues, falses"),
    (HEAD + "t = op.map('m', 'not a stream', str)\n", 7, "m",
     "step 'm' gets \"'not a stream'\" as input 'up', which is not a stream of an earlier step; pass the "
     "variable of an earlier step"),
    (HEAD + "x = op.output('o', s, None)\n", 7, None,
     "`x` is given the result of a step with no outputs; drop `x =`"),
    (HEAD + "t = s.up\n", 7, None, "`s.up` is not a stream; use the variable of an earlier step"),
    (HEAD + "flow2 = Dataflow('again')\n", 7, None,
     "this file makes a second Dataflow; a pipeline holds one, so split the file"),
    (HEAD + "from rillet.testing import run_main\nrun_main(flow)\n", 8, None,
     "`run_main(flow)` runs the dataflow while the file is imported; the studio runs it with `python -m "
     "rillet.run file.py:flow`, so delete this line"),
    (HEAD + "if __name__ == '__main__':\n    from rillet.testing import run_main\n    run_main(flow)\n", 7, None,
     'the `if __name__ == "__main__":` block runs the dataflow; the studio runs it with `python -m rillet.run '
     "file.py:flow`, so delete the block"),
    (HEAD + "print(s)\n", 7, None,
     "this call calls 'print', which is not an operator of rillet.operators; the studio shows built-in "
     "operators only, so write the steps of a custom operator out one by one"),
    (HEAD.replace('Dataflow("e")', "Dataflow(NAME)"), 5, None,
     'give the dataflow id as a string, like `Dataflow("my_flow")`'),
    (HEAD.replace('flow = Dataflow("e")', 'flow = other = Dataflow("e")'), 5, None,
     'assign the dataflow to one variable, like `flow = Dataflow("my_flow")`'),
    (HEAD.replace("flow, TestingSource", "'flow', TestingSource"), 6, "s",
     "step 's' must get the dataflow 'flow' as 'flow'"),
    (HEAD + "t = op.map('m', s, lambda x: x +)\n", 7, None, "Python syntax error: invalid syntax; fix the file first"),
    (HEAD + "# rillet-pipeline: {not json}\n", 7, None,
     "this `# rillet-pipeline:` comment is not valid (Expecting property name enclosed in double quotes: line 1 "
     "column 2 (char 1)); delete the line, and the studio will lay out the step anew"),
    ("import rillet.operators as op\nX = 1\n", None, None,
     'there is no `flow = Dataflow("...")` at the top level of the file; create the dataflow there '
     "(`from rillet.dataflow import Dataflow`)"),
]  # fmt: skip


@pytest.mark.parametrize("source,line,step,message", ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_what_cannot_be_represented_is_an_error_naming_line_and_step(source, line, step, message):
    ex = error(source)
    assert (ex.line, ex.step, ex.message) == (line, step, message)
    assert str(ex) == (f"line {line}: {message}" if line else message)
    assert ex.to_json() == {
        "node": None,
        "field": None,
        "line": line,
        "column": ex.column,
        "message": str(ex),
    }
    if line:
        assert ex.column is not None and ex.column >= 1


def test_nothing_in_the_file_runs(tmp_path):
    marker = tmp_path / "ran"
    p = read(
        f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("oops")

        import rillet.operators as op
        from rillet.dataflow import Dataflow
        from rillet.testing import TestingSource

        flow = Dataflow("safe")
        s = op.input("s", flow, TestingSource(__import__("os").listdir("/")))
        """
    )
    assert not marker.exists()
    assert "write_text" in p.prelude
