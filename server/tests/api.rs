//! Pipelines, versions, diff, gallery, catalog, validation, export and
//! import, through the app in-process against a real PostgreSQL.

mod common;

use axum::http::{header, StatusCode};
use common::TestApp;
use rillet_studio::model::Pipeline;
use serde_json::{json, Value};

fn example(app: &TestApp, slug: &str) -> Value {
    let e = app.state.catalog.example(slug).unwrap_or_else(|| panic!("gallery has {slug}"));
    serde_json::to_value(&e.pipeline).unwrap()
}

#[tokio::test]
async fn pipelines_crud_and_immutable_versions() {
    let app = TestApp::new().await;
    let c = app.client().await;

    let created = c.post("/api/pipelines", &json!({"name": "Word count"})).await.expect(StatusCode::CREATED).json();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["latest_version"], 1);
    assert_eq!(created["version"]["number"], 1);
    assert_eq!(created["version"]["pipeline"]["flow_id"], "word_count");
    assert_eq!(created["version"]["pipeline"]["nodes"], json!([]));

    let dup = c.post("/api/pipelines", &json!({"name": "Word count"})).await.expect(StatusCode::CONFLICT);
    assert_eq!(dup.code(), "conflict");
    assert!(dup.json()["error"]["message"].as_str().unwrap().contains("already exists"));
    let r = c.post("/api/pipelines", &json!({"name": "  "})).await.expect(StatusCode::BAD_REQUEST);
    assert!(r.text.contains("1 to 200 characters"), "{}", r.text);
    c.post("/api/pipelines", &json!({"name": "x".repeat(201)})).await.expect(StatusCode::BAD_REQUEST);

    // Saves are new versions; the first stays as it was.
    let wc = example(&app, "wordcount");
    let v2 = c
        .post(&format!("/api/pipelines/{id}/versions"), &json!({"pipeline": wc, "note": "the real thing"}))
        .await
        .expect(StatusCode::CREATED)
        .json();
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["note"], "the real thing");
    let versions = c.get(&format!("/api/pipelines/{id}/versions")).await.expect(StatusCode::OK).json();
    let numbers: Vec<i64> = versions.as_array().unwrap().iter().map(|v| v["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [2, 1]);
    let v1 = c.get(&format!("/api/pipelines/{id}/versions/1")).await.expect(StatusCode::OK).json();
    assert_eq!(v1["pipeline"]["nodes"], json!([]));
    let got: Pipeline = serde_json::from_value(
        c.get(&format!("/api/pipelines/{id}/versions/2")).await.expect(StatusCode::OK).json()["pipeline"].clone(),
    )
    .unwrap();
    assert_eq!(got, serde_json::from_value::<Pipeline>(wc.clone()).unwrap());
    let r = c.get(&format!("/api/pipelines/{id}/versions/9")).await.expect(StatusCode::NOT_FOUND);
    assert!(r.text.contains("has no version 9"), "{}", r.text);
    let detail = c.get(&format!("/api/pipelines/{id}")).await.expect(StatusCode::OK).json();
    assert_eq!(detail["latest_version"], 2);
    assert_eq!(detail["version"]["note"], "the real thing");

    // The database itself refuses to change a version.
    let err = sqlx::query("UPDATE pipeline_versions SET note = 'changed'").execute(&app.state.pool).await.unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");

    // A pipeline with a field the model does not know is refused.
    let mut bad = wc.clone();
    bad["nodes"][0]["colour"] = json!("red");
    let r = c.post(&format!("/api/pipelines/{id}/versions"), &json!({"pipeline": bad})).await;
    let r = r.expect(StatusCode::BAD_REQUEST);
    assert!(r.text.contains("unknown field `colour`"), "{}", r.text);

    // Rename, list (newest edit first).
    let other = c.post("/api/pipelines", &json!({"name": "Other"})).await.expect(StatusCode::CREATED).json();
    let renamed = c.patch(&format!("/api/pipelines/{id}"), &json!({"name": "Words"})).await.expect(StatusCode::OK);
    assert_eq!(renamed.json()["name"], "Words");
    c.patch(&format!("/api/pipelines/{id}"), &json!({"name": "Other"})).await.expect(StatusCode::CONFLICT);
    let list = c.get("/api/pipelines").await.expect(StatusCode::OK).json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Words", "Other"]);
    assert_eq!(list[0]["latest_version"], 2);
    assert_eq!(list[0]["last_run"], Value::Null);

    // Duplicate: version 1 of the copy is the latest of the original.
    let copy = c.post(&format!("/api/pipelines/{id}/duplicate"), &json!({})).await.expect(StatusCode::CREATED).json();
    assert_eq!(copy["name"], "Words (copy)");
    assert_eq!(copy["latest_version"], 1);
    assert_eq!(copy["version"]["pipeline"], detail["version"]["pipeline"]);
    let copy2 = c.post(&format!("/api/pipelines/{id}/duplicate"), &json!({})).await.expect(StatusCode::CREATED);
    assert_eq!(copy2.json()["name"], "Words (copy) (2)");
    let named = c.post(&format!("/api/pipelines/{id}/duplicate"), &json!({"name": "Mine"})).await;
    assert_eq!(named.expect(StatusCode::CREATED).json()["name"], "Mine");

    // Delete takes the versions along.
    c.delete(&format!("/api/pipelines/{id}")).await.expect(StatusCode::NO_CONTENT);
    let r = c.get(&format!("/api/pipelines/{id}")).await.expect(StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
    c.get(&format!("/api/pipelines/{id}/versions")).await.expect(StatusCode::NOT_FOUND);
    c.delete(&format!("/api/pipelines/{id}")).await.expect(StatusCode::NOT_FOUND);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pipeline_versions WHERE pipeline_id = $1")
        .bind(id)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    c.get(&format!("/api/pipelines/{}", other["id"])).await.expect(StatusCode::OK);
    c.get("/api/pipelines/abc").await.expect(StatusCode::BAD_REQUEST);
    c.get("/api/nothing-here").await.expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn diff_of_two_versions_shows_graph_and_code() {
    let app = TestApp::new().await;
    let c = app.client().await;
    let a = example(&app, "wordcount");
    let id = c.post("/api/pipelines", &json!({"name": "wc", "pipeline": a})).await.expect(StatusCode::CREATED).json()
        ["id"]
        .as_i64()
        .unwrap();
    let mut b = a.clone();
    b["nodes"][1]["params"]["mapper"]["code"] = json!("def lower_words(line):\n    return line.split()\n");
    b["nodes"][2]["step_id"] = json!("tally");
    b["prelude"] = json!(format!("{}\nimport os\n", a["prelude"].as_str().unwrap()));
    c.post(&format!("/api/pipelines/{id}/versions"), &json!({"pipeline": b})).await.expect(StatusCode::CREATED);

    let d = c.get(&format!("/api/pipelines/{id}/diff?from=1&to=2")).await.expect(StatusCode::OK).json();
    assert_eq!(d["nodes"]["added"], json!([]));
    assert_eq!(d["nodes"]["removed"], json!([]));
    assert_eq!(
        d["nodes"]["changed"],
        json!([
            {"id": "count", "step_id": "tally", "fields": ["step_id"]},
            {"id": "words", "step_id": "words", "fields": ["params.mapper"]},
        ])
    );
    assert_eq!(d["edges"], json!({"added": [], "removed": []}));
    let code = d["code"].as_array().unwrap();
    assert_eq!(code[0]["where"], "prelude");
    assert!(code[0]["diff"].as_str().unwrap().contains("+import os"), "{}", code[0]["diff"]);
    assert_eq!(code[1]["where"], "words.mapper");
    assert!(code[1]["diff"].as_str().unwrap().contains("+    return line.split()"), "{}", code[1]["diff"]);

    let same = c.get(&format!("/api/pipelines/{id}/diff?from=2&to=2")).await.expect(StatusCode::OK).json();
    assert_eq!(same["code"], json!([]));
    c.get(&format!("/api/pipelines/{id}/diff?from=1")).await.expect(StatusCode::BAD_REQUEST);
    c.get(&format!("/api/pipelines/{id}/diff?from=1&to=3")).await.expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn gallery_and_catalog() {
    let app = TestApp::new().await;
    let c = app.client().await;
    let cat = c.get("/api/catalog").await.expect(StatusCode::OK).json();
    assert_eq!(cat["schema_version"], 1);
    let ops: Vec<&str> = cat["operators"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    for op in ["input", "map", "output", "count_final"] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    let list = c.get("/api/examples").await.expect(StatusCode::OK).json();
    let first = &list[0];
    assert_eq!(first["slug"], "wordcount");
    assert!(first.get("pipeline").is_none(), "the list is a summary");
    let made = c.post("/api/examples/wordcount", &json!({})).await.expect(StatusCode::CREATED).json();
    assert_eq!(made["name"], first["title"]);
    assert_eq!(made["version"]["pipeline"], example(&app, "wordcount"));
    let again = c.post("/api/examples/wordcount", &json!({})).await.expect(StatusCode::CREATED).json();
    assert_eq!(again["name"], format!("{} (2)", first["title"].as_str().unwrap()));
    let named = c.post("/api/examples/wordcount", &json!({"name": "Mine"})).await.expect(StatusCode::CREATED);
    assert_eq!(named.json()["name"], "Mine");
    let r = c.post("/api/examples/nope", &json!({})).await.expect(StatusCode::NOT_FOUND);
    assert!(r.text.contains("GET /api/examples"), "{}", r.text);
}

#[tokio::test]
async fn validation_reports_errors_on_nodes_and_fields() {
    let app = TestApp::new().await;
    let c = app.client().await;
    let good = example(&app, "wordcount");
    let r = c.post("/api/validate", &json!({"pipeline": good})).await.expect(StatusCode::OK).json();
    assert_eq!(r["errors"], json!([]), "{r}");

    let mut bad = good.clone();
    bad["nodes"][1]["params"]["mapper"]["code"] = json!("def lower_words(line):\n    return (line\n");
    bad["nodes"][2]["step_id"] = json!("words");
    let r = c.post("/api/validate", &json!({"pipeline": bad})).await.expect(StatusCode::OK).json();
    let errors = r["errors"].as_array().unwrap();
    let syntax = errors.iter().find(|e| e["field"] == "mapper").unwrap_or_else(|| panic!("{r}"));
    assert_eq!(syntax["node"], "words");
    assert_eq!(syntax["line"], 2);
    assert!(syntax["message"].as_str().unwrap().contains("syntax error"), "{syntax}");
    let dup = errors.iter().find(|e| e["field"] == "step_id").unwrap_or_else(|| panic!("{r}"));
    assert!(dup["message"].as_str().unwrap().contains("unique step id"), "{dup}");

    // Export refuses it with the same issues, as 422.
    let r = c.post("/api/export", &json!({"pipeline": bad})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid");
    assert!(r.json()["error"]["issues"].as_array().unwrap().iter().any(|i| i["node"] == "words"), "{}", r.text);

    // Not the model at all: 400 names the field.
    let r = c.post("/api/validate", &json!({"pipeline": {"schema_version": 2}})).await;
    assert!(r.expect(StatusCode::BAD_REQUEST).text.contains("schema_version"));
}

#[tokio::test]
async fn export_then_import_gives_back_every_gallery_pipeline() {
    let app = TestApp::new().await;
    let c = app.client().await;
    assert!(app.state.catalog.examples.len() >= 3);
    for e in &app.state.catalog.examples {
        let original = serde_json::to_value(&e.pipeline).unwrap();
        let source = c.post("/api/export", &json!({"pipeline": original})).await.expect(StatusCode::OK).json()
            ["source"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(source.contains("Dataflow("), "{source}");
        let back = c.post("/api/import", &json!({"source": source})).await.expect(StatusCode::OK).json();
        let back: Pipeline = serde_json::from_value(back["pipeline"].clone()).unwrap();
        assert_eq!(back, e.pipeline, "round trip of {}", e.slug);
    }

    // The download of a saved version is the same file.
    let wc = example(&app, "wordcount");
    let id = c.post("/api/pipelines", &json!({"name": "wc", "pipeline": wc})).await.json()["id"].as_i64().unwrap();
    let file = c.get(&format!("/api/pipelines/{id}/versions/1/export")).await.expect(StatusCode::OK);
    assert_eq!(file.headers[header::CONTENT_TYPE], "text/x-python; charset=utf-8");
    assert_eq!(file.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"wordcount.py\"");
    let direct = c.post("/api/export", &json!({"pipeline": wc})).await.json();
    assert_eq!(file.text, direct["source"].as_str().unwrap());
}

#[tokio::test]
async fn import_errors_name_the_line() {
    let app = TestApp::new().await;
    let c = app.client().await;
    let source = "import rillet.operators as op\nfrom rillet.dataflow import Dataflow\n\
                  flow = Dataflow('f')\nfor i in range(3):\n    op.input(f's{i}', flow, None)\n";
    let r = c.post("/api/import", &json!({"source": source})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let issue = &r.json()["error"]["issues"][0];
    assert_eq!(issue["line"], 4);
    assert!(issue["message"].as_str().unwrap().contains("loop"), "{issue}");
    let r = c.post("/api/import", &json!({"source": "x = (\n"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("syntax error"), "{}", r.text);
}

#[tokio::test]
async fn delete_waits_for_live_runs_and_last_run_is_listed() {
    let app = TestApp::new().await;
    let c = app.client().await;
    let id = c.post("/api/pipelines", &json!({"name": "busy"})).await.json()["id"].as_i64().unwrap();
    // A run as the runs module records one (its process is not needed here).
    let run: i64 = sqlx::query_scalar(
        "INSERT INTO runs (pipeline_id, version, status, workers, epoch_interval_ms, started_at)
         VALUES ($1, 1, 'running', 1, 10000, now()) RETURNING id",
    )
    .bind(id)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    let list = c.get("/api/pipelines").await.expect(StatusCode::OK).json();
    assert_eq!(list[0]["last_run"]["id"], run);
    assert_eq!(list[0]["last_run"]["status"], "running");
    let r = c.delete(&format!("/api/pipelines/{id}")).await.expect(StatusCode::CONFLICT);
    assert!(r.text.contains(&format!("POST /api/runs/{run}/stop")), "{}", r.text);
    sqlx::query("UPDATE runs SET status = 'stopped', ended_at = now() WHERE id = $1")
        .bind(run)
        .execute(&app.state.pool)
        .await
        .unwrap();
    c.delete(&format!("/api/pipelines/{id}")).await.expect(StatusCode::NO_CONTENT);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(&app.state.pool).await.unwrap();
    assert_eq!(left, 0, "runs go with their pipeline");
}

#[tokio::test]
async fn server_faults_are_logged_not_sent() {
    let app = TestApp::with_config(|c| c.python = "/nonexistent/bin/python".into()).await;
    let c = app.client().await;
    let wc = serde_json::to_value(&app.state.catalog.examples[0].pipeline).unwrap();
    let r = c.post("/api/validate", &json!({"pipeline": wc})).await.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "unavailable");
    assert!(r.text.contains("scripts/setup") && !r.text.contains("/nonexistent"), "{}", r.text);

    // A stored version the model can't read is a bug: 500 without details.
    let id = c.post("/api/pipelines", &json!({"name": "p"})).await.json()["id"].as_i64().unwrap();
    sqlx::query("INSERT INTO pipeline_versions (pipeline_id, number, pipeline) VALUES ($1, 2, '{\"bad\": 1}')")
        .bind(id)
        .execute(&app.state.pool)
        .await
        .unwrap();
    let r = c.get(&format!("/api/pipelines/{id}/versions/2")).await.expect(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.code(), "internal");
    assert!(r.text.contains("details are in the server's log") && !r.text.contains("parse"), "{}", r.text);
}
