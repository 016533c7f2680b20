//! Security, on by default (API.md, *Sessions and security*): Host
//! allow-list, login token exchanged for a session cookie, CSRF
//! double-submit and JSON for state-changing requests, WebSocket origin
//! check. Every endpoint is an admin endpoint: a pipeline is arbitrary Python.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "rillet_session";
pub const CSRF_COOKIE: &str = "rillet_csrf";
pub const CSRF_HEADER: &str = "x-rillet-csrf";

/// 32 random bytes from the OS, as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal without a timing difference that depends on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    expires: Instant,
}

/// Live sessions, in memory: a restart logs everyone out, which matches a
/// token that is new at each start.
#[derive(Debug, Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
    ttl: Duration,
}

/// A new session's cookie values.
pub struct NewSession {
    pub id: String,
    pub csrf: String,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Self {
        Sessions { inner: Arc::default(), ttl }
    }

    pub fn create(&self) -> NewSession {
        let id = random_token();
        let csrf = random_token();
        let mut map = self.inner.lock().expect("sessions lock");
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.insert(id.clone(), Session { csrf: csrf.clone(), expires: now + self.ttl });
        NewSession { id, csrf }
    }

    /// The CSRF token of a live session.
    fn csrf_of(&self, id: &str) -> Option<String> {
        let map = self.inner.lock().expect("sessions lock");
        map.get(id).filter(|s| s.expires > Instant::now()).map(|s| s.csrf.clone())
    }

    pub fn remove(&self, id: &str) {
        self.inner.lock().expect("sessions lock").remove(id);
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` values of a new session.
pub fn session_cookies(s: &NewSession, ttl_hours: u64) -> [String; 2] {
    let age = ttl_hours * 3600;
    [
        format!("{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={age}", s.id),
        // Readable by the page's script, which echoes it in X-Rillet-CSRF.
        format!("{CSRF_COOKIE}={}; SameSite=Strict; Path=/; Max-Age={age}", s.csrf),
    ]
}

/// The `Set-Cookie` values that end a session.
pub fn cleared_cookies() -> [String; 2] {
    [
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        format!("{CSRF_COOKIE}=; SameSite=Strict; Path=/; Max-Age=0"),
    ]
}

/// The request's host, from `Host` (HTTP/1) or the URI's authority (HTTP/2).
/// Several Host headers count as none: which one a proxy or a browser
/// would use is anyone's guess.
fn request_host(req: &Request) -> Option<String> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(h), None) => h.to_str().ok().map(str::to_string),
        (None, _) => req.uri().authority().map(|a| a.to_string()),
        (Some(_), Some(_)) => None,
    }
}

/// `host` without its port: `[::1]:8742` → `[::1]`, `localhost:1` → `localhost`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// True when `host` (a Host header value) is loopback or allow-listed.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = strip_port(&host);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
        || allowed.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a == host || a == name
        })
}

/// Refuses requests whose Host is neither loopback nor allow-listed: a page
/// on another site that rebinds its DNS name to 127.0.0.1 still sends its
/// own name as Host.
pub async fn host_guard(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, AppError> {
    match request_host(&req) {
        Some(h) if host_allowed(&h, &state.config.allowed_hosts) => Ok(next.run(req).await),
        Some(h) => Err(AppError::Forbidden(
            "host",
            format!(
                "host {h:?} is not allowed; open the studio at 127.0.0.1 or localhost, \
                 or add the name to allowed_hosts"
            ),
        )),
        None => Err(AppError::Forbidden("host", "the request needs exactly one Host header".into())),
    }
}

/// The live session of the request, if it has one.
pub fn session_id<'a>(state: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie(headers, SESSION_COOKIE).filter(|id| state.sessions.csrf_of(id).is_some())
}

fn unauthenticated() -> AppError {
    AppError::Unauthenticated("log in first: open the login URL that `rillet studio` printed when it started".into())
}

/// True when the request carries the login token as `Authorization: Bearer`
/// (for metric scrapers).
pub fn bearer_ok(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same_secret(t.trim(), &state.token))
}

/// Checks a request with a session or the bearer token (for `/metrics`).
pub fn require_session_or_bearer(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    if session_id(state, headers).is_some() || bearer_ok(state, headers) {
        Ok(())
    } else {
        Err(unauthenticated())
    }
}

fn is_state_changing(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// `/api/`: a session for everything except logging in; JSON and the CSRF
/// double-submit for state-changing requests.
pub async fn api_guard(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, AppError> {
    let path = req.uri().path();
    if !path.starts_with("/api/") && path != "/api" {
        return Ok(next.run(req).await);
    }
    let login = path == "/api/session" && req.method() == Method::POST;
    let headers = req.headers();
    if is_state_changing(req.method()) {
        require_json(headers)?;
    }
    if login {
        return Ok(next.run(req).await);
    }
    let Some(id) = cookie(headers, SESSION_COOKIE) else { return Err(unauthenticated()) };
    let Some(expected_csrf) = state.sessions.csrf_of(id) else { return Err(unauthenticated()) };
    if is_state_changing(req.method()) {
        let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        let cookie_value = cookie(headers, CSRF_COOKIE).unwrap_or("");
        // Double submit: the header proves the page could read our cookie;
        // tying it to the session stops a planted cookie.
        if header.is_empty() || !same_secret(header, cookie_value) || !same_secret(header, &expected_csrf) {
            return Err(AppError::Forbidden(
                "csrf",
                format!("missing or wrong {CSRF_HEADER} header: send the value of the {CSRF_COOKIE} cookie"),
            ));
        }
    }
    Ok(next.run(req).await)
}

/// Bodies of state-changing requests are JSON: a form or a text/plain POST
/// from another site can't be made into one without a CORS preflight.
fn require_json(headers: &HeaderMap) -> Result<(), AppError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime == "application/json" {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "send the request body as JSON with Content-Type: application/json (got {:?})",
            if ct.is_empty() { "nothing" } else { ct }
        )))
    }
}

/// Checks a WebSocket upgrade: a live session (the `/api/` guard did that
/// already for `/api/` paths, but this stands alone) and an `Origin` that is
/// this server's own (browsers send cookies on cross-site WebSockets).
pub fn check_websocket(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    if session_id(state, headers).is_none() {
        return Err(unauthenticated());
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or("");
    let same = [format!("http://{host}"), format!("https://{host}")];
    if host.is_empty() || !same.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
        return Err(AppError::Forbidden(
            "origin",
            format!("WebSocket from origin {origin:?} refused: only pages of this server may connect"),
        ));
    }
    Ok(())
}

/// Turns a request whose declared length is over the limit away early, with
/// the JSON error; bodies without a length are cut by the extractor.
pub async fn body_limit_guard(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, AppError> {
    let limit = state.config.max_body_bytes;
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(AppError::BodyTooLarge { limit });
    }
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let none: Vec<String> = vec![];
        for ok in ["localhost", "localhost:8742", "127.0.0.1:1", "[::1]:8742", "[::1]", "LOCALHOST"] {
            assert!(host_allowed(ok, &none), "{ok}");
        }
        for bad in ["evil.example", "evil.example:8742", "127.0.0.1.evil.example", "localhost.evil", "[::2]"] {
            assert!(!host_allowed(bad, &none), "{bad}");
        }
        let listed = vec!["studio.internal".to_string()];
        assert!(host_allowed("studio.internal:8742", &listed));
    }

    #[test]
    fn cookies_are_parsed() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; rillet_session=abc; rillet_csrf=x".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "nope"), None);
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert_eq!(random_token().len(), 64);
        assert_ne!(random_token(), random_token());
    }
}
