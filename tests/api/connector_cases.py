"""Exercise sources, sinks and input helpers directly, without a runtime.

Only `rillet` is imported, so with `peer_alias.install()` the same
cases run on Bytewax 0.21.1; `test_connector_parity.py` compares the
two. Partitions are driven the way DESIGN.md says the runtime drives
them (`next_batch`, `next_awake`, `snapshot`, `close`), including
rebuilding them from a snapshot to check resume positions.
`results(workdir)` returns `{case: repr(outcome)}`.
"""

import asyncio
import queue
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List

from rillet.connectors.demo import RandomMetricSource
from rillet.connectors.files import CSVSource, DirSink, DirSource, FileSink, FileSource
from rillet.inputs import (
    AbortExecution,
    SimplePollingSource,
    batch,
    batch_async,
    batch_getter,
    batch_getter_ex,
)
from rillet.testing import TestingSink, TestingSource, ffwd_iter, poll_next_batch

SAME_FS = lambda _dir: "FS"  # noqa: E731


def _outcome(fn: Callable[[], Any]) -> str:
    try:
        return repr(("ok", fn()))
    except Exception as ex:  # noqa: BLE001 - the outcome is compared
        return repr(("error", type(ex).__name__))


def _drain(part, limit: int = 50) -> List[Any]:
    """Call `next_batch` until EOF or an error, logging each step."""
    log: List[Any] = []
    for _ in range(limit):
        try:
            got = part.next_batch()
        except StopIteration:
            log.append("EOF")
            break
        except AbortExecution:
            log.append(("ABORT", part.snapshot()))
            break
        awake = part.next_awake()
        log.append((list(got), part.snapshot(), awake is not None))
    return log


def _testing_source_cases() -> Dict[str, str]:
    eof, pause = TestingSource.EOF, TestingSource.PAUSE
    out: Dict[str, str] = {}
    items = [1, 2, 3, eof(), 4, pause(timedelta(0)), 5, 6, 7]
    src = TestingSource(items, batch_size=2)
    out["testing_parts"] = repr(src.list_parts())
    first = _outcome(lambda: _drain(src.build_part("s", "iterable", None)))
    out["testing_first"] = first
    # Resume from every position the first run could snapshot.
    for resume in range(0, 9):
        out[f"testing_resume_{resume}"] = _outcome(
            lambda r=resume: _drain(src.build_part("s", "iterable", r))
        )
    # ABORT fires once; positions after it are as Bytewax counts them.
    abort_items = [1, TestingSource.ABORT(), 2, 3]
    asrc = TestingSource(abort_items)
    runs = []
    state = None
    for _ in range(3):
        log = _drain(asrc.build_part("s", "iterable", state))
        runs.append(log)
        last = [e for e in log if isinstance(e, tuple)]
        state = last[-1][-1] if last and last[-1][0] == "ABORT" else (
            last[-1][1] if last else state
        )
    out["testing_abort"] = repr(runs)
    out["testing_empty"] = _outcome(lambda: _drain(TestingSource([]).build_part("s", "iterable", None)))
    out["testing_generator"] = _outcome(
        lambda: _drain(TestingSource((x for x in range(3)), 2).build_part("s", "iterable", 1))
    )
    sink_list: List[Any] = []
    part = TestingSink(sink_list).build("s", 0, 1)
    part.write_batch([1, 2])
    part.write_batch([3])
    out["testing_sink"] = repr(sink_list)
    it = iter(range(10))
    ffwd_iter(it, 4)
    out["ffwd_iter"] = repr(list(it))
    out["poll_next_batch"] = _outcome(
        lambda: poll_next_batch(TestingSource([pause(timedelta(0)), 9]).build_part("s", "iterable", None))
    )
    return out


def _helper_cases() -> Dict[str, str]:
    out: Dict[str, str] = {}
    out["batch"] = repr(list(batch(range(7), 3)))
    out["batch_empty"] = repr(list(batch([], 3)))

    def getter_from(values):
        it = iter(values)
        return lambda: next(it)

    out["batch_getter"] = repr(list(batch_getter(getter_from([1, None, 2, 3, 4, None]), 2)))
    out["batch_getter_yield_on"] = repr(
        list(batch_getter(getter_from([1, "x", 2, "x"]), 5, yield_on="x"))
    )
    q: "queue.Queue[int]" = queue.Queue()
    for i in range(5):
        q.put(i)
    gen = batch_getter_ex(q.get_nowait, 2)
    out["batch_getter_ex"] = repr([next(gen) for _ in range(4)])

    def raising_getter():
        raise StopIteration()

    out["batch_getter_ex_eof"] = repr(list(batch_getter_ex(raising_getter, 2)))

    async def agen():
        for i in range(5):
            await asyncio.sleep(0)
            yield i

    out["batch_async"] = repr(list(batch_async(agen(), timedelta(seconds=5), 2)))

    async def slow():
        yield 1
        await asyncio.sleep(0.3)
        yield 2

    # How many empty batches the wait produces depends on timing.
    got = list(batch_async(slow(), timedelta(seconds=0.05), 5))
    out["batch_async_timeout"] = repr(([b for b in got if b], any(not b for b in got)))
    return out


class _Poller(SimplePollingSource):
    def __init__(self, interval, align_to=None):
        super().__init__(interval, align_to)
        self.n = 0
        self.resumed = None

    def next_item(self):
        self.n += 1
        if self.n == 2:
            return None
        if self.n == 3:
            raise SimplePollingSource.Retry(timedelta(seconds=7))
        return self.n

    def snapshot(self):
        return self.n

    def resume(self, resume_state):
        self.resumed = resume_state
        self.n = resume_state


def _polling_cases() -> Dict[str, str]:
    out: Dict[str, str] = {}
    src = _Poller(timedelta(seconds=10))
    part = src.build_part("s", "singleton", None)
    start = part.next_awake()
    log = []
    for _ in range(4):
        got = part.next_batch()
        log.append((got, (part.next_awake() - start).total_seconds(), part.snapshot()))
    out["polling"] = repr((src.list_parts(), log))
    resumed = _Poller(timedelta(seconds=10))
    rpart = resumed.build_part("s", "singleton", 5)
    out["polling_resume"] = repr((resumed.resumed, rpart.next_batch()))
    # Alignment: the first awake is the next multiple of the interval.
    align = datetime(2020, 1, 1, tzinfo=timezone.utc)
    aligned = _Poller(timedelta(hours=1), align_to=align)
    apart = aligned.build_part("s", "singleton", None)
    first = apart.next_awake()
    out["polling_aligned"] = repr(
        (first - align).total_seconds() % 3600 == 0
        and timedelta(0) <= first - datetime.now(timezone.utc) <= timedelta(hours=1)
    )
    return out


def _file_cases(workdir: Path) -> Dict[str, str]:
    out: Dict[str, str] = {}
    text = workdir / "in.txt"
    text.write_text("alpha\nbeta\n\ngamma\ndelta")
    src = FileSource(text, batch_size=2, get_fs_id=SAME_FS)
    parts = src.list_parts()
    out["file_parts"] = repr([p.replace(str(workdir), "<dir>") for p in parts])
    part = src.build_part("s", parts[0], None)
    first = part.next_batch()
    pos = part.snapshot()
    part.close()
    resumed = src.build_part("s", parts[0], pos)
    out["file_read"] = repr((first, pos, _drain(resumed)))
    resumed.close()
    out["file_missing"] = repr(FileSource(workdir / "nope.txt", get_fs_id=SAME_FS).list_parts())
    out["file_other_path"] = _outcome(lambda: src.build_part("s", "FS::/elsewhere.txt", None))
    out["file_bad_fs_id"] = _outcome(lambda: FileSource(text, get_fs_id=lambda _d: "a::b"))

    d = workdir / "dir"
    d.mkdir()
    (d / "a.log").write_text("1\n2\n")
    (d / "b.log").write_text("3\n")
    (d / "c.txt").write_text("x\n")
    dsrc = DirSource(d, glob_pat="*.log", batch_size=5, get_fs_id=SAME_FS)
    dparts = sorted(dsrc.list_parts())
    out["dir_parts"] = repr(dparts)
    out["dir_read"] = repr([_drain(dsrc.build_part("s", p, None)) for p in dparts])
    out["dir_missing"] = _outcome(lambda: DirSource(workdir / "nope"))
    out["dir_not_dir"] = _outcome(lambda: DirSource(text))

    csv_path = workdir / "in.csv"
    csv_path.write_text('a,b\n1,"x,y"\n2,z\n3,w\n')
    csrc = CSVSource(csv_path, batch_size=1, get_fs_id=SAME_FS)
    cpart = csrc.build_part("s", csrc.list_parts()[0], None)
    c1 = cpart.next_batch()
    cpos = cpart.snapshot()
    cpart.close()
    out["csv_read"] = repr((c1, cpos, _drain(csrc.build_part("s", csrc.list_parts()[0], cpos))))
    semi = workdir / "semi.csv"
    semi.write_text("a;b\n1;2\n")
    ssrc = CSVSource(semi, get_fs_id=SAME_FS, delimiter=";")
    out["csv_fmtparams"] = repr(_drain(ssrc.build_part("s", ssrc.list_parts()[0], None)))

    out_path = workdir / "out.txt"
    fsink = FileSink(out_path)
    out["file_sink_parts"] = repr(
        ([p.replace(str(workdir), "<dir>") for p in fsink.list_parts()], fsink.part_fn("k"))
    )
    spart = fsink.build_part("s", str(out_path), None)
    spart.write_batch(["one", "two"])
    mid = spart.snapshot()
    spart.write_batch(["three"])
    spart.close()
    # Resuming truncates what came after the snapshot.
    rpart = fsink.build_part("s", str(out_path), mid)
    rpart.write_batch(["THREE"])
    rpart.close()
    out["file_sink"] = repr((mid, out_path.read_text()))
    out["file_sink_other_path"] = _outcome(lambda: fsink.build_part("s", "/elsewhere", None))

    sink_dir = workdir / "sink"
    sink_dir.mkdir()
    dsink = DirSink(sink_dir, 3, end=";")
    names = dsink.list_parts()
    routed = {k: dsink.part_fn(k) % len(names) for k in ["a", "b", "c", "hello"]}
    for name in names:
        p = dsink.build_part("s", name, None)
        p.write_batch([f"{name}-1"])
        p.close()
    custom = DirSink(sink_dir, 2, file_namer=lambda i, n: f"f{i}of{n}", assign_file=len)
    out["dir_sink"] = repr(
        (
            names,
            routed,
            sorted((f.name, f.read_text()) for f in sink_dir.iterdir()),
            custom.list_parts(),
            custom.part_fn("abc"),
        )
    )
    return out


def _demo_cases() -> Dict[str, str]:
    src = RandomMetricSource("temp", interval=timedelta(seconds=2), count=3, next_random=lambda: 7)
    part = src.build_part("s", "temp", None)
    start = part.next_awake()
    log = _drain(part)
    resumed = src.build_part("s", "temp", part.snapshot())
    return {
        "demo": repr(
            (
                src.list_parts(),
                [e if e == "EOF" else e[0] for e in log],
                (part.next_awake() - start).total_seconds(),
                _drain(resumed),
            )
        )
    }


def results(workdir: Path) -> Dict[str, str]:
    """Every case's outcome, as text. `workdir` must be empty."""
    out: Dict[str, str] = {}
    out.update(_testing_source_cases())
    out.update(_helper_cases())
    out.update(_polling_cases())
    out.update(_file_cases(workdir))
    out.update(_demo_cases())
    return out
