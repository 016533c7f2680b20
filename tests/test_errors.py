"""Failures: user exceptions, bad keys and shapes, build-time errors.

Common tests look for the original exception anywhere in the
`__cause__` chain (Bytewax nests extra wrappers). `rillet_only` tests
pin Rillet's tighter contract: `RilletRuntimeError` names the user's
step, the function and the item, and its direct `__cause__` is the
user's exception.
"""

import pytest
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.errors import RilletRuntimeError
from rillet.inputs import DynamicSource, StatelessSourcePartition
from rillet.operators import StatefulBatchLogic
from rillet.outputs import DynamicSink, StatelessSinkPartition
from rillet.testing import TestingSink, TestingSource

from conftest import chain_text, find_cause, per_key


def _assert_keyed_prefix(entry_point, got, expected):
    """Outputs before a failure after a key exchange: exact with one
    worker; with two, each key's output is a prefix of its expected
    output (items still in flight on the other worker may be lost)."""
    if entry_point.ordered:
        assert got == expected
    else:
        exp = per_key(expected)
        for k, vs in per_key(got).items():
            assert vs == exp[k][: len(vs)]


def inverse(x):
    return 10 // x


def _map_flow(inp, mapper):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp))
    s = op.map("inv", s, mapper)
    out = []
    op.output("out", s, TestingSink(out))
    return flow, out


def test_user_exception_names_step_and_keeps_cause(entry_point):
    flow, out = _map_flow([1, 2, 0, 5], inverse)
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.inv" in str(info.value)
    cause = find_cause(info.value, ZeroDivisionError)
    assert cause is not None
    # The original traceback, down to the user's function, is kept.
    tb = cause.__traceback__
    names = []
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert names[-1] == "inverse"
    # Items finished before the failing one reached the sink.
    assert out == [10, 5]


def test_runtime_error_alias_is_runtime_error():
    assert issubclass(RilletRuntimeError, RuntimeError)


@pytest.mark.rillet_only
def test_user_exception_is_direct_cause(entry_point):
    flow, out = _map_flow([1, "boom-item", 5], inverse)
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    msg = str(info.value)
    assert "test_df.inv" in msg
    assert "inverse" in msg
    assert "'boom-item'" in msg
    assert isinstance(info.value.__cause__, TypeError)
    assert out == [10]


@pytest.mark.rillet_only
def test_zero_division_is_direct_cause(entry_point):
    flow, out = _map_flow([5, 0], inverse)
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert type(info.value.__cause__) is ZeroDivisionError
    assert out == [2]


class _FailingPartition(StatelessSourcePartition):
    def __init__(self, worker_index):
        self.n = 0
        self.worker_index = worker_index

    def next_batch(self):
        if self.worker_index != 0:
            raise StopIteration()
        self.n += 1
        if self.n == 3:
            raise KeyError("source broke")
        return [self.n]


class _FailingSource(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        return _FailingPartition(worker_index)


def test_source_exception(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _FailingSource())
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.inp" in str(info.value)
    assert find_cause(info.value, KeyError) is not None
    assert out == [1, 2]


class _BuildFails(DynamicSource):
    def build(self, step_id, worker_index, worker_count):
        raise OSError("cannot open")


def test_source_build_exception(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _BuildFails())
    op.output("out", s, TestingSink([]))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert find_cause(info.value, OSError) is not None
    assert "test_df.inp" in chain_text(info.value)


@pytest.mark.rillet_only
def test_source_build_exception_top_message_names_step(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, _BuildFails())
    op.output("out", s, TestingSink([]))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.inp" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)


class _PickySinkPartition(StatelessSinkPartition):
    def __init__(self, out):
        self.out = out

    def write_batch(self, items):
        for x in items:
            if x == 3:
                raise ValueError("sink refused 3")
            self.out.append(x)


class _PickySink(DynamicSink):
    def __init__(self, out):
        self.out = out

    def build(self, step_id, worker_index, worker_count):
        return _PickySinkPartition(self.out)


def _sink_flow():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1, 2, 3, 4]))
    out = []
    op.output("out", s, _PickySink(out))
    return flow, out


def test_sink_exception(entry_point):
    flow, out = _sink_flow()
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "sink refused 3" in chain_text(info.value)
    assert find_cause(info.value, ValueError) is not None
    assert out == [1, 2]


@pytest.mark.rillet_only
def test_sink_exception_names_step(entry_point):
    flow, _out = _sink_flow()
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.out" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


class _DividingLogic(StatefulBatchLogic):
    def on_batch(self, values):
        return [10 // v for v in values], StatefulBatchLogic.RETAIN

    def snapshot(self):
        return None


def test_stateful_logic_exception(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1), ("a", 2), ("a", 0), ("a", 5)]))
    s = op.stateful_batch("sb", s, lambda _r: _DividingLogic())
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.sb" in str(info.value)
    assert find_cause(info.value, ZeroDivisionError) is not None
    _assert_keyed_prefix(entry_point, out, [("a", 10), ("a", 5)])


def test_fold_final_folder_exception(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1), ("a", "x")]))
    s = op.fold_final("fold", s, int, lambda acc, v: acc + v)
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.fold" in str(info.value)
    assert find_cause(info.value, TypeError) is not None
    assert out == []


def test_inspector_exception(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1, 2, 3]))
    s = op.inspect("insp", s, lambda _sid, x: 1 / (x - 2))
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.insp" in str(info.value)
    assert find_cause(info.value, ZeroDivisionError) is not None
    assert out == [1]


def test_non_str_key_into_stateful_step(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1), ("b", 2), (3, 4), ("c", 5)]))
    s = op.stateful_map("sm", s, lambda st, v: (v, v))
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(TypeError) as info:
        entry_point(flow)
    msg = str(info.value)
    assert "test_df.sm" in msg
    assert "`str`" in msg
    _assert_keyed_prefix(entry_point, out, [("a", 1), ("b", 2)])


def test_non_tuple_into_stateful_step(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1), "xyz"]))
    s = op.stateful_map("sm", s, lambda st, v: (v, v))
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(TypeError) as info:
        entry_point(flow)
    msg = str(info.value)
    assert "test_df.sm" in msg
    assert "2-tuple" in msg
    _assert_keyed_prefix(entry_point, out, [("a", 1)])


def test_key_on_non_str_key(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["ok", 7]))
    s = op.key_on("k", s, lambda x: x)
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(Exception) as info:
        entry_point(flow)
    cause = find_cause(info.value, TypeError)
    assert cause is not None
    assert "test_df.k" in str(cause)
    assert "must be a `str`" in str(cause)
    assert out == [("ok", "ok")]


def test_stateful_map_mapper_must_return_2_tuple(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([("a", 1)]))
    s = op.stateful_map("sm", s, lambda st, v: v)
    op.output("out", s, TestingSink([]))
    with pytest.raises(Exception) as info:
        entry_point(flow)
    cause = find_cause(info.value, TypeError)
    assert cause is not None
    assert "test_df.sm" in str(cause)
    assert "2-tuple" in str(cause)


def test_filter_predicate_must_return_bool(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    s = op.filter("f", s, lambda x: x)
    op.output("out", s, TestingSink([]))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    cause = find_cause(info.value, TypeError)
    assert "test_df.f" in str(cause)
    assert "must be a `bool`" in str(cause)


def test_flatten_requires_iterables(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([[1], [2], 3]))
    s = op.flatten("fl", s)
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    cause = find_cause(info.value, TypeError)
    assert "test_df.fl" in str(cause)
    assert "iterable" in str(cause)
    assert out == [1, 2]


def test_flat_map_mapper_must_return_iterable(entry_point):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1, 2, 3]))
    s = op.flat_map("fm", s, lambda x: x if x == 3 else [x])
    out = []
    op.output("out", s, TestingSink(out))
    with pytest.raises(RilletRuntimeError) as info:
        entry_point(flow)
    assert "test_df.fm" in str(info.value)
    assert find_cause(info.value, TypeError) is not None
    assert out == [1, 2]


def test_duplicate_step_id_at_build_time():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    op.map("double", s, lambda x: x * 2)
    with pytest.raises(ValueError, match="'test_df.double' already exists"):
        op.map("double", s, lambda x: x * 3)


def test_same_step_name_in_different_scopes_is_fine(entry_point):
    # The inner steps of `key_on` are called "map"; a user step "map"
    # beside it does not clash.
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["a"]))
    s = op.key_on("k", s, lambda x: x)
    s = op.map("map", s, lambda kv: kv[1] * 2)
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == ["aa"]


def test_step_id_rules():
    with pytest.raises(ValueError):
        Dataflow("has.period")
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    with pytest.raises(ValueError):
        op.map("a.b", s, lambda x: x)
    with pytest.raises(TypeError):
        op.map(7, s, lambda x: x)


def test_operator_requires_stream_argument():
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource([1]))
    b = op.branch("br", s, lambda x: True)
    with pytest.raises(TypeError, match="must be a `Stream`"):
        op.map("m", b, lambda x: x)
