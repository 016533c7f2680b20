"""Dump the public API of `bytewax` or `rillet` as JSON.

Run it with the interpreter that has the package installed:

    .venv-bytewax/bin/python tests/api/dump_signatures.py bytewax \
        > tests/api/bytewax_0_21_1_api.json
    .venv/bin/python tests/api/dump_signatures.py rillet

For every module in `MODULES` it records each public name: its kind,
where it is defined, its `inspect.signature` (as text), its
`typing.get_overloads`, the public members of classes, and for
operator functions the generated operator dataclass. Text is
normalised so the two packages compare equal when they match:

- the package prefix (`bytewax.` / `rillet.`) is removed,
- memory addresses (`at 0x7f...`) are blanked,
- the native modules `_bytewax` / `_engine` are both called `<native>`.

`test_api_surface.py` imports `dump_package` from here and compares
`rillet` against the stored Bytewax dump.
"""

import argparse
import collections.abc
import dataclasses
import importlib
import inspect
import json
import re
import sys
import types
import typing
from typing import Any, Dict, List, Optional

# Modules to describe, relative to the package. The last group is out
# of scope for the pure-Python package (see test_api_surface.py), but
# is dumped so the JSON is the complete reference.
MODULES = [
    "dataflow",
    "operators",
    "operators.helpers",
    "inputs",
    "outputs",
    "errors",
    "testing",
    "run",
    "visualize",
    "tracing",
    "connectors",
    "connectors.stdio",
    "connectors.files",
    "connectors.demo",
    "operators.windowing",
    "recovery",
    "connectors.kafka",
    "connectors.kafka.serde",
    "connectors.kafka.operators",
]

_NATIVE = {"_bytewax": "<native>", "_engine": "<native>"}
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

_TYPING_MODULES: List[Any] = [typing, collections.abc]
try:  # Only present where Bytewax is installed.
    import typing_extensions

    _TYPING_MODULES.append(typing_extensions)
except ImportError:  # pragma: no cover - depends on the venv
    pass


class Normalizer:
    """Makes text from either package comparable."""

    def __init__(self, pkg: str):
        self.pkg = pkg
        self._prefix = re.compile(rf"\b{re.escape(pkg)}\.")

    def text(self, s: str) -> str:
        s = _ADDRESS.sub(" at 0x...", s)
        return self._prefix.sub("", s)

    def module(self, name: Optional[str]) -> Optional[str]:
        """`bytewax.inputs` -> `inputs`; foreign modules unchanged."""
        if name is None:
            return None
        if name == self.pkg:
            return ""
        if name.startswith(self.pkg + "."):
            rel = name[len(self.pkg) + 1 :]
            return _NATIVE.get(rel, rel)
        return name

    def is_own_module(self, name: Optional[str]) -> bool:
        return name is not None and (name == self.pkg or name.startswith(self.pkg + "."))


def _signature(obj: Any, norm: Normalizer) -> Dict[str, Any]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return {"signature": None, "signature_plain": None, "annotated": False}
    plain = sig.replace(
        parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
        return_annotation=sig.empty,
    )
    annotated = sig.return_annotation is not sig.empty or any(
        p.annotation is not p.empty for p in sig.parameters.values()
    )
    return {
        "signature": norm.text(str(sig)),
        "signature_plain": norm.text(str(plain)),
        "annotated": annotated,
    }


def _is_typing_name(name: str, obj: Any) -> bool:
    """Whether `obj` is just a typing construct re-imported under `name`."""
    return any(getattr(mod, name, None) is obj for mod in _TYPING_MODULES)


def _kind(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "module"
    if isinstance(obj, (typing.TypeVar, typing.ParamSpec)):
        return "typevar"
    if inspect.isclass(obj):
        return "class"
    if typing.get_origin(obj) is not None:
        return "alias"
    if callable(obj):
        return "function"
    return "data"


def _simple_repr(obj: Any, norm: Normalizer) -> Optional[str]:
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return repr(obj)
    return None


def _describe_member(cls: type, name: str, norm: Normalizer, depth: int) -> Dict[str, Any]:
    raw = inspect.getattr_static(cls, name)
    if isinstance(
        raw, (property, types.GetSetDescriptorType, types.MemberDescriptorType)
    ):
        return {"kind": "property"}
    obj = getattr(cls, name)
    if inspect.isclass(obj):
        return _describe_class(obj, norm, depth + 1)
    if callable(obj):
        entry: Dict[str, Any] = {"kind": "method"}
        if isinstance(raw, staticmethod):
            entry["kind"] = "staticmethod"
        elif isinstance(raw, classmethod):
            entry["kind"] = "classmethod"
        entry.update(_signature(obj, norm))
        return entry
    return {"kind": "data", "type": type(obj).__name__, "repr": _simple_repr(obj, norm)}


def _describe_class(cls: type, norm: Normalizer, depth: int = 0) -> Dict[str, Any]:
    entry: Dict[str, Any] = {"kind": "class", "qualname": cls.__qualname__}
    entry.update(_signature(cls, norm))
    entry["bases"] = [norm.text(f"{b.__module__}.{b.__qualname__}") for b in cls.__bases__]
    if depth < 2:
        entry["members"] = {
            name: _describe_member(cls, name, norm, depth)
            for name in sorted(dir(cls))
            if not name.startswith("_")
        }
    return entry


def _describe_op_class(op_cls: type, norm: Normalizer) -> Dict[str, Any]:
    return {
        "name": op_cls.__name__,
        "module": norm.module(op_cls.__module__),
        "core": bool(getattr(op_cls, "core", False)),
        "fields": [f.name for f in dataclasses.fields(op_cls)],
        "signature": _signature(op_cls, norm)["signature"],
        "ups_names": list(op_cls.ups_names),
        "dwn_names": list(op_cls.dwn_names),
    }


def describe(name: str, obj: Any, norm: Normalizer) -> Dict[str, Any]:
    """Describe one public name of a module."""
    kind = _kind(obj)
    origin_raw = getattr(obj, "__module__", None) if kind != "alias" else None
    if kind == "alias":
        foreign = _is_typing_name(name, obj)
    elif kind == "data":
        foreign = False
    else:
        foreign = _is_typing_name(name, obj) or not norm.is_own_module(origin_raw)
    entry: Dict[str, Any] = {"kind": kind, "foreign": foreign}
    if foreign:
        entry["origin"] = origin_raw if isinstance(origin_raw, str) else None
        return entry
    entry["origin"] = norm.module(origin_raw) if isinstance(origin_raw, str) else None

    if kind == "class":
        entry.update(_describe_class(obj, norm))
    elif kind == "function":
        entry.update(_signature(obj, norm))
        try:
            overloads = typing.get_overloads(obj)
        except Exception:  # noqa: BLE001 - builtins have no registry entry
            overloads = []
        entry["overloads"] = [_signature(o, norm)["signature"] for o in overloads]
        op_cls = getattr(obj, "_op_cls", None)
        if op_cls is not None:
            entry["op_class"] = _describe_op_class(op_cls, norm)
    elif kind == "typevar":
        entry["repr"] = repr(obj)
        entry["bound"] = norm.text(repr(getattr(obj, "__bound__", None)))
        entry["covariant"] = bool(getattr(obj, "__covariant__", False))
        entry["contravariant"] = bool(getattr(obj, "__contravariant__", False))
    elif kind == "alias":
        entry["repr"] = norm.text(repr(obj))
    else:
        entry["type"] = type(obj).__name__
        entry["repr"] = _simple_repr(obj, norm)
    return entry


def public_names(mod: types.ModuleType, norm: Normalizer) -> List[str]:
    """`__all__`, plus other non-underscore names defined in the package."""
    names = set(getattr(mod, "__all__", ()))
    for name in dir(mod):
        if name.startswith("_") or name in names:
            continue
        if not hasattr(mod, "__all__"):
            names.add(name)
            continue
        obj = getattr(mod, name)
        if not inspect.ismodule(obj) and norm.is_own_module(getattr(obj, "__module__", None)):
            names.add(name)
    return sorted(names)


def describe_module(pkg: str, rel: str, norm: Normalizer) -> Dict[str, Any]:
    full = f"{pkg}.{rel}"
    try:
        mod = importlib.import_module(full)
    except Exception as ex:  # noqa: BLE001 - recorded, not hidden
        return {"import_error": f"{type(ex).__name__}: {ex}"}
    entries: Dict[str, Any] = {}
    for name in public_names(mod, norm):
        try:
            obj = getattr(mod, name)
        except Exception as ex:  # noqa: BLE001 - e.g. native module missing
            entries[name] = {"kind": "unavailable", "error": f"{type(ex).__name__}: {ex}"}
            continue
        if inspect.ismodule(obj):
            continue  # Submodules are described on their own.
        entries[name] = describe(name, obj, norm)
    return {"import_error": None, "all": sorted(getattr(mod, "__all__", [])) or None, "names": entries}


def dump_package(pkg: str) -> Dict[str, Any]:
    """Describe every module of `MODULES` in package `pkg`."""
    norm = Normalizer(pkg)
    return {
        "package": pkg,
        "python": ".".join(map(str, sys.version_info[:3])),
        "modules": {rel: describe_module(pkg, rel, norm) for rel in MODULES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="'bytewax' or 'rillet'")
    parser.add_argument("-o", "--out", help="write here instead of stdout")
    args = parser.parse_args()
    text = json.dumps(dump_package(args.package), indent=1, sort_keys=True) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
