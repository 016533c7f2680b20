"""Time one run of one benchmark flow, in this process, and print it as JSON.

    python bench/_time_flow.py FLOW_FILE --engine rillet|bytewax
        [--addresses HOST:PORT;HOST:PORT --proc-id I]

bench/run.py starts this in a fresh interpreter for every measurement: with
`.venv/bin/python` for Rillet, with `.venv-bytewax/bin/python` for Bytewax
(then tests/peer_alias.py makes the flow's `import rillet.*` load
`bytewax.*`). Only the dataflow run itself is timed: interpreter start-up,
imports and building the flow are not.

Without `--addresses` the flow runs with `run_main` (one worker). With them,
this process is process `--proc-id` of a cluster (`cluster_main`, one worker
per process); it prints `READY` on stdout just before joining, so that the
caller can start the next process once this one is about to listen.

The last stdout line is `BENCH_RESULT {json}` with the wall-clock start and
end of the run, its duration (wall and CPU), and what the sinks counted. With `run_main`,
a count or checksum that differs from the flow's expectation exits 1.
"""

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


def _install_peer_alias() -> None:
    spec = importlib.util.spec_from_file_location("peer_alias", REPO_ROOT / "tests" / "peer_alias.py")
    peer_alias = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer_alias)
    peer_alias.install()


def _load_flow_module(path: Path):
    # Flows import their helpers (`benchlib`) from their own directory.
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("flow_file", type=Path)
    parser.add_argument("--engine", choices=["rillet", "bytewax"], required=True)
    parser.add_argument("--addresses", help="';'-separated host:port of every process")
    parser.add_argument("--proc-id", type=int, default=0)
    args = parser.parse_args()

    if args.engine == "bytewax":
        _install_peer_alias()
    else:
        if importlib.util.find_spec("rillet") is None:
            print("rillet is not installed in .venv: run scripts/setup", file=sys.stderr)
            return 2

    module = _load_flow_module(args.flow_file.resolve())
    import benchlib  # loaded by the flow, from bench/flows/
    from rillet.testing import cluster_main, run_main

    clustered = args.addresses is not None
    if clustered:
        addresses = args.addresses.split(";")
        print("READY", flush=True)

    start_wall = time.time()
    start_cpu = time.process_time()
    start = time.perf_counter()
    if clustered:
        cluster_main(module.flow, addresses, args.proc_id, worker_count_per_proc=1)
    else:
        run_main(module.flow)
    seconds = time.perf_counter() - start
    # CPU time of every thread of this process: steadier than wall time on
    # a busy machine (bench/telemetry.py reports both).
    cpu_seconds = time.process_time() - start_cpu
    end_wall = time.time()

    result = {
        "engine": args.engine,
        "flow": args.flow_file.stem,
        "proc_id": args.proc_id,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "start_wall": start_wall,
        "end_wall": end_wall,
        "expected_count": module.EXPECTED_COUNT,
        "expected_checksum": getattr(module, "EXPECTED_CHECKSUM", None),
        **benchlib.counted(),
    }
    print("BENCH_RESULT " + json.dumps(result), flush=True)

    if not clustered:
        wrong = (result["expected_count"] is not None and result["count"] != result["expected_count"]) or (
            result["expected_checksum"] is not None and result["checksum"] != result["expected_checksum"]
        )
        if wrong:
            print(
                f"wrong result: counted {result['count']} items (checksum {result['checksum']}), "
                f"expected {result['expected_count']} (checksum {result['expected_checksum']})",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
