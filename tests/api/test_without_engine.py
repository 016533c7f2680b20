"""Without the native module, dataflows can still be built and drawn;
only running one fails, with an ImportError that says how to get the
runtime."""

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

SCRIPT = r"""
import importlib.abc, sys

class _NoEngine(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "rillet._engine":
            raise ModuleNotFoundError("blocked for the test", name=name)
        return None

sys.meta_path.insert(0, _NoEngine())

import rillet.operators as op
import rillet.run
import rillet.testing
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource
from rillet.visualize import to_mermaid

flow = Dataflow("no_engine")
s = op.input("inp", flow, TestingSource([1]))
op.inspect("out", op.map("m", s, str))
assert "no_engine.m" in to_mermaid(flow)

for module, name in [(rillet.testing, "run_main"), (rillet.testing, "cluster_main"),
                     (rillet.run, "cli_main")]:
    try:
        getattr(module, name)
    except ImportError as ex:
        assert "maturin develop" in str(ex), ex
    else:
        raise AssertionError(f"{name} should be unavailable")
try:
    from rillet.testing import run_main
except ImportError:
    pass
else:
    raise AssertionError("from-import should fail too")
try:
    rillet.testing.no_such_name
except AttributeError:
    pass
print("OK")
"""


def test_package_works_without_native_module():
    import rillet.dataflow

    if rillet.dataflow.__name__.startswith("bytewax"):
        pytest.skip("RILLET_TEST_PEER=bytewax")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=HERE
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "OK"
