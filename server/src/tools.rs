//! `/api/validate`, `/api/export`, `/api/import`: the pipeline CLI of the
//! Python package, run in a subprocess.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::model::Pipeline;
use crate::pycli::{self, CliError, CliOutcome, PipelineCommand, Report};
use crate::state::AppState;

fn pipeline_text(p: &Pipeline) -> AppResult<String> {
    serde_json::to_string(p).map_err(AppError::internal)
}

fn rejected(what: &str, report: Report) -> AppError {
    let n = report.errors.len();
    AppError::Invalid {
        message: format!("{what}: {n} error{} (see issues)", if n == 1 { "" } else { "s" }),
        issues: report.errors,
    }
}

/// Validation report of `p` (errors and warnings).
pub async fn validate_pipeline(state: &AppState, p: &Pipeline) -> AppResult<Report> {
    let out = pycli::run(&state.config, PipelineCommand::Validate, &pipeline_text(p)?).await?;
    match out {
        CliOutcome::Ok(text) => serde_json::from_str(&text)
            .map_err(|e| CliError::Garbled { command: "validate", detail: e.to_string() }.into()),
        CliOutcome::Rejected(report) => Ok(report),
    }
}

/// The Python file of `p`, or 422 with the issues that prevent it.
pub async fn export_source(state: &AppState, p: &Pipeline) -> AppResult<String> {
    match pycli::run(&state.config, PipelineCommand::Export, &pipeline_text(p)?).await? {
        CliOutcome::Ok(source) => Ok(source),
        CliOutcome::Rejected(report) => Err(rejected("the pipeline can't be exported", report)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithPipeline {
    pipeline: Pipeline,
}

async fn validate(State(state): State<AppState>, ApiJson(body): ApiJson<WithPipeline>) -> AppResult<Json<Report>> {
    Ok(Json(validate_pipeline(&state, &body.pipeline).await?))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
}

async fn export(State(state): State<AppState>, ApiJson(body): ApiJson<WithPipeline>) -> AppResult<Json<Source>> {
    Ok(Json(Source { source: export_source(&state, &body.pipeline).await? }))
}

#[derive(Serialize)]
struct Imported {
    pipeline: Pipeline,
}

async fn import(State(state): State<AppState>, ApiJson(body): ApiJson<Source>) -> AppResult<Json<Imported>> {
    match pycli::run(&state.config, PipelineCommand::Import, &body.source).await? {
        CliOutcome::Ok(text) => {
            let pipeline = serde_json::from_str(&text)
                .map_err(|e| CliError::Garbled { command: "import", detail: e.to_string() })?;
            Ok(Json(Imported { pipeline }))
        }
        CliOutcome::Rejected(report) => Err(rejected("the file can't be imported", report)),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/validate", post(validate))
        .route("/api/export", post(export))
        .route("/api/import", post(import))
}
