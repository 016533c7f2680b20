"""Access to the native runtime module, `rillet._engine`.

The pure-Python parts of Rillet (building dataflows, connectors,
visualisation) work without it; only running a dataflow needs it.
Modules that re-export runtime entry points (`rillet.testing`,
`rillet.run`) bind them at import time when the module is there, and
otherwise resolve them on first use through `missing_attr`, which
raises an `ImportError` that says how to get the runtime.
"""

import importlib
from types import ModuleType
from typing import Any, Iterable, Optional

_INSTALL_HINT = (
    "Rillet's native runtime `rillet._engine` is not available; it is "
    "needed to run dataflows (building them works without it). Install "
    "a rillet wheel (`pip install rillet`) or build it from a checkout "
    "with `maturin develop --release` in the `engine/` directory"
)


def try_load() -> Optional[ModuleType]:
    """Import `rillet._engine`, or return `None` if it isn't there."""
    try:
        return importlib.import_module("rillet._engine")
    except ModuleNotFoundError as ex:
        if ex.name != "rillet._engine":
            raise
        return None


def load() -> ModuleType:
    """Import `rillet._engine`, raising a helpful `ImportError`."""
    engine = try_load()
    if engine is None:
        raise ImportError(_INSTALL_HINT, name="rillet._engine")
    return engine


def bind(namespace: dict, names: Iterable[str]) -> None:
    """Copy the runtime entry points into a module's namespace, if built.

    A native module that exists but fails to import (say, built for
    another Python) leaves the names unbound too, so building
    dataflows keeps working; using a runtime name then raises the real
    import error.
    """
    try:
        engine = try_load()
    except ImportError:
        return
    if engine is not None:
        for name in names:
            namespace[name] = getattr(engine, name)


def missing_attr(module_name: str, names: Iterable[str], attr: str) -> Any:
    """Module `__getattr__` body for runtime names not bound yet."""
    if attr in names:
        return getattr(load(), attr)
    msg = f"module {module_name!r} has no attribute {attr!r}"
    raise AttributeError(msg)
