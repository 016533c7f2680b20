//! The runs this server started and still knows about, and the shared
//! state of each one.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

use super::db::Run;
use super::hub::{Hub, WsCounters};
use super::logs::Logs;
use super::metrics::{LiveStep, RunMetrics};
use super::RunsConfig;
use crate::security::same_secret;

/// How a stop was asked for and carried out.
#[derive(Debug, Clone, Copy, Default)]
pub struct StopRequest {
    pub requested: bool,
    /// SIGKILL was needed after the grace period.
    pub killed: bool,
    /// The server itself stopped the run (shutting down).
    pub by_server: bool,
}

/// What the engine told us over the run channel.
#[derive(Default)]
pub struct Engine {
    pub conns: HashMap<u64, mpsc::Sender<String>>,
    pub next_conn: u64,
    pub error: Option<Value>,
    pub bye: Option<String>,
    pub hello_with_flow: bool,
}

/// A run started by this server.
pub struct LiveRun {
    pub pool: sqlx::PgPool,
    pub id: i64,
    pub pipeline_id: i64,
    pub token: String,
    /// Full step id (`flow.step`) → node id of the pipeline.
    pub nodes: HashMap<String, String>,
    pub metrics: Mutex<RunMetrics>,
    pub last_window: Mutex<BTreeMap<String, LiveStep>>,
    pub hub: Hub,
    pub logs: Logs,
    pub engine: Mutex<Engine>,
    /// Notified whenever an engine connection closes.
    pub engine_closed: Notify,
    pub stop: Mutex<StopRequest>,
    pub pgid: AtomicI32,
    pub ended: AtomicBool,
    /// The run as last written to PostgreSQL, for status messages.
    pub row: Mutex<Run>,
}

impl LiveRun {
    pub fn new(
        pool: sqlx::PgPool,
        row: Run,
        token: String,
        nodes: HashMap<String, String>,
        logs: Logs,
        hub: Hub,
    ) -> Self {
        LiveRun {
            pool,
            id: row.id,
            pipeline_id: row.pipeline_id,
            token,
            nodes,
            metrics: Mutex::new(RunMetrics::new()),
            last_window: Mutex::new(BTreeMap::new()),
            hub,
            logs,
            engine: Mutex::new(Engine::default()),
            engine_closed: Notify::new(),
            stop: Mutex::new(StopRequest::default()),
            pgid: AtomicI32::new(0),
            ended: AtomicBool::new(false),
            row: Mutex::new(row),
        }
    }

    pub fn row(&self) -> Run {
        self.row.lock().expect("row lock").clone()
    }

    /// Keeps `row` and tells every subscriber.
    pub fn set_row(&self, row: Run) {
        let msg = json!({"type": "status", "run": row});
        {
            let mut current = self.row.lock().expect("row lock");
            // Rows read concurrently may arrive out of order; an end is final.
            if current.ended_at.is_some() && row.ended_at.is_none() {
                return;
            }
            *current = row;
        }
        self.hub.broadcast(&msg);
    }

    /// Waits until every engine connection is closed, at most `limit`.
    pub async fn engine_gone(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.engine_closed.notified();
            if self.engine.lock().expect("engine lock").conns.is_empty() {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Items per second out of the flow's first step in the last second.
    pub fn items_per_s(&self) -> Option<f64> {
        let first = self.metrics.lock().expect("metrics lock").steps().first().cloned()?;
        self.last_window.lock().expect("window lock").get(&first).and_then(|s| s.items_out_per_s)
    }
}

struct Started {
    dir: PathBuf,
    socket: PathBuf,
}

/// Shared state of the runs, kept in `AppState::runs`.
#[derive(Clone)]
pub struct RunsState {
    inner: Arc<Registry>,
}

pub struct Registry {
    pub config: RunsConfig,
    started: tokio::sync::OnceCell<Started>,
    live: Mutex<HashMap<i64, Arc<LiveRun>>>,
    ended: Mutex<VecDeque<Arc<LiveRun>>>,
    pub counters: Arc<WsCounters>,
}

impl fmt::Debug for RunsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunsState").field("live", &self.inner.live.lock().map(|l| l.len()).ok()).finish()
    }
}

impl Default for RunsState {
    fn default() -> Self {
        RunsState::new(&RunsConfig::default())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(s) = self.started.get() {
            let _ = std::fs::remove_dir_all(&s.dir);
        }
    }
}

impl RunsState {
    pub fn new(config: &RunsConfig) -> Self {
        RunsState {
            inner: Arc::new(Registry {
                config: config.clone(),
                started: tokio::sync::OnceCell::new(),
                live: Mutex::new(HashMap::new()),
                ended: Mutex::new(VecDeque::new()),
                counters: Arc::default(),
            }),
        }
    }

    pub fn config(&self) -> &RunsConfig {
        &self.inner.config
    }

    pub fn counters(&self) -> &Arc<WsCounters> {
        &self.inner.counters
    }

    /// The private directory of this server's runs and the telemetry
    /// socket, made (and the socket listened on) at the first run.
    pub async fn ensure_started(&self) -> std::io::Result<(PathBuf, PathBuf)> {
        let started = self
            .inner
            .started
            .get_or_try_init(|| async {
                let dir = make_private_dir(&self.inner.config.work_dir)?;
                let socket = dir.join("telemetry.sock");
                let listener = tokio::net::UnixListener::bind(&socket)?;
                tokio::spawn(super::telemetry::accept(listener, Arc::downgrade(&self.inner)));
                Ok::<_, std::io::Error>(Started { dir, socket })
            })
            .await?;
        Ok((started.dir.clone(), started.socket.clone()))
    }

    pub fn insert(&self, run: Arc<LiveRun>) {
        self.inner.live.lock().expect("registry lock").insert(run.id, run);
    }

    /// A live run, or one that ended recently.
    pub fn get(&self, id: i64) -> Option<Arc<LiveRun>> {
        if let Some(r) = self.inner.live.lock().expect("registry lock").get(&id) {
            return Some(r.clone());
        }
        self.inner.ended.lock().expect("registry lock").iter().find(|r| r.id == id).cloned()
    }

    pub fn live(&self) -> Vec<Arc<LiveRun>> {
        self.inner.live.lock().expect("registry lock").values().cloned().collect()
    }

    /// Live runs and the recently ended ones kept in memory.
    pub fn known(&self) -> Vec<Arc<LiveRun>> {
        let mut all = self.live();
        all.extend(self.inner.ended.lock().expect("registry lock").iter().cloned());
        all.sort_by_key(|r| r.id);
        all
    }

    /// The run ended: it stays readable until `keep_ended_runs` newer
    /// ones ended.
    pub fn finish(&self, id: i64) {
        let Some(run) = self.inner.live.lock().expect("registry lock").remove(&id) else { return };
        let mut ended = self.inner.ended.lock().expect("registry lock");
        ended.push_back(run);
        while ended.len() > self.inner.config.keep_ended_runs {
            ended.pop_front();
        }
    }

    pub fn items_per_s(&self, id: i64) -> Option<f64> {
        self.get(id).and_then(|r| r.items_per_s())
    }
}

impl Registry {
    /// The live run whose token this is.
    pub fn by_token(&self, token: &str) -> Option<Arc<LiveRun>> {
        let live = self.live.lock().expect("registry lock");
        live.values().find(|r| same_secret(&r.token, token)).cloned()
    }
}

/// A new directory only this user can open: `work_dir` if set (made if
/// missing), else a fresh one under the temporary directory. Unix socket
/// paths are short (108 bytes), so the default stays near /tmp.
fn make_private_dir(configured: &str) -> std::io::Result<PathBuf> {
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700);
    if !configured.is_empty() {
        let base = Path::new(configured);
        builder.recursive(true).create(base)?;
        let dir = base.join(format!("studio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        builder.recursive(false).create(&dir)?;
        return Ok(dir);
    }
    let name = format!("rillet-studio-{}", &crate::security::random_token()[..16]);
    let dir = std::env::temp_dir().join(name);
    builder.create(&dir)?;
    Ok(dir)
}
