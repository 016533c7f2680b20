"""Run Rillet programs on the Bytewax 0.21.1 peer, unchanged.

Rillet's promise is that porting from Bytewax means changing the import and
nothing else. This module checks that promise from the other side: once
`install()` has run (inside `.venv-bytewax`), `import rillet.operators` loads
`bytewax.operators`, so the same test or benchmark file runs on both engines
and their outputs can be compared.

    >>> import peer_alias
    >>> peer_alias.install()  # doctest: +SKIP
    >>> import rillet.operators as op  # doctest: +SKIP
    >>> op.__name__  # doctest: +SKIP
    'bytewax.operators'
"""

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Optional

_RENAMES = {"RilletRuntimeError": "BytewaxRuntimeError"}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, real_name: str) -> None:
        self.real_name = real_name

    def create_module(self, spec):
        module = importlib.import_module(self.real_name)
        for ours, theirs in _RENAMES.items():
            if hasattr(module, theirs) and not hasattr(module, ours):
                setattr(module, ours, getattr(module, theirs))
        return module

    def exec_module(self, module) -> None:
        # The real module is already executed by `import_module`.
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path, target=None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "rillet" and not fullname.startswith("rillet."):
            return None
        real_name = "bytewax" + fullname[len("rillet") :]
        if importlib.util.find_spec(real_name) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real_name))


def install() -> None:
    """Make `rillet.*` imports resolve to `bytewax.*` in this interpreter."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
