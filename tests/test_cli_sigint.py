"""Ctrl-C (SIGINT) stops `python -m rillet.run` of an endless source.

Common tests: the run stops promptly and what it printed is intact.
`rillet_only` tests add Rillet's promise of a clean exit: status 0 or
the conventional SIGINT status (130, or death by SIGINT), no traceback,
no panic. (Bytewax 0.21.1 exits 1 with a "signal received" error and a
Rust panic backtrace for one worker, and re-raises KeyboardInterrupt
with several.)
"""

import os
import re
import signal
import subprocess
import threading

import pytest

from conftest import free_ports, wait_until

pytestmark = pytest.mark.subprocess

STOP_DEADLINE = 20
CLEAN_CODES = (0, 130, -signal.SIGINT)


class _Proc:
    def __init__(self, proc):
        self.proc = proc
        self.out = []
        self.err = []
        self.threads = [
            threading.Thread(target=self._pump, args=(proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(proc.stderr, self.err), daemon=True),
        ]
        for t in self.threads:
            t.start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink.append(line.rstrip("\n"))

    def data(self, worker):
        return [x for x in self.out if re.fullmatch(rf"w{worker}-\d+", x)]

    def finish(self):
        self.proc.wait(timeout=STOP_DEADLINE)
        for t in self.threads:
            t.join(timeout=STOP_DEADLINE)
        return self.proc.returncode


def _start(cli, args, **kw):
    proc = cli.popen("run", "flows.endless:flow", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    return _Proc(proc)


def _assert_contiguous(lines, worker):
    # Every line the sink printed is complete and none is skipped.
    assert lines == [f"w{worker}-{n}" for n in range(1, len(lines) + 1)]


def _run_single(cli, args):
    p = _start(cli, args)
    wait_until(lambda: len(p.data(0)) >= 5 or p.proc.poll() is not None, 30, "5 output lines")
    assert p.proc.poll() is None, "\n".join(p.err)
    p.proc.send_signal(signal.SIGINT)
    rc = p.finish()
    return p, rc


def _run_cluster(cli):
    ports = free_ports(2)
    addresses = ";".join(f"127.0.0.1:{port}" for port in ports)
    # Both processes in one process group, like a terminal's foreground
    # job, so one Ctrl-C reaches both.
    first = _start(cli, ["-i", "0", "-a", addresses], process_group=0)
    second = _start(cli, ["-i", "1", "-a", addresses], process_group=first.proc.pid)
    procs = [first, second]
    wait_until(
        lambda: all(len(p.data(i)) >= 5 for i, p in enumerate(procs)) or any(p.proc.poll() is not None for p in procs),
        30,
        "5 output lines from each process",
    )
    for p in procs:
        assert p.proc.poll() is None, "\n".join(p.err)
    os.killpg(first.proc.pid, signal.SIGINT)
    codes = [p.finish() for p in procs]
    return procs, codes


@pytest.mark.parametrize("args", [[], ["-w", "2"]], ids=["w1", "w2"])
def test_sigint_stops_single_process(cli, args):
    p, rc = _run_single(cli, args)
    assert rc is not None
    _assert_contiguous(p.data(0), 0)
    if args:
        _assert_contiguous(p.data(1), 1)


@pytest.mark.cluster
def test_sigint_stops_two_process_cluster(cli):
    procs, codes = _run_cluster(cli)
    assert all(rc is not None for rc in codes)
    for i, p in enumerate(procs):
        _assert_contiguous(p.data(i), i)
        assert len(p.data(i)) >= 5


def _assert_clean(p, rc):
    err = "\n".join(p.err)
    assert rc in CLEAN_CODES, f"exit {rc}\nstderr:\n{err}"
    assert "Traceback" not in err, err
    assert "panicked" not in err, err


@pytest.mark.rillet_only
@pytest.mark.parametrize("args", [[], ["-w", "2"]], ids=["w1", "w2"])
def test_sigint_single_process_exits_cleanly(cli, args):
    p, rc = _run_single(cli, args)
    _assert_clean(p, rc)


@pytest.mark.rillet_only
@pytest.mark.cluster
def test_sigint_two_process_cluster_exits_cleanly(cli):
    procs, codes = _run_cluster(cli)
    for p, rc in zip(procs, codes):
        _assert_clean(p, rc)
