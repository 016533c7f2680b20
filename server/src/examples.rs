//! `/api/examples`: the gallery of the Python package; a new pipeline from
//! one of them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::db;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, OptionalJson};
use crate::state::AppState;

#[derive(Serialize)]
struct ExampleSummary<'a> {
    slug: &'a str,
    title: &'a str,
    description: &'a str,
}

async fn list(State(state): State<AppState>) -> Response {
    let list: Vec<_> = state
        .catalog
        .examples
        .iter()
        .map(|e| ExampleSummary { slug: &e.slug, title: &e.title, description: &e.description })
        .collect();
    Json(list).into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FromExample {
    name: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    OptionalJson(body): OptionalJson<FromExample>,
) -> AppResult<Response> {
    let example = state
        .catalog
        .example(&slug)
        .ok_or_else(|| AppError::NotFound(format!("there is no example {slug:?}; list them with GET /api/examples")))?;
    let note = format!("from the example {:?}", example.slug);
    let detail = db::create(&state.pool, body.name.as_deref(), &example.title, &example.pipeline, &note).await?;
    Ok((StatusCode::CREATED, Json(detail)).into_response())
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/examples", get(list)).route("/api/examples/{slug}", post(create))
}
