//! 加注件: time-limited copies a holder shares for a stated use.

use super::*;

/// A 加注件: a time-limited copy of a license the holder shares for a stated use.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseShare {
    pub id: String,
    pub license_id: String,
    /// 用途, printed across the copy.
    pub purpose: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub views: i64,
    /// The holder chose to show identifiers (ID numbers) in full.
    pub reveal_ids: bool,
}

impl LicenseShare {
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_str() > ts(now).as_str()
    }
}

/// What a share link opens to.
#[derive(Debug, Clone)]
pub enum SharedCopy {
    Open {
        share: LicenseShare,
        license: Box<StoredLicense>,
    },
    /// Past its time, or withdrawn by the holder.
    Closed {
        share: LicenseShare,
    },
    Unknown,
}

/// The longest a share may run.
pub const MAX_SHARE_DAYS: i64 = 30;

const SHARE_COLUMNS: &str = "id, license_id, purpose, created_at, expires_at, revoked_at, views, reveal_ids";

fn license_share(r: &crate::db::Row) -> Result<LicenseShare> {
    Ok(LicenseShare {
        id: r.try_get("id")?,
        license_id: r.try_get("license_id")?,
        purpose: r.try_get("purpose")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        views: r.try_get("views")?,
        reveal_ids: r.try_get::<i64, _>("reveal_ids")? != 0,
    })
}

impl Store {
    /// Share a license for `purpose` for `days` (1 to 30). Returns the share
    /// and its link token, which is not stored (only its hash) and so is shown once.
    pub async fn share_license(
        &self,
        license_id: &str,
        purpose: &str,
        days: i64,
        reveal_ids: bool,
        actor: &str,
        now: Timestamp,
    ) -> LResult<(LicenseShare, String)> {
        let purpose = purpose.trim();
        if purpose.chars().count() < 2 || purpose.chars().count() > 60 {
            return Err(invalid("purpose", "请写明用途（2至60字）", "state the use (2 to 60 characters)"));
        }
        if !(1..=MAX_SHARE_DAYS).contains(&days) {
            return Err(invalid("days", format!("有效天数应为1至{MAX_SHARE_DAYS}天"), format!("days must be 1 to {MAX_SHARE_DAYS}")));
        }
        let license = self.license(license_id).await?;
        if license.status != LicenseStatus::Valid {
            return Err(invalid("license", "只有有效的证照可以分享", "only a valid license can be shared"));
        }
        let token = yiwang_identity::new_token();
        let id = new_id("share");
        let at = ts(now);
        let expires = ts(now.checked_add(jiff::SignedDuration::from_hours(24 * days)).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        let mut tx = self.begin().await?;
        crate::db::query(
            "INSERT INTO license_shares (id, license_id, token_hash, purpose, created_by, created_at, expires_at, reveal_ids) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(license_id)
        .bind(yiwang_identity::token_hash(&token))
        .bind(purpose)
        .bind(actor)
        .bind(&at)
        .bind(&expires)
        .bind(i64::from(reveal_ids))
        .execute(&mut tx)
        .await
        .map_err(StoreError::from)?;
        tx.append_audit(audit_rec(
            &at,
            actor,
            "license.shared",
            "license",
            license_id,
            json!({ "share": id, "purpose": purpose, "days": days }),
        ))
        .await?;
        tx.commit().await?;
        let share = LicenseShare {
            id,
            license_id: license_id.to_string(),
            purpose: purpose.to_string(),
            created_at: at,
            expires_at: expires,
            revoked_at: None,
            views: 0,
            reveal_ids,
        };
        Ok((share, token))
    }

    /// A license's shares, newest first.
    pub async fn license_shares(&self, license_id: &str) -> Result<Vec<LicenseShare>> {
        let rows = crate::db::query(safe(format!(
            "SELECT {SHARE_COLUMNS} FROM license_shares WHERE license_id = $1 ORDER BY created_at DESC, id"
        )))
        .bind(license_id)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(license_share).collect()
    }

    /// Withdraw a share before its time.
    pub async fn revoke_license_share(&self, license_id: &str, share_id: &str, actor: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        let at = ts(now);
        let done = crate::db::query("UPDATE license_shares SET revoked_at = $1 WHERE id = $2 AND license_id = $3 AND revoked_at IS NULL")
            .bind(&at)
            .bind(share_id)
            .bind(license_id)
            .execute(&mut tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("share {share_id}")));
        }
        tx.append_audit(audit_rec(&at, actor, "license.share_revoked", "license", license_id, json!({ "share": share_id }))).await?;
        tx.commit().await
    }

    /// Open a share link: counts the view while the share is open.
    pub async fn open_license_share(&self, token: &str, now: Timestamp) -> Result<SharedCopy> {
        let row = crate::db::query(safe(format!("SELECT {SHARE_COLUMNS} FROM license_shares WHERE token_hash = $1")))
            .bind(yiwang_identity::token_hash(token.trim()))
            .fetch_optional(self.read())
            .await?;
        let Some(row) = row else { return Ok(SharedCopy::Unknown) };
        let mut share = license_share(&row)?;
        let license = self.license(&share.license_id).await?;
        // A license no longer valid closes its shares too.
        if !share.active_at(now) || license.status != LicenseStatus::Valid {
            return Ok(SharedCopy::Closed { share });
        }
        crate::db::query("UPDATE license_shares SET views = views + 1 WHERE id = $1").bind(&share.id).execute(self.write()).await?;
        share.views += 1;
        Ok(SharedCopy::Open { share, license: Box::new(license) })
    }
}
