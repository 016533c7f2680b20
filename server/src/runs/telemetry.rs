//! The run channel (engine/TELEMETRY.md): a Unix socket in the server's
//! private directory. Each process of a run connects, says `hello` with
//! its run's token, then reports metrics, sampled records and its failure
//! as newline-delimited JSON; the server sends `sample` back.
//!
//! Reading never waits on anything but the socket: records go into the
//! subscribers' bounded buffers, so the engine's sender never blocks on a
//! browser.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::metrics::StepReport;
use super::registry::{LiveRun, Registry};

/// Longest line accepted from a run; a `records` message holds at most 20
/// items of 2,000 characters, so this is ample.
const MAX_LINE: u64 = 8 << 20;
/// Time a new connection has to say hello.
const HELLO_WITHIN: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
pub struct HelloStep {
    pub step_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FromEngine {
    Hello {
        token: String,
        #[serde(default)]
        flow_id: Option<String>,
        #[serde(default)]
        steps: Vec<HelloStep>,
        #[serde(default)]
        histogram_bounds_ns: Vec<u64>,
    },
    Metrics {
        #[serde(default)]
        process: u32,
        #[serde(default)]
        dropped_messages: u64,
        #[serde(default)]
        steps: Vec<StepReport>,
    },
    Records {
        step_id: String,
        #[serde(default)]
        items: Vec<String>,
        #[serde(default)]
        dropped: u64,
    },
    Error {
        #[serde(default)]
        step_id: Option<String>,
        #[serde(default)]
        kind: Option<String>,
        message: String,
        #[serde(default)]
        traceback: Option<String>,
    },
    Bye {
        reason: String,
    },
    #[serde(other)]
    Other,
}

/// Accepts run connections until the registry goes away.
pub async fn accept(listener: UnixListener, registry: Weak<Registry>) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "telemetry socket: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if registry.strong_count() == 0 {
            return;
        }
        tokio::spawn(serve(stream, registry.clone()));
    }
}

/// Reads one line of at most MAX_LINE bytes; `None` at the end or on a
/// line too long (the connection is then dropped).
async fn read_line(reader: &mut BufReader<impl AsyncRead + Unpin>, buf: &mut Vec<u8>) -> Option<()> {
    buf.clear();
    let n = (&mut *reader).take(MAX_LINE).read_until(b'\n', buf).await.ok()?;
    if n == 0 || (buf.last() != Some(&b'\n') && n as u64 == MAX_LINE) {
        return None;
    }
    Some(())
}

async fn serve(stream: UnixStream, registry: Weak<Registry>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    let Ok(Some(())) = tokio::time::timeout(HELLO_WITHIN, read_line(&mut reader, &mut buf)).await else { return };
    let Ok(FromEngine::Hello { token, flow_id, steps, histogram_bounds_ns }) = serde_json::from_slice(&buf) else {
        tracing::warn!("telemetry: a connection did not start with hello; closed");
        return;
    };
    let Some(run) = registry.upgrade().and_then(|r| r.by_token(&token)) else {
        tracing::warn!("telemetry: hello with an unknown token; closed");
        return;
    };
    drop(registry);

    let steps: Vec<String> = steps.into_iter().map(|s| s.step_id).collect();
    let (tx, mut rx) = mpsc::channel::<String>(16);
    // Every step is sampled from the start (the engine caps it per step), so
    // the hub holds a step's newest records before anyone opens it: a short
    // run can end before a browser's first subscribe arrives.
    let _ = tx.try_send(json!({"type": "sample", "steps": steps}).to_string());
    let conn = {
        let mut engine = run.engine.lock().expect("engine lock");
        engine.next_conn += 1;
        let id = engine.next_conn;
        engine.conns.insert(id, tx.clone());
        id
    };
    drop(tx);
    let writer = tokio::spawn(async move {
        while let Some(mut msg) = rx.recv().await {
            msg.push('\n');
            if write.write_all(msg.as_bytes()).await.is_err() {
                break;
            }
        }
    });

    run.metrics.lock().expect("metrics lock").hello(histogram_bounds_ns, steps);
    if flow_id.is_some() {
        super::supervisor::engine_running(&run).await;
    }

    while read_line(&mut reader, &mut buf).await.is_some() {
        match serde_json::from_slice::<FromEngine>(&buf) {
            Ok(msg) => handle(&run, msg),
            Err(e) => tracing::debug!(run = run.id, error = %e, "telemetry: unreadable message ignored"),
        }
    }

    run.engine.lock().expect("engine lock").conns.remove(&conn);
    writer.abort();
    run.engine_closed.notify_waiters();
}

fn handle(run: &Arc<LiveRun>, msg: FromEngine) {
    match msg {
        FromEngine::Metrics { process, dropped_messages, steps } => {
            run.metrics.lock().expect("metrics lock").report(process, dropped_messages, steps);
        }
        FromEngine::Records { step_id, items, dropped } => run.hub.records(&step_id, &items, dropped),
        FromEngine::Error { step_id, kind, message, traceback } => {
            let node_id = step_id.as_ref().and_then(|s| run.nodes.get(s)).cloned();
            let error = json!({
                "step_id": step_id, "node_id": node_id, "kind": kind.unwrap_or_else(|| "internal".into()),
                "message": message, "traceback": traceback,
            });
            run.hub.broadcast(&json!({"type": "error", "error": error}));
            run.engine.lock().expect("engine lock").error.get_or_insert(error);
        }
        FromEngine::Bye { reason } => run.engine.lock().expect("engine lock").bye = Some(reason),
        FromEngine::Hello { .. } | FromEngine::Other => {}
    }
}

/// Every second while the run lives: the metrics window to subscribers.
pub async fn tick_metrics(run: Arc<LiveRun>) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    while !run.ended.load(Ordering::Relaxed) {
        every.tick().await;
        let window = run.metrics.lock().expect("metrics lock").window(Instant::now());
        let ts = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        let msg = json!({"type": "metrics", "ts": ts, "steps": window});
        *run.last_window.lock().expect("window lock") = window;
        run.hub.broadcast(&msg);
    }
}

/// The error object of API.md for a run that failed without the engine
/// saying why.
pub fn plain_error(kind: &str, message: String) -> Value {
    json!({"step_id": null, "node_id": null, "kind": kind, "message": message, "traceback": null})
}
