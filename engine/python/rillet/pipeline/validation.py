"""Check a pipeline before it is exported or run.

Nothing here runs user code: snippets are compiled, never executed.
Each problem is an `Issue` with the node id (or `None`), the field (a
param name, a port name, `"step_id"`, `"prelude"` or `"flow_id"`), a
1-based line and column inside that snippet when known, and a message
that says what is wrong and what to do. `errors` block export and
runs; `warnings` don't.

>>> from rillet.pipeline.model import ExprParam, Node, Pipeline
>>> from rillet.pipeline.validation import validate
>>> p = Pipeline("demo", nodes=[Node("n1", "map", "double", {"mapper": ExprParam("lambda x: x *")})])
>>> for issue in validate(p).errors:
...     print(issue.node, issue.field, issue.line, issue.column, issue.message)
n1 mapper 1 14 Python syntax error in param 'mapper' of step 'double': invalid syntax; fix the expression
n1 up None None input port 'up' of step 'double' is not connected; connect a stream to it
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

from rillet.pipeline.catalog import catalog, constructor
from rillet.pipeline.hints import TYPE_HELP
from rillet.pipeline.model import ExprParam, FunctionParam, LiteralParam, Pipeline
from rillet.pipeline.snippets import (
    BUILTIN_NAMES,
    bound_names,
    expr_error,
    first_use,
    free_names,
    function_error,
    json_text,
)

EXPORT_NAMES = frozenset({"op", "Dataflow"})
"""Names every exported file defines before the snippets run."""


@dataclass(frozen=True)
class Issue:
    """One problem found in a pipeline (see the module docstring).

    >>> from rillet.pipeline.validation import Issue
    >>> Issue("n1", "mapper", 1, 14, "Python syntax error ...").to_json()["field"]
    'mapper'
    """

    node: Optional[str]
    field: Optional[str]
    line: Optional[int]
    column: Optional[int]
    message: str

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """`errors` block export and runs; `warnings` are worth a look.

    >>> from rillet.pipeline.model import Pipeline
    >>> from rillet.pipeline.validation import validate
    >>> validate(Pipeline("empty")).to_json()["warnings"][0]["message"]
    'the pipeline has no steps yet; add an `input` step from Sources to start'
    """

    errors: List[Issue] = field(default_factory=list)
    warnings: List[Issue] = field(default_factory=list)

    def error(
        self,
        node: Optional[str],
        fld: Optional[str],
        message: str,
        line: Optional[int] = None,
        column: Optional[int] = None,
    ) -> None:
        self.errors.append(Issue(node, fld, line, column, message))

    def warn(
        self,
        node: Optional[str],
        fld: Optional[str],
        message: str,
        line: Optional[int] = None,
        column: Optional[int] = None,
    ) -> None:
        self.warnings.append(Issue(node, fld, line, column, message))

    def to_json(self) -> Dict[str, Any]:
        return {
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
        }


def _check_ids(p: Pipeline, rep: Report) -> None:
    if not p.flow_id or "." in p.flow_id:
        what = "is empty" if not p.flow_id else f"{p.flow_id!r} contains a period '.'"
        rep.error(
            None, "flow_id", f"the flow id {what}; use a short name without periods, like 'orders'"
        )
    count: Dict[str, int] = defaultdict(int)
    by_step: Dict[str, List[str]] = defaultdict(list)
    for n in p.nodes:
        count[n.id] += 1
        by_step[n.step_id].append(n.id)
    for nid, k in count.items():
        if k > 1:
            rep.error(nid, None, f"node id {nid!r} is used by {k} nodes; give each node its own id")
    for step, ids in by_step.items():
        if len(ids) > 1:
            for nid in ids:
                others = ", ".join(repr(i) for i in ids)
                rep.error(
                    nid,
                    "step_id",
                    f"step id {step!r} is used by nodes {others}; give each step a unique step id",
                )
    for n in p.nodes:
        if not n.step_id.strip():
            rep.error(
                n.id, "step_id", "the step id is empty; give the step a short name like 'parse'"
            )
        elif "." in n.step_id:
            rep.error(
                n.id,
                "step_id",
                f"step id {n.step_id!r} contains a period '.'; periods separate nested "
                "step ids, so use '_' instead",
            )


def import_hint(name: str) -> str:
    """What to write in the prelude so that `name` is defined.

    >>> from rillet.pipeline.validation import import_hint
    >>> import_hint("TumblingWindower")
    'add `from rillet.operators.windowing import TumblingWindower` to the prelude'
    """
    ctor = constructor(name)
    if ctor is not None:
        return f"add `{ctor['import']}` to the prelude"
    for help_ in TYPE_HELP.values():
        for line in help_["imports"]:
            if name in line.split("import", 1)[1].replace(",", " ").split():
                return f"add `{line}` to the prelude"
    return "define it in the prelude (or import it there), or fix the spelling"


def _literal_problem(value: Any, q: Dict[str, Any]) -> Optional[str]:
    """Why literal `value` doesn't fit value param `q`, or `None`."""
    kind = q["type"]
    if value is None:
        ok = q.get("nullable", False) or kind == "any"
        return None if ok else f"takes a {kind} and can't be None"
    if kind == "enum":
        return (
            None
            if value in q["choices"]
            else f"must be one of {', '.join(map(json_text, q['choices']))}"
        )
    checks = {
        "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number like 10"),
        "float": (
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "a number like 0.5",
        ),
        "str": (lambda v: isinstance(v, str), 'a string like "text"'),
        "path": (lambda v: isinstance(v, str), 'a path string like "data/input.txt"'),
        "bool": (lambda v: isinstance(v, bool), "true or false"),
    }
    if kind in checks:
        ok, example = checks[kind]
        return None if ok(value) else f"takes {example}"
    if kind == "any":
        return None
    example = f" like `{TYPE_HELP[kind]['example']}`" if kind in TYPE_HELP else ""
    return f"takes a {kind}, which a literal can't be; switch it to a Python expression{example}"


def _check_names(p: Pipeline, rep: Report, defined: Optional[Set[str]]) -> None:
    if defined is None:
        return  # a star import in the prelude: names can't be known
    for n in p.nodes:
        for name, param in n.params.items():
            code, mode = (
                (param.code, "exec")
                if isinstance(param, FunctionParam)
                else (getattr(param, "code", None), "eval")
            )
            if code is None or (
                expr_error(code) if mode == "eval" else function_error(code, param.name)
            ):
                continue
            found = [(first_use(code, m, mode), m) for m in free_names(code, mode) - defined]
            for (line, col), missing in sorted(found):
                where = f"param {name!r} of step {n.step_id!r}"
                msg = f"name {missing!r} is not defined in {where}; {import_hint(missing)}"
                # A function only looks names up when it is called.
                (rep.warn if mode == "exec" else rep.error)(n.id, name, msg, line, col)


def _check_params(p: Pipeline, rep: Report) -> None:
    cat = catalog()
    if p.prelude.strip():
        try:
            ast.parse(p.prelude)
        except SyntaxError as ex:
            rep.error(
                None,
                "prelude",
                f"Python syntax error in the prelude: {ex.msg}; fix the prelude",
                ex.lineno,
                ex.offset,
            )
    defined = bound_names(p.prelude)
    for name in sorted(
        free_names(p.prelude, "exec", nested=False) & EXPORT_NAMES - (defined or set())
    ):
        line, col = first_use(p.prelude, name, "exec")
        rep.error(
            None,
            "prelude",
            f"the prelude uses {name!r}, which the exported file imports only after the "
            f"prelude; import it in the prelude too",
            line,
            col,
        )
    for n in p.nodes:
        entry = cat.get(n.op)
        if entry is None:
            rep.error(
                n.id,
                None,
                f"unknown operator {n.op!r} in step {n.step_id!r}; pick one from the catalog "
                "(`python -m rillet.pipeline catalog`)",
            )
            continue
        values = {q["name"]: q for q in entry["params"] if q["kind"] == "value"}
        for name in n.params:
            if name not in values:
                known = ", ".join(values) or "none"
                rep.error(
                    n.id,
                    name,
                    f"operator {n.op!r} has no param {name!r} (its params: {known}); "
                    "remove it or fix the name",
                )
        for name, q in values.items():
            if q["required"] and name not in n.params:
                rep.error(
                    n.id,
                    name,
                    f"step {n.step_id!r} needs the param {name!r} "
                    f"({q['doc'] or q['annotation']}); set it",
                )
        for name, param in n.params.items():
            where = f"param {name!r} of step {n.step_id!r}"
            if isinstance(param, ExprParam):
                err = expr_error(param.code)
                if err is not None:
                    rep.error(
                        n.id,
                        name,
                        f"Python syntax error in {where}: {err.msg}; fix the expression",
                        err.lineno,
                        err.offset,
                    )
            elif isinstance(param, FunctionParam):
                bad = function_error(param.code, param.name)
                if bad is not None:
                    rep.error(n.id, name, f"in the function of {where}: {bad[0]}", bad[1], bad[2])
                elif defined is not None:
                    defined.add(param.name)
            elif name in values and (problem := _literal_problem(param.value, values[name])):
                rep.error(
                    n.id, name, f"{where} {problem}; the value {json_text(param.value)} doesn't fit"
                )
    _check_functions(p, rep)
    _check_names(p, rep, None if defined is None else defined | BUILTIN_NAMES | EXPORT_NAMES)


def _check_functions(p: Pipeline, rep: Report) -> None:
    """Function params share the module's namespace: one code per name."""
    seen: Dict[str, Tuple[str, str]] = {}
    prelude = bound_names(p.prelude) or set()
    for n in p.nodes:
        for name, param in n.params.items():
            if not isinstance(param, FunctionParam) or function_error(param.code, param.name):
                continue
            if param.name in prelude:
                rep.error(
                    n.id,
                    name,
                    f"the function {param.name!r} of step {n.step_id!r} has the name of something "
                    "the prelude defines; rename one of them",
                )
            first = seen.setdefault(param.name, (param.code, n.step_id))
            if first[0] != param.code:
                rep.error(
                    n.id,
                    name,
                    f"the function {param.name!r} of step {n.step_id!r} differs from the function "
                    f"of the same name in step {first[1]!r}; rename one of them",
                )


def _check_edges(p: Pipeline, rep: Report) -> None:
    cat = catalog()
    nodes = {n.id: n for n in p.nodes}
    feeds: Dict[Tuple[str, str], List[Any]] = defaultdict(list)
    for e in p.edges:
        src, dst = nodes.get(e.src.node), nodes.get(e.dst.node)
        for end, node, what in ((e.src, src, "from"), (e.dst, dst, "to")):
            if node is None:
                rep.error(
                    None,
                    None,
                    f"an edge goes {what} node {end.node!r}, which does not exist; delete the edge",
                )
        if src is None or dst is None or src.op not in cat or dst.op not in cat:
            continue
        outs = [o["name"] for o in cat[src.op]["outputs"]]
        ins = {i["name"]: i for i in cat[dst.op]["inputs"]}
        if e.src.port not in outs:
            rep.error(
                src.id,
                e.src.port,
                f"step {src.step_id!r} ({src.op}) has no output port {e.src.port!r} "
                f"(it has: {', '.join(outs) or 'none'}); connect from one of those",
            )
        elif e.dst.port not in ins:
            rep.error(
                dst.id,
                e.dst.port,
                f"step {dst.step_id!r} ({dst.op}) has no input port {e.dst.port!r} "
                f"(it has: {', '.join(ins) or 'none'}); connect to one of those",
            )
        else:
            if ins[e.dst.port]["multi"] and e.dst.index is None:
                rep.error(
                    dst.id,
                    e.dst.port,
                    f"an edge into port {e.dst.port!r} of step {dst.step_id!r} has no "
                    '"index"; number the edges into it 0, 1, 2, ...',
                )
            feeds[(dst.id, e.dst.port)].append(e)
    for n in p.nodes:
        for port in cat.get(n.op, {}).get("inputs", []):
            edges = feeds.get((n.id, port["name"]), [])
            where = f"input port {port['name']!r} of step {n.step_id!r}"
            if not edges:
                rep.error(n.id, port["name"], f"{where} is not connected; connect a stream to it")
            elif not port["multi"] and len(edges) > 1:
                rep.error(
                    n.id,
                    port["name"],
                    f"{where} has {len(edges)} streams connected; connect exactly one "
                    "(put a `merge` step in front to combine several)",
                )
            elif port["multi"]:
                idx = sorted(e.dst.index for e in edges if e.dst.index is not None)
                if len(idx) == len(edges) and idx != list(range(len(edges))):
                    rep.error(
                        n.id,
                        port["name"],
                        f"the edges into {where} have indexes {idx}; number them 0 to "
                        f"{len(edges) - 1} without gaps or repeats",
                    )


def cycle(p: Pipeline) -> Optional[List[str]]:
    """Node ids on a cycle of edges, or `None`."""
    succ: Dict[str, List[str]] = defaultdict(list)
    for e in p.edges:
        succ[e.src.node].append(e.dst.node)
    state: Dict[str, int] = {}
    path: List[str] = []

    def visit(nid: str) -> Optional[List[str]]:
        state[nid] = 1
        path.append(nid)
        for nxt in succ[nid]:
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[nid] = 2
        return None

    for n in p.nodes:
        if n.id not in state and (found := visit(n.id)):
            return found
    return None


def source_items(code: str) -> str:
    """What a `source` expression emits: `"keyed"`, `"plain"` or `"any"`.

    Known from the source class (`FileSource(...)` emits lines), or from
    the literal items of a `TestingSource`.

    >>> from rillet.pipeline.validation import source_items
    >>> source_items("TestingSource([('a', 1), ('b', 2)])"), source_items("TestingSource(range(3))")
    ('keyed', 'plain')
    """
    try:
        call = ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        return "any"
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        return "any"
    ctor = constructor(call.func.id)
    if ctor is None or ctor["kind"] != "source":
        return "any"
    if ctor["items"] != "any" or not call.args:
        return ctor["items"]
    arg = call.args[0]
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id == "range":
        return "plain"
    try:
        items = ast.literal_eval(arg) if isinstance(arg, (ast.List, ast.Tuple)) else None
    except ValueError:
        items = None
    if not items:
        return "any"
    keyed = [isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in items]
    return "keyed" if all(keyed) else "plain" if not any(keyed) else "any"


def stream_kinds(p: Pipeline) -> Dict[Tuple[str, str], str]:
    """What each output port `(node id, port)` carries: `"keyed"`, `"plain"` or `"any"`."""
    cat = catalog()
    nodes = {n.id: n for n in p.nodes}
    into: Dict[Tuple[str, str], List[Any]] = defaultdict(list)
    for e in p.edges:
        into[(e.dst.node, e.dst.port)].append(e.src)
    memo: Dict[Tuple[str, str], str] = {}

    def kind(nid: str, port: str) -> str:
        if (nid, port) in memo:
            return memo[(nid, port)]
        memo[(nid, port)] = "any"  # while we look: guards against cycles
        node = nodes.get(nid)
        outs = {o["name"]: o for o in cat.get(node.op, {}).get("outputs", [])} if node else {}
        out, result = outs.get(port), "any"
        if out is None:
            pass
        elif out["keyed"]:
            result = "keyed"
        elif out.get("same_as"):
            kinds = {kind(s.node, s.port) for s in into.get((nid, out["same_as"]), [])}
            result = kinds.pop() if len(kinds) == 1 else "any"
        elif node.op == "input" and isinstance(node.params.get("source"), ExprParam):
            result = source_items(node.params["source"].code)  # type: ignore[union-attr]
        memo[(nid, port)] = result
        return result

    for n in p.nodes:
        for o in cat.get(n.op, {}).get("outputs", []):
            kind(n.id, o["name"])
    return memo


def _check_types(p: Pipeline, rep: Report) -> None:
    cat = catalog()
    nodes = {n.id: n for n in p.nodes}
    kinds = stream_kinds(p)
    for e in p.edges:
        dst, src = nodes.get(e.dst.node), nodes.get(e.src.node)
        if dst is None or src is None or dst.op not in cat:
            continue
        port = next((i for i in cat[dst.op]["inputs"] if i["name"] == e.dst.port), None)
        if port is None or kinds.get((src.id, e.src.port)) != "plain":
            continue
        needs = None
        if port["keyed"]:
            needs = (
                f"input {e.dst.port!r} of step {dst.step_id!r} ({dst.op}) takes (key, value) "
                "pairs with str keys"
            )
        sink = dst.params.get("sink")
        if dst.op == "output" and isinstance(sink, ExprParam) and sink_items(sink.code) == "keyed":
            needs = (
                f"step {dst.step_id!r} writes to a sink that takes (key, value) pairs with str keys"
            )
        if needs:
            rep.error(
                dst.id,
                e.dst.port,
                f"{needs}, but output {e.src.port!r} of step {src.step_id!r} emits "
                "single values; add a `key_on` step in between",
            )


def sink_items(code: str) -> str:
    """What a `sink` expression takes: `"keyed"` for partitioned sinks like `FileSink`."""
    try:
        call = ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        return "any"
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
        ctor = constructor(call.func.id)
        if ctor is not None and ctor["kind"] == "sink":
            return ctor["items"]
    return "any"


def validate(p: Pipeline) -> Report:
    """All errors and warnings of `p`, in a stable order.

    >>> from rillet.pipeline.model import ExprParam, Node, Pipeline
    >>> from rillet.pipeline.validation import validate
    >>> p = Pipeline("demo", "from rillet.testing import TestingSource",
    ...              [Node("n1", "input", "in.put", {"source": ExprParam("TestingSource([1])")})])
    >>> [(i.node, i.field, i.message) for i in validate(p).errors]
    [('n1', 'step_id', "step id 'in.put' contains a period '.'; periods separate nested step ids, so use '_' instead")]
    """
    rep = Report()
    if not p.nodes:
        rep.warn(
            None, None, "the pipeline has no steps yet; add an `input` step from Sources to start"
        )
    _check_ids(p, rep)
    _check_params(p, rep)
    _check_edges(p, rep)
    found = cycle(p)
    if found:
        steps = [p.node(nid).step_id for nid in found]  # type: ignore[union-attr]
        loop = " -> ".join(map(repr, steps + steps[:1]))
        rep.error(
            found[0],
            None,
            f"the steps {loop} form a cycle; a dataflow can't feed a step from its own "
            "output, so remove one of those edges",
        )
    _check_types(p, rep)
    return rep
