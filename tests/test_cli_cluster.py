"""Real multi-process runs: `python -m rillet.testing -p 2` and a manual
two-process cluster with `python -m rillet.run -i/-a`."""

import re
import subprocess

import pytest

from conftest import free_ports, wait_testing_ports

pytestmark = [pytest.mark.subprocess, pytest.mark.cluster]

# flows.wordcount: every worker reads the same 7 words; totals are
# summed across all workers.
WORDS = "apple banana cherry apple banana apple date".split()


def _lines(text, pattern):
    """The flow's own output lines; the engine may log other lines (for
    example while cluster peers connect)."""
    return [line for line in text.splitlines() if re.fullmatch(pattern, line)]


COUNT = r"[a-z]+=\d+"
WORKER = r"w\d+/\d+-\d+"


def _expected_counts(workers):
    return sorted(f"{w}={WORDS.count(w) * workers}" for w in set(WORDS))


def test_testing_cli_two_processes(cli):
    wait_testing_ports()
    res = cli.run("testing", "flows.wordcount:flow", "-p", "2", timeout=90)
    assert res.returncode == 0, res.stderr
    assert sorted(_lines(res.stdout, COUNT)) == _expected_counts(2), res.stdout


def test_testing_cli_two_processes_two_workers(cli):
    wait_testing_ports()
    res = cli.run("testing", "flows.per_worker:flow", "-p", "2", "-w", "2", timeout=90)
    assert res.returncode == 0, res.stderr
    assert sorted(_lines(res.stdout, WORKER)) == sorted(f"w{w}/4-{i}" for w in range(4) for i in range(3))


def test_testing_cli_processes_env_var(cli):
    wait_testing_ports()
    env = cli.env(**{cli.var("PROCESSES"): "2"})
    res = cli.run("testing", "flows.wordcount:flow", env=env, timeout=90)
    assert res.returncode == 0, res.stderr
    assert sorted(_lines(res.stdout, COUNT)) == _expected_counts(2), res.stdout


def test_testing_cli_single_process_default(cli):
    res = cli.run("testing", "flows.wordcount:flow", timeout=60)
    assert res.returncode == 0, res.stderr
    assert sorted(_lines(res.stdout, COUNT)) == _expected_counts(1)


def _start_cluster(cli, flow, extra_args=(), env_style=False):
    ports = free_ports(2)
    addresses = ";".join(f"127.0.0.1:{p}" for p in ports)
    procs = []
    for proc_id in range(2):
        if env_style:
            env = cli.env(**{cli.var("PROCESS_ID"): str(proc_id), cli.var("ADDRESSES"): addresses})
            args = [flow, *extra_args]
        else:
            env = cli.env()
            args = [flow, "-i", str(proc_id), "-a", addresses, *extra_args]
        procs.append(cli.popen("run", *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    return procs


def _finish(procs, timeout=60):
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"exit {proc.returncode}\nstderr:\n{err}"
        outs.append(out)
    return outs


def test_manual_two_process_cluster(cli):
    outs = _finish(_start_cluster(cli, "flows.wordcount:flow"))
    assert sorted(_lines(outs[0], COUNT) + _lines(outs[1], COUNT)) == _expected_counts(2)


def test_manual_cluster_workers_per_process(cli):
    outs = _finish(_start_cluster(cli, "flows.per_worker:flow", ["-w", "2"]))
    # Process 0 runs workers 0-1, process 1 runs workers 2-3.
    assert sorted(_lines(outs[0], WORKER)) == sorted(f"w{w}/4-{i}" for w in (0, 1) for i in range(3))
    assert sorted(_lines(outs[1], WORKER)) == sorted(f"w{w}/4-{i}" for w in (2, 3) for i in range(3))


def test_manual_cluster_via_env_vars(cli):
    outs = _finish(_start_cluster(cli, "flows.per_worker:flow", env_style=True))
    assert _lines(outs[0], WORKER) == ["w0/2-0", "w0/2-1", "w0/2-2"]
    assert _lines(outs[1], WORKER) == ["w1/2-0", "w1/2-1", "w1/2-2"]


def test_manual_cluster_testing_source_read_once(cli):
    # A TestingSource has one partition: exactly one process reads it.
    outs = _finish(_start_cluster(cli, "flows.simple:flow"))
    items = [_lines(o, r"item-\d+") for o in outs]
    assert sorted(items[0] + items[1]) == ["item-0", "item-1", "item-2"]
    assert sorted(len(i) for i in items) == [0, 3]
