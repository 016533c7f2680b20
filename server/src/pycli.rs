//! `python -m rillet.pipeline <command>` in a subprocess: the server never
//! runs user code (or imports it) in its own process.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::config::Config;
use crate::error::{AppError, Issue};

/// The commands of `python -m rillet.pipeline` (a fixed set: never user text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineCommand {
    Catalog,
    Gallery,
    Validate,
    Export,
    Import,
}

impl PipelineCommand {
    fn arg(self) -> &'static str {
        match self {
            PipelineCommand::Catalog => "catalog",
            PipelineCommand::Gallery => "gallery",
            PipelineCommand::Validate => "validate",
            PipelineCommand::Export => "export",
            PipelineCommand::Import => "import",
        }
    }
}

/// What the CLI answered.
#[derive(Debug)]
pub enum CliOutcome {
    /// Exit status 0: stdout.
    Ok(String),
    /// Exit status 1: the input has errors (`{"errors", "warnings"}`).
    Rejected(Report),
}

/// `{"errors": [...], "warnings": [...]}` as printed by `validate`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot start {python}: {source}; run scripts/setup to create the virtual environment")]
    Spawn { python: String, source: std::io::Error },
    #[error("`python -m rillet.pipeline {command}` took longer than {seconds} s and was killed")]
    Timeout { command: &'static str, seconds: u64 },
    #[error("`python -m rillet.pipeline {command}` failed with status {status}: {stderr}")]
    Failed { command: &'static str, status: String, stderr: String },
    #[error("`python -m rillet.pipeline {command}` printed output that is not what the server expects: {detail}")]
    Garbled { command: &'static str, detail: String },
    #[error("i/o with `python -m rillet.pipeline {command}`: {source}")]
    Io { command: &'static str, source: std::io::Error },
}

impl From<CliError> for AppError {
    fn from(e: CliError) -> Self {
        match e {
            CliError::Spawn { .. } => AppError::Unavailable {
                public: "the Python environment is missing; run scripts/setup".into(),
                detail: e.to_string(),
            },
            CliError::Timeout { command, seconds } => AppError::Unavailable {
                public: format!("{command} took longer than {seconds} s; try again with a smaller input"),
                detail: e.to_string(),
            },
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Runs one command with `input` on stdin.
pub async fn run(config: &Config, command: PipelineCommand, input: &str) -> Result<CliOutcome, CliError> {
    let name = command.arg();
    let python = config.python_path();
    let mut child = Command::new(&python)
        .args(["-m", "rillet.pipeline", name])
        .current_dir(config.root_dir())
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| CliError::Spawn { python: python.display().to_string(), source })?;
    let io = |source| CliError::Io { command: name, source };
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let input = input.to_owned();
    let work = async move {
        // Write and read at once: a large input must not deadlock on full pipes.
        let write = async move {
            let r = stdin.write_all(input.as_bytes()).await;
            drop(stdin);
            r
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (w, o, e) = tokio::join!(write, stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        // A broken pipe means Python stopped reading; its exit status says why.
        if let Err(we) = w {
            if we.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(io(we));
            }
        }
        o.map_err(io)?;
        e.map_err(io)?;
        let status = child.wait().await.map_err(io)?;
        Ok((status, out, err))
    };
    let seconds = config.pipeline_cli_timeout_s;
    let (status, out, err) = tokio::time::timeout(Duration::from_secs(seconds), work)
        .await
        .map_err(|_| CliError::Timeout { command: name, seconds })??;
    let out = String::from_utf8(out).map_err(|e| CliError::Garbled { command: name, detail: e.to_string() })?;
    match status.code() {
        Some(0) => Ok(CliOutcome::Ok(out)),
        Some(1) => serde_json::from_str(&out)
            .map(CliOutcome::Rejected)
            .map_err(|e| CliError::Garbled { command: name, detail: e.to_string() }),
        _ => Err(CliError::Failed {
            command: name,
            status: status.to_string(),
            stderr: String::from_utf8_lossy(&err).chars().take(4000).collect(),
        }),
    }
}
