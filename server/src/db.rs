//! Queries on pipelines and versions shared by several resources.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::error::{AppError, AppResult};
use crate::model::Pipeline;

pub const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Serialize)]
pub struct Version {
    pub number: i32,
    pub created_at: DateTime<Utc>,
    pub note: String,
    pub pipeline: Pipeline,
}

#[derive(Debug, Serialize)]
pub struct PipelineDetail {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub latest_version: i32,
    pub version: Version,
}

/// A name as stored: trimmed, 1 to 200 characters.
pub fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(AppError::BadRequest(format!(
            "a pipeline name has 1 to {MAX_NAME_CHARS} characters (this one has {chars})"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::BadRequest("a pipeline name can't contain control characters".into()));
    }
    Ok(name.to_string())
}

pub fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("pipeline {id} does not exist; list pipelines with GET /api/pipelines"))
}

/// Maps a unique violation on the name to 409.
pub fn name_conflict(name: &str) -> impl FnOnce(sqlx::Error) -> AppError + '_ {
    move |e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => {
            AppError::Conflict(format!("a pipeline named {name:?} already exists; choose another name"))
        }
        _ => e.into(),
    }
}

fn pipeline_from_json(value: serde_json::Value, id: i64, number: i32) -> AppResult<Pipeline> {
    serde_json::from_value(value)
        .map_err(|e| AppError::Internal(format!("stored pipeline {id} version {number} does not parse: {e}")))
}

pub fn pipeline_to_json(p: &Pipeline) -> AppResult<serde_json::Value> {
    serde_json::to_value(p).map_err(AppError::internal)
}

/// Creates a pipeline with `pipeline` as version 1, inside `tx`.
pub async fn insert_pipeline(conn: &mut PgConnection, name: &str, pipeline: &Pipeline, note: &str) -> AppResult<i64> {
    let row = sqlx::query!("INSERT INTO pipelines (name) VALUES ($1) RETURNING id", name)
        .fetch_one(&mut *conn)
        .await
        .map_err(name_conflict(name))?;
    let json = pipeline_to_json(pipeline)?;
    sqlx::query!(
        "INSERT INTO pipeline_versions (pipeline_id, number, note, pipeline) VALUES ($1, 1, $2, $3)",
        row.id,
        note,
        json
    )
    .execute(&mut *conn)
    .await?;
    Ok(row.id)
}

/// Appends a version; the pipeline row is locked so that concurrent saves
/// get consecutive numbers.
pub async fn insert_version(pool: &PgPool, id: i64, pipeline: &Pipeline, note: &str) -> AppResult<Version> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SELECT id FROM pipelines WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| not_found(id))?;
    let json = pipeline_to_json(pipeline)?;
    let row = sqlx::query!(
        r#"INSERT INTO pipeline_versions (pipeline_id, number, note, pipeline)
           SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3 FROM pipeline_versions WHERE pipeline_id = $1
           RETURNING number, created_at"#,
        id,
        note,
        json
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!("UPDATE pipelines SET updated_at = now() WHERE id = $1", id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Version { number: row.number, created_at: row.created_at, note: note.to_string(), pipeline: pipeline.clone() })
}

/// Version `number` of pipeline `id`, or its latest when `number` is `None`.
pub async fn version(pool: &PgPool, id: i64, number: Option<i32>) -> AppResult<Version> {
    let row = sqlx::query!(
        r#"SELECT number, created_at, note, pipeline FROM pipeline_versions
           WHERE pipeline_id = $1 AND ($2::integer IS NULL OR number = $2)
           ORDER BY number DESC LIMIT 1"#,
        id,
        number
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        if exists(pool, id).await? {
            return Err(AppError::NotFound(format!(
                "pipeline {id} has no version {}; list them with GET /api/pipelines/{id}/versions",
                number.map_or("at all".to_string(), |n| n.to_string())
            )));
        }
        return Err(not_found(id));
    };
    Ok(Version {
        number: row.number,
        created_at: row.created_at,
        note: row.note,
        pipeline: pipeline_from_json(row.pipeline, id, row.number)?,
    })
}

pub async fn exists(pool: &PgPool, id: i64) -> AppResult<bool> {
    Ok(sqlx::query!("SELECT id FROM pipelines WHERE id = $1", id).fetch_optional(pool).await?.is_some())
}

/// The pipeline with its latest version.
pub async fn detail(pool: &PgPool, id: i64) -> AppResult<PipelineDetail> {
    let row = sqlx::query!(
        r#"SELECT p.id, p.name, p.created_at, p.updated_at,
                  v.number, v.created_at AS version_created_at, v.note, v.pipeline
           FROM pipelines p
           JOIN LATERAL (SELECT * FROM pipeline_versions WHERE pipeline_id = p.id
                         ORDER BY number DESC LIMIT 1) v ON true
           WHERE p.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| not_found(id))?;
    Ok(PipelineDetail {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
        updated_at: row.updated_at,
        latest_version: row.number,
        version: Version {
            number: row.number,
            created_at: row.version_created_at,
            note: row.note,
            pipeline: pipeline_from_json(row.pipeline, id, row.number)?,
        },
    })
}

/// `base`, or `base (2)`, `base (3)`... whichever is free.
pub async fn free_name(conn: &mut PgConnection, base: &str) -> AppResult<String> {
    let base: String = base.trim().chars().take(MAX_NAME_CHARS - 8).collect();
    for n in 1..10_000u32 {
        let candidate = if n == 1 { base.clone() } else { format!("{base} ({n})") };
        let taken = sqlx::query!("SELECT id FROM pipelines WHERE name = $1", candidate)
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        if !taken {
            return Ok(candidate);
        }
    }
    Err(AppError::Conflict(format!("too many pipelines are named like {base:?}; choose a name")))
}

/// Creates a pipeline named `name` (or a free name like `fallback`) holding
/// `pipeline` as version 1; answers its detail.
pub async fn create(
    pool: &PgPool,
    name: Option<&str>,
    fallback: &str,
    pipeline: &Pipeline,
    note: &str,
) -> AppResult<PipelineDetail> {
    let mut tx = pool.begin().await?;
    let name = match name {
        Some(n) => check_name(n)?,
        None => free_name(&mut tx, &check_name(fallback)?).await?,
    };
    let id = insert_pipeline(&mut tx, &name, pipeline, note).await?;
    tx.commit().await?;
    detail(pool, id).await
}
