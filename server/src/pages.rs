//! HTML pages: the app shell and the login exchange.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::security::{same_secret, session_cookies, session_id};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "shell.html")]
struct Shell {
    built: bool,
    missing: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "login_failed.html")]
struct LoginFailed {
    reason: &'static str,
}

async fn shell(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if session_id(&state, &headers).is_none() {
        let page = LoginFailed { reason: "You are not logged in (or the studio was restarted since)." };
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let missing = state.assets.missing.clone().unwrap_or_default();
    // Scripts only from this server: an injected <script> in the editor
    // would run with the session of someone who can run any Python.
    // Inline styles stay allowed (the graph and editor libraries set them).
    ([(header::CONTENT_SECURITY_POLICY, CSP)], Shell { built: !state.assets.is_empty(), missing }).into_response()
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[derive(Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

async fn login(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    if token.is_empty() || !same_secret(&token, &state.token) {
        let reason = if token.is_empty() { "The link has no token." } else { "The token in this link is wrong." };
        return (StatusCode::UNAUTHORIZED, LoginFailed { reason }).into_response();
    }
    let session = state.sessions.create();
    let [a, b] = session_cookies(&session, state.config.session_ttl_hours);
    // Redirect so the token leaves the address bar and the history.
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/".to_string())],
        AppendHeaders([(header::SET_COOKIE, a), (header::SET_COOKIE, b)]),
    )
        .into_response()
}

/// `/` (the app shell) and `/login`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(shell)).route("/login", get(login))
}
