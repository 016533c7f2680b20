//! `/api/pipelines`: create, list, get, rename, delete, duplicate.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{self, PipelineDetail};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, OptionalJson};
use crate::model::Pipeline;
use crate::state::AppState;

#[derive(Serialize)]
struct Summary {
    id: i64,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    latest_version: i32,
    last_run: Option<serde_json::Value>,
}

async fn list(State(state): State<AppState>) -> AppResult<Json<Vec<Summary>>> {
    let rows = sqlx::query!(
        r#"SELECT p.id, p.name, p.created_at, p.updated_at,
                  (SELECT MAX(number) FROM pipeline_versions v WHERE v.pipeline_id = p.id) AS "latest!"
           FROM pipelines p ORDER BY p.updated_at DESC, p.id DESC"#
    )
    .fetch_all(&state.pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut last_runs = crate::runs::last_runs(&state, &ids).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Summary {
                last_run: last_runs.remove(&r.id),
                id: r.id,
                name: r.name,
                created_at: r.created_at,
                updated_at: r.updated_at,
                latest_version: r.latest,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    pipeline: Option<Pipeline>,
    #[serde(default)]
    note: String,
}

async fn create(State(state): State<AppState>, ApiJson(body): ApiJson<Create>) -> AppResult<Response> {
    let name = db::check_name(&body.name)?;
    let pipeline = body.pipeline.unwrap_or_else(|| Pipeline::empty(&name));
    let detail = db::create(&state.pool, Some(&name), &name, &pipeline, &body.note).await?;
    Ok((StatusCode::CREATED, Json(detail)).into_response())
}

async fn get_one(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> AppResult<Json<PipelineDetail>> {
    Ok(Json(db::detail(&state.pool, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

async fn rename(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Rename>,
) -> AppResult<Json<PipelineDetail>> {
    let name = db::check_name(&body.name)?;
    sqlx::query!("UPDATE pipelines SET name = $2, updated_at = now() WHERE id = $1 RETURNING id", id, name)
        .fetch_optional(&state.pool)
        .await
        .map_err(db::name_conflict(&name))?
        .ok_or_else(|| db::not_found(id))?;
    Ok(Json(db::detail(&state.pool, id).await?))
}

async fn delete(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    if let Some(run) = crate::runs::live_run_of(&state, id).await? {
        return Err(AppError::Conflict(format!(
            "pipeline {id} has a run in progress (run {run}); stop it with POST /api/runs/{run}/stop first"
        )));
    }
    sqlx::query!("DELETE FROM pipelines WHERE id = $1 RETURNING id", id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| db::not_found(id))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Duplicate {
    name: Option<String>,
}

async fn duplicate(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(body): OptionalJson<Duplicate>,
) -> AppResult<Response> {
    let original = db::detail(&state.pool, id).await?;
    let note = format!("copy of {:?} version {}", original.name, original.latest_version);
    let fallback = format!("{} (copy)", original.name.chars().take(db::MAX_NAME_CHARS - 16).collect::<String>());
    let detail = db::create(&state.pool, body.name.as_deref(), &fallback, &original.version.pipeline, &note).await?;
    Ok((StatusCode::CREATED, Json(detail)).into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pipelines", get(list).post(create))
        .route("/api/pipelines/{id}", get(get_one).patch(rename).delete(delete))
        .route("/api/pipelines/{id}/duplicate", post(duplicate))
}
