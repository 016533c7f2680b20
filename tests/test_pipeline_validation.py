"""Validation: every problem is attached to a node and field, with a line
and column inside the snippet when it has one, and says what to do."""

import pytest

from pipeline_support import E, F, L, chain, example_sources, fixtures, messages, only_issue
from rillet.pipeline.importer import import_source
from rillet.pipeline.model import Edge, Endpoint, Node, Pipeline
from rillet.pipeline.validation import import_hint, source_items, stream_kinds, validate

SRC = ("input", "inp", {"source": E("TestingSource(WORDS)")})
PRELUDE = (
    "from rillet.testing import TestingSource\nfrom rillet.connectors.stdio import StdOutSink\nWORDS = []"
)


def errors(p):
    return validate(p).errors


def test_fixtures_and_gallery_are_clean():
    for name, p in fixtures().items():
        rep = validate(p)
        assert (rep.errors, rep.warnings) == ([], []), name
    for slug, source in example_sources().items():
        rep = validate(import_source(source))
        assert (rep.errors, rep.warnings) == ([], []), slug


def test_issue_json_shape():
    p = chain(SRC, ("map", "m", {"mapper": E("lambda x: x +")}), prelude=PRELUDE)
    assert validate(p).to_json() == {
        "errors": [
            {
                "node": "m",
                "field": "mapper",
                "line": 1,
                "column": 14,
                "message": "Python syntax error in param 'mapper' of step 'm': invalid syntax; fix the expression",
            }
        ],
        "warnings": [],
    }


# -- ports and types -------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ['FileSource("words.txt")', "TestingSource([1, 2, 3])", "TestingSource(range(10))", 'CSVSource("a.csv")'],
)
def test_keyed_only_input_fed_by_a_plain_stream(source):
    prelude = "from rillet.connectors.files import CSVSource, FileSource\n" + PRELUDE
    p = chain(("input", "inp", {"source": E(source)}), ("stateful_map", "sum", {"mapper": E("lambda s, v: (s, v)")}),
              prelude=prelude)  # fmt: skip
    issue = only_issue(errors(p), "sum", "up")
    assert issue.message == (
        "input 'up' of step 'sum' (stateful_map) takes (key, value) pairs with str keys, but output 'down' "
        "of step 'inp' emits single values; add a `key_on` step in between"
    )


@pytest.mark.parametrize(
    "source",
    ["TestingSource([('a', 1), ('b', 2)])", "TestingSource(WORDS)", "RandomMetricSource('temp')"],
)
def test_keyed_or_unknown_streams_are_accepted(source):
    prelude = "from rillet.connectors.demo import RandomMetricSource\n" + PRELUDE
    p = chain(("input", "inp", {"source": E(source)}), ("stateful_map", "sum", {"mapper": E("lambda s, v: (s, v)")}),
              prelude=prelude)  # fmt: skip
    assert errors(p) == []


def test_plain_items_pass_through_filter_branch_and_merge():
    p = chain(
        ("input", "inp", {"source": E("TestingSource(range(3))")}),
        ("filter", "f", {"predicate": E("bool")}),
        ("branch", "b", {"predicate": E("bool")}),
        prelude=PRELUDE,
    )
    p.nodes.extend([Node("m", "merge", "m"), Node("c", "count_final", "c", {"key": E("str")}),
                    Node("s", "stateful_map", "s", {"mapper": E("max")})])  # fmt: skip
    p.edges.extend([
        Edge(Endpoint("b", "trues"), Endpoint("m", "ups", 0)),
        Edge(Endpoint("b", "falses"), Endpoint("m", "ups", 1)),
        Edge(Endpoint("m", "down"), Endpoint("c", "up")),
        Edge(Endpoint("c", "down"), Endpoint("s", "up")),
    ])  # fmt: skip
    kinds = stream_kinds(p)
    assert kinds[("f", "down")] == kinds[("b", "trues")] == kinds[("m", "down")] == "plain"
    assert kinds[("c", "down")] == "keyed"
    assert errors(p) == []  # count_final takes any items and emits keyed ones
    p.edges[-1] = Edge(Endpoint("m", "down"), Endpoint("s", "up"))
    p.edges.remove(Edge(Endpoint("m", "down"), Endpoint("c", "up")))
    p.nodes.remove(p.node("c"))
    assert "output 'down' of step 'm' emits single values" in only_issue(errors(p), "s", "up").message


def test_a_keyed_sink_fed_by_plain_items():
    prelude = "from rillet.connectors.files import FileSink\n" + PRELUDE
    p = chain(("input", "inp", {"source": E("TestingSource(['a'])")}), ("output", "out", {"sink": E('FileSink("o.txt")')}),
              prelude=prelude)  # fmt: skip
    assert only_issue(errors(p), "out", "up").message == (
        "step 'out' writes to a sink that takes (key, value) pairs with str keys, but output 'down' of "
        "step 'inp' emits single values; add a `key_on` step in between"
    )
    p.nodes[1] = Node("out", "output", "out", {"sink": E("StdOutSink()")})
    assert errors(p) == []


def test_source_items():
    assert source_items("TestingSource([('a', 1)])") == "keyed"
    assert source_items("TestingSource([{'a': 1}])") == "plain"
    assert source_items("TestingSource([('a', 1), 2])") == "any"
    assert source_items("TestingSource(WORDS)") == "any"
    assert source_items("FileSource('x')") == "plain"
    assert source_items("mymodule.Source()") == "any"
    assert source_items("not python (") == "any"


def test_port_errors():
    p = Pipeline(
        "t",
        PRELUDE,
        [
            Node("i", "input", "inp", {"source": E("TestingSource(WORDS)")}),
            Node("j", "input", "inp2", {"source": E("TestingSource(WORDS)")}),
            Node("m", "map", "m", {"mapper": E("str")}),
            Node("g", "merge", "g"),
            Node("k", "inspect", "k"),
        ],
        [
            Edge(Endpoint("i", "down"), Endpoint("m", "up")),
            Edge(Endpoint("j", "down"), Endpoint("m", "up")),
            Edge(Endpoint("i", "trues"), Endpoint("g", "ups", 0)),
            Edge(Endpoint("j", "down"), Endpoint("g", "ups")),
            Edge(Endpoint("m", "down"), Endpoint("k", "sideways")),
            Edge(Endpoint("m", "down"), Endpoint("ghost", "up")),
        ],
    )
    assert messages(errors(p)) == [
        "step 'inp' (input) has no output port 'trues' (it has: down); connect from one of those",
        "an edge into port 'ups' of step 'g' has no \"index\"; number the edges into it 0, 1, 2, ...",
        "step 'k' (inspect) has no input port 'sideways' (it has: up); connect to one of those",
        "an edge goes to node 'ghost', which does not exist; delete the edge",
        "input port 'up' of step 'm' has 2 streams connected; connect exactly one (put a `merge` step in "
        "front to combine several)",
        "input port 'up' of step 'k' is not connected; connect a stream to it",
    ]
    assert [(i.node, i.field) for i in errors(p)] == [
        ("i", "trues"), ("g", "ups"), ("k", "sideways"), (None, None), ("m", "up"), ("k", "up"),
    ]  # fmt: skip


def test_multi_port_indexes_must_count_from_zero():
    p = Pipeline("t", PRELUDE, [Node("a", "input", "a", {"source": E("TestingSource(WORDS)")}),
                                Node("b", "input", "b", {"source": E("TestingSource(WORDS)")}),
                                Node("g", "merge", "g")],
                 [Edge(Endpoint("a", "down"), Endpoint("g", "ups", 0)), Edge(Endpoint("b", "down"), Endpoint("g", "ups", 2))])  # fmt: skip
    assert only_issue(errors(p), "g", "ups").message == (
        "the edges into input port 'ups' of step 'g' have indexes [0, 2]; number them 0 to 1 without gaps or repeats"
    )


def test_cycles():
    p = chain(SRC, ("map", "a", {"mapper": E("str")}), ("map", "b", {"mapper": E("str")}), prelude=PRELUDE)
    p.nodes.append(Node("c", "merge", "c"))
    p.edges[0] = Edge(Endpoint("c", "down"), Endpoint("a", "up"))
    p.edges.extend([Edge(Endpoint("inp", "down"), Endpoint("c", "ups", 0)),
                    Edge(Endpoint("b", "down"), Endpoint("c", "ups", 1))])  # fmt: skip
    assert only_issue(errors(p), "c", None).message == (
        "the steps 'c' -> 'a' -> 'b' -> 'c' form a cycle; a dataflow can't feed a step from its own output, "
        "so remove one of those edges"
    )


# -- ids ---------------------------------------------------------------------


def test_ids():
    p = chain(SRC, ("map", "m", {"mapper": E("str")}), ("map", "m2", {"mapper": E("str")}), prelude=PRELUDE)
    p.nodes[2] = Node("m2", "map", "m", {"mapper": E("str")})
    assert [(i.node, i.field, i.message) for i in errors(p)] == [
        ("m", "step_id", "step id 'm' is used by nodes 'm', 'm2'; give each step a unique step id"),
        ("m2", "step_id", "step id 'm' is used by nodes 'm', 'm2'; give each step a unique step id"),
    ]
    p.nodes[2] = Node("m2", "map", "a.b", {"mapper": E("str")})
    assert only_issue(errors(p), "m2", "step_id").message == (
        "step id 'a.b' contains a period '.'; periods separate nested step ids, so use '_' instead"
    )
    p.nodes[2] = Node("m2", "map", " ", {"mapper": E("str")})
    assert only_issue(errors(p), "m2", "step_id").message == (
        "the step id is empty; give the step a short name like 'parse'"
    )
    p.nodes[2] = Node("m", "map", "m3", {"mapper": E("str")})
    assert "node id 'm' is used by 2 nodes; give each node its own id" in messages(errors(p))
    for flow_id, what in (("", "is empty"), ("a.b", "'a.b' contains a period '.'")):
        bad = Pipeline(flow_id, p.prelude, p.nodes[:2], p.edges[:1])
        assert only_issue(errors(bad), None, "flow_id").message == (
            f"the flow id {what}; use a short name without periods, like 'orders'"
        )


# -- params ------------------------------------------------------------------


def test_unknown_operator_and_params():
    p = chain(SRC, ("mapp", "m", {}), ("map", "n", {"mapper": E("str"), "mappr": E("str")}), prelude=PRELUDE)
    assert only_issue(errors(p), "m", None).message == (
        "unknown operator 'mapp' in step 'm'; pick one from the catalog (`python -m rillet.pipeline catalog`)"
    )
    assert only_issue(errors(p), "n", "mappr").message == (
        "operator 'map' has no param 'mappr' (its params: mapper); remove it or fix the name"
    )


def test_required_params():
    p = chain(SRC, ("map", "m", {}), ("collect", "c", {"max_size": L(3)}), prelude=PRELUDE)
    p.nodes.insert(2, Node("k", "key_on", "k", {"key": E("str")}))
    p.edges[1] = Edge(Endpoint("m", "down"), Endpoint("k", "up"))
    p.edges.append(Edge(Endpoint("k", "down"), Endpoint("c", "up")))
    assert only_issue(errors(p), "m", "mapper").message == (
        "step 'm' needs the param 'mapper' (Called on each item; returns the item to emit.); set it"
    )
    assert only_issue(errors(p), "c", "timeout").message.startswith("step 'c' needs the param 'timeout' (")


@pytest.mark.parametrize(
    "op,params,field,message",
    [
        ("collect", {"timeout": E("T"), "max_size": L("3")}, "max_size",
         "param 'max_size' of step 's' takes a whole number like 10; the value \"3\" doesn't fit"),
        ("collect", {"timeout": L(None), "max_size": L(3)}, "timeout",
         "param 'timeout' of step 's' takes a timedelta and can't be None; the value null doesn't fit"),
        ("collect", {"timeout": L(60), "max_size": L(3)}, "timeout",
         "param 'timeout' of step 's' takes a timedelta, which a literal can't be; switch it to a Python "
         "expression like `timedelta(seconds=10)`; the value 60 doesn't fit"),
        ("map", {"mapper": L("str.upper")}, "mapper",
         "param 'mapper' of step 's' takes a callable, which a literal can't be; switch it to a Python "
         "expression; the value \"str.upper\" doesn't fit"),
        ("join", {"insert_mode": L("middle")}, "insert_mode",
         "param 'insert_mode' of step 's' must be one of \"first\", \"last\", \"product\"; the value "
         "\"middle\" doesn't fit"),
        ("fold_window", {"clock": E("C"), "windower": E("W"), "builder": E("list"), "folder": E("max"),
                         "merger": E("max"), "ordered": L("yes")}, "ordered",
         "param 'ordered' of step 's' takes true or false; the value \"yes\" doesn't fit"),
        ("collect", {"timeout": E("T"), "max_size": L(True)}, "max_size",
         "param 'max_size' of step 's' takes a whole number like 10; the value true doesn't fit"),
    ],
)  # fmt: skip
def test_literals_must_fit_the_param_type(op, params, field, message):
    p = Pipeline("t", "T = C = W = None", [Node("s", op, "s", params)])
    assert only_issue(errors(p), "s", field).message == message


def test_literals_that_fit():
    p = Pipeline("t", "T = C = W = None", [
        Node("c", "collect", "c", {"timeout": E("T"), "max_size": L(3)}),
        Node("j", "join", "j", {"insert_mode": L("first"), "emit_mode": L("running")}),
        Node("e", "enrich_cached", "e", {"getter": E("str"), "mapper": E("max"), "ttl": E("T")}),
        Node("x", "collect_window", "x", {"clock": E("C"), "windower": E("W"), "into": L(None)}),
    ])  # fmt: skip
    assert [i for i in errors(p) if i.field not in ("up", "sides")] == []


# -- Python syntax -------------------------------------------------------------


def test_syntax_errors_have_lines_and_columns_inside_the_snippet():
    p = chain(
        SRC,
        ("map", "a", {"mapper": E("lambda x:\n    x +* 2")}),
        ("map", "b", {"mapper": F("def f(x):\n    y = x\n    return y +", "f")}),
        ("filter", "c", {"predicate": E("lambda x: (x\n  > 2")}),
        ("map", "d", {"mapper": E("")}),
        ("map", "e", {"mapper": E("lambda x: x, 1")}),
        prelude=PRELUDE + "\n\ndef helper(:\n    pass",
    )
    got = {(i.node, i.field): (i.line, i.column, i.message) for i in errors(p)}
    assert got == {
        (None, "prelude"): (5, 12, "Python syntax error in the prelude: invalid syntax; fix the prelude"),
        ("a", "mapper"): (2, 8, "Python syntax error in param 'mapper' of step 'a': invalid syntax; fix the expression"),
        ("b", "mapper"): (3, 15, "in the function of param 'mapper' of step 'b': Python syntax error: invalid syntax"),
        ("c", "predicate"): (1, 11, "Python syntax error in param 'predicate' of step 'c': '(' was never closed; "
                                    "fix the expression"),
        ("d", "mapper"): (1, 1, "Python syntax error in param 'mapper' of step 'd': the expression is empty; "
                                "fix the expression"),
        ("e", "mapper"): (1, 1, "Python syntax error in param 'mapper' of step 'e': a tuple needs parentheses "
                                "here, like (a, b); fix the expression"),
    }  # fmt: skip


def test_multi_line_expressions_are_fine():
    p = chain(SRC, ("map", "a", {"mapper": E("lambda x:\n    x * 2")}), ("map", "b", {"mapper": E("(\n  len\n)")}),
              prelude=PRELUDE)  # fmt: skip
    assert errors(p) == []


def test_function_params_are_one_def_of_the_right_name():
    p = chain(
        SRC,
        ("map", "a", {"mapper": F("x = 1\ndef f(x):\n    return x", "f")}),
        ("map", "b", {"mapper": F("def g(x):\n    return x", "f")}),
        ("map", "c", {"mapper": F("# doubles\n@staticmethod\ndef h(x):\n    return 2 * x", "h")}),
        prelude=PRELUDE,
    )
    got = {i.node: (i.line, i.column, i.message) for i in errors(p)}
    assert got == {
        "a": (2, 1, "in the function of param 'mapper' of step 'a': the code must be exactly one top-level "
                    "`def`; move other statements to the prelude"),
        "b": (1, 1, "in the function of param 'mapper' of step 'b': the function is named 'g' but the param "
                    "says 'f'; make the two names the same"),
    }  # fmt: skip


def test_functions_share_the_module_namespace():
    f1, f2 = F("def f(x):\n    return x", "f"), F("def f(x):\n    return -x", "f")
    p = chain(SRC, ("map", "a", {"mapper": f1}), ("map", "b", {"mapper": f1}), ("map", "c", {"mapper": f2}),
              prelude=PRELUDE)  # fmt: skip
    assert only_issue(errors(p), "c", "mapper").message == (
        "the function 'f' of step 'c' differs from the function of the same name in step 'a'; rename one of them"
    )
    p = chain(SRC, ("map", "a", {"mapper": F("def WORDS(x):\n    return x", "WORDS")}), prelude=PRELUDE)
    assert only_issue(errors(p), "a", "mapper").message == (
        "the function 'WORDS' of step 'a' has the name of something the prelude defines; rename one of them"
    )


# -- names -------------------------------------------------------------------


def test_undefined_names_in_expressions_are_errors_with_the_import_to_add():
    p = chain(
        ("input", "inp", {"source": E("TestingSource(range(3))")}),
        ("key_on", "k", {"key": E("str")}),
        ("fold_window", "w", {
            "clock": E("EventClock(lambda v: NOW,\n   wait_for_system_duration=timedelta(seconds=1))"),
            "windower": E("TumblingWindower(length=timedelta(minutes=1), align_to=START)"),
            "builder": E("list"), "folder": E("lambda acc, v: acc + [v]"), "merger": E("operator.add"),
        }),
    )  # fmt: skip
    got = [(i.node, i.field, i.line, i.column, i.message) for i in errors(p)]
    assert got == [
        ("inp", "source", 1, 1, "name 'TestingSource' is not defined in param 'source' of step 'inp'; add "
                                "`from rillet.testing import TestingSource` to the prelude"),
        ("w", "clock", 1, 1, "name 'EventClock' is not defined in param 'clock' of step 'w'; add "
                             "`from rillet.operators.windowing import EventClock` to the prelude"),
        ("w", "clock", 1, 22, "name 'NOW' is not defined in param 'clock' of step 'w'; define it in the "
                              "prelude (or import it there), or fix the spelling"),
        ("w", "clock", 2, 29, "name 'timedelta' is not defined in param 'clock' of step 'w'; add "
                              "`from datetime import timedelta` to the prelude"),
        ("w", "windower", 1, 1, "name 'TumblingWindower' is not defined in param 'windower' of step 'w'; add "
                                "`from rillet.operators.windowing import TumblingWindower` to the prelude"),
        ("w", "windower", 1, 25, "name 'timedelta' is not defined in param 'windower' of step 'w'; add "
                                 "`from datetime import timedelta` to the prelude"),
        ("w", "windower", 1, 56, "name 'START' is not defined in param 'windower' of step 'w'; define it in "
                                 "the prelude (or import it there), or fix the spelling"),
        ("w", "merger", 1, 1, "name 'operator' is not defined in param 'merger' of step 'w'; define it in "
                              "the prelude (or import it there), or fix the spelling"),
    ]  # fmt: skip
    fixed = Pipeline(p.flow_id, "\n".join([
        "import operator", "from datetime import datetime, timedelta, timezone",
        "from rillet.testing import TestingSource",
        "from rillet.operators.windowing import EventClock, TumblingWindower",
        "NOW = START = datetime(2024, 1, 1, tzinfo=timezone.utc)",
    ]), p.nodes, p.edges)  # fmt: skip
    assert validate(fixed).errors == validate(fixed).warnings == []


def test_undefined_names_in_functions_are_warnings():
    code = "def f(x):\n    # uses a helper\n    return helper(x) + len(x)"
    p = chain(SRC, ("map", "a", {"mapper": F(code, "f")}), ("map", "b", {"mapper": E("g")}), prelude=PRELUDE)
    rep = validate(p)
    assert [(i.node, i.line, i.column, i.message) for i in rep.warnings] == [
        ("a", 3, 12, "name 'helper' is not defined in param 'mapper' of step 'a'; define it in the prelude "
                     "(or import it there), or fix the spelling"),
    ]  # fmt: skip
    assert only_issue(rep.errors, "b", "mapper").message.startswith("name 'g' is not defined")


def test_names_from_functions_prelude_and_export_are_defined():
    prelude = (
        PRELUDE
        + "\ntry:\n    import json\nexcept ImportError:\n    json = None\nfor LAST in range(3):\n    pass"
    )
    p = chain(
        SRC,
        ("map", "a", {"mapper": F("def f(x):\n    return g(x) + LAST", "f")}),
        ("map", "b", {"mapper": F("def g(x):\n    return json.dumps(x)", "g")}),
        ("map", "c", {"mapper": E("lambda x: [f(y) for y in x] + [op, Dataflow, __name__]")}),
        prelude=prelude,
    )
    assert validate(p).errors == validate(p).warnings == []


def test_a_star_import_turns_name_checks_off():
    p = chain(("input", "inp", {"source": E("TestingSource([1])")}), prelude="from rillet.testing import *")
    assert errors(p) == []


def test_prelude_must_import_what_it_uses_of_the_export_header():
    p = chain(SRC, prelude=PRELUDE + "\nMAP = op.map\n\ndef later():\n    return Dataflow")
    issue = only_issue(errors(p), None, "prelude")
    assert (issue.line, issue.column, issue.message) == (
        4, 7, "the prelude uses 'op', which the exported file imports only after the prelude; import it in "
              "the prelude too",
    )  # fmt: skip


def test_import_hints():
    assert import_hint("FileSink") == "add `from rillet.connectors.files import FileSink` to the prelude"
    assert import_hint("timezone") == "add `from datetime import datetime, timezone` to the prelude"
    assert import_hint("Path") == "add `from pathlib import Path` to the prelude"
    assert import_hint("frobnicate") == "define it in the prelude (or import it there), or fix the spelling"


def test_an_empty_pipeline_only_warns():
    rep = validate(Pipeline("t"))
    assert rep.errors == []
    assert messages(rep.warnings) == [
        "the pipeline has no steps yet; add an `input` step from Sources to start"
    ]
