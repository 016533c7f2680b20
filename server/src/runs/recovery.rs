//! Runs a previous server left behind.
//!
//! A run's process is the leader of its own group, so it outlives a server
//! that crashed. At start-up, every run still marked alive is checked:
//! if its process (the recorded pid *and* start time) still runs, nobody
//! watches it any more, so it is stopped and marked `stopped`; if it is
//! gone, its outcome is unknown and it is marked `lost`.

use std::time::Duration;

use nix::sys::signal::Signal;
use sqlx::PgPool;

use super::db::{self, Outcome};
use super::process::{group_exists, same_process_alive, signal_group};
use super::RunsConfig;

/// Marks the runs that were alive when the last server stopped watching.
/// Returns how many were marked.
pub async fn recover(pool: &PgPool, config: &RunsConfig) -> sqlx::Result<usize> {
    let alive = db::alive(pool).await?;
    let mut marked = 0;
    for run in alive {
        let outcome = match run.pid {
            Some(pid) if same_process_alive(pid, run.pid_start_ticks) => {
                let _ = signal_group(pid, Signal::SIGTERM);
                let deadline = tokio::time::Instant::now() + Duration::from_millis(config.stop_grace_ms);
                while group_exists(pid) && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let killed = group_exists(pid);
                if killed {
                    let _ = signal_group(pid, Signal::SIGKILL);
                }
                let how = if killed { "SIGTERM, then SIGKILL" } else { "SIGTERM" };
                Outcome {
                    status: "stopped",
                    exit_code: None,
                    exit_reason: format!(
                        "the studio server restarted while this run was alive; nobody watched it any more, so the \
                         new server stopped it ({how})"
                    ),
                    error: None,
                    log_lines: 0,
                    log_dropped: 0,
                }
            }
            _ => Outcome {
                status: "lost",
                exit_code: None,
                exit_reason: "the run's process ended while no studio server was watching it; its outcome is unknown"
                    .into(),
                error: None,
                log_lines: 0,
                log_dropped: 0,
            },
        };
        tracing::warn!(run = run.id, status = outcome.status, "a run left by the previous server was marked");
        db::ended_after_restart(pool, run.id, &outcome).await?;
        marked += 1;
    }
    Ok(marked)
}
