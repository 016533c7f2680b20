"""The flows in `sample_flows.py` have the same structure in Rillet and
Bytewax 0.21.1: identical `to_json` (steps, nesting, step IDs, ports and
stream IDs), `to_mermaid` and recursive `to_plantuml` output.

The Bytewax side runs in `.venv-bytewax` with `peer_alias`, which makes
the very same `rillet` imports load Bytewax.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PEER_PYTHON = ROOT / ".venv-bytewax" / "bin" / "python"

# Prints every sample flow rendered three ways, as one JSON object.
RENDER_SCRIPT = """
import json, sys
sys.path[:0] = [{tests!r}, {api!r}]
if {alias!r}:
    import peer_alias
    peer_alias.install()
import sample_flows
from rillet.visualize import to_json, to_mermaid, to_plantuml
out = {{}}
for name, flow in sample_flows.build_flows().items():
    out[name] = {{
        "json": json.loads(to_json(flow)),
        "mermaid": to_mermaid(flow),
        "plantuml": to_plantuml(flow, recursive=True),
    }}
print(json.dumps(out))
"""


def _render(python: Path, alias: bool) -> dict:
    script = RENDER_SCRIPT.format(tests=str(HERE.parent), api=str(HERE), alias=alias)
    proc = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=120, cwd=HERE
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _rillet_is_aliased() -> bool:
    import rillet.dataflow

    return rillet.dataflow.__name__.startswith("bytewax")


@pytest.fixture(scope="module")
def rendered():
    if _rillet_is_aliased():
        pytest.skip("RILLET_TEST_PEER=bytewax: this compares Rillet with Bytewax itself")
    if not PEER_PYTHON.exists():
        pytest.skip(f"no Bytewax peer at {PEER_PYTHON}; run scripts/setup to create it")
    return _render(PEER_PYTHON, alias=True), _render(Path(sys.executable), alias=False)


@pytest.mark.parametrize("name", ["stateless", "stateful", "join", "connectors", "custom"])
@pytest.mark.parametrize("fmt", ["json", "mermaid", "plantuml"])
def test_same_structure_as_bytewax(rendered, name: str, fmt: str):
    bytewax_side, rillet_side = rendered
    assert rillet_side[name][fmt] == bytewax_side[name][fmt]


def test_sample_flows_cover_every_operator(rendered):
    """Guard against the samples silently missing an operator."""
    import rillet.operators as op

    _bytewax_side, rillet_side = rendered
    seen = set()

    def walk(steps):
        for step in steps:
            seen.add(step["op_type"])
            walk(step["substeps"])

    for flow in rillet_side.values():
        walk(flow["json"]["substeps"])
    operators = {name for name in dir(op) if hasattr(getattr(op, name), "_op_cls")}
    assert operators <= seen, f"not in sample_flows.py: {sorted(operators - seen)}"
