//! OIDC provider state: clients, signing keys, authorisation codes, tokens,
//! consents; and the relying-party side of federated login (flows, links).

use crate::db::RowLike;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::accounts::audit_rec;
use crate::{Result, Store, StoreError, Tx, ts};

#[derive(Debug, Clone, Serialize)]
pub struct OidcClient {
    pub client_id: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// The node's own portal and console: consent for basic scopes is implied.
    pub first_party: bool,
    pub created_at: String,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    /// PKCS#8 DER, base64.
    pub private_key: String,
    pub public_jwk: String,
    pub retired: bool,
}

/// What an authorisation code stands for.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub account_id: String,
    pub sid: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub auth_time: String,
}

#[derive(Debug, Clone)]
pub enum CodeUse {
    Fresh(CodeGrant),
    /// The code was redeemed before: tokens from it must be revoked (RFC 6749 §4.1.2).
    Replayed,
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    pub family: String,
    pub client_id: String,
    pub account_id: String,
    pub sid: String,
    pub scope: String,
    pub auth_time: String,
    pub expires_at: String,
}

#[derive(Debug, Clone)]
pub enum RefreshUse {
    Rotated(TokenRow),
    /// A rotated-out refresh token came back: the family is now revoked.
    Reused,
    Invalid,
}

#[derive(Debug, Clone)]
pub struct FederationFlow {
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_url: String,
    /// SHA-256 of the cookie of the browser that started the flow.
    pub browser_hash: String,
}

/// A remote identity waiting for the local account's owner to confirm the link.
#[derive(Debug, Clone)]
pub struct PendingLink {
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub account_id: String,
    pub level: yiwang_identity::RealNameLevel,
    pub next_url: String,
}

fn client_from_row(r: &crate::db::Row) -> Result<OidcClient> {
    let uris = |col: &str| -> Result<Vec<String>> {
        let s: String = r.try_get(col)?;
        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
    };
    Ok(OidcClient {
        client_id: r.try_get("client_id")?,
        secret_hash: r.try_get("secret_hash")?,
        name: r.try_get("name")?,
        redirect_uris: uris("redirect_uris")?,
        post_logout_redirect_uris: uris("post_logout_redirect_uris")?,
        first_party: r.try_get::<i64, _>("first_party")? == 1,
        created_at: r.try_get("created_at")?,
        disabled: r.try_get::<Option<String>, _>("disabled_at")?.is_some(),
    })
}

fn code_grant_from_row(r: &crate::db::Row) -> Result<CodeGrant> {
    Ok(CodeGrant {
        client_id: r.try_get("client_id")?,
        account_id: r.try_get("account_id")?,
        sid: r.try_get("sid")?,
        redirect_uri: r.try_get("redirect_uri")?,
        scope: r.try_get("scope")?,
        nonce: r.try_get("nonce")?,
        code_challenge: r.try_get("code_challenge")?,
        auth_time: r.try_get("auth_time")?,
    })
}

fn token_from_row(r: &crate::db::Row) -> Result<TokenRow> {
    Ok(TokenRow {
        family: r.try_get("family")?,
        client_id: r.try_get("client_id")?,
        account_id: r.try_get("account_id")?,
        sid: r.try_get("sid")?,
        scope: r.try_get("scope")?,
        auth_time: r.try_get("auth_time")?,
        expires_at: r.try_get("expires_at")?,
    })
}

const CLIENT_SELECT: &str =
    "SELECT client_id, secret_hash, name, redirect_uris, post_logout_redirect_uris, first_party, created_at, disabled_at FROM oidc_clients";

impl Store {
    pub async fn oidc_client(&self, client_id: &str) -> Result<Option<OidcClient>> {
        let row = crate::db::query(sqlx::AssertSqlSafe(format!("{CLIENT_SELECT} WHERE client_id = $1")))
            .bind(client_id)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    pub async fn oidc_clients(&self) -> Result<Vec<OidcClient>> {
        let rows = crate::db::query(sqlx::AssertSqlSafe(format!("{CLIENT_SELECT} ORDER BY client_id"))).fetch_all(self.read()).await?;
        rows.iter().map(client_from_row).collect()
    }

    /// Keys to publish (not expired), newest first; the first unretired one
    /// signs. Private keys are unwrapped with `master` (a wrapped key without
    /// it is an error).
    pub async fn signing_keys(&self, now: Timestamp, master: Option<&yiwang_crypto::seal::MasterKey>) -> Result<Vec<SigningKey>> {
        let rows = crate::db::query(
            "SELECT kid, alg, private_key, public_jwk, retired_at FROM oidc_keys WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at DESC, kid",
        )
        .bind(ts(now))
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                let kid: String = r.try_get("kid")?;
                let stored: String = r.try_get("private_key")?;
                Ok(SigningKey {
                    private_key: crate::secrets::open(master, &crate::secrets::oidc_aad(&kid), &stored)?.to_string(),
                    kid,
                    alg: r.try_get("alg")?,
                    public_jwk: r.try_get("public_jwk")?,
                    retired: r.try_get::<Option<String>, _>("retired_at")?.is_some(),
                })
            })
            .collect()
    }

    /// What an unredeemed, unexpired code stands for, without redeeming it. The token
    /// endpoint does its reads with this before it opens its write transaction, so a
    /// request never holds one pooled connection while waiting for another.
    pub async fn peek_code(&self, code_hash: &str, now: Timestamp) -> Result<Option<CodeGrant>> {
        let row = crate::db::query(
            "SELECT client_id, account_id, sid, redirect_uri, scope, nonce, code_challenge, auth_time FROM oidc_codes \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(code_hash)
        .bind(ts(now))
        .fetch_optional(self.read())
        .await?;
        row.as_ref().map(code_grant_from_row).transpose()
    }

    /// A live access token (its login session not ended).
    pub async fn access_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<TokenRow>> {
        let row = crate::db::query(
            "SELECT t.family, t.client_id, t.account_id, t.sid, t.scope, t.auth_time, t.expires_at FROM oidc_tokens t \
             JOIN sessions s ON s.sid = t.sid AND s.revoked_at IS NULL \
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.revoked_at IS NULL AND t.expires_at > $2",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(self.read())
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn consent(&self, account_id: &str, client_id: &str) -> Result<Option<String>> {
        let row = crate::db::query("SELECT scope FROM oidc_consents WHERE account_id = $1 AND client_id = $2")
            .bind(account_id)
            .bind(client_id)
            .fetch_optional(self.read())
            .await?;
        Ok(row.map(|r| r.try_get("scope")).transpose()?)
    }

    /// Take (and delete) an in-flight federated login by its `state`.
    /// Take a flow once, only in the browser that started it (`browser_hash`).
    pub async fn take_federation_flow(&self, state: &str, browser_hash: &str, now: Timestamp) -> Result<Option<FederationFlow>> {
        let row = crate::db::query(
            "DELETE FROM federation_flows WHERE state = $1 AND browser_hash = $2 AND browser_hash <> '' \
             RETURNING provider, nonce, pkce_verifier, next_url, expires_at, browser_hash",
        )
        .bind(state)
        .bind(browser_hash)
        .fetch_optional(self.write())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let expires: String = r.try_get("expires_at")?;
        if expires <= ts(now) {
            return Ok(None);
        }
        Ok(Some(FederationFlow {
            provider: r.try_get("provider")?,
            nonce: r.try_get("nonce")?,
            pkce_verifier: r.try_get("pkce_verifier")?,
            next_url: r.try_get("next_url")?,
            browser_hash: r.try_get("browser_hash")?,
        }))
    }

    /// Take a pending link once, by the SHA-256 of its browser cookie.
    pub async fn take_federation_pending(&self, token_hash: &str, now: Timestamp) -> Result<Option<PendingLink>> {
        let row = crate::db::query(
            "DELETE FROM federation_pending WHERE token_hash = $1 \
             RETURNING provider, issuer, subject, account_id, level, next_url, expires_at",
        )
        .bind(token_hash)
        .fetch_optional(self.write())
        .await?;
        let Some(r) = row else { return Ok(None) };
        if r.try_get::<String, _>("expires_at")? <= ts(now) {
            return Ok(None);
        }
        let level: i64 = r.try_get("level")?;
        Ok(Some(PendingLink {
            provider: r.try_get("provider")?,
            issuer: r.try_get("issuer")?,
            subject: r.try_get("subject")?,
            account_id: r.try_get("account_id")?,
            level: u8::try_from(level)
                .ok()
                .and_then(yiwang_identity::RealNameLevel::from_u8)
                .ok_or_else(|| StoreError::Corrupt(format!("pending link level {level}")))?,
            next_url: r.try_get("next_url")?,
        }))
    }

    pub async fn federated_link(&self, issuer: &str, subject: &str) -> Result<Option<String>> {
        let row = crate::db::query("SELECT account_id FROM federated_links WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(self.read())
            .await?;
        Ok(row.map(|r| r.try_get("account_id")).transpose()?)
    }
}

impl Tx {
    /// Redeem an authorisation code: one statement marks it used, so two
    /// concurrent redemptions cannot both succeed. A replay revokes what the code
    /// produced; commit the transaction either way.
    pub async fn consume_code(&mut self, code_hash: &str, now: Timestamp) -> Result<CodeUse> {
        let row = crate::db::query(
            "UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING client_id, account_id, sid, redirect_uri, scope, nonce, code_challenge, auth_time",
        )
        .bind(ts(now))
        .bind(code_hash)
        .fetch_optional(&mut *self)
        .await?;
        if let Some(r) = row {
            return Ok(CodeUse::Fresh(code_grant_from_row(&r)?));
        }
        let used =
            crate::db::query("SELECT used_at FROM oidc_codes WHERE code_hash = $1").bind(code_hash).fetch_optional(&mut *self).await?;
        match used.map(|r| r.try_get::<Option<String>, _>("used_at")).transpose()?.flatten() {
            Some(_) => {
                self.revoke_family(code_hash, &ts(now)).await?;
                Ok(CodeUse::Replayed)
            }
            None => Ok(CodeUse::Unknown),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_oidc_client(
        &mut self,
        client_id: &str,
        secret_hash: Option<&str>,
        name: &str,
        redirect_uris: &[String],
        post_logout_redirect_uris: &[String],
        first_party: bool,
        actor: &str,
        now: Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        let inserted = crate::db::query(
            "INSERT INTO oidc_clients (client_id, secret_hash, name, redirect_uris, post_logout_redirect_uris, first_party, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_id) DO NOTHING RETURNING client_id",
        )
        .bind(client_id)
        .bind(secret_hash)
        .bind(name)
        .bind(serde_json::json!(redirect_uris).to_string())
        .bind(serde_json::json!(post_logout_redirect_uris).to_string())
        .bind(i64::from(first_party))
        .bind(&at)
        .fetch_optional(&mut *self)
        .await?;
        if inserted.is_none() {
            return Err(StoreError::Conflict(format!("客户端 {client_id} 已存在 / client {client_id} already exists")));
        }
        self.append_audit(audit_rec(
            &at,
            actor,
            "oidc.client_created",
            "oidc_client",
            client_id,
            serde_json::json!({ "redirect_uris": redirect_uris, "confidential": secret_hash.is_some(), "first_party": first_party }),
        ))
        .await?;
        Ok(())
    }

    /// Make `key` the signing key. Earlier keys stop signing now and stay published
    /// for `grace` so tokens they signed still verify.
    /// The private key is stored wrapped under `master` when the node has one.
    pub async fn rotate_signing_key(
        &mut self,
        key: &SigningKey,
        grace: SignedDuration,
        actor: &str,
        now: Timestamp,
        master: Option<&yiwang_crypto::seal::MasterKey>,
    ) -> Result<()> {
        let at = ts(now);
        crate::db::query("UPDATE oidc_keys SET retired_at = $1, expires_at = $2 WHERE retired_at IS NULL")
            .bind(&at)
            .bind(ts(now + grace))
            .execute(&mut *self)
            .await?;
        crate::db::query("INSERT INTO oidc_keys (kid, alg, private_key, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(crate::secrets::seal(master, &crate::secrets::oidc_aad(&key.kid), &key.private_key))
            .bind(&key.public_jwk)
            .bind(&at)
            .execute(&mut *self)
            .await?;
        self.append_audit(audit_rec(&at, actor, "oidc.key_rotated", "oidc_key", &key.kid, serde_json::json!({ "alg": key.alg }))).await?;
        Ok(())
    }

    pub async fn create_code(&mut self, code_hash: &str, g: &CodeGrant, ttl: SignedDuration, now: Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO oidc_codes (code_hash, client_id, account_id, sid, redirect_uri, scope, nonce, code_challenge, auth_time, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(code_hash)
        .bind(&g.client_id)
        .bind(&g.account_id)
        .bind(&g.sid)
        .bind(&g.redirect_uri)
        .bind(&g.scope)
        .bind(&g.nonce)
        .bind(&g.code_challenge)
        .bind(&g.auth_time)
        .bind(ts(now))
        .bind(ts(now + ttl))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    pub async fn insert_token(&mut self, kind: &str, token_hash: &str, t: &TokenRow, now: Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO oidc_tokens (token_hash, kind, family, client_id, account_id, sid, scope, auth_time, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token_hash)
        .bind(kind)
        .bind(&t.family)
        .bind(&t.client_id)
        .bind(&t.account_id)
        .bind(&t.sid)
        .bind(&t.scope)
        .bind(&t.auth_time)
        .bind(ts(now))
        .bind(&t.expires_at)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Insert an access token and its refresh token in one statement.
    pub async fn insert_token_pair(
        &mut self,
        access_hash: &str,
        access: &TokenRow,
        refresh: Option<(&str, &TokenRow)>,
        now: Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        let sql = if refresh.is_some() {
            "INSERT INTO oidc_tokens (token_hash, kind, family, client_id, account_id, sid, scope, auth_time, created_at, expires_at) \
             VALUES ($1, 'access', $2, $3, $4, $5, $6, $7, $8, $9), ($10, 'refresh', $11, $12, $13, $14, $15, $16, $17, $18)"
        } else {
            "INSERT INTO oidc_tokens (token_hash, kind, family, client_id, account_id, sid, scope, auth_time, created_at, expires_at) \
             VALUES ($1, 'access', $2, $3, $4, $5, $6, $7, $8, $9)"
        };
        let mut q = crate::db::query(sql);
        for (hash, t) in std::iter::once((access_hash, access)).chain(refresh) {
            q = q
                .bind(hash)
                .bind(&t.family)
                .bind(&t.client_id)
                .bind(&t.account_id)
                .bind(&t.sid)
                .bind(&t.scope)
                .bind(&t.auth_time)
                .bind(&at)
                .bind(&t.expires_at);
        }
        q.execute(&mut *self).await?;
        Ok(())
    }

    /// Use a refresh token once. A second use of the same token revokes every
    /// token of its family (the grant is presumed stolen).
    pub async fn use_refresh_token(&mut self, token_hash: &str, client_id: &str, now: Timestamp) -> Result<RefreshUse> {
        let at = ts(now);
        let row = crate::db::query(
            "UPDATE oidc_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = 'refresh' AND client_id = $3 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $1 AND sid IN (SELECT sid FROM sessions WHERE revoked_at IS NULL) RETURNING family, client_id, account_id, sid, scope, auth_time, expires_at",
        )
        .bind(&at)
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(&mut *self)
        .await?;
        if let Some(r) = row {
            return Ok(RefreshUse::Rotated(token_from_row(&r)?));
        }
        let old = crate::db::query("SELECT family, used_at FROM oidc_tokens WHERE token_hash = $1 AND kind = 'refresh' AND client_id = $2")
            .bind(token_hash)
            .bind(client_id)
            .fetch_optional(&mut *self)
            .await?;
        let Some(old) = old else { return Ok(RefreshUse::Invalid) };
        if old.try_get::<Option<String>, _>("used_at")?.is_none() {
            return Ok(RefreshUse::Invalid);
        }
        let family: String = old.try_get("family")?;
        self.revoke_family(&family, &at).await?;
        self.append_audit(audit_rec(&at, client_id, "oidc.refresh_reuse", "token_family", &family, serde_json::json!({}))).await?;
        Ok(RefreshUse::Reused)
    }

    /// Revoke every token of a grant (the family is the hash of the code that started it).
    async fn revoke_family(&mut self, family: &str, at: &str) -> Result<()> {
        crate::db::query("UPDATE oidc_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(family)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    pub async fn grant_consent(&mut self, account_id: &str, client_id: &str, scope: &str, now: Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO oidc_consents (account_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(account_id)
        .bind(client_id)
        .bind(scope)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(&at, account_id, "oidc.consent", "oidc_client", client_id, serde_json::json!({ "scope": scope })))
            .await?;
        Ok(())
    }

    pub async fn create_federation_flow(&mut self, state: &str, flow: &FederationFlow, ttl: SignedDuration, now: Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO federation_flows (state, provider, nonce, pkce_verifier, next_url, created_at, expires_at, browser_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(state)
        .bind(&flow.provider)
        .bind(&flow.nonce)
        .bind(&flow.pkce_verifier)
        .bind(&flow.next_url)
        .bind(ts(now))
        .bind(ts(now + ttl))
        .bind(&flow.browser_hash)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Hold a remote identity for its local owner's confirmation.
    pub async fn create_federation_pending(
        &mut self,
        token_hash: &str,
        p: &PendingLink,
        ttl: SignedDuration,
        now: Timestamp,
    ) -> Result<()> {
        crate::db::query(
            "INSERT INTO federation_pending (token_hash, provider, issuer, subject, account_id, level, next_url, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token_hash)
        .bind(&p.provider)
        .bind(&p.issuer)
        .bind(&p.subject)
        .bind(&p.account_id)
        .bind(i64::from(p.level.as_u8()))
        .bind(&p.next_url)
        .bind(ts(now))
        .bind(ts(now + ttl))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Link a remote identity to a local account, or refresh the link's last login.
    pub async fn link_federated(&mut self, issuer: &str, subject: &str, account_id: &str, now: Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO federated_links (issuer, subject, account_id, linked_at, last_login_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (issuer, subject) DO UPDATE SET last_login_at = excluded.last_login_at",
        )
        .bind(issuer)
        .bind(subject)
        .bind(account_id)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(
            &at,
            account_id,
            "account.federated_login",
            "account",
            account_id,
            serde_json::json!({ "issuer": issuer }),
        ))
        .await?;
        Ok(())
    }
}
