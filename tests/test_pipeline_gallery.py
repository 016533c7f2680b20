"""The gallery: each example runs as an ordinary program from any directory,
produces the expected records, and imports into a pipeline that runs the same."""

import csv
import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from pipeline_support import EXAMPLES_DIR, example_sources, pipeline_cli, run_ok
from rillet.pipeline.exporter import export
from rillet.pipeline.gallery import ORDER, examples
from rillet.pipeline.importer import import_source
from rillet.pipeline.model import Pipeline
from rillet.pipeline.validation import validate

pytestmark = pytest.mark.subprocess

DATA = EXAMPLES_DIR / "data"


def expected_wordcount():
    words = re.findall(r"[a-z']+", (DATA / "poem.txt").read_text().lower())
    return [repr(pair) for pair in sorted(Counter(words).items())]


def expected_sensor_averages():
    windows = defaultdict(list)
    with open(DATA / "sensors.csv", newline="") as f:
        for row in csv.DictReader(f):
            at = datetime.fromisoformat(row["time"])
            windows[(row["sensor"], at.replace(second=0))].append(float(row["celsius"]))
    return sorted(
        f"{sensor} {start:%H:%M}: {sum(v) / len(v):.1f} °C over {len(v)} readings"
        for (sensor, start), v in windows.items()
    )


def expected_enriched():
    with open(DATA / "products.csv", newline="") as f:
        products = {row["sku"]: row for row in csv.DictReader(f)}
    lines = []
    with open(DATA / "orders.csv", newline="") as f:
        for o in csv.DictReader(f):
            p = products.get(o["sku"])
            q = int(o["quantity"])
            lines.append(
                f"{o['order_id']},{o['sku']},{q},{p['name']},{p['unit_price']},{q * float(p['unit_price']):.2f}"
                if p
                else f"{o['order_id']},{o['sku']},{q},unknown product,,"
            )
    return lines


EXPECTED = {
    "wordcount": expected_wordcount,
    "sensor_averages": expected_sensor_averages,
    "fraud_detector": lambda: [
        "('4000-0001', 't06: 480.00 is over 4x the average of 12.47')",
        "('4000-0002', 't07: used in BR 25 minutes after DE')",
    ],
    "order_join": lambda: [
        "o-1: ada paid 30.00 by paypal",
        "o-2: grace paid 12.50 by card",
        "o-3: linus paid 99.90 by card",
    ],
    "enrich_orders": lambda: [],
}
UNORDERED = {"sensor_averages", "order_join"}  # windows close by time; join sides interleave


def check_output(slug, lines, cwd):
    if slug in UNORDERED:
        assert sorted(lines) == sorted(EXPECTED[slug]())
    else:
        assert lines == EXPECTED[slug]()
    if slug == "enrich_orders":
        assert (cwd / "enriched_orders.csv").read_text().splitlines() == expected_enriched()


def test_the_gallery_has_the_promised_examples():
    slugs = [e["slug"] for e in examples()]
    assert slugs[: len(ORDER)] == list(ORDER) and len(slugs) >= 5
    assert set(slugs) == set(EXPECTED) == set(example_sources())
    for e in examples():
        assert list(e) == ["slug", "title", "description", "pipeline"]
        assert e["title"] and len(e["title"]) < 40 and len(e["description"]) > 80
        p = Pipeline.from_json(e["pipeline"])
        assert p.flow_id == e["slug"]
        assert validate(p).errors == validate(p).warnings == []
    ops = {n.op for e in examples() for n in Pipeline.from_json(e["pipeline"]).nodes}
    assert {"count_final", "fold_window", "stateful_map", "join", "enrich_cached"} <= ops


def test_gallery_cli_prints_the_examples():
    status, out, err = pipeline_cli("gallery")
    assert status == 0, err
    assert json.loads(out) == json.loads(json.dumps(examples(), ensure_ascii=False))


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_example_runs_from_any_directory(slug, tmp_path):
    lines = run_ok(EXAMPLES_DIR / f"{slug}.py", tmp_path)
    check_output(slug, lines, tmp_path)


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_the_imported_example_exports_to_a_file_that_runs_the_same(slug, tmp_path):
    """The studio runs what it exports: that file must behave as the original."""
    pipeline = Pipeline.from_json(next(e for e in examples() if e["slug"] == slug)["pipeline"])
    assert pipeline == import_source(example_sources()[slug])
    path = tmp_path / "exported" / f"{slug}.py"
    path.parent.mkdir()
    path.write_text(export(pipeline))
    check_output(slug, run_ok(path, tmp_path), tmp_path)


def test_the_sensor_example_uses_event_time():
    p = import_source(example_sources()["sensor_averages"])
    window = next(n for n in p.nodes if n.op == "fold_window")
    assert window.params["clock"].code.startswith("EventClock(")
    assert window.params["windower"].code.startswith("TumblingWindower(")
    # The readings span whole minutes that end well before now: the clock, not
    # the system time, closes the windows.
    rows = list(csv.DictReader(open(DATA / "sensors.csv", newline="")))
    times = [datetime.fromisoformat(r["time"]) for r in rows]
    assert times != sorted(times), "the data should have readings out of order"
    assert max(times) < datetime.now(timezone.utc) - timedelta(days=1)
