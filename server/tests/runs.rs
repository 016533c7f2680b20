//! Runs end to end: the studio on a real socket, a database of its own per
//! test, real `python -m rillet.run` processes reporting over the real
//! telemetry socket, and a real WebSocket client.

mod runs_support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use runs_support::*;
use serde_json::json;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_metrics_and_logs_of_a_live_run() {
    let studio = Studio::start().await;
    let p = studio.pipeline("live", endless("live", 0.0005)).await;
    let run = studio.start_run(p, json!({"workers": 2, "epoch_interval_ms": 1000})).await;
    let id = run["id"].as_i64().unwrap();
    assert_eq!((run["status"].as_str(), run["workers"].as_i64()), (Some("starting"), Some(2)));

    let mut ws = studio.ws(id).await;
    let first = next_matching(&mut ws, LONG, |m| (m["type"] == "status").then(|| m.clone())).await;
    assert_eq!(first["run"]["id"], id);
    send(&mut ws, json!({"type": "subscribe", "step_id": "live.double", "rate": 50})).await;
    // Records of the chosen step arrive, as the engine's reprs.
    let items = next_matching(&mut ws, LONG, |m| {
        (m["type"] == "records" && m["step_id"] == "live.double" && !m["items"].as_array()?.is_empty())
            .then(|| m.clone())
    })
    .await;
    for item in items["items"].as_array().unwrap() {
        let n: i64 = item.as_str().unwrap().parse().expect("an int's repr");
        assert_eq!(n % 2, 0, "the output of `double`");
    }
    assert!(items["missed"].is_u64());

    // Metrics at least once a second, with items flowing.
    let steps = next_matching(&mut ws, LONG, |m| {
        let s = &m["steps"]["live.double"];
        (m["type"] == "metrics" && s["items_out_per_s"].as_f64()? > 0.0).then(|| m["steps"].clone())
    })
    .await;
    let d = &steps["live.double"];
    assert!(d["process_p50_ns"].as_f64().unwrap() > 0.0, "{d}");
    assert!(d["latency_p99_ns"].as_f64().unwrap() >= d["latency_p50_ns"].as_f64().unwrap(), "{d}");
    assert!(d["state_keys"].is_null());
    let status = studio.get(&format!("/api/runs/{id}")).await.1;
    assert_eq!(status["status"], "running");

    // A filter keeps only matching reprs.
    send(&mut ws, json!({"type": "subscribe", "step_id": "live.double", "filter": "0", "rate": 200})).await;
    let filtered = next_matching(&mut ws, LONG, |m| {
        let items = m["items"].as_array()?;
        (m["type"] == "records" && items.len() > 3 && items.iter().all(|i| i.as_str().unwrap().contains('0')))
            .then(|| m.clone())
    })
    .await;
    assert!(filtered["missed"].as_u64().unwrap() > 0, "records without a 0 are missed: {filtered}");

    // Log lines come live and can be read back.
    let line = next_matching(&mut ws, LONG, |m| (m["type"] == "log").then(|| m["line"].clone())).await;
    assert!(line["text"].as_str().unwrap().starts_with("seen "), "{line}");
    assert_eq!(line["stream"], "stdout");
    let (code, logs) = studio.get(&format!("/api/runs/{id}/logs?after=0&limit=2")).await;
    assert_eq!(code, StatusCode::OK, "{logs}");
    let lines = logs["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["seq"].as_i64(), lines[1]["seq"].as_i64()), (Some(1), Some(2)));
    assert_eq!(logs["next"], 2);
    assert_eq!(logs["truncated"], false);
    let later = studio.get(&format!("/api/runs/{id}/logs?after=2&limit=1")).await.1;
    assert_eq!(later["lines"][0]["seq"], 3);

    // Prometheus text, for a scraper with the token.
    let (code, text) = studio.get_text("/metrics", Some(&studio.state.token)).await;
    assert_eq!(code, StatusCode::OK);
    let out: u64 = text
        .lines()
        .filter(|l| l.starts_with("rillet_step_items_out_total{") && l.contains("step_id=\"live.double\""))
        .filter(|l| l.contains(&format!("run=\"{id}\"")))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(out > 0, "{text}");
    assert!(text.contains("rillet_step_latency_seconds_bucket{"));
    assert!(text.contains("rillet_runs{status=\"running\"} 1"));
    assert!(text.contains("rillet_ws_clients 1"));
    let (code, _) = studio.get_text("/metrics", Some("wrong")).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    let (code, _) = studio.post(&format!("/api/runs/{id}/stop"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let end = next_matching(&mut ws, LONG, |m| {
        (m["type"] == "status" && !m["run"]["ended_at"].is_null()).then(|| m["run"].clone())
    })
    .await;
    assert_eq!(end["status"], "stopped");
    // Logs of an ended run come from PostgreSQL.
    let all = studio.get(&format!("/api/runs/{id}/logs?limit=5000")).await.1;
    assert!(all["lines"].as_array().unwrap().len() >= 3);
    studio.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snippet_that_raises_fails_the_run_with_step_and_traceback() {
    let studio = Studio::start().await;
    let boom = "def check(x):\n    if x == 3:\n        raise ValueError(f\"bad record {x}\")\n    return x";
    let pipeline = chain(
        "boom",
        "from rillet.testing import TestingSink, TestingSource\n\nOUT = []",
        &[
            ("input", "nums", json!({"source": expr("TestingSource(range(10))")})),
            ("map", "check", json!({"mapper": function("check", boom)})),
            ("output", "out", json!({"sink": expr("TestingSink(OUT)")})),
        ],
    );
    let p = studio.pipeline("boom", pipeline).await;
    let id = studio.start_run(p, json!({})).await["id"].as_i64().unwrap();
    let mut ws = studio.ws(id).await;
    let run = studio.wait_ended(id, LONG).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["exit_code"], 1);
    let e = &run["error"];
    assert_eq!(e["step_id"], "boom.check");
    assert_eq!(e["node_id"], "n1", "the node of the pipeline, for the editor");
    assert_eq!(e["kind"], "user");
    assert!(e["message"].as_str().unwrap().contains("bad record 3"), "{e}");
    let tb = e["traceback"].as_str().unwrap();
    assert!(tb.starts_with("Traceback (most recent call last):"), "{tb}");
    assert!(tb.contains("in check") && tb.contains("ValueError: bad record 3"), "{tb}");
    assert!(run["exit_reason"].as_str().unwrap().contains("boom.check"));
    // The WebSocket tells too (whenever it connected: on connect, or live).
    let err = next_matching(&mut ws, LONG, |m| (m["type"] == "error").then(|| m["error"].clone())).await;
    assert_eq!(err["step_id"], "boom.check");
    // The CLI's own report is in the logs.
    let logs = studio.get(&format!("/api/runs/{id}/logs")).await.1;
    let text: Vec<&str> = logs["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert!(text.iter().any(|t| t.contains("bad record 3")), "{text:?}");
    studio.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_in_user_code_stops_within_five_seconds() {
    let studio = Studio::start().await;
    let spin = "def spin(x):\n    while True:\n        pass";
    let pipeline = chain(
        "spin",
        "from rillet.testing import TestingSink, TestingSource\n\nOUT = []",
        &[
            ("input", "nums", json!({"source": expr("TestingSource(range(10))")})),
            ("map", "spin", json!({"mapper": function("spin", spin)})),
            ("output", "out", json!({"sink": expr("TestingSink(OUT)")})),
        ],
    );
    let p = studio.pipeline("spin", pipeline).await;
    let id = studio.start_run(p, json!({})).await["id"].as_i64().unwrap();
    // Stuck in user code: running, and no items come out.
    studio.wait_run(id, LONG, |r| r["status"] == "running").await;
    let stopping = Instant::now();
    let (code, _) = studio.post(&format!("/api/runs/{id}/stop"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let run = studio.wait_ended(id, Duration::from_secs(5)).await;
    assert_eq!(run["status"], "stopped", "{run}");
    assert!(stopping.elapsed() < Duration::from_secs(5));
    assert!(run["exit_reason"].as_str().unwrap().starts_with("stopped on request"), "{run}");
    // Stopping again is a conflict, not a crash.
    let (code, body) = studio.post(&format!("/api/runs/{id}/stop"), json!({})).await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    studio.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finite_run_succeeds_and_several_run_at_once() {
    let studio = Studio::start().await;
    let pipeline = |flow: &str| {
        chain(
            flow,
            "from rillet.testing import TestingSource\nfrom rillet.connectors.stdio import StdOutSink",
            &[
                ("input", "nums", json!({"source": expr("TestingSource(range(5))")})),
                ("output", "out", json!({"sink": expr("StdOutSink()")})),
            ],
        )
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        let p = studio.pipeline(&format!("finite {i}"), pipeline(&format!("finite{i}"))).await;
        ids.push(studio.start_run(p, json!({"workers": 1})).await["id"].as_i64().unwrap());
    }
    for id in ids {
        let run = studio.wait_ended(id, LONG).await;
        assert_eq!((run["status"].as_str(), run["exit_code"].as_i64()), (Some("succeeded"), Some(0)), "{run}");
        assert!(run["error"].is_null());
        let logs = studio.get(&format!("/api/runs/{id}/logs")).await.1;
        let text: Vec<&str> = logs["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
        assert_eq!(text, ["0", "1", "2", "3", "4"]);
    }
    let list = studio.get("/api/runs").await.1;
    assert_eq!(list.as_array().unwrap().len(), 3);
    studio.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_what_to_do() {
    let studio = Studio::start().await;
    let p = studio.pipeline("ok", endless("ok", 0.001)).await;
    let (code, body) = studio.post(&format!("/api/pipelines/{p}/runs"), json!({"workers": 17})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("between 1 and 16"));
    let (code, body) = studio.post(&format!("/api/pipelines/{p}/runs"), json!({"epoch_interval_ms": 1500})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = studio.post(&format!("/api/pipelines/{p}/runs"), json!({"version": 9})).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = studio.post("/api/pipelines/999999/runs", json!({})).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // A pipeline that doesn't validate is refused with its issues.
    let broken = chain("broken", "", &[("map", "m", json!({"mapper": function("f", "def f(x) return x")}))]);
    let bp = studio.pipeline("broken", broken).await;
    let (code, body) = studio.post(&format!("/api/pipelines/{bp}/runs"), json!({})).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(!body["error"]["issues"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(studio.get("/api/runs").await.1, json!([]), "nothing was started");
    let (code, _) = studio.get("/api/runs/424242").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    studio.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_origin_websocket_is_refused() {
    let studio = Studio::start().await;
    let p = studio.pipeline("x", endless("x", 0.001)).await;
    let id = studio.start_run(p, json!({})).await["id"].as_i64().unwrap();
    let Err(err) = studio.ws_with_origin(id, "http://evil.example").await else { panic!("a foreign origin connected") };
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), StatusCode::FORBIDDEN),
        other => panic!("expected an HTTP 403, got {other}"),
    }
    // Without a session, 401.
    let req = format!("ws://{}/api/runs/{id}/live", studio.addr);
    let Err(err) = tokio_tungstenite::connect_async(req).await else { panic!("no session, yet connected") };
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), StatusCode::UNAUTHORIZED),
        other => panic!("expected an HTTP 401, got {other}"),
    }
    studio.close().await;
}

/// A process group leader that looks like a run: `sleep` in a group of its own.
fn orphan() -> std::process::Child {
    use std::os::unix::process::CommandExt;
    std::process::Command::new("sleep").arg("600").process_group(0).spawn().unwrap()
}

fn start_ticks(pid: u32) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..].split_whitespace().nth(19).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_marks_the_runs_it_finds_alive() {
    let (url, name) = fresh_database();
    let first = Studio::start_on(&url, &name).await;
    let p = first.pipeline("left behind", endless("left", 0.001)).await;
    // Three runs "alive" in the table: one whose process is gone, one whose
    // pid was reused by another process, one still running unwatched.
    let mut orphan = orphan();
    let gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    let mut gone = gone;
    gone.wait().unwrap();
    let pool = first.state.pool.clone();
    let insert = |pid: i64, ticks: Option<i64>| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO runs (pipeline_id, version, status, workers, epoch_interval_ms, pid, pid_start_ticks,
                                   started_at) VALUES ($1, 1, 'running', 1, 1000, $2, $3, now()) RETURNING id",
            )
            .bind(p)
            .bind(pid as i32)
            .bind(ticks)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let lost = insert(gone_pid as i64, Some(1)).await;
    let reused = insert(std::process::id() as i64, Some(1)).await;
    let alive = insert(orphan.id() as i64, Some(start_ticks(orphan.id()))).await;
    // A real run, left behind by a server that goes away without stopping it.
    let real = first.start_run(p, json!({})).await["id"].as_i64().unwrap();
    first.wait_run(real, LONG, |r| r["status"] == "running").await;
    first.crash().await;

    let second = Studio::start_on(&url, &name).await;
    let get = |id: i64| {
        let s = &second;
        async move { s.get(&format!("/api/runs/{id}")).await.1 }
    };
    let r = get(lost).await;
    assert_eq!(r["status"], "lost", "{r}");
    assert!(r["exit_reason"].as_str().unwrap().contains("outcome is unknown"));
    assert!(!r["ended_at"].is_null());
    assert_eq!(get(reused).await["status"], "lost", "another process with the same pid is not the run");
    for id in [alive, real] {
        let r = get(id).await;
        assert_eq!(r["status"], "stopped", "{r}");
        assert!(r["exit_reason"].as_str().unwrap().contains("restarted"), "{r}");
    }
    let status = orphan.wait().unwrap();
    assert!(!status.success(), "the orphan was stopped: {status:?}");
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_bounded_and_say_so() {
    let studio = Studio::start_with(|c| {
        c.runs.log_max_lines = 10;
        c.runs.log_memory_lines = 5;
        c.runs.log_line_bytes = 64;
    })
    .await;
    let pipeline = chain(
        "chatty",
        "from rillet.testing import TestingSource\nfrom rillet.connectors.stdio import StdOutSink",
        &[
            ("input", "nums", json!({"source": expr("TestingSource(range(30))")})),
            (
                "map",
                "pad",
                json!({"mapper": function("pad", "def pad(x):\n    return str(x) * (100 if x == 3 else 1)")}),
            ),
            ("output", "out", json!({"sink": expr("StdOutSink()")})),
        ],
    );
    let p = studio.pipeline("chatty", pipeline).await;
    let id = studio.start_run(p, json!({})).await["id"].as_i64().unwrap();
    assert_eq!(studio.wait_ended(id, LONG).await["status"], "succeeded");
    let logs = studio.get(&format!("/api/runs/{id}/logs?after=0&limit=100")).await.1;
    let lines = logs["lines"].as_array().unwrap();
    // The first 10 lines were stored; the last 5 are still in memory.
    let seqs: Vec<i64> = lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 26, 27, 28, 29, 30]);
    assert_eq!(logs["truncated"], true, "lines 11 to 25 are gone");
    assert_eq!(logs["next"], 30);
    let long = lines[3]["text"].as_str().unwrap();
    assert_eq!(long, format!("{}…", "3".repeat(64)), "a long line is cut");
    let rest = studio.get(&format!("/api/runs/{id}/logs?after=2&limit=3")).await.1;
    assert_eq!(rest["truncated"], false);
    assert_eq!(rest["next"], 5);
    let (code, _) = studio.get(&format!("/api/runs/{id}/logs?limit=0")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    studio.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_from_outside_fails_and_the_server_stays_up() {
    let studio = Studio::start().await;
    let p = studio.pipeline("victim", endless("victim", 0.001)).await;
    let id = studio.start_run(p, json!({})).await["id"].as_i64().unwrap();
    studio.wait_run(id, LONG, |r| r["status"] == "running").await;
    let pid: i32 =
        sqlx::query_scalar("SELECT pid FROM runs WHERE id = $1").bind(id).fetch_one(&studio.state.pool).await.unwrap();
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    let run = studio.wait_ended(id, LONG).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["exit_reason"], "killed by SIGKILL (out of memory?)");
    assert_eq!(run["error"]["kind"], "internal");
    // The server goes on: another run starts and is watched.
    let again = studio.start_run(p, json!({})).await["id"].as_i64().unwrap();
    studio.wait_run(again, LONG, |r| r["status"] == "running").await;
    studio.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shutting_down_stops_its_runs_and_says_why() {
    let studio = Studio::start().await;
    let p = studio.pipeline("busy", endless("busy", 0.001)).await;
    let id = studio.start_run(p, json!({})).await["id"].as_i64().unwrap();
    studio.wait_run(id, LONG, |r| r["status"] == "running").await;
    // A pipeline with a live run can't be deleted.
    assert_eq!(studio.delete(&format!("/api/pipelines/{p}")).await, StatusCode::CONFLICT);
    rillet_studio::runs::shutdown(&studio.state).await;
    let run = studio.get(&format!("/api/runs/{id}")).await.1;
    assert_eq!(run["status"], "stopped", "{run}");
    assert!(run["exit_reason"].as_str().unwrap().starts_with("the studio server shut down"), "{run}");
    assert_eq!(studio.delete(&format!("/api/pipelines/{p}")).await, StatusCode::NO_CONTENT);
    assert_eq!(studio.get("/api/runs").await.1, json!([]), "its runs went with it");
    studio.close().await;
}
