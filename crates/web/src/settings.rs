//! Identity settings (the `[identity]` table of the node's configuration) and
//! the runtime state derived from them.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use yiwang_identity::Es256Key;
use yiwang_store::{SessionPolicy, SigningKey, Store, ThrottlePolicy};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    /// Public base URL of this node, used as the OIDC issuer (default `http://<listen>`).
    pub public_url: Option<String>,
    pub session_idle_minutes: i64,
    pub session_max_hours: i64,
    /// Failed logins allowed before back-off starts.
    pub login_free_attempts: i64,
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    /// How long a rotated-out signing key stays in the JWKS.
    pub key_grace_hours: i64,
    /// Other nodes whose OIDC provider this node trusts (一次认证、多点互联).
    pub federation: Vec<TrustedProvider>,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            public_url: None,
            session_idle_minutes: 30,
            session_max_hours: 12,
            login_free_attempts: 5,
            access_token_minutes: 10,
            refresh_token_days: 30,
            key_grace_hours: 48,
            federation: Vec::new(),
        }
    }
}

/// A trusted node's OIDC provider, with this node's client registration there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedProvider {
    /// Short id used in URLs: `/federation/{name}/login`.
    pub name: String,
    /// Shown on the login button, e.g. 浙江省统一身份认证平台.
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The highest real-name level accepted from this provider (default 2: an
    /// in-person check elsewhere is trusted as a base-data match here).
    #[serde(default = "default_max_level")]
    pub max_level: u8,
}

fn default_max_level() -> u8 {
    2
}

impl IdentitySettings {
    /// The settings with secrets replaced, for `check-config` and logs.
    pub fn redacted(&self) -> IdentitySettings {
        let mut s = self.clone();
        for p in &mut s.federation {
            p.client_secret = "REDACTED".into();
        }
        s
    }
}

/// What the handlers use: durations resolved, the issuer fixed, keys cached.
pub struct IdentityRuntime {
    pub issuer: String,
    pub secure_cookies: bool,
    pub session: SessionPolicy,
    pub throttle: ThrottlePolicy,
    pub access_ttl: SignedDuration,
    pub refresh_ttl: SignedDuration,
    pub key_grace: SignedDuration,
    pub federation: Vec<TrustedProvider>,
    keys: RwLock<Option<KeyCache>>,
    pub http: reqwest::Client,
    /// The node master key, which wraps the signing keys at rest (set once by
    /// `AppState::with_master_key`; without it keys are kept as they are).
    master: std::sync::OnceLock<yiwang_crypto::seal::MasterKey>,
}

/// Signing keys are cached briefly so a rotation by another process is picked up.
struct KeyCache {
    loaded: Timestamp,
    signer: Option<Es256Key>,
    jwks: Vec<serde_json::Value>,
}

const KEY_CACHE_SECS: i64 = 30;

impl IdentityRuntime {
    pub fn new(settings: &IdentitySettings, listen: &str) -> Arc<IdentityRuntime> {
        let issuer = settings.public_url.clone().unwrap_or_else(|| format!("http://{listen}")).trim_end_matches('/').to_string();
        Arc::new(IdentityRuntime {
            secure_cookies: issuer.starts_with("https://"),
            issuer,
            session: SessionPolicy {
                max_age: SignedDuration::from_hours(settings.session_max_hours.max(1)),
                idle: SignedDuration::from_mins(settings.session_idle_minutes.max(1)),
            },
            throttle: ThrottlePolicy { free_attempts: settings.login_free_attempts.max(1), ..ThrottlePolicy::default() },
            access_ttl: SignedDuration::from_mins(settings.access_token_minutes.max(1)),
            refresh_ttl: SignedDuration::from_hours(24 * settings.refresh_token_days.max(1)),
            key_grace: SignedDuration::from_hours(settings.key_grace_hours.max(1)),
            federation: settings.federation.clone(),
            keys: RwLock::new(None),
            master: std::sync::OnceLock::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        })
    }

    /// Give the runtime the node master key (once).
    pub fn set_master_key(&self, key: yiwang_crypto::seal::MasterKey) {
        let _ = self.master.set(key);
    }

    async fn load(&self, store: &Store, now: Timestamp) -> yiwang_store::Result<KeyCache> {
        let keys = store.signing_keys(now, self.master.get()).await?;
        let signer = keys.iter().find(|k| !k.retired).and_then(|k| Es256Key::from_secret_hex(&k.kid, &k.private_key).ok());
        let jwks = keys.iter().filter_map(|k| serde_json::from_str(&k.public_jwk).ok()).collect();
        Ok(KeyCache { loaded: now, signer, jwks })
    }

    async fn fresh(&self, store: &Store, now: Timestamp) -> yiwang_store::Result<()> {
        let stale = self.keys.read().await.as_ref().is_none_or(|c| now.duration_since(c.loaded).as_secs() >= KEY_CACHE_SECS);
        if stale {
            let mut cache = self.load(store, now).await?;
            if cache.signer.is_none() {
                // First start of a node: make its first key.
                ensure_signing_key(store, self.key_grace, now, self.master.get()).await?;
                cache = self.load(store, now).await?;
            }
            *self.keys.write().await = Some(cache);
        }
        Ok(())
    }

    pub async fn signer(&self, store: &Store) -> yiwang_store::Result<Option<Es256Key>> {
        let now = Timestamp::now();
        self.fresh(store, now).await?;
        Ok(self.keys.read().await.as_ref().and_then(|c| c.signer.clone()))
    }

    pub async fn jwks(&self, store: &Store) -> yiwang_store::Result<Vec<serde_json::Value>> {
        let now = Timestamp::now();
        self.fresh(store, now).await?;
        Ok(self.keys.read().await.as_ref().map(|c| c.jwks.clone()).unwrap_or_default())
    }

    /// Forget cached keys (after a rotation in this process).
    pub async fn invalidate_keys(&self) {
        *self.keys.write().await = None;
    }
}

/// A new ES256 key in the store's shape.
pub fn new_signing_key() -> SigningKey {
    let k = Es256Key::generate();
    SigningKey {
        kid: k.kid.clone(),
        alg: "ES256".into(),
        private_key: k.secret_hex(),
        public_jwk: k.public_jwk().to_string(),
        retired: false,
    }
}

/// Create a signing key if the node has none that signs (wrapped under `master` when given).
pub async fn ensure_signing_key(
    store: &Store,
    grace: SignedDuration,
    now: Timestamp,
    master: Option<&yiwang_crypto::seal::MasterKey>,
) -> yiwang_store::Result<()> {
    if store.signing_keys(now, master).await?.iter().any(|k| !k.retired) {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    tx.rotate_signing_key(&new_signing_key(), grace, "system", now, master).await?;
    tx.commit().await
}
