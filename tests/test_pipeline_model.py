"""The pipeline model: JSON in and out, and every shape error with its path."""

import copy
import json

import pytest

from pipeline_support import FIXTURES_DIR, PACKAGE_DIR, E, F, L, fixtures
from rillet.pipeline.model import (
    SCHEMA_VERSION,
    Edge,
    Endpoint,
    ModelError,
    Node,
    Pipeline,
    Position,
)

SCHEMA = json.loads((PACKAGE_DIR / "schema_v1.json").read_text())

GOOD = {
    "schema_version": 1,
    "flow_id": "f",
    "prelude": "import math\n\n",
    "nodes": [
        {
            "id": "a",
            "op": "input",
            "step_id": "inp",
            "params": {"source": {"kind": "expr", "code": " TestingSource([1]) "}},
            "position": {"x": 1, "y": 2.5},
        },
        {
            "id": "b",
            "op": "map",
            "step_id": "m",
            "params": {"mapper": {"kind": "function", "code": "\ndef f(x):\n    return x\n\n", "name": "f"}},
        },
        {"id": "c", "op": "collect", "step_id": "c", "params": {"max_size": {"kind": "literal", "value": 3}}},
        {"id": "d", "op": "merge", "step_id": "d"},
    ],
    "edges": [
        {"from": {"node": "a", "port": "down"}, "to": {"node": "b", "port": "up"}},
        {"from": {"node": "b", "port": "down"}, "to": {"node": "d", "port": "ups", "index": 0}},
    ],
}


def test_reads_every_part_and_normalizes_text():
    p = Pipeline.from_json(GOOD)
    assert p.schema_version == SCHEMA_VERSION == 1
    assert p.flow_id == "f"
    assert p.prelude == "import math"  # trailing newlines dropped
    a, b, c, d = p.nodes
    assert (a.id, a.op, a.step_id) == ("a", "input", "inp")
    assert a.params == {"source": E("TestingSource([1])")}  # surrounding spaces dropped
    assert a.position == Position(1.0, 2.5)
    assert b.params["mapper"] == F("def f(x):\n    return x", "f")  # blank lines around dropped
    assert b.position == Position(0.0, 0.0)  # default
    assert c.params == {"max_size": L(3)}
    assert d.params == {}
    assert p.edges[1] == Edge(Endpoint("b", "down"), Endpoint("d", "ups", 0))
    assert p.node("c") is c and p.node("zz") is None


def test_json_round_trip_is_exact():
    p = Pipeline.from_json(GOOD)
    again = Pipeline.loads(p.dumps())
    assert again == p
    assert again.dumps() == p.dumps()
    out = json.loads(p.dumps())
    assert list(out) == ["schema_version", "flow_id", "prelude", "nodes", "edges"]
    assert out["nodes"][3] == {
        "id": "d",
        "op": "merge",
        "step_id": "d",
        "params": {},
        "position": {"x": 0.0, "y": 0.0},
    }
    assert "index" not in out["edges"][0]["to"] and out["edges"][1]["to"]["index"] == 0


def test_prelude_is_optional():
    obj = {k: v for k, v in GOOD.items() if k != "prelude"}
    assert Pipeline.from_json(obj).prelude == ""


def test_equality_ignores_edge_order_but_not_edges():
    p = Pipeline.from_json(GOOD)
    flipped = Pipeline(p.flow_id, p.prelude, p.nodes, list(reversed(p.edges)))
    assert flipped == p
    assert Pipeline(p.flow_id, p.prelude, p.nodes, p.edges[:1]) != p
    assert Pipeline(p.flow_id, p.prelude, p.nodes[::-1], p.edges) != p
    assert p != "not a pipeline"


def test_literal_values_keep_their_json_type():
    values = [None, True, 0, -3, 2.5, "", "ü", [1, [2]], {"a": {"b": None}}]
    for v in values:
        node = dict(GOOD["nodes"][2], params={"max_size": {"kind": "literal", "value": v}})
        p = Pipeline.from_json(dict(GOOD, nodes=[node], edges=[]))
        assert Pipeline.loads(p.dumps()).nodes[0].params["max_size"] == L(v)


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES_DIR.glob("*.json")))
def test_fixtures_read_back_equal(name):
    p = fixtures()[name]
    assert Pipeline.loads(p.dumps()) == p
    assert Pipeline.from_json(json.loads((FIXTURES_DIR / f"{name}.json").read_text())) == p


def _mutated(path, value):
    """GOOD with the value at `path` (a list of keys) replaced, or deleted if `value` is DELETE."""
    obj = copy.deepcopy(GOOD)
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


DELETE = object()

ERRORS = [
    # (where to change GOOD, new value, error path, error message)
    (["flow_id"], 3, "flow_id", "expected a string, got 3; fix this value"),
    (["flow_id"], DELETE, "", "missing key(s) 'flow_id'; add them"),
    (["nodes"], DELETE, "", "missing key(s) 'nodes'; add them"),
    (["edges"], DELETE, "", "missing key(s) 'edges'; add them"),
    (
        ["extra"],
        1,
        "",
        "unknown key(s) 'extra'; the allowed keys are 'schema_version', 'flow_id', 'nodes', 'edges', 'prelude'",
    ),
    (["prelude"], ["x"], "prelude", 'expected a string of Python source, got ["x"]; fix this value'),
    (["nodes"], {}, "nodes", "expected a list of nodes, got {}; fix this value"),
    (["edges"], "a->b", "edges", 'expected a list of edges, got "a->b"; fix this value'),
    (
        ["nodes", 0],
        7,
        "nodes[0]",
        "expected an object with the keys id, op, step_id, got 7; fix this value",
    ),
    (["nodes", 0, "op"], DELETE, "nodes[0]", "missing key(s) 'op'; add them"),
    (
        ["nodes", 0, "colour"],
        "red",
        "nodes[0]",
        "unknown key(s) 'colour'; the allowed keys are 'id', 'op', 'step_id', 'params', 'position'",
    ),
    (["nodes", 0, "id"], 1, "nodes[0].id", "expected a string node id, got 1; fix this value"),
    (
        ["nodes", 1, "op"],
        None,
        "nodes[1].op",
        'expected an operator name like "map", got null; fix this value',
    ),
    (
        ["nodes", 1, "step_id"],
        ["m"],
        "nodes[1].step_id",
        'expected a string step id, got ["m"]; fix this value',
    ),
    (
        ["nodes", 1, "params"],
        [],
        "nodes[1].params",
        "expected an object of params by name, got []; fix this value",
    ),
    (
        ["nodes", 1, "params", "mapper"],
        "lambda x: x",
        "nodes[1].params.mapper",
        'expected an object like {"kind": "expr", "code": "..."}, got "lambda x: x"; fix this value',
    ),
    (
        ["nodes", 1, "params", "mapper", "kind"],
        "lambda",
        "nodes[1].params.mapper.kind",
        "unknown param kind 'lambda'; use 'literal', 'expr' or 'function'",
    ),
    (
        ["nodes", 1, "params", "mapper", "name"],
        DELETE,
        "nodes[1].params.mapper",
        "missing key(s) 'name'; add them",
    ),
    (
        ["nodes", 1, "params", "mapper", "code"],
        None,
        "nodes[1].params.mapper.code",
        "expected a string holding a `def`, got null; fix this value",
    ),
    (
        ["nodes", 1, "params", "mapper", "name"],
        5,
        "nodes[1].params.mapper.name",
        "expected the function's name as a string, got 5; fix this value",
    ),
    (
        ["nodes", 0, "params", "source", "code"],
        {"py": "x"},
        "nodes[0].params.source.code",
        'expected a string of Python source, got {"py": "x"}; fix this value',
    ),
    (
        ["nodes", 0, "params", "source", "value"],
        1,
        "nodes[0].params.source",
        "unknown key(s) 'value'; the allowed keys are 'kind', 'code'",
    ),
    (
        ["nodes", 2, "params", "max_size", "value"],
        DELETE,
        "nodes[2].params.max_size",
        "missing key(s) 'value'; add them",
    ),
    (
        ["nodes", 0, "position"],
        [1, 2],
        "nodes[0].position",
        "expected an object with the keys x, y, got [1, 2]; fix this value",
    ),
    (["nodes", 0, "position", "y"], DELETE, "nodes[0].position", "missing key(s) 'y'; add them"),
    (["nodes", 0, "position", "x"], "1", "nodes[0].position.x", 'expected a number, got "1"; fix this value'),
    (
        ["nodes", 0, "position", "y"],
        True,
        "nodes[0].position.y",
        "expected a number, got true; fix this value",
    ),
    (["edges", 0], None, "edges[0]", "expected an object with the keys from, to, got null; fix this value"),
    (["edges", 0, "to"], DELETE, "edges[0]", "missing key(s) 'to'; add them"),
    (
        ["edges", 0, "from"],
        "a",
        "edges[0].from",
        'expected an object with the keys node, port, got "a"; fix this value',
    ),
    (["edges", 0, "from", "port"], DELETE, "edges[0].from", "missing key(s) 'port'; add them"),
    (
        ["edges", 0, "to", "stream"],
        "x",
        "edges[0].to",
        "unknown key(s) 'stream'; the allowed keys are 'node', 'port', 'index'",
    ),
    (["edges", 0, "from", "node"], 1, "edges[0].from.node", "expected a node id, got 1; fix this value"),
    (
        ["edges", 0, "to", "port"],
        None,
        "edges[0].to.port",
        'expected a port name like "down" or "up", got null; fix this value',
    ),
    (
        ["edges", 1, "to", "index"],
        -1,
        "edges[1].to.index",
        "expected a whole number from 0, got -1; fix this value",
    ),
    (
        ["edges", 1, "to", "index"],
        1.5,
        "edges[1].to.index",
        "expected a whole number from 0, got 1.5; fix this value",
    ),
    (
        ["edges", 1, "to", "index"],
        True,
        "edges[1].to.index",
        "expected a whole number from 0, got true; fix this value",
    ),
]


@pytest.mark.parametrize("where,value,path,message", ERRORS, ids=[".".join(map(str, e[0])) for e in ERRORS])
def test_shape_errors_name_the_path_and_the_fix(where, value, path, message):
    with pytest.raises(ModelError) as info:
        Pipeline.from_json(_mutated(where, value))
    assert (info.value.path, info.value.message) == (path, message)
    assert str(info.value) == (f"{path}: {message}" if path else message)


def test_a_long_bad_value_is_shortened_in_the_message():
    with pytest.raises(ModelError) as info:
        Pipeline.from_json(_mutated(["flow_id"], list(range(100))))
    assert info.value.message.startswith("expected a string, got [0, 1, 2, 3,")
    assert "...; fix this value" in info.value.message and len(info.value.message) < 120


@pytest.mark.parametrize(
    "version,message",
    [
        (2, "this pipeline has schema version 2, but this Rillet reads version 1; upgrade Rillet, "
            "or open it with the Rillet that saved it"),
        ("1", 'this pipeline has schema version "1", but this Rillet reads version 1; upgrade Rillet, '
              "or open it with the Rillet that saved it"),
        (True, "this pipeline has schema version true, but this Rillet reads version 1; upgrade Rillet, "
               "or open it with the Rillet that saved it"),
        (DELETE, 'missing; add "schema_version": 1'),
    ],
)  # fmt: skip
def test_schema_version_is_checked_first(version, message):
    obj = _mutated(["schema_version"], version)
    obj["nodes"] = "broken too"
    with pytest.raises(ModelError) as info:
        Pipeline.from_json(obj)
    assert (info.value.path, info.value.message) == ("schema_version", message)


def test_not_an_object_or_not_json():
    with pytest.raises(ModelError) as info:
        Pipeline.from_json([])
    assert str(info.value) == "expected a JSON object, got []; fix this value"
    with pytest.raises(ModelError) as info:
        Pipeline.loads('{"schema_version": 1,')
    assert str(info.value) == (
        "not valid JSON (line 1, column 22: Expecting property name enclosed in double quotes); "
        "send the pipeline as a JSON object"
    )
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


def test_schema_file_describes_the_same_shape():
    """schema_v1.json (for other languages) and the model agree on keys."""
    assert SCHEMA["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    defs = SCHEMA["$defs"]
    p = Pipeline.from_json(GOOD).to_json()
    assert set(SCHEMA["properties"]) == set(p)
    assert set(SCHEMA["required"]) == {"schema_version", "flow_id", "nodes", "edges"}
    assert set(defs["node"]["properties"]) == set(p["nodes"][0])
    assert set(defs["node"]["required"]) == {"id", "op", "step_id"}
    assert set(defs["endpoint"]["properties"]) == set(p["edges"][1]["to"])
    assert set(defs["edge"]["properties"]) == set(p["edges"][0])
    kinds = {v["properties"]["kind"]["const"]: set(v["required"]) for v in defs["param"]["oneOf"]}
    assert kinds == {
        "literal": {"kind", "value"},
        "expr": {"kind", "code"},
        "function": {"kind", "code", "name"},
    }
    for obj in (SCHEMA, defs["node"], defs["endpoint"], defs["edge"], *defs["param"]["oneOf"]):
        assert obj["additionalProperties"] is False


def test_nodes_are_plain_values():
    n = Node("a", "map", "m", {"mapper": E("len")})
    assert n.to_json()["params"] == {"mapper": {"kind": "expr", "code": "len"}}
    assert Node.from_json(n.to_json(), "n") == n


def test_code_is_kept_with_newline_line_ends():
    assert Pipeline("f", "a = 1\r\nb = 2\r\r\n").prelude == "a = 1\nb = 2"
    assert E(" (1 +\r\n 2)\n ").code == "(1 +\n 2)"
    assert F("\r\ndef f():\r    pass\r\n", "f").code == "def f():\n    pass"
