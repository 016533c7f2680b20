"""stateful_batch / StatefulBatchLogic: call order and retain/discard."""

from datetime import datetime, timedelta, timezone

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.operators import StatefulBatchLogic
from rillet.testing import TestingSink, TestingSource


class _Logged(StatefulBatchLogic):
    """Logs every engine call as `(key, method, ...)`.

    Values are `(key, payload)` so the logic knows its key. Payload
    `"discard"` discards from on_batch; `"notify"` asks for a
    notification 50 ms later.
    """

    def __init__(self, log, resume_state):
        self.log = log
        self.key = None
        self.count = 0
        self.due = None
        log.append(("build", resume_state))

    def on_batch(self, values):
        self.key = values[0][0]
        payloads = [p for _k, p in values]
        self.log.append((self.key, "on_batch", payloads))
        self.count += len(values)
        if "discard" in payloads:
            return [("discarded", self.count)], StatefulBatchLogic.DISCARD
        if "notify" in payloads:
            self.due = datetime.now(timezone.utc) + timedelta(milliseconds=50)
        return [("batch", self.count)], StatefulBatchLogic.RETAIN

    def on_notify(self):
        self.log.append((self.key, "on_notify"))
        self.due = None
        return [("notified", self.count)], StatefulBatchLogic.RETAIN

    def on_eof(self):
        self.log.append((self.key, "on_eof"))
        return [("eof", self.count)], StatefulBatchLogic.RETAIN

    def notify_at(self):
        self.log.append((self.key, "notify_at"))
        return self.due

    def snapshot(self):
        self.log.append((self.key, "snapshot"))
        return self.count


def _flow(inp, builder, batch_size):
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(inp, batch_size=batch_size))
    s = op.key_on("key", s, lambda kv: kv[0])
    s = op.stateful_batch("sb", s, builder)
    out = []
    op.output("out", s, TestingSink(out))
    return flow, out


def test_call_order(entry_point, check_keyed):
    log = []
    inp = [
        ("b", 1),
        ("a", 2),
        ("b", 3),
        ("a", "notify"),
        TestingSource.PAUSE(timedelta(seconds=1)),
        ("a", 5),
        ("b", "discard"),
        ("b", 7),
    ]
    flow, out = _flow(inp, lambda r: _Logged(log, r), batch_size=4)
    entry_point(flow)
    check_keyed(
        out,
        [
            ("a", ("batch", 2)),
            ("b", ("batch", 2)),
            ("a", ("notified", 2)),
            ("a", ("batch", 3)),
            ("b", ("discarded", 4)),
            ("a", ("eof", 3)),
        ],
    )
    if entry_point.ordered:
        assert log == [
            # First batch: one on_batch per key, sorted by key, values
            # in arrival order.
            ("build", None),
            ("a", "on_batch", [2, "notify"]),
            ("build", None),
            ("b", "on_batch", [1, 3]),
            ("a", "notify_at"),
            ("b", "notify_at"),
            # Timer fires during the pause.
            ("a", "on_notify"),
            ("a", "notify_at"),
            # Second batch; "discard" drops b's logic with the rest
            # of b's batch: 7 does not build a new one.
            ("a", "on_batch", [5]),
            ("b", "on_batch", ["discard", 7]),
            ("a", "notify_at"),
            # EOF only reaches retained logics.
            ("a", "on_eof"),
            ("a", "notify_at"),
            ("a", "snapshot"),
        ]
    else:
        per = {}
        for entry in log:
            if entry[0] != "build":
                per.setdefault(entry[0], []).append(entry[1:])
        assert per["a"] == [
            ("on_batch", [2, "notify"]),
            ("notify_at",),
            ("on_notify",),
            ("notify_at",),
            ("on_batch", [5]),
            ("notify_at",),
            ("on_eof",),
            ("notify_at",),
            ("snapshot",),
        ]
        assert per["b"] == [("on_batch", [1, 3]), ("notify_at",), ("on_batch", ["discard", 7])]
        assert log.count(("build", None)) == 2


def test_one_on_batch_per_key_per_source_batch(entry_point, check_keyed):
    class Collect(StatefulBatchLogic):
        def on_batch(self, values):
            return [[v for _k, v in values]], StatefulBatchLogic.RETAIN

        def snapshot(self):
            return None

    inp = [("x", 1), ("y", 2), ("x", 3), ("y", 4), ("x", 5), ("z", 6)]
    flow, out = _flow(inp, lambda _r: Collect(), batch_size=3)
    entry_point(flow)
    if entry_point.ordered:
        assert out == [("x", [1, 3]), ("y", [2]), ("x", [5]), ("y", [4]), ("z", [6])]
    else:
        # Across workers the exchange may deliver several source batches
        # in one activation, so only each key's value order is fixed.
        flat = {}
        for k, vs in out:
            flat.setdefault(k, []).extend(vs)
        assert flat == {"x": [1, 3, 5], "y": [2, 4], "z": [6]}


def test_discard_then_new_item_rebuilds(entry_point, check_keyed):
    builds = []

    class OncePerBatch(StatefulBatchLogic):
        def __init__(self, resume_state):
            builds.append(resume_state)
            self.n = 0

        def on_batch(self, values):
            self.n += len(values)
            return [self.n], StatefulBatchLogic.DISCARD

        def on_eof(self):
            raise AssertionError("discarded logic must not see EOF")

        def snapshot(self):
            raise AssertionError("discarded logic must not be snapshotted")

    inp = [("a", 0), ("a", 0), ("a", 0)]
    flow, out = _flow(inp, OncePerBatch, batch_size=2)
    entry_point(flow)
    if entry_point.ordered:
        assert out == [("a", 2), ("a", 1)]
        assert builds == [None, None]
    else:
        # The exchange may merge the two source batches into one call.
        assert out in ([("a", 2), ("a", 1)], [("a", 3)])
        assert builds == [None] * len(out)


def test_eof_discard_emits_final(entry_point, check_keyed):
    class Sum(StatefulBatchLogic):
        def __init__(self):
            self.total = 0

        def on_batch(self, values):
            self.total += sum(v for _k, v in values)
            return [], StatefulBatchLogic.RETAIN

        def on_eof(self):
            return [self.total], StatefulBatchLogic.DISCARD

        def snapshot(self):
            return self.total

    inp = [("b", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5)]
    flow, out = _flow(inp, lambda _r: Sum(), batch_size=2)
    entry_point(flow)
    check_keyed(out, [("a", 6), ("b", 4), ("c", 5)])


def test_notify_at_in_past_fires_without_new_items(entry_point, check_keyed):
    # A notification time that has already passed fires on the next
    # activation; it keeps firing while the logic keeps asking.
    class Countdown(StatefulBatchLogic):
        def __init__(self):
            self.left = None

        def on_batch(self, values):
            self.left = values[-1][1]
            return [], StatefulBatchLogic.RETAIN

        def on_notify(self):
            self.left -= 1
            if self.left == 0:
                return ["done"], StatefulBatchLogic.DISCARD
            return [self.left], StatefulBatchLogic.RETAIN

        def notify_at(self):
            return datetime(2000, 1, 1, tzinfo=timezone.utc)

        def snapshot(self):
            return self.left

    inp = [("k", 3), TestingSource.PAUSE(timedelta(seconds=1))]
    flow, out = _flow(inp, lambda _r: Countdown(), batch_size=1)
    entry_point(flow)
    check_keyed(out, [("k", 2), ("k", 1), ("k", "done")])


def test_on_notify_not_called_when_notify_at_is_none(entry_point, check_keyed):
    class NeverNotified(StatefulBatchLogic):
        def on_batch(self, values):
            return [len(values)], StatefulBatchLogic.RETAIN

        def on_notify(self):
            raise AssertionError("no notify_at was requested")

        def snapshot(self):
            return None

    inp = [("k", 1), TestingSource.PAUSE(timedelta(milliseconds=200)), ("k", 2)]
    flow, out = _flow(inp, lambda _r: NeverNotified(), batch_size=1)
    entry_point(flow)
    check_keyed(out, [("k", 1), ("k", 1)])


def test_builder_receives_none_without_recovery(entry_point):
    seen = []

    class L(StatefulBatchLogic):
        def on_batch(self, values):
            return [], StatefulBatchLogic.RETAIN

        def snapshot(self):
            return "snap"

    def builder(resume_state):
        seen.append(resume_state)
        return L()

    flow, out = _flow([("a", 1), ("b", 2), ("a", 3)], builder, batch_size=1)
    entry_point(flow)
    assert out == []
    assert seen == [None, None]
