"""Type hints turned into what the studio's forms need.

`value_type` maps a parameter's annotation (and default) to a `type`
the editor can render: `"callable"`, `"int"`, `"float"`, `"str"`,
`"bool"`, `"timedelta"`, `"datetime"`, `"path"`, `"source"`, `"sink"`,
`"clock"`, `"windower"`, `"enum"` (with `choices`) or `"any"`.
`item_kind` says whether a stream's items are `(str, value)` pairs.
`arg_docs` reads the `:arg name:` paragraphs of a docstring.

>>> from datetime import timedelta
>>> from typing import Callable, Literal, Optional
>>> from rillet.pipeline.hints import value_type
>>> value_type(Optional[timedelta])
{'type': 'timedelta', 'nullable': True}
>>> value_type(Literal["first", "last"])
{'type': 'enum', 'choices': ['first', 'last']}
>>> value_type(Callable[[int], str])
{'type': 'callable'}
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import typing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List

TYPE_HELP: Dict[str, Dict[str, Any]] = {
    "timedelta": {
        "imports": ["from datetime import timedelta"],
        "example": "timedelta(seconds=10)",
    },
    "datetime": {
        "imports": ["from datetime import datetime, timezone"],
        "example": "datetime(2024, 1, 1, tzinfo=timezone.utc)",
    },
    "path": {"imports": ["from pathlib import Path"], "example": 'Path("data.txt")'},
}
"""How to write a value of the types that need an import.

Windowing refuses naive datetimes, so the datetime example carries a
time zone.
"""

_SCALARS = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    timedelta: "timedelta",
    datetime: "datetime",
}


def base_kind(cls: Any) -> str | None:
    """`"source"`, `"sink"`, `"clock"` or `"windower"` for subclasses of those ABCs."""
    from rillet.inputs import Source
    from rillet.operators.windowing import Clock, Windower
    from rillet.outputs import Sink

    cls = typing.get_origin(cls) or cls
    if not isinstance(cls, type):
        return None
    for base, kind in (
        (Source, "source"),
        (Sink, "sink"),
        (Clock, "clock"),
        (Windower, "windower"),
    ):
        if issubclass(cls, base):
            return kind
    return None


def value_type(anno: Any, default: Any = inspect.Parameter.empty) -> Dict[str, Any]:
    """The editor's `type` (and `choices`, `nullable`) for an annotation.

    Without an annotation, a function default means `"callable"`.

    >>> import inspect
    >>> from rillet.pipeline.hints import value_type
    >>> value_type(inspect.Parameter.empty, default=len)
    {'type': 'callable'}
    """
    if anno is inspect.Parameter.empty or anno is Any or isinstance(anno, typing.TypeVar):
        if inspect.isfunction(default) or inspect.isbuiltin(default):
            return {"type": "callable"}
        return {"type": "any"}
    origin, args = typing.get_origin(anno), typing.get_args(anno)
    if origin is typing.Union:
        rest = [a for a in args if a is not type(None)]
        if set(rest) == {Path, str}:
            out = {"type": "path"}
        else:
            out = value_type(rest[0]) if len(rest) == 1 else {"type": "any"}
        if len(rest) < len(args):
            out["nullable"] = True
        return out
    if origin is typing.Literal:
        return {"type": "enum", "choices": list(args)}
    if (
        origin is collections.abc.Callable
        or anno is collections.abc.Callable
        or anno is typing.Callable
    ):
        return {"type": "callable"}
    if anno in _SCALARS:
        return {"type": _SCALARS[anno]}
    if anno is Path:
        return {"type": "path"}
    kind = base_kind(anno)
    return {"type": kind or "any"}


def item_kind(item: Any) -> str:
    """What items of type `item` are: `"keyed"` (`(str, value)` pairs),
    `"plain"` (certainly not such pairs) or `"any"` (unknown).

    >>> from typing import Dict, Tuple, TypeVar
    >>> from rillet.pipeline.hints import item_kind
    >>> item_kind(Tuple[str, int]), item_kind(Dict[str, str]), item_kind(TypeVar("T"))
    ('keyed', 'plain', 'any')
    """
    origin, args = typing.get_origin(item) or item, typing.get_args(item)
    if origin is tuple:
        if len(args) == 2 and args[0] is str:
            return "keyed"
        if args and args[-1] is not Ellipsis and len(args) != 2:
            return "plain"
        return "any"
    if isinstance(origin, type) and origin is not object:
        return "plain"
    return "any"


def annotation_text(anno: Any) -> str | None:
    """A short readable form of an annotation (module prefixes dropped).

    >>> from typing import Callable, TypeVar
    >>> from rillet.pipeline.hints import annotation_text
    >>> X = TypeVar("X")
    >>> annotation_text(Callable[[X], bool])
    'Callable[[X], bool]'
    """
    if anno is inspect.Parameter.empty:
        return None
    text = inspect.formatannotation(anno)
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])", "", text).replace("~", "")


def default_source(value: Any) -> str:
    """Python source showing a default value, for display.

    >>> from datetime import timedelta
    >>> from rillet.pipeline.hints import default_source
    >>> default_source("last"), default_source(timedelta.max), default_source(list)
    ("'last'", 'timedelta.max', 'list')
    """
    if isinstance(value, timedelta):
        if value == timedelta.max:
            return "timedelta.max"
        return f"timedelta(seconds={value.total_seconds():g})"
    if inspect.isfunction(value) or inspect.isbuiltin(value) or isinstance(value, type):
        return value.__name__
    return repr(value)


def arg_docs(doc: str) -> Dict[str, str]:
    """The `:arg name: text` paragraphs of a docstring, by name.

    >>> from rillet.pipeline.hints import arg_docs
    >>> arg_docs(":arg up: The stream.\\n\\n:arg mapper: Called on\\n    each item.")
    {'up': 'The stream.', 'mapper': 'Called on each item.'}
    """
    out: Dict[str, str] = {}
    current: List[str] = []
    name = None
    for line in inspect.cleandoc(doc).splitlines() + [""]:
        match = re.match(r":arg \*{0,2}(\w+):\s*(.*)", line)
        if match or not line.strip() or line.startswith(":"):
            if name is not None:
                out[name] = " ".join(current)
            name, current = (match.group(1), [match.group(2)]) if match else (None, [])
        elif name is not None:
            current.append(line.strip())
    return out


def summary(doc: str) -> str:
    """The first paragraph of a docstring, on one line."""
    return " ".join(inspect.cleandoc(doc).split("\n\n", 1)[0].split())
