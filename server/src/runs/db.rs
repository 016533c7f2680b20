//! The `runs` and `run_logs` tables (migrations/0002_runs.sql).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

/// A run as the API shows it (API.md, `GET /api/runs/{id}`).
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    pub pipeline_id: i64,
    pub version: i32,
    pub status: String,
    pub workers: i32,
    pub epoch_interval_ms: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub exit_reason: Option<String>,
    pub error: Option<Value>,
}

/// A run the server may have to clean up after: it was alive when last seen.
#[derive(Debug, Clone)]
pub struct Alive {
    pub id: i64,
    pub pid: Option<i32>,
    pub pid_start_ticks: Option<i64>,
}

/// What ended a run, written once.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: &'static str,
    pub exit_code: Option<i32>,
    pub exit_reason: String,
    pub error: Option<Value>,
    pub log_lines: i64,
    pub log_dropped: i64,
}

pub async fn insert(
    pool: &PgPool,
    pipeline_id: i64,
    version: i32,
    workers: i32,
    epoch_interval_ms: i64,
) -> sqlx::Result<Run> {
    sqlx::query_as!(
        Run,
        r#"INSERT INTO runs (pipeline_id, version, status, workers, epoch_interval_ms)
           VALUES ($1, $2, 'starting', $3, $4)
           RETURNING id, pipeline_id, version, status, workers, epoch_interval_ms, created_at,
                     started_at, ended_at, exit_code, exit_reason, error"#,
        pipeline_id,
        version,
        workers,
        epoch_interval_ms
    )
    .fetch_one(pool)
    .await
}

pub async fn get(pool: &PgPool, id: i64) -> sqlx::Result<Option<Run>> {
    sqlx::query_as!(
        Run,
        r#"SELECT id, pipeline_id, version, status, workers, epoch_interval_ms, created_at,
                  started_at, ended_at, exit_code, exit_reason, error
           FROM runs WHERE id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await
}

/// Runs, newest first, of one pipeline or of all; at most `limit`.
pub async fn list(pool: &PgPool, pipeline_id: Option<i64>, limit: i64) -> sqlx::Result<Vec<Run>> {
    sqlx::query_as!(
        Run,
        r#"SELECT id, pipeline_id, version, status, workers, epoch_interval_ms, created_at,
                  started_at, ended_at, exit_code, exit_reason, error
           FROM runs WHERE ($1::bigint IS NULL OR pipeline_id = $1)
           ORDER BY id DESC LIMIT $2"#,
        pipeline_id,
        limit
    )
    .fetch_all(pool)
    .await
}

/// The process was started.
pub async fn spawned(pool: &PgPool, id: i64, pid: i32, start_ticks: Option<i64>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE runs SET pid = $2, pid_start_ticks = $3, started_at = now() WHERE id = $1",
        id,
        pid,
        start_ticks
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The engine said hello with its flow: the run is running.
pub async fn running(pool: &PgPool, id: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE runs SET status = 'running' WHERE id = $1 AND status = 'starting'", id).execute(pool).await?;
    Ok(())
}

/// Records how a run ended, unless it already has an end.
pub async fn ended(pool: &PgPool, id: i64, o: &Outcome) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE runs SET status = $2, exit_code = $3, exit_reason = $4, error = $5, ended_at = now(),
                  log_lines = $6, log_dropped = $7
           WHERE id = $1 AND ended_at IS NULL"#,
        id,
        o.status,
        o.exit_code,
        o.exit_reason,
        o.error,
        o.log_lines,
        o.log_dropped
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Every run not known to have ended.
pub async fn alive(pool: &PgPool) -> sqlx::Result<Vec<Alive>> {
    sqlx::query_as!(
        Alive,
        "SELECT id, pid, pid_start_ticks FROM runs WHERE status IN ('starting', 'running') ORDER BY id"
    )
    .fetch_all(pool)
    .await
}

pub async fn alive_of_pipeline(pool: &PgPool, pipeline_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM runs WHERE pipeline_id = $1 AND status IN ('starting', 'running') ORDER BY id DESC LIMIT 1",
        pipeline_id
    )
    .fetch_optional(pool)
    .await
}

/// The newest run of each pipeline.
pub async fn last_of_pipelines(pool: &PgPool, pipeline_ids: &[i64]) -> sqlx::Result<Vec<Run>> {
    sqlx::query_as!(
        Run,
        r#"SELECT DISTINCT ON (pipeline_id) id, pipeline_id, version, status, workers, epoch_interval_ms,
                  created_at, started_at, ended_at, exit_code, exit_reason, error
           FROM runs WHERE pipeline_id = ANY($1)
           ORDER BY pipeline_id, id DESC"#,
        pipeline_ids
    )
    .fetch_all(pool)
    .await
}

/// Number of runs per status, for `rillet_runs{status}`.
pub async fn count_by_status(pool: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(r#"SELECT status, count(*) AS "n!" FROM runs GROUP BY status"#).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}

/// The pipeline JSON of a version, if that version exists.
pub async fn version_pipeline(
    pool: &PgPool,
    pipeline_id: i64,
    version: Option<i32>,
) -> sqlx::Result<Option<(i32, Value)>> {
    let row = sqlx::query!(
        r#"SELECT number, pipeline FROM pipeline_versions
           WHERE pipeline_id = $1 AND ($2::integer IS NULL OR number = $2)
           ORDER BY number DESC LIMIT 1"#,
        pipeline_id,
        version
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.number, r.pipeline)))
}

pub async fn pipeline_exists(pool: &PgPool, pipeline_id: i64) -> sqlx::Result<bool> {
    let n = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM pipelines WHERE id = $1"#, pipeline_id)
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

/// A log line as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogLine {
    pub seq: i64,
    pub stream: &'static str,
    pub at: DateTime<Utc>,
    pub text: String,
}

pub async fn insert_logs(pool: &PgPool, run_id: i64, lines: &[LogLine]) -> sqlx::Result<()> {
    let seqs: Vec<i64> = lines.iter().map(|l| l.seq).collect();
    let streams: Vec<String> = lines.iter().map(|l| l.stream.to_string()).collect();
    let ats: Vec<DateTime<Utc>> = lines.iter().map(|l| l.at).collect();
    let texts: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO run_logs (run_id, seq, stream, at, text)
           SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::timestamptz[], $5::text[])
           ON CONFLICT DO NOTHING"#,
        run_id,
        &seqs,
        &streams,
        &ats,
        &texts
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn read_logs(pool: &PgPool, run_id: i64, after: i64, limit: i64) -> sqlx::Result<Vec<LogLine>> {
    let rows = sqlx::query!(
        "SELECT seq, stream, at, text FROM run_logs WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        run_id,
        after,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LogLine {
            seq: r.seq,
            stream: if r.stream == "stderr" { "stderr" } else { "stdout" },
            at: r.at,
            text: r.text,
        })
        .collect())
}

/// The last seq and the dropped count of an ended run.
pub async fn log_counts(pool: &PgPool, run_id: i64) -> sqlx::Result<(i64, i64)> {
    let r = sqlx::query!("SELECT log_lines, log_dropped FROM runs WHERE id = $1", run_id).fetch_optional(pool).await?;
    Ok(r.map_or((0, 0), |r| (r.log_lines, r.log_dropped)))
}

/// Records the end of a run found after a restart; its log count comes
/// from what was stored.
pub async fn ended_after_restart(pool: &PgPool, id: i64, o: &Outcome) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE runs SET status = $2, exit_reason = $3, ended_at = now(),
                  log_lines = COALESCE((SELECT max(seq) FROM run_logs WHERE run_id = $1), 0)
           WHERE id = $1 AND ended_at IS NULL"#,
        id,
        o.status,
        o.exit_reason
    )
    .execute(pool)
    .await?;
    Ok(())
}
