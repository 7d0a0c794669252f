//! The integration API for external department systems (issue 6, item 9).
//!
//! Incoming: a department's own system reports what happened on one of its
//! agency's cases as GB/T 39046 records (受理, 办理, 特别程序, 办结) at
//! `POST /api/v1/integration/cases/{no}/records`, with an `Idempotency-Key`:
//! the record becomes our typed events, checked by the case state machine and
//! by the calling account's roles like any staff event, and a retry with the
//! same key and body gets the same answer without recording twice.
//!
//! Outgoing: a department head subscribes a URL to the agency's case records
//! (`/api/v1/integration/webhooks`). Each exchanged event is queued in its own
//! transaction (the webhook outbox) and delivered by `run_dispatcher`, signed
//! the Standard Webhooks way: `webhook-id` (stable per event and subscription,
//! for the receiver's deduplication), `webhook-timestamp`, and
//! `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use yiwang_case::gbt39046::Record;
use yiwang_identity::Role;
use yiwang_store::{IdempotencyKey, Recorded, Store};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, WebError, forbidden, json_body};

/// Who manages an agency's webhooks.
pub const WEBHOOK_ADMINS: &[Role] = &[Role::DepartmentHead];
/// Who may send records (each event is then checked against its own role).
pub const RECORD_SENDERS: &[Role] = &[Role::WindowClerk, Role::Reviewer, Role::DepartmentHead];

/// The record types a subscription may ask for.
pub const RECORD_TYPES: &[&str] = &[
    "case.submitted",
    "case.correction_notified",
    "case.correction_submitted",
    "case.accepted",
    "case.not_accepted",
    "case.step",
    "case.special_started",
    "case.special_ended",
    "case.decided",
    "case.concluded",
    "case.delivered",
    "case.withdrawn",
    "case.voided",
];

fn bad(name: &'static str, detail: impl Into<String>) -> ApiError {
    WebError::BadParam { name, detail: detail.into() }.into()
}

#[derive(Debug, Deserialize)]
pub struct NewWebhook {
    /// The agency whose cases are sent; optional when the caller heads one.
    pub agency_uscc: Option<String>,
    pub url: String,
    /// Record types, or `["*"]` (the default).
    #[serde(default)]
    pub events: Vec<String>,
}

/// `POST /api/v1/integration/webhooks`: subscribe a URL to the agency's case
/// records. 201 with the signing secret, shown this once.
pub async fn create_webhook(State(state): State<AppState>, auth: Auth, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let w: NewWebhook = json_body(&body)?;
    let heads = p.agencies_with(WEBHOOK_ADMINS);
    let agency = match w.agency_uscc.as_deref() {
        Some(a) if heads.contains(&a) => a.to_string(),
        Some(_) => return Err(forbidden("only a head of the agency subscribes to its cases")),
        None => match heads.as_slice() {
            [one] => one.to_string(),
            _ => return Err(bad("agency_uscc", "请指明部门 / name the agency")),
        },
    };
    if w.url.len() > 2000 {
        return Err(bad("url", "地址过长 / the URL is too long"));
    }
    let url = url::Url::parse(w.url.trim()).map_err(|_| bad("url", "地址无效 / not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("url", "须为 http 或 https 地址 / an http(s) URL is required"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("url", "地址不得包含用户名或密码 / no credentials in the URL"));
    }
    // Resolved now and again at every delivery (the name may change).
    state.security().outbound.check_resolved(&url).await?;
    let events = if w.events.is_empty() { vec!["*".to_string()] } else { w.events };
    if let Some(unknown) = events.iter().find(|e| e.as_str() != "*" && !RECORD_TYPES.contains(&e.as_str())) {
        return Err(bad("events", format!("未知的记录类型 / unknown record type {unknown}")));
    }
    let (hook, secret) = state
        .store()
        .create_webhook(&agency, url.as_str(), &events, &p.account_id, jiff::Timestamp::now(), state.master_key().ok())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "webhook": hook, "secret": secret }))).into_response())
}

/// `GET /api/v1/integration/webhooks`: the subscriptions of the agencies the caller heads.
pub async fn list_webhooks(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let hooks = state.store().webhooks_of(&p.agencies_with(WEBHOOK_ADMINS)).await?;
    Ok(Json(json!({ "webhooks": hooks, "record_types": RECORD_TYPES })))
}

async fn own_webhook(state: &AppState, auth: &Auth, id: &str) -> Result<(yiwang_store::Webhook, String), ApiError> {
    let p = auth.require()?;
    match state.store().webhook(id).await? {
        Some(h) if p.has_role_in(&h.agency_uscc, WEBHOOK_ADMINS) => Ok((h, p.account_id.clone())),
        _ => Err(WebError::NotFound("webhook".into()).into()),
    }
}

/// `GET /api/v1/integration/webhooks/{id}/deliveries`: the recent deliveries and their outcome.
pub async fn deliveries(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let (hook, _) = own_webhook(&state, &auth, &id).await?;
    let list = state.store().webhook_deliveries(&hook.id, 100).await?;
    Ok(Json(json!({ "webhook": hook, "deliveries": list })))
}

/// `DELETE /api/v1/integration/webhooks/{id}`: stop the subscription.
pub async fn delete_webhook(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (hook, actor) = own_webhook(&state, &auth, &id).await?;
    state.store().deactivate_webhook(&hook.id, &actor, jiff::Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/integration/cases/{no}/records` (header `Idempotency-Key`):
/// a GB/T 39046 record from the agency's own system. 201 with what was
/// recorded; a retry with the same key and body: 200 and `Idempotent-Replayed: true`.
pub async fn record(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(no): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| bad("Idempotency-Key", "须提供 1–128 字符的幂等键 / an Idempotency-Key header of 1–128 characters is required"))?
        .to_string();
    let record: Record = json_body(&body)?;
    let c = crate::cases::visible_case(&state, p, &no).await?;
    if !p.has_role_in(&c.agency_uscc, RECORD_SENDERS) {
        return Err(forbidden("records are sent by the case's agency"));
    }
    let now = jiff::Timestamp::now();
    let events = record.events(&c.case, now).map_err(|e| ApiError::new(&e))?;
    let mut envelopes = Vec::with_capacity(events.len());
    for (at, handler, opinion, event) in events {
        let mut staff = crate::case_staff::StaffEvent { event, reason: String::new(), expected_version: None };
        crate::case_staff::check_staff_event(&state, p, &c, &mut staff).await?;
        let reason = match (opinion.trim(), handler.trim()) {
            (o, "") => o.to_string(),
            ("", h) => format!("（外部系统办理人：{h}）"),
            (o, h) => format!("{o}（外部系统办理人：{h}）"),
        };
        envelopes.push(yiwang_case::Envelope { at, actor: p.account_id.clone(), reason, event: staff.event });
    }
    // In order, and none before what the case already holds (records carry whole seconds).
    let mut last =
        c.updated_at.parse::<jiff::Timestamp>().map_err(|_| ApiError::new(&yiwang_store::StoreError::Corrupt("case time".into())))?;
    last = jiff::Timestamp::from_second(last.as_second()).unwrap_or(last);
    for e in &envelopes {
        if e.at < last {
            return Err(ApiError::new(&yiwang_case::gbt39046::RecordError::Order));
        }
        last = e.at;
    }
    let hash = yiwang_identity::token_hash(&body);
    let calendar = state.store().load_calendar().await?;
    let master = state.master_key().ok();
    match state
        .store()
        .record_integration(
            IdempotencyKey { caller: &p.account_id, key: &key, request_hash: &hash },
            &c.case_no,
            &envelopes,
            &calendar,
            master,
        )
        .await?
    {
        Recorded::New(v) => Ok((StatusCode::CREATED, Json(v)).into_response()),
        Recorded::Replayed(v) => {
            let mut resp = Json(v).into_response();
            resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(resp)
        }
    }
}

/// The Standard Webhooks signature of a delivery: the key is the secret's
/// base64 part (after `whsec_`), decoded.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap_or_default();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else { return String::new() };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// Deliver what is due at `due_by` once, a batch's requests side by side;
/// returns how many were delivered. `client` must come from
/// [`crate::outbound::OutboundPolicy::client`] (its resolver refuses internal
/// names at every connection); address literals are checked here against
/// `outbound`, since they never reach a resolver. A failure is recorded as a
/// class (`timeout`, `refused`, `tls`, `dns`, `blocked`, `network`, `HTTP 503`),
/// never as the raw error text.
pub async fn dispatch_once(
    store: &Store,
    client: &reqwest::Client,
    outbound: &crate::outbound::OutboundPolicy,
    master: Option<&yiwang_crypto::seal::MasterKey>,
    due_by: jiff::Timestamp,
) -> yiwang_store::Result<usize> {
    let batch = store.claim_webhook_deliveries(50, due_by, master).await?;
    let mut sending = tokio::task::JoinSet::new();
    for d in batch {
        let client = client.clone();
        let target = outbound.preflight(&d.url);
        sending.spawn(async move {
            let url = match target {
                Ok(u) => u,
                Err(_) => return (d, Err("blocked")),
            };
            let stamp = jiff::Timestamp::now().as_second();
            let outcome = client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &d.id)
                .header("webhook-timestamp", stamp.to_string())
                .header("webhook-signature", signature(&d.secret, &d.id, stamp, &d.payload))
                .body(d.payload.clone())
                .send()
                .await
                .map_err(|e| crate::outbound::failure_class(&e));
            (d, outcome)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = sending.join_next().await {
        let Ok((d, outcome)) = joined else { continue };
        match outcome {
            Ok(r) if r.status().is_success() => done.push((d.id, r.status().as_u16())),
            Ok(r) => {
                let status = r.status().as_u16();
                tracing::warn!(delivery = %d.id, status, "webhook refused; will retry");
                store.webhook_failed(&d.id, d.attempts, Some(status), &format!("HTTP {status}"), jiff::Timestamp::now()).await?;
            }
            Err(class) => {
                tracing::warn!(delivery = %d.id, class, "webhook delivery failed; will retry");
                store.webhook_failed(&d.id, d.attempts, None, class, jiff::Timestamp::now()).await?;
            }
        }
    }
    store.webhooks_delivered(&done, jiff::Timestamp::now()).await?;
    Ok(done.len())
}

/// Run the webhook dispatcher until the task is dropped. Deliveries go only
/// where `outbound` allows (never to internal addresses unless the operator
/// named them), without redirects.
pub async fn run_dispatcher(
    store: Store,
    outbound: crate::outbound::OutboundPolicy,
    master: Option<yiwang_crypto::seal::MasterKey>,
    every: Duration,
) {
    let client = match outbound.client(Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook dispatcher cannot start");
            return;
        }
    };
    loop {
        match dispatch_once(&store, &client, &outbound, master.as_ref(), jiff::Timestamp::now()).await {
            Ok(n) if n > 0 => tracing::debug!(sent = n, "webhooks delivered"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook dispatch failed"),
        }
        tokio::time::sleep(every).await;
    }
}
