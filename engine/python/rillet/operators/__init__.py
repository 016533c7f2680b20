"""The built-in operators.

Each operator is a function `op(step_id, upstream, ...)` that adds a
step to the dataflow and returns the step's output stream(s):

>>> import rillet.operators as op
>>> from rillet.dataflow import Dataflow
>>> from rillet.testing import TestingSource, run_main
>>> flow = Dataflow("words")
>>> lines = op.input("lines", flow, TestingSource(["a b", "b"]))
>>> words = op.flat_map("split", lines, str.split)
>>> counts = op.count_final("count", words, key=lambda w: w)
>>> _ = op.inspect("out", counts)
>>> run_main(flow)
words.out: ('a', 1)
words.out: ('b', 2)

Kinds of operators:

- Input and output: `input`, `output`.
- Stateless: `map`, `filter`, `flat_map`, `filter_map`, `flatten`,
  `inspect`, their `*_value` variants for keyed streams, `key_on`,
  `key_rm`, `branch`, `merge`, `redistribute`, `enrich_cached`,
  `raises`.
- Stateful, on keyed streams (`(key, value)` items with `str` keys):
  `stateful_map`, `stateful_flat_map`, `collect`, `join`, and for
  finite streams `fold_final`, `reduce_final`, `count_final`,
  `max_final`, `min_final`. The general ones are `stateful` and
  `stateful_batch`.

The runtime implements a few core operators itself; everything else
is composed from them, and every composite keeps its inner steps as
substeps with nested step IDs.
"""

from rillet.dataflow import Dataflow, Stream, f_repr, operator
from rillet.inputs import Source
from rillet.operators._common import (
    DK,
    DV,
    S,
    U,
    V,
    W,
    W_co,
    X,
    Y,
    KeyedStream,
)
from rillet.operators._core import (
    BranchOut,
    StatefulBatchLogic,
    branch,
    flat_map_batch,
    input,
    inspect_debug,
    merge,
    output,
    redistribute,
    stateful_batch,
)
from rillet.operators._join import (
    JoinEmitMode,
    JoinInsertMode,
    _join_label_merge,
    join,
)
from rillet.operators._stateful import (
    StatefulLogic,
    collect,
    count_final,
    fold_final,
    max_final,
    min_final,
    reduce_final,
    stateful,
    stateful_flat_map,
    stateful_map,
)
from rillet.operators._stateless import (
    TTLCache,
    enrich_cached,
    filter,
    filter_map,
    filter_map_value,
    filter_value,
    flat_map,
    flat_map_value,
    flatten,
    inspect,
    key_on,
    key_rm,
    map,
    map_value,
    raises,
)
from rillet.outputs import DynamicSink, Sink, StatelessSinkPartition

__all__ = [
    "BranchOut",
    "DK",
    "DV",
    "Dataflow",
    "DynamicSink",
    "JoinEmitMode",
    "JoinInsertMode",
    "KeyedStream",
    "S",
    "Sink",
    "Source",
    "StatefulBatchLogic",
    "StatefulLogic",
    "StatelessSinkPartition",
    "Stream",
    "TTLCache",
    "U",
    "V",
    "W",
    "W_co",
    "X",
    "Y",
    "branch",
    "collect",
    "count_final",
    "enrich_cached",
    "f_repr",
    "filter",
    "filter_map",
    "filter_map_value",
    "filter_value",
    "flat_map",
    "flat_map_batch",
    "flat_map_value",
    "flatten",
    "fold_final",
    "input",
    "inspect",
    "inspect_debug",
    "join",
    "key_on",
    "key_rm",
    "map",
    "map_value",
    "max_final",
    "merge",
    "min_final",
    "operator",
    "output",
    "raises",
    "redistribute",
    "reduce_final",
    "stateful",
    "stateful_batch",
    "stateful_flat_map",
    "stateful_map",
]
