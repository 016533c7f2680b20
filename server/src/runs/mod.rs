//! Runs: worker processes, logs, live data and metrics (API.md, *Runs*,
//! *Live data*, *Metrics*; engine/TELEMETRY.md for the run channel).
//!
//! Which file does what:
//! - `registry`: the runs alive in this server, the shared state of each;
//! - `supervisor`: exports a version, starts `python -m rillet.run` in its
//!   own process group, watches it, stops it, records the outcome;
//! - `process`: process groups, signals and `/proc` identity checks;
//! - `recovery`: at start-up, marks the runs a previous server left behind;
//! - `logs`: stdout/stderr of user code, bounded in memory and in PostgreSQL;
//! - `telemetry`: the Unix socket the runs report to;
//! - `metrics`: cumulative engine counters turned into rates and quantiles;
//! - `hub`: live subscribers of a run, with bounded queues and `missed`;
//! - `live`: the `GET /api/runs/{id}/live` WebSocket;
//! - `prometheus`: `GET /metrics`;
//! - `db`: the `runs` table; `routes`: the REST handlers.
//!
//! Choices API.md leaves open:
//! - `epoch_interval_ms` is whole seconds (`python -m rillet.run -s` takes
//!   seconds); anything else is a 400 that says so.
//! - `status` is `starting` until the engine's `hello` names its flow.
//! - `pause` pauses records only (status, metrics, errors and logs go on);
//!   records passed meanwhile count into the next `missed`. A client message
//!   the server can't read gets `{"type": "warning", "message": ...}`.
//! - Logs: `truncated` is true when lines between `after` and `next` were
//!   not kept (over `log_max_lines`, or older than the in-memory lines).
//! - `/metrics` covers the runs alive in this server and its last
//!   `keep_ended_runs` ended ones; the `pipeline` label is the pipeline id.
//! - A run whose process a restarted server finds still alive (same pid and
//!   start time) is stopped and marked `stopped`; one that is gone, `lost`.

mod db;
mod hub;
mod live;
mod logs;
pub mod metrics;
mod process;
mod prometheus;
mod recovery;
mod registry;
mod routes;
mod supervisor;
mod telemetry;

use std::collections::HashMap;

use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::error::AppResult;
use crate::state::AppState;

pub use recovery::recover;
pub use registry::RunsState;

/// The `[runs]` table of the configuration (studio.defaults.toml documents
/// every key).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunsConfig {
    /// Milliseconds between SIGTERM and SIGKILL when a run is stopped.
    pub stop_grace_ms: u64,
    /// Log lines of a run kept in memory (the newest ones).
    pub log_memory_lines: usize,
    /// Log lines of a run kept in PostgreSQL; later lines are dropped.
    pub log_max_lines: i64,
    /// Longest log line in bytes; longer ones are cut.
    pub log_line_bytes: usize,
    /// Messages (other than records) queued per live subscriber before the
    /// oldest are dropped.
    pub ws_queue_messages: usize,
    /// Ended runs whose metrics and live state stay in memory.
    pub keep_ended_runs: usize,
    /// Directory for run files and the telemetry socket. Empty: a new
    /// private directory under the system's temporary directory.
    pub work_dir: String,
}

impl Default for RunsConfig {
    fn default() -> Self {
        RunsConfig {
            stop_grace_ms: 3000,
            log_memory_lines: 2000,
            log_max_lines: 20_000,
            log_line_bytes: 8192,
            ws_queue_messages: 256,
            keep_ended_runs: 50,
            work_dir: String::new(),
        }
    }
}

/// The runs' routes (`/api/runs...`, `/api/pipelines/{id}/runs`, `/metrics`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pipelines/{id}/runs", post(routes::start))
        .route("/api/runs", get(routes::list))
        .route("/api/runs/{id}", get(routes::get_one))
        .route("/api/runs/{id}/stop", post(routes::stop))
        .route("/api/runs/{id}/logs", get(routes::logs))
        .route("/api/runs/{id}/live", get(live::upgrade))
        .route("/metrics", get(prometheus::metrics))
}

/// The id of a run of `pipeline_id` that is still alive, if any: deleting
/// the pipeline is refused while there is one.
pub async fn live_run_of(state: &AppState, pipeline_id: i64) -> AppResult<Option<i64>> {
    Ok(db::alive_of_pipeline(&state.pool, pipeline_id).await?)
}

/// `last_run` of each pipeline for `GET /api/pipelines`, by pipeline id:
/// `{id, status, started_at, ended_at, items_per_s}`.
pub async fn last_runs(state: &AppState, pipeline_ids: &[i64]) -> AppResult<HashMap<i64, serde_json::Value>> {
    let rows = db::last_of_pipelines(&state.pool, pipeline_ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let items_per_s = state.runs.items_per_s(r.id);
            let v = serde_json::json!({
                "id": r.id, "status": r.status, "started_at": r.started_at,
                "ended_at": r.ended_at, "items_per_s": items_per_s,
            });
            (r.pipeline_id, v)
        })
        .collect())
}

/// At server shutdown: stops every live run (marked `stopped`, "the studio
/// server shut down") and waits until each one's end is recorded.
pub async fn shutdown(state: &AppState) {
    for run in state.runs.live() {
        if let Err(e) = supervisor::stop(state, run.id, true).await {
            tracing::error!(run = run.id, error = %e, "could not stop a run at shutdown");
        }
    }
    let limit = std::time::Duration::from_millis(state.runs.config().stop_grace_ms + 5000);
    let deadline = tokio::time::Instant::now() + limit;
    while !state.runs.live().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
