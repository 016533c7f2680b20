"""Benchmark Rillet against Bytewax 0.21.1 on the same flows, side by side.

    python3 bench/run.py [--items N] [--runs R] [--engines rillet,bytewax]
                         [--markdown [PATH]] [--json PATH] [--check-targets]

Runs with any Python: the flows themselves run in `.venv/bin/python`
(Rillet) and `.venv-bytewax/bin/python` (Bytewax), both made by
scripts/setup. Every measurement is a fresh subprocess
(bench/_time_flow.py) that times only the dataflow run; measurements
alternate between the engines, and the best of R runs is reported.
See bench/README.md for the workloads.
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
FLOWS_DIR = BENCH_DIR / "flows"
TIME_FLOW = BENCH_DIR / "_time_flow.py"

PYTHONS = {
    "rillet": REPO_ROOT / ".venv" / "bin" / "python",
    "bytewax": REPO_ROOT / ".venv-bytewax" / "bin" / "python",
}
ENGINE_NAMES = {"rillet": "Rillet", "bytewax": "Bytewax 0.21.1"}


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    flow: str
    target: float  # Rillet / Bytewax throughput ratio to reach


WORKLOADS = [
    Workload("a", "(a) map", "map_plus_one.py", 1.5),
    Workload("b", "(b) key_on + stateful_map", "keyed_running_sum.py", 3.0),
    Workload("c", "(c) filter + flat_map + count_final", "filter_flat_map_count.py", 3.0),
    Workload("d", "(d) count_window, tumbling 10 s", "window_count_tumbling.py", 10.0),
    Workload("e", "(e) fold_window, sliding 60 s / 10 s", "window_fold_sliding.py", 5.0),
    Workload("f", "(f) fold_window, sessions", "window_fold_session.py", 5.0),
]
SCALING_FLOW = "keyed_running_sum_split.py"
SCALING_TARGET = 1.6  # Rillet, 2 processes / 1 process
SCALING_PROCESSES = 2


class BenchError(Exception):
    pass


@dataclass
class Best:
    """Best (shortest) time seen for one measurement, over all runs."""

    seconds: List[float] = field(default_factory=list)

    @property
    def best(self) -> Optional[float]:
        return min(self.seconds) if self.seconds else None


def _parse_result(stdout: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT ") :])
    raise BenchError("no BENCH_RESULT line in the output")


def _describe_failure(argv: List[str], proc: subprocess.CompletedProcess) -> str:
    tail = "\n".join((proc.stderr or "").strip().splitlines()[-25:])
    return f"`{' '.join(argv)}` exited {proc.returncode}\n{tail}"


def _env(items: int) -> Dict[str, str]:
    env = dict(os.environ)
    env["RILLET_BENCH_ITEMS"] = str(items)
    env.pop("PYTHONPATH", None)
    return env


def _check_total(results: List[dict]) -> None:
    count = sum(r["count"] for r in results)
    expected = results[0]["expected_count"]
    if expected is not None and count != expected:
        raise BenchError(f"wrong result: the sinks counted {count} items, expected {expected}")
    expected_checksum = results[0]["expected_checksum"]
    if expected_checksum is not None:
        checksum = sum(r["checksum"] for r in results)
        if checksum != expected_checksum:
            raise BenchError(f"wrong result: checksum {checksum}, expected {expected_checksum}")


def run_single(engine: str, flow: str, items: int, timeout: float) -> dict:
    """One run of FLOW in one process; returns its result record (with
    the run's `seconds`, and the sinks' `count` and `checksum`)."""
    argv = [str(PYTHONS[engine]), str(TIME_FLOW), str(FLOWS_DIR / flow), "--engine", engine]
    try:
        proc = subprocess.run(
            argv,
            cwd=REPO_ROOT,
            env=_env(items),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{engine} {flow}: no result within {timeout:.0f}s") from None
    if proc.returncode != 0:
        raise BenchError(f"{engine} {flow}: " + _describe_failure(argv, proc))
    result = _parse_result(proc.stdout)
    _check_total([result])
    return result


def _free_ports(count: int) -> List[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run_cluster(engine: str, flow: str, items: int, processes: int, timeout: float) -> float:
    """One run of FLOW as a cluster of PROCESSES processes, one worker each.

    Process 0 is started first; each next process once the previous one has
    printed READY (it is about to open its listening socket), so no process
    sits in a connection retry. The time reported is from the moment the
    last process entered the run (no work can start before) until the last
    one finished.
    """
    addresses = ";".join(f"127.0.0.1:{port}" for port in _free_ports(processes))
    procs = []
    argvs = []
    deadline = time.monotonic() + timeout
    try:
        for proc_id in range(processes):
            argv = [
                str(PYTHONS[engine]),
                str(TIME_FLOW),
                str(FLOWS_DIR / flow),
                "--engine",
                engine,
                "--addresses",
                addresses,
                "--proc-id",
                str(proc_id),
            ]
            proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=_env(items),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
            argvs.append(argv)
            if proc_id + 1 < processes:
                line = proc.stdout.readline()
                if line.strip() != "READY":
                    proc.wait(timeout=max(1.0, deadline - time.monotonic()))
                    err = proc.stderr.read()
                    raise BenchError(f"{engine} {flow} process {proc_id} did not start:\n{line}{err}")
                time.sleep(0.05)

        results = []
        for proc_id, (proc, argv) in enumerate(zip(procs, argvs)):
            try:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise BenchError(f"{engine} {flow} ({processes} processes): no result within {timeout:.0f}s") from None
            if proc.returncode != 0:
                completed = subprocess.CompletedProcess(argv, proc.returncode, out, err)
                raise BenchError(f"{engine} {flow} process {proc_id}: " + _describe_failure(argv, completed))
            results.append(_parse_result(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    _check_total(results)
    return max(r["end_wall"] for r in results) - max(r["start_wall"] for r in results)


def _rate(items: int, seconds: Optional[float]) -> Optional[float]:
    return items / seconds if seconds else None


def _fmt_rate(rate: Optional[float]) -> str:
    return f"{rate:,.0f}" if rate is not None else "n/a"


def _fmt_ratio(ratio: Optional[float]) -> str:
    return f"{ratio:.2f}x" if ratio is not None else "n/a"


def _verdict(ratio: Optional[float], target: float) -> str:
    if ratio is None:
        return "n/a"
    return "met" if ratio >= target else "NOT met"


def build_tables(
    items: int, engines: List[str], workloads: List[Workload], times: Dict, scaling: Dict
) -> Dict[str, List[List[str]]]:
    tables = {}
    compare = [["workload"] + [f"{ENGINE_NAMES[e]} items/s" for e in engines]]
    if len(engines) == 2:
        compare[0] += ["Rillet/Bytewax", "target", "verdict"]
    for w in workloads:
        rates = {e: _rate(items, times[(w.key, e)].best) for e in engines}
        row = [w.title] + [_fmt_rate(rates[e]) for e in engines]
        if len(engines) == 2:
            ratio = rates["rillet"] / rates["bytewax"] if rates["rillet"] and rates["bytewax"] else None
            row += [_fmt_ratio(ratio), f">= {w.target}x", _verdict(ratio, w.target)]
        compare.append(row)
    if workloads:
        tables["compare"] = compare

    if scaling:
        scale = [["engine", "1 process items/s", f"{SCALING_PROCESSES} processes items/s", "speedup", "target", "verdict"]]
        for e in engines:
            one = _rate(items, scaling[(e, 1)].best)
            many = _rate(items, scaling[(e, SCALING_PROCESSES)].best)
            speedup = many / one if one and many else None
            if e == "rillet":
                target, verdict = f">= {SCALING_TARGET}x", _verdict(speedup, SCALING_TARGET)
            else:
                target, verdict = "(reference)", ""
            scale.append([ENGINE_NAMES[e], _fmt_rate(one), _fmt_rate(many), _fmt_ratio(speedup), target, verdict])
        tables["scaling"] = scale
    return tables


def _plain(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def _markdown(rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |"]
    lines.append("|" + "|".join(":---" if i == 0 else "---:" for i in range(len(rows[0]))) + "|")
    for row in rows[1:]:
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _headline(args) -> str:
    return (
        f"{args.items:,} items per workload, batches of 1,000, best of {args.runs} "
        f"run{'s' if args.runs != 1 else ''}; CPython {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )


def render(args, tables, fmt) -> str:
    out = [_headline(args)]
    if "compare" in tables:
        out += ["", fmt(tables["compare"])]
    if "scaling" in tables:
        out += [
            "",
            "Scaling of (b), the input split evenly across workers, 1 worker per process:",
            "",
            fmt(tables["scaling"]),
        ]
    return "\n".join(out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000, help="input items per workload (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the best is reported (default 3)")
    parser.add_argument(
        "--engines",
        default="rillet,bytewax",
        help="comma-separated engines to run: rillet, bytewax (default both)",
    )
    parser.add_argument(
        "--workloads",
        default="a,b,c,d,e,f,scaling",
        help="comma-separated workloads: a-f, scaling (default all)",
    )
    parser.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also print the tables as Markdown, or write them to PATH",
    )
    parser.add_argument("--json", metavar="PATH", help="write every measured time as JSON to PATH")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per run (default 900)")
    parser.add_argument(
        "--check-targets",
        action="store_true",
        help="exit 1 unless every target is met (needs both engines)",
    )
    args = parser.parse_args(argv)

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in PYTHONS]
    if unknown or not engines:
        parser.error(f"unknown engine(s) {unknown}; choose from rillet, bytewax")
    args.engine_list = [e for e in ("rillet", "bytewax") if e in engines]
    workloads = {w.strip() for w in args.workloads.split(",") if w.strip()}
    known = {w.key for w in WORKLOADS} | {"scaling"}
    if not workloads or workloads - known:
        parser.error(f"unknown workload(s) {sorted(workloads - known)}; choose from a, b, c, d, e, f, scaling")
    args.workload_set = workloads
    if args.items < 1 or args.runs < 1:
        parser.error("--items and --runs must be at least 1")
    if args.check_targets and len(args.engine_list) != 2:
        parser.error("--check-targets needs both engines")
    return args


def check_engines(engines: List[str]) -> None:
    for engine in engines:
        python = PYTHONS[engine]
        venv = python.parent.parent.name
        if not python.exists():
            raise BenchError(f"{venv} does not exist: run scripts/setup")
        module = "rillet" if engine == "rillet" else "bytewax"
        probe = subprocess.run(
            [str(python), "-c", f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
        if probe.returncode != 0:
            raise BenchError(f"{module} is not installed in {venv}: run scripts/setup")


def main(argv=None) -> int:
    args = parse_args(argv)
    engines = args.engine_list
    try:
        check_engines(engines)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2

    workloads = [w for w in WORKLOADS if w.key in args.workload_set]
    do_scaling = "scaling" in args.workload_set
    times = {(w.key, e): Best() for w in WORKLOADS for e in engines}
    scaling = {(e, p): Best() for e in engines for p in (1, SCALING_PROCESSES)} if do_scaling else {}

    print(f"bench: {_headline(args)}", flush=True)
    try:
        for run in range(1, args.runs + 1):
            # Alternate engines within each workload, so that a slow patch of
            # the machine hits both rather than one.
            order = engines if run % 2 else list(reversed(engines))
            for w in workloads:
                outputs = {}
                for e in order:
                    result = run_single(e, w.flow, args.items, args.timeout)
                    seconds = result["seconds"]
                    outputs[e] = (result["count"], result["checksum"])
                    times[(w.key, e)].seconds.append(seconds)
                    print(f"bench: run {run}/{args.runs} {w.title} {ENGINE_NAMES[e]}: {seconds:.3f}s", flush=True)
                if len(set(outputs.values())) > 1:
                    raise BenchError(
                        f"{w.title}: the engines' outputs differ (records, digest): "
                        + ", ".join(f"{ENGINE_NAMES[e]} {o}" for e, o in outputs.items())
                    )
            if do_scaling:
                for e in order:
                    for p in (1, SCALING_PROCESSES):
                        if p == 1:
                            seconds = run_single(e, SCALING_FLOW, args.items, args.timeout)["seconds"]
                        else:
                            seconds = run_cluster(e, SCALING_FLOW, args.items, p, args.timeout)
                        scaling[(e, p)].seconds.append(seconds)
                        print(
                            f"bench: run {run}/{args.runs} scaling {ENGINE_NAMES[e]} {p} process"
                            f"{'es' if p > 1 else ''}: {seconds:.3f}s",
                            flush=True,
                        )
    except BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        return 1

    tables = build_tables(args.items, engines, workloads, times, scaling)
    print()
    print(render(args, tables, _plain))
    if args.markdown == "-":
        print()
        print(render(args, tables, _markdown))
    elif args.markdown:
        Path(args.markdown).write_text(render(args, tables, _markdown) + "\n", encoding="utf-8")
        print(f"\nbench: wrote {args.markdown}")

    if args.json:
        raw = {
            "items": args.items,
            "runs": args.runs,
            "workloads": {f"{k}/{e}": t.seconds for (k, e), t in times.items() if t.seconds},
            "scaling": {f"{e}/{p}": t.seconds for (e, p), t in scaling.items()},
        }
        Path(args.json).write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        print(f"bench: wrote {args.json}")

    if args.check_targets:
        missed = [row[0] for table in tables.values() for row in table[1:] if row[-1] == "NOT met"]
        if missed:
            print(f"bench: targets not met: {', '.join(missed)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
