"""The gallery: example pipelines shipped with Rillet.

Each example is an ordinary rillet program in `examples/` next to this
file (with its input in `examples/data/`), which also runs as is:
`python -m rillet.run <path>/examples/wordcount.py:flow`. Its module
docstring gives the title (first line) and the description (the
rest). `python -m rillet.pipeline gallery` prints `examples()` as JSON:

```json
[{"slug": "wordcount", "title": "Word count",
  "description": "The classic first dataflow: ...",
  "pipeline": {"schema_version": 1, "flow_id": "wordcount", ...}}]
```

>>> from rillet.pipeline.gallery import examples
>>> [e["slug"] for e in examples()][:2]
['wordcount', 'sensor_averages']
"""

from __future__ import annotations

import ast
from importlib.resources import files
from typing import Any, Dict, List

from rillet.pipeline.importer import import_source

ORDER = ("wordcount", "sensor_averages", "fraud_detector", "order_join", "enrich_orders")
"""Slugs in the order the studio lists them; other examples follow by name."""


def example_files() -> Dict[str, Any]:
    """The example programs by slug, as `importlib.resources` paths."""
    found = {
        p.name[:-3]: p
        for p in (files("rillet.pipeline") / "examples").iterdir()
        if p.name.endswith(".py")
    }
    rank = {slug: i for i, slug in enumerate(ORDER)}
    return {slug: found[slug] for slug in sorted(found, key=lambda s: (rank.get(s, len(rank)), s))}


def example(slug: str, source: str) -> Dict[str, Any]:
    """One gallery entry from the program's source."""
    doc = ast.get_docstring(ast.parse(source)) or slug
    title, _, rest = doc.partition("\n")
    description = " ".join(rest.split())
    return {
        "slug": slug,
        "title": title.strip(),
        "description": description,
        "pipeline": import_source(source).to_json(),
    }


def examples() -> List[Dict[str, Any]]:
    """Every example: `{slug, title, description, pipeline}`.

    >>> from rillet.pipeline.gallery import examples
    >>> wordcount = examples()[0]
    >>> wordcount["title"], [n["op"] for n in wordcount["pipeline"]["nodes"]]
    ('Word count', ['input', 'flat_map', 'count_final', 'output'])
    """
    return [
        example(slug, path.read_text(encoding="utf-8")) for slug, path in example_files().items()
    ]
