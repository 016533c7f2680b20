"""Shared fixtures for the Rillet test suite.

Every test imports only `rillet.*`. With `RILLET_TEST_PEER=bytewax`
(run from `.venv-bytewax`), `peer_alias.install()` makes those imports
load Bytewax 0.21.1, so the same expectations are proven against the
reference implementation:

    RILLET_TEST_PEER=bytewax .venv-bytewax/bin/python -m pytest tests -p no:cacheprovider
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

TESTS_DIR = Path(__file__).resolve().parent

PEER = os.environ.get("RILLET_TEST_PEER", "")
if PEER == "bytewax":
    sys.path.insert(0, str(TESTS_DIR))
    import peer_alias

    peer_alias.install()
elif PEER:
    raise pytest.UsageError(f"unknown RILLET_TEST_PEER={PEER!r}; only 'bytewax'")

from rillet.testing import cluster_main, run_main  # noqa: E402

# Name of the package that provides `python -m <pkg>.run` etc. in this
# interpreter, and the prefix of its environment variables.
CLI_PKG = "bytewax" if PEER == "bytewax" else "rillet"
ENV_PREFIX = "BYTEWAX_" if PEER == "bytewax" else "RILLET_"


def pytest_configure(config):
    # Also listed in pytest.ini; registered here so the marker exists
    # whatever ini file a runner picks.
    config.addinivalue_line(
        "markers",
        "rillet_only: checks a Rillet-specific promise that Bytewax 0.21.1 "
        "does not give; skipped when RILLET_TEST_PEER=bytewax",
    )


def pytest_collection_modifyitems(config, items):
    if PEER != "bytewax":
        return
    skip = pytest.mark.skip(
        reason="rillet_only: asserts a Rillet-specific message/exit contract "
        "that Bytewax 0.21.1 does not implement"
    )
    for item in items:
        if "rillet_only" in item.keywords:
            item.add_marker(skip)


class EntryPoint:
    """One way of executing a dataflow in this process."""

    def __init__(self, name: str, workers: int):
        self.name = name
        self.workers = workers

    def __call__(self, flow, **kwargs) -> None:
        if self.name == "run_main":
            run_main(flow, **kwargs)
        else:
            cluster_main(flow, [], 0, worker_count_per_proc=self.workers, **kwargs)

    def __repr__(self) -> str:
        return f"EntryPoint({self.name})"

    @property
    def ordered(self) -> bool:
        """True when a single worker runs everything, so the global
        output order is deterministic."""
        return self.workers == 1


_ENTRY_POINTS = {
    "run_main": EntryPoint("run_main", 1),
    "cluster1": EntryPoint("cluster1", 1),
    "cluster2": EntryPoint("cluster2", 2),
}


@pytest.fixture(params=list(_ENTRY_POINTS), ids=list(_ENTRY_POINTS))
def entry_point(request) -> EntryPoint:
    """Run a flow via `run_main`, `cluster_main` with 1 worker, or
    `cluster_main` with 2 workers in this process."""
    return _ENTRY_POINTS[request.param]


def per_key(items) -> Dict[str, list]:
    """Group `(key, value)` items by key, keeping each key's order."""
    grouped: Dict[str, list] = {}
    for k, v in items:
        grouped.setdefault(k, []).append(v)
    return grouped


@pytest.fixture
def check_keyed(entry_point) -> Callable[[list, list], None]:
    """Compare keyed output: the exact order on one worker; per-key
    order with several workers (keys land on different workers, so
    the interleaving between keys is not deterministic)."""

    def check(got: list, expected: list) -> None:
        if entry_point.ordered:
            assert got == expected
        else:
            assert per_key(got) == per_key(expected)
            assert sorted(got, key=repr) == sorted(expected, key=repr)

    return check


def find_cause(ex: BaseException, typ: type) -> Optional[BaseException]:
    """First exception of `typ` in the `__cause__` chain of `ex`
    (including `ex`)."""
    seen = set()
    while ex is not None and id(ex) not in seen:
        if isinstance(ex, typ):
            return ex
        seen.add(id(ex))
        ex = ex.__cause__
    return None


def chain_text(ex: BaseException) -> str:
    """All messages along the `__cause__` chain, one a line."""
    parts = []
    seen = set()
    while ex is not None and id(ex) not in seen:
        seen.add(id(ex))
        parts.append(f"{type(ex).__name__}: {ex}")
        ex = ex.__cause__
    return "\n".join(parts)


def wait_until(pred: Callable[[], bool], timeout: float, what: str, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_testing_ports(processes: int = 2) -> None:
    """Wait until the ports `python -m rillet.testing -p N` uses are free.

    It uses the fixed ports 2101.. (as Bytewax does); a busy port becomes an
    explicit failure, not a hang.
    """
    ports = range(2101, 2101 + processes)
    wait_until(lambda: all(port_free(p) for p in ports), 20, f"ports {ports[0]}-{ports[-1]} to be free")


class Cli:
    """Build and run `python -m rillet.<module>` child processes.

    Children run from the tests directory so `flows.<name>:flow`
    import strings resolve to `tests/flows/`; the package itself comes
    from the interpreter's installed site-packages.
    """

    pkg = CLI_PKG
    env_prefix = ENV_PREFIX

    def __init__(self):
        self.procs: List[subprocess.Popen] = []

    def cmd(self, module: str, *args: str) -> List[str]:
        return [sys.executable, "-m", f"{self.pkg}.{module}", *args]

    def env(self, **extra: str) -> Dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not (k.startswith("RILLET_") or k.startswith("BYTEWAX_"))
        }
        if PEER:
            env["RILLET_TEST_PEER"] = PEER
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra)
        return env

    def var(self, name: str) -> str:
        """Env var name, e.g. `var("WORKERS_PER_PROCESS")`."""
        return self.env_prefix + name

    def run(self, module: str, *args: str, timeout: float = 45, env=None, **kw):
        return subprocess.run(
            self.cmd(module, *args),
            cwd=TESTS_DIR,
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kw,
        )

    def popen(self, module: str, *args: str, env=None, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(
            self.cmd(module, *args),
            cwd=TESTS_DIR,
            env=env if env is not None else self.env(),
            text=True,
            **kw,
        )
        self.procs.append(proc)
        return proc

    def cleanup(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def cli():
    c = Cli()
    yield c
    c.cleanup()


def free_ports(n: int) -> List[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
