//! The REST handlers of runs (API.md, *Runs*).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::db::{self, Run};
use super::supervisor::{self, StartRequest};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

const MAX_LIST: i64 = 500;
const DEFAULT_LOG_LIMIT: i64 = 500;
const MAX_LOG_LIMIT: i64 = 5000;

pub async fn start(
    State(state): State<AppState>,
    Path(pipeline_id): Path<i64>,
    body: Option<Json<StartRequest>>,
) -> AppResult<(StatusCode, Json<Run>)> {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let run = supervisor::start(&state, pipeline_id, req).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pipeline: Option<i64>,
}

pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> AppResult<Json<Vec<Run>>> {
    Ok(Json(db::list(&state.pool, q.pipeline, MAX_LIST).await?))
}

pub async fn found(state: &AppState, id: i64) -> AppResult<Run> {
    db::get(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("run {id} does not exist; list runs with GET /api/runs")))
}

pub async fn get_one(State(state): State<AppState>, Path(id): Path<i64>) -> AppResult<Json<Run>> {
    Ok(Json(found(&state, id).await?))
}

pub async fn stop(State(state): State<AppState>, Path(id): Path<i64>) -> AppResult<(StatusCode, Json<Run>)> {
    let run = found(&state, id).await?;
    if supervisor::stop(&state, id, false).await?.is_none() {
        return Err(AppError::Conflict(format!(
            "run {id} is not alive (its status is {}); nothing to stop",
            run.status
        )));
    }
    Ok((StatusCode::ACCEPTED, Json(found(&state, id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// Lines after `after`: PostgreSQL first, then what is only in memory yet.
pub async fn logs(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<LogQuery>,
) -> AppResult<Json<Value>> {
    found(&state, id).await?;
    let after = q.after.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(DEFAULT_LOG_LIMIT);
    if !(1..=MAX_LOG_LIMIT).contains(&limit) {
        return Err(AppError::BadRequest(format!("limit must be between 1 and {MAX_LOG_LIMIT}, not {limit}")));
    }
    let mut lines = db::read_logs(&state.pool, id, after, limit).await?;
    let live = state.runs.get(id);
    if let Some(run) = &live {
        if (lines.len() as i64) < limit {
            let from = lines.last().map_or(after, |l| l.seq);
            let more = run.logs.recent(from, (limit as usize) - lines.len());
            lines.extend(more);
        }
    }
    let last_seq = match &live {
        Some(run) => run.logs.counts().0,
        None => db::log_counts(&state.pool, id).await?.0,
    };
    let next = lines.last().map_or(after.min(last_seq.max(after)), |l| l.seq);
    // A gap before or between the lines returned: some were not kept.
    let mut expected = after + 1;
    let mut gap = false;
    for l in &lines {
        gap |= l.seq != expected;
        expected = l.seq + 1;
    }
    let truncated = gap || (lines.is_empty() && last_seq > after);
    let next = if lines.is_empty() && truncated { last_seq } else { next };
    Ok(Json(json!({"lines": lines, "next": next, "truncated": truncated})))
}
