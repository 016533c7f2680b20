"""Helpers for writing the functions you pass to operators."""

from typing import Callable, Dict, TypeVar

K = TypeVar("K")
"""Type of the `dict` keys."""

V = TypeVar("V")
"""Type of the `dict` values."""


def map_dict_value(
    key: K, mapper: Callable[[V], V]
) -> Callable[[Dict[K, V]], Dict[K, V]]:
    """Make a mapper that changes one entry of a `dict` item.

    The returned function applies `mapper` to `item[key]`, stores the
    result back in the same `dict` (it mutates it) and returns the
    `dict`. Pass it to `rillet.operators.map`.

    >>> from rillet.operators.helpers import map_dict_value
    >>> shout = map_dict_value("name", str.upper)
    >>> shout({"name": "ann", "age": 41})
    {'name': 'ANN', 'age': 41}

    In a dataflow:

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource, run_main
    >>> flow = Dataflow("map_dict_value_eg")
    >>> s = op.input("inp", flow, TestingSource([{"name": "ann"}]))
    >>> s = op.map("shout", s, map_dict_value("name", str.upper))
    >>> _ = op.inspect("out", s)
    >>> run_main(flow)
    map_dict_value_eg.out: {'name': 'ANN'}

    For deeper or immutable structures, a "lens" library such as
    `lenses` can build such mappers.

    :arg key: Which entry to change.

    :arg mapper: Called on the entry's value; returns the new value.

    :returns: A function taking and returning the `dict`.
    """

    def for_item(obj: Dict[K, V]) -> Dict[K, V]:
        obj[key] = mapper(obj[key])
        return obj

    return for_item
