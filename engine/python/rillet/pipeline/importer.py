"""Read a rillet Python program into a pipeline, without running it.

The file is parsed with `ast`; nothing in it is executed. Each
top-level operator call after `flow = Dataflow(...)` becomes a node.
A top-level `def` passed to operators (and used nowhere else) becomes
a function param, with its decorators and the comment block right
above it; lambdas and other expressions become expr params, JSON-like
literals literal params. The other top-level statements form the
prelude, except the imports of `rillet.dataflow` and
`rillet.operators` that every exported file has. A file written by
`export` keeps its prelude (between the marker comments), node ids
and positions.

>>> from rillet.pipeline.importer import import_source
>>> src = '''
... from rillet.dataflow import Dataflow
... import rillet.operators as op
... from rillet.testing import TestingSource
...
... def double(x):
...     return x * 2
...
... flow = Dataflow("eg")
... nums = op.input("nums", flow, TestingSource([1, 2]))
... op.inspect("show", nums.then(op.map, "double", double))
... '''
>>> p = import_source(src)
>>> [(n.op, n.step_id) for n in p.nodes]
[('input', 'nums'), ('map', 'double'), ('inspect', 'show')]
>>> p.prelude, p.nodes[1].params["mapper"].name
('from rillet.testing import TestingSource', 'double')
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

from rillet.pipeline.catalog import OPERATOR_MODULES, catalog, operator_function
from rillet.pipeline.exporter import META_PREFIX, PRELUDE_END, PRELUDE_START
from rillet.pipeline.model import (
    Edge,
    Endpoint,
    ExprParam,
    FunctionParam,
    LiteralParam,
    Node,
    Param,
    Pipeline,
    Position,
)
from rillet.pipeline.snippets import free_names, literal_value
from rillet.pipeline.source import SourceFile

LAYER_DX = 260.0
ROW_DY = 120.0
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
RUNNERS = ("run_main", "cluster_main", "cli_main")


class PipelineImportError(ValueError):
    """The file can't be represented as a pipeline.

    `line` and `column` (1-based) point at the cause; `step` is the
    step id involved, when there is one.

    >>> from rillet.pipeline.importer import PipelineImportError, import_source
    >>> try:
    ...     import_source("x = 1")
    ... except PipelineImportError as ex:
    ...     print(ex)
    there is no `flow = Dataflow("...")` at the top level of the file; create the dataflow there (`from rillet.dataflow import Dataflow`)
    """

    def __init__(
        self,
        message: str,
        line: Optional[int] = None,
        column: Optional[int] = None,
        step: Optional[str] = None,
    ) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message, self.line, self.column, self.step = message, line, column, step

    def to_json(self) -> Dict[str, Any]:
        """The error as a validation issue (`node` is `None`: there is no pipeline yet)."""
        return {
            "node": None,
            "field": None,
            "line": self.line,
            "column": self.column,
            "message": str(self),
        }


@dataclass(frozen=True)
class _Stream:
    node: str
    port: str


@dataclass(frozen=True)
class _Multi:
    """The result of an operator with several output ports, like `branch`'s."""

    node: str
    ports: Tuple[str, ...]


class _Flow:
    pass


def _err(node: ast.AST, message: str, step: Optional[str] = None) -> PipelineImportError:
    return PipelineImportError(
        message, getattr(node, "lineno", None), getattr(node, "col_offset", -1) + 1 or None, step
    )


def _dotted(node: ast.AST) -> Optional[str]:
    """`a.b.c` for a chain of names and attributes, else `None`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _step_name(args: List[ast.AST]) -> Optional[str]:
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        return args[0].value
    return None


class _Reader:
    """Reads one module; see `import_source`."""

    def __init__(self, source: str) -> None:
        try:
            self.file = SourceFile(source)
        except SyntaxError as ex:
            raise PipelineImportError(
                f"Python syntax error: {ex.msg}; fix the file first", ex.lineno, ex.offset
            ) from ex
        self.aliases: Dict[str, str] = {}  # local name -> dotted rillet target
        self.vars: Dict[str, Any] = {}  # variable -> _Stream or _Multi
        self.flow_var: Optional[str] = None
        self.flow_id = ""
        self.flow_line = 0
        self.nodes: List[Node] = []
        self.edges: List[Edge] = []
        self.tree, self.lines = self.file.tree, self.file.lines
        self.defs = {s.name: s for s in self.tree.body if isinstance(s, DEFS)}
        self.used_defs: Set[str] = set()
        self.meta = self._read_meta()
        self.region = self._prelude_region()

    # -- what export leaves for us ----------------------------------------

    def _read_meta(self) -> Dict[str, dict]:
        meta: Dict[str, dict] = {}
        for i, text in enumerate(self.lines, 1):
            if text.startswith(META_PREFIX):
                try:
                    item = json.loads(text[len(META_PREFIX) :])
                    meta[str(item["step"])] = item
                except (ValueError, KeyError, TypeError) as ex:
                    raise PipelineImportError(
                        f"this `{META_PREFIX.strip()}` comment is not valid ({ex}); delete "
                        "the line, and the studio will lay out the step anew",
                        i,
                        1,
                    ) from ex
        return meta

    def _prelude_region(self) -> Optional[Tuple[int, int]]:
        starts = [i for i, t in enumerate(self.lines, 1) if t == PRELUDE_START]
        ends = [i for i, t in enumerate(self.lines, 1) if t == PRELUDE_END]
        if starts and ends and ends[0] > starts[0]:
            return starts[0], ends[0]
        return None

    def _in_region(self, stmt: ast.stmt) -> bool:
        return self.region is not None and self.region[0] < stmt.lineno < self.region[1]

    # -- names ------------------------------------------------------------

    def _record_import(self, stmt: ast.stmt) -> bool:
        """Remember rillet aliases; True if `stmt` imports only what every exported file imports."""
        ours = True
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                local = a.asname or a.name.split(".")[0]
                self.aliases[local] = a.name if a.asname else local
                ours = ours and a.name in (*OPERATOR_MODULES, "rillet.dataflow")
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
            for a in stmt.names:
                target = f"{stmt.module}.{a.name}"
                self.aliases[a.asname or a.name] = target
                ours = ours and (
                    target in OPERATOR_MODULES
                    or target == "rillet.dataflow.Dataflow"
                    or self._op_name(target) is not None
                )
        return ours

    def _resolve(self, node: ast.AST) -> Optional[str]:
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.vars or head not in self.aliases:
            return None
        return self.aliases[head] + (f".{rest}" if rest else "")

    @staticmethod
    def _op_name(target: str) -> Optional[str]:
        module, _, name = target.rpartition(".")
        entry = catalog().get(name)
        return name if entry is not None and entry["module"] == module else None

    def _operator_of(self, func: ast.AST) -> Optional[str]:
        target = self._resolve(func)
        return self._op_name(target) if target else None

    def _is_dataflow(self, func: ast.AST) -> bool:
        return self._resolve(func) == "rillet.dataflow.Dataflow"

    def _mentions_flow(self, node: ast.AST) -> bool:
        """Does `node` read the dataflow or a stream variable, or call an operator?"""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and (
                self._operator_of(sub.func) or self._is_dataflow(sub.func)
            ):
                return True
        # Scope-aware: in `lambda x: x`, `x` is not the stream variable `x`.
        mode = "exec" if isinstance(node, ast.stmt) else "eval"
        return bool(free_names(ast.unparse(node), mode) & {*self.vars, self.flow_var})

    def _def_code(self, stmt: ast.stmt) -> str:
        return "\n".join(self.lines[self._first_line(stmt) - 1 : stmt.end_lineno])

    def _first_line(self, stmt: ast.stmt) -> int:
        """First line of `stmt`, with its decorators and, for a function param,
        the comment lines right above it."""
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        if isinstance(stmt, DEFS) and stmt.name in self.used_defs:
            first = self.file.comment_block_start(first, (PRELUDE_START, PRELUDE_END))
        return first

    # -- steps ------------------------------------------------------------

    def _param(self, node: ast.AST, name: str, step: str, call: ast.Call) -> Param:
        if self._mentions_flow(node):
            raise _err(
                node,
                f"step {step!r} passes a stream or the dataflow as {name!r}; only input ports "
                "take streams, so pass a plain value there",
                step,
            )
        if (
            isinstance(node, ast.Name)
            and node.id in self.defs
            and not self._in_region(self.defs[node.id])
            and not self._used_elsewhere(node.id)
        ):
            self.used_defs.add(node.id)
            return FunctionParam(self._def_code(self.defs[node.id]), node.id)
        code = self.file.arg_source(node, call)
        is_literal, value = literal_value(code)
        if is_literal and name not in self.meta.get(step, {}).get("exprs", []):
            return LiteralParam(value)
        return ExprParam(code)

    def _used_elsewhere(self, name: str) -> bool:
        """Is function `name` used by code other than step arguments (then it stays in the prelude)?"""
        for stmt in self.tree.body:
            if stmt is self.defs[name] or self._is_step_stmt(stmt):
                continue
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(stmt)):
                return True
        return False

    def _is_step_stmt(self, stmt: ast.stmt) -> bool:
        value = getattr(stmt, "value", None)
        return (
            isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign))
            and value is not None
            and self.flow_var is not None
            and stmt.lineno > self.flow_line
            and self._mentions_flow(value)
        )

    def _stream(self, node: Any, what: str, step: str) -> _Stream:
        ref = node if isinstance(node, _Stream) else self._eval(node)
        if isinstance(ref, _Multi):
            raise _err(
                node,
                f"step {step!r} gets {self.file.segment(node)!r} as {what}, which has several outputs "
                f"({', '.join(ref.ports)}); pass one of them, like `.{ref.ports[0]}`",
                step,
            )
        if not isinstance(ref, _Stream):
            raise _err(
                node,
                f"step {step!r} gets {self.file.segment(node)!r} as {what}, which is not a stream of an "
                "earlier step; pass the variable of an earlier step",
                step,
            )
        return ref

    def _eval(self, node: ast.AST) -> Any:
        """The stream, multi-output result, flow or `None` an expression stands for."""
        if isinstance(node, ast.Name):
            return _Flow() if node.id == self.flow_var else self.vars.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._eval(node.value)
            if isinstance(base, _Multi):
                if node.attr not in base.ports:
                    raise _err(
                        node,
                        f"{self.file.segment(node.value)!r} has no output {node.attr!r}; use one of "
                        f"{', '.join(base.ports)}",
                    )
                return _Stream(base.node, node.attr)
            return None
        if isinstance(node, ast.Call):
            return self._call(node)
        return None

    def _call(self, call: ast.Call) -> Any:
        func, args = call.func, list(call.args)
        if isinstance(func, ast.Attribute) and func.attr == "then":
            up = self._eval(func.value)
            if isinstance(up, _Stream):
                op_name = self._operator_of(args[0]) if len(args) >= 2 else None
                if op_name is None:
                    raise _err(
                        call,
                        f'`{self.file.segment(call)[:60]}` is not `.then(<operator>, "step_id", ...)` with '
                        "an operator of rillet.operators; call a built-in operator there",
                        _step_name(args[1:]),
                    )
                return self._step(op_name, call, [args[1], up, *args[2:]])
        op_name = self._operator_of(func)
        if op_name is not None:
            return self._step(op_name, call, args)
        if self._mentions_flow(call) and _dotted(func) and _dotted(func).split(".")[-1] in RUNNERS:
            raise _err(
                call,
                f"`{self.file.segment(call)}` runs the dataflow while the file is imported; the studio runs "
                "it with `python -m rillet.run file.py:flow`, so delete this line",
            )
        if self._mentions_flow(call):
            step = _step_name(args)
            named = f"step {step!r}" if step else "this call"
            raise _err(
                call,
                f"{named} calls {self.file.segment(func)!r}, which is not an operator of "
                "rillet.operators; the studio shows built-in operators only, so write the "
                "steps of a custom operator out one by one",
                step,
            )
        return None

    def _step(self, op_name: str, call: ast.Call, args: List[ast.AST]) -> Any:
        step = _step_name(args)
        if step is None:
            raise _err(
                call,
                f"the first argument of this {op_name!r} call must be the step id as a string, like "
                '"parse"; computed step ids (loops, f-strings) can\'t be shown in the studio',
            )
        if any(isinstance(a, ast.Starred) for a in args) or any(
            k.arg is None for k in call.keywords
        ):
            raise _err(
                call, f"step {step!r} passes `*args` or `**kwargs`; write each argument out", step
            )
        sig = inspect.signature(operator_function(op_name))
        try:
            bound = sig.bind(*args, **{k.arg: k.value for k in call.keywords})  # type: ignore[misc]
        except TypeError as ex:
            raise _err(
                call,
                f"step {step!r} calls {op_name} with arguments that don't fit {op_name}{sig}: {ex}; "
                "fix the call",
                step,
            ) from ex
        if any(n.step_id == step for n in self.nodes):
            raise _err(call, f"step id {step!r} is used twice; give each step a unique id", step)
        node_id = str(self.meta.get(step, {}).get("id", step))
        params: Dict[str, Param] = {}
        kinds = {q["name"]: q["kind"] for q in catalog()[op_name]["params"]}
        for name, value in bound.arguments.items():
            kind = kinds.get(name, "value")
            if name == "step_id":
                continue
            if kind == "flow":
                if not isinstance(self._eval(value), _Flow):
                    raise _err(
                        value,
                        f"step {step!r} must get the dataflow {self.flow_var!r} as {name!r}",
                        step,
                    )
            elif kind in ("stream", "multi_stream"):
                many = kind == "multi_stream"
                for i, item in enumerate(value if many else [value]):
                    src = self._stream(item, f"input {name!r}", step)
                    self.edges.append(
                        Edge(
                            Endpoint(src.node, src.port),
                            Endpoint(node_id, name, i if many else None),
                        )
                    )
            else:
                params[name] = self._param(value, name, step, call)
        self.nodes.append(Node(node_id, op_name, step, params))
        outs = tuple(o["name"] for o in catalog()[op_name]["outputs"])
        if outs == ("down",):
            return _Stream(node_id, "down")
        return _Multi(node_id, outs) if outs else None

    # -- statements -------------------------------------------------------

    def _flow_assign(self, stmt: ast.stmt) -> bool:
        if not (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.Call)
            and self._is_dataflow(stmt.value.func)
        ):
            return False
        call = stmt.value
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            raise _err(
                stmt, 'assign the dataflow to one variable, like `flow = Dataflow("my_flow")`'
            )
        if not (
            len(call.args) == 1
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            raise _err(stmt, 'give the dataflow id as a string, like `Dataflow("my_flow")`')
        self.flow_var, self.flow_id, self.flow_line = (
            stmt.targets[0].id,
            call.args[0].value,
            stmt.lineno,
        )
        return True

    def _flow_stmt(self, stmt: ast.stmt) -> bool:
        """Read a statement after the Dataflow; False if it belongs to the prelude."""
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.Call)
            and self._is_dataflow(stmt.value.func)
        ):
            raise _err(
                stmt, "this file makes a second Dataflow; a pipeline holds one, so split the file"
            )
        target = None
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            target = stmt.targets[0].id
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            target = stmt.target.id
        value = getattr(stmt, "value", None)
        if (
            value is None
            or not (target or isinstance(stmt, ast.Expr))
            or not self._mentions_flow(value)
        ):
            if self._mentions_flow(stmt):
                raise _err(stmt, self._unsupported(stmt))
            return False
        if not isinstance(
            value, ast.Call if target is None else (ast.Call, ast.Name, ast.Attribute)
        ):
            raise _err(
                stmt,
                "this statement uses the dataflow or its streams without adding a step; write one step "
                'per statement, like `words = op.flat_map("split", lines, str.split)`',
            )
        ref = self._eval(value)
        if target is not None:
            if ref is None and isinstance(value, ast.Call):
                raise _err(
                    stmt,
                    f"`{target}` is given the result of a step with no outputs; drop `{target} =`",
                )
            if ref is None:
                raise _err(
                    stmt,
                    f"`{self.file.segment(value)}` is not a stream; use the variable of an earlier step",
                )
            self.vars[target] = ref
        return True

    def _unsupported(self, stmt: ast.stmt) -> str:
        if isinstance(stmt, (*DEFS, ast.ClassDef)):
            return (
                f"`{stmt.name}` uses the dataflow or its streams inside a function; the studio shows "
                "steps written at the top level, so move them there"
            )
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            return (
                'the `if __name__ == "__main__":` block runs the dataflow; the studio runs it with '
                "`python -m rillet.run file.py:flow`, so delete the block"
            )
        kind = {
            ast.For: "a loop",
            ast.While: "a loop",
            ast.If: "an `if`",
            ast.With: "a `with`",
        }.get(type(stmt), "this statement")
        return (
            f"{kind} uses the dataflow or its streams; the studio shows steps written one per "
            'statement at the top level (`var = op.<operator>("step_id", ...)`), so write each step out there'
        )

    def _check_defs(self) -> None:
        for stmt in self.tree.body:
            if isinstance(stmt, (*DEFS, ast.ClassDef)):
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Call) and (
                        self._operator_of(sub.func) or self._is_dataflow(sub.func)
                    ):
                        raise _err(
                            sub,
                            f"`{stmt.name}` (line {stmt.lineno}) builds the dataflow inside a function; the "
                            "studio shows steps written at the top level, so move them there",
                        )

    def read(self) -> Pipeline:
        prelude: List[ast.stmt] = []
        for stmt in self.tree.body:
            if (
                isinstance(stmt, (ast.Import, ast.ImportFrom))
                and self._record_import(stmt)
                and not self._in_region(stmt)
            ):
                continue
            if self._in_region(stmt):
                continue
            if self.flow_var is None:
                if not self._flow_assign(stmt):
                    prelude.append(stmt)
            elif not self._flow_stmt(stmt):
                prelude.append(stmt)
        self._check_defs()
        if self.flow_var is None:
            raise PipelineImportError(
                'there is no `flow = Dataflow("...")` at the top level of the file; create the '
                "dataflow there (`from rillet.dataflow import Dataflow`)"
            )
        kept = [s for s in prelude if not (isinstance(s, DEFS) and s.name in self.used_defs)]
        return Pipeline(self.flow_id, self._prelude(kept), self._laid_out(), self.edges)

    def _prelude(self, stmts: List[ast.stmt]) -> str:
        """The prelude: the marked region verbatim, then the other statements
        with the comments and blank lines between them."""
        parts: List[str] = []
        if self.region is not None:
            parts.append("\n".join(self.lines[self.region[0] : self.region[1] - 1]))
        if stmts:
            skip: Set[int] = set()
            first, last = self._first_line(stmts[0]), stmts[-1].end_lineno or stmts[-1].lineno
            for s in self.tree.body:
                if s not in stmts:
                    skip.update(range(self._first_line(s), (s.end_lineno or s.lineno) + 1))
            text = "\n".join(self.lines[i - 1] for i in range(first, last + 1) if i not in skip)
            parts.append(re.sub(r"\n{4,}", "\n\n\n", text).strip("\n"))
        return "\n\n".join(p for p in parts if p)

    def _laid_out(self) -> List[Node]:
        """Nodes in the order of the trailing comments (the rest in file order),
        with their stored positions or a layered layout."""
        layer: Dict[str, int] = {}
        preds: Dict[str, List[str]] = defaultdict(list)
        for e in self.edges:
            preds[e.dst.node].append(e.src.node)
        rows: Dict[int, int] = defaultdict(int)
        out = []
        for n in self.nodes:  # file order is upstream first
            layer[n.id] = max((layer[p] + 1 for p in preds[n.id]), default=0)
            meta = self.meta.get(n.step_id, {})
            if "x" in meta and "y" in meta:
                pos = Position(float(meta["x"]), float(meta["y"]))
            else:
                pos = Position(layer[n.id] * LAYER_DX, rows[layer[n.id]] * ROW_DY)
            rows[layer[n.id]] += 1
            out.append(Node(n.id, n.op, n.step_id, n.params, pos))
        rank = {step: i for i, step in enumerate(self.meta)}
        return sorted(out, key=lambda n: rank.get(n.step_id, len(rank)))


def import_source(source: str) -> Pipeline:
    """Parse Python source into a pipeline; raises `PipelineImportError`.

    >>> from rillet.pipeline.importer import import_source
    >>> p = import_source('''
    ... import rillet.operators as op
    ... from rillet.dataflow import Dataflow
    ... flow = Dataflow("f")
    ... nums = op.input("nums", flow, SOURCE)
    ... ''')
    >>> p.nodes[0].params
    {'source': ExprParam(code='SOURCE')}
    """
    return _Reader(source).read()
