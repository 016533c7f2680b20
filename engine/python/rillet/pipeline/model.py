"""The pipeline model: plain dataclasses that read and write JSON.

A pipeline is the one shape shared by the studio, the Python API,
`export` and `import`. It holds no Python objects, only source text,
so it can be stored, diffed and sent over HTTP.

>>> from rillet.pipeline.model import ExprParam, Pipeline
>>> p = Pipeline.from_json({
...     "schema_version": 1, "flow_id": "demo", "prelude": "",
...     "nodes": [{"id": "n1", "op": "input", "step_id": "nums",
...                "params": {"source": {"kind": "expr",
...                                      "code": "TestingSource([1])"}},
...                "position": {"x": 0, "y": 0}}],
...     "edges": []})
>>> p.nodes[0].params["source"]
ExprParam(code='TestingSource([1])')
>>> Pipeline.from_json(p.to_json()) == p
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

SCHEMA_VERSION = 1
"""The `schema_version` this code reads and writes."""


class ModelError(ValueError):
    """The JSON does not have the shape of a pipeline.

    `path` says where, like `nodes[2].params.mapper.code` (empty for
    the whole document); `message` says what is wrong and what to do.

    >>> from rillet.pipeline.model import Pipeline
    >>> Pipeline.from_json({"schema_version": 1, "flow_id": 3, "nodes": [], "edges": []})
    Traceback (most recent call last):
    ...
    rillet.pipeline.model.ModelError: flow_id: expected a string, got 3; fix this value
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _check(ok: bool, value: Any, path: str, what: str) -> None:
    if not ok:
        got = json.dumps(value, default=repr)
        got = got if len(got) <= 60 else got[:57] + "..."
        raise ModelError(path, f"expected {what}, got {got}; fix this value")


def _str(value: Any, path: str, what: str = "a string") -> str:
    _check(isinstance(value, str), value, path, what)
    return value


def _number(value: Any, path: str) -> float:
    _check(isinstance(value, (int, float)) and not isinstance(value, bool), value, path, "a number")
    return float(value)


def _object(value: Any, path: str, required: List[str], optional: List[str] = ()) -> Dict[str, Any]:
    """Check that `value` is an object with exactly `required` plus some `optional` keys."""
    _check(isinstance(value, dict), value, path, f"an object with the keys {', '.join(required)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise ModelError(path, f"missing key(s) {', '.join(map(repr, missing))}; add them")
    extra = sorted(set(value) - set(required) - set(optional))
    if extra:
        allowed = ", ".join(map(repr, [*required, *optional]))
        raise ModelError(
            path, f"unknown key(s) {', '.join(map(repr, extra))}; the allowed keys are {allowed}"
        )
    return value


def _list(value: Any, path: str, what: str) -> List[Any]:
    _check(isinstance(value, list), value, path, what)
    return value


def _trim(code: str) -> str:
    """Source text with `\\n` line ends and no trailing newlines: the one form
    the model keeps, so that every copy of a snippet compares equal."""
    return code.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


@dataclass(frozen=True)
class LiteralParam:
    """A JSON value passed as is, like `10` or `"utf-8"`.

    >>> from rillet.pipeline.model import LiteralParam
    >>> LiteralParam(3).to_json()
    {'kind': 'literal', 'value': 3}
    """

    value: Any

    def to_json(self) -> Dict[str, Any]:
        return {"kind": "literal", "value": self.value}


@dataclass(frozen=True)
class ExprParam:
    """A Python expression, like `lambda x: x * 2` or `TestingSource(range(3))`.

    Whitespace around `code` is dropped; line ends are `\\n`.

    >>> from rillet.pipeline.model import ExprParam
    >>> ExprParam("lambda x: x").to_json()
    {'kind': 'expr', 'code': 'lambda x: x'}
    """

    code: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _trim(self.code).strip())

    def to_json(self) -> Dict[str, Any]:
        return {"kind": "expr", "code": self.code}


@dataclass(frozen=True)
class FunctionParam:
    """A top-level `def` (with its decorators and comments) whose function is passed.

    Blank lines before and after `code` are dropped and line ends are
    `\\n`, so that every source of the same function compares equal.

    >>> from rillet.pipeline.model import FunctionParam
    >>> FunctionParam("\\ndef f(x):\\n    return x\\n", "f").code
    'def f(x):\\n    return x'
    """

    code: str
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _trim(self.code).lstrip("\n"))

    def to_json(self) -> Dict[str, Any]:
        return {"kind": "function", "code": self.code, "name": self.name}


Param = Union[LiteralParam, ExprParam, FunctionParam]


def param_from_json(obj: Any, path: str) -> Param:
    """Read one param, checking its shape.

    >>> from rillet.pipeline.model import param_from_json
    >>> param_from_json({"kind": "expr", "code": "1 + 1"}, "p")
    ExprParam(code='1 + 1')
    """
    _check(isinstance(obj, dict), obj, path, 'an object like {"kind": "expr", "code": "..."}')
    kind = obj.get("kind")
    if kind == "literal":
        _object(obj, path, ["kind", "value"])
        return LiteralParam(obj["value"])
    if kind == "expr":
        _object(obj, path, ["kind", "code"])
        return ExprParam(_str(obj["code"], f"{path}.code", "a string of Python source"))
    if kind == "function":
        _object(obj, path, ["kind", "code", "name"])
        code = _str(obj["code"], f"{path}.code", "a string holding a `def`")
        return FunctionParam(
            code, _str(obj["name"], f"{path}.name", "the function's name as a string")
        )
    raise ModelError(
        f"{path}.kind", f"unknown param kind {kind!r}; use 'literal', 'expr' or 'function'"
    )


@dataclass(frozen=True)
class Position:
    """Where the studio draws a node.

    >>> from rillet.pipeline.model import Position
    >>> Position(10, -2.5).to_json()
    {'x': 10, 'y': -2.5}
    """

    x: float = 0.0
    y: float = 0.0

    def to_json(self) -> Dict[str, float]:
        return {"x": self.x, "y": self.y}


@dataclass(frozen=True)
class Node:
    """One step: an operator of `rillet.operators` with its value params.

    Input streams are not params; they come from edges.

    >>> from rillet.pipeline.model import ExprParam, Node
    >>> Node("n2", "map", "double", {"mapper": ExprParam("lambda x: 2 * x")}).to_json()["params"]
    {'mapper': {'kind': 'expr', 'code': 'lambda x: 2 * x'}}
    """

    id: str
    op: str
    step_id: str
    params: Dict[str, Param] = field(default_factory=dict)
    position: Position = Position()

    def to_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "op": self.op,
            "step_id": self.step_id,
            "params": {name: p.to_json() for name, p in self.params.items()},
            "position": self.position.to_json(),
        }

    @staticmethod
    def from_json(obj: Any, path: str) -> "Node":
        _object(obj, path, ["id", "op", "step_id"], ["params", "position"])
        params = obj.get("params", {})
        _check(isinstance(params, dict), params, f"{path}.params", "an object of params by name")
        pos = _object(obj.get("position", {"x": 0, "y": 0}), f"{path}.position", ["x", "y"])
        return Node(
            id=_str(obj["id"], f"{path}.id", "a string node id"),
            op=_str(obj["op"], f"{path}.op", 'an operator name like "map"'),
            step_id=_str(obj["step_id"], f"{path}.step_id", "a string step id"),
            params={k: param_from_json(v, f"{path}.params.{k}") for k, v in params.items()},
            position=Position(
                _number(pos["x"], f"{path}.position.x"), _number(pos["y"], f"{path}.position.y")
            ),
        )


@dataclass(frozen=True)
class Endpoint:
    """One end of an edge: a node's port, with `index` for multi ports like `merge`'s `ups`.

    >>> from rillet.pipeline.model import Endpoint
    >>> Endpoint("n5", "ups", 1).to_json()
    {'node': 'n5', 'port': 'ups', 'index': 1}
    """

    node: str
    port: str
    index: Optional[int] = None

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"node": self.node, "port": self.port}
        if self.index is not None:
            out["index"] = self.index
        return out

    @staticmethod
    def from_json(obj: Any, path: str) -> "Endpoint":
        _object(obj, path, ["node", "port"], ["index"])
        index = obj.get("index")
        if index is not None:
            ok = isinstance(index, int) and not isinstance(index, bool) and index >= 0
            _check(ok, index, f"{path}.index", "a whole number from 0")
        return Endpoint(
            _str(obj["node"], f"{path}.node", "a node id"),
            _str(obj["port"], f"{path}.port", 'a port name like "down" or "up"'),
            index,
        )


@dataclass(frozen=True)
class Edge:
    """A stream from an output port (`src`) to an input port (`dst`).

    >>> from rillet.pipeline.model import Edge, Endpoint
    >>> Edge(Endpoint("n3", "trues"), Endpoint("n4", "up")).to_json()
    {'from': {'node': 'n3', 'port': 'trues'}, 'to': {'node': 'n4', 'port': 'up'}}
    """

    src: Endpoint
    dst: Endpoint

    def to_json(self) -> Dict[str, Any]:
        return {"from": self.src.to_json(), "to": self.dst.to_json()}

    @staticmethod
    def from_json(obj: Any, path: str) -> "Edge":
        _object(obj, path, ["from", "to"])
        return Edge(
            Endpoint.from_json(obj["from"], f"{path}.from"),
            Endpoint.from_json(obj["to"], f"{path}.to"),
        )

    def sort_key(self) -> tuple:
        """Order used to compare edge lists: edges are a set."""
        index = -1 if self.dst.index is None else self.dst.index
        return (self.dst.node, self.dst.port, index, self.src.node, self.src.port)


@dataclass(frozen=True)
class Pipeline:
    """A whole dataflow. Equality ignores the order of `edges`.

    >>> from rillet.pipeline.model import Edge, Endpoint, Node, Pipeline
    >>> p = Pipeline("demo", nodes=[Node("a", "input", "inp"), Node("b", "inspect", "show")],
    ...              edges=[Edge(Endpoint("a", "down"), Endpoint("b", "up"))])
    >>> p.node("b").op, p.to_json()["edges"][0]["to"]
    ('inspect', {'node': 'b', 'port': 'up'})
    """

    flow_id: str
    prelude: str = ""
    nodes: List[Node] = field(default_factory=list)
    edges: List[Edge] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "prelude", _trim(self.prelude))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pipeline):
            return NotImplemented
        mine = (self.schema_version, self.flow_id, self.prelude, self.nodes)
        theirs = (other.schema_version, other.flow_id, other.prelude, other.nodes)
        return mine == theirs and sorted(self.edges, key=Edge.sort_key) == sorted(
            other.edges, key=Edge.sort_key
        )

    __hash__ = None  # type: ignore[assignment]

    def node(self, node_id: str) -> Optional[Node]:
        """The node with id `node_id`, or `None`."""
        return next((n for n in self.nodes if n.id == node_id), None)

    def to_json(self) -> Dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "flow_id": self.flow_id,
            "prelude": self.prelude,
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
        }

    def dumps(self) -> str:
        """Stable JSON text (2-space indent, key order as in the schema)."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def from_json(obj: Any) -> "Pipeline":
        """Read a pipeline, raising `ModelError` on a wrong shape.

        >>> from rillet.pipeline.model import Pipeline
        >>> Pipeline.from_json({"schema_version": 2})
        Traceback (most recent call last):
        ...
        rillet.pipeline.model.ModelError: schema_version: this pipeline has schema version 2, but this Rillet reads version 1; upgrade Rillet, or open it with the Rillet that saved it
        """
        _check(isinstance(obj, dict), obj, "", "a JSON object")
        if "schema_version" not in obj:
            raise ModelError("schema_version", f'missing; add "schema_version": {SCHEMA_VERSION}')
        version = obj["schema_version"]
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise ModelError(
                "schema_version",
                f"this pipeline has schema version {json.dumps(version)}, but this Rillet reads "
                f"version {SCHEMA_VERSION}; upgrade Rillet, or open it with the Rillet that saved it",
            )
        _object(obj, "", ["schema_version", "flow_id", "nodes", "edges"], ["prelude"])
        nodes = _list(obj["nodes"], "nodes", "a list of nodes")
        edges = _list(obj["edges"], "edges", "a list of edges")
        return Pipeline(
            flow_id=_str(obj["flow_id"], "flow_id"),
            prelude=_str(obj.get("prelude", ""), "prelude", "a string of Python source"),
            nodes=[Node.from_json(n, f"nodes[{i}]") for i, n in enumerate(nodes)],
            edges=[Edge.from_json(e, f"edges[{i}]") for i, e in enumerate(edges)],
        )

    @staticmethod
    def loads(text: str) -> "Pipeline":
        """Parse JSON text; bad JSON is a `ModelError` too."""
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as ex:
            where = f"line {ex.lineno}, column {ex.colno}"
            msg = f"not valid JSON ({where}: {ex.msg}); send the pipeline as a JSON object"
            raise ModelError("", msg) from ex
        return Pipeline.from_json(obj)
