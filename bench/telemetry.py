"""What the studio's run channel costs: Rillet with the channel off, on,
and on with every step sampled, on workloads (a)-(c) of bench/run.py.

    python3 bench/telemetry.py [--items N] [--runs R] [--workloads a,b,c] [--markdown]

"On" runs get `RILLET_TELEMETRY_SOCKET`, pointing at a listener in this
process that reads and discards everything, as a studio that keeps up
would. "Sampled" runs also get a `sample` request for every step of the
flow as soon as they say hello: the worst case, every step sampled at the
engine's cap. Modes alternate within each run (the order rotates from
run to run) and the best of R runs is reported, as in bench/run.py, both
as wall-clock throughput and as CPU time of the run's process (all its
threads, the telemetry thread included), which a busy machine disturbs
less. See bench/README.md.
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py)

MODES = ["off", "on", "sampled"]
SOCKET_VAR = "RILLET_TELEMETRY_SOCKET"


class DiscardingStudio:
    """Accepts run connections and reads every line; optionally asks for
    every step to be sampled."""

    def __init__(self, sample_all: bool):
        self.sample_all = sample_all
        self.dir = tempfile.mkdtemp(prefix="rtb", dir="/tmp")
        self.path = os.path.join(self.dir, "bench.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.lines = 0
        self.records = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                self.lines += 1
                if b'"type":"records"' in line:
                    self.records += 1
                if self.sample_all and line.startswith(b'{"type":"hello"'):
                    steps = [s["step_id"] for s in json.loads(line)["steps"]]
                    conn.sendall((json.dumps({"type": "sample", "steps": steps}) + "\n").encode())

    def close(self):
        self.listener.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def measure(mode: str, flow: str, items: int, timeout: float, studios: Dict[str, DiscardingStudio]) -> dict:
    if mode == "off":
        os.environ.pop(SOCKET_VAR, None)
    else:
        os.environ[SOCKET_VAR] = studios[mode].path
    try:
        return bench.run_single("rillet", flow, items, timeout)
    finally:
        os.environ.pop(SOCKET_VAR, None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", default="a,b,c")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.workloads.split(",") if k.strip()]
    workloads = [w for w in bench.WORKLOADS if w.key in keys]
    if not workloads or len(workloads) != len(keys):
        parser.error("workloads are letters of bench/run.py's workloads, e.g. a,b,c")
    try:
        bench.check_engines(["rillet"])
    except bench.BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2

    studios = {"on": DiscardingStudio(sample_all=False), "sampled": DiscardingStudio(sample_all=True)}
    wall: Dict[tuple, List[float]] = {(w.key, m): [] for w in workloads for m in MODES}
    cpu: Dict[tuple, List[float]] = {(w.key, m): [] for w in workloads for m in MODES}
    print(f"bench: telemetry overhead, {args.items:,} items per workload, best of {args.runs}", flush=True)
    try:
        for run in range(args.runs):
            order = MODES[run % 3 :] + MODES[: run % 3]
            for w in workloads:
                for mode in order:
                    result = measure(mode, w.flow, args.items, args.timeout, studios)
                    wall[(w.key, mode)].append(result["seconds"])
                    cpu[(w.key, mode)].append(result["cpu_seconds"])
                    print(
                        f"bench: run {run + 1}/{args.runs} {w.title} channel {mode}: "
                        f"{result['seconds']:.3f}s wall, {result['cpu_seconds']:.3f}s CPU",
                        flush=True,
                    )
    except bench.BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        for studio in studios.values():
            studio.close()
    if studios["on"].lines == 0 or studios["sampled"].records == 0:
        print("bench: FAILED: the runs never reported to the listener", file=sys.stderr)
        return 1

    rows = [["workload", "off items/s", "on/off", "sampled/off", "off CPU s", "on/off CPU", "sampled/off CPU"]]
    for w in workloads:
        rate = {m: args.items / min(wall[(w.key, m)]) for m in MODES}
        used = {m: min(cpu[(w.key, m)]) for m in MODES}
        rows.append(
            [
                w.title,
                f"{rate['off']:,.0f}",
                f"{rate['on'] / rate['off']:.3f}",
                f"{rate['sampled'] / rate['off']:.3f}",
                f"{used['off']:.3f}",
                f"{used['on'] / used['off']:.3f}",
                f"{used['sampled'] / used['off']:.3f}",
            ]
        )
    print()
    print(bench._plain(rows))
    if args.markdown:
        print()
        print(bench._markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
