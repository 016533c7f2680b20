//! What the runs tests share: a studio on a real socket with a database of
//! its own, a logged-in HTTP client, WebSocket clients and pipelines.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use rillet_studio::config::{Config, Overrides};
use rillet_studio::startup::{build_state, connect_database};
use rillet_studio::AppState;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Studio {
    pub addr: SocketAddr,
    pub state: AppState,
    pub http: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
    pub database: String,
    server: tokio::task::JoinHandle<()>,
}

/// A database URL of a database nobody else uses.
pub fn fresh_database() -> (String, String) {
    let name = format!("rillet_runs_test_{}", &rillet_studio::security::random_token()[..12]);
    (format!("postgres://postgres@127.0.0.1:5432/{name}"), name)
}

pub async fn config_for(url: &str) -> Config {
    let overrides = Overrides { database_url: Some(url.to_string()), ..Default::default() };
    let mut config = Config::load_with_env(&overrides, |_| None).expect("the defaults load");
    // Stops in the tests take the whole grace period only when SIGTERM is
    // not enough.
    config.runs.stop_grace_ms = 2000;
    config
}

impl Studio {
    /// A studio with a new database, listening on a free loopback port.
    pub async fn start() -> Studio {
        let (url, name) = fresh_database();
        Studio::start_on(&url, &name).await
    }

    /// A studio with a new database and a configuration changed by `tune`.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> Studio {
        let (url, name) = fresh_database();
        let mut config = config_for(&url).await;
        tune(&mut config);
        Studio::start_config(config, &name).await
    }

    /// A studio on an existing database (a "restarted" server).
    pub async fn start_on(url: &str, name: &str) -> Studio {
        Studio::start_config(config_for(url).await, name).await
    }

    async fn start_config(config: Config, name: &str) -> Studio {
        let pool = connect_database(&config).await.expect("PostgreSQL is running (see common notes)");
        rillet_studio::runs::recover(&pool, &config.runs).await.expect("recovery");
        let state = build_state(config, pool).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = rillet_studio::app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let http = reqwest::Client::new();
        // A session as the login makes one (the login's cookies are the
        // session module's business, tested there).
        let session = state.sessions.create();
        let cookie = format!("rillet_session={}; rillet_csrf={}", session.id, session.csrf);
        let csrf = session.csrf;
        Studio { addr, state, http, cookie, csrf, database: name.to_string(), server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.http.get(self.url(path)).header("cookie", &self.cookie).send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get_text(&self, path: &str, bearer: Option<&str>) -> (StatusCode, String) {
        let mut req = self.http.get(self.url(path));
        req = match bearer {
            Some(t) => req.bearer_auth(t),
            None => req.header("cookie", &self.cookie),
        };
        let res = req.send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(self.url(path))
            .header("cookie", &self.cookie)
            .header("x-rillet-csrf", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn delete(&self, path: &str) -> StatusCode {
        let res = self
            .http
            .delete(self.url(path))
            .header("cookie", &self.cookie)
            .header("x-rillet-csrf", &self.csrf)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        res.status()
    }

    /// A pipeline whose version 1 is `pipeline`.
    pub async fn pipeline(&self, name: &str, pipeline: Value) -> i64 {
        let id: i64 = sqlx::query_scalar("INSERT INTO pipelines (name) VALUES ($1) RETURNING id")
            .bind(name)
            .fetch_one(&self.state.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO pipeline_versions (pipeline_id, number, pipeline) VALUES ($1, 1, $2)")
            .bind(id)
            .bind(&pipeline)
            .execute(&self.state.pool)
            .await
            .unwrap();
        id
    }

    pub async fn start_run(&self, pipeline_id: i64, body: Value) -> Value {
        let (status, run) = self.post(&format!("/api/pipelines/{pipeline_id}/runs"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{run}");
        run
    }

    /// Polls the run until `done` holds, for at most `limit`.
    pub async fn wait_run(&self, id: i64, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let (status, run) = self.get(&format!("/api/runs/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{run}");
            if done(&run) {
                return run;
            }
            assert!(Instant::now() < deadline, "run {id} did not get there within {limit:?}: {run}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_ended(&self, id: i64, limit: Duration) -> Value {
        self.wait_run(id, limit, |r| !r["ended_at"].is_null()).await
    }

    /// Opens the live WebSocket of a run with `origin`.
    pub async fn ws_with_origin(&self, run: i64, origin: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut req = format!("ws://{}/api/runs/{run}/live", self.addr).into_client_request().unwrap();
        req.headers_mut().insert("cookie", HeaderValue::from_str(&self.cookie).unwrap());
        req.headers_mut().insert("origin", HeaderValue::from_str(origin).unwrap());
        tokio_tungstenite::connect_async(req).await.map(|(ws, _)| ws)
    }

    pub async fn ws(&self, run: i64) -> Ws {
        self.ws_with_origin(run, &format!("http://{}", self.addr)).await.expect("WebSocket connects")
    }

    /// Goes away like a crashed server: stops serving and loses its
    /// database connections, without stopping its runs.
    pub async fn crash(self) {
        self.server.abort();
        self.state.pool.close().await;
    }

    /// Stops the server's tasks and drops the database.
    pub async fn close(self) {
        rillet_studio::runs::shutdown(&self.state).await;
        self.server.abort();
        self.state.pool.close().await;
        drop_database(&self.database).await;
    }
}

pub async fn drop_database(name: &str) {
    if let Ok(admin) = sqlx::PgPool::connect(ADMIN_URL).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&admin).await;
    }
}

/// Reads JSON messages until `want` returns something, for at most `limit`.
pub async fn next_matching<T>(ws: &mut Ws, limit: Duration, mut want: impl FnMut(&Value) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no matching message within {limit:?}"))
            .expect("the WebSocket closed")
            .expect("WebSocket error");
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if let Some(t) = want(&v) {
                return t;
            }
        }
    }
}

pub async fn send(ws: &mut Ws, v: Value) {
    use futures_util::SinkExt;
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// A function param.
pub fn function(name: &str, code: &str) -> Value {
    json!({"kind": "function", "code": code, "name": name})
}

/// An expression param.
pub fn expr(code: &str) -> Value {
    json!({"kind": "expr", "code": code})
}

/// A pipeline whose steps form one chain: `(op, step_id, params)`.
pub fn chain(flow: &str, prelude: &str, steps: &[(&str, &str, Value)]) -> Value {
    let nodes: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, (op, step, params))| {
            json!({"id": format!("n{i}"), "op": op, "step_id": step, "params": params,
                   "position": {"x": i as f64 * 200.0, "y": 0.0}})
        })
        .collect();
    let edges: Vec<Value> = (1..steps.len())
        .map(|i| {
            let from = json!({"node": format!("n{}", i - 1), "port": "down"});
            json!({"from": from, "to": {"node": format!("n{i}"), "port": "up"}})
        })
        .collect();
    json!({"schema_version": 1, "flow_id": flow, "prelude": prelude, "nodes": nodes, "edges": edges})
}

/// An endless flow: numbers, a map that takes `sleep_s` per item, a map
/// that prints every 100th item, and a sink that keeps only the last ten.
pub fn endless(flow: &str, sleep_s: f64) -> Value {
    let prelude = "import collections\nimport time\nfrom itertools import count\n\nfrom rillet.testing import \
                   TestingSink, TestingSource\n\nLAST = collections.deque(maxlen=10)";
    let tick = format!("def tick(x):\n    time.sleep({sleep_s})\n    return x * 2");
    chain(
        flow,
        prelude,
        &[
            ("input", "nums", json!({"source": expr("TestingSource(count())")})),
            ("map", "double", json!({"mapper": function("tick", &tick)})),
            (
                "map",
                "shout",
                json!({"mapper": function(
                    "shout",
                    "def shout(x):\n    if x % 100 == 0:\n        print(\"seen\", x)\n    return x"
                )}),
            ),
            ("output", "out", json!({"sink": expr("TestingSink(LAST)")})),
        ],
    )
}
