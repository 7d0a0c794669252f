//! Data sharing's tables (issue 21): a resource's sharing attributes, the
//! provider's grants, and the access log on both sides. The rules are
//! `yiwang_sharing`'s; this holds the SQL.

use serde::Serialize;
use yiwang_sharing::{Grant, ResourceSharing, RowScope, SharingError};

use crate::accounts::audit_rec;
use crate::accounts::new_id;
use crate::db::RowLike;
use crate::{Result, Store, StoreError, Tx, ts};

/// A catalog resource with its sharing attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedResource {
    pub code: String,
    pub name: String,
    pub provider_uscc: String,
    pub sharing: ResourceSharing,
}

/// One access to shared data, as either side logs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataAccess {
    /// `provider` (decided here) or `consumer` (asked from here).
    pub side: &'static str,
    pub at: String,
    pub resource_code: String,
    pub peer_node: String,
    pub consumer: String,
    pub operator: String,
    pub purpose: String,
    pub issue: Option<String>,
    pub grant_id: Option<String>,
    /// `allowed`, `not_found`, `out_of_scope` or `denied:{reason}`.
    pub outcome: String,
    pub fields: Vec<String>,
    /// SM3 of the subject's identifier (citizen ID, USCC), hex.
    pub subject_sm3: String,
    pub msg_id: String,
}

fn grant_of(r: &crate::db::Row) -> Result<Grant> {
    let json = |c: &str| -> Result<String> { Ok(r.try_get(c)?) };
    let parse_ts = |s: String| s.parse::<jiff::Timestamp>().map_err(|e| StoreError::Corrupt(format!("grant time {s}: {e}")));
    let revoked: Option<String> = r.try_get("revoked_at")?;
    Ok(Grant {
        id: r.try_get("id")?,
        resource: r.try_get("resource_code")?,
        consumer: r.try_get("consumer")?,
        fields: serde_json::from_str(&json("fields")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        purposes: serde_json::from_str(&json("purposes")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        row_scope: serde_json::from_str::<RowScope>(&json("row_scope")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        valid_from: parse_ts(r.try_get("valid_from")?)?,
        valid_until: parse_ts(r.try_get("valid_until")?)?,
        revoked_at: revoked.map(parse_ts).transpose()?,
    })
}

const GRANT_COLUMNS: &str = "id, resource_code, consumer, fields, purposes, row_scope, valid_from, valid_until, revoked_at";

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Tx {
    /// Replace what came through child node `via` with this snapshot, in the
    /// transaction that logs the message it came in; audited.
    pub async fn replace_network_resources(&mut self, via: &str, entries: &[NetworkResource], now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query("DELETE FROM network_resources WHERE via_node = $1").bind(via).execute(&mut *self).await?;
        for e in entries {
            crate::db::query(
                "INSERT INTO network_resources (source_node, code, via_node, provider_member, name, sharing, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source_node, code) DO UPDATE SET via_node = excluded.via_node, \
                 provider_member = excluded.provider_member, name = excluded.name, sharing = excluded.sharing, updated_at = excluded.updated_at",
            )
            .bind(&e.source_node)
            .bind(&e.code)
            .bind(via)
            .bind(&e.provider_member)
            .bind(&e.name)
            .bind(to_json(&e.sharing)?)
            .bind(&at)
            .execute(&mut *self)
            .await?;
        }
        self.append_audit(audit_rec(
            &at,
            via,
            "sharing.catalog_registered",
            "node",
            via,
            serde_json::json!({ "resources": entries.len() }),
        ))
        .await?;
        Ok(())
    }

    /// Keep a grant (checked by the caller), audited.
    pub(crate) async fn insert_grant(&mut self, grant: &Grant, granted_by: &str, approval_ref: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO sharing_grants (id, resource_code, consumer, fields, purposes, row_scope, valid_from, valid_until, granted_by, \
             approval_ref, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&grant.id)
        .bind(&grant.resource)
        .bind(&grant.consumer)
        .bind(to_json(&grant.fields)?)
        .bind(to_json(&grant.purposes)?)
        .bind(to_json(&grant.row_scope)?)
        .bind(ts(grant.valid_from))
        .bind(ts(grant.valid_until))
        .bind(granted_by)
        .bind(approval_ref)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(
            &at,
            granted_by,
            "sharing.grant_created",
            "sharing_grant",
            &grant.id,
            serde_json::json!({
                "resource": grant.resource, "consumer": grant.consumer, "fields": grant.fields, "purposes": grant.purposes,
                "row_scope": grant.row_scope, "valid_until": ts(grant.valid_until), "approval_ref": approval_ref,
            }),
        ))
        .await?;
        Ok(())
    }

    /// Set a resource's sharing attributes (checked by the caller).
    pub async fn describe_resource_sharing(
        &mut self,
        code: &str,
        sharing: &ResourceSharing,
        actor: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        crate::db::query("UPDATE data_resources SET sharing = $1, service = $2 WHERE code = $3")
            .bind(to_json(sharing)?)
            .bind(&sharing.service)
            .bind(code)
            .execute(&mut *self)
            .await?;
        self.append_audit(audit_rec(
            &ts(now),
            actor,
            "sharing.resource_described",
            "data_resource",
            code,
            serde_json::json!({
                "share_type": sharing.share_type, "items": sharing.item_names(), "service": sharing.service,
            }),
        ))
        .await?;
        Ok(())
    }

    /// Log one access, in the transaction that logs the message it came in or went out by.
    pub async fn log_data_access(&mut self, a: &DataAccess) -> Result<()> {
        crate::db::query(
            "INSERT INTO data_access_log (id, side, at, resource_code, peer_node, consumer, operator, purpose, issue, grant_id, outcome, \
             fields, subject_sm3, msg_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(new_id("acc"))
        .bind(a.side)
        .bind(&a.at)
        .bind(&a.resource_code)
        .bind(&a.peer_node)
        .bind(&a.consumer)
        .bind(&a.operator)
        .bind(&a.purpose)
        .bind(&a.issue)
        .bind(&a.grant_id)
        .bind(&a.outcome)
        .bind(to_json(&a.fields)?)
        .bind(&a.subject_sm3)
        .bind(&a.msg_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}

impl Store {
    fn shared_resource_of(r: &crate::db::Row) -> Result<Option<SharedResource>> {
        let sharing: Option<String> = r.try_get("sharing")?;
        let Some(sharing) = sharing else { return Ok(None) };
        Ok(Some(SharedResource {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            provider_uscc: r.try_get("provider_uscc")?,
            sharing: serde_json::from_str(&sharing).map_err(|e| StoreError::Corrupt(format!("resource sharing: {e}")))?,
        }))
    }

    /// The resource this provider serves through `service` (`{subsystem}/{code}/v{n}`), if described.
    pub async fn shared_resource_by_service(&self, provider_uscc: &str, service: &str) -> Result<Option<SharedResource>> {
        let row = crate::db::query(
            "SELECT code, name, provider_uscc, sharing FROM data_resources WHERE provider_uscc = $1 AND service = $2 ORDER BY code LIMIT 1",
        )
        .bind(provider_uscc)
        .bind(service)
        .fetch_optional(self.read())
        .await?;
        row.as_ref().map(Store::shared_resource_of).transpose().map(Option::flatten)
    }

    pub async fn shared_resource(&self, code: &str) -> Result<Option<SharedResource>> {
        let row = crate::db::query("SELECT code, name, provider_uscc, sharing FROM data_resources WHERE code = $1")
            .bind(code)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(Store::shared_resource_of).transpose().map(Option::flatten)
    }

    /// Every grant on a resource, revoked and lapsed ones too (`decide` judges them).
    pub async fn grants_on(&self, resource_code: &str) -> Result<Vec<Grant>> {
        let rows =
            crate::db::query(crate::safe(format!("SELECT {GRANT_COLUMNS} FROM sharing_grants WHERE resource_code = $1 ORDER BY id")))
                .bind(resource_code)
                .fetch_all(self.read())
                .await?;
        rows.iter().map(grant_of).collect()
    }

    /// One grant by id.
    pub async fn grant(&self, id: &str) -> Result<Option<Grant>> {
        let row = crate::db::query(crate::safe(format!("SELECT {GRANT_COLUMNS} FROM sharing_grants WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(grant_of).transpose()
    }

    /// Every grant this node has made, newest first.
    pub async fn grants(&self) -> Result<Vec<Grant>> {
        let rows = crate::db::query(crate::safe(format!("SELECT {GRANT_COLUMNS} FROM sharing_grants ORDER BY created_at DESC, id")))
            .fetch_all(self.read())
            .await?;
        rows.iter().map(grant_of).collect()
    }

    /// Make a grant on a described resource of this node (its id is drawn
    /// here), checked against the resource's items; audited.
    pub async fn create_grant(
        &self,
        mut grant: Grant,
        granted_by: &str,
        approval_ref: &str,
        now: jiff::Timestamp,
    ) -> Result<std::result::Result<Grant, SharingError>> {
        let Some(resource) = self.shared_resource(&grant.resource).await? else {
            return Ok(Err(SharingError::InvalidGrant(format!("resource {} is not described for sharing on this node", grant.resource))));
        };
        grant.id = new_id("grant");
        grant.revoked_at = None;
        if let Err(e) = grant.check(&resource.sharing.item_names()) {
            return Ok(Err(e));
        }
        if resource.sharing.share_type == yiwang_sharing::ShareType::None {
            return Ok(Err(SharingError::InvalidGrant(format!("resource {} is 不予共享 (not shared)", grant.resource))));
        }
        let mut tx = self.begin().await?;
        tx.insert_grant(&grant, granted_by, approval_ref, now).await?;
        tx.commit().await?;
        Ok(Ok(grant))
    }

    /// Revoke a grant from now on; false if there is no such grant in force.
    pub async fn revoke_grant(&self, id: &str, actor: &str, now: jiff::Timestamp) -> Result<bool> {
        let at = ts(now);
        let mut tx = self.begin().await?;
        let done = crate::db::query("UPDATE sharing_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(&at)
            .bind(id)
            .execute(&mut tx)
            .await?;
        if done.rows_affected() == 1 {
            tx.append_audit(audit_rec(&at, actor, "sharing.grant_revoked", "sharing_grant", id, serde_json::json!({}))).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The accesses to one subject's data (by the SM3 of its identifier), newest first.
    pub async fn data_accesses_of(&self, subject_sm3: &str, limit: i64) -> Result<Vec<DataAccess>> {
        let rows = crate::db::query(
            "SELECT side, at, resource_code, peer_node, consumer, operator, purpose, issue, grant_id, outcome, fields, subject_sm3, msg_id \
             FROM data_access_log WHERE subject_sm3 = $1 ORDER BY at DESC, id LIMIT $2",
        )
        .bind(subject_sm3)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                let side: String = r.try_get("side")?;
                let fields: String = r.try_get("fields")?;
                Ok(DataAccess {
                    side: if side == "provider" { "provider" } else { "consumer" },
                    at: r.try_get("at")?,
                    resource_code: r.try_get("resource_code")?,
                    peer_node: r.try_get("peer_node")?,
                    consumer: r.try_get("consumer")?,
                    operator: r.try_get("operator")?,
                    purpose: r.try_get("purpose")?,
                    issue: r.try_get("issue")?,
                    grant_id: r.try_get("grant_id")?,
                    outcome: r.try_get("outcome")?,
                    fields: serde_json::from_str(&fields).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    subject_sm3: r.try_get("subject_sm3")?,
                    msg_id: r.try_get("msg_id")?,
                })
            })
            .collect()
    }
}

/// A resource of the network's catalog: where it is (the node hosting its
/// provider), who provides it, and its sharing attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NetworkResource {
    pub source_node: String,
    pub code: String,
    pub provider_member: String,
    pub name: String,
    pub sharing: ResourceSharing,
}

impl Store {
    /// Every resource of this node that is described for sharing.
    pub async fn described_resources(&self) -> Result<Vec<SharedResource>> {
        let rows =
            crate::db::query("SELECT code, name, provider_uscc, sharing FROM data_resources WHERE sharing IS NOT NULL ORDER BY code")
                .fetch_all(self.read())
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(s) = Store::shared_resource_of(r)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The resources registered here from nodes below, by source node and code.
    pub async fn network_resources(&self) -> Result<Vec<NetworkResource>> {
        let rows = crate::db::query(
            "SELECT source_node, code, provider_member, name, sharing FROM network_resources ORDER BY source_node, code LIMIT 100000",
        )
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                let sharing: String = r.try_get("sharing")?;
                Ok(NetworkResource {
                    source_node: r.try_get("source_node")?,
                    code: r.try_get("code")?,
                    provider_member: r.try_get("provider_member")?,
                    name: r.try_get("name")?,
                    sharing: serde_json::from_str(&sharing).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}
