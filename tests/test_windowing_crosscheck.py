"""Rillet's native windowing against Bytewax 0.21.1 itself.

The same random cases (keys, out-of-order timestamps, waits, sliding,
tumbling or session windows, `ordered` or not, batch sizes) run here
under Rillet and in `.venv-bytewax` under Bytewax; their `down`, `late`
and `meta` streams must be equal record for record (in the same order
with one worker). This file is also the script both interpreters run:

    python tests/test_windowing_crosscheck.py rillet|bytewax SEED ENTRY
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BYTEWAX_PYTHON = HERE.parent / ".venv-bytewax" / "bin" / "python"
CASES = 120

pytestmark = pytest.mark.rillet_only


def _cases(seed: int, entry: str) -> list:
    """Run every case of `seed`; returns, per case, the repr of the
    outputs and the repr of each output sorted (for several workers)."""
    import random
    from datetime import datetime, timedelta, timezone

    import rillet.operators as op
    import rillet.operators.windowing as win
    from rillet.dataflow import Dataflow
    from rillet.testing import TestingSink, TestingSource, TimeTestingGetter, cluster_main, run_main

    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(seed)
    outputs = []
    for _case in range(CASES):
        events = [(rng.choice("abcde"), rng.randint(-30, 60)) for _ in range(rng.randint(0, 30))]
        wait = timedelta(seconds=rng.randint(0, 20))
        ordered = rng.choice([True, False])
        batch_size = rng.randint(1, 4)
        if rng.random() < 0.5:
            length = rng.randint(1, 20)
            offset = rng.randint(1, length)
            align = t0 + timedelta(seconds=rng.randint(-15, 15))
            windower = win.SlidingWindower(timedelta(seconds=length), timedelta(seconds=offset), align)
        else:
            windower = win.SessionWindower(timedelta(seconds=rng.randint(0, 12)))
        getter = TimeTestingGetter(datetime(2025, 6, 1, tzinfo=timezone.utc))
        clock = win.EventClock(
            lambda v: t0 + timedelta(seconds=v[1]), wait, now_getter=getter.get
        )
        flow = Dataflow("x")
        items = [(k, (f"v{i}", t)) for i, (k, t) in enumerate(events)]
        s = op.input("inp", flow, TestingSource(items, batch_size=batch_size))
        out = win.fold_window(
            "w", s, clock, windower, list, lambda a, v: a + [v[0]], lambda a, b: a + b, ordered
        )
        down, late, meta = [], [], []
        op.output("d", out.down, TestingSink(down))
        op.output("l", out.late, TestingSink(late))
        op.output("m", out.meta, TestingSink(meta))
        if entry == "run_main":
            run_main(flow)
        else:
            cluster_main(flow, [], 0, worker_count_per_proc=int(entry[len("cluster") :]))
        contents = tuple(sorted(map(repr, x)) for x in (down, late, meta))
        outputs.append((repr((down, late, meta)), repr(contents)))
    return outputs


def _run(python: Path, engine: str, seed: int, entry: str) -> list:
    proc = subprocess.run(
        [str(python), __file__, engine, str(seed), entry],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HERE.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not BYTEWAX_PYTHON.exists(), reason="needs .venv-bytewax (scripts/setup)")
@pytest.mark.parametrize("entry", ["run_main", "cluster1", "cluster2"])
@pytest.mark.parametrize("seed", [11, 12])
def test_native_windowing_equals_bytewax(entry, seed):
    # Across two workers only each stream's contents are comparable.
    which = 1 if entry == "cluster2" else 0
    ours = [case[which] for case in _cases(seed, entry)]
    theirs = [case[which] for case in _run(BYTEWAX_PYTHON, "bytewax", seed, "run_main")]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert len(ours) == len(theirs) == CASES
    assert not differ, f"case {differ[0]}:\nRillet  {ours[differ[0]]}\nBytewax {theirs[differ[0]]}"


if __name__ == "__main__":
    engine, seed, entry = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if engine == "bytewax":
        sys.path.insert(0, str(HERE))
        import peer_alias

        peer_alias.install()
    print(json.dumps(_cases(seed, entry)))
