//! 用证留痕: an agency's use of a license, logged for its holder.

use super::*;

/// One use of a license by an agency (用证留痕), as its holder sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseUse {
    pub license_id: String,
    pub agency_uscc: String,
    pub agency_name: Option<String>,
    /// 事由
    pub reason: String,
    pub case_no: Option<String>,
    pub at: String,
    /// `fetch` (the license itself) or `query` (listed in a query by holder).
    pub kind: String,
}

/// One entry of a license's use log: who, for what, when, and how (`fetch` or `query`).
struct UseEntry<'a> {
    agency_uscc: &'a str,
    actor: &'a str,
    reason: &'a str,
    case_no: Option<&'a str>,
    at: &'a str,
    kind: &'static str,
}

impl Tx {
    async fn log_license_use(&mut self, license_id: &str, e: &UseEntry<'_>) -> Result<()> {
        crate::db::query(
            "INSERT INTO license_uses (id, license_id, agency_uscc, actor, reason, case_no, at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(crate::accounts::ordered_id("use"))
        .bind(license_id)
        .bind(e.agency_uscc)
        .bind(e.actor)
        .bind(e.reason)
        .bind(e.case_no)
        .bind(e.at)
        .bind(e.kind)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}

impl Store {
    /// An agency fetches a license for a stated use. The use is logged for the
    /// holder and audited in the same transaction as the read, so no read goes
    /// unrecorded.
    pub async fn use_license(
        &self,
        id: &str,
        agency_uscc: &str,
        actor: &str,
        reason: &str,
        case_no: Option<&str>,
        now: Timestamp,
    ) -> LResult<StoredLicense> {
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(invalid("reason", "用证须说明事由", "a reason (事由) is required to use a license"));
        }
        let mut tx = self.begin().await?;
        let row = crate::db::query(safe(format!("SELECT {LICENSE_COLUMNS} FROM licenses WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut tx)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| StoreError::NotFound(format!("license {id}")))?;
        let license = stored_license(&row)?;
        let at = ts(now);
        tx.log_license_use(id, &UseEntry { agency_uscc, actor, reason, case_no, at: &at, kind: "fetch" }).await?;
        let mut record = audit_rec(&at, actor, "license.used", "license", id, json!({ "agency": agency_uscc, "case_no": case_no }));
        record.reason = reason.to_string();
        tx.append_audit(record).await?;
        tx.commit().await?;
        Ok(license)
    }

    /// An agency lists a holder's current licenses for a stated use. Each
    /// license listed gets a `query` entry in its use log, in the same
    /// transaction as the read.
    pub async fn query_licenses_of(
        &self,
        (holder_id_type, holder_id): (&str, &str),
        agency_uscc: &str,
        actor: &str,
        reason: &str,
        case_no: Option<&str>,
        now: Timestamp,
    ) -> LResult<Vec<StoredLicense>> {
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(invalid("reason", "查询证照须说明事由", "a reason (事由) is required to query licenses"));
        }
        if holder_id.trim().is_empty() || holder_id_type.trim().is_empty() {
            return Err(invalid("holder_id", "须提供持证主体代码及类型", "holder_id and holder_id_type are required"));
        }
        let mut tx = self.begin().await?;
        let rows = crate::db::query(safe(format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses WHERE holder_id_type = $1 AND holder_id = $2 AND status <> 'superseded' \
             ORDER BY issued_at DESC, id"
        )))
        .bind(holder_id_type.trim())
        .bind(holder_id.trim())
        .fetch_all(&mut tx)
        .await
        .map_err(StoreError::from)?;
        let found = rows.iter().map(stored_license).collect::<Result<Vec<_>>>()?;
        let at = ts(now);
        let entry = UseEntry { agency_uscc, actor, reason, case_no, at: &at, kind: "query" };
        for l in &found {
            tx.log_license_use(&l.id, &entry).await?;
        }
        // The audit names the holder by a digest, not the identifier itself.
        let holder_ref = hex::encode(&yiwang_crypto::sm3(format!("{holder_id_type}:{holder_id}").as_bytes())[..8]);
        let mut record = audit_rec(
            &at,
            actor,
            "license.queried",
            "license_holder",
            &holder_ref,
            json!({ "agency": agency_uscc, "case_no": case_no, "found": found.len() }),
        );
        record.reason = reason.to_string();
        tx.append_audit(record).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Every use of a license, newest first.
    pub async fn license_uses(&self, id: &str) -> Result<Vec<LicenseUse>> {
        let rows = crate::db::query(
            "SELECT u.license_id, u.agency_uscc, a.name AS agency_name, u.reason, u.case_no, u.at, u.kind FROM license_uses u \
             LEFT JOIN agencies a ON a.uscc = u.agency_uscc WHERE u.license_id = $1 ORDER BY u.at DESC, u.id",
        )
        .bind(id)
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LicenseUse {
                    license_id: r.try_get("license_id")?,
                    agency_uscc: r.try_get("agency_uscc")?,
                    agency_name: r.try_get("agency_name")?,
                    reason: r.try_get("reason")?,
                    case_no: r.try_get("case_no")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                })
            })
            .collect()
    }
}
