//! Support access (issue 19): an administrator is no member of any agency. To
//! help an agency with its cases, an administrator gets an explicit grant: one
//! agency, a reason, an end no later than the node allows, made by another
//! administrator (or the operator's command line), revocable, and audited at
//! each step. A grant lets its holder read the agency's cases; every read is
//! audited like any staff read.

use jiff::Timestamp;
use serde::Serialize;

use crate::accounts::audit_rec;
use crate::db::RowLike;
use crate::{Result, Store, StoreError, Tx, ts};

#[derive(Debug, Clone, Serialize)]
pub struct SupportGrant {
    pub id: String,
    pub account_id: String,
    pub agency_uscc: String,
    pub reason: String,
    pub granted_by: String,
    pub granted_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

fn grant_row(r: &crate::db::Row) -> Result<SupportGrant> {
    Ok(SupportGrant {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        agency_uscc: r.try_get("agency_uscc")?,
        reason: r.try_get("reason")?,
        granted_by: r.try_get("granted_by")?,
        granted_at: r.try_get("granted_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    /// Agencies whose cases `account_id` may read through a live grant.
    pub async fn live_support_agencies(&self, account_id: &str, now: Timestamp) -> Result<Vec<String>> {
        let rows = crate::db::query(
            "SELECT DISTINCT agency_uscc FROM support_grants WHERE account_id = $1 AND expires_at > $2 AND revoked_at IS NULL \
             ORDER BY agency_uscc",
        )
        .bind(account_id)
        .bind(ts(now))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("agency_uscc")?)).collect()
    }

    /// Every grant, newest first (live and past), for the administrators' list.
    pub async fn support_grants(&self, limit: i64) -> Result<Vec<SupportGrant>> {
        let rows = crate::db::query(
            "SELECT id, account_id, agency_uscc, reason, granted_by, granted_at, expires_at, revoked_at FROM support_grants \
             ORDER BY granted_at DESC, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(grant_row).collect()
    }
}

impl Tx {
    /// Grant `account_id` (an administrator) read access to `agency`'s cases
    /// until `expires_at`, for `reason`; audited.
    pub async fn grant_support(
        &mut self,
        account_id: &str,
        agency: &str,
        reason: &str,
        granted_by: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<SupportGrant> {
        let reason = reason.trim();
        if reason.chars().count() < 4 || reason.chars().count() > 200 {
            return Err(StoreError::Invalid("支持访问须写明事由（4至200字）/ a reason of 4 to 200 characters is required".into()));
        }
        if expires_at <= now {
            return Err(StoreError::Invalid("支持访问的截止时间须晚于现在 / the grant must end in the future".into()));
        }
        let admin = crate::db::query("SELECT 1 AS one FROM staff_roles WHERE account_id = $1 AND role = 'admin'")
            .bind(account_id)
            .fetch_optional(&mut *self)
            .await?;
        if admin.is_none() {
            return Err(StoreError::Invalid("支持访问只授予系统管理员 / support access is for administrators only".into()));
        }
        let g = SupportGrant {
            id: format!("sup_{}", yiwang_identity::new_token().chars().take(16).collect::<String>()),
            account_id: account_id.into(),
            agency_uscc: agency.into(),
            reason: reason.into(),
            granted_by: granted_by.into(),
            granted_at: ts(now),
            expires_at: ts(expires_at),
            revoked_at: None,
        };
        crate::db::query(
            "INSERT INTO support_grants (id, account_id, agency_uscc, reason, granted_by, granted_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&g.id)
        .bind(&g.account_id)
        .bind(&g.agency_uscc)
        .bind(&g.reason)
        .bind(&g.granted_by)
        .bind(&g.granted_at)
        .bind(&g.expires_at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(
            &g.granted_at,
            granted_by,
            "support.granted",
            "support_grant",
            &g.id,
            serde_json::json!({ "account": account_id, "agency": agency, "reason": g.reason, "expires_at": g.expires_at }),
        ))
        .await?;
        Ok(g)
    }

    /// End a grant now; audited. False if it was not live.
    pub async fn revoke_support(&mut self, id: &str, actor: &str, now: Timestamp) -> Result<bool> {
        let at = ts(now);
        let n = crate::db::query("UPDATE support_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1")
            .bind(&at)
            .bind(id)
            .execute(&mut *self)
            .await?;
        if n.rows_affected() == 0 {
            return Ok(false);
        }
        self.append_audit(audit_rec(&at, actor, "support.revoked", "support_grant", id, serde_json::json!({}))).await?;
        Ok(true)
    }
}
