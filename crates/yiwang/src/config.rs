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
    /// Real-name levels for personal data, trusted proxies, metrics access,
    /// outgoing-request exceptions, quotas (`docs/security.md`).
    pub security: yiwang_web::SecuritySettings,
    pub messaging: MessagingConfig,
    pub seal: SealConfig,
    /// The node's part in the three-tier exchange (docs/exchange.md); unset: none.
    pub exchange: yiwang_web::exchange::ExchangeSettings,
    /// 电子监察 (docs/supervision.md).
    pub supervision: SupervisionConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisionConfig {
    /// A rule set (JSON: version, settings, agencies); unset: the built-in one.
    pub rules_file: Option<PathBuf>,
    /// The evaluation indicators' relative weights and grade bands
    /// (`[supervision.indicators]`: `dimensions`, `sub`, `bands`); unset: the defaults.
    pub indicators: yiwang_supervision::indicators::Weights,
    /// A 差评's loop deadlines in working days (`[supervision.rating_loop]`:
    /// `rectify_workdays`, default 15; `contact_workdays`, default 1).
    pub rating_loop: yiwang_supervision::ratings::LoopSettings,
    /// 好差评's levels and reasons (JSON: `version`, `online`, `offline`, each
    /// the five levels with their reasons); unset: the built-in version 1.
    pub rating_content_file: Option<PathBuf>,
}

impl SupervisionConfig {
    /// The 差评 loop deadlines; a bad setting stops the node.
    pub fn rating_loop(&self) -> anyhow::Result<yiwang_supervision::ratings::LoopSettings> {
        self.rating_loop.check().map_err(|e| anyhow::anyhow!("supervision.rating_loop: {e} (docs/supervision.md)"))?;
        Ok(self.rating_loop)
    }

    /// The indicator weights; a bad setting stops the node.
    pub fn indicator_weights(&self) -> anyhow::Result<yiwang_supervision::indicators::Weights> {
        self.indicators
            .check()
            .with_context(|| "supervision.indicators: 评估指标权重无效 / invalid indicator weights (docs/supervision.md)".to_string())?;
        Ok(self.indicators.clone())
    }

    /// The rating content; a bad file stops the node.
    pub fn rating_content(&self) -> anyhow::Result<yiwang_supervision::ratings::Content> {
        let Some(path) = &self.rating_content_file else { return Ok(yiwang_supervision::ratings::Content::builtin()) };
        let text = std::fs::read_to_string(path).with_context(|| format!("supervision.rating_content_file: reading {}", path.display()))?;
        let content: yiwang_supervision::ratings::Content = serde_json::from_str(&text).with_context(|| {
            format!("supervision.rating_content_file: {} 不是评价内容 / is not rating content (docs/supervision.md)", path.display())
        })?;
        content.check().map_err(|e| anyhow::anyhow!("supervision.rating_content_file: {e} (docs/supervision.md)"))?;
        Ok(content)
    }

    /// The rule set the node supervises with; a bad file stops the node.
    pub fn rule_set(&self) -> anyhow::Result<yiwang_supervision::RuleSet> {
        let Some(path) = &self.rules_file else { return Ok(yiwang_supervision::RuleSet::default()) };
        let text = std::fs::read_to_string(path).with_context(|| format!("supervision.rules_file: reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("supervision.rules_file: {} 不是监察规则集 / is not a rule set (docs/supervision.md)", path.display()))
    }
}

/// The node master key that wraps agencies' seal keys (SM4, 32 hex characters).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SealConfig {
    /// The key itself, in hex (e.g. from `YIWANG_SEAL__MASTER_KEY`). Takes precedence.
    pub master_key: Option<String>,
    /// A file holding the key in hex (default `<data_dir>/master.key`).
    pub master_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingConfig {
    /// Spool directory the outbox delivers into when a channel has no adapter
    /// (default `<data_dir>/outbox`): development, and a node not yet wired.
    pub spool_dir: Option<PathBuf>,
    /// Email through an SMTP server (`[messaging.smtp]`); unset: email is spooled.
    pub smtp: Option<yiwang_web::messaging::SmtpSettings>,
    /// SMS through an HTTP gateway (`[messaging.sms_http]`); unset: SMS is spooled.
    pub sms_http: Option<yiwang_web::messaging::SmsHttpSettings>,
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
            security: yiwang_web::SecuritySettings::default(),
            messaging: MessagingConfig::default(),
            seal: SealConfig::default(),
            exchange: yiwang_web::exchange::ExchangeSettings::default(),
            supervision: SupervisionConfig::default(),
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
        c.security = self.security.redacted();
        if let Some(smtp) = &mut c.messaging.smtp
            && smtp.password.is_some()
        {
            smtp.password = Some("REDACTED".into());
        }
        if let Some(sms) = &mut c.messaging.sms_http {
            sms.secret = "REDACTED".into();
        }
        if c.seal.master_key.is_some() {
            c.seal.master_key = Some("REDACTED".into());
        }
        c
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.messaging.spool_dir.clone().unwrap_or_else(|| self.data_dir.join("outbox"))
    }

    /// The node master key. From `seal.master_key`, else from the key file. An
    /// embedded (SQLite) node makes the file on first use, readable by its owner
    /// only; a node on a shared database must be given the key, because every
    /// process sharing it must use the same one.
    pub fn master_key(&self) -> anyhow::Result<yiwang_crypto::seal::MasterKey> {
        self.load_master_key(self.database_url.is_none() || self.seal.master_key_file.is_some())
    }

    /// The same, making the key file if it is missing even on a shared database:
    /// for `yiwang demo`, which runs one node only.
    pub fn demo_master_key(&self) -> anyhow::Result<yiwang_crypto::seal::MasterKey> {
        self.load_master_key(true)
    }

    fn load_master_key(&self, may_create: bool) -> anyhow::Result<yiwang_crypto::seal::MasterKey> {
        use yiwang_crypto::seal::MasterKey;
        if let Some(hex) = &self.seal.master_key {
            return MasterKey::from_hex(hex).map_err(|e| anyhow::anyhow!("seal.master_key: {e}"));
        }
        let path = self.seal.master_key_file.clone().unwrap_or_else(|| self.data_dir.join("master.key"));
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return MasterKey::from_hex(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
        }
        if !may_create {
            anyhow::bail!(
                "未配置节点主密钥 / no node master key: set seal.master_key (YIWANG_SEAL__MASTER_KEY) or seal.master_key_file; \
                 every process sharing the database must use the same key"
            );
        }
        let key = MasterKey::generate();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_secret_file(&path, key.to_hex().as_bytes())?;
        tracing::info!(file = %path.display(), fingerprint = %key.fingerprint(), "node master key created");
        Ok(key)
    }

    pub fn store_options(&self) -> yiwang_store::StoreOptions {
        yiwang_store::StoreOptions {
            max_connections: self.db.max_connections.max(1),
            acquire_timeout: std::time::Duration::from_secs(self.db.acquire_timeout_secs.max(1)),
        }
    }
}

/// Write a secret (a key in hex) to a new file readable by its owner only;
/// an existing file is never overwritten.
pub fn write_secret_file(path: &Path, secret: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    std::io::Write::write_all(&mut file, secret).with_context(|| format!("writing {}", path.display()))
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
    fn rating_content_comes_from_a_checked_file_or_is_the_builtin_version() {
        let dir = tempfile::tempdir().unwrap();
        let none = SupervisionConfig::default();
        assert_eq!(none.rating_content().unwrap().version, 1);
        let mut v2 = yiwang_supervision::ratings::Content::builtin();
        v2.version = 2;
        v2.online[3].reasons.push("电子证照未能调用".into());
        let file = dir.path().join("content.json");
        std::fs::write(&file, serde_json::to_string(&v2).unwrap()).unwrap();
        let cfg = SupervisionConfig { rating_content_file: Some(file.clone()), ..Default::default() };
        assert_eq!(cfg.rating_content().unwrap(), v2);
        v2.offline.pop();
        std::fs::write(&file, serde_json::to_string(&v2).unwrap()).unwrap();
        let err = format!("{:#}", cfg.rating_content().unwrap_err());
        assert!(err.contains("rating_content_file") && err.contains("offline"), "{err}");
        std::fs::write(&file, "{\"version\": 2}").unwrap();
        let err = format!("{:#}", cfg.rating_content().unwrap_err());
        assert!(err.contains("不是评价内容"), "{err}");
    }

    #[test]
    fn the_master_key_comes_from_config_or_a_file_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let over = Overrides { data_dir: Some(dir.path().to_path_buf()), ..Default::default() };
        let (c, _) = load(&over, &env(&[])).unwrap();
        let made = c.master_key().unwrap().fingerprint();
        assert_eq!(c.master_key().unwrap().fingerprint(), made, "the file is read back, not remade");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only");
        }
        let hex = "00112233445566778899aabbccddeeff";
        let (c, _) = load(&over, &env(&[("YIWANG_SEAL__MASTER_KEY", hex)])).unwrap();
        assert_eq!(c.master_key().unwrap().to_hex().as_str(), hex);
        assert!(!toml::to_string(&c.redacted()).unwrap().contains(hex));
        let (c, _) = load(&over, &env(&[("YIWANG_SEAL__MASTER_KEY", "00")])).unwrap();
        assert!(c.master_key().is_err());
        // On a shared database the key must be given.
        let over = Overrides { database_url: Some("postgres://db/x".into()), data_dir: Some(dir.path().join("pg")), ..Default::default() };
        let (c, _) = load(&over, &env(&[])).unwrap();
        assert!(c.master_key().unwrap_err().to_string().contains("master key"));
        // `yiwang demo` runs one node, so it may make the file there too.
        assert!(c.demo_master_key().is_ok());
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
