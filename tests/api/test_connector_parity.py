"""Sources, sinks and input helpers behave like Bytewax 0.21.1's.

`connector_cases.py` drives `TestingSource`/`TestingSink`, the batch
helpers, `SimplePollingSource`, the file connectors (including resume
positions and truncation on resume) and `RandomMetricSource` directly,
once with Rillet and once, in `.venv-bytewax` through `peer_alias`,
with Bytewax. Every outcome must be identical.
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
from pathlib import Path
sys.path[:0] = [{tests!r}, {api!r}]
if {alias!r}:
    import peer_alias
    peer_alias.install()
import connector_cases
print(json.dumps(connector_cases.results(Path({workdir!r}))))
"""


def _results(python: Path, alias: bool, workdir: Path) -> dict:
    workdir.mkdir()
    script = SCRIPT.format(
        tests=str(HERE.parent), api=str(HERE), alias=alias, workdir=str(workdir)
    )
    proc = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=120, cwd=HERE
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_same_outcomes_as_bytewax(tmp_path):
    import rillet.dataflow

    if rillet.dataflow.__name__.startswith("bytewax"):
        pytest.skip("RILLET_TEST_PEER=bytewax: this compares Rillet with Bytewax itself")
    if not PEER_PYTHON.exists():
        pytest.skip(f"no Bytewax peer at {PEER_PYTHON}; run scripts/setup to create it")
    bytewax_side = _results(PEER_PYTHON, True, tmp_path / "bytewax")
    rillet_side = _results(Path(sys.executable), False, tmp_path / "rillet")
    assert sorted(rillet_side) == sorted(bytewax_side)
    differing = {
        case: {"rillet": rillet_side[case], "bytewax": bytewax_side[case]}
        for case in bytewax_side
        if rillet_side[case] != bytewax_side[case]
    }
    assert not differing, json.dumps(differing, indent=1)
