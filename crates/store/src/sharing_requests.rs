//! 共享申请 on the provider's node: kept when they arrive over the exchange,
//! decided by the provider's officers (an approval makes the grant in the same
//! transaction), swept for ones overdue.

use serde::Serialize;
use yiwang_sharing::{Application, Decision, Grant, RequestState, SharingError, check_decision};

use crate::accounts::{audit_rec, new_id};
use crate::db::RowLike;
use crate::{Result, Store, StoreError, ts};

/// A request as the provider holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharingRequestRow {
    pub id: String,
    pub resource_code: String,
    pub consumer: String,
    pub consumer_node: String,
    pub application: Application,
    pub state: RequestState,
    pub submitted_at: String,
    pub due_on: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub grant_id: Option<String>,
    pub overdue_at: Option<String>,
}

const COLUMNS: &str = "id, resource_code, consumer, consumer_node, application, state, submitted_at, due_on, decided_at, decided_by, reason, grant_id, overdue_at";

fn row(r: &crate::db::Row) -> Result<SharingRequestRow> {
    let application: String = r.try_get("application")?;
    let state: String = r.try_get("state")?;
    Ok(SharingRequestRow {
        id: r.try_get("id")?,
        resource_code: r.try_get("resource_code")?,
        consumer: r.try_get("consumer")?,
        consumer_node: r.try_get("consumer_node")?,
        application: serde_json::from_str(&application).map_err(|e| StoreError::Corrupt(format!("sharing request: {e}")))?,
        state: RequestState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("sharing request state {state}")))?,
        submitted_at: r.try_get("submitted_at")?,
        due_on: r.try_get("due_on")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
        reason: r.try_get("reason")?,
        grant_id: r.try_get("grant_id")?,
        overdue_at: r.try_get("overdue_at")?,
    })
}

impl crate::Tx {
    /// Keep a request that arrived in message `msg_id` (checked by the caller),
    /// due `due_on`, in the transaction that logs the message.
    pub async fn submit_sharing_request(
        &mut self,
        consumer: &str,
        consumer_node: &str,
        app: &Application,
        due_on: jiff::civil::Date,
        msg_id: &str,
        now: jiff::Timestamp,
    ) -> Result<String> {
        let id = new_id("sreq");
        let at = ts(now);
        crate::db::query(
            "INSERT INTO sharing_requests (id, resource_code, consumer, consumer_node, application, state, submitted_at, due_on, msg_id) \
             VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7, $8)",
        )
        .bind(&id)
        .bind(&app.resource)
        .bind(consumer)
        .bind(consumer_node)
        .bind(serde_json::to_string(app).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(&at)
        .bind(due_on.to_string())
        .bind(msg_id)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(&at, consumer, "sharing.request_submitted", "sharing_request", &id, serde_json::json!({
            "resource": app.resource, "fields": app.fields, "purposes": app.purposes, "due_on": due_on.to_string(), "consumer_node": consumer_node,
        })))
        .await?;
        Ok(id)
    }
}

impl Store {
    pub async fn sharing_request(&self, id: &str) -> Result<Option<SharingRequestRow>> {
        let r = crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM sharing_requests WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.read())
            .await?;
        r.as_ref().map(row).transpose()
    }

    /// Requests, undecided first (oldest due first), then the rest newest first; at most 500.
    pub async fn sharing_requests(&self) -> Result<Vec<SharingRequestRow>> {
        let rows = crate::db::query(crate::safe(format!(
            "SELECT {COLUMNS} FROM sharing_requests ORDER BY CASE WHEN state = 'submitted' THEN 0 ELSE 1 END, \
             CASE WHEN state = 'submitted' THEN due_on ELSE '' END, submitted_at DESC LIMIT 500"
        )))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(row).collect()
    }

    /// Decide a submitted request. An approval makes the grant (items never
    /// wider than asked, for the asked purposes and term) in the same
    /// transaction; both are audited.
    pub async fn decide_sharing_request(
        &self,
        id: &str,
        decision: &Decision,
        actor: &str,
        now: jiff::Timestamp,
    ) -> Result<std::result::Result<SharingRequestRow, SharingError>> {
        let Some(req) = self.sharing_request(id).await? else {
            return Ok(Err(SharingError::InvalidRequest(format!("no sharing request {id}"))));
        };
        let fields = match check_decision(req.state, &req.application.fields, decision) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let at = ts(now);
        let mut tx = self.begin().await?;
        let (state, reason, grant_id) = match decision {
            Decision::Reject { reason } => (RequestState::Rejected, Some(reason.trim().to_string()), None),
            Decision::Approve { row_scope, .. } => {
                let grant = Grant {
                    id: new_id("grant"),
                    resource: req.resource_code.clone(),
                    consumer: req.consumer.clone(),
                    fields,
                    purposes: req.application.purposes.clone(),
                    row_scope: row_scope.clone(),
                    valid_from: now,
                    valid_until: now + jiff::SignedDuration::from_hours(24 * req.application.days.clamp(1, 1095)),
                    revoked_at: None,
                };
                tx.insert_grant(&grant, actor, &format!("共享申请 {id}"), now).await?;
                (RequestState::Approved, None, Some(grant.id))
            }
        };
        // Only a request still submitted moves: two officers deciding at once cannot both win.
        let moved = crate::db::query(
            "UPDATE sharing_requests SET state = $1, decided_at = $2, decided_by = $3, reason = $4, grant_id = $5 \
             WHERE id = $6 AND state = 'submitted'",
        )
        .bind(state.code())
        .bind(&at)
        .bind(actor)
        .bind(&reason)
        .bind(&grant_id)
        .bind(id)
        .execute(&mut tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Err(SharingError::AlreadyDecided { state: "decided" }));
        }
        tx.append_audit(audit_rec(
            &at,
            actor,
            "sharing.request_decided",
            "sharing_request",
            id,
            serde_json::json!({
                "state": state.code(), "reason": reason, "grant": grant_id,
            }),
        ))
        .await?;
        tx.commit().await?;
        let decided = self.sharing_request(id).await?.ok_or_else(|| StoreError::NotFound(format!("sharing request {id}")))?;
        Ok(Ok(decided))
    }

    /// Flag, once each, requests still undecided after their due date: the
    /// audit event `sharing.request_overdue` is what supervision consumes.
    pub async fn flag_overdue_sharing_requests(&self, today: jiff::civil::Date, now: jiff::Timestamp) -> Result<u64> {
        let rows = crate::db::query(
            "SELECT id, resource_code, due_on FROM sharing_requests WHERE state = 'submitted' AND overdue_at IS NULL AND due_on < $1",
        )
        .bind(today.to_string())
        .fetch_all(self.read())
        .await?;
        let at = ts(now);
        let mut flagged = 0;
        for r in &rows {
            let id: String = r.try_get("id")?;
            let mut tx = self.begin().await?;
            let done = crate::db::query(
                "UPDATE sharing_requests SET overdue_at = $1 WHERE id = $2 AND overdue_at IS NULL AND state = 'submitted'",
            )
            .bind(&at)
            .bind(&id)
            .execute(&mut tx)
            .await?;
            if done.rows_affected() == 1 {
                let resource: String = r.try_get("resource_code")?;
                let due: String = r.try_get("due_on")?;
                tx.append_audit(audit_rec(
                    &at,
                    "system",
                    "sharing.request_overdue",
                    "sharing_request",
                    &id,
                    serde_json::json!({
                        "resource": resource, "due_on": due,
                    }),
                ))
                .await?;
                flagged += 1;
            }
            tx.commit().await?;
        }
        Ok(flagged)
    }
}
