"""Write a pipeline as a readable Python file that `python -m rillet.run` runs.

The file has: a header comment, the prelude between marker comments,
the imports of the operator modules, each function snippet, the flow
with one statement per step in topological order, and last one
`# rillet-pipeline:` comment per node holding what Python can't
(the node id and position) so that `import` gives back the same
pipeline. Snippets are written verbatim.

>>> from rillet.pipeline.exporter import export
>>> from rillet.pipeline.model import Edge, Endpoint, ExprParam, Node, Pipeline
>>> p = Pipeline("demo", prelude="from rillet.testing import TestingSource",
...     nodes=[Node("a", "input", "nums", {"source": ExprParam("TestingSource([1, 2])")}),
...            Node("b", "inspect", "show")],
...     edges=[Edge(Endpoint("a", "down"), Endpoint("b", "up"))])
>>> print(export(p), end="")
# Dataflow 'demo', written by the Rillet studio.
# Run it with: python -m rillet.run <this file>:flow
# --- prelude ---
from rillet.testing import TestingSource
# --- end prelude ---
<BLANKLINE>
from rillet.dataflow import Dataflow
import rillet.operators as op
<BLANKLINE>
flow = Dataflow('demo')
nums = op.input('nums', flow, TestingSource([1, 2]))
op.inspect('show', nums)
<BLANKLINE>
# rillet-pipeline: {"step": "nums", "id": "a", "x": 0.0, "y": 0.0}
# rillet-pipeline: {"step": "show", "id": "b", "x": 0.0, "y": 0.0}
"""

from __future__ import annotations

import heapq
import json
import keyword
import re
from collections import defaultdict
from typing import Any, Dict, List, Set

from rillet.pipeline.catalog import catalog
from rillet.pipeline.model import ExprParam, FunctionParam, LiteralParam, Param, Pipeline
from rillet.pipeline.snippets import (
    BUILTIN_NAMES,
    bound_names,
    has_trailing_comment,
    literal_source,
    literal_value,
)
from rillet.pipeline.validation import Issue, validate

PRELUDE_START = "# --- prelude ---"
PRELUDE_END = "# --- end prelude ---"
META_PREFIX = "# rillet-pipeline: "
MODULE_ALIASES = {"rillet.operators": "op", "rillet.operators.windowing": "win"}
LINE_LENGTH = 100
INDENT = "    "


class ExportError(ValueError):
    """The pipeline can't be written as Python; `issues` says why.

    >>> from rillet.pipeline.exporter import ExportError, export
    >>> from rillet.pipeline.model import Node, Pipeline
    >>> try:
    ...     export(Pipeline("demo", nodes=[Node("n1", "map", "m")]))
    ... except ExportError as ex:
    ...     print(len(ex.issues), ex.issues[0].message)
    2 step 'm' needs the param 'mapper' (Called on each item; returns the item to emit.); set it
    """

    def __init__(self, message: str, issues: List[Issue] = ()) -> None:
        super().__init__(message)
        self.issues = list(issues)


def variable_names(p: Pipeline, taken: Set[str]) -> Dict[str, str]:
    """A unique Python variable name per node id, made from its step id.

    >>> from rillet.pipeline.exporter import variable_names
    >>> from rillet.pipeline.model import Node, Pipeline
    >>> variable_names(Pipeline("f", nodes=[Node("1", "map", "map"), Node("2", "map", "2x")]), set())
    {'1': 'map_', '2': 's_2x'}
    """
    used = set(taken) | {"flow", *MODULE_ALIASES.values(), "Dataflow"}
    out: Dict[str, str] = {}
    for n in p.nodes:
        base = re.sub(r"\W", "_", n.step_id) or "step"
        if not base.isidentifier():
            base = f"s_{base}"
        if keyword.iskeyword(base) or base in BUILTIN_NAMES:
            base = f"{base}_"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out[n.id] = name
    return out


def topological(p: Pipeline) -> List[str]:
    """Node ids, upstream first; ties keep the order of `p.nodes`."""
    order = {n.id: i for i, n in enumerate(p.nodes)}
    indeg = {n.id: 0 for n in p.nodes}
    succ: Dict[str, List[str]] = defaultdict(list)
    for e in p.edges:
        succ[e.src.node].append(e.dst.node)
        indeg[e.dst.node] += 1
    ready = [(order[n], n) for n, d in indeg.items() if d == 0]
    heapq.heapify(ready)
    out: List[str] = []
    while ready:
        _, nid = heapq.heappop(ready)
        out.append(nid)
        for nxt in succ[nid]:
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                heapq.heappush(ready, (order[nxt], nxt))
    return out


def _value_source(param: Param) -> str:
    if isinstance(param, LiteralParam):
        return literal_source(param.value)
    if isinstance(param, FunctionParam):
        return param.name
    return param.code


def _arguments(p: Pipeline, nid: str, names: Dict[str, str]) -> List[str]:
    """The call's arguments as source text, after the step id."""
    node = p.node(nid)
    assert node is not None
    cat = catalog()
    streams: Dict[str, List[tuple]] = defaultdict(list)
    for e in p.edges:
        if e.dst.node == nid:
            src_op = p.node(e.src.node).op  # type: ignore[union-attr]
            single = [o["name"] for o in cat[src_op]["outputs"]] == ["down"]
            ref = names[e.src.node] if single else f"{names[e.src.node]}.{e.src.port}"
            streams[e.dst.port].append((e.dst.index or 0, ref))
    params = catalog()[node.op]["params"]
    # With several value params, keywords say which is which; params before
    # `*streams` can't be keywords, and after a skipped param all must be.
    star = max((i for i, q in enumerate(params) if q["binding"] == "var_positional"), default=-1)
    several = sum(q["kind"] == "value" and q["name"] in node.params for q in params) > 1
    args: List[str] = []
    by_keyword = False
    for i, q in enumerate(params):
        name = q["name"]
        if q["kind"] == "value" and several and i > star:
            by_keyword = True
        if q["kind"] == "flow":
            text = "flow"
        elif q["kind"] in ("stream", "multi_stream"):
            refs = [ref for _, ref in sorted(streams[name])]
            if q["kind"] == "multi_stream":
                args.extend(refs)
                continue
            text = refs[0]
        elif name in node.params:
            text = _value_source(node.params[name])
        else:
            by_keyword = True
            continue
        if q["binding"] == "keyword_only" or (by_keyword and q["binding"] != "positional_only"):
            by_keyword = True
            text = f"{name}={text}"
        args.append(text)
    return args


def _call(p: Pipeline, nid: str, names: Dict[str, str]) -> str:
    node = p.node(nid)
    assert node is not None
    entry = catalog()[node.op]
    fn = f"{MODULE_ALIASES[entry['module']]}.{node.op}"
    used = any(e.src.node == nid for e in p.edges)
    target = f"{names[nid]} = " if used else ""
    args = [repr(node.step_id), *_arguments(p, nid, names)]
    one_line = f"{target}{fn}({', '.join(args)})"
    if len(one_line) <= LINE_LENGTH and not any("\n" in a or has_trailing_comment(a) for a in args):
        return one_line
    # One argument per line; a trailing comment must not swallow the comma.
    lines = [f"{target}{fn}("]
    lines += [
        f"{INDENT}{a}\n{INDENT}," if has_trailing_comment(a) else f"{INDENT}{a}," for a in args
    ]
    return "\n".join(lines + [")"])


def _functions(p: Pipeline, ordered: List[str]) -> List[str]:
    seen: Dict[str, str] = {}
    for nid in ordered:
        for param in p.node(nid).params.values():  # type: ignore[union-attr]
            if isinstance(param, FunctionParam):
                seen.setdefault(param.name, param.code)
    return list(seen.values())


def _meta(p: Pipeline) -> List[str]:
    """The trailing comments: node ids and positions, and the expr params
    that look like literals (so `import` doesn't turn them into literals)."""
    out = []
    for n in p.nodes:
        meta: Dict[str, Any] = {"step": n.step_id, "id": n.id, "x": n.position.x, "y": n.position.y}
        exprs = sorted(
            k for k, v in n.params.items() if isinstance(v, ExprParam) and literal_value(v.code)[0]
        )
        if exprs:
            meta["exprs"] = exprs
        out.append(META_PREFIX + json.dumps(meta, ensure_ascii=False))
    return out


def export(p: Pipeline) -> str:
    """The Python source of `p`; raises `ExportError` if `p` has validation errors.

    >>> from rillet.pipeline.exporter import export
    >>> from rillet.pipeline.model import Pipeline
    >>> print(export(Pipeline("empty")), end="")
    # Dataflow 'empty', written by the Rillet studio.
    # Run it with: python -m rillet.run <this file>:flow
    from rillet.dataflow import Dataflow
    import rillet.operators as op
    <BLANKLINE>
    flow = Dataflow('empty')
    <BLANKLINE>
    """
    report = validate(p)
    if report.errors:
        first = report.errors[0]
        raise ExportError(
            f"the pipeline has {len(report.errors)} error(s); the first: {first.message}",
            report.errors,
        )
    ordered = topological(p)
    functions = _functions(p, ordered)
    taken = bound_names(p.prelude) or set()
    for code in functions:
        taken |= bound_names(code) or set()
    names = variable_names(p, taken)
    modules = sorted({catalog()[n.op]["module"] for n in p.nodes} | {"rillet.operators"})
    lines = [
        f"# Dataflow {p.flow_id!r}, written by the Rillet studio.",
        "# Run it with: python -m rillet.run <this file>:flow",
    ]
    if p.prelude:
        # First, so that its docstring and `from __future__` imports stay first.
        lines += [PRELUDE_START, p.prelude, PRELUDE_END, ""]
    lines += [
        "from rillet.dataflow import Dataflow",
        *(f"import {m} as {MODULE_ALIASES[m]}" for m in modules),
    ]
    for code in functions:
        lines += ["", "", code]
    lines += ["", ""] if functions else [""]
    lines.append(f"flow = Dataflow({p.flow_id!r})")
    lines += [_call(p, nid, names) for nid in ordered]
    lines += ["", *_meta(p)]
    source = "\n".join(lines) + "\n"
    try:
        compile(source, "<export>", "exec", dont_inherit=True)
    except SyntaxError as ex:
        # Validation checks each snippet; this catches what only the whole file shows.
        raise ExportError(
            f"the written file does not compile (line {ex.lineno}: {ex.msg}); this is a bug in "
            "Rillet's export, please report it with the pipeline"
        ) from ex
    return source
