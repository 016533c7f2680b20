"""Every `>>>` example in Rillet's docstrings runs as written.

Each docstring is one test. Examples that run a dataflow need the
native runtime and are skipped if `rillet._engine` isn't built.

The same examples are also run on Bytewax 0.21.1 (in `.venv-bytewax`
through `peer_alias`), which proves the documented outputs are the
reference behaviour, not just Rillet's. `PEER_EXCLUDED` lists the
docstrings that are about Rillet-only behaviour.
"""

import ast
import doctest
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PKG_DIR = ROOT / "engine" / "python" / "rillet"
PEER_PYTHON = ROOT / ".venv-bytewax" / "bin" / "python"

# Docstrings whose examples show Rillet-specific behaviour: a key, a
# file, or a folder (ending in "/").
PEER_EXCLUDED = {
    "dataflow.py:Dataflow": "shows Rillet's error message for a '.' in the ID",
    "errors.py:RilletTypeError": "Rillet-only exception class",
    "errors.py:RilletValueError": "Rillet-only exception class",
    "tracing.py": "Bytewax's tracing is native (Rust); Rillet's uses logging",
    "pipeline/": "the studio's pipeline model; Bytewax has no studio",
}

RUNTIME_CALLS = ("run_main(", "cluster_main(")


def docstrings(pkg_dir: Path) -> Iterator[Tuple[str, str, str]]:
    """Yield `(key, path, docstring)` for docstrings with examples.

    `key` is `relative/path.py:Qual.name` (`:<module>` for modules).
    """
    for path in sorted(pkg_dir.rglob("*.py")):
        rel = path.relative_to(pkg_dir).as_posix()
        tree = ast.parse(path.read_text())

        def visit(node, prefix: str):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qual = f"{prefix}{child.name}"
                    doc = ast.get_docstring(child, clean=True)
                    if doc and ">>>" in doc:
                        yield f"{rel}:{qual}", str(path), doc
                    yield from visit(child, qual + ".")

        doc = ast.get_docstring(tree, clean=True)
        if doc and ">>>" in doc:
            yield f"{rel}:<module>", str(path), doc
        yield from visit(tree, "")


def run_doctest(key: str, path: str, doc: str) -> Tuple[int, str]:
    """Run one docstring's examples; return `(failures, report)`."""
    import io

    parser = doctest.DocTestParser()
    test = parser.get_doctest(doc, {}, key, path, 0)
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=out.write)
    return runner.failures, out.getvalue()


def _needs_runtime(doc: str) -> bool:
    return any(call in doc for call in RUNTIME_CALLS)


def _engine_built() -> bool:
    try:
        import rillet._engine  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def _aliased() -> bool:
    import rillet.dataflow

    return rillet.dataflow.__name__.startswith("bytewax")


ALL = list(docstrings(PKG_DIR))


@pytest.mark.parametrize("key,path,doc", ALL, ids=[k for k, _, _ in ALL])
def test_example_runs_on_rillet(key: str, path: str, doc: str):
    if _aliased():
        pytest.skip("RILLET_TEST_PEER=bytewax: see test_examples_run_on_bytewax")
    if _needs_runtime(doc) and not _engine_built():
        pytest.skip("runs a dataflow; rillet._engine is not built")
    failures, report = run_doctest(key, path, doc)
    assert failures == 0, report


PEER_SCRIPT = """
import json, sys
sys.path[:0] = [{tests!r}, {api!r}]
import peer_alias
peer_alias.install()
from pathlib import Path
from test_docstring_examples import docstrings, run_doctest
excluded = {excluded!r}
failed = {{}}
count = 0
for key, path, doc in docstrings(Path({pkg!r})):
    if key in excluded or key.split(":")[0] in excluded or any(
        key.startswith(e) for e in excluded if e.endswith("/")
    ):
        continue
    count += 1
    failures, report = run_doctest(key, path, doc)
    if failures:
        failed[key] = report
print(json.dumps({{"count": count, "failed": failed}}))
"""


def test_examples_run_on_bytewax():
    if _aliased():
        pytest.skip("already aliased to Bytewax")
    if not PEER_PYTHON.exists():
        pytest.skip(f"no Bytewax peer at {PEER_PYTHON}; run scripts/setup to create it")
    script = PEER_SCRIPT.format(
        tests=str(HERE.parent), api=str(HERE), excluded=sorted(PEER_EXCLUDED), pkg=str(PKG_DIR)
    )
    proc = subprocess.run(
        [str(PEER_PYTHON), "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HERE,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    result: Dict = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["count"] > 50
    assert not result["failed"], "\n".join(result["failed"].values())


def test_every_public_function_has_an_example():
    """The package's promise: each public function and class documents
    a runnable example (doctest or a ```python block)."""
    import importlib
    import inspect

    modules = [
        "dataflow", "operators", "operators.helpers", "inputs", "outputs", "errors",
        "testing", "run", "visualize", "tracing", "connectors.stdio",
        "connectors.files", "connectors.demo", "pipeline",
    ]  # fmt: skip
    missing = []
    for rel in modules:
        mod = importlib.import_module(f"rillet.{rel}")
        for name in getattr(mod, "__all__", None) or dir(mod):
            obj = getattr(mod, name, None)
            if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not (getattr(obj, "__module__", "") or "").startswith("rillet"):
                continue
            doc = inspect.getdoc(obj) or ""
            if ">>>" not in doc and "```python" not in doc:
                missing.append(f"rillet.{rel}.{name}")
    assert not missing, f"no example in the docstring of: {sorted(set(missing))}"
