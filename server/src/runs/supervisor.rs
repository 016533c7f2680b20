//! Starting, watching and stopping runs.
//!
//! There is one execution path: a run exports the chosen version with
//! `python -m rillet.pipeline export` (what `GET .../export` serves) into a
//! file in the server's private run directory and runs exactly that file
//! with `python -m rillet.run`, in a process group of its own. One task per
//! run waits for the process and records the outcome; nothing a run does
//! can take the server down with it.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{json, Value};
use tokio::process::Command;

use super::db::{self, Outcome, Run};
use super::hub::Hub;
use super::logs::{self, Logs};
use super::process::{self, signal_group};
use super::registry::{LiveRun, StopRequest};
use super::telemetry::{plain_error, tick_metrics};
use crate::error::{AppError, AppResult};
use crate::pycli::{self, CliOutcome, PipelineCommand};
use crate::security::random_token;
use crate::state::AppState;

/// Time the engine gets, after its process exited, to have its last
/// messages read, and the log pipes to drain.
const DRAIN: Duration = Duration::from_secs(3);

/// What `POST /api/pipelines/{id}/runs` asks for.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub version: Option<i32>,
    pub workers: Option<i32>,
    pub epoch_interval_ms: Option<i64>,
}

/// `flow.step` → node id, from the pipeline JSON of the version.
fn node_ids(pipeline: &Value) -> HashMap<String, String> {
    let flow = pipeline["flow_id"].as_str().unwrap_or_default();
    let nodes = pipeline["nodes"].as_array().map(Vec::as_slice).unwrap_or_default();
    nodes
        .iter()
        .filter_map(|n| Some((format!("{flow}.{}", n["step_id"].as_str()?), n["id"].as_str()?.to_string())))
        .collect()
}

/// Exports, records and starts a run; answers once the process started.
pub async fn start(state: &AppState, pipeline_id: i64, req: StartRequest) -> AppResult<Run> {
    let workers = req.workers.unwrap_or(1);
    if !(1..=16).contains(&workers) {
        return Err(AppError::BadRequest(format!("workers must be between 1 and 16, not {workers}")));
    }
    let epoch_ms = req.epoch_interval_ms.unwrap_or(10_000);
    if !(1000..=86_400_000).contains(&epoch_ms) || epoch_ms % 1000 != 0 {
        return Err(AppError::BadRequest(format!(
            "epoch_interval_ms must be whole seconds between 1000 and 86400000 (python -m rillet.run -s takes \
             seconds), not {epoch_ms}"
        )));
    }
    let pool = &state.pool;
    if !db::pipeline_exists(pool, pipeline_id).await? {
        return Err(AppError::NotFound(format!(
            "pipeline {pipeline_id} does not exist; list pipelines with GET /api/pipelines"
        )));
    }
    let Some((version, pipeline)) = db::version_pipeline(pool, pipeline_id, req.version).await? else {
        let v = req.version.unwrap_or_default();
        return Err(AppError::NotFound(format!(
            "pipeline {pipeline_id} has no version {v}; list them with GET /api/pipelines/{pipeline_id}/versions"
        )));
    };
    let source = match pycli::run(&state.config, PipelineCommand::Export, &pipeline.to_string()).await? {
        CliOutcome::Ok(source) => source,
        CliOutcome::Rejected(report) => {
            return Err(AppError::Invalid {
                message: format!(
                    "version {version} of pipeline {pipeline_id} can't run: fix the {} issue(s) and save a new version",
                    report.errors.len()
                ),
                issues: report.errors,
            });
        }
    };

    let (dir, socket) = state.runs.ensure_started().await.map_err(AppError::internal)?;
    let row = db::insert(pool, pipeline_id, version, workers, epoch_ms).await?;
    let run_dir = dir.join(row.id.to_string());
    let file = run_dir.join("pipeline.py");
    let written = async {
        tokio::fs::create_dir(&run_dir).await?;
        tokio::fs::write(&file, &source).await
    };
    if let Err(e) = written.await {
        let outcome = outcome_without_process("failed", format!("could not write the run's file: {e}"));
        db::ended(pool, row.id, &outcome).await?;
        return Err(AppError::internal(format!("run {}: writing {}: {e}", row.id, file.display())));
    }

    let cfg = state.runs.config();
    let (logs, log_writer) = Logs::new(pool.clone(), row.id, cfg.log_memory_lines, cfg.log_max_lines);
    let hub = Hub::new(cfg.ws_queue_messages, state.runs.counters().clone());
    let token = random_token();
    let run = Arc::new(LiveRun::new(pool.clone(), row.clone(), token.clone(), node_ids(&pipeline), logs, hub));
    // Known before the process exists: it connects as it starts.
    state.runs.insert(run.clone());

    let python = state.config.python_path();
    let spawned = Command::new(&python)
        .arg("-m")
        .arg("rillet.run")
        .arg(format!("{}:flow", file.display()))
        .args(["-w", &workers.to_string(), "-s", &(epoch_ms / 1000).to_string()])
        .current_dir(&run_dir)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env("RILLET_TELEMETRY_SOCKET", &socket)
        .env("RILLET_TELEMETRY_TOKEN", &token)
        // The CLI reads these as defaults: the run's own settings win.
        .env_remove("RILLET_WORKERS_PER_PROCESS")
        .env_remove("RILLET_PROCESS_ID")
        .env_remove("RILLET_ADDRESSES")
        .env_remove("RILLET_SNAPSHOT_INTERVAL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let reason = format!("could not start {}: {e}; run scripts/setup", python.display());
            let mut outcome = outcome_without_process("failed", reason.clone());
            outcome.error = Some(plain_error("internal", reason));
            db::ended(pool, row.id, &outcome).await?;
            run.ended.store(true, Ordering::Relaxed);
            run.logs.close();
            state.runs.finish(row.id);
            return db::get(pool, row.id).await?.ok_or_else(|| AppError::internal("run row vanished"));
        }
    };
    let pid = child.id().map(|p| p as i32).unwrap_or_default();
    run.pgid.store(pid, Ordering::Relaxed);
    if run.stop.lock().expect("stop lock").requested {
        // A stop came while the process was being started.
        let _ = signal_group(pid, Signal::SIGTERM);
    }
    db::spawned(pool, row.id, pid, process::start_ticks(pid)).await?;

    let pump = |out: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>, stream: &'static str| {
        let run = run.clone();
        let max = cfg.log_line_bytes;
        tokio::spawn(async move {
            let Some(out) = out else { return };
            logs::pump(out, max, |text| {
                let line = run.logs.push(stream, text);
                run.hub.broadcast(&json!({"type": "log", "line": line}));
            })
            .await;
        })
    };
    let stdout = pump(child.stdout.take().map(|s| Box::new(s) as _), "stdout");
    let stderr = pump(child.stderr.take().map(|s| Box::new(s) as _), "stderr");
    tokio::spawn(tick_metrics(run.clone()));
    let watch = {
        let (pool, runs, run) = (pool.clone(), state.runs.clone(), run.clone());
        async move {
            let status = child.wait().await;
            finish(&pool, &run, status, [stdout, stderr], log_writer).await;
            runs.finish(run.id);
        }
    };
    tokio::spawn(watch);

    let fresh = db::get(pool, row.id).await?.ok_or_else(|| AppError::internal("run row vanished"))?;
    run.set_row(fresh.clone());
    Ok(fresh)
}

fn outcome_without_process(status: &'static str, reason: String) -> Outcome {
    Outcome { status, exit_code: None, exit_reason: reason, error: None, log_lines: 0, log_dropped: 0 }
}

/// The engine said hello with a flow: `starting` becomes `running`.
pub async fn engine_running(run: &Arc<LiveRun>) {
    let first = {
        let mut engine = run.engine.lock().expect("engine lock");
        !std::mem::replace(&mut engine.hello_with_flow, true)
    };
    if !first || run.ended.load(Ordering::Relaxed) {
        return;
    }
    let recorded = async {
        db::running(&run.pool, run.id).await?;
        db::get(&run.pool, run.id).await
    };
    match recorded.await {
        Ok(Some(row)) if row.ended_at.is_none() => run.set_row(row),
        Ok(_) => {}
        Err(e) => tracing::error!(run = run.id, error = %e, "could not record that a run is running"),
    }
}

/// After the process exited: let the pipes and the run channel drain,
/// decide the outcome, record it, tell the subscribers.
async fn finish(
    pool: &sqlx::PgPool,
    run: &Arc<LiveRun>,
    status: std::io::Result<ExitStatus>,
    pumps: [tokio::task::JoinHandle<()>; 2],
    log_writer: tokio::task::JoinHandle<()>,
) {
    // What the user code started goes with the run.
    let pgid = run.pgid.load(Ordering::Relaxed);
    let _ = signal_group(pgid, Signal::SIGKILL);
    let drain = async {
        for p in pumps {
            let _ = p.await;
        }
    };
    let _ = tokio::time::timeout(DRAIN, drain).await;
    run.engine_gone(DRAIN).await;
    run.ended.store(true, Ordering::Relaxed);
    run.logs.close();
    let _ = tokio::time::timeout(Duration::from_secs(10), log_writer).await;

    let stop = *run.stop.lock().expect("stop lock");
    let (error, bye, saw_flow) = {
        let engine = run.engine.lock().expect("engine lock");
        (engine.error.clone(), engine.bye.clone(), engine.hello_with_flow)
    };
    let stderr_tail: Vec<String> =
        run.logs.recent(0, usize::MAX).into_iter().filter(|l| l.stream == "stderr").map(|l| l.text).collect();
    let tail = stderr_tail[stderr_tail.len().saturating_sub(5)..].join("\n");
    let (lines, dropped) = run.logs.counts();
    let mut outcome = decide(status, stop, error, bye.as_deref(), saw_flow, &tail);
    outcome.log_lines = lines;
    outcome.log_dropped = dropped;

    if let Err(e) = db::ended(pool, run.id, &outcome).await {
        tracing::error!(run = run.id, error = %e, "could not record the end of a run");
    }
    match db::get(pool, run.id).await {
        Ok(Some(row)) => run.set_row(row),
        Ok(None) => {}
        Err(e) => tracing::error!(run = run.id, error = %e, "could not read a run back"),
    }
    if outcome.status == "failed" && outcome.error.is_some() && run.engine.lock().expect("engine lock").error.is_none()
    {
        run.hub.broadcast(&json!({"type": "error", "error": outcome.error}));
    }
    tracing::info!(run = run.id, status = outcome.status, reason = %outcome.exit_reason, "run ended");
}

/// The outcome of a run from its exit status and what the engine said.
fn decide(
    status: std::io::Result<ExitStatus>,
    stop: StopRequest,
    error: Option<Value>,
    bye: Option<&str>,
    saw_flow: bool,
    stderr_tail: &str,
) -> Outcome {
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("the server lost track of the run's process: {e}");
            return Outcome {
                status: "lost",
                exit_code: None,
                exit_reason: reason,
                error: None,
                log_lines: 0,
                log_dropped: 0,
            };
        }
    };
    let code = status.code();
    let signal = status.signal();
    let how = match (code, signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by {}", process::signal_name(s)),
        _ => "an unknown exit status".to_string(),
    };
    let out = |status: &'static str, reason: String, error: Option<Value>| Outcome {
        status,
        exit_code: code,
        exit_reason: reason,
        error,
        log_lines: 0,
        log_dropped: 0,
    };
    if stop.requested {
        let who = if stop.by_server { "the studio server shut down" } else { "stopped on request" };
        let how = if stop.killed {
            "SIGTERM, then SIGKILL after the grace period".to_string()
        } else if code == Some(0) {
            "it finished before the signal".to_string()
        } else {
            format!("SIGTERM ({how})")
        };
        return out("stopped", format!("{who}: {how}"), None);
    }
    if let Some(error) = error {
        let step = error["step_id"].as_str().map(|s| format!(" in step '{s}'")).unwrap_or_default();
        return out("failed", format!("failed{step} ({how})"), Some(error));
    }
    match (code, bye) {
        (Some(0), Some("eof")) => out("succeeded", "the flow reached the end of its input".into(), None),
        (Some(0), Some("aborted")) => {
            let msg = "a source aborted the run (AbortExecution)".to_string();
            out("failed", msg.clone(), Some(plain_error("user", msg)))
        }
        (Some(0), Some("interrupted")) => out("stopped", "interrupted (SIGINT)".into(), None),
        (Some(0), _) if saw_flow => out("succeeded", "exit code 0".into(), None),
        (Some(0), _) => out("succeeded", "exit code 0 (the run never reported to the studio)".into(), None),
        _ => {
            let hint = if signal == Some(9) { " (out of memory?)" } else { "" };
            let mut message = format!("the run's process ended with {how}{hint} without reporting an error");
            if !stderr_tail.is_empty() {
                message.push_str("; the end of its stderr:\n");
                message.push_str(stderr_tail);
            }
            out("failed", format!("{how}{hint}"), Some(plain_error("internal", message)))
        }
    }
}

/// `POST /api/runs/{id}/stop`: SIGTERM to the group now, SIGKILL after
/// `stop_grace_ms` if anything of it is left.
pub async fn stop(state: &AppState, id: i64, by_server: bool) -> AppResult<Option<Arc<LiveRun>>> {
    let Some(run) = state.runs.get(id).filter(|r| !r.ended.load(Ordering::Relaxed)) else { return Ok(None) };
    {
        let mut stop = run.stop.lock().expect("stop lock");
        if stop.requested {
            return Ok(Some(run.clone()));
        }
        stop.requested = true;
        stop.by_server = by_server;
    }
    let pgid = run.pgid.load(Ordering::Relaxed);
    if pgid == 0 {
        // Not started yet: `start` sends SIGTERM once the process exists.
        return Ok(Some(run));
    }
    signal_group(pgid, Signal::SIGTERM).map_err(|e| AppError::internal(format!("SIGTERM to run {id}: {e}")))?;
    let grace = Duration::from_millis(state.runs.config().stop_grace_ms);
    let killer = run.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline {
            if !process::group_exists(pgid) || killer.ended.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if process::group_exists(pgid) {
            killer.stop.lock().expect("stop lock").killed = true;
            let _ = signal_group(pgid, Signal::SIGKILL);
        }
    });
    Ok(Some(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(code: i32) -> std::io::Result<ExitStatus> {
        Ok(ExitStatus::from_raw(code << 8))
    }

    #[test]
    fn outcomes() {
        let none = StopRequest::default();
        assert_eq!(decide(exit(0), none, None, Some("eof"), true, "").status, "succeeded");
        let err = json!({"step_id": "f.s", "message": "boom"});
        let o = decide(exit(1), none, Some(err.clone()), None, true, "");
        assert_eq!((o.status, o.exit_code, o.error), ("failed", Some(1), Some(err)));
        let o = decide(Ok(ExitStatus::from_raw(15)), StopRequest { requested: true, ..none }, None, None, true, "");
        assert_eq!((o.status, o.exit_code), ("stopped", None));
        assert!(o.exit_reason.starts_with("stopped on request: SIGTERM (killed by SIGTERM)"), "{}", o.exit_reason);
        let o = decide(Ok(ExitStatus::from_raw(9)), none, None, None, true, "oops");
        assert_eq!(o.status, "failed");
        assert!(o.error.unwrap()["message"].as_str().unwrap().contains("killed by SIGKILL (out of memory?)"));
        assert_eq!(decide(exit(0), none, None, Some("aborted"), true, "").status, "failed");
    }

    #[test]
    fn node_ids_by_full_step_id() {
        let p = json!({"flow_id": "f", "nodes": [{"id": "n1", "step_id": "inp"}, {"id": "n2", "step_id": "out"}]});
        let ids = node_ids(&p);
        assert_eq!(ids["f.inp"], "n1");
        assert_eq!(ids["f.out"], "n2");
    }
}
