//! `rillet`: the command line. `rillet studio` starts the studio server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rillet_studio::config::{Config, Overrides};

#[derive(Parser)]
#[command(name = "rillet", version, about = "Rillet: stream processing for Python")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the studio: the browser editor for pipelines, with runs and live data.
    ///
    /// Every tunable is documented in server/studio.defaults.toml; environment
    /// variables RILLET_STUDIO_<KEY> override it.
    Studio {
        /// Address to listen on [default: 127.0.0.1:8742; env RILLET_STUDIO_ADDR].
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// PostgreSQL URL [default: postgres://postgres@127.0.0.1:5432/rillet; env DATABASE_URL].
        #[arg(long)]
        database_url: Option<String>,
        /// A TOML file overriding studio.defaults.toml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Studio { addr, database_url, config } = cli.command;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RILLET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let overrides = Overrides { config_file: config, addr, database_url };
    let config = match Config::load(&overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rillet studio: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rillet studio: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(rillet_studio::startup::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rillet studio: {e}");
            ExitCode::FAILURE
        }
    }
}
