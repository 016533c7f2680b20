//! Security on by default: login, sessions, CSRF, JSON only, Host
//! allow-list, WebSocket origin, body limit, pages and assets.

mod common;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use common::TestApp;
use rillet_studio::security::{check_websocket, require_session_or_bearer, SESSION_COOKIE};
use serde_json::json;

#[tokio::test]
async fn no_session_gets_401_and_a_wrong_token_is_refused() {
    let app = TestApp::new().await;
    let anon = app.anonymous();
    for path in ["/api/pipelines", "/api/catalog", "/api/examples", "/api/pipelines/1/versions"] {
        let r = anon.get(path).await.expect(StatusCode::UNAUTHORIZED);
        assert_eq!(r.code(), "unauthenticated");
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("login URL"), "{}", r.text);
    }
    anon.post("/api/pipelines", &json!({"name": "x"})).await.expect(StatusCode::UNAUTHORIZED);

    let r = anon.get("/login?token=wrong").await.expect(StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("printed in its terminal"), "{}", r.text);
    assert!(r.cookie(SESSION_COOKIE).is_none());
    anon.get("/login").await.expect(StatusCode::UNAUTHORIZED);
    // One character off, same length.
    let mut near = app.state.token.to_string();
    let last = if near.ends_with('0') { '1' } else { '0' };
    near.pop();
    near.push(last);
    anon.get(&format!("/login?token={near}")).await.expect(StatusCode::UNAUTHORIZED);
    let r = anon.post("/api/session", &json!({"token": near})).await.expect(StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "unauthenticated");

    // The shell needs a session too.
    let r = anon.get("/").await.expect(StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("not logged in"), "{}", r.text);
}

#[tokio::test]
async fn login_sets_strict_httponly_cookie_and_logout_ends_it() {
    let app = TestApp::new().await;
    let r = app.anonymous().get(&format!("/login?token={}", app.state.token)).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/");
    let cookies: Vec<&str> = r.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    let session = cookies.iter().find(|c| c.starts_with("rillet_session=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/"));
    let csrf = cookies.iter().find(|c| c.starts_with("rillet_csrf=")).unwrap();
    assert!(!csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"), "the page must read it: {csrf}");

    // The JSON login works too, and answers 204.
    let r = app.anonymous().post("/api/session", &json!({"token": &*app.state.token})).await;
    let r = r.expect(StatusCode::NO_CONTENT);
    assert!(r.cookie(SESSION_COOKIE).is_some());

    let c = app.client().await;
    c.get("/api/pipelines").await.expect(StatusCode::OK);
    let page = c.get("/").await.expect(StatusCode::OK);
    assert!(page.text.contains("/assets/app.js") || page.text.contains("scripts/setup"), "{}", page.text);
    c.post("/api/session/logout", &json!({})).await.expect(StatusCode::NO_CONTENT);
    c.get("/api/pipelines").await.expect(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn state_changes_need_json_and_the_csrf_header() {
    let app = TestApp::new().await;
    let c = app.client().await;

    let mut no_header = c.clone();
    let csrf = no_header.csrf.take();
    // Without the header (and its cookie) or with a wrong one: 403 csrf.
    let r = no_header.post("/api/pipelines", &json!({"name": "x"})).await.expect(StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "csrf");
    assert!(r.text.contains("X-Rillet-CSRF") || r.text.contains("x-rillet-csrf"), "{}", r.text);
    let mut wrong = c.clone();
    wrong.csrf = Some("0".repeat(64));
    wrong.post("/api/pipelines", &json!({"name": "x"})).await.expect(StatusCode::FORBIDDEN);
    // Another session's token matching its own cookie is not enough.
    let other = app.client().await;
    let mut mixed = c.clone();
    mixed.csrf = other.csrf.clone();
    mixed.delete("/api/pipelines/1").await.expect(StatusCode::FORBIDDEN);
    assert!(csrf.is_some());

    // A form post (what another site can send without CORS) is refused.
    let req = c
        .request(Method::POST, "/api/pipelines")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=x"))
        .unwrap();
    let r = c.send(req).await.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.code(), "unsupported_media_type");
    let req = c.request(Method::POST, "/api/pipelines").body(Body::from(r#"{"name":"x"}"#)).unwrap();
    c.send(req).await.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Reads need no CSRF header; the real thing passes.
    no_header.get("/api/pipelines").await.expect(StatusCode::OK);
    c.post("/api/pipelines", &json!({"name": "x"})).await.expect(StatusCode::CREATED);
    let r = c.post("/api/pipelines", &json!({"name": "y", "bogus": 1})).await.expect(StatusCode::BAD_REQUEST);
    assert!(r.text.contains("unknown field `bogus`"), "{}", r.text);
    c.json(Method::POST, "/api/pipelines", &json!("not an object")).await.expect(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn foreign_hosts_are_refused_unless_allow_listed() {
    let app = TestApp::with_config(|c| c.allowed_hosts = vec!["studio.internal".into()]).await;
    let c = app.client().await;
    for (host, status) in [
        ("evil.example", StatusCode::FORBIDDEN),
        ("evil.example:8742", StatusCode::FORBIDDEN),
        ("127.0.0.1.nip.example", StatusCode::FORBIDDEN),
        ("localhost:8742", StatusCode::OK),
        ("[::1]:8742", StatusCode::OK),
        ("studio.internal:8742", StatusCode::OK),
    ] {
        let mut req = c.request(Method::GET, "/api/pipelines").body(Body::empty()).unwrap();
        req.headers_mut().insert(header::HOST, host.parse().unwrap());
        let r = c.send(req).await.expect(status);
        if status == StatusCode::FORBIDDEN {
            assert_eq!(r.code(), "host");
            assert!(r.text.contains("allowed_hosts"), "{}", r.text);
        }
    }
    // Even the login page: a rebinding site must not get a session.
    let mut req = c.request(Method::GET, &format!("/login?token={}", app.state.token)).body(Body::empty()).unwrap();
    req.headers_mut().insert(header::HOST, "evil.example".parse().unwrap());
    c.send(req).await.expect(StatusCode::FORBIDDEN);
    // Two Host headers, one of them fine: refused.
    let req =
        c.request(Method::GET, "/api/pipelines").header(header::HOST, "evil.example").body(Body::empty()).unwrap();
    assert_eq!(req.headers().get_all(header::HOST).iter().count(), 2);
    let r = c.send(req).await.expect(StatusCode::FORBIDDEN);
    assert!(r.text.contains("exactly one Host header"), "{}", r.text);
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = TestApp::with_config(|c| c.max_body_bytes = 1000).await;
    let c = app.client().await;
    let big = json!({"name": "n".repeat(2000)});
    let r = c.post("/api/pipelines", &big).await.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "body_too_large");
    assert!(r.text.contains("limit of 1000 bytes"), "{}", r.text);
    // Without a Content-Length (chunked), the extractor cuts it.
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(big.to_string())];
    let req = c
        .request(Method::POST, "/api/import")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_stream(chunks)))
        .unwrap();
    assert!(req.headers().get(header::CONTENT_LENGTH).is_none());
    let r = c.send(req).await.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "body_too_large");
    c.post("/api/pipelines", &json!({"name": "small"})).await.expect(StatusCode::CREATED);
}

fn futures_stream(
    items: Vec<Result<String, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send {
    futures_util::stream::iter(items)
}

#[tokio::test]
async fn websocket_upgrades_check_origin_and_session() {
    let app = TestApp::new().await;
    let c = app.client().await;
    let headers = |origin: Option<&str>, session: bool| {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8742".parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        if session {
            h.insert(header::COOKIE, format!("rillet_session={}", c.session.as_ref().unwrap()).parse().unwrap());
        }
        h
    };
    check_websocket(&app.state, &headers(Some("http://127.0.0.1:8742"), true)).unwrap();
    let e = check_websocket(&app.state, &headers(Some("http://evil.example"), true)).unwrap_err();
    assert!(e.to_string().contains("origin \"http://evil.example\" refused"), "{e}");
    check_websocket(&app.state, &headers(Some("http://127.0.0.1:9999"), true)).unwrap_err();
    check_websocket(&app.state, &headers(None, true)).unwrap_err();
    let e = check_websocket(&app.state, &headers(Some("http://127.0.0.1:8742"), false)).unwrap_err();
    assert!(e.to_string().contains("log in"), "{e}");

    // Scrapers of /metrics may use the token as a bearer.
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, format!("Bearer {}", app.state.token).parse().unwrap());
    require_session_or_bearer(&app.state, &h).unwrap();
    h.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
    require_session_or_bearer(&app.state, &h).unwrap_err();
}

#[tokio::test]
async fn built_assets_are_served_from_memory() {
    let dist = std::env::temp_dir().join(format!("rillet-dist-{}", &rillet_studio::security::random_token()[..12]));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("app.js"), "console.log('studio')").unwrap();
    std::fs::write(dist.join("app.css"), "body{}").unwrap();
    let path = dist.display().to_string();
    let app = TestApp::with_config(|c| c.web_dist = path).await;
    // Read at start-up: later changes on disk are not served.
    std::fs::write(dist.join("late.js"), "x").unwrap();
    let c = app.client().await;
    let r = c.get("/assets/app.js").await.expect(StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(r.text, "console.log('studio')");
    c.get("/assets/late.js").await.expect(StatusCode::NOT_FOUND);
    c.get("/assets/..%2Fapp.js").await.expect(StatusCode::NOT_FOUND);
    c.get("/assets/../../etc/passwd").await.expect(StatusCode::NOT_FOUND);
    let page = c.get("/").await.expect(StatusCode::OK);
    assert!(page.text.contains(r#"<script type="module" src="/assets/app.js">"#), "{}", page.text);
    assert!(page.text.contains("/assets/app.css"));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    std::fs::remove_dir_all(&dist).unwrap();

    // Without a build, the shell says how to make one.
    let app = TestApp::with_config(|c| c.web_dist = "/nonexistent/dist".into()).await;
    let page = app.client().await.get("/").await.expect(StatusCode::OK);
    assert!(page.text.contains("scripts/setup") && !page.text.contains("app.js\">"), "{}", page.text);
}
