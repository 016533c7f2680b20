"""Composite operators compute what Bytewax 0.21.1's compute.

`composite_cases.py` calls the functions inside each composite
operator's core steps directly (see its docstring), once with Rillet
and once, in `.venv-bytewax` through `peer_alias`, with Bytewax. Every
case's outcome (values, discard flags, notify times, snapshots, error
types) must be identical. The runtime is not involved, so this pins
down the Python compositions the engine falls back to.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PEER_PYTHON = HERE.parent.parent / ".venv-bytewax" / "bin" / "python"

SCRIPT = """
import json, sys
sys.path[:0] = [{tests!r}, {api!r}]
if {alias!r}:
    import peer_alias
    peer_alias.install()
import composite_cases
print(json.dumps(composite_cases.results()))
"""


def _results(python: Path, alias: bool) -> dict:
    script = SCRIPT.format(tests=str(HERE.parent), api=str(HERE), alias=alias)
    proc = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=120, cwd=HERE
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def both():
    import rillet.dataflow

    if rillet.dataflow.__name__.startswith("bytewax"):
        pytest.skip("RILLET_TEST_PEER=bytewax: this compares Rillet with Bytewax itself")
    if not PEER_PYTHON.exists():
        pytest.skip(f"no Bytewax peer at {PEER_PYTHON}; run scripts/setup to create it")
    return _results(PEER_PYTHON, alias=True), _results(Path(sys.executable), alias=False)


def test_same_outcomes_as_bytewax(both):
    bytewax_side, rillet_side = both
    assert sorted(rillet_side) == sorted(bytewax_side)
    differing = {
        case: {"rillet": rillet_side[case], "bytewax": bytewax_side[case]}
        for case in bytewax_side
        if rillet_side[case] != bytewax_side[case]
    }
    assert not differing, json.dumps(differing, indent=1)


def test_cases_cover_every_composite_operator(both):
    _bytewax_side, rillet_side = both
    import rillet.operators as op

    composites = {
        name
        for name in dir(op)
        if not name.startswith("_")  # `_join_label_merge` is covered by `join`
        and hasattr(getattr(op, name), "_op_cls")
        and not getattr(getattr(op, name)._op_cls, "core", False)
    }
    covered = {case.split("_bad")[0] for case in rillet_side}
    missing = {
        name for name in composites if not any(c.startswith(name) for c in covered)
    }
    assert not missing, f"no case in composite_cases.py for {sorted(missing)}"
