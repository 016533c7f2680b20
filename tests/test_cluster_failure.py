"""A failure in one process of a cluster stops every process, promptly,
with the error reported where it happened and a pointer to it elsewhere."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import free_ports

pytestmark = [pytest.mark.subprocess, pytest.mark.cluster, pytest.mark.rillet_only]

FLOWS = Path(__file__).parent / "flows"


@pytest.mark.timeout(90)
def test_failure_in_one_process_stops_the_cluster():
    addresses = ";".join(f"127.0.0.1:{p}" for p in free_ports(2))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rillet.run", "fails_on_one_process:flow", "-i", str(i), "-a", addresses],
            cwd=FLOWS,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    started = time.monotonic()
    results = [p.communicate(timeout=60) for p in procs]
    # Each process would read a million records; stopping early is the point.
    assert time.monotonic() - started < 30

    _, err0 = results[0]
    _, err1 = results[1]
    assert procs[1].returncode == 1
    assert "step 'fails.check'" in err1
    assert "on item 1000005 raised ValueError: bad record 1000005" in err1
    assert "ValueError: bad record 1000005" in err1.split("The above exception was the direct cause")[0]
    assert procs[0].returncode == 1
    assert "the run failed on a worker in another process of the cluster" in err0
