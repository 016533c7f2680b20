"""The run channel (engine/TELEMETRY.md): the tests play the studio server.

A real Unix socket listener stands in for the server; flows run in this
process (`run_main`, `cluster_main` with 1 and 2 workers), as
`python -m rillet.run` subprocesses, and as a 2-process cluster.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import Dict, List

import pytest

import rillet.operators as op
from conftest import free_ports, wait_until
from rillet.dataflow import Dataflow
from rillet.errors import RilletRuntimeError
from rillet.inputs import DynamicSource, StatelessSourcePartition
from rillet.testing import TestingSink, TestingSource

from flows import telemetry_flow
from flows import telemetry_slow as slow_flow

pytestmark = pytest.mark.rillet_only

SOCKET_VAR = "RILLET_TELEMETRY_SOCKET"
TOKEN_VAR = "RILLET_TELEMETRY_TOKEN"
BUCKETS = 65
# The engine's cap: records per step and worker per 100 ms window.
SAMPLE_CAP = 20


class Conn:
    """One connection from a run process, as the server sees it."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.messages: List[dict] = []
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        with self.sock.makefile("rb") as lines:
            try:
                for line in lines:
                    msg = json.loads(line)
                    msg["_received"] = time.time()
                    with self.lock:
                        self.messages.append(msg)
            except (OSError, ValueError):
                pass
        self.closed.set()

    def of(self, kind: str) -> List[dict]:
        with self.lock:
            return [m for m in self.messages if m["type"] == kind]

    def all(self) -> List[dict]:
        with self.lock:
            return list(self.messages)

    def send(self, msg: dict):
        self.sock.sendall((json.dumps(msg) + "\n").encode())

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FakeStudio:
    """Listens on a Unix socket, like `rillet studio` for its runs."""

    def __init__(self):
        # Short path: a Unix socket path must fit in 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="rtl", dir="/tmp")
        self.path = os.path.join(self.dir, "run.sock")
        self.conns: List[Conn] = []
        self.accepted = 0
        self._listen()

    def _listen(self, close_at_once=False):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(16)
        self.close_at_once = close_at_once
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.close_at_once:
                sock.close()
                continue
            self.conns.append(Conn(sock))

    def stop_listening(self):
        self.listener.close()
        os.unlink(self.path)

    def listen_again(self, close_at_once=False):
        self._listen(close_at_once)

    def env(self, token="tok-1") -> Dict[str, str]:
        return {SOCKET_VAR: self.path, TOKEN_VAR: token}

    def wait_conns(self, n, timeout=20):
        wait_until(lambda: len(self.conns) >= n, timeout, f"{n} connection(s)")
        return self.conns[:n]

    def close(self):
        self.listener.close()
        for c in self.conns:
            c.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def studio():
    s = FakeStudio()
    yield s
    s.close()


def finished(conn: Conn, timeout=20) -> List[dict]:
    """All messages of a connection once the run closed it."""
    assert conn.closed.wait(timeout), "the run never closed its connection"
    return conn.all()


def final_metrics(msgs: List[dict]) -> dict:
    metrics = [m for m in msgs if m["type"] == "metrics"]
    assert metrics, "no metrics message"
    return metrics[-1]


def by_step(metrics_msgs: List[dict]) -> Dict[str, dict]:
    """Final metrics of one or more processes, summed over workers."""
    out: Dict[str, dict] = {}
    for m in metrics_msgs:
        for s in m["steps"]:
            acc = out.setdefault(
                s["step_id"],
                {"items_in": 0, "items_out": 0, "process": 0, "latency": 0, "state_keys": None,
                 "workers": set(), "lag": s["watermark_lag_s"]},
            )
            acc["items_in"] += s["items_in"]
            acc["items_out"] += s["items_out"]
            acc["process"] += s["process_ns"]["count"]
            acc["latency"] += s["latency_ns"]["count"]
            acc["workers"].add(s["worker"])
            for h in (s["process_ns"], s["latency_ns"]):
                assert len(h["counts"]) == BUCKETS and sum(h["counts"]) == h["count"], s
            if s["state_keys"] is not None:
                acc["state_keys"] = (acc["state_keys"] or 0) + s["state_keys"]
    return out


def check_counts(steps: Dict[str, dict], workers: int):
    for name, items_in, items_out in telemetry_flow.EXPECTED:
        got = steps[f"tele.{name}"]
        assert (got["items_in"], got["items_out"]) == (items_in, items_out), name
        assert got["workers"] == set(range(workers)), name
        # Every step did work, so it has time per item and latency samples.
        assert got["process"] > 0, name
        assert got["latency"] > 0, name
        assert got["lag"] is None, name
    assert steps["tele.running"]["state_keys"] == telemetry_flow.KEYS
    # count_final holds its totals until the end, then lets them go.
    assert steps["tele.count"]["state_keys"] == 0
    for stateless in ("inp", "double", "key", "twice", "out"):
        assert steps[f"tele.{stateless}"]["state_keys"] is None, stateless


def check_hello(hello: dict, flow: Dataflow, process=0, processes=1, workers=1):
    assert hello["token"] == "tok-1"
    assert hello["protocol"] == 1
    assert (hello["process"], hello["processes"], hello["workers"]) == (process, processes, workers)
    assert hello["flow_id"] == flow.flow_id
    assert len(hello["histogram_bounds_ns"]) == BUCKETS - 1
    assert hello["histogram_bounds_ns"][:3] == [100, 150, 225]
    expected = []
    for step in flow.substeps:
        ups = [getattr(step, n).stream_id for n in type(step).ups_names]
        downs = [getattr(step, n).stream_id for n in type(step).dwn_names]
        expected.append((step.step_id, type(step).__name__, ups, downs))
    got = [(s["step_id"], s["op"], s["ups"], s["downs"]) for s in hello["steps"]]
    assert got == expected
    ports = {s["step_id"]: (s["up_ports"], s["down_ports"]) for s in hello["steps"]}
    assert ports["tele.inp"] == ([], ["down"])
    assert ports["tele.twice"] == (["up"], ["down"])
    assert ports["tele.out"] == (["up"], [])


# ------------------------------------------------------- counts, in-process --


def test_counts_hello_and_bye_in_process(studio, monkeypatch, entry_point):
    for k, v in studio.env().items():
        monkeypatch.setenv(k, v)
    written = []
    flow = telemetry_flow.build(TestingSink(written))
    entry_point(flow)
    assert len(written) == telemetry_flow.KEYS

    (conn,) = studio.wait_conns(1)
    msgs = finished(conn)
    assert msgs[0]["type"] == "hello"
    check_hello(msgs[0], flow, workers=entry_point.workers)
    assert msgs[0]["process_workers"] == list(range(entry_point.workers))
    assert msgs[-1] == {"type": "bye", "reason": "eof", "_received": msgs[-1]["_received"]}
    assert msgs[-2]["type"] == "metrics", "final counts come just before the bye"
    check_counts(by_step([msgs[-2]]), entry_point.workers)
    tops = {step["step_id"] for step in msgs[0]["steps"]}
    sampled = {r["step_id"] for r in conn.of("records")}
    assert sampled and sampled <= tops, "every step is sampled until the server says otherwise"
    assert not conn.of("error")


def test_latency_of_a_sink_spans_the_whole_flow(studio, monkeypatch):
    """A batch is stamped at the input; the sink's latency includes a
    100 ms sleep in an upstream step, whatever workers it crossed."""
    for k, v in studio.env().items():
        monkeypatch.setenv(k, v)

    def slow(x):
        time.sleep(0.1)
        return x

    flow = Dataflow("lat")
    s = op.input("inp", flow, TestingSource(range(3)))
    s = op.map("slow", s, slow)
    s = op.key_on("key", s, str)
    s = op.redistribute("spread", s)
    op.output("out", s, TestingSink([]))
    entry_point_two_workers(flow)

    (conn,) = studio.wait_conns(1)
    final = final_metrics(finished(conn))
    sink = [s for s in final["steps"] if s["step_id"] == "lat.out"]
    latency = {k: sum(s["latency_ns"][k] for s in sink) for k in ("sum", "count")}
    assert latency["count"] == 3
    assert latency["sum"] / latency["count"] >= 100_000_000
    inp = [s for s in final["steps"] if s["step_id"] == "lat.inp"]
    assert sum(s["latency_ns"]["sum"] for s in inp) < 50_000_000, "the input step is time zero"


def test_a_partitioned_sink_counts_what_it_writes(studio, monkeypatch, entry_point, tmp_path):
    """DirSink routes records to the workers owning its files: items in
    are counted before that exchange, items out (and latency) where they
    are written."""
    from rillet.connectors.files import DirSink

    for k, v in studio.env().items():
        monkeypatch.setenv(k, v)
    flow = Dataflow("part")
    s = op.input("inp", flow, TestingSource(range(300), batch_size=50))
    s = op.map("kv", s, lambda x: (str(x % 7), str(x)))
    op.output("out", s, DirSink(tmp_path, 3))
    entry_point(flow)
    lines = [line for f in tmp_path.iterdir() for line in f.read_text().split()]
    assert sorted(lines, key=int) == [str(x) for x in range(300)]
    (conn,) = studio.wait_conns(1)
    out = by_step([final_metrics(finished(conn))])["part.out"]
    assert (out["items_in"], out["items_out"], out["latency"]) == (300, 300, 300)
    assert out["process"] > 0


def entry_point_two_workers(flow):
    from rillet.testing import cluster_main

    cluster_main(flow, [], 0, worker_count_per_proc=2)


# ------------------------------------------------------------ subprocesses --


def test_cli_run_with_two_workers(studio, cli):
    res = cli.run("run", "flows.telemetry_flow:flow", "-w", "2", env=cli.env(**studio.env()))
    assert res.returncode == 0, res.stderr
    assert "studio" not in res.stderr
    (conn,) = studio.wait_conns(1)
    msgs = finished(conn)
    check_hello(msgs[0], telemetry_flow.flow, workers=2)
    assert msgs[0]["pid"] > 0 and msgs[0]["pid"] != os.getpid()
    assert msgs[-1]["type"] == "bye" and msgs[-1]["reason"] == "eof"
    check_counts(by_step([msgs[-2]]), 2)


@pytest.mark.cluster
@pytest.mark.timeout(90)
def test_two_process_cluster_reports_from_every_process(studio, cli):
    addresses = ";".join(f"127.0.0.1:{p}" for p in free_ports(2))
    procs = [
        cli.popen(
            "run", "flows.telemetry_flow:flow", "-i", str(i), "-a", addresses,
            env=cli.env(**studio.env()), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for i in (0, 1)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    conns = studio.wait_conns(2)
    msgs = [finished(c) for c in conns]
    hellos = sorted((m[0] for m in msgs), key=lambda h: h["process"])
    for i, hello in enumerate(hellos):
        check_hello(hello, telemetry_flow.flow, process=i, processes=2, workers=2)
        assert hello["process_workers"] == [i]
    for m in msgs:
        assert m[-1]["type"] == "bye" and m[-1]["reason"] == "eof"
    finals = [m[-2] for m in msgs]
    assert sorted(f["process"] for f in finals) == [0, 1]
    check_counts(by_step(finals), 2)


# ------------------------------------------------------------------ errors --


def test_an_error_names_the_top_level_step_with_its_traceback(studio, cli):
    res = cli.run("run", "flows.telemetry_fails:flow", env=cli.env(**studio.env()))
    assert res.returncode == 1
    # The CLI still prints the error as it always did.
    assert "step 'boom.enrich.lookup'" in res.stderr and "no entry for 5" in res.stderr
    (conn,) = studio.wait_conns(1)
    msgs = finished(conn)
    (error,) = [m for m in msgs if m["type"] == "error"]
    assert msgs[-1] is error, "the error is the last message; no bye follows it"
    assert error["step_id"] == "boom.enrich"
    assert error["kind"] == "user"
    assert error["message"].startswith("step 'boom.enrich.lookup': calling `mapper`")
    assert "on item 5 raised ValueError: no entry for 5" in error["message"]
    tb = error["traceback"]
    assert tb.startswith("Traceback (most recent call last):")
    assert 'telemetry_fails.py", line' in tb and "in lookup" in tb
    assert "KeyError: 5" in tb
    assert "The above exception was the direct cause of the following exception" in tb
    assert tb.rstrip().endswith("ValueError: no entry for 5")
    # Items before the failure were counted.
    steps = by_step([final_metrics(msgs)])
    assert steps["boom.enrich"]["items_out"] == 5


def test_a_type_error_in_process_is_reported_and_still_raised(studio, monkeypatch):
    for k, v in studio.env().items():
        monkeypatch.setenv(k, v)
    flow = Dataflow("typed")
    s = op.input("inp", flow, TestingSource([1, 2]))
    op.stateful_map("state", s, lambda st, v: (st, v))
    with pytest.raises(RilletRuntimeError, match="step 'typed.state' requires"):
        from rillet.testing import run_main

        run_main(flow)
    (conn,) = studio.wait_conns(1)
    (error,) = [m for m in finished(conn) if m["type"] == "error"]
    assert error["step_id"] == "typed.state"
    assert error["kind"] == "user"
    assert "requires `(key, value)` 2-tuples" in error["message"]
    assert error["traceback"] is None, "the engine raised it: there is no Python traceback"


def test_an_invalid_flow_is_reported_before_it_runs(studio, monkeypatch):
    for k, v in studio.env().items():
        monkeypatch.setenv(k, v)
    flow = Dataflow("bad")
    s = op.input("inp", flow, object())
    op.output("out", s, TestingSink([]))
    from rillet.testing import run_main

    with pytest.raises(RilletRuntimeError, match="the source must subclass"):
        run_main(flow)
    (conn,) = studio.wait_conns(1)
    msgs = finished(conn)
    assert [s["step_id"] for s in msgs[0]["steps"]] == ["bad.inp", "bad.out"]
    (error,) = [m for m in msgs if m["type"] == "error"]
    assert error["step_id"] == "bad.inp" and error["kind"] == "user"
    assert "got a `object`" in error["message"]


def test_a_flow_file_that_fails_to_import_is_reported(studio, cli):
    res = cli.run("run", "flows.telemetry_broken:flow", env=cli.env(**studio.env()))
    assert res.returncode == 1
    assert "RuntimeError: the prelude failed" in res.stderr
    (conn,) = studio.wait_conns(1)
    msgs = finished(conn)
    assert [m["type"] for m in msgs] == ["hello", "metrics", "error"]
    assert msgs[0]["flow_id"] is None and msgs[0]["steps"] == []
    error = msgs[-1]
    assert (error["step_id"], error["kind"]) == (None, "user")
    assert error["message"] == "RuntimeError: the prelude failed"
    assert 'telemetry_broken.py", line' in error["traceback"] and "in setup" in error["traceback"]


@pytest.mark.cluster
@pytest.mark.timeout(90)
def test_in_a_cluster_only_the_failing_process_sends_the_error(studio, cli):
    addresses = ";".join(f"127.0.0.1:{p}" for p in free_ports(2))
    procs = [
        cli.popen(
            "run", "flows.fails_on_one_process:flow", "-i", str(i), "-a", addresses,
            env=cli.env(**studio.env()), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for i in (0, 1)
    ]
    for p in procs:
        p.communicate(timeout=60)
        assert p.returncode == 1
    msgs = {m[0]["process"]: m for m in (finished(c) for c in studio.wait_conns(2))}
    errors = {p: [m for m in ms if m["type"] == "error"] for p, ms in msgs.items()}
    assert errors[0] == [], "process 0 only stopped because process 1 failed"
    (error,) = errors[1]
    assert error["step_id"] == "fails.check" and "bad record 1000005" in error["message"]
    assert not any(m["type"] == "bye" for ms in msgs.values() for m in ms)


# ---------------------------------------------------------------- sampling --


class _Fast(StatelessSourcePartition):
    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.n = 0

    def next_batch(self):
        if self.stop.is_set():
            raise StopIteration()
        time.sleep(0.002)
        batch = list(range(self.n, self.n + 500))
        self.n += 500
        return batch


class FastSource(DynamicSource):
    def __init__(self, stop):
        self.stop = stop

    def build(self, step_id, worker_index, worker_count):
        return _Fast(self.stop)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workers", [1, 2])
def test_records_are_sampled_on_request_within_the_cap(studio, monkeypatch, workers):
    for k, v in studio.env().items():
        monkeypatch.setenv(k, v)
    stop = threading.Event()
    flow = Dataflow("samp")
    s = op.input("inp", flow, FastSource(stop))
    s = op.map("tag", s, lambda x: f"r{x}")
    split = op.branch("split", s, lambda x: x.endswith("7"))
    op.output("out", split.falses, TestingSink([]))
    op.output("out7", split.trues, TestingSink([]))
    from rillet.testing import cluster_main

    runner = threading.Thread(target=cluster_main, args=(flow, [], 0), kwargs={"worker_count_per_proc": workers})
    runner.start()
    try:
        (conn,) = studio.wait_conns(1)
        wait_until(lambda: conn.of("records"), 20, "records sampled before any request")
        conn.send({"type": "sample", "steps": []})
        # Let the flow run unsampled through a few metrics reports.
        quiet = time.time() + 0.3
        wait_until(lambda: len([m for m in conn.of("metrics") if m["_received"] > quiet]) >= 3, 20, "metrics")
        before = len(conn.of("records"))
        wait_until(lambda: len([m for m in conn.of("metrics") if m["_received"] > quiet]) >= 4, 20, "metrics")
        assert len(conn.of("records")) == before, "nothing is sampled once the server asks for no step"

        asked = time.time()
        conn.send({"type": "sample", "steps": ["samp.tag", "samp.split", "samp.nope"]})
        wait_until(lambda: len(conn.of("records")) >= 20, 20, "sampled records")
        time.sleep(1.0)
        conn.send({"type": "sample", "steps": []})
        stopped = time.time()
        time.sleep(0.5)
        seen = len(conn.of("records"))
        time.sleep(0.7)
        assert len(conn.of("records")) == seen, "sampling stops when the server says so"
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()

    records = [r for r in conn.of("records") if r["_received"] >= asked]
    assert {r["step_id"] for r in records} == {"samp.tag", "samp.split"}
    assert {r["port"] for r in records if r["step_id"] == "samp.split"} == {"trues", "falses"}
    assert {r["port"] for r in records if r["step_id"] == "samp.tag"} == {"down"}
    # The engine's clock and ours are the machine's clock.
    assert min(r["ts"] for r in records) >= asked
    assert max(r["ts"] for r in records) <= stopped + 0.3
    for r in records:
        assert len(r["items"]) <= SAMPLE_CAP
        for item in r["items"]:
            assert item.startswith("'r") and item.endswith("'"), item
        if r["step_id"] == "samp.split" and r["port"] == "trues":
            assert all(item.endswith("7'") for item in r["items"])
    for step in ("samp.tag", "samp.split"):
        for worker in range(workers):
            mine = [r for r in records if r["step_id"] == step and r["worker"] == worker]
            if not mine:
                continue
            mine.sort(key=lambda r: r["ts"])
            # At most SAMPLE_CAP records per 100 ms window: any span of t
            # seconds holds at most (t / 0.1 + 1) windows.
            span = mine[-1]["ts"] - mine[0]["ts"]
            sent = sum(len(r["items"]) for r in mine)
            assert sent <= SAMPLE_CAP * (span / 0.1 + 2), (step, worker, sent, span)
    tag = [r for r in records if r["step_id"] == "samp.tag"]
    sent = sum(len(r["items"]) for r in tag)
    dropped = sum(r["dropped"] for r in tag)
    assert sent > 0 and dropped > 10 * sent, "a 250,000 records/s step is mostly dropped"
    final = by_step([final_metrics(finished(conn))])
    assert sent + dropped <= final["samp.tag"]["items_out"]


# ------------------------------------------------- the studio goes away ---


def test_a_missing_socket_is_one_clear_line_and_the_run_completes(cli):
    path = "/tmp/rillet-no-such-dir/run.sock"
    res = cli.run("run", "flows.telemetry_slow:flow", env=cli.env(**{SOCKET_VAR: path}))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [f"ITEM-{i}" for i in range(slow_flow.COUNT)]
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"rillet: can't connect to the studio at {path} (No such file or directory")
    assert "the run goes on" in lines[0]


@pytest.mark.timeout(60)
def test_a_studio_that_goes_away_mid_run_does_not_stop_the_run(studio, cli):
    proc = cli.popen("run", "flows.telemetry_slow:flow", env=cli.env(**studio.env()),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    (first,) = studio.wait_conns(1)
    wait_until(lambda: first.of("metrics"), 10, "a first metrics report")
    # The server dies: its socket goes away with it.
    studio.stop_listening()
    first.close()
    time.sleep(1.2)
    # A restarted server accepts, then drops every connection at once:
    # each accept is one reconnection attempt.
    started = time.monotonic()
    studio.listen_again(close_at_once=True)
    time.sleep(1.5)
    attempts = studio.accepted - 1
    elapsed = time.monotonic() - started
    studio.stop_listening()
    studio.listen_again()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.split() == [f"ITEM-{i}" for i in range(slow_flow.COUNT)]
    assert 1 <= attempts <= elapsed + 1, f"{attempts} attempts in {elapsed:.1f}s"
    assert err.count("lost the connection to the studio") <= 1, err
    # The run came back to the last server: hello first, as always.
    assert len(studio.conns) == 2
    msgs = finished(studio.conns[1])
    assert msgs[0]["type"] == "hello" and msgs[0]["token"] == "tok-1"
    assert msgs[-1]["type"] == "bye" and msgs[-1]["reason"] == "eof"
    # Its counts are cumulative over the whole run, not since reconnecting.
    steps = by_step([final_metrics(msgs)])
    assert steps["slow.upper"]["items_out"] == slow_flow.COUNT


@pytest.mark.timeout(60)
def test_ctrl_c_says_bye_interrupted(studio, cli):
    proc = cli.popen("run", "flows.endless:flow", env=cli.env(**studio.env()),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    (conn,) = studio.wait_conns(1)
    wait_until(lambda: any(s["items_out"] for m in conn.of("metrics") for s in m["steps"]), 20, "items")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    msgs = finished(conn)
    assert msgs[-1]["type"] == "bye" and msgs[-1]["reason"] == "interrupted"
    assert not conn.of("error")


def test_an_aborted_run_says_bye_aborted(studio, monkeypatch):
    from rillet.testing import run_main

    for k, v in studio.env().items():
        monkeypatch.setenv(k, v)
    flow = Dataflow("ab")
    s = op.input("inp", flow, TestingSource([1, 2, TestingSource.ABORT(), 3]))
    op.output("out", s, TestingSink([]))
    run_main(flow)
    (conn,) = studio.wait_conns(1)
    msgs = finished(conn)
    assert msgs[-1]["type"] == "bye" and msgs[-1]["reason"] == "aborted"
