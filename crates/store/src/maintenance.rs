//! Housekeeping a running node does by itself (`Store::maintain`, every few
//! minutes from `yiwang serve`): lapsed throttle counters, registrations,
//! federated-login flows and pending links, and files no case holds any more.
//! And the one-off data steps that follow the SQL migrations.

use jiff::Timestamp;
use yiwang_case::Case;

use crate::db::RowLike;
use crate::{Result, Store, StoreError, ts};

/// What one round of housekeeping removed.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Maintained {
    pub throttle: u64,
    pub registrations: u64,
    pub federation: u64,
    pub blobs: u64,
}

impl Store {
    /// One round of housekeeping.
    pub async fn maintain(&self, now: Timestamp) -> Result<Maintained> {
        let at = ts(now);
        let federation =
            crate::db::query("DELETE FROM federation_flows WHERE expires_at <= $1").bind(&at).execute(self.write()).await?.rows_affected()
                + crate::db::query("DELETE FROM federation_pending WHERE expires_at <= $1")
                    .bind(&at)
                    .execute(self.write())
                    .await?
                    .rows_affected();
        // A file no case holds: left by uploads from before blob_refs; never one in
        // flight, since an upload writes its file and its reference together.
        let blobs = crate::db::query("DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.digest = blobs.digest)")
            .execute(self.write())
            .await?
            .rows_affected();
        Ok(Maintained { throttle: self.sweep_throttle(now).await?, registrations: self.sweep_registrations(now).await?, federation, blobs })
    }

    /// Give every license issued before migration 20 its public reference.
    pub(crate) async fn backfill_license_refs(&self) -> Result<()> {
        let rows = crate::db::query("SELECT id FROM licenses WHERE public_ref IS NULL").fetch_all(self.read()).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for r in &rows {
            let id: String = r.try_get("id")?;
            crate::db::query("UPDATE licenses SET public_ref = $1 WHERE id = $2 AND public_ref IS NULL")
                .bind(crate::licenses::new_public_ref())
                .bind(&id)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await
    }

    /// Fill `blob_refs` from the uploads cases already hold (once, after migration 19).
    pub(crate) async fn backfill_blob_refs(&self, now: Timestamp) -> Result<()> {
        const NAME: &str = "blob_refs";
        let done = crate::db::query("SELECT 1 AS one FROM data_migrations WHERE name = $1").bind(NAME).fetch_optional(self.read()).await?;
        if done.is_some() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let rows = crate::db::query(r#"SELECT case_no, account_id, folded FROM cases WHERE folded LIKE '%"uploads":[{%'"#)
            .fetch_all(&mut tx)
            .await?;
        for r in &rows {
            let folded: String = r.try_get("folded")?;
            let case: Case = serde_json::from_str(&folded).map_err(|e| StoreError::Corrupt(format!("case state: {e}")))?;
            let (case_no, account): (String, String) = (r.try_get("case_no")?, r.try_get("account_id")?);
            for u in &case.uploads {
                crate::db::query(
                    "INSERT INTO blob_refs (case_no, material, digest, account_id, size, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (case_no, material, digest) DO NOTHING",
                )
                .bind(&case_no)
                .bind(&u.material)
                .bind(&u.file.digest)
                .bind(&account)
                .bind(i64::try_from(u.file.size).unwrap_or(i64::MAX))
                .bind(ts(u.at))
                .execute(&mut tx)
                .await?;
            }
        }
        crate::db::query("INSERT INTO data_migrations (name, done_at) VALUES ($1, $2)").bind(NAME).bind(ts(now)).execute(&mut tx).await?;
        tx.commit().await
    }
}
