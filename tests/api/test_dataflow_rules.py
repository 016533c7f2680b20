"""Building a dataflow follows Bytewax 0.21.1's rules, with clearer
messages: the same mistakes raise the same exception types (checked
against Bytewax in `.venv-bytewax`), and Rillet's messages name the
culprit and say what to do."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PEER_PYTHON = HERE.parent.parent / ".venv-bytewax" / "bin" / "python"

sys.path.insert(0, str(HERE))
import dataflow_cases  # noqa: E402

sys.path.remove(str(HERE))

import rillet.operators as op  # noqa: E402
from rillet.dataflow import Dataflow, f_repr  # noqa: E402
from rillet.testing import TestingSource  # noqa: E402

ALIASED = op.__name__.startswith("bytewax")
rillet_only = pytest.mark.skipif(ALIASED, reason="checks Rillet's own messages")

SCRIPT = """
import json, sys
sys.path[:0] = [{tests!r}, {api!r}]
import peer_alias
peer_alias.install()
import dataflow_cases
print(json.dumps(dataflow_cases.results()))
"""


def test_same_exception_types_as_bytewax():
    if ALIASED:
        pytest.skip("RILLET_TEST_PEER=bytewax: this compares Rillet with Bytewax itself")
    if not PEER_PYTHON.exists():
        pytest.skip(f"no Bytewax peer at {PEER_PYTHON}; run scripts/setup to create it")
    script = SCRIPT.format(tests=str(HERE.parent), api=str(HERE))
    proc = subprocess.run(
        [str(PEER_PYTHON), "-c", script], capture_output=True, text=True, timeout=60, cwd=HERE
    )
    assert proc.returncode == 0, proc.stderr
    assert dataflow_cases.results() == json.loads(proc.stdout)


def _flow():
    flow = Dataflow("f")
    return flow, op.input("inp", flow, TestingSource([1]))


@rillet_only
def test_duplicate_step_id_message_names_it_and_the_fix():
    flow, s = _flow()
    op.map("same", s, str)
    with pytest.raises(ValueError) as info:
        op.filter("same", s, bool)
    msg = str(info.value)
    assert "'f.same'" in msg and "different `step_id`" in msg
    # The failed step was not added.
    assert [st.step_name for st in flow.substeps] == ["inp", "same"]


@rillet_only
def test_period_messages_name_the_id():
    _flow_, s = _flow()
    with pytest.raises(ValueError, match=r"'a\.b' contains a period"):
        op.map("a.b", s, str)
    with pytest.raises(ValueError, match=r"dataflow ID 'x\.y' contains a period"):
        Dataflow("x.y")


@rillet_only
def test_wrong_upstream_message_suggests_unpacking():
    _flow_, s = _flow()
    out = op.branch("b", s, bool)
    with pytest.raises(TypeError, match=r"must be a `Stream`.*\.trues"):
        op.map("m", out, str)


@rillet_only
def test_mixed_flows_message_lists_scopes():
    _f, s1 = _flow()
    f2 = Dataflow("g")
    s2 = op.input("inp", f2, TestingSource([2]))
    with pytest.raises(AssertionError, match=r"\['f', 'g'\]"):
        op.merge("m", s1, s2)


@rillet_only
def test_merge_of_nothing_says_to_pass_a_stream():
    with pytest.raises(AssertionError, match="pass at least one upstream"):
        op.merge("m")


@rillet_only
def test_bad_call_chains_the_binding_error():
    _flow_, s = _flow()
    with pytest.raises(TypeError, match="called with arguments that don't fit") as info:
        op.map("m", s)
    assert isinstance(info.value.__cause__, TypeError)


def test_f_repr():
    def named():
        pass

    assert f_repr(named).startswith("<function '") and "named' line " in f_repr(named)
    assert f_repr(len) == repr(len)
