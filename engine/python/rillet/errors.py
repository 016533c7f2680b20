"""The exception type the Rillet runtime raises.

When user code inside a step raises, the run stops with a
`RilletRuntimeError` whose message names the step, and whose
`__cause__` is the original exception with its traceback.

```python
import rillet.operators as op
from rillet.dataflow import Dataflow
from rillet.errors import RilletRuntimeError
from rillet.testing import TestingSource, run_main

flow = Dataflow("errors_eg")
s = op.input("inp", flow, TestingSource([1, 0]))
op.map("invert", s, lambda x: 1 / x)
try:
    run_main(flow)
except RilletRuntimeError as ex:
    assert isinstance(ex.__cause__, ZeroDivisionError)
```
"""

__all__ = [
    "BytewaxRuntimeError",
    "RilletRuntimeError",
    "RilletTypeError",
    "RilletValueError",
]


class RilletRuntimeError(RuntimeError):
    """Raised by the runtime when a dataflow fails.

    The error from your code is chained as `__cause__`; the message
    adds which step and which item were being processed.

    >>> from rillet.errors import RilletRuntimeError
    >>> err = RilletRuntimeError("error in step 'eg.parse'")
    >>> isinstance(err, RuntimeError)
    True
    """


class RilletTypeError(RilletRuntimeError, TypeError):
    """A step got or returned a value of the wrong type or shape.

    It is both a `TypeError`, which is what the mistake is, and a
    `RilletRuntimeError`, so code ported from Bytewax that catches
    `BytewaxRuntimeError` around a run still catches it.

    >>> from rillet.errors import RilletTypeError
    >>> err = RilletTypeError("step 'eg.count' requires `str` keys")
    >>> isinstance(err, TypeError) and isinstance(err, RuntimeError)
    True
    """


class RilletValueError(RilletRuntimeError, ValueError):
    """A dataflow or its run configuration is invalid.

    Both a `ValueError` and a `RilletRuntimeError`, like `RilletTypeError`.

    >>> from rillet.errors import RilletValueError
    >>> isinstance(RilletValueError("bad"), ValueError)
    True
    """


BytewaxRuntimeError = RilletRuntimeError
"""Alias so code ported from Bytewax can keep catching this name.

>>> from rillet.errors import BytewaxRuntimeError, RilletRuntimeError
>>> BytewaxRuntimeError is RilletRuntimeError
True
"""
