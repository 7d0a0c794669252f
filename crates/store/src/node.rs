use crate::db::RowLike;
use serde::Serialize;
use yiwang_audit::AuditRecord;

use crate::{Result, Store, Tx, ts};

#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub division_code: String,
    pub name: String,
    pub tier: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeRegion {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
}

impl Store {
    pub async fn node_info(&self) -> Result<Option<NodeInfo>> {
        let row = crate::db::query("SELECT division_code, name, tier, created_at FROM node_info WHERE id = 1")
            .fetch_optional(self.read())
            .await?;
        row.map(|r| {
            Ok(NodeInfo {
                division_code: r.try_get("division_code")?,
                name: r.try_get("name")?,
                tier: r.try_get("tier")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn node_regions(&self) -> Result<Vec<NodeRegion>> {
        let rows = crate::db::query("SELECT code, name, level, parent_code FROM node_regions ORDER BY code").fetch_all(self.read()).await?;
        rows.iter()
            .map(|r| {
                Ok(NodeRegion {
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    level: r.try_get("level")?,
                    parent_code: r.try_get("parent_code")?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Create the node's identity once; a second call is a conflict.
    pub async fn create_node(&mut self, info: &NodeInfo, regions: &[NodeRegion], actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        // One statement decides, so concurrent callers get a clean conflict, never a
        // unique-violation error.
        let inserted = crate::db::query(
            "INSERT INTO node_info (id, division_code, name, tier, created_at) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind(&info.division_code)
        .bind(&info.name)
        .bind(&info.tier)
        .bind(&at)
        .fetch_optional(&mut *self)
        .await?;
        if inserted.is_none() {
            return Err(crate::StoreError::Conflict("node already initialised / 节点已初始化".into()));
        }
        for r in regions {
            crate::db::query("INSERT INTO node_regions (code, name, level, parent_code, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&r.code)
                .bind(&r.name)
                .bind(&r.level)
                .bind(&r.parent_code)
                .bind(&at)
                .execute(&mut *self)
                .await?;
        }
        self.append_audit(AuditRecord {
            at,
            actor: actor.to_string(),
            action: "node.created".into(),
            object_type: "node".into(),
            object_id: info.division_code.clone(),
            reason: String::new(),
            data: serde_json::json!({ "name": info.name, "tier": info.tier, "regions": regions.len() }).to_string(),
        })
        .await?;
        Ok(())
    }
}
