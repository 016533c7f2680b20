"""Stateless operators, composed from the core operators.

The runtime runs most of these natively (see `engine/DESIGN.md`), but
their composition here is the reference behaviour and the fallback,
so error messages and laziness matter.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from typing import Any, Callable, Dict, Generic, Iterable, List, Optional, Tuple

from rillet.dataflow import Stream, f_repr, operator
from rillet.operators._common import (
    DK,
    DV,
    EMPTY,
    KeyedStream,
    V,
    W,
    X,
    Y,
    _get_system_utc,
    public,
)
from rillet.operators._core import flat_map_batch, inspect_debug, output
from rillet.outputs import DynamicSink, StatelessSinkPartition

__all__ = [
    "TTLCache",
    "enrich_cached",
    "filter",
    "filter_map",
    "filter_map_value",
    "filter_value",
    "flat_map",
    "flat_map_value",
    "flatten",
    "inspect",
    "key_on",
    "key_rm",
    "map",
    "map_value",
    "raises",
]


def _split_key_value(step_id: str, k_v: Any) -> Tuple[Any, Any]:
    try:
        k, v = k_v
    except TypeError as ex:
        msg = (
            f"step {step_id!r} needs `(key, value)` 2-tuples from upstream "
            f"to route by key; got a {type(k_v)!r}; add a `key_on` or "
            "`map` step before it that makes `(key, value)` pairs"
        )
        raise TypeError(msg) from ex
    return k, v


def _check_bool(step_id: str, predicate: Callable, keep: Any) -> None:
    if not isinstance(keep, bool):
        msg = (
            f"`predicate` {f_repr(predicate)} in step {step_id!r} must "
            f"return a `bool`; got a {type(keep)!r}; wrap the result in "
            "`bool(...)` if a truthy value is meant"
        )
        raise TypeError(msg)


@operator
@public
def flat_map(
    step_id: str,
    up: Stream[X],
    mapper: Callable[[X], Iterable[Y]],
) -> Stream[Y]:
    """Transform each item into any number of items.

    Like `map` followed by `flatten`. Typical uses: splitting text
    into words, unpacking nested records.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("flat_map_eg")
    >>> lines = op.input("lines", flow, TestingSource(["to be", "or not"]))
    >>> words = op.flat_map("split", lines, str.split)
    >>> _ = op.inspect("out", words)
    >>> run_main(flow)
    flat_map_eg.out: 'to'
    flat_map_eg.out: 'be'
    flat_map_eg.out: 'or'
    flat_map_eg.out: 'not'

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg mapper: Called on each item; returns an iterable of the items
        to emit.

    :returns: A stream of every item `mapper` returns.
    """

    def for_batch(xs: List[X]) -> Iterable[Y]:
        return chain.from_iterable(mapper(x) for x in xs)

    return flat_map_batch("flat_map_batch", up, for_batch)


@operator
@public
def flat_map_value(
    step_id: str,
    up: KeyedStream[V],
    mapper: Callable[[V], Iterable[W]],
) -> KeyedStream[W]:
    """Transform each value of a keyed stream into any number of values.

    The key is kept on each resulting value.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("flat_map_value_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", "x y"), ("b", "z")]))
    >>> s = op.flat_map_value("split", s, str.split)
    >>> _ = op.inspect("out", s)
    >>> run_main(flow)
    flat_map_value_eg.out: ('a', 'x')
    flat_map_value_eg.out: ('a', 'y')
    flat_map_value_eg.out: ('b', 'z')

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg mapper: Called on each value; returns an iterable of the
        values to emit.

    :returns: A keyed stream of every value `mapper` returns.
    """

    def for_item(k_v: Tuple[str, V]) -> Iterable[Tuple[str, W]]:
        k, v = _split_key_value(step_id, k_v)
        ws = mapper(v)
        return ((k, w) for w in ws)

    return flat_map("flat_map", up, for_item)


@operator
@public
def flatten(
    step_id: str,
    up: Stream[Iterable[X]],
) -> Stream[X]:
    """Emit the elements of each iterable item, one by one.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("flatten_eg")
    >>> s = op.input("inp", flow, TestingSource([[1, 2], [], [3]]))
    >>> _ = op.inspect("out", op.flatten("flatten", s))
    >>> run_main(flow)
    flatten_eg.out: 1
    flatten_eg.out: 2
    flatten_eg.out: 3

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream of iterables.

    :returns: A stream of the elements.
    """

    def for_item(x: Iterable[X]) -> Iterable[X]:
        if not isinstance(x, Iterable):
            msg = (
                f"step {step_id!r} needs iterable items from upstream; got "
                f"a {type(x)!r}; wrap single items in a list first, or use "
                "`map` instead"
            )
            raise TypeError(msg)
        return x

    return flat_map("flat_map", up, for_item)


@operator
@public
def filter(  # noqa: A001
    step_id: str, up: Stream[X], predicate: Callable[[X], bool]
) -> Stream[X]:
    """Keep only the items a predicate accepts.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("filter_eg")
    >>> s = op.input("inp", flow, TestingSource(range(5)))
    >>> odds = op.filter("odds", s, lambda x: x % 2 == 1)
    >>> _ = op.inspect("out", odds)
    >>> run_main(flow)
    filter_eg.out: 1
    filter_eg.out: 3

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg predicate: Called on each item; must return a `bool`. Items
        for which it returns `True` are kept.

    :returns: A stream of the kept items.
    """

    def for_item(x: X) -> Iterable[X]:
        keep = predicate(x)
        _check_bool(step_id, predicate, keep)
        return (x,) if keep else EMPTY

    return flat_map("flat_map", up, for_item)


@operator
@public
def filter_value(
    step_id: str, up: KeyedStream[V], predicate: Callable[[V], bool]
) -> KeyedStream[V]:
    """Keep only the `(key, value)` items whose value a predicate accepts.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("filter_value_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("b", 2)]))
    >>> s = op.filter_value("big", s, lambda v: v > 1)
    >>> _ = op.inspect("out", s)
    >>> run_main(flow)
    filter_value_eg.out: ('b', 2)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg predicate: Called on each value; must return a `bool`. Items
        for which it returns `True` are kept.

    :returns: A keyed stream of the kept items.
    """

    def for_value(v: V) -> Iterable[V]:
        keep = predicate(v)
        _check_bool(step_id, predicate, keep)
        return (v,) if keep else EMPTY

    return flat_map_value("filter", up, for_value)


@operator
@public
def filter_map(
    step_id: str, up: Stream[X], mapper: Callable[[X], Optional[Y]]
) -> Stream[Y]:
    """Transform each item, dropping the results that are `None`.

    Like `map` followed by a `filter` that removes `None`; handy for
    parsing where bad input should be skipped.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("filter_map_eg")
    >>> s = op.input("inp", flow, TestingSource(["1", "x", "3"]))
    >>> def parse(text):
    ...     return int(text) if text.isdigit() else None
    >>> _ = op.inspect("out", op.filter_map("parse", s, parse))
    >>> run_main(flow)
    filter_map_eg.out: 1
    filter_map_eg.out: 3

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg mapper: Called on each item; its result is emitted unless it
        is `None`.

    :returns: A stream of the non-`None` results.
    """

    def for_item(x: X) -> Iterable[Y]:
        y = mapper(x)
        return EMPTY if y is None else (y,)

    return flat_map("flat_map", up, for_item)


@operator
@public
def filter_map_value(
    step_id: str,
    up: KeyedStream[V],
    mapper: Callable[[V], Optional[W]],
) -> KeyedStream[W]:
    """Transform each value, dropping items whose result is `None`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("filter_map_value_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", "1"), ("b", "x")]))
    >>> def parse(text):
    ...     return int(text) if text.isdigit() else None
    >>> _ = op.inspect("out", op.filter_map_value("parse", s, parse))
    >>> run_main(flow)
    filter_map_value_eg.out: ('a', 1)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg mapper: Called on each value; its result is emitted with the
        key unless it is `None`.

    :returns: A keyed stream of the non-`None` results.
    """

    def for_value(v: V) -> Iterable[W]:
        w = mapper(v)
        return EMPTY if w is None else (w,)

    return flat_map_value("flat_map_value", up, for_value)


def _default_inspector(step_id: str, item: Any) -> None:
    print(f"{step_id}: {item!r}", flush=True)


@operator
@public
def inspect(
    step_id: str,
    up: Stream[X],
    inspector: Callable[[str, X], None] = _default_inspector,
) -> Stream[X]:
    """Look at each item, for debugging.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("inspect_eg")
    >>> s = op.input("inp", flow, TestingSource(["a", "b"]))
    >>> _ = op.inspect("peek", s)
    >>> run_main(flow)
    inspect_eg.peek: 'a'
    inspect_eg.peek: 'b'

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg inspector: Called as `inspector(step_id, item)` for each
        item, with the full step ID. Defaults to printing
        `"{step_id}: {item!r}"`.

    :returns: The upstream, unchanged.
    """

    def for_item(_fq_step_id: str, item: X, _epoch: int, _worker_idx: int) -> None:
        inspector(step_id, item)

    return inspect_debug("inspect_debug", up, for_item)


@operator
@public
def key_on(step_id: str, up: Stream[X], key: Callable[[X], str]) -> KeyedStream[X]:
    """Pair each item with a `str` key, making a keyed stream.

    Keyed operators (`stateful_map`, `fold_final`, `join`, ...) need
    `(key, value)` items; this makes them.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("key_on_eg")
    >>> s = op.input("inp", flow, TestingSource([{"user": "ann", "n": 1}]))
    >>> _ = op.inspect("out", op.key_on("by_user", s, lambda e: e["user"]))
    >>> run_main(flow)
    key_on_eg.out: ('ann', {'user': 'ann', 'n': 1})

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg key: Called on each item; must return a `str`.

    :returns: A keyed stream of `(key(item), item)`.
    """

    def for_item(x: X) -> Tuple[str, X]:
        k = key(x)
        if not isinstance(k, str):
            msg = (
                f"`key` {f_repr(key)} in step {step_id!r} must return a "
                f"`str`; got a {type(k)!r}; convert the key with `str(...)` "
                "or pick a string field"
            )
            raise TypeError(msg)
        return (k, x)

    return map("map", up, for_item)


@operator
@public
def key_rm(step_id: str, up: KeyedStream[X]) -> Stream[X]:
    """Drop the keys of a keyed stream, keeping just the values.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("key_rm_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("b", 2)]))
    >>> _ = op.inspect("out", op.key_rm("unkey", s))
    >>> run_main(flow)
    key_rm_eg.out: 1
    key_rm_eg.out: 2

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :returns: A stream of the values.
    """

    def for_item(k_v: Tuple[str, X]) -> X:
        _k, v = k_v
        return v

    return map("map", up, for_item)


@operator
@public
def map(  # noqa: A001
    step_id: str,
    up: Stream[X],
    mapper: Callable[[X], Y],
) -> Stream[Y]:
    """Transform each item into exactly one new item.

    Typical uses: parsing and serialising, picking fields.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("map_eg")
    >>> s = op.input("inp", flow, TestingSource([1, 2, 3]))
    >>> _ = op.inspect("out", op.map("square", s, lambda x: x * x))
    >>> run_main(flow)
    map_eg.out: 1
    map_eg.out: 4
    map_eg.out: 9

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg mapper: Called on each item; returns the item to emit.

    :returns: A stream of the results.
    """

    def for_batch(xs: List[X]) -> Iterable[Y]:
        return (mapper(x) for x in xs)

    return flat_map_batch("flat_map_batch", up, for_batch)


@operator
@public
def map_value(
    step_id: str, up: KeyedStream[V], mapper: Callable[[V], W]
) -> KeyedStream[W]:
    """Transform each value of a keyed stream, keeping its key.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("map_value_eg")
    >>> s = op.input("inp", flow, TestingSource([("a", 1), ("b", 2)]))
    >>> _ = op.inspect("out", op.map_value("double", s, lambda v: v * 2))
    >>> run_main(flow)
    map_value_eg.out: ('a', 2)
    map_value_eg.out: ('b', 4)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Keyed stream.

    :arg mapper: Called on each value; returns the new value.

    :returns: A keyed stream of `(key, mapper(value))`.
    """

    def for_item(k_v: Tuple[str, V]) -> Tuple[str, W]:
        k, v = k_v
        return (k, mapper(v))

    return map("map", up, for_item)


@dataclass
class _RaisingPartition(StatelessSinkPartition[Any]):
    step_id: str

    def write_batch(self, items: List[Any]) -> None:
        for item in items:
            msg = (
                f"`raises` step {self.step_id!r} got an item: {item!r}; this "
                "step marks a stream that must stay empty"
            )
            raise RuntimeError(msg)


@dataclass
class _RaisingSink(DynamicSink[Any]):
    step_id: str

    def build(
        self, _step_id: str, worker_index: int, worker_count: int
    ) -> _RaisingPartition:
        return _RaisingPartition(self.step_id)


@operator
@public
def raises(
    step_id: str,
    up: Stream[Any],
) -> None:
    """Fail the dataflow if any item reaches this step.

    Use it to assert that a stream (say, the rejects of a `branch`)
    stays empty.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("raises_eg")
    >>> s = op.input("inp", flow, TestingSource([1, -1]))
    >>> checked = op.branch("check", s, lambda x: x >= 0)
    >>> op.raises("no_negatives", checked.falses)
    >>> try:
    ...     run_main(flow)
    ... except RuntimeError:
    ...     print("failed as expected")
    failed as expected

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: A stream that should have no items; the first item raises
        a `RuntimeError`.
    """
    return output("output", up, _RaisingSink(step_id))


@public
@dataclass
class TTLCache(Generic[DK, DV]):
    """A cache whose entries expire after a time-to-live.

    >>> from datetime import datetime, timedelta, timezone
    >>> from rillet.operators import TTLCache
    >>> from rillet.testing import TimeTestingGetter
    >>> clock = TimeTestingGetter(datetime(2024, 1, 1, tzinfo=timezone.utc))
    >>> calls = []
    >>> def lookup(k):
    ...     calls.append(k)
    ...     return k.upper()
    >>> cache = TTLCache(lookup, clock.get, timedelta(seconds=10))
    >>> cache.get("a"), cache.get("a"), calls
    ('A', 'A', ['a'])
    >>> clock.advance(timedelta(seconds=11))
    >>> cache.get("a"), calls
    ('A', ['a', 'a'])
    """

    v_getter: Callable[[DK], DV]
    now_getter: Callable[[], datetime]
    ttl: timedelta
    _cache: Dict[DK, Tuple[datetime, DV]] = field(default_factory=dict)

    def get(self, k: DK) -> DV:
        """Return the value for `k`, fetching it if missing or expired.

        An entry is expired when it is older than `ttl`.

        :arg k: Key.

        :returns: The value.
        """
        now = self.now_getter()
        entry = self._cache.get(k)
        if entry is not None:
            fetched_at, v = entry
            if not now - fetched_at > self.ttl:
                return v
        v = self.v_getter(k)
        self._cache[k] = (now, v)
        return v

    def remove(self, k: DK) -> None:
        """Forget the cached value for `k`.

        :arg k: Key.

        :raises KeyError: If `k` is not cached.
        """
        del self._cache[k]


@operator
@public
def enrich_cached(
    step_id: str,
    up: Stream[X],
    getter: Callable[[DK], DV],
    mapper: Callable[[TTLCache[DK, DV], X], Y],
    ttl: timedelta = timedelta.max,
    _now_getter: Callable[[], datetime] = _get_system_utc,
) -> Stream[Y]:
    """Transform items with the help of a cached lookup.

    For joining items with data from an outside service that is
    fetched on demand. Each worker keeps its own cache, with no size
    limit; `getter` fills it on a miss, and entries older than `ttl`
    are fetched again. The current time is read once per batch. The
    cache is not part of recovery, so results can change across
    resumes if the looked-up data changes. If the other side pushes
    updates, make it a second `input` and use `join` instead.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> prices = {"apple": 3, "pear": 4}
    >>> flow = Dataflow("enrich_cached_eg")
    >>> s = op.input("inp", flow, TestingSource(["apple", "pear", "apple"]))
    >>> def add_price(cache, fruit):
    ...     return (fruit, cache.get(fruit))
    >>> s = op.enrich_cached("price", s, prices.get, add_price)
    >>> _ = op.inspect("out", s)
    >>> run_main(flow)
    enrich_cached_eg.out: ('apple', 3)
    enrich_cached_eg.out: ('pear', 4)
    enrich_cached_eg.out: ('apple', 3)

    :arg step_id: Step ID, unique among its sibling steps.

    :arg up: Stream.

    :arg getter: Fetches the value for a key on a cache miss.

    :arg mapper: Called as `mapper(cache, item)` for each item; its
        result is emitted.

    :arg ttl: Fetch values again once they are older than this.
        Defaults to never.

    :returns: A stream of `mapper`'s results.
    """
    batch_now = _now_getter()

    def now_for_batch() -> datetime:
        return batch_now

    cache = TTLCache(getter, now_for_batch, ttl)

    def for_batch(xs: Iterable[X]) -> Iterable[Y]:
        nonlocal batch_now
        batch_now = _now_getter()
        for x in xs:
            yield mapper(cache, x)

    return flat_map_batch("flat_map_batch", up, for_batch)
