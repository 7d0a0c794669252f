use crate::db::RowLike;
use serde::Serialize;

use yiwang_audit::{AuditBreak, AuditEntry, AuditRecord, ChainVerifier, chain_next};

use crate::{Result, Store, StoreError, Tx};

/// The outcome of verifying the whole chain.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuditReport {
    Intact {
        entries: i64,
        head_hash: String,
    },
    Broken {
        #[serde(flatten)]
        first_break: AuditBreak,
        /// The first bad entry as stored, when it exists.
        entry: Option<Box<AuditEntry>>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_after: Option<i64>,
}

macro_rules! columns {
    () => {
        "seq, occurred_at, actor, action, object_type, object_id, reason, data, prev_hash, hash"
    };
}

fn entry_from_row(r: &crate::db::Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        record: AuditRecord {
            at: r.try_get("occurred_at")?,
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            object_type: r.try_get("object_type")?,
            object_id: r.try_get("object_id")?,
            reason: r.try_get("reason")?,
            data: r.try_get("data")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

impl Tx {
    /// Append an audit entry inside this transaction. Bumping the head row first
    /// takes the write lock (a row lock on PostgreSQL, the database lock on
    /// SQLite), so concurrent appenders queue instead of forking the chain.
    pub async fn append_audit(&mut self, record: AuditRecord) -> Result<AuditEntry> {
        let head = crate::db::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").fetch_one(&mut *self).await?;
        let new_seq: i64 = head.try_get("seq")?;
        let prev_hash: String = head.try_get("hash")?;
        let entry = chain_next(new_seq - 1, &prev_hash, record);
        crate::db::query(concat!("INSERT INTO audit_log (", columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
            .bind(entry.seq)
            .bind(&entry.record.at)
            .bind(&entry.record.actor)
            .bind(&entry.record.action)
            .bind(&entry.record.object_type)
            .bind(&entry.record.object_id)
            .bind(&entry.record.reason)
            .bind(&entry.record.data)
            .bind(&entry.prev_hash)
            .bind(&entry.hash)
            .execute(&mut *self)
            .await?;
        crate::db::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&entry.hash).execute(&mut *self).await?;
        Ok(entry)
    }
}

impl Store {
    /// Record an event that changes nothing else (e.g. a CLI action).
    pub async fn audit(&self, record: AuditRecord) -> Result<AuditEntry> {
        let mut tx = self.begin().await?;
        let e = tx.append_audit(record).await?;
        tx.commit().await?;
        Ok(e)
    }

    /// Entries with `seq > after`, oldest first.
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<AuditPage> {
        let rows = crate::db::query(concat!("SELECT ", columns!(), " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let entries = rows.iter().map(entry_from_row).collect::<Result<Vec<_>>>()?;
        let next_after = if entries.len() as i64 == limit { entries.last().map(|e| e.seq) } else { None };
        Ok(AuditPage { entries, next_after })
    }

    /// Walk the whole chain in pages and report the first break.
    pub async fn audit_verify(&self) -> Result<AuditReport> {
        const PAGE: i64 = 5000;
        let mut verifier = ChainVerifier::new();
        // Read by row position rather than `seq > last` so a row whose seq was
        // rewritten out of order is still seen in the order the chain claims.
        let mut offset = 0i64;
        loop {
            let rows = crate::db::query(concat!("SELECT ", columns!(), " FROM audit_log ORDER BY seq LIMIT $1 OFFSET $2"))
                .bind(PAGE)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
            for r in &rows {
                let e = entry_from_row(r)?;
                if let Err(b) = verifier.push(&e) {
                    return Ok(AuditReport::Broken { first_break: b, entry: Some(Box::new(e)) });
                }
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
            offset += PAGE;
        }
        let head = crate::db::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_optional(&self.pool).await?;
        let Some(head) = head else {
            return Err(StoreError::Corrupt("audit_head row is missing".into()));
        };
        let (seq, hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
        Ok(match verifier.finish(seq, &hash) {
            Ok(entries) => AuditReport::Intact { entries, head_hash: hash },
            Err(b) => AuditReport::Broken { first_break: b, entry: None },
        })
    }
}
