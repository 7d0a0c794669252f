//! Machine clients (issue 20): department systems' OAuth 2.0 clients, their
//! access tokens (kept as hashes, bound to the client) and the assertions a
//! `private_key_jwt` client has used. Registering and revoking are audited; so
//! is every token issued.

use jiff::Timestamp;
use serde::Serialize;
use yiwang_identity::ClientAuthMethod;

use crate::accounts::audit_rec;
use crate::db::RowLike;
use crate::{Result, Store, StoreError, ts};

/// A registered machine client (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct MachineClient {
    pub client_id: String,
    pub name: String,
    pub agency_uscc: String,
    pub auth_method: ClientAuthMethod,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// The public keys of a `private_key_jwt` client (a JWK Set's `keys`).
    pub jwks: Vec<serde_json::Value>,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// What registering a client stores.
#[derive(Debug, Clone)]
pub struct NewMachineClient {
    pub client_id: String,
    pub name: String,
    pub agency_uscc: String,
    pub auth_method: ClientAuthMethod,
    pub secret_hash: Option<String>,
    pub jwks: Vec<serde_json::Value>,
}

const COLUMNS: &str = "client_id, name, agency_uscc, auth_method, secret_hash, jwks, created_by, created_at, revoked_at";

fn client_row(r: &crate::db::Row) -> Result<MachineClient> {
    let method: String = r.try_get("auth_method")?;
    let jwks: Option<String> = r.try_get("jwks")?;
    Ok(MachineClient {
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        agency_uscc: r.try_get("agency_uscc")?,
        auth_method: ClientAuthMethod::parse(&method)
            .ok_or_else(|| StoreError::Conflict(format!("stored client auth method {method} is unknown")))?,
        secret_hash: r.try_get("secret_hash")?,
        jwks: match jwks {
            Some(t) => serde_json::from_str(&t).map_err(|e| StoreError::Conflict(format!("stored client keys do not decode: {e}")))?,
            None => Vec::new(),
        },
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    /// Register a client of a registered agency; `Ok(false)` when the id is taken.
    pub async fn register_machine_client(&self, c: &NewMachineClient, actor: &str, now: Timestamp) -> Result<bool> {
        let mut tx = self.begin().await?;
        let jwks = (!c.jwks.is_empty()).then(|| serde_json::Value::from(c.jwks.clone()).to_string());
        let inserted = crate::db::query(
            "INSERT INTO machine_clients (client_id, name, agency_uscc, auth_method, secret_hash, jwks, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (client_id) DO NOTHING",
        )
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(&c.agency_uscc)
        .bind(c.auth_method.code())
        .bind(&c.secret_hash)
        .bind(&jwks)
        .bind(actor)
        .bind(ts(now))
        .execute(&mut tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        let data = serde_json::json!({ "name": c.name, "agency": c.agency_uscc, "auth_method": c.auth_method.code() });
        tx.append_audit(audit_rec(&ts(now), actor, "machine_client.registered", "machine_client", &c.client_id, data)).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn machine_client(&self, client_id: &str) -> Result<Option<MachineClient>> {
        crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM machine_clients WHERE client_id = $1")))
            .bind(client_id)
            .fetch_optional(self.read())
            .await?
            .as_ref()
            .map(client_row)
            .transpose()
    }

    /// Every client, or those of some agencies, oldest first.
    pub async fn machine_clients(&self, agencies: Option<&[&str]>) -> Result<Vec<MachineClient>> {
        let rows = match agencies {
            None => {
                crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM machine_clients ORDER BY created_at, client_id")))
                    .fetch_all(self.read())
                    .await?
            }
            Some([]) => return Ok(Vec::new()),
            Some(list) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM machine_clients WHERE agency_uscc IN ({}) ORDER BY created_at, client_id",
                    crate::cases::in_list(1, list.len())
                );
                let mut q = crate::db::query(crate::safe(sql));
                for a in list {
                    q = q.bind(*a);
                }
                q.fetch_all(self.read()).await?
            }
        };
        rows.iter().map(client_row).collect()
    }

    /// Revoke a client and every token it holds; `Ok(false)` if unknown or already revoked.
    pub async fn revoke_machine_client(&self, client_id: &str, actor: &str, reason: &str, now: Timestamp) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = crate::db::query("UPDATE machine_clients SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(ts(now))
            .bind(client_id)
            .execute(&mut tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        crate::db::query("DELETE FROM machine_tokens WHERE client_id = $1").bind(client_id).execute(&mut tx).await?;
        let mut record = audit_rec(&ts(now), actor, "machine_client.revoked", "machine_client", client_id, serde_json::json!({}));
        record.reason = reason.to_string();
        tx.append_audit(record).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Store an access token (its hash) for a live client, audited; for a
    /// `private_key_jwt` client, spend its assertion's `jti` in the same
    /// transaction. `Ok(false)`: the assertion was used before.
    pub async fn issue_machine_token(
        &self,
        client: &MachineClient,
        token_hash: &str,
        expires_at: Timestamp,
        assertion: Option<(&str, Timestamp)>,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        if let Some((jti, until)) = assertion {
            crate::db::query("DELETE FROM machine_assertions WHERE expires_at < $1").bind(ts(now)).execute(&mut tx).await?;
            let fresh = crate::db::query(
                "INSERT INTO machine_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (client_id, jti) DO NOTHING",
            )
            .bind(&client.client_id)
            .bind(jti)
            .bind(ts(until))
            .execute(&mut tx)
            .await?
            .rows_affected();
            if fresh == 0 {
                return Ok(false);
            }
        }
        crate::db::query("DELETE FROM machine_tokens WHERE client_id = $1 AND expires_at < $2")
            .bind(&client.client_id)
            .bind(ts(now))
            .execute(&mut tx)
            .await?;
        crate::db::query("INSERT INTO machine_tokens (token_hash, client_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(&client.client_id)
            .bind(yiwang_identity::MACHINE_SCOPE)
            .bind(ts(now))
            .bind(ts(expires_at))
            .execute(&mut tx)
            .await?;
        let data = serde_json::json!({ "auth_method": client.auth_method.code(), "expires_at": ts(expires_at) });
        let actor = format!("client:{}", client.client_id);
        tx.append_audit(audit_rec(&ts(now), &actor, "machine_client.token_issued", "machine_client", &client.client_id, data)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The live client a bearer token (its hash) stands for, with its agency's
    /// name: none when the token is unknown, expired or its client revoked.
    pub async fn machine_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<(MachineClient, String)>> {
        let sql = "SELECT c.client_id, c.name, c.agency_uscc, c.auth_method, c.secret_hash, c.jwks, c.created_by, c.created_at, \
                   c.revoked_at, a.name AS agency_name FROM machine_tokens t JOIN machine_clients c ON c.client_id = t.client_id \
                   LEFT JOIN agencies a ON a.uscc = c.agency_uscc \
                   WHERE t.token_hash = $1 AND t.expires_at > $2 AND c.revoked_at IS NULL";
        let Some(r) = crate::db::query(sql).bind(token_hash).bind(ts(now)).fetch_optional(self.read()).await? else {
            return Ok(None);
        };
        let agency_name: Option<String> = r.try_get("agency_name")?;
        Ok(Some((client_row(&r)?, agency_name.unwrap_or_default())))
    }
}

/// What an operator asks for when registering a client.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct MachineClientInput {
    pub name: String,
    pub agency_uscc: String,
    /// `client_secret_basic` or `private_key_jwt`.
    pub auth_method: String,
    /// For `private_key_jwt`: the client's public JWK Set.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
}

impl Store {
    /// Check and register a client for an agency: its id, and its secret for
    /// `client_secret_basic` (shown this once; only its hash is kept), or the
    /// problems with the input.
    pub async fn add_machine_client(
        &self,
        input: &MachineClientInput,
        actor: &str,
        now: Timestamp,
    ) -> Result<std::result::Result<(MachineClient, Option<String>), Vec<yiwang_catalog::FieldError>>> {
        use yiwang_catalog::FieldError;
        let mut problems = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            problems.push(FieldError::new("name", "invalid_length", "名称须为1至60个字符", "name must be 1 to 60 characters"));
        }
        let agency = input.agency_uscc.trim().to_uppercase();
        if self.agency(&agency).await?.is_none() {
            problems.push(FieldError::new(
                "agency_uscc",
                "unknown",
                format!("部门 {agency} 未在本节点登记"),
                format!("agency {agency} is not registered on this node"),
            ));
        }
        let method = ClientAuthMethod::parse(&input.auth_method);
        let mut jwks = Vec::new();
        match (method, &input.jwks) {
            (None, _) => problems.push(FieldError::new(
                "auth_method",
                "invalid_code",
                "认证方式须为 client_secret_basic 或 private_key_jwt",
                "auth_method must be client_secret_basic or private_key_jwt",
            )),
            (Some(ClientAuthMethod::PrivateKeyJwt), Some(set)) => match yiwang_identity::check_client_jwks(set) {
                Ok(keys) => jwks = keys,
                Err(why) => problems.push(FieldError::new("jwks", "invalid", format!("公钥集无效：{why}"), format!("invalid jwks: {why}"))),
            },
            (Some(ClientAuthMethod::PrivateKeyJwt), None) => problems.push(FieldError::new(
                "jwks",
                "required",
                "private_key_jwt 须登记客户端的公钥集（JWK Set，ES256）",
                "private_key_jwt needs the client's public JWK Set (ES256)",
            )),
            (Some(ClientAuthMethod::ClientSecretBasic), Some(_)) => problems.push(FieldError::new(
                "jwks",
                "unexpected",
                "client_secret_basic 不使用公钥集",
                "client_secret_basic takes no jwks",
            )),
            (Some(ClientAuthMethod::ClientSecretBasic), None) => {}
        }
        let Some(method) = method.filter(|_| problems.is_empty()) else { return Ok(Err(problems)) };
        let secret = (method == ClientAuthMethod::ClientSecretBasic).then(yiwang_identity::new_token);
        // A random id: it names the client in logs and its records' actor.
        let client_id = format!("m-{}", &yiwang_identity::new_token()[..20]);
        let new = NewMachineClient {
            client_id: client_id.clone(),
            name: name.to_string(),
            agency_uscc: agency,
            auth_method: method,
            secret_hash: secret.as_deref().map(yiwang_identity::token_hash),
            jwks,
        };
        if !self.register_machine_client(&new, actor, now).await? {
            return Err(StoreError::Conflict(format!("machine client {client_id} exists")));
        }
        let client = self.machine_client(&client_id).await?.ok_or_else(|| StoreError::NotFound(format!("machine client {client_id}")))?;
        Ok(Ok((client, secret)))
    }
}
