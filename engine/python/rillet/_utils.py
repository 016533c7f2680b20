"""Small helpers used by more than one module."""

from typing import Callable, Iterable, List, Tuple, TypeVar

X = TypeVar("X")


def partition(it: Iterable[X], predicate: Callable[[X], bool]) -> Tuple[List[X], List[X]]:
    """Split items in two lists by a predicate, keeping their order.

    >>> from rillet._utils import partition
    >>> partition([1, 2, 3, 4, 5], lambda x: x % 2 == 1)
    ([1, 3, 5], [2, 4])

    :arg it: The items.

    :arg predicate: Called once per item.

    :returns: `(matching, not_matching)`.
    """
    matching: List[X] = []
    rest: List[X] = []
    for x in it:
        if predicate(x):
            matching.append(x)
        else:
            rest.append(x)
    return matching, rest
