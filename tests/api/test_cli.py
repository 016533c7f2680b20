"""`python -m rillet.run`, `python -m rillet.testing` and
`python -m rillet.visualize`, as separate processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _aliased() -> bool:
    import rillet.dataflow

    return rillet.dataflow.__name__.startswith("bytewax")


pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(_aliased(), reason="RILLET_TEST_PEER=bytewax: tests rillet's own CLIs"),
]


def _engine_built() -> bool:
    try:
        import rillet._engine  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


needs_engine = pytest.mark.skipif(not _engine_built(), reason="rillet._engine is not built")


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RILLET_", "BYTEWAX_"))}
    env.update(extra)
    return env


def _run(module: str, *args: str, env=None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"rillet.{module}", *args],
        cwd=HERE,
        env=env if env is not None else _env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_visualize_json_matches_to_json():
    sys.path.insert(0, str(HERE))
    try:
        import cli_flow
    finally:
        sys.path.remove(str(HERE))
    from rillet.visualize import to_json, to_mermaid

    proc = _run("visualize", "cli_flow", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(to_json(cli_flow.flow))

    proc = _run("visualize", "cli_flow.py:flow")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == to_mermaid(cli_flow.flow)

    proc = _run("visualize", "cli_flow:flow", "-o", "plantuml", "-r")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("@startuml")
    assert "cli.key.flat_map_batch (flat_map_batch)" in proc.stdout


@pytest.mark.parametrize(
    "import_str,needle",
    [
        ("no_such_module:flow", "could not import 'no_such_module'"),
        ("cli_flow:missing", "Failed to find attribute 'missing'"),
        ("cli_flow:not_a_flow", "valid Rillet dataflow was not obtained"),
        ("cli_flow:make_flow(1, 2, 3)", "could not be called with the specified arguments"),
        ("cli_flow:make_flow(x)", "must be Python literals"),
        ("cli_flow:a.b", "give a variable name or a function call"),
    ],
)
def test_bad_import_strings_say_what_is_wrong(import_str: str, needle: str):
    proc = _run("visualize", import_str)
    assert proc.returncode != 0
    assert needle in proc.stderr


def test_process_id_without_addresses_is_an_error():
    proc = _run("run", "cli_flow:flow", "-i", "0")
    assert proc.returncode == 2
    assert "-a/--addresses" in proc.stderr


def test_help_lists_rillet_env_vars():
    proc = _run("run", "--help")
    assert proc.returncode == 0
    for var in ("RILLET_WORKERS_PER_PROCESS", "RILLET_PROCESS_ID", "RILLET_ADDRESSES",
                "RILLET_SNAPSHOT_INTERVAL"):  # fmt: skip
        assert var in proc.stdout
    assert "--recovery-directory" not in proc.stdout
    proc = _run("testing", "--help")
    assert proc.returncode == 0
    assert "RILLET_PROCESSES" in proc.stdout


@needs_engine
def test_run_writes_output(tmp_path):
    out = tmp_path / "out.txt"
    proc = _run("run", f"cli_flow:make_flow({str(out)!r}, 5)", "-s", "1")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines() == ["0", "1", "2", "3", "4"]


@needs_engine
def test_run_reads_workers_from_env(tmp_path):
    out = tmp_path / "out.txt"
    env = _env(RILLET_WORKERS_PER_PROCESS="2")
    proc = _run("run", f"cli_flow:make_flow({str(out)!r}, 5)", env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(out.read_text().splitlines()) == ["0", "1", "2", "3", "4"]


@needs_engine
@pytest.mark.cluster
def test_testing_spawns_a_local_cluster(tmp_path):
    out = tmp_path / "out.txt"
    proc = _run("testing", f"cli_flow:make_flow({str(out)!r}, 20)", "-p", "2", "-w", "2")
    assert proc.returncode == 0, proc.stderr
    assert sorted(out.read_text().splitlines(), key=int) == [str(i) for i in range(20)]
