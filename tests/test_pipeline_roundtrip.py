"""Export then import gives back the same pipeline, and import -> export ->
import is stable: over the fixtures, the gallery and generated pipelines."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_support import E, F, L, example_sources, fixtures
from rillet.pipeline.exporter import export
from rillet.pipeline.importer import import_source
from rillet.pipeline.model import Edge, Endpoint, Node, Pipeline, Position
from rillet.pipeline.validation import validate


def assert_round_trips(p: Pipeline) -> None:
    assert validate(p).errors == [], validate(p).to_json()
    source = export(p)
    back = import_source(source)
    assert back == p, f"export -> import changed the pipeline; the file was:\n{source}"
    assert back.to_json()["nodes"] == p.to_json()["nodes"]
    assert export(back) == source


@pytest.mark.parametrize("name", sorted(fixtures()))
def test_fixtures_round_trip(name):
    assert_round_trips(fixtures()[name])


@pytest.mark.parametrize("slug", sorted(example_sources()))
def test_gallery_import_export_import_is_stable(slug):
    first = import_source(example_sources()[slug])
    assert_round_trips(first)


PRELUDES = [
    "",
    '"""Docs first."""\nfrom __future__ import annotations',
    "# only a comment",
    "import math\n\n\n\nSCALE = 2  # blank lines and comments kept\n\n",
    "def helper(x):\n    '''Shared.'''\n    return x\n\n\nclass Box:\n    pass",
    "# ünïcödé and a form feed \x0c in a comment\r\nTEXT = 'line\\u2028sep\x85'\r\n",
]
BASE = "\nfrom datetime import timedelta\nfrom rillet.testing import TestingSource\n\ndef helper2(x):\n    return x"

CALLABLES = st.sampled_from(
    [
        E("lambda x: x"),
        E("lambda x: (x, 1)"),
        E("str"),
        E("helper2"),
        E("(\n    lambda x:\n        x  # inside\n)"),
        E("lambda x: x  # trailing"),
        E("lambda x: {'a': [x,\n  2]}"),
        E("3"),  # looks like a literal; must stay an expression
        E("'text'"),
        E("None"),
        F("def fn_a(x):\n    return x", "fn_a"),
        F("# about fn_b\ndef fn_b(x):\n\n    # inside\n    return [x]", "fn_b"),
        F("@staticmethod\ndef fn_c(x):\n    return x", "fn_c"),
    ]
)
STEP_IDS = st.text(st.sampled_from("abxyz_-2é"), min_size=1, max_size=6).filter(lambda s: s.strip())
NODE_IDS = st.text(min_size=1, max_size=6)
POSITIONS = st.builds(
    Position,
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e4, 1e4, allow_nan=False),
)
OPS = {"map": "mapper", "filter": "predicate", "flat_map": "mapper", "key_on": "key", "inspect": "inspector"}


@st.composite
def pipelines(draw):
    n = draw(st.integers(1, 7))
    step_ids = draw(st.lists(STEP_IDS, min_size=n + 1, max_size=n + 1, unique=True))
    node_ids = draw(st.lists(NODE_IDS, min_size=n + 1, max_size=n + 1, unique=True))
    nodes = [
        Node(node_ids[0], "input", step_ids[0], {"source": E("TestingSource(range(3))")}, draw(POSITIONS))
    ]
    outputs = [(node_ids[0], "down")]
    edges = []
    for i in range(1, n + 1):
        kind = draw(st.sampled_from([*OPS, "branch", "merge", "collect"]))
        nid, step = node_ids[i], step_ids[i]
        src = draw(st.sampled_from(outputs))
        params = {}
        if kind in OPS and (kind != "inspect" or draw(st.booleans())):
            params[OPS[kind]] = draw(CALLABLES)
        elif kind == "branch":
            params["predicate"] = draw(CALLABLES)
        elif kind == "collect":
            params = {"timeout": E("timedelta(seconds=1)"), "max_size": L(draw(st.integers(1, 10**12)))}
            # collect takes keyed items. Drawn ids are at most 6 characters and step
            # ids have no "k": these can't clash with them.
            key_id = f"{nid}/key-on"
            nodes.append(Node(key_id, "key_on", f"{step}_key", {"key": E("str")}, draw(POSITIONS)))
            edges.append(Edge(Endpoint(*src), Endpoint(key_id, "up")))
            src = (key_id, "down")
        if kind == "merge":
            ups = [src, *draw(st.lists(st.sampled_from(outputs), max_size=2))]
            edges += [Edge(Endpoint(*up), Endpoint(nid, "ups", j)) for j, up in enumerate(ups)]
        else:
            edges.append(Edge(Endpoint(*src), Endpoint(nid, "up")))
        nodes.append(Node(nid, kind, step, params, draw(POSITIONS)))
        outputs += [(nid, "trues"), (nid, "falses")] if kind == "branch" else [(nid, "down")]
    prelude = draw(st.sampled_from(PRELUDES)) + BASE
    flow_id = draw(st.sampled_from(["flow", "my-flow", "ünïcode", "x"]))
    return Pipeline(flow_id, prelude, nodes, edges)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_generated_pipelines_round_trip(p):
    assert_round_trips(p)
