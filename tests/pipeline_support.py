"""Helpers for the tests of `rillet.pipeline`, the studio's pipeline model.

Importing this module skips the importing test module on the Bytewax
peer: Bytewax has no studio and no `bytewax.pipeline`.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from conftest import PEER, TESTS_DIR

if PEER == "bytewax":
    pytest.skip("rillet.pipeline is Rillet's studio model; Bytewax has none", allow_module_level=True)

import rillet.pipeline  # noqa: E402
from rillet.pipeline.model import (  # noqa: E402
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

FIXTURES_DIR = TESTS_DIR / "data" / "pipeline"
PACKAGE_DIR = Path(rillet.pipeline.__file__).parent
EXAMPLES_DIR = PACKAGE_DIR / "examples"

E, L, F = ExprParam, LiteralParam, FunctionParam


def fixtures() -> Dict[str, Pipeline]:
    """The pipelines of tests/data/pipeline/*.json by file stem."""
    return {p.stem: Pipeline.loads(p.read_text()) for p in sorted(FIXTURES_DIR.glob("*.json"))}


def example_sources() -> Dict[str, str]:
    """The gallery's programs by slug."""
    return {p.stem: p.read_text() for p in sorted(EXAMPLES_DIR.glob("*.py"))}


def chain(*steps: Tuple[str, str, Dict[str, Param]], prelude: str = "", flow_id: str = "t") -> Pipeline:
    """A pipeline whose steps `(op, step_id, params)` each read the one before
    (through `up`); node ids are the step ids."""
    nodes = [
        Node(step, op, step, params, Position(i * 100.0, 0.0)) for i, (op, step, params) in enumerate(steps)
    ]
    edges = [Edge(Endpoint(a.id, "down"), Endpoint(b.id, "up")) for a, b in zip(nodes, nodes[1:])]
    return Pipeline(flow_id, prelude, nodes, edges)


def child_env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RILLET_", "BYTEWAX_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_flow_file(path: Path, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m rillet.run <path>:flow`, from `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "rillet.run", f"{path}:flow"],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_ok(path: Path, cwd: Path) -> List[str]:
    """Run a flow file; its stdout lines. Fails the test with stderr if it fails."""
    proc = run_flow_file(path, cwd)
    assert proc.returncode == 0, f"{path} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout.splitlines()


def pipeline_cli(command: str, stdin: str = "", timeout: float = 60) -> Tuple[int, str, str]:
    """`python -m rillet.pipeline <command>` with `stdin`; `(status, stdout, stderr)`."""
    proc = subprocess.run(
        [sys.executable, "-m", "rillet.pipeline", command],
        input=stdin,
        cwd=TESTS_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


def messages(issues) -> List[str]:
    return [i.message for i in issues]


def only_issue(issues, node: Optional[str] = None, field: Optional[str] = None):
    """The one issue on `node`/`field`; fails listing all issues otherwise."""
    found = [i for i in issues if i.node == node and i.field == field]
    assert len(found) == 1, json.dumps([i.to_json() for i in issues], indent=1)
    return found[0]
