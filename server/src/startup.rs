//! `rillet studio`: connect to PostgreSQL (creating the database if it is
//! missing), migrate, read the catalog and the front end, listen.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::net::TcpListener;

use crate::assets::Assets;
use crate::catalog::Catalog;
use crate::config::{redact_url, Config};
use crate::runs::RunsState;
use crate::security::{random_token, Sessions};
use crate::state::AppState;

/// Why the studio could not start; each is one line for the terminal.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("DATABASE_URL {url} is not a PostgreSQL URL: {reason}")]
    BadDatabaseUrl { url: String, reason: String },
    #[error("cannot reach PostgreSQL at {url}: {reason} (is it running? start it, or set DATABASE_URL)")]
    Unreachable { url: String, reason: String },
    #[error("PostgreSQL at {url} refused to create database {database:?}: {reason}")]
    CreateDatabase { url: String, database: String, reason: String },
    #[error("applying the migrations to {url} failed: {reason}")]
    Migrate { url: String, reason: String },
    #[error("cannot read the operator catalog from Python: {0}")]
    Catalog(#[from] crate::pycli::CliError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("server error: {0}")]
    Serve(String),
}

/// Text of an error and its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}

/// Connects to `config.database_url`, creating its database when the server
/// says it does not exist, and applies the migrations.
pub async fn connect_database(config: &Config) -> Result<PgPool, StartupError> {
    let url = redact_url(&config.database_url);
    let options = PgConnectOptions::from_str(&config.database_url)
        .map_err(|e| StartupError::BadDatabaseUrl { url: url.clone(), reason: chain(&e) })?
        .disable_statement_logging();
    let timeout = Duration::from_secs(config.database_connect_timeout_s.max(1));
    let unreachable = |e: &dyn std::error::Error| StartupError::Unreachable { url: url.clone(), reason: chain(e) };
    match tokio::time::timeout(timeout, options.connect()).await {
        Err(_) => {
            return Err(StartupError::Unreachable {
                url: url.clone(),
                reason: format!("no answer within {} s", timeout.as_secs()),
            })
        }
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
        }
        Ok(Err(e)) if is_missing_database(&e) => create_database(&options, &url, timeout).await?,
        Ok(Err(e)) => return Err(unreachable(&e)),
    }
    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections.max(1))
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
        .map_err(|e| unreachable(&e))?;
    sqlx::migrate!("../migrations")
        .run(&pool)
        .await
        .map_err(|e| StartupError::Migrate { url: url.clone(), reason: chain(&e) })?;
    Ok(pool)
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    // 3D000: invalid_catalog_name, "database ... does not exist".
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000"))
}

async fn create_database(options: &PgConnectOptions, url: &str, timeout: Duration) -> Result<(), StartupError> {
    let database = options.get_database().unwrap_or("postgres").to_string();
    let fail =
        |reason: String| StartupError::CreateDatabase { url: url.to_string(), database: database.clone(), reason };
    let admin = options.clone().database("postgres");
    let mut conn = tokio::time::timeout(timeout, admin.connect())
        .await
        .map_err(|_| fail("no answer".into()))?
        .map_err(|e| fail(chain(&e)))?;
    // An identifier can't be a bind parameter; quote it the SQL way.
    let quoted = format!("\"{}\"", database.replace('"', "\"\""));
    let result = sqlx::raw_sql(&format!("CREATE DATABASE {quoted}")).execute(&mut conn).await;
    let _ = conn.close().await;
    match result {
        Ok(_) => {
            tracing::info!(%database, "created the database");
            Ok(())
        }
        // 42P04: duplicate_database, another process created it meanwhile.
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(fail(chain(&e))),
    }
}

/// Everything the handlers share, from a connected pool.
pub async fn build_state(config: Config, pool: PgPool) -> Result<AppState, StartupError> {
    let catalog = Catalog::load(&config).await?;
    Ok(state_with_catalog(config, pool, Arc::new(catalog)))
}

/// Like [`build_state`] with a catalog already read (tests share one).
pub fn state_with_catalog(config: Config, pool: PgPool, catalog: Arc<Catalog>) -> AppState {
    let token: Arc<str> = if config.secret.is_empty() { random_token().into() } else { config.secret.as_str().into() };
    let assets = Assets::load(&config.web_dist_path());
    if let Some(why) = &assets.missing {
        tracing::warn!("the front end is not built ({why}); run scripts/setup");
    }
    let runs = RunsState::new(&config.runs);
    AppState {
        pool,
        sessions: Sessions::new(Duration::from_secs(config.session_ttl_hours.max(1) * 3600)),
        config: Arc::new(config),
        catalog,
        token,
        assets: Arc::new(assets),
        runs,
    }
}

/// Runs `rillet studio` until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), StartupError> {
    let pool = connect_database(&config).await?;
    tracing::info!(url = %redact_url(&config.database_url), "database ready");
    // Runs a previous server left alive are marked before new ones start.
    if let Err(e) = crate::runs::recover(&pool, &config.runs).await {
        tracing::error!(error = %e, "could not check the runs a previous server left");
    }
    let addr = config.addr;
    let state = build_state(config, pool).await?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| StartupError::Bind { addr: addr.to_string(), reason: e.to_string() })?;
    let local =
        listener.local_addr().map_err(|e| StartupError::Bind { addr: addr.to_string(), reason: e.to_string() })?;
    let shown = if local.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
    } else {
        local
    };
    // stdout, not the log: this is the line the user copies.
    println!("Rillet studio is running. Open this URL to log in:\n\n    http://{shown}/login?token={}\n", state.token);
    tracing::info!(%local, "listening");
    let runs = state.clone();
    axum::serve(listener, crate::app(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Stop the runs (and record it) before connections wind down.
            crate::runs::shutdown(&runs).await;
        })
        .await
        .map_err(|e| StartupError::Serve(e.to_string()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
