//! `/api/pipelines/{id}/versions`: immutable versions, their diff and
//! their export as a Python file.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{self, Version};
use crate::diff::{diff, Diff};
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::model::Pipeline;
use crate::state::AppState;
use crate::tools::export_source;

#[derive(Serialize)]
struct VersionSummary {
    number: i32,
    created_at: DateTime<Utc>,
    note: String,
}

async fn list(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<VersionSummary>>> {
    let rows = sqlx::query_as!(
        VersionSummary,
        "SELECT number, created_at, note FROM pipeline_versions WHERE pipeline_id = $1 ORDER BY number DESC",
        id
    )
    .fetch_all(&state.pool)
    .await?;
    if rows.is_empty() {
        return Err(db::not_found(id));
    }
    Ok(Json(rows))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Save {
    pipeline: Pipeline,
    #[serde(default)]
    note: String,
}

async fn save(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Save>,
) -> AppResult<Response> {
    let version = db::insert_version(&state.pool, id, &body.pipeline, &body.note).await?;
    Ok((StatusCode::CREATED, Json(version)).into_response())
}

async fn get_one(State(state): State<AppState>, ApiPath((id, n)): ApiPath<(i64, i32)>) -> AppResult<Json<Version>> {
    Ok(Json(db::version(&state.pool, id, Some(n)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffQuery {
    from: i32,
    to: i32,
}

async fn get_diff(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> AppResult<Json<Diff>> {
    let (a, b) =
        tokio::try_join!(db::version(&state.pool, id, Some(q.from)), db::version(&state.pool, id, Some(q.to)))?;
    Ok(Json(diff(&a.pipeline, &b.pipeline, &format!("v{}", q.from), &format!("v{}", q.to))))
}

/// A file name made of the flow id's safe characters only: it goes into a
/// header and, on the user's side, onto a disk.
fn file_name(flow_id: &str) -> String {
    let safe: String =
        flow_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').take(100).collect();
    if safe.is_empty() {
        "pipeline.py".into()
    } else {
        format!("{safe}.py")
    }
}

async fn export(State(state): State<AppState>, ApiPath((id, n)): ApiPath<(i64, i32)>) -> AppResult<Response> {
    let version = db::version(&state.pool, id, Some(n)).await?;
    let source = export_source(&state, &version.pipeline).await?;
    let disposition = format!("attachment; filename=\"{}\"", file_name(&version.pipeline.flow_id));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/x-python; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        source,
    )
        .into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pipelines/{id}/versions", get(list).post(save))
        .route("/api/pipelines/{id}/versions/{n}", get(get_one))
        .route("/api/pipelines/{id}/versions/{n}/export", get(export))
        .route("/api/pipelines/{id}/diff", get(get_diff))
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_safe() {
        assert_eq!(super::file_name("word_count"), "word_count.py");
        assert_eq!(super::file_name("../../etc\"\r\nX: y"), "etcXy.py");
        assert_eq!(super::file_name("日本"), "pipeline.py");
    }
}
