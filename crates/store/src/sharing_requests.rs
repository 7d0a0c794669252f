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
    /// audit event `sharing.request_overdue`, and in the same transaction
    /// 电子监察's alert on the providing agency (`timeliness.sharing_request_overdue`,
    /// 黄牌, due from the start of the day after the due date).
    pub async fn flag_overdue_sharing_requests(&self, today: jiff::civil::Date, now: jiff::Timestamp) -> Result<u64> {
        let rows = crate::db::query(
            "SELECT r.id, r.resource_code, r.due_on, r.consumer, d.provider_uscc, d.name FROM sharing_requests r \
             JOIN data_resources d ON d.code = r.resource_code \
             WHERE r.state = 'submitted' AND r.overdue_at IS NULL AND r.due_on < $1",
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
                let provider: String = r.try_get("provider_uscc")?;
                let name: String = r.try_get("name")?;
                let consumer: String = r.try_get("consumer")?;
                let due_at = due
                    .parse::<jiff::civil::Date>()
                    .ok()
                    .and_then(|d| d.tomorrow().ok())
                    .and_then(yiwang_calendar::china_day_start)
                    .unwrap_or(now);
                let alert = yiwang_supervision::Alert {
                    rule: SHARING_OVERDUE_RULE.into(),
                    class: yiwang_supervision::Class::Timeliness,
                    level: yiwang_supervision::Level::Yellow,
                    case_no: id.clone(),
                    agency_uscc: provider,
                    at: due_at,
                    key: SHARING_OVERDUE_RULE.into(),
                    message_zh: format!("共享申请（{consumer} 申请“{name}”）超过答复期限 {due} 仍未决定"),
                };
                tx.insert_alerts("sharing_request", &[alert], 0, &at).await?;
                flagged += 1;
            }
            tx.commit().await?;
        }
        Ok(flagged)
    }
}

/// 电子监察's rule for a sharing request undecided past its due date.
pub const SHARING_OVERDUE_RULE: &str = "timeliness.sharing_request_overdue";

/// A request this node's agency sent to a provider, as the consumer keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharingApplicationRow {
    pub id: String,
    pub consumer: String,
    pub provider_node: String,
    pub provider_member: String,
    pub request_id: String,
    pub resource_code: String,
    pub application: Application,
    pub state: RequestState,
    pub due_on: String,
    pub reason: Option<String>,
    pub grant_id: Option<String>,
    pub applied_at: String,
    pub checked_at: String,
    pub applied_by: String,
}

/// What the provider said when a request was sent.
pub struct SentApplication<'a> {
    pub consumer: &'a str,
    pub provider_node: &'a str,
    pub provider_member: &'a str,
    pub request_id: &'a str,
    pub application: &'a Application,
    pub due_on: &'a str,
    pub applied_by: &'a str,
}

const APP_COLUMNS: &str = "id, consumer, provider_node, provider_member, request_id, resource_code, application, state, due_on, reason, \
                           grant_id, applied_at, checked_at, applied_by";

fn app_row(r: &crate::db::Row) -> Result<SharingApplicationRow> {
    let application: String = r.try_get("application")?;
    let state: String = r.try_get("state")?;
    Ok(SharingApplicationRow {
        id: r.try_get("id")?,
        consumer: r.try_get("consumer")?,
        provider_node: r.try_get("provider_node")?,
        provider_member: r.try_get("provider_member")?,
        request_id: r.try_get("request_id")?,
        resource_code: r.try_get("resource_code")?,
        application: serde_json::from_str(&application).map_err(|e| StoreError::Corrupt(format!("sharing application: {e}")))?,
        state: RequestState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("sharing application state {state}")))?,
        due_on: r.try_get("due_on")?,
        reason: r.try_get("reason")?,
        grant_id: r.try_get("grant_id")?,
        applied_at: r.try_get("applied_at")?,
        checked_at: r.try_get("checked_at")?,
        applied_by: r.try_get("applied_by")?,
    })
}

impl Store {
    /// Keep a request the provider acknowledged; audited.
    pub async fn record_sharing_application(&self, s: &SentApplication<'_>, now: jiff::Timestamp) -> Result<SharingApplicationRow> {
        let id = new_id("sapp");
        let at = ts(now);
        let mut tx = self.begin().await?;
        crate::db::query(
            "INSERT INTO sharing_applications (id, consumer, provider_node, provider_member, request_id, resource_code, application, state, \
             due_on, applied_at, checked_at, applied_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $9, $9, $10)",
        )
        .bind(&id)
        .bind(s.consumer)
        .bind(s.provider_node)
        .bind(s.provider_member)
        .bind(s.request_id)
        .bind(&s.application.resource)
        .bind(serde_json::to_string(s.application).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(s.due_on)
        .bind(&at)
        .bind(s.applied_by)
        .execute(&mut tx)
        .await?;
        tx.append_audit(audit_rec(
            &at,
            s.applied_by,
            "sharing.application_sent",
            "sharing_application",
            &id,
            serde_json::json!({
                "provider_node": s.provider_node, "request_id": s.request_id, "resource": s.application.resource,
            }),
        ))
        .await?;
        tx.commit().await?;
        self.sharing_application(&id).await?.ok_or_else(|| StoreError::NotFound(format!("sharing application {id}")))
    }

    pub async fn sharing_application(&self, id: &str) -> Result<Option<SharingApplicationRow>> {
        let r = crate::db::query(crate::safe(format!("SELECT {APP_COLUMNS} FROM sharing_applications WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.read())
            .await?;
        r.as_ref().map(app_row).transpose()
    }

    /// Every request this node sent, newest first; at most 500.
    pub async fn sharing_applications(&self) -> Result<Vec<SharingApplicationRow>> {
        let rows =
            crate::db::query(crate::safe(format!("SELECT {APP_COLUMNS} FROM sharing_applications ORDER BY applied_at DESC, id LIMIT 500")))
                .fetch_all(self.read())
                .await?;
        rows.iter().map(app_row).collect()
    }

    /// The grants this node's agencies hold on a resource (approved requests).
    pub async fn held_grants(&self, resource_code: &str) -> Result<Vec<SharingApplicationRow>> {
        let rows = crate::db::query(crate::safe(format!(
            "SELECT {APP_COLUMNS} FROM sharing_applications WHERE resource_code = $1 AND state = 'approved' ORDER BY applied_at DESC, id"
        )))
        .bind(resource_code)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(app_row).collect()
    }

    /// The grants this node's agencies hold that cover an information item,
    /// on any resource (for a 电子证照库, whose items are license types).
    pub async fn held_grants_covering(&self, item: &str) -> Result<Vec<SharingApplicationRow>> {
        let rows = crate::db::query(crate::safe(format!(
            "SELECT {APP_COLUMNS} FROM sharing_applications WHERE state = 'approved' ORDER BY applied_at DESC, id"
        )))
        .fetch_all(self.read())
        .await?;
        let mut held: Vec<SharingApplicationRow> = rows.iter().map(app_row).collect::<Result<_>>()?;
        held.retain(|a| a.application.fields.iter().any(|f| f == item));
        Ok(held)
    }

    /// Record where a request stands, as its provider said; a change is audited.
    pub async fn update_sharing_application(
        &self,
        id: &str,
        state: RequestState,
        reason: Option<&str>,
        grant_id: Option<&str>,
        now: jiff::Timestamp,
    ) -> Result<bool> {
        let at = ts(now);
        let mut tx = self.begin().await?;
        let changed = crate::db::query(
            "UPDATE sharing_applications SET state = $1, reason = $2, grant_id = $3, checked_at = $4 \
             WHERE id = $5 AND state = 'submitted' AND $1 <> 'submitted'",
        )
        .bind(state.code())
        .bind(reason)
        .bind(grant_id)
        .bind(&at)
        .bind(id)
        .execute(&mut tx)
        .await?
        .rows_affected()
            == 1;
        if changed {
            tx.append_audit(audit_rec(
                &at,
                "system",
                "sharing.application_decided",
                "sharing_application",
                id,
                serde_json::json!({
                    "state": state.code(), "reason": reason, "grant": grant_id,
                }),
            ))
            .await?;
        } else {
            crate::db::query("UPDATE sharing_applications SET checked_at = $1 WHERE id = $2").bind(&at).bind(id).execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
