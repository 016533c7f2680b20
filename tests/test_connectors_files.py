"""rillet.connectors.files: FileSource, DirSource, CSVSource, FileSink,
DirSink, and their resume positions."""

import os
from pathlib import Path
from zlib import adler32

import pytest
import rillet.operators as op
from rillet.connectors.files import CSVSource, DirSink, DirSource, FileSink, FileSource
from rillet.dataflow import Dataflow
from rillet.testing import TestingSink, TestingSource

DATA = Path(__file__).resolve().parent / "data"
LINES = ["alpha", "beta gamma", "", "  padded  ", "last line without newline"]


def _fs_id(path):
    return hex(os.stat(path).st_dev)


def _read(entry_point, source, batches=False):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, source)
    if batches:
        s = op.flat_map_batch("b", s, lambda xs: [list(xs)])
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    return out


def test_file_source_lines(entry_point):
    assert _read(entry_point, FileSource(DATA / "lines.txt")) == LINES


def test_file_source_accepts_str_path_and_batch_size(entry_point):
    got = _read(entry_point, FileSource(str(DATA / "lines.txt"), batch_size=2), batches=True)
    assert got == [LINES[0:2], LINES[2:4], LINES[4:]]


def test_file_source_parts():
    path = DATA / "lines.txt"
    assert FileSource(path).list_parts() == [f"{_fs_id(DATA)}::{path}"]
    assert FileSource(path, get_fs_id=lambda _p: "host1").list_parts() == [f"host1::{path}"]
    assert FileSource(DATA / "missing.txt").list_parts() == []
    with pytest.raises(ValueError):
        FileSource(path, get_fs_id=lambda _p: "bad::id")


def test_file_source_snapshot_is_byte_offset_and_resumes():
    path = DATA / "lines.txt"
    src = FileSource(path, batch_size=2)
    (part_key,) = src.list_parts()
    part = src.build_part("s", part_key, None)
    assert part.next_batch() == ["alpha", "beta gamma"]
    offset = part.snapshot()
    assert offset == len(b"alpha\nbeta gamma\n")
    part.close()
    resumed = src.build_part("s", part_key, offset)
    assert resumed.next_batch() == ["", "  padded  "]
    assert resumed.next_batch() == ["last line without newline"]
    with pytest.raises(StopIteration):
        resumed.next_batch()
    assert resumed.snapshot() == path.stat().st_size
    resumed.close()


def test_dir_source_parts_glob():
    src = DirSource(DATA / "dir_source", glob_pat="*.txt")
    fs = _fs_id(DATA / "dir_source")
    assert sorted(src.list_parts()) == [f"{fs}::a.txt", f"{fs}::b.txt"]
    deep = DirSource(DATA / "dir_source", glob_pat="**/*.txt", get_fs_id=lambda _p: "X")
    assert sorted(deep.list_parts()) == ["X::a.txt", "X::b.txt", "X::sub/s.txt"]


def test_dir_source_reads_every_file(entry_point):
    out = _read(entry_point, DirSource(DATA / "dir_source", glob_pat="**/*.txt"))
    assert [x for x in out if x.startswith("a")] == ["a1", "a2", "a3"]
    assert [x for x in out if x.startswith("b")] == ["b1", "b2"]
    assert sorted(out) == ["a1", "a2", "a3", "b1", "b2", "s1"]


def test_dir_source_rejects_missing_or_file_path():
    with pytest.raises(ValueError):
        DirSource(DATA / "no_such_dir")
    with pytest.raises(ValueError):
        DirSource(DATA / "lines.txt")


def test_dir_source_resume_one_file():
    src = DirSource(DATA / "dir_source", glob_pat="a.txt", batch_size=1, get_fs_id=lambda _p: "X")
    part = src.build_part("s", "X::a.txt", None)
    assert part.next_batch() == ["a1"]
    resumed = src.build_part("s", "X::a.txt", part.snapshot())
    assert resumed.next_batch() == ["a2"]
    assert resumed.next_batch() == ["a3"]
    part.close()
    resumed.close()


def test_csv_source(entry_point):
    out = _read(entry_point, CSVSource(DATA / "items.csv"))
    assert out == [
        {"name": "widget", "qty": "3", "note": "has, comma"},
        {"name": "gadget", "qty": "10", "note": "plain"},
        {"name": "thing", "qty": "0", "note": "multi\nline"},
    ]


def test_csv_source_fmtparams(entry_point):
    out = _read(entry_point, CSVSource(DATA / "semicolon.csv", delimiter=";"))
    assert out == [{"name": "bolt", "qty": "7"}, {"name": "nut", "qty": "9"}]


def test_csv_source_resume_keeps_header():
    src = CSVSource(DATA / "items.csv", batch_size=1)
    (key,) = src.list_parts()
    part = src.build_part("s", key, None)
    assert part.next_batch() == [{"name": "widget", "qty": "3", "note": "has, comma"}]
    offset = part.snapshot()
    part.close()
    resumed = src.build_part("s", key, offset)
    # The header is still read from the start of the file.
    assert resumed.next_batch() == [{"name": "gadget", "qty": "10", "note": "plain"}]
    resumed.close()


def _write(entry_point, items, sink, batch_size=1):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(items, batch_size=batch_size))
    op.output("out", s, sink)
    entry_point(flow)


def test_file_sink(entry_point, tmp_path):
    path = tmp_path / "out.txt"
    _write(entry_point, [("k", "one"), ("other", "two"), ("k", "three")], FileSink(path))
    assert path.read_text() == "one\ntwo\nthree\n"


def test_file_sink_end_and_fresh_start_truncates(entry_point, tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old;")
    # A fresh start (no resume state) seeks to 0 and truncates.
    _write(entry_point, [("k", "a"), ("k", "b")], FileSink(path, end=";"))
    assert path.read_text() == "a;b;"


def test_file_sink_parts():
    sink = FileSink(Path("/tmp/x.txt"))
    assert sink.list_parts() == ["/tmp/x.txt"]
    assert sink.part_fn("anything") == 0


def test_file_sink_resume_truncates_after_offset(tmp_path):
    path = tmp_path / "out.txt"
    sink = FileSink(path)
    part = sink.build_part("s", str(path), None)
    part.write_batch(["keep1", "keep2"])
    offset = part.snapshot()
    assert offset == len("keep1\nkeep2\n")
    part.write_batch(["lost"])
    part.close()
    assert path.read_text() == "keep1\nkeep2\nlost\n"
    resumed = sink.build_part("s", str(path), offset)
    resumed.write_batch(["new"])
    resumed.close()
    assert path.read_text() == "keep1\nkeep2\nnew\n"


def test_dir_sink_default_assignment(entry_point, tmp_path):
    keys = ["a", "b", "c", "d", "e"]
    items = [(k, f"{k}{i}") for i in range(2) for k in keys]
    _write(entry_point, items, DirSink(tmp_path, 3), batch_size=3)
    expected = {f"part_{i}": [] for i in range(3)}
    for k, v in items:
        expected[f"part_{adler32(k.encode()) % 3}"].append(v)
    for name, values in expected.items():
        path = tmp_path / name
        if values:
            lines = path.read_text().splitlines()
            # Order per key is kept within a file.
            for k in keys:
                assert [x for x in lines if x[0] == k] == [v for v in values if v[0] == k]
            assert sorted(lines) == sorted(values)
        else:
            assert not path.exists()


def test_dir_sink_custom_namer_and_assign(entry_point, tmp_path):
    sink = DirSink(
        tmp_path,
        2,
        file_namer=lambda i, n: f"shard-{i}-of-{n}.log",
        assign_file=lambda k: 0 if k.startswith("x") else 1,
        end="|",
    )
    assert sink.list_parts() == ["shard-0-of-2.log", "shard-1-of-2.log"]
    _write(entry_point, [("x1", "A"), ("y1", "B"), ("x2", "C"), ("y2", "D")], sink)
    assert (tmp_path / "shard-0-of-2.log").read_text() == "A|C|"
    assert (tmp_path / "shard-1-of-2.log").read_text() == "B|D|"


def test_dir_sink_partition_resume(tmp_path):
    sink = DirSink(tmp_path, 2)
    part = sink.build_part("s", "part_1", None)
    part.write_batch(["x", "y"])
    offset = part.snapshot()
    part.write_batch(["z"])
    part.close()
    resumed = sink.build_part("s", "part_1", offset)
    assert resumed.snapshot() == offset
    resumed.write_batch(["w"])
    resumed.close()
    assert (tmp_path / "part_1").read_text() == "x\ny\nw\n"


def test_files_roundtrip(entry_point, tmp_path):
    out_path = tmp_path / "upper.txt"
    flow = Dataflow("test_df")
    s = op.input("inp", flow, FileSource(DATA / "lines.txt"))
    s = op.map("upper", s, lambda line: ("all", line.upper()))
    op.output("out", s, FileSink(out_path))
    entry_point(flow)
    assert out_path.read_text() == "".join(f"{x.upper()}\n" for x in LINES)
