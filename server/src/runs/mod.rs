//! Runs: worker processes, logs, live data and metrics.
//!
//! Owned by the "runs" work (issue 4); the rest of the server only calls the
//! items below, so this module can grow without changes elsewhere.

use axum::Router;
use serde::Deserialize;

use crate::error::AppResult;
use crate::state::AppState;

/// The `[runs]` table of the configuration (studio.defaults.toml).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsConfig {}

/// Shared state of the runs, kept in [`AppState::runs`].
#[derive(Debug, Clone, Default)]
pub struct RunsState {}

impl RunsState {
    pub fn new(_config: &RunsConfig) -> Self {
        RunsState {}
    }
}

/// The runs' routes (`/api/runs...`, `/api/pipelines/{id}/runs`, `/metrics`).
pub fn router() -> Router<AppState> {
    Router::new()
}

/// The id of a run of `pipeline_id` that is still alive, if any: deleting
/// the pipeline is refused while there is one.
pub async fn live_run_of(_state: &AppState, _pipeline_id: i64) -> AppResult<Option<i64>> {
    // No runs table yet (migration 0002 comes with runs), so nothing is alive.
    Ok(None)
}

/// `last_run` of each pipeline for `GET /api/pipelines`, by pipeline id.
pub async fn last_runs(
    _state: &AppState,
    _pipeline_ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, serde_json::Value>> {
    Ok(Default::default())
}
