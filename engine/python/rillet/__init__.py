"""Rillet: stream processing in Python on Timely Dataflow.

Rillet's public API is the Bytewax 0.21.1 API under the package name
`rillet`: porting a Bytewax program means changing its imports and
nothing else.

A dataflow is built from operators and then handed to the runtime:

>>> from rillet.dataflow import Dataflow
>>> import rillet.operators as op
>>> from rillet.testing import TestingSource
>>> flow = Dataflow("hello")
>>> nums = op.input("nums", flow, TestingSource([1, 2, 3]))
>>> doubled = op.map("double", nums, lambda x: x * 2)
>>> [step.step_id for step in flow.substeps]
['hello.nums', 'hello.double']

Run it with `python -m rillet.run my_module:flow`, or in a test with
`rillet.testing.run_main(flow)`.

Modules:

- `rillet.dataflow`: the `Dataflow` and `Stream` data model and the
  `operator` decorator for custom operators.
- `rillet.operators`: the built-in operators.
- `rillet.inputs` / `rillet.outputs`: the source and sink interfaces.
- `rillet.connectors`: ready-made sources and sinks.
- `rillet.testing`: helpers for unit tests.
- `rillet.run`: the command line runner.
- `rillet.visualize`: diagrams of a dataflow's structure.
- `rillet.tracing`: logging and tracing setup.
- `rillet.errors`: the runtime's exception type.
"""
