"""`python -m rillet.pipeline <command>`: the studio server's entry point.

The server runs this in a subprocess, so user code never runs in the
server; nothing here runs user code either. Input is read from stdin,
output written to stdout as UTF-8:

- `catalog`: the operator catalog (see `rillet.pipeline.catalog`).
- `gallery`: the example pipelines (see `rillet.pipeline.gallery`).
- `validate`: reads pipeline JSON, prints `{"errors": [...], "warnings": [...]}`.
- `export`: reads pipeline JSON, prints the Python file.
- `import`: reads a Python file, prints pipeline JSON.

Exit status: 0 on success; 1 when the input has errors (then stdout is
`{"errors": [issue, ...], "warnings": [...]}`, the shape `validate`
prints, for `export` and `import` too); 2 for a wrong command line; 3
for a bug in Rillet (stdout still has one error issue, stderr the
traceback).
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any, List, Optional, TextIO

from rillet.pipeline.catalog import catalog_json
from rillet.pipeline.exporter import ExportError, export
from rillet.pipeline.gallery import examples
from rillet.pipeline.importer import PipelineImportError, import_source
from rillet.pipeline.model import ModelError, Pipeline
from rillet.pipeline.validation import Issue, validate

COMMANDS = ("catalog", "gallery", "validate", "export", "import")
USAGE = "usage: python -m rillet.pipeline {catalog|gallery|validate|export|import} < input > output"


def _json(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _fail(out: TextIO, errors: List[Issue]) -> int:
    _json(out, {"errors": [e.to_json() for e in errors], "warnings": []})
    return 1


def _run(cmd: str, stdin: TextIO, stdout: TextIO) -> int:
    if cmd == "catalog":
        _json(stdout, catalog_json())
        return 0
    if cmd == "gallery":
        _json(stdout, examples())
        return 0
    text = stdin.read()
    if cmd == "import":
        try:
            p = import_source(text)
        except PipelineImportError as ex:
            return _fail(stdout, [Issue(**ex.to_json())])
        stdout.write(p.dumps())
        return 0
    try:
        p = Pipeline.loads(text)
    except ModelError as ex:
        return _fail(
            stdout, [Issue(None, None, None, None, f"the pipeline JSON is not valid: {ex}")]
        )
    if cmd == "validate":
        report = validate(p)
        _json(stdout, report.to_json())
        return 1 if report.errors else 0
    try:
        stdout.write(export(p))
    except ExportError as ex:
        return _fail(stdout, ex.issues or [Issue(None, None, None, None, str(ex))])
    return 0


def main(
    argv: Optional[List[str]] = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> int:
    """Run one command; returns the exit status.

    >>> import io
    >>> from rillet.pipeline.__main__ import main
    >>> out = io.StringIO()
    >>> main(["validate"], io.StringIO('{"schema_version": 1, "flow_id": "f", "nodes": [], "edges": []}'), out)
    0
    >>> print(out.getvalue(), end="")
    {
      "errors": [],
      "warnings": [
        {
          "node": null,
          "field": null,
          "line": null,
          "column": null,
          "message": "the pipeline has no steps yet; add an `input` step from Sources to start"
        }
      ]
    }
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in COMMANDS:
        sys.stderr.write(USAGE + "\n")
        return 2
    try:
        return _run(args[0], stdin, stdout)
    except Exception as ex:  # a bug: still answer in the shape the server reads
        traceback.print_exc()
        message = (
            f"{args[0]} failed inside Rillet ({type(ex).__name__}: {ex}); this is a bug in "
            "Rillet, please report it with the input that caused it"
        )
        _json(
            stdout, {"errors": [Issue(None, None, None, None, message).to_json()], "warnings": []}
        )
        return 3


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
        sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.exit(main())
