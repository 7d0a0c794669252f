//! The basic catalog (基本目录) across tiers: what this node defines
//! (`catalog_basic`, set by the national or provincial operator's import, or
//! made from the items it publishes) and what its parent sent down
//! (`catalog_basic_upstream`). A node sends the nodes below the parent's
//! entries and its own beside them, so the list flows national → province →
//! city, and each node's analysis compares its items against what came down.

use std::collections::BTreeMap;

use yiwang_catalog::{BasicItem, TaskType};

use crate::accounts::audit_rec;
use crate::db::RowLike;
use crate::{Result, Store, StoreError, Tx, ts};

/// At most this many entries come down in one pull (the national list has
/// some thousands).
pub const MAX_BASIC_ENTRIES: usize = 20_000;

fn levels(s: &str) -> Vec<String> {
    s.split('^').filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn basic_row(r: &crate::db::Row) -> Result<BasicItem> {
    let task_type: String = r.try_get("task_type")?;
    let use_levels: String = r.try_get("use_levels")?;
    Ok(BasicItem {
        basic_code: r.try_get("basic_code")?,
        name: r.try_get("name")?,
        task_type: TaskType::from_code(&task_type).ok_or_else(|| StoreError::Corrupt(format!("task type {task_type}")))?,
        by_law: r.try_get("by_law")?,
        use_levels: levels(&use_levels),
        local_code: None,
    })
}

impl Store {
    /// The basic catalog the parent last sent down, by 基本编码 (empty: none came).
    pub async fn upstream_basic(&self) -> Result<BTreeMap<String, BasicItem>> {
        let rows =
            crate::db::query("SELECT basic_code, name, task_type, by_law, use_levels FROM catalog_basic_upstream ORDER BY basic_code")
                .fetch_all(self.read())
                .await?;
        rows.iter().map(|r| basic_row(r).map(|b| (b.basic_code.clone(), b))).collect()
    }

    /// What this node sends the nodes below: the parent's entries, and its own
    /// entries whose codes the parent does not define.
    pub async fn basic_catalog_to_send(&self) -> Result<Vec<BasicItem>> {
        let mut out = self.upstream_basic().await?;
        let own = crate::db::query("SELECT basic_code, name, task_type, by_law, use_levels FROM catalog_basic ORDER BY basic_code")
            .fetch_all(self.read())
            .await?;
        for r in &own {
            let b = basic_row(r)?;
            out.entry(b.basic_code.clone()).or_insert(b);
        }
        Ok(out.into_values().collect())
    }

    /// Keep what the parent sent down in place of the last (`source` is its
    /// node id); audited with what changed in number.
    pub async fn replace_upstream_basic(&self, source: &str, entries: &[BasicItem], now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        let mut tx = self.begin().await?;
        crate::db::query("DELETE FROM catalog_basic_upstream").execute(&mut tx).await?;
        for e in entries {
            crate::db::query(
                "INSERT INTO catalog_basic_upstream (basic_code, name, task_type, by_law, use_levels, task_version, source_node, received_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
            )
            .bind(&e.basic_code)
            .bind(&e.name)
            .bind(e.task_type.code())
            .bind(&e.by_law)
            .bind(e.use_levels.join("^"))
            .bind(source)
            .bind(&at)
            .execute(&mut tx)
            .await?;
        }
        tx.append_audit(audit_rec(&at, source, "catalog.basic_received", "node", source, serde_json::json!({ "entries": entries.len() })))
            .await?;
        tx.commit().await
    }

    /// Define or change basic catalog entries (the national or provincial
    /// operator's import); returns how many were new or changed, audited.
    pub async fn define_basic_entries(&self, entries: &[BasicItem], actor: &str, now: jiff::Timestamp) -> Result<usize> {
        let at = ts(now);
        let mut tx = self.begin().await?;
        let mut changed = 0;
        for e in entries {
            changed += tx.upsert_basic(e, &at).await?;
        }
        tx.append_audit(audit_rec(&at, actor, "catalog.basic_defined", "catalog_basic", "", serde_json::json!({ "changed": changed })))
            .await?;
        tx.commit().await?;
        Ok(changed)
    }
}

impl Tx {
    /// One entry in: new, or its elements replaced with its version bumped
    /// when they differ. Returns 1 when it changed anything.
    async fn upsert_basic(&mut self, e: &BasicItem, at: &str) -> Result<usize> {
        let levels = e.use_levels.join("^");
        let current = crate::db::query("SELECT basic_code, name, task_type, by_law, use_levels FROM catalog_basic WHERE basic_code = $1")
            .bind(&e.basic_code)
            .fetch_optional(&mut *self)
            .await?;
        match current.as_ref().map(basic_row).transpose()? {
            Some(c) if c.name == e.name && c.task_type == e.task_type && c.by_law == e.by_law && c.use_levels == e.use_levels => Ok(0),
            Some(_) => {
                crate::db::query(
                    "UPDATE catalog_basic SET name = $1, task_type = $2, by_law = $3, use_levels = $4, task_version = task_version + 1, \
                     updated_at = $5 WHERE basic_code = $6",
                )
                .bind(&e.name)
                .bind(e.task_type.code())
                .bind(&e.by_law)
                .bind(&levels)
                .bind(at)
                .bind(&e.basic_code)
                .execute(&mut *self)
                .await?;
                Ok(1)
            }
            None => {
                crate::db::query(
                    "INSERT INTO catalog_basic (basic_code, name, task_type, by_law, use_levels, local_code, task_version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, NULL, 1, $6, $6)",
                )
                .bind(&e.basic_code)
                .bind(&e.name)
                .bind(e.task_type.code())
                .bind(&e.by_law)
                .bind(&levels)
                .bind(at)
                .execute(&mut *self)
                .await?;
                Ok(1)
            }
        }
    }
}
