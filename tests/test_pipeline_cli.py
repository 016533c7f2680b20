"""`python -m rillet.pipeline`: what the studio server runs in a subprocess.

Every failure answers with `{"errors": [issue], "warnings": []}` on stdout
and a non-zero status, so the server can relay it as is."""

import io
import json

import pytest

from pipeline_support import E, chain, fixtures, pipeline_cli
from rillet.pipeline import __main__ as cli
from rillet.pipeline.model import Pipeline

pytestmark = pytest.mark.subprocess

ISSUE_KEYS = ["node", "field", "line", "column", "message"]


def run(command, stdin=""):
    out = io.StringIO()
    status = cli.main([command], io.StringIO(stdin), out)
    return status, out.getvalue()


def test_validate_prints_issues_and_fails_on_errors():
    good = fixtures()["keyed_sum"].dumps()
    status, out = run("validate", good)
    assert (status, json.loads(out)) == (0, {"errors": [], "warnings": []})
    bad = chain(("input", "i", {"source": E("TestingSource([1])")}), ("map", "m", {}),
                prelude="from rillet.testing import TestingSource")  # fmt: skip
    status, out = run("validate", bad.dumps())
    assert status == 1
    assert json.loads(out) == {
        "errors": [{"node": "m", "field": "mapper", "line": None, "column": None,
                    "message": "step 'm' needs the param 'mapper' (Called on each item; returns the item to "
                               "emit.); set it"}],
        "warnings": [],
    }  # fmt: skip


def test_export_prints_the_file_or_the_issues():
    p = fixtures()["branch_merge"]
    status, out = run("export", p.dumps())
    assert status == 0 and out.startswith("# Dataflow 'demo', written by the Rillet studio.\n")
    broken = Pipeline(p.flow_id, p.prelude + "\n(", p.nodes, p.edges)
    status, out = run("export", broken.dumps())
    assert status == 1
    issues = json.loads(out)["errors"]
    assert [list(i) for i in issues] == [ISSUE_KEYS]
    assert issues[0]["field"] == "prelude" and issues[0]["line"] == 7
    assert issues[0]["message"].startswith("Python syntax error in the prelude: ")


def test_import_prints_the_pipeline_or_the_line_and_step():
    source = "import rillet.operators as op\nfrom rillet.dataflow import Dataflow\nflow = Dataflow('f')\n"
    status, out = run("import", source + "s = op.input('s', flow, SOURCE)\n")
    assert status == 0
    assert Pipeline.loads(out).nodes[0].params == {"source": E("SOURCE")}
    status, out = run("import", source + "for i in range(2):\n    op.input(f's{i}', flow, SOURCE)\n")
    assert status == 1
    [issue] = json.loads(out)["errors"]
    assert (issue["node"], issue["field"], issue["line"], issue["column"]) == (None, None, 4, 1)
    assert issue["message"].startswith("line 4: a loop uses the dataflow or its streams;")


@pytest.mark.parametrize("command", ["validate", "export"])
@pytest.mark.parametrize(
    "text,message",
    [
        ("{", "the pipeline JSON is not valid: not valid JSON (line 1, column 2: Expecting property name "
              "enclosed in double quotes); send the pipeline as a JSON object"),
        ('{"schema_version": 1, "flow_id": "f", "nodes": [{}], "edges": []}',
         "the pipeline JSON is not valid: nodes[0]: missing key(s) 'id', 'op', 'step_id'; add them"),
    ],
)  # fmt: skip
def test_bad_json_is_an_issue_too(command, text, message):
    status, out = run(command, text)
    assert (status, json.loads(out)) == (
        1,
        {
            "errors": [{"node": None, "field": None, "line": None, "column": None, "message": message}],
            "warnings": [],
        },
    )


def test_a_bug_in_rillet_still_answers_in_the_issue_shape(monkeypatch, capsys):
    def boom(_):
        raise KeyError("surprise")

    monkeypatch.setattr(cli, "validate", boom)
    status, out = run("validate", fixtures()["keyed_sum"].dumps())
    assert status == 3
    assert json.loads(out)["errors"][0]["message"] == (
        "validate failed inside Rillet (KeyError: 'surprise'); this is a bug in Rillet, please report it "
        "with the input that caused it"
    )
    assert "Traceback" in capsys.readouterr().err


def test_subprocess_round_trip_in_utf8():
    p = chain(("input", "ünï", {"source": E("TestingSource(['é', '€'])")}),
              prelude="# ünïcödé ✓\nfrom rillet.testing import TestingSource", flow_id="flöw")  # fmt: skip
    status, source, err = pipeline_cli("export", p.dumps())
    assert status == 0, err
    assert "# ünïcödé ✓" in source and "TestingSource(['é', '€'])" in source
    status, out, err = pipeline_cli("import", source)
    assert status == 0, err
    assert Pipeline.loads(out) == p
    status, out, err = pipeline_cli("validate", out)
    assert (status, json.loads(out)) == (0, {"errors": [], "warnings": []})


def test_usage():
    status, out, err = pipeline_cli("frobnicate")
    assert (status, out) == (2, "")
    assert (
        err == "usage: python -m rillet.pipeline {catalog|gallery|validate|export|import} < input > output\n"
    )
