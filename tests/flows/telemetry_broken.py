"""A flow file that raises while it is imported, as a pipeline whose
prelude fails would (tests/test_telemetry.py)."""

import rillet.operators as op  # noqa: F401


def setup():
    raise RuntimeError("the prelude failed")


setup()
