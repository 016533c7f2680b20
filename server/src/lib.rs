//! Rillet studio: the axum server behind the browser editor.
//!
//! [`app`] builds the whole router from an [`AppState`]; tests drive it
//! in-process, `rillet studio` serves it (see [`startup`]).

pub mod assets;
pub mod catalog;
pub mod config;
pub mod db;
pub mod diff;
pub mod error;
pub mod examples;
pub mod extract;
pub mod model;
pub mod pages;
pub mod pipelines;
pub mod pycli;
pub mod runs;
pub mod security;
pub mod session;
pub mod startup;
pub mod state;
pub mod tools;
pub mod versions;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use crate::config::Config;
pub use crate::error::AppError;
pub use crate::state::AppState;

/// The studio's router: every resource's `router()`, behind the security
/// layers (outermost first: trace, Host allow-list, body limit, `/api/`
/// session and CSRF).
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(pages::router())
        .merge(assets::router())
        .merge(session::router())
        .merge(catalog::router())
        .merge(pipelines::router())
        .merge(versions::router())
        .merge(tools::router())
        .merge(examples::router())
        // Runs, live data and /metrics.
        .merge(runs::router())
        .fallback(not_found);
    routes
        .layer(from_fn_with_state(state.clone(), security::api_guard))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), security::body_limit_guard))
        .layer(from_fn_with_state(state.clone(), security::host_guard))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        AppError::NotFound(format!("no such endpoint: {}; see server/API.md", uri.path())).into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}
