//! Configuration. Precedence, lowest to highest:
//! built-in defaults < TOML file (`--config FILE`, else `$YIWANG_CONFIG`, else
//! `./yiwang.toml` if present) < `YIWANG_*` environment variables (nested keys
//! with `__`, e.g. `YIWANG_DB__MAX_CONNECTIONS`) < command-line flags.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Directory for the embedded database and local files.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite at `<data_dir>/yiwang.db`.
    pub database_url: Option<String>,
    pub db: DbConfig,
    pub log: LogConfig,
    /// Unified identity: issuer URL, session and token lifetimes, trusted nodes.
    pub identity: yiwang_web::IdentitySettings,
    pub messaging: MessagingConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingConfig {
    /// Spool directory the outbox delivers SMS and email into (default `<data_dir>/outbox`).
    pub spool_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbConfig {
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// tracing filter, e.g. `info` or `yiwang=debug,sqlx=warn`; `RUST_LOG` overrides.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./yiwang-data"),
            database_url: None,
            db: DbConfig::default(),
            log: LogConfig::default(),
            identity: yiwang_web::IdentitySettings::default(),
            messaging: MessagingConfig::default(),
        }
    }
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig { max_connections: 10, acquire_timeout_secs: 10 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info,sqlx=warn".into(), format: "text".into() }
    }
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

/// Where the effective values came from, for `check-config`.
#[derive(Debug, Clone, Serialize)]
pub struct Sources {
    pub file: Option<PathBuf>,
    pub env_vars: Vec<String>,
}

pub fn load(over: &Overrides, env: &HashMap<String, String>) -> anyhow::Result<(Config, Sources)> {
    let file = over
        .config_file
        .clone()
        .or_else(|| env.get("YIWANG_CONFIG").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("yiwang.toml")).filter(|p| p.exists()));
    let mut builder = config::Config::builder().add_source(config::Config::try_from(&Config::default())?);
    if let Some(f) = &file {
        if !f.exists() {
            anyhow::bail!("配置文件不存在 / config file not found: {}", f.display());
        }
        builder = builder.add_source(config::File::from(f.as_path()).format(config::FileFormat::Toml));
    }
    // Only YIWANG_* keys, minus the ones that are not settings.
    let env_vars: HashMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("YIWANG_") && *k != "YIWANG_CONFIG" && !k.starts_with("YIWANG_TEST_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut env_names: Vec<String> = env_vars.keys().cloned().collect();
    env_names.sort();
    builder = builder.add_source(
        config::Environment::with_prefix("YIWANG").prefix_separator("_").separator("__").try_parsing(true).source(Some(env_vars)),
    );
    let mut cfg: Config = builder.build()?.try_deserialize().context("配置无效 / invalid configuration")?;
    if let Some(v) = &over.listen {
        cfg.listen.clone_from(v);
    }
    if let Some(v) = &over.data_dir {
        cfg.data_dir.clone_from(v);
    }
    if let Some(v) = &over.database_url {
        cfg.database_url = Some(v.clone());
    }
    Ok((cfg, Sources { file, env_vars: env_names }))
}

impl Config {
    /// The database URL in force.
    pub fn effective_database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| sqlite_url(&self.default_sqlite_path()))
    }

    /// Where the embedded database lives when no `database_url` is set.
    pub fn default_sqlite_path(&self) -> PathBuf {
        self.data_dir.join("yiwang.db")
    }

    /// A copy safe to print: secrets replaced.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        c.database_url = Some(yiwang_store::redact_url(&self.effective_database_url()));
        c.identity = self.identity.redacted();
        c
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.messaging.spool_dir.clone().unwrap_or_else(|| self.data_dir.join("outbox"))
    }

    pub fn store_options(&self) -> yiwang_store::StoreOptions {
        yiwang_store::StoreOptions {
            max_connections: self.db.max_connections.max(1),
            acquire_timeout: std::time::Duration::from_secs(self.db.acquire_timeout_secs.max(1)),
        }
    }
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn precedence_default_file_env_flag() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("y.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from-file\"\n[db]\nmax_connections = 3\n").unwrap();
        let over = Overrides { config_file: Some(f.clone()), ..Default::default() };
        let (c, _) = load(&over, &env(&[])).unwrap();
        assert_eq!((c.listen.as_str(), c.db.max_connections), ("127.0.0.1:9000", 3));
        let (c, s) = load(&over, &env(&[("YIWANG_LISTEN", "127.0.0.1:9100"), ("YIWANG_DB__MAX_CONNECTIONS", "7")])).unwrap();
        assert_eq!((c.listen.as_str(), c.db.max_connections), ("127.0.0.1:9100", 7));
        assert_eq!(s.env_vars.len(), 2);
        let over = Overrides { listen: Some("127.0.0.1:9200".into()), ..over };
        let (c, _) = load(&over, &env(&[("YIWANG_LISTEN", "127.0.0.1:9100")])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9200");
        assert_eq!(c.data_dir, PathBuf::from("/from-file"));
        assert_eq!(c.effective_database_url(), "sqlite:///from-file/yiwang.db");
    }

    #[test]
    fn typos_are_rejected_and_secrets_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("y.toml");
        std::fs::write(&f, "lisen = \"x\"\n").unwrap();
        assert!(load(&Overrides { config_file: Some(f), ..Default::default() }, &env(&[])).is_err());
        let over = Overrides { database_url: Some("postgres://u:hunter2@db/x".into()), ..Default::default() };
        let (c, _) = load(&over, &env(&[])).unwrap();
        let shown = toml::to_string(&c.redacted()).unwrap();
        assert!(!shown.contains("hunter2") && shown.contains("REDACTED"), "{shown}");
    }
}
