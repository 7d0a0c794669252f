//! Secrets the node must read back (the OIDC signing key, webhook signing
//! secrets) are stored wrapped under the node master key, SM4-GCM bound to what
//! they belong to, like the agencies' seal keys. A stored value is either
//! `sm4gcm:<hex>` (wrapped) or, from before issue 19 or on a node without a
//! master key, the clear text; `wrap_stored_secrets` rewrites the clear ones
//! once a master key is there.

use jiff::Timestamp;
use yiwang_crypto::seal::MasterKey;
use zeroize::Zeroizing;

use crate::accounts::audit_rec;
use crate::db::RowLike;
use crate::{Result, Store, StoreError, ts};

const PREFIX: &str = "sm4gcm:";

/// What to store for `secret`: wrapped under `master` (bound to `aad`), or the
/// clear text on a node without a master key.
pub(crate) fn seal(master: Option<&MasterKey>, aad: &str, secret: &str) -> String {
    match master {
        Some(m) => format!("{PREFIX}{}", m.wrap(aad, secret.as_bytes())),
        None => secret.to_string(),
    }
}

/// The secret a stored value holds.
pub(crate) fn open(master: Option<&MasterKey>, aad: &str, stored: &str) -> Result<Zeroizing<String>> {
    let Some(wrapped) = stored.strip_prefix(PREFIX) else { return Ok(Zeroizing::new(stored.to_string())) };
    let m = master.ok_or_else(|| StoreError::Corrupt(format!("{aad} is wrapped under a master key this node was not given")))?;
    let bytes = m.unwrap(aad, wrapped).map_err(|_| StoreError::Corrupt(format!("{aad} does not unwrap under this master key")))?;
    String::from_utf8(bytes.to_vec()).map(Zeroizing::new).map_err(|_| StoreError::Corrupt(format!("{aad} is not text")))
}

/// Whether a stored value is wrapped.
pub fn is_wrapped(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

pub(crate) fn oidc_aad(kid: &str) -> String {
    format!("oidc-key:{kid}")
}

pub(crate) fn webhook_aad(id: &str) -> String {
    format!("webhook-secret:{id}")
}

impl Store {
    /// Wrap every secret still stored in the clear (OIDC keys, webhook secrets)
    /// under `master`; audited with the counts. Idempotent: returns how many
    /// were wrapped this time.
    pub async fn wrap_stored_secrets(&self, master: &MasterKey, now: Timestamp) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut n = 0u64;
        let keys = crate::db::query("SELECT kid, private_key FROM oidc_keys").fetch_all(&mut tx).await?;
        for r in &keys {
            let (kid, stored): (String, String) = (r.try_get("kid")?, r.try_get("private_key")?);
            if !is_wrapped(&stored) {
                crate::db::query("UPDATE oidc_keys SET private_key = $1 WHERE kid = $2")
                    .bind(seal(Some(master), &oidc_aad(&kid), &stored))
                    .bind(&kid)
                    .execute(&mut tx)
                    .await?;
                n += 1;
            }
        }
        let hooks = crate::db::query("SELECT id, secret FROM webhooks").fetch_all(&mut tx).await?;
        for r in &hooks {
            let (id, stored): (String, String) = (r.try_get("id")?, r.try_get("secret")?);
            if !is_wrapped(&stored) {
                crate::db::query("UPDATE webhooks SET secret = $1 WHERE id = $2")
                    .bind(seal(Some(master), &webhook_aad(&id), &stored))
                    .bind(&id)
                    .execute(&mut tx)
                    .await?;
                n += 1;
            }
        }
        if n > 0 {
            tx.append_audit(audit_rec(
                &ts(now),
                "system",
                "secrets.wrapped",
                "node",
                "master_key",
                serde_json::json!({ "wrapped": n, "master_key": master.fingerprint() }),
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(n)
    }
}
