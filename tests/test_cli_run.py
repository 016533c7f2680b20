"""`python -m rillet.run` in a single process: import strings,
factories, -w, -s and RILLET_* environment variables."""

import pytest

pytestmark = pytest.mark.subprocess


def _ok(res):
    assert res.returncode == 0, f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res.stdout.splitlines()


def test_run_module_attr(cli):
    assert _ok(cli.run("run", "flows.simple:flow")) == ["item-0", "item-1", "item-2"]


def test_run_default_attr_is_flow(cli):
    assert _ok(cli.run("run", "flows.simple")) == ["item-0", "item-1", "item-2"]


def test_run_file_path(cli):
    assert _ok(cli.run("run", "flows/simple.py:flow")) == ["item-0", "item-1", "item-2"]


def test_run_factory_with_args(cli):
    lines = _ok(cli.run("run", "flows.simple:make_flow(4, prefix='p')"))
    assert lines == ["p-0", "p-1", "p-2", "p-3"]


def test_run_factory_wrong_args_fails(cli):
    res = cli.run("run", "flows.simple:make_flow(1, 2, 3)")
    assert res.returncode != 0
    assert "could not be called with the specified arguments" in res.stderr


def test_run_missing_attribute_fails(cli):
    res = cli.run("run", "flows.simple:nope")
    assert res.returncode != 0
    assert "Failed to find attribute 'nope'" in res.stderr


def test_run_non_dataflow_attribute_fails(cli):
    res = cli.run("run", "flows.simple:not_a_flow")
    assert res.returncode != 0
    assert "dataflow was not obtained from 'flows.simple:not_a_flow'" in res.stderr


def test_run_missing_module_fails(cli):
    res = cli.run("run", "flows.no_such_module:flow")
    assert res.returncode != 0
    assert "no_such_module" in res.stderr


def test_run_one_worker_by_default(cli):
    assert _ok(cli.run("run", "flows.per_worker:flow")) == ["w0/1-0", "w0/1-1", "w0/1-2"]


def test_run_workers_flag(cli):
    lines = _ok(cli.run("run", "flows.per_worker:flow", "-w", "2"))
    assert [x for x in lines if x.startswith("w0/")] == ["w0/2-0", "w0/2-1", "w0/2-2"]
    assert [x for x in lines if x.startswith("w1/")] == ["w1/2-0", "w1/2-1", "w1/2-2"]
    assert len(lines) == 6


def test_run_workers_env_var(cli):
    env = cli.env(**{cli.var("WORKERS_PER_PROCESS"): "3"})
    lines = _ok(cli.run("run", "flows.per_worker:flow", env=env))
    assert sorted(lines) == sorted(f"w{w}/3-{i}" for w in range(3) for i in range(3))


def test_run_flag_overrides_env_var(cli):
    env = cli.env(**{cli.var("WORKERS_PER_PROCESS"): "3"})
    lines = _ok(cli.run("run", "flows.per_worker:flow", "-w", "1", env=env))
    assert lines == ["w0/1-0", "w0/1-1", "w0/1-2"]


def test_run_default_epoch_interval_is_long(cli):
    assert _ok(cli.run("run", "flows.epochs:flow")) == ["1@1", "2@1", "3@1"]


def test_run_snapshot_interval_sets_epoch_length(cli):
    # A batch is stamped with the current epoch; the epoch advances after
    # a batch once the interval has passed, so the batch read after the
    # 1.5 s pause is still in epoch 1 and the next one is in epoch 2.
    assert _ok(cli.run("run", "flows.epochs:flow", "-s", "1")) == ["1@1", "2@1", "3@2"]


def test_run_snapshot_interval_env_var(cli):
    env = cli.env(**{cli.var("SNAPSHOT_INTERVAL"): "1"})
    assert _ok(cli.run("run", "flows.epochs:flow", env=env)) == ["1@1", "2@1", "3@2"]


def test_run_process_id_requires_addresses(cli):
    res = cli.run("run", "flows.simple:flow", "-i", "0")
    assert res.returncode == 2
    assert "the addresses option is required if a process_id is passed" in res.stderr


def test_run_help_lists_options(cli):
    res = cli.run("run", "--help")
    assert res.returncode == 0
    for flag in ["-w", "--workers-per-process", "-i", "--process-id", "-a", "--addresses", "-s", "--snapshot-interval"]:
        assert flag in res.stdout
    assert cli.var("WORKERS_PER_PROCESS") in res.stdout
