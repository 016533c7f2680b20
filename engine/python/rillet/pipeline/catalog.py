"""The operator catalog, read from the `rillet` package itself.

Every public `@operator` function of `rillet.operators` and
`rillet.operators.windowing` is listed with its params, ports and
docs, and every concrete clock, windower, source and sink class of
`rillet.operators.windowing`, `rillet.testing` and the
`rillet.connectors.*` modules is listed as a constructor. All of it
comes from signatures, type hints and docstrings, so a new operator or
connector shows up in the studio without other changes. The few
things the hints can't say are in `GROUP_OVERRIDES` and
`SAME_AS_OVERRIDES`.

`python -m rillet.pipeline catalog` prints `catalog_json()`:

```json
{
  "schema_version": 1,
  "groups": ["sources", "transforms", "stateful", "windows", "sinks"],
  "operators": [
    {"name": "map", "module": "rillet.operators", "group": "transforms",
     "summary": "Transform each item into exactly one new item.",
     "doc": "<the whole docstring>",
     "params": [
       {"name": "up", "kind": "stream", "annotation": "Stream[X]",
        "required": true, "binding": "positional_or_keyword",
        "doc": "Stream."},
       {"name": "mapper", "kind": "value", "type": "callable",
        "annotation": "Callable[[X], Y]", "required": true,
        "binding": "positional_or_keyword",
        "doc": "Called on each item; returns the item to emit."}],
     "inputs": [{"name": "up", "multi": false, "keyed": false}],
     "outputs": [{"name": "down", "keyed": false}]}
  ],
  "constructors": [
    {"name": "TumblingWindower", "kind": "windower",
     "module": "rillet.operators.windowing",
     "import": "from rillet.operators.windowing import TumblingWindower",
     "summary": "Back-to-back windows of a fixed `length`.", "doc": "...",
     "params": [
       {"name": "length", "kind": "value", "type": "timedelta", ...},
       {"name": "align_to", "kind": "value", "type": "datetime", ...}]},
    {"name": "FileSource", "kind": "source", "items": "plain", ...}
  ],
  "types": {"timedelta": {"imports": ["from datetime import timedelta"],
                          "example": "timedelta(seconds=10)"}, ...}
}
```

- `params`: every argument after `step_id`, in signature order.
  `kind` is `"stream"` (one input stream), `"multi_stream"` (`*ups`:
  any number of streams, in order), `"flow"` (the `Dataflow`) or
  `"value"` (a param of the node). A value param has `type`: one of
  `callable`, `int`, `float`, `str`, `bool`, `timedelta`, `datetime`,
  `path`, `source`, `sink`, `clock`, `windower`, `enum` (then
  `choices` lists the allowed literal values) or `any`; `nullable`
  when `None` is allowed. `default` (present when the param has
  one) is Python source for display. `binding` is the
  `inspect.Parameter` kind in lower case. Params whose names start
  with `_` are internal and left out.
- `inputs`/`outputs` are the node's ports. `keyed` on an input means
  it only takes `(str, value)` pairs; on an output, that it always
  emits them. `same_as` on an output names the input whose items it
  passes through (like `filter`'s).
- `constructors`: classes whose calls build the values of `source`,
  `sink`, `clock` and `windower` params (`kind` says which). `items`
  (sources and sinks) is `"keyed"`, `"plain"` or `"any"`: what a
  source emits, or what a sink accepts. Their params have the shape
  of value params above. The editor writes e.g.
  `TumblingWindower(length=timedelta(minutes=1), align_to=...)` as an
  `expr` param and adds `import` to the prelude.
- `types`: imports and an example for the value types that need an
  import (`timedelta`, `datetime`, `path`).

>>> from rillet.pipeline.catalog import catalog
>>> cat = catalog()
>>> [p["name"] for p in cat["branch"]["outputs"]]
['trues', 'falses']
>>> cat["merge"]["inputs"]
[{'name': 'ups', 'multi': True, 'keyed': False}]
>>> cat["key_on"]["outputs"][0]["keyed"]
True
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import pkgutil
import typing
from typing import Any, Dict, List, Optional

from rillet.dataflow import Dataflow, Stream
from rillet.pipeline.hints import (
    TYPE_HELP,
    annotation_text,
    arg_docs,
    base_kind,
    default_source,
    item_kind,
    summary,
    value_type,
)

OPERATOR_MODULES = ("rillet.operators", "rillet.operators.windowing")
"""Modules scanned for operators."""

CONSTRUCTOR_MODULES = ("rillet.operators.windowing", "rillet.testing", "rillet.connectors.*")
"""Modules scanned for clocks, windowers, sources and sinks; `.*` means
every submodule. A connector module that fails to import (a missing
optional library) is left out."""

GROUPS = ("sources", "transforms", "stateful", "windows", "sinks")

GROUP_OVERRIDES: Dict[str, str] = {"collect": "stateful", "join": "stateful"}
"""Stateful operators whose names and ports don't say so."""

SAME_AS_OVERRIDES: Dict[tuple, str] = {("branch", "falses"): "up", ("merge", "down"): "ups"}
"""Output ports that pass items of an input through where the
annotations don't say so (`BranchOut.falses` has its own type
variable, `merge` is annotated `Stream[Any]`)."""

CONSTRUCTOR_KINDS = ("source", "sink", "clock", "windower")


def _stream_item(anno: Any) -> Any:
    """The `X` of `Stream[X]`, or `None` if `anno` is not a stream type."""
    if typing.get_origin(anno) is Stream:
        return typing.get_args(anno)[0]
    return Any if anno is Stream else None


def _is_keyed(item: Any) -> bool:
    return item_kind(item) == "keyed"


def describe_param(p: inspect.Parameter, anno: Any, docs: Dict[str, str]) -> Dict[str, Any]:
    """Catalog entry of a value param (`kind` `"value"`)."""
    entry: Dict[str, Any] = {"name": p.name, "kind": "value"}
    entry.update(value_type(anno, p.default))
    entry["annotation"] = annotation_text(p.annotation if p.annotation is not p.empty else anno)
    entry["required"] = p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    if p.default is not p.empty:
        entry["default"] = default_source(p.default)
    entry["binding"] = p.kind.name.lower()
    entry["doc"] = docs.get(p.name, "")
    return entry


def _output_items(hints: Dict[str, Any], names: List[str]) -> Dict[str, Any]:
    """The item type of each output port."""
    ret = hints.get("return")
    item = _stream_item(ret)
    if item is not None:
        return {"down": item}
    cls = typing.get_origin(ret) or ret
    fields = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
    return {name: _stream_item(fields.get(name)) or Any for name in names}


def _group(name: str, module: str, inputs: List[dict], outputs: List[dict]) -> str:
    if name in GROUP_OVERRIDES:
        return GROUP_OVERRIDES[name]
    if module.endswith("windowing"):
        return "windows"
    if not inputs:
        return "sources"
    if not outputs:
        return "sinks"
    if name.startswith("stateful") or name.endswith("_final"):
        return "stateful"
    return "transforms"


def describe(name: str, fn: Any, module: str) -> Dict[str, Any]:
    """Catalog entry of one operator function.

    >>> import rillet.operators as op
    >>> from rillet.pipeline.catalog import describe
    >>> e = describe("map", op.map, "rillet.operators")
    >>> [(p["name"], p["kind"], p.get("type"), p["required"]) for p in e["params"]]
    [('up', 'stream', None, True), ('mapper', 'value', 'callable', True)]
    """
    cls = fn._op_cls
    hints = typing.get_type_hints(fn)
    doc = inspect.cleandoc(fn.__doc__ or "")
    docs = arg_docs(doc)
    params: List[Dict[str, Any]] = []
    inputs: List[Dict[str, Any]] = []
    in_items: Dict[str, Any] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.name == "step_id" or p.name.startswith("_"):
            continue
        anno = hints.get(p.name, Any)
        if p.name in cls.ups_names:
            multi = p.kind is p.VAR_POSITIONAL
            in_items[p.name] = _stream_item(anno)
            keyed = _is_keyed(in_items[p.name])
            inputs.append({"name": p.name, "multi": multi, "keyed": keyed})
            kind = "multi_stream" if multi else "stream"
        elif anno is Dataflow:
            kind = "flow"
        else:
            params.append(describe_param(p, anno, docs))
            continue
        params.append({
            "name": p.name, "kind": kind, "annotation": annotation_text(p.annotation),
            "required": True, "binding": p.kind.name.lower(), "doc": docs.get(p.name, ""),
        })  # fmt: skip
    outputs = []
    for port, item in _output_items(hints, list(cls.dwn_names)).items():
        out: Dict[str, Any] = {"name": port, "keyed": _is_keyed(item)}
        same = [i for i, it in in_items.items() if isinstance(item, typing.TypeVar) and it is item]
        same = [SAME_AS_OVERRIDES[(name, port)]] if (name, port) in SAME_AS_OVERRIDES else same
        if same:
            out["same_as"] = same[0]
        outputs.append(out)
    return {
        "name": name,
        "module": module,
        "group": _group(name, module, inputs, outputs),
        "summary": summary(doc),
        "doc": doc,
        "params": params,
        "inputs": inputs,
        "outputs": outputs,
    }


def _public(mod: Any) -> List[str]:
    names = getattr(mod, "__all__", None) or [
        n for n, v in vars(mod).items() if getattr(v, "__module__", None) == mod.__name__
    ]
    return sorted(n for n in names if not n.startswith("_"))


@functools.lru_cache(maxsize=None)
def _operators() -> Dict[str, Dict[str, Any]]:
    entries: Dict[str, Dict[str, Any]] = {}
    for modname in OPERATOR_MODULES:
        mod = importlib.import_module(modname)
        for name in _public(mod):
            fn = getattr(mod, name)
            if callable(fn) and hasattr(fn, "_op_cls") and name not in entries:
                entries[name] = describe(name, fn, modname)
    return entries


def catalog() -> Dict[str, Dict[str, Any]]:
    """All operators by name (the `op` of a node). Cached; don't mutate."""
    return _operators()


def operator_function(op_name: str) -> Any:
    """The operator function behind a catalog name.

    >>> from rillet.pipeline.catalog import operator_function
    >>> operator_function("fold_window").__module__
    'rillet.operators.windowing'
    """
    return getattr(importlib.import_module(catalog()[op_name]["module"]), op_name)


def _source_items(cls: type) -> str:
    """What a source class emits: the `X` of the `Source[X]` it subclasses."""
    from rillet.inputs import Source

    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Source):
                return item_kind(typing.get_args(base)[0])
    return "any"


def describe_constructor(cls: type, kind: str) -> Dict[str, Any]:
    """Catalog entry of a clock, windower, source or sink class.

    >>> from rillet.connectors.files import FileSink
    >>> from rillet.pipeline.catalog import describe_constructor
    >>> e = describe_constructor(FileSink, "sink")
    >>> e["import"], e["items"], [(p["name"], p["type"]) for p in e["params"]]
    ('from rillet.connectors.files import FileSink', 'keyed', [('path', 'path'), ('end', 'str')])
    """
    from rillet.outputs import FixedPartitionedSink

    init = cls.__init__
    hints = typing.get_type_hints(cls if dataclasses.is_dataclass(cls) else init)
    doc = inspect.cleandoc(cls.__doc__ or "")
    docs = {**arg_docs(init.__doc__ or ""), **arg_docs(doc)}
    params = [
        describe_param(p, hints.get(p.name, p.annotation), docs)
        for p in inspect.signature(cls).parameters.values()
        if not p.name.startswith("_")
    ]
    entry: Dict[str, Any] = {
        "name": cls.__name__,
        "kind": kind,
        "module": cls.__module__,
        "import": f"from {cls.__module__} import {cls.__name__}",
        "summary": summary(doc),
        "doc": doc,
        "params": params,
    }
    if kind == "source":
        entry["items"] = _source_items(cls)
    elif kind == "sink":
        entry["items"] = "keyed" if issubclass(cls, FixedPartitionedSink) else "any"
    return entry


def _constructor_modules() -> List[Any]:
    mods = []
    for pattern in CONSTRUCTOR_MODULES:
        names = [pattern]
        if pattern.endswith(".*"):
            pkg = importlib.import_module(pattern[:-2])
            names = [
                f"{pkg.__name__}.{m.name}"
                for m in pkgutil.iter_modules(pkg.__path__)
                if not m.name.startswith("_")
            ]
        for name in names:
            try:
                mods.append(importlib.import_module(name))
            except ImportError:
                continue
    return mods


@functools.lru_cache(maxsize=None)
def _constructors() -> List[Dict[str, Any]]:
    found: Dict[str, Dict[str, Any]] = {}
    for mod in _constructor_modules():
        for name in _public(mod):
            cls = getattr(mod, name)
            kind = base_kind(cls) if isinstance(cls, type) else None
            if kind and not inspect.isabstract(cls) and cls.__module__ == mod.__name__:
                found.setdefault(name, describe_constructor(cls, kind))
    return sorted(found.values(), key=lambda e: (CONSTRUCTOR_KINDS.index(e["kind"]), e["name"]))


def constructors() -> List[Dict[str, Any]]:
    """Clock, windower, source and sink classes. Cached; don't mutate.

    >>> from rillet.pipeline.catalog import constructors
    >>> [c["name"] for c in constructors() if c["kind"] == "clock"]
    ['EventClock', 'SystemClock']
    """
    return _constructors()


def constructor(name: str) -> Optional[Dict[str, Any]]:
    """The constructor entry of class `name`, or `None`."""
    return next((c for c in constructors() if c["name"] == name), None)


def catalog_json() -> Dict[str, Any]:
    """What `python -m rillet.pipeline catalog` prints (see the module docstring).

    >>> from rillet.pipeline.catalog import catalog_json
    >>> list(catalog_json())
    ['schema_version', 'groups', 'operators', 'constructors', 'types']
    """
    return {
        "schema_version": 1,
        "groups": list(GROUPS),
        "operators": list(catalog().values()),
        "constructors": constructors(),
        "types": TYPE_HELP,
    }
