//! Shared by the server's integration tests: a fresh PostgreSQL database per
//! test (dropped at the end), the app in-process, and a small client.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use rillet_studio::catalog::Catalog;
use rillet_studio::config::{Config, Overrides};
use rillet_studio::security::{CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE};
use rillet_studio::AppState;
use serde_json::Value;
use tokio::sync::OnceCell;
use tower::ServiceExt;

/// The PostgreSQL server the tests use (the local one, as in
/// studio.defaults.toml), without a database name.
pub fn pg_base_url() -> String {
    std::env::var("RILLET_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database of its own, dropped (connections and all) when this is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let name = format!("rillet_test_{}", &rillet_studio::security::random_token()[..16]);
        TestDb { url: format!("{}/{name}", pg_base_url()), name }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = format!("{}/postgres", pg_base_url());
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop runs inside a test's runtime, which can't be blocked on: use
        // a thread with a runtime of its own.
        let result = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::raw_sql(&sql).execute(&mut conn).await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(result, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}: {result:?}", self.name);
        }
    }
}

/// The configuration of a test: the defaults with its own database.
pub fn test_config(db: &TestDb) -> Config {
    let mut c = Config::load_with_env(&Overrides::default(), |_| None).expect("defaults load");
    c.database_url = db.url.clone();
    c
}

static CATALOG: OnceCell<Arc<Catalog>> = OnceCell::const_new();

/// The catalog, read from Python once per test binary.
pub async fn catalog(config: &Config) -> Arc<Catalog> {
    CATALOG
        .get_or_init(|| async { Arc::new(Catalog::load(config).await.expect("python -m rillet.pipeline works")) })
        .await
        .clone()
}

/// A migrated database and the state of an app on it.
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub router: Router,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(edit: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new();
        let mut config = test_config(&db);
        // Before the edit: a test may break the Python on purpose.
        let catalog = catalog(&config).await;
        edit(&mut config);
        let pool = rillet_studio::startup::connect_database(&config).await.expect("database");
        let state = rillet_studio::startup::state_with_catalog(config, pool, catalog);
        let router = rillet_studio::app(state.clone());
        TestApp { db, state, router }
    }

    /// A client that is not logged in.
    pub fn anonymous(&self) -> Client {
        Client { router: self.router.clone(), session: None, csrf: None }
    }

    /// A client logged in through `GET /login?token=`.
    pub async fn client(&self) -> Client {
        let mut c = self.anonymous();
        let r = c.get(&format!("/login?token={}", self.state.token)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        c.session = Some(r.cookie(SESSION_COOKIE).expect("session cookie"));
        c.csrf = Some(r.cookie(CSRF_COOKIE).expect("csrf cookie"));
        c
    }
}

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The value of a cookie this answer sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next()?.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// `error.code` of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code: {}", self.text)).to_string()
    }

    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Reply {
        assert_eq!(self.status, status, "body: {}", self.text);
        self
    }
}

/// Drives the router in-process like a browser of the studio would.
#[derive(Clone)]
pub struct Client {
    pub router: Router,
    pub session: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    pub fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method.clone()).uri(path).header(header::HOST, "127.0.0.1:8742");
        let mut cookies = Vec::new();
        if let Some(s) = &self.session {
            cookies.push(format!("{SESSION_COOKIE}={s}"));
        }
        if let Some(c) = &self.csrf {
            cookies.push(format!("{CSRF_COOKIE}={c}"));
            if method != Method::GET {
                b = b.header(CSRF_HEADER, c);
            }
        }
        if !cookies.is_empty() {
            b = b.header(header::COOKIE, cookies.join("; "));
        }
        b
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path).body(Body::empty()).unwrap()).await
    }

    pub async fn json(&self, method: Method, path: &str, body: &Value) -> Reply {
        let req = self
            .request(method, path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.json(Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.json(Method::PATCH, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.json(Method::DELETE, path, &Value::Null).await
    }
}
