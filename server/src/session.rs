//! `/api/session`: log in with the token from JSON, log out.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::security::{cleared_cookies, cookie, same_secret, session_cookies, SESSION_COOKIE};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    token: String,
}

async fn login(State(state): State<AppState>, ApiJson(body): ApiJson<Login>) -> AppResult<Response> {
    if !same_secret(&body.token, &state.token) {
        return Err(AppError::Unauthenticated(
            "wrong token: copy the login URL that `rillet studio` printed when it started".into(),
        ));
    }
    let session = state.sessions.create();
    let [a, b] = session_cookies(&session, state.config.session_ttl_hours);
    Ok((StatusCode::NO_CONTENT, AppendHeaders([(header::SET_COOKIE, a), (header::SET_COOKIE, b)])).into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.sessions.remove(id);
    }
    let [a, b] = cleared_cookies();
    (StatusCode::NO_CONTENT, AppendHeaders([(header::SET_COOKIE, a), (header::SET_COOKIE, b)])).into_response()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/session", post(login)).route("/api/session/logout", post(logout))
}
