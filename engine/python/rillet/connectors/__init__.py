"""Ready-made sources and sinks.

- `rillet.connectors.stdio`: write to standard output.
- `rillet.connectors.files`: read and write local files.
- `rillet.connectors.demo`: random data for demos.

To write your own, see `rillet.inputs` and `rillet.outputs`.

>>> from rillet.connectors.stdio import StdOutSink
>>> StdOutSink().build("eg.out", 0, 1).write_batch(["hello"])
hello
"""
