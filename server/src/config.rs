//! Configuration: the checked-in defaults file, then an optional file of the
//! user's, then `RILLET_STUDIO_*` environment variables, then flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::runs::RunsConfig;

/// The defaults, compiled in so the binary works from anywhere.
pub const DEFAULTS: &str = include_str!("../studio.defaults.toml");

const ENV_PREFIX: &str = "RILLET_STUDIO_";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub database_connect_timeout_s: u64,
    pub database_max_connections: u32,
    pub secret: String,
    pub allowed_hosts: Vec<String>,
    pub max_body_bytes: usize,
    pub session_ttl_hours: u64,
    pub root: String,
    pub python: String,
    pub web_dist: String,
    pub pipeline_cli_timeout_s: u64,
    pub runs: RunsConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the config file {path} is not valid TOML: {source}")]
    Parse { path: String, source: Box<toml::de::Error> },
    #[error("environment variable {var}={value:?} is not a valid {kind}")]
    Env { var: String, value: String, kind: &'static str },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Values given on the command line; `None` keeps the configured value.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub addr: Option<SocketAddr>,
    pub database_url: Option<String>,
}

impl Config {
    /// Loads the configuration the way `rillet studio` does.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(overrides, |k| std::env::var(k).ok())
    }

    /// Same as [`Config::load`], reading environment variables through `env`.
    pub fn load_with_env(overrides: &Overrides, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut table = parse(DEFAULTS, "studio.defaults.toml")?;
        if let Some(path) = &overrides.config_file {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            let user = parse(&text, &path.display().to_string())?;
            merge(&mut table, user);
        }
        apply_env(&mut table, ENV_PREFIX, &env)?;
        if let Some(url) = env("DATABASE_URL").filter(|u| !u.is_empty()) {
            // RILLET_STUDIO_DATABASE_URL, being more specific, wins.
            if env("RILLET_STUDIO_DATABASE_URL").is_none() {
                table.insert("database_url".into(), toml::Value::String(url));
            }
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        if let Some(addr) = overrides.addr {
            config.addr = addr;
        }
        if let Some(url) = &overrides.database_url {
            config.database_url = url.clone();
        }
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !self.secret.is_empty() && self.secret.len() < 32 {
            return Err(ConfigError::Invalid(
                "`secret` must be at least 32 characters (or empty for a random token at each start)".into(),
            ));
        }
        if !self.addr.ip().is_loopback() && self.secret.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "refusing to listen on {} without a configured secret: this server runs arbitrary Python, \
                 so set RILLET_STUDIO_SECRET (32+ characters) or listen on 127.0.0.1",
                self.addr
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::Invalid("`max_body_bytes` must be positive".into()));
        }
        Ok(())
    }

    /// The checkout that holds `.venv` and `web/dist`.
    pub fn root_dir(&self) -> PathBuf {
        if !self.root.is_empty() {
            return PathBuf::from(&self.root);
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if built_from.join("server").join("studio.defaults.toml").is_file() {
            return built_from.canonicalize().unwrap_or(built_from);
        }
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
    }

    /// `python`, resolved against the root.
    pub fn python_path(&self) -> PathBuf {
        self.root_dir().join(&self.python)
    }

    /// `web_dist`, resolved against the root.
    pub fn web_dist_path(&self) -> PathBuf {
        self.root_dir().join(&self.web_dist)
    }
}

fn parse(text: &str, name: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse { path: name.to_string(), source: Box::new(e) })
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// Every key of the defaults can be set as `PREFIX_KEY`; the default's type
/// says how to read the text.
fn apply_env(table: &mut toml::Table, prefix: &str, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    for (key, value) in table.iter_mut() {
        let var = format!("{prefix}{}", key.to_ascii_uppercase());
        if let toml::Value::Table(inner) = value {
            apply_env(inner, &format!("{var}_"), env)?;
            continue;
        }
        let Some(text) = env(&var) else { continue };
        let bad = |kind| ConfigError::Env { var: var.clone(), value: text.clone(), kind };
        *value = match value {
            toml::Value::String(_) => toml::Value::String(text.clone()),
            toml::Value::Integer(_) => toml::Value::Integer(text.trim().parse().map_err(|_| bad("integer"))?),
            toml::Value::Float(_) => toml::Value::Float(text.trim().parse().map_err(|_| bad("number"))?),
            toml::Value::Boolean(_) => toml::Value::Boolean(text.trim().parse().map_err(|_| bad("boolean"))?),
            toml::Value::Array(_) => toml::Value::Array(
                text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.to_string().into()).collect(),
            ),
            _ => return Err(bad("value of this kind")),
        };
    }
    Ok(())
}

/// The URL with its password replaced by `***`, for messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        // Not a URL we can parse: hide everything between "://" and "@".
        Err(_) => match (raw.find("://"), raw.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}***{}", &raw[..s + 3], &raw[at..]),
            _ => raw.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)], o: Overrides) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load_with_env(&o, |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_load() {
        let c = load(&[], Overrides::default()).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8742");
        assert_eq!(c.max_body_bytes, 2 * 1024 * 1024);
    }

    #[test]
    fn env_and_flags_override() {
        let c = load(
            &[
                ("RILLET_STUDIO_ADDR", "127.0.0.1:9000"),
                ("RILLET_STUDIO_ALLOWED_HOSTS", "a.example, b.example"),
                ("DATABASE_URL", "postgres://x@h/db"),
            ],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.addr.port(), 9000);
        assert_eq!(c.allowed_hosts, vec!["a.example", "b.example"]);
        assert_eq!(c.database_url, "postgres://x@h/db");
        let c = load(
            &[("RILLET_STUDIO_ADDR", "127.0.0.1:9000")],
            Overrides { addr: Some("127.0.0.1:9001".parse().unwrap()), ..Default::default() },
        )
        .unwrap();
        assert_eq!(c.addr.port(), 9001);
    }

    #[test]
    fn bad_env_value_is_named() {
        let e = load(&[("RILLET_STUDIO_MAX_BODY_BYTES", "lots")], Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("RILLET_STUDIO_MAX_BODY_BYTES"), "{e}");
    }

    #[test]
    fn non_loopback_needs_secret() {
        let e = load(&[("RILLET_STUDIO_ADDR", "0.0.0.0:8742")], Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("without a configured secret"), "{e}");
        let secret = "s".repeat(32);
        load(&[("RILLET_STUDIO_ADDR", "0.0.0.0:8742"), ("RILLET_STUDIO_SECRET", &secret)], Overrides::default())
            .unwrap();
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact_url("postgres://u:hunter2@db:5432/x"), "postgres://u:***@db:5432/x");
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
    }
}
