"""Pipelines: the one model shared by the studio, export and import.

A pipeline is JSON (JSON Schema in `schema_v1.json` next to this file):

```json
{
  "schema_version": 1,
  "flow_id": "demo",
  "prelude": "from rillet.testing import TestingSource",
  "nodes": [
    {"id": "n1", "op": "input", "step_id": "nums",
     "params": {"source": {"kind": "expr", "code": "TestingSource(range(3))"}},
     "position": {"x": 0, "y": 0}},
    {"id": "n2", "op": "map", "step_id": "double",
     "params": {"mapper": {"kind": "function", "name": "double",
                           "code": "def double(x):\\n    return x * 2"}},
     "position": {"x": 260, "y": 0}}
  ],
  "edges": [
    {"from": {"node": "n1", "port": "down"}, "to": {"node": "n2", "port": "up"}}
  ]
}
```

- `prelude`: shared Python source (imports, helpers, constants),
  written verbatim at the top of the exported file.
- A node calls the operator `op` of `rillet.operators` or
  `rillet.operators.windowing` as step `step_id`. `id` is the studio's
  stable node id; `position` is where the node is drawn.
- `params` holds the operator's value parameters (not its streams):
  `{"kind": "literal", "value": <JSON>}`, `{"kind": "expr", "code":
  "<Python expression>"}` or `{"kind": "function", "code": "<def
  source>", "name": "<its name>"}`. A param left out takes the
  operator's default.
- An edge connects an output port (`down`, or a field of the
  operator's result like `branch`'s `trues`/`falses`) to an input port
  (`up`; the edges into a `*ups`-style multi port like `merge`'s carry
  `"index"` 0, 1, ..., the argument order).
- Whitespace around an expr's code and blank lines around a function's
  code or the prelude are dropped. Pipelines compare equal whatever the
  order of `edges`.

Modules: `model` (dataclasses, JSON), `catalog` (operators and
constructors by introspection), `validation`, `exporter` (pipeline →
Python file), `importer` (Python file → pipeline, parsed with `ast`,
never run), `gallery` (the example pipelines), with `hints` (type
hints for forms) and `snippets` (static checks of Python snippets). The studio server calls
`python -m rillet.pipeline catalog|gallery|validate|export|import` in a
subprocess (see `__main__`).

>>> from rillet.pipeline import Pipeline, export, import_source
>>> p = Pipeline.loads('''{"schema_version": 1, "flow_id": "demo",
...   "prelude": "from rillet.testing import TestingSource",
...   "nodes": [{"id": "n1", "op": "input", "step_id": "nums",
...     "params": {"source": {"kind": "expr", "code": "TestingSource(range(3))"}},
...     "position": {"x": 0, "y": 0}}], "edges": []}''')
>>> import_source(export(p)) == p
True
"""

from rillet.pipeline.catalog import catalog_json, constructors
from rillet.pipeline.exporter import ExportError, export
from rillet.pipeline.gallery import examples
from rillet.pipeline.importer import PipelineImportError, import_source
from rillet.pipeline.model import (
    SCHEMA_VERSION,
    Edge,
    Endpoint,
    ExprParam,
    FunctionParam,
    LiteralParam,
    ModelError,
    Node,
    Pipeline,
    Position,
)
from rillet.pipeline.validation import Issue, Report, validate

__all__ = [
    "SCHEMA_VERSION",
    "Edge",
    "Endpoint",
    "ExportError",
    "ExprParam",
    "FunctionParam",
    "Issue",
    "LiteralParam",
    "ModelError",
    "Node",
    "Pipeline",
    "PipelineImportError",
    "Position",
    "Report",
    "catalog_json",
    "constructors",
    "examples",
    "export",
    "import_source",
    "validate",
]
