"""The operator catalog comes from the package itself: every operator and
constructor, with the param types, ports and docs the studio's forms need."""

import inspect
import json
import types
from datetime import timedelta

import pytest

import pipeline_support  # noqa: F401  (skips on the Bytewax peer)
import rillet.operators as op
import rillet.operators.windowing as win
from rillet.dataflow import Stream, operator
from rillet.inputs import DynamicSource, StatelessSourcePartition
from rillet.pipeline import catalog as catalog_mod
from rillet.pipeline.catalog import GROUPS, catalog, catalog_json, constructor, constructors

VALUE_TYPES = {
    "callable", "int", "float", "str", "bool", "timedelta", "datetime", "path",
    "source", "sink", "clock", "windower", "enum", "any",
}  # fmt: skip


def public_operators(mod):
    names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    return {n for n in names if hasattr(getattr(mod, n), "_op_cls") and not n.startswith("_")}


def params(entry):
    return {p["name"]: p for p in entry["params"]}


def test_every_public_operator_is_listed_once():
    expected = public_operators(op) | public_operators(win)
    assert set(catalog()) == expected
    assert {"input", "map", "branch", "merge", "join", "stateful_map", "output"} <= expected
    assert {"window", "fold_window", "collect_window", "count_window", "join_window"} <= expected
    for name, entry in catalog().items():
        module = win if entry["module"] == "rillet.operators.windowing" else op
        assert getattr(module, name) is getattr(module, entry["name"])
        assert entry["module"] in ("rillet.operators", "rillet.operators.windowing")


@pytest.mark.parametrize("name", sorted(public_operators(op) | public_operators(win)))
def test_entry_matches_the_signature(name):
    entry = catalog()[name]
    fn = getattr(win if entry["module"].endswith("windowing") else op, name)
    sig = inspect.signature(fn)
    assert list(entry) == ["name", "module", "group", "summary", "doc", "params", "inputs", "outputs"]
    assert entry["group"] in GROUPS
    expected = [n for n in sig.parameters if n != "step_id" and not n.startswith("_")]
    assert [p["name"] for p in entry["params"]] == expected
    assert [i["name"] for i in entry["inputs"]] == list(fn._op_cls.ups_names)
    assert [o["name"] for o in entry["outputs"]] == list(fn._op_cls.dwn_names)
    assert entry["summary"] and entry["doc"].startswith(entry["summary"].split()[0])
    for p in entry["params"]:
        assert p["binding"] == sig.parameters[p["name"]].kind.name.lower()
        if p["kind"] == "value":
            assert p["type"] in VALUE_TYPES
            assert p["required"] == (sig.parameters[p["name"]].default is inspect.Parameter.empty)
            assert ("default" in p) == (not p["required"])
            assert ("choices" in p) == (p["type"] == "enum")
        else:
            assert p["kind"] in ("stream", "multi_stream", "flow") and p["required"]
            assert "type" not in p
        assert p["doc"], f"{name}.{p['name']} has no :arg: doc"


def test_ports_and_keyed_ness():
    cat = catalog()
    assert cat["map"]["inputs"] == [{"name": "up", "multi": False, "keyed": False}]
    assert cat["map"]["outputs"] == [{"name": "down", "keyed": False}]
    assert cat["key_on"]["outputs"] == [{"name": "down", "keyed": True}]
    assert cat["key_rm"]["inputs"][0]["keyed"] and not cat["key_rm"]["outputs"][0]["keyed"]
    for name in ("stateful_map", "stateful_flat_map", "fold_final", "collect", "map_value", "fold_window"):
        assert cat[name]["inputs"][0]["keyed"], name
    assert not cat["count_final"]["inputs"][0]["keyed"] and cat["count_final"]["outputs"][0]["keyed"]
    assert not cat["count_window"]["inputs"][0]["keyed"]
    assert cat["input"]["inputs"] == [] and cat["output"]["outputs"] == []
    assert cat["branch"]["outputs"] == [
        {"name": "trues", "keyed": False, "same_as": "up"},
        {"name": "falses", "keyed": False, "same_as": "up"},
    ]
    assert cat["filter"]["outputs"][0]["same_as"] == "up"
    assert cat["inspect"]["outputs"][0]["same_as"] == "up"
    assert cat["merge"]["inputs"] == [{"name": "ups", "multi": True, "keyed": False}]
    assert cat["merge"]["outputs"] == [{"name": "down", "keyed": False, "same_as": "ups"}]
    assert cat["join"]["inputs"] == [{"name": "sides", "multi": True, "keyed": True}]
    assert cat["join_window"]["inputs"] == [{"name": "sides", "multi": True, "keyed": True}]
    for name in ("fold_window", "collect_window", "join_window", "window"):
        assert [o["name"] for o in cat[name]["outputs"]] == ["down", "late", "meta"]
        assert all(o["keyed"] for o in cat[name]["outputs"])


def test_groups():
    cat = catalog()
    groups = {name: e["group"] for name, e in cat.items()}
    assert {n for n, g in groups.items() if g == "sources"} == {"input"}
    assert {n for n, g in groups.items() if g == "sinks"} == {"output", "raises"}
    assert {n for n, g in groups.items() if g == "windows"} == public_operators(win)
    assert {n for n, g in groups.items() if g == "stateful"} == {
        "stateful", "stateful_batch", "stateful_map", "stateful_flat_map", "collect", "join",
        "fold_final", "reduce_final", "count_final", "max_final", "min_final",
    }  # fmt: skip
    for name in ("map", "filter", "flat_map", "key_on", "branch", "merge", "enrich_cached", "inspect"):
        assert groups[name] == "transforms"


def test_value_param_types_for_the_forms():
    cat = catalog()
    assert params(cat["input"])["flow"] == {
        "name": "flow", "kind": "flow", "annotation": "Dataflow", "required": True,
        "binding": "positional_or_keyword", "doc": params(cat["input"])["flow"]["doc"],
    }  # fmt: skip
    assert params(cat["input"])["source"]["type"] == "source"
    assert params(cat["output"])["sink"]["type"] == "sink"
    mapper = params(cat["map"])["mapper"]
    assert mapper["type"] == "callable" and mapper["annotation"] == "Callable[[X], Y]"
    assert mapper["doc"].startswith("Called on each item")
    collect = params(cat["collect"])
    assert (collect["timeout"]["type"], collect["max_size"]["type"]) == ("timedelta", "int")
    ttl = params(cat["enrich_cached"])["ttl"]
    assert (ttl["type"], ttl["required"], ttl["default"]) == ("timedelta", False, "timedelta.max")
    assert "_now_getter" not in params(cat["enrich_cached"])
    for name, default in (("join", "'complete'"), ("join_window", "'final'")):
        emit = params(cat[name])["emit_mode"]
        assert emit["type"] == "enum" and emit["choices"] == ["complete", "final", "running"]
        assert emit["default"] == default and emit["binding"] == "keyword_only"
        assert params(cat[name])["insert_mode"]["choices"] == ["first", "last", "product"]
    fold = params(cat["fold_window"])
    assert [fold[n]["type"] for n in ("clock", "windower", "builder", "folder", "merger", "ordered")] == [
        "clock", "windower", "callable", "callable", "callable", "bool",
    ]  # fmt: skip
    assert fold["ordered"]["default"] == "True"
    assert params(cat["max_final"])["by"]["type"] == "callable"  # no annotation, a function default
    assert params(cat["collect_window"])["into"] == {
        **params(cat["collect_window"])["into"], "type": "any", "default": "list",
    }  # fmt: skip
    assert params(cat["join"])["sides"]["binding"] == "var_positional"


def test_constructors_describe_clocks_windowers_sources_and_sinks():
    by_name = {c["name"]: c for c in constructors()}
    kinds = {c["name"]: c["kind"] for c in constructors()}
    assert {n for n, k in kinds.items() if k == "clock"} == {"EventClock", "SystemClock"}
    assert {n for n, k in kinds.items() if k == "windower"} == {
        "TumblingWindower", "SlidingWindower", "SessionWindower",
    }  # fmt: skip
    sources = {n for n, k in kinds.items() if k == "source"}
    sinks = {n for n, k in kinds.items() if k == "sink"}
    assert {"TestingSource", "FileSource", "CSVSource", "DirSource", "RandomMetricSource"} <= sources
    assert {"StdOutSink", "FileSink", "DirSink", "TestingSink"} <= sinks
    order = [c["kind"] for c in constructors()]
    assert order == sorted(order, key=["source", "sink", "clock", "windower"].index)

    def shape(name):
        return [(p["name"], p["type"], p["required"]) for p in by_name[name]["params"]]

    assert shape("EventClock") == [
        ("ts_getter", "callable", True), ("wait_for_system_duration", "timedelta", True),
        ("now_getter", "callable", False), ("to_system_utc", "callable", False),
    ]  # fmt: skip
    assert shape("SystemClock") == []
    assert shape("TumblingWindower") == [("length", "timedelta", True), ("align_to", "datetime", True)]
    assert shape("SlidingWindower") == [
        ("length", "timedelta", True), ("offset", "timedelta", True), ("align_to", "datetime", True),
    ]  # fmt: skip
    assert shape("SessionWindower") == [("gap", "timedelta", True)]
    assert shape("FileSource")[0] == ("path", "path", True)
    assert shape("FileSink") == [("path", "path", True), ("end", "str", False)]
    assert shape("StdOutSink") == []
    assert by_name["RandomMetricSource"]["params"][1]["default"] == "timedelta(seconds=0.7)"
    assert by_name["TumblingWindower"]["params"][1]["doc"].startswith("A time at which a window starts")
    items = {n: c.get("items") for n, c in by_name.items()}
    assert (items["FileSource"], items["CSVSource"], items["RandomMetricSource"]) == (
        "plain",
        "plain",
        "keyed",
    )
    assert (items["TestingSource"], items["StdOutSink"], items["FileSink"]) == ("any", "any", "keyed")
    assert "items" not in by_name["EventClock"]
    assert constructor("EventClock") is by_name["EventClock"] and constructor("Nope") is None


@pytest.mark.parametrize("entry", constructors(), ids=lambda c: c["name"])
def test_constructor_import_lines_work(entry):
    namespace: dict = {}
    exec(entry["import"], namespace)
    cls = namespace[entry["name"]]
    assert cls.__module__ == entry["module"] and entry["summary"]
    assert [p["name"] for p in entry["params"]] == [
        n for n in inspect.signature(cls).parameters if not n.startswith("_")
    ]
    assert all(p["kind"] == "value" and p["type"] in VALUE_TYPES for p in entry["params"])


def test_new_operators_and_connectors_appear_without_changes(monkeypatch):
    @operator
    def double_it(step_id: str, up: Stream[int], factor: int = 2) -> Stream[int]:
        """Multiply each item.

        :arg up: The stream.

        :arg factor: By how much.
        """
        return op.map("map", up, lambda x: x * factor)

    class TickSource(DynamicSource[str]):
        """Ticks.

        :arg every: Time between ticks.
        """

        def __init__(self, every: timedelta, label: str = "tick"):
            self.every = every

        def build(self, step_id, worker_index, worker_count) -> StatelessSourcePartition[str]:
            raise NotImplementedError

    fake = types.ModuleType("fake_connectors")
    TickSource.__module__ = fake.__name__
    fake.TickSource = TickSource
    monkeypatch.setattr(op, "double_it", double_it, raising=False)
    monkeypatch.setattr(op, "__all__", [*op.__all__, "double_it"])
    monkeypatch.setattr(catalog_mod, "CONSTRUCTOR_MODULES", (*catalog_mod.CONSTRUCTOR_MODULES, fake.__name__))
    monkeypatch.setitem(__import__("sys").modules, fake.__name__, fake)
    catalog_mod._operators.cache_clear()
    catalog_mod._constructors.cache_clear()
    try:
        entry = catalog()["double_it"]
        assert entry["group"] == "transforms" and entry["summary"] == "Multiply each item."
        assert params(entry)["factor"] == {
            "name": "factor", "kind": "value", "type": "int", "annotation": "int", "required": False,
            "default": "2", "binding": "positional_or_keyword", "doc": "By how much.",
        }  # fmt: skip
        tick = constructor("TickSource")
        assert (tick["kind"], tick["items"], tick["import"]) == (
            "source",
            "plain",
            "from fake_connectors import TickSource",
        )
        assert [(p["name"], p["type"]) for p in tick["params"]] == [("every", "timedelta"), ("label", "str")]
    finally:
        catalog_mod._operators.cache_clear()
        catalog_mod._constructors.cache_clear()


def test_catalog_json_is_what_the_cli_prints():
    from pipeline_support import pipeline_cli

    status, out, err = pipeline_cli("catalog")
    assert status == 0, err
    printed = json.loads(out)
    assert printed == json.loads(json.dumps(catalog_json()))
    assert list(printed) == ["schema_version", "groups", "operators", "constructors", "types"]
    assert printed["schema_version"] == 1
    assert printed["groups"] == ["sources", "transforms", "stateful", "windows", "sinks"]
    assert printed["types"]["timedelta"] == {
        "imports": ["from datetime import timedelta"],
        "example": "timedelta(seconds=10)",
    }
    assert printed["types"]["datetime"]["example"] == "datetime(2024, 1, 1, tzinfo=timezone.utc)"
    for help_ in printed["types"].values():
        namespace: dict = {}
        for line in help_["imports"]:
            exec(line, namespace)
        eval(help_["example"], namespace)
