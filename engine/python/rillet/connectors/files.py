"""Connectors for local text files.

Sources read line by line (or CSV row by row) and resume at a byte
offset; sinks append lines and, on resume, truncate back to the offset
of the last snapshot so nothing is written twice.

>>> import tempfile
>>> from pathlib import Path
>>> from rillet.connectors.files import FileSource
>>> path = Path(tempfile.mkdtemp()) / "in.txt"
>>> _ = path.write_text("one\\ntwo\\nthree\\n")
>>> src = FileSource(path, batch_size=2)
>>> part = src.build_part("eg.inp", src.list_parts()[0], None)
>>> part.next_batch(), part.snapshot()
(['one', 'two'], 8)
>>> part.close()
"""

import os
from csv import DictReader
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Union
from zlib import adler32

from rillet.inputs import FixedPartitionedSource, StatefulSourcePartition, batch
from rillet.outputs import FixedPartitionedSink, StatefulSinkPartition


def _get_path_dev(path: Path) -> str:
    """Default filesystem ID: the device number of `path`, in hex."""
    return hex(path.stat().st_dev)


def _readlines(f) -> Iterator[str]:
    """Yield the lines of `f` with `readline`, so `f.tell()` stays usable.

    Text files refuse `tell()` while being iterated with `next()`.
    """
    while True:
        line = f.readline()
        if not line:
            return
        yield line


def _strip_n(s: str) -> str:
    return s.rstrip("\n")


def _check_fs_id(fs_id: str) -> str:
    if "::" in fs_id:
        msg = (
            f"`get_fs_id` returned {fs_id!r}, which contains '::'; '::' "
            "separates the filesystem ID from the path in partition names, "
            "so return an ID without it"
        )
        raise ValueError(msg)
    return fs_id


def _check_same_file(kind: str, expected: str, got: str) -> None:
    if got != expected:
        msg = (
            f"can't resume {kind} {expected!r} from state saved for {got!r}; "
            "resume with the same path the dataflow used before, or start "
            "without the old recovery state"
        )
        raise AssertionError(msg)


class _FileSourcePartition(StatefulSourcePartition[str, int]):
    def __init__(self, path: Path, batch_size: int, resume_state: Optional[int]):
        self._f = open(path, "rt")
        if resume_state is not None:
            self._f.seek(resume_state)
        lines = map(_strip_n, _readlines(self._f))
        self._batches = batch(lines, batch_size)

    def next_batch(self) -> List[str]:
        return next(self._batches)

    def snapshot(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()


class DirSource(FixedPartitionedSource[str, int]):
    """Read every file of a directory (matching a glob) line by line.

    Each file is a partition, read by one worker; lines of different
    files interleave. Workers may see different files at the same path
    (separate disks): partitions are named by filesystem ID and path,
    so each distinct file is read once in the cluster. Resumes at the
    byte offset after the last line read (exactly-once capable).
    Lines are emitted without their trailing newline.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from rillet.connectors.files import DirSource
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("1\\n2\\n")
    >>> src = DirSource(d, get_fs_id=lambda _dir: "shared")
    >>> src.list_parts()
    ['shared::a.txt']
    >>> part = src.build_part("eg.inp", "shared::a.txt", None)
    >>> part.next_batch()
    ['1', '2']
    >>> part.close()
    """

    def __init__(
        self,
        dir_path: Path,
        glob_pat: str = "*",
        batch_size: int = 1000,
        get_fs_id: Callable[[Path], str] = _get_path_dev,
    ):
        """Set up the source.

        :arg dir_path: The directory.

        :arg glob_pat: Which files to read (a `Path.glob` pattern).
            Defaults to `"*"`, every file.

        :arg batch_size: Most lines per batch. Defaults to 1000.

        :arg get_fs_id: Given the directory, returns an ID of its
            filesystem that is the same on every worker and every run.
            Defaults to the device number. If all workers see the same
            files, return a constant like `"SHARED"`.
        """
        if not dir_path.exists():
            msg = f"input directory `{dir_path}` does not exist; create it or fix the path"
            raise ValueError(msg)
        if not dir_path.is_dir():
            msg = f"input path `{dir_path}` is not a directory; use `FileSource` for one file"
            raise ValueError(msg)
        self._dir_path = dir_path
        self._glob_pat = glob_pat
        self._batch_size = batch_size
        self._fs_id = _check_fs_id(get_fs_id(dir_path))

    def list_parts(self) -> List[str]:
        """The matching files on this worker, as `"fs_id::relative/path"`.

        :returns: Partition names; empty if the directory is missing.
        """
        if not self._dir_path.exists():
            return []
        return [
            f"{self._fs_id}::{path.relative_to(self._dir_path)}"
            for path in self._dir_path.glob(self._glob_pat)
        ]

    def build_part(
        self, step_id: str, for_part: str, resume_state: Optional[int]
    ) -> _FileSourcePartition:
        """Open one file, at the offset in `resume_state` if given.

        :arg step_id: ID of the input step.

        :arg for_part: One of `list_parts`.

        :arg resume_state: Byte offset to continue at, or `None`.

        :returns: The partition.
        """
        _fs_id, rel_path = for_part.split("::", 1)
        return _FileSourcePartition(
            self._dir_path / rel_path, self._batch_size, resume_state
        )


class FileSource(FixedPartitionedSource[str, int]):
    """Read one file line by line.

    The file is one partition, read by one worker. Workers may see
    different files at the same path (separate disks): the partition is
    named by filesystem ID and path, so each distinct file is read
    once in the cluster. Resumes at the byte offset after the last line
    read. Lines are emitted without their trailing newline.

    >>> import tempfile
    >>> from pathlib import Path
    >>> import rillet.operators as op
    >>> from rillet.connectors.files import FileSource
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import run_main
    >>> path = Path(tempfile.mkdtemp()) / "in.txt"
    >>> _ = path.write_text("hello\\nworld\\n")
    >>> flow = Dataflow("file_source_eg")
    >>> lines = op.input("inp", flow, FileSource(path))
    >>> _ = op.inspect("out", lines)
    >>> run_main(flow)
    file_source_eg.out: 'hello'
    file_source_eg.out: 'world'
    """

    def __init__(
        self,
        path: Union[Path, str],
        batch_size: int = 1000,
        get_fs_id: Callable[[Path], str] = _get_path_dev,
    ):
        """Set up the source.

        :arg path: The file.

        :arg batch_size: Most lines per batch. Defaults to 1000.

        :arg get_fs_id: Given the file's directory, returns an ID
            of its filesystem that is the same on every worker and
            every run. Defaults to the device number. If all workers
            see the same file, return a constant like `"SHARED"`.
        """
        self._path = path if isinstance(path, Path) else Path(path)
        self._batch_size = batch_size
        self._fs_id = _check_fs_id(get_fs_id(self._path.parent))

    def list_parts(self) -> List[str]:
        """The file, as `"fs_id::path"`, if it exists on this worker.

        :returns: Zero or one partition names.
        """
        if not self._path.exists():
            return []
        return [f"{self._fs_id}::{self._path}"]

    def build_part(
        self, step_id: str, for_part: str, resume_state: Optional[int]
    ) -> _FileSourcePartition:
        """Open the file, at the offset in `resume_state` if given.

        :arg step_id: ID of the input step.

        :arg for_part: The partition from `list_parts`.

        :arg resume_state: Byte offset to continue at, or `None`.

        :returns: The partition.
        """
        _fs_id, path = for_part.split("::", 1)
        _check_same_file("reading", str(self._path), path)
        return _FileSourcePartition(self._path, self._batch_size, resume_state)


class _CSVPartition(StatefulSourcePartition[Dict[str, str], int]):
    def __init__(
        self,
        path: Path,
        batch_size: int,
        resume_state: Optional[int],
        fmtparams: Dict[str, Any],
    ):
        self._f = open(path, "rt", newline="")
        reader = DictReader(_readlines(self._f), **fmtparams)
        # Read the header first, so a resume can seek past it.
        _ = reader.fieldnames
        if resume_state is not None:
            self._f.seek(resume_state)
        self._batches = batch(reader, batch_size)

    def next_batch(self) -> List[Dict[str, str]]:
        return next(self._batches)

    def snapshot(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()


class CSVSource(FixedPartitionedSource[Dict[str, str], int]):
    """Read a CSV file one row at a time, each row a dict by column name.

    Partitioning and resuming work like `FileSource`. All values are
    strings.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from rillet.connectors.files import CSVSource
    >>> path = Path(tempfile.mkdtemp()) / "in.csv"
    >>> _ = path.write_text("city,temp\\nOslo,3\\nLima,19\\n")
    >>> src = CSVSource(path)
    >>> part = src.build_part("eg.inp", src.list_parts()[0], None)
    >>> part.next_batch()
    [{'city': 'Oslo', 'temp': '3'}, {'city': 'Lima', 'temp': '19'}]
    >>> part.close()
    """

    def __init__(
        self,
        path: Path,
        batch_size: int = 1000,
        get_fs_id: Callable[[Path], str] = _get_path_dev,
        **fmtparams,
    ):
        """Set up the source.

        :arg path: The CSV file.

        :arg batch_size: Most rows per batch. Defaults to 1000.

        :arg get_fs_id: See `FileSource`.

        :arg **fmtparams: Format options for `csv.DictReader`, like
            `delimiter=";"`.
        """
        self._file_source = FileSource(path, batch_size, get_fs_id)
        self._fmtparams = fmtparams

    def list_parts(self) -> List[str]:
        """The file, as `"fs_id::path"`, if it exists on this worker.

        :returns: Zero or one partition names.
        """
        return self._file_source.list_parts()

    def build_part(self, step_id: str, for_part: str, resume_state: Optional[Any]):
        """Open the file, at the offset in `resume_state` if given.

        :arg step_id: ID of the input step.

        :arg for_part: The partition from `list_parts`.

        :arg resume_state: Byte offset to continue at, or `None`.

        :returns: The partition.
        """
        _fs_id, path = for_part.split("::", 1)
        _check_same_file("reading", str(self._file_source._path), path)
        return _CSVPartition(
            self._file_source._path,
            self._file_source._batch_size,
            resume_state,
            self._fmtparams,
        )


class _FileSinkPartition(StatefulSinkPartition[str, int]):
    def __init__(self, path: Path, resume_state: Optional[int], end: str):
        self._f = open(path, "at")
        # Drop whatever was written after the snapshot we resume from.
        self._f.seek(0 if resume_state is None else resume_state)
        self._f.truncate()
        self._end = end

    def write_batch(self, values: List[str]) -> None:
        for value in values:
            self._f.write(value)
            self._f.write(self._end)
        self._f.flush()
        os.fsync(self._f.fileno())

    def snapshot(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()


class DirSink(FixedPartitionedSink[str, int]):
    """Write `(key, value)` items into a fixed number of files by key.

    Each value (which must be a `str`) is written as a line to the file
    its key is assigned to; format values with a `map` step first.
    Each file is a partition. The directory must hold the same data for
    every worker (one machine or a shared mount). On resume each file
    is truncated back to its last snapshot, so a finished batch run
    has no duplicates; don't tail the files while it runs.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from rillet.connectors.files import DirSink
    >>> d = Path(tempfile.mkdtemp())
    >>> sink = DirSink(d, 2)
    >>> sink.list_parts()
    ['part_0', 'part_1']
    >>> part = sink.build_part("eg.out", "part_1", None)
    >>> part.write_batch(["x"])
    >>> part.close()
    >>> (d / "part_1").read_text()
    'x\\n'
    """

    def __init__(
        self,
        dir_path: Path,
        file_count: int,
        file_namer: Callable[[int, int], str] = lambda i, _n: f"part_{i}",
        assign_file: Callable[[str], int] = lambda k: adler32(k.encode()),
        end: str = "\n",
    ):
        """Set up the sink.

        :arg dir_path: The directory.

        :arg file_count: How many files to write.

        :arg file_namer: Called as `file_namer(index, file_count)`;
            returns a file's name. Defaults to `"part_{index}"`.

        :arg assign_file: Called with each item's key; returns the
            index of its file (taken modulo `file_count`). Must be the
            same on every worker and run. Defaults to `zlib.adler32`.

        :arg end: Written after each value. Defaults to a newline.
        """
        self._dir_path = dir_path
        self._file_count = file_count
        self._file_namer = file_namer
        self._assign_file = assign_file
        self._end = end

    def list_parts(self) -> List[str]:
        """The names of all the files.

        :returns: `file_namer(i, file_count)` for each index.
        """
        return [self._file_namer(i, self._file_count) for i in range(self._file_count)]

    def part_fn(self, item_key: str) -> int:
        """Pick a file for a key, with `assign_file`.

        :arg item_key: The item's key.

        :returns: The file index (before wrapping).
        """
        return self._assign_file(item_key)

    def build_part(
        self, step_id: str, for_part: str, resume_state: Optional[int]
    ) -> _FileSinkPartition:
        """Open one file for appending, truncated to `resume_state`.

        :arg step_id: ID of the output step.

        :arg for_part: A file name from `list_parts`.

        :arg resume_state: Byte offset to truncate to, or `None` to
            start an empty file.

        :returns: The partition.
        """
        return _FileSinkPartition(self._dir_path / for_part, resume_state, self._end)


class FileSink(FixedPartitionedSink[str, int]):
    """Write items as lines to one file.

    Takes `(key, value)` items like every partitioned sink; only the
    values (which must be `str`) are written. One worker writes the
    file, which must be the same for every worker. On resume the file
    is truncated back to the last snapshot, so a finished batch run
    has no duplicates; don't tail the file while it runs.

    >>> import tempfile
    >>> from pathlib import Path
    >>> import rillet.operators as op
    >>> from rillet.connectors.files import FileSink
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> path = Path(tempfile.mkdtemp()) / "out.txt"
    >>> flow = Dataflow("file_sink_eg")
    >>> s = op.input("inp", flow, TestingSource([("k", "a"), ("k", "b")]))
    >>> op.output("out", s, FileSink(path))
    >>> run_main(flow)
    >>> path.read_text()
    'a\\nb\\n'
    """

    def __init__(self, path: Path, end: str = "\n"):
        """Set up the sink.

        :arg path: The file; created if missing.

        :arg end: Written after each value. Defaults to a newline.
        """
        self._path = path
        self._end = end

    def list_parts(self) -> List[str]:
        """One partition, named by the path.

        :returns: `[str(path)]`.
        """
        return [str(self._path)]

    def part_fn(self, item_key: str) -> int:
        """Every key goes to the one file.

        :arg item_key: The item's key.

        :returns: `0`.
        """
        return 0

    def build_part(
        self, step_id: str, for_part: str, resume_state: Optional[int]
    ) -> _FileSinkPartition:
        """Open the file for appending, truncated to `resume_state`.

        :arg step_id: ID of the output step.

        :arg for_part: The partition from `list_parts`.

        :arg resume_state: Byte offset to truncate to, or `None` to
            start an empty file.

        :returns: The partition.
        """
        _check_same_file("writing", str(self._path), for_part)
        return _FileSinkPartition(self._path, resume_state, self._end)
