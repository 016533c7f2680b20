"""enrich_cached and TTLCache."""

from datetime import datetime, timedelta, timezone

import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.operators import TTLCache
from rillet.testing import TestingSink, TestingSource, TimeTestingGetter

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _counting_getter(calls):
    def getter(key):
        calls.append(key)
        return f"{key}#{calls.count(key)}"

    return getter


def test_ttl_cache_hits_and_expiry():
    clock = TimeTestingGetter(T0)
    calls = []
    cache = TTLCache(_counting_getter(calls), clock.get, timedelta(seconds=10))
    assert cache.get("a") == "a#1"
    clock.advance(timedelta(seconds=10))
    # Exactly the TTL old is still fresh.
    assert cache.get("a") == "a#1"
    clock.advance(timedelta(microseconds=1))
    assert cache.get("a") == "a#2"
    assert cache.get("b") == "b#1"
    assert calls == ["a", "a", "b"]


def test_ttl_cache_remove():
    clock = TimeTestingGetter(T0)
    calls = []
    cache = TTLCache(_counting_getter(calls), clock.get, timedelta(hours=1))
    assert cache.get("k") == "k#1"
    cache.remove("k")
    assert cache.get("k") == "k#2"
    assert calls == ["k", "k"]


def test_enrich_cached_default_ttl_never_refetches(entry_point):
    calls = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["a", "b", "a", "a", "b"], batch_size=2))
    s = op.enrich_cached("enrich", s, _counting_getter(calls), lambda cache, x: (x, cache.get(x)))
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == [("a", "a#1"), ("b", "b#1"), ("a", "a#1"), ("a", "a#1"), ("b", "b#1")]
    assert calls == ["a", "b"]


def test_enrich_cached_ttl_uses_clock_read_per_batch(entry_point):
    # `now` is read from the clock once per upstream batch. The inspect
    # step advances the clock 6 s per item before each batch reaches
    # the enrich step.
    clock = TimeTestingGetter(T0)
    calls = []
    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["a", "a", "b", "a"]))
    s = op.inspect("tick", s, lambda _sid, _x: clock.advance(timedelta(seconds=6)))
    s = op.enrich_cached(
        "enrich",
        s,
        _counting_getter(calls),
        lambda cache, x: (x, cache.get(x)),
        ttl=timedelta(seconds=10),
        _now_getter=clock.get,
    )
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    # t=6 fetch a; t=12 a is 6 s old; t=18 fetch b; t=24 a is 18 s old.
    assert out == [("a", "a#1"), ("a", "a#1"), ("b", "b#1"), ("a", "a#2")]
    assert calls == ["a", "b", "a"]


def test_enrich_cached_mapper_can_remove(entry_point):
    calls = []

    def mapper(cache, x):
        v = cache.get(x)
        if x == "evict":
            cache.remove(x)
        return v

    flow = Dataflow("test_df")
    s = op.input("inp", flow, TestingSource(["evict", "evict", "keep", "keep"]))
    s = op.enrich_cached("enrich", s, _counting_getter(calls), mapper)
    out = []
    op.output("out", s, TestingSink(out))
    entry_point(flow)
    assert out == ["evict#1", "evict#2", "keep#1", "keep#1"]
