"""Exercise the Python composition of every composite operator.

Composite operators (`map`, `stateful_map`, `join`, ...) are built from
core steps whose functions close over the composite's shims. Calling
those functions directly checks what the composition computes, with
no runtime involved:

- a `flat_map_batch` step's `mapper` is called on a batch of items;
- a `stateful_batch` step's `builder` is called for each key, and the
  resulting logic is taken through its protocol: `on_batch` for each
  of the key's batches, then `on_eof`, recording every return value
  plus `notify_at` and `snapshot`;
- an `inspect_debug` step's `inspector` and an `output` step's sink
  are called on the items.

Only `rillet` is imported, so with `peer_alias.install()` the same
cases run on Bytewax 0.21.1; `test_composite_parity.py` compares the
two. `results()` returns `{case: repr(outcome)}`.
"""

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.operators import StatefulLogic
from rillet.testing import TestingSource, TimeTestingGetter

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _core_steps(step) -> List[Any]:
    """Core steps under `step`, depth first, in definition order."""
    if not step.substeps:
        return [step]
    found = []
    for sub in step.substeps:
        found += _core_steps(sub)
    return found


def _scrub(value: Any) -> Any:
    """Make datetimes comparable across runs: relative to T0, or "now"
    for ones taken from the system clock (by `collect`)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return ("time", "naive")
        offset = (value - T0).total_seconds()
        return ("time", offset if abs(offset) < 86400 else "system clock")
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v) for v in value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, _scrub(dataclasses.asdict(value)))
    return value


def _drive_logic(builder: Callable, batches: List[List[Any]]) -> List[Any]:
    """Take one key's logic through the StatefulBatchLogic protocol."""
    log: List[Any] = []
    logic = builder(None)
    log.append(("notify_at", _scrub(logic.notify_at())))
    for values in batches:
        if logic is None:
            logic = builder(None)
            log.append(("rebuilt",))
        ws, discard = logic.on_batch(values)
        log.append(("on_batch", _scrub(list(ws)), discard))
        if discard:
            logic = None
            continue
        log.append(("notify_at", _scrub(logic.notify_at())))
        log.append(("snapshot", _scrub(logic.snapshot())))
    if logic is not None:
        ws, discard = logic.on_eof()
        log.append(("on_eof", _scrub(list(ws)), discard))
    return log


def _apply(steps: List[Any], batches: List[List[Any]]) -> List[Any]:
    """Apply a linear chain of core steps to batches of items."""
    log: List[Any] = []
    for step in steps:
        kind = type(step).__name__
        if kind == "flat_map_batch":
            batches = [list(step.mapper(list(batch))) for batch in batches]
            log.append((step.step_id, _scrub(batches)))
        elif kind == "stateful_batch":
            per_key: Dict[str, List[List[Any]]] = {}
            for batch in batches:
                grouped: Dict[str, List[Any]] = {}
                for k, v in batch:
                    grouped.setdefault(k, []).append(v)
                for k in sorted(grouped):
                    per_key.setdefault(k, []).append(grouped[k])
            for k in sorted(per_key):
                log.append((step.step_id, k, _drive_logic(step.builder, per_key[k])))
        elif kind == "inspect_debug":
            for batch in batches:
                for item in batch:
                    step.inspector(step.step_id, item, 1, 0)
        elif kind == "output":
            part = step.sink.build(step.step_id, 0, 1)
            for batch in batches:
                part.write_batch(batch)
        else:
            raise AssertionError(f"no handling for core step {kind}")
    return log


def _run(build: Callable[[Any], Any], batches: List[List[Any]]) -> str:
    """Build `build(upstream)` in a fresh flow and apply it to batches."""
    flow = Dataflow("case")
    up = op.input("inp", flow, TestingSource([]))
    try:
        build(up)
        steps = _core_steps(flow.substeps[1])
        return repr(("ok", _apply(steps, batches)))
    except Exception as ex:  # noqa: BLE001 - the outcome is compared
        return repr(("error", type(ex).__name__))


class _UntilTwo(StatefulLogic):
    """Emits a running list, discards itself after two items."""

    def __init__(self, seen):
        self.seen = seen

    def on_item(self, value):
        self.seen = self.seen + [value]
        if len(self.seen) >= 2:
            return [tuple(self.seen)], StatefulLogic.DISCARD
        return [], StatefulLogic.RETAIN

    def on_eof(self):
        return [("eof", tuple(self.seen))], StatefulLogic.RETAIN

    def notify_at(self):
        return T0 + timedelta(seconds=len(self.seen))

    def snapshot(self):
        return list(self.seen)


def _stateless_cases() -> Dict[str, str]:
    nums = [[1, 2, 3], [4], [5, 6]]
    keyed = [[("a", 1), ("b", 2)], [("a", 3)]]
    seen: List[Any] = []
    clock = TimeTestingGetter(T0)
    cases = {
        "map": _run(lambda up: op.map("s", up, lambda x: x * 10), nums),
        "map_value": _run(lambda up: op.map_value("s", up, lambda v: -v), keyed),
        "map_value_not_pair": _run(lambda up: op.map_value("s", up, str), [[1]]),
        "filter": _run(lambda up: op.filter("s", up, lambda x: x % 2 == 0), nums),
        "filter_not_bool": _run(lambda up: op.filter("s", up, lambda x: x), nums),
        "filter_value": _run(lambda up: op.filter_value("s", up, lambda v: v > 1), keyed),
        "filter_value_not_bool": _run(lambda up: op.filter_value("s", up, lambda v: v), keyed),
        "filter_map": _run(
            lambda up: op.filter_map("s", up, lambda x: x if x % 3 else None), nums
        ),
        "filter_map_falsy_kept": _run(lambda up: op.filter_map("s", up, lambda x: 0), nums),
        "filter_map_value": _run(
            lambda up: op.filter_map_value("s", up, lambda v: None if v == 1 else v), keyed
        ),
        "flat_map": _run(lambda up: op.flat_map("s", up, lambda x: range(x % 3)), nums),
        "flat_map_value": _run(lambda up: op.flat_map_value("s", up, lambda v: [v, v]), keyed),
        "flat_map_value_not_pair": _run(lambda up: op.flat_map_value("s", up, list), [[7]]),
        "flatten": _run(lambda up: op.flatten("s", up), [[[1, 2], (3,), "ab"], [[]]]),
        "flatten_not_iterable": _run(lambda up: op.flatten("s", up), [[1]]),
        "key_on": _run(lambda up: op.key_on("s", up, lambda x: str(x % 2)), nums),
        "key_on_not_str": _run(lambda up: op.key_on("s", up, lambda x: x), nums),
        "key_rm": _run(lambda up: op.key_rm("s", up), keyed),
        "inspect": _run(
            lambda up: op.inspect("s", up, lambda sid, x: seen.append((sid, x))), nums
        ),
        "raises": _run(lambda up: op.raises("s", up), [[1]]),
        "raises_empty": _run(lambda up: op.raises("s", up), [[]]),
        "enrich_cached": _run(
            lambda up: op.enrich_cached(
                "s",
                up,
                lambda k: (k, clock.get()),
                lambda cache, x: cache.get(x % 2),
                ttl=timedelta(seconds=5),
                _now_getter=clock.get,
            ),
            nums,
        ),
    }
    cases["inspect_calls"] = repr(seen)
    return cases


def _stateful_cases() -> Dict[str, str]:
    keyed = [[("a", 1), ("b", 5), ("a", 2)], [("a", 3), ("b", 1)], [("a", 4)]]

    def counter(state, v):
        state = (state or 0) + v
        return (None if state > 5 else state), state

    cases = {
        "stateful_map": _run(lambda up: op.stateful_map("s", up, counter), keyed),
        "stateful_map_bad_return": _run(
            lambda up: op.stateful_map("s", up, lambda s, v: v), keyed
        ),
        "stateful_flat_map": _run(
            lambda up: op.stateful_flat_map(
                "s", up, lambda s, v: ((s or 0) + 1, [v] * ((s or 0) + 1))
            ),
            keyed,
        ),
        "stateful_flat_map_bad_return": _run(
            lambda up: op.stateful_flat_map("s", up, lambda s, v: None), keyed
        ),
        "stateful": _run(
            lambda up: op.stateful("s", up, lambda st: _UntilTwo(st or [])), keyed
        ),
        "fold_final": _run(
            lambda up: op.fold_final("s", up, list, lambda acc, v: acc + [v]), keyed
        ),
        "reduce_final": _run(lambda up: op.reduce_final("s", up, lambda a, b: a * 10 + b), keyed),
        "count_final": _run(
            lambda up: op.count_final("s", up, lambda x: "even" if x % 2 == 0 else "odd"),
            [[1, 2, 3], [4, 5]],
        ),
        "max_final": _run(lambda up: op.max_final("s", up), keyed),
        "min_final_by": _run(lambda up: op.min_final("s", up, by=lambda v: -v), keyed),
        "collect_size": _run(lambda up: op.collect("s", up, timedelta(hours=1), 2), keyed),
    }
    return cases


def _join_cases() -> Dict[str, str]:
    """`join` is not linear: label each side, merge, then drive."""
    out: Dict[str, str] = {}
    sides_batches = [
        [[("a", "l1"), ("b", "l2")], [("a", "l3")]],
        [[("a", "r1")], [("a", "r2"), ("c", "r3")]],
    ]
    for insert_mode in ("first", "last", "product"):
        for emit_mode in ("complete", "final", "running"):
            try:
                out[f"join_{insert_mode}_{emit_mode}"] = _join_case(
                    sides_batches, insert_mode, emit_mode
                )
            except Exception as ex:  # noqa: BLE001 - the outcome is compared
                out[f"join_{insert_mode}_{emit_mode}"] = repr(("error", type(ex).__name__))
    try:
        flow = Dataflow("case")
        s = op.input("inp", flow, TestingSource([]))
        op.join("j", s, s, insert_mode="bogus")
        out["join_bad_mode"] = "no error"
    except Exception as ex:  # noqa: BLE001
        out["join_bad_mode"] = type(ex).__name__
    return out


def _join_case(sides_batches, insert_mode: str, emit_mode: str) -> str:
    flow = Dataflow("case")
    sides = [
        op.input(f"side{i}", flow, TestingSource([])) for i in range(len(sides_batches))
    ]
    op.join("j", *sides, insert_mode=insert_mode, emit_mode=emit_mode)
    join_step = flow.substeps[-1]
    cores = _core_steps(join_step)
    labels = [s for s in cores if type(s).__name__ == "flat_map_batch"]
    (stateful,) = [s for s in cores if type(s).__name__ == "stateful_batch"]
    merged: List[List[Any]] = []
    for label, batches in zip(labels, sides_batches):
        merged += [list(label.mapper(batch)) for batch in batches]
    # Interleave deterministically: all of side 0, then side 1.
    return repr(_apply([stateful], merged))


def results() -> Dict[str, str]:
    """Every case's outcome, as text."""
    out: Dict[str, str] = {}
    out.update(_stateless_cases())
    out.update(_stateful_cases())
    out.update(_join_cases())
    return out
