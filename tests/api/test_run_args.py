"""`rillet.run` option parsing: flags, RILLET_* environment variables
and the Kubernetes StatefulSet conventions."""

from datetime import timedelta

import pytest

import rillet.run as run

pytestmark = pytest.mark.skipif(
    run.__name__.startswith("bytewax"), reason="RILLET_TEST_PEER=bytewax: rillet's own parser"
)


@pytest.fixture
def parse(monkeypatch):
    for var in ("WORKERS_PER_PROCESS", "PROCESS_ID", "ADDRESSES", "SNAPSHOT_INTERVAL",
                "POD_NAME", "STATEFULSET_NAME", "HOSTFILE_PATH"):  # fmt: skip
        monkeypatch.delenv(f"RILLET_{var}", raising=False)

    def parse(*argv, **env):
        for key, val in env.items():
            monkeypatch.setenv(f"RILLET_{key}", val)
        monkeypatch.setattr("sys.argv", ["rillet.run", *argv])
        return vars(run._parse_args())

    return parse


def test_defaults(parse):
    assert parse("mod:flow") == {
        "import_str": "mod:flow",
        "snapshot_interval": None,
        "workers_per_process": 1,
        "process_id": None,
        "addresses": None,
    }


def test_flags(parse):
    args = parse("mod", "-w", "3", "-i", "1", "-a", "h0:1;h1:1", "-s", "5")
    assert args["workers_per_process"] == 3
    assert args["process_id"] == 1
    assert args["addresses"] == "h0:1;h1:1"
    assert args["snapshot_interval"] == timedelta(seconds=5)


def test_env_vars(parse):
    args = parse(
        "mod", WORKERS_PER_PROCESS="4", PROCESS_ID="0", ADDRESSES="a:1", SNAPSHOT_INTERVAL="2"
    )
    assert args["workers_per_process"] == 4
    assert args["process_id"] == 0
    assert args["addresses"] == "a:1"
    assert args["snapshot_interval"] == timedelta(seconds=2)


def test_flags_beat_env_vars(parse):
    assert parse("mod", "-w", "2", WORKERS_PER_PROCESS="4")["workers_per_process"] == 2


def test_statefulset_pod_name_and_hostfile(parse, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("flow-0.svc:2101\n\nflow-1.svc:2101\n")
    args = parse("mod", POD_NAME="flow-1", STATEFULSET_NAME="flow", HOSTFILE_PATH=str(hosts))
    assert args["process_id"] == 1
    assert args["addresses"] == "flow-0.svc:2101;flow-1.svc:2101"


def test_process_id_needs_addresses(parse, capsys):
    with pytest.raises(SystemExit) as info:
        parse("mod", "-i", "0")
    assert info.value.code == 2
    assert "RILLET_HOSTFILE_PATH" in capsys.readouterr().err


def test_prepare_import_handles_paths(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "flows.py").write_text("")
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    assert run._prepare_import(f"{pkg / 'flows.py'}:build('x')") == ("pkg.flows", "build('x')")
    assert run._prepare_import(str(pkg / "__init__.py")) == ("pkg", "flow")
    assert __import__("sys").path[0] == str(tmp_path)
