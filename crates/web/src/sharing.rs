//! Data sharing's API (issue 21): a provider's grants on its resources
//! (`/api/v1/grants`) and a person's view of every access to their own data
//! (`/api/v1/me/data-accesses`, as 用证留痕 is for licenses).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_identity::{IdentityError, Principal, Role};
use yiwang_sharing::{Grant, RowScope};

use askama::Template;

use crate::auth::Auth;
use crate::pages::{Layout, render};
use crate::{ApiError, AppState, WebError};

/// Who manages grants on a resource: admins, and the providing agency's data officers.
fn may_grant(p: &Principal, provider_uscc: &str) -> bool {
    p.is_admin() || p.has_role_in(provider_uscc, &[Role::DataOfficer])
}

/// Whether the caller manages resources, by code: each resource's provider
/// read once per request, however many grants and requests name it.
struct Managed<'a> {
    p: &'a Principal,
    providers: std::collections::HashMap<String, String>,
}

impl<'a> Managed<'a> {
    fn new(p: &'a Principal) -> Self {
        Managed { p, providers: std::collections::HashMap::new() }
    }

    async fn manages(&mut self, state: &AppState, resource_code: &str) -> Result<bool, ApiError> {
        if !self.providers.contains_key(resource_code) {
            let provider = state.store().shared_resource(resource_code).await?.map(|r| r.provider_uscc).unwrap_or_default();
            self.providers.insert(resource_code.to_string(), provider);
        }
        Ok(self.providers.get(resource_code).is_some_and(|u| may_grant(self.p, u)))
    }
}

/// The SM3 of a data subject's identifier (citizen ID, USCC), as the access log keeps it.
pub(crate) fn subject_sm3(subject: &str) -> String {
    hex::encode(yiwang_crypto::sm3(subject.trim().to_uppercase().as_bytes()))
}

/// `GET /api/v1/grants`: the grants on resources the caller manages.
pub async fn list(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let mut managed = Managed::new(auth.require()?);
    let mut out = Vec::new();
    for g in state.store().grants().await? {
        if managed.manages(&state, &g.resource).await? {
            out.push(g);
        }
    }
    Ok(Json(json!({ "grants": out })))
}

/// A grant as the provider's officer makes it (after approving a request).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub resource: String,
    /// A member (`CN/GOV/{USCC}`) or one of its subsystems.
    pub consumer: String,
    pub fields: Vec<String>,
    #[serde(default)]
    pub purposes: Vec<String>,
    #[serde(default = "all_rows")]
    pub row_scope: RowScope,
    #[serde(default)]
    pub valid_from: Option<jiff::Timestamp>,
    pub valid_until: jiff::Timestamp,
    /// The approval this grant follows from (the 共享申请's number or document).
    pub approval_ref: String,
}

fn all_rows() -> RowScope {
    RowScope::All
}

/// `POST /api/v1/grants`: make a grant on a described resource of this node.
pub async fn create(State(state): State<AppState>, auth: Auth, Json(g): Json<GrantInput>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let resource = state.store().shared_resource(&g.resource).await?.ok_or_else(|| WebError::NotFound("共享数据资源".into()))?;
    if !may_grant(p, &resource.provider_uscc) {
        return Err(ApiError::new(&IdentityError::Forbidden("not a data officer of the providing agency".into())));
    }
    yiwang_exchange::ClientId::parse(g.consumer.trim())?;
    if g.approval_ref.trim().is_empty() || g.approval_ref.len() > 200 {
        return Err(
            WebError::BadParam { name: "approval_ref", detail: "1–200 characters: the approval this grant follows from".into() }.into()
        );
    }
    if g.fields.len() > 200 || g.purposes.len() > 200 {
        return Err(WebError::BadParam { name: "fields", detail: "at most 200 fields and 200 purposes".into() }.into());
    }
    let now = jiff::Timestamp::now();
    let grant = Grant {
        id: String::new(),
        resource: g.resource,
        consumer: g.consumer.trim().to_string(),
        fields: g.fields,
        purposes: g.purposes,
        row_scope: g.row_scope,
        valid_from: g.valid_from.unwrap_or(now),
        valid_until: g.valid_until,
        revoked_at: None,
    };
    match state.store().create_grant(grant, &p.account_id, g.approval_ref.trim(), now).await? {
        Ok(g) => Ok((StatusCode::CREATED, Json(json!({ "grant": g }))).into_response()),
        Err(e) => Err(e.into()),
    }
}

/// Revoke a grant on a resource the caller manages; anything else is 404, as if absent.
async fn revoke_managed(state: &AppState, p: &Principal, id: &str) -> Result<(), ApiError> {
    let not_found = || ApiError::new(&WebError::NotFound("共享授权".into()));
    let g = state.store().grant(id).await?.ok_or_else(not_found)?;
    if !Managed::new(p).manages(state, &g.resource).await? || !state.store().revoke_grant(id, &p.account_id, jiff::Timestamp::now()).await?
    {
        return Err(not_found());
    }
    Ok(())
}

/// A sharing request for a resource the caller manages; anything else is 404, as if absent.
async fn managed_request(state: &AppState, p: &Principal, id: &str) -> Result<(), ApiError> {
    let not_found = || ApiError::new(&WebError::NotFound("共享申请".into()));
    let req = state.store().sharing_request(id).await?.ok_or_else(not_found)?;
    if !Managed::new(p).manages(state, &req.resource_code).await? {
        return Err(not_found());
    }
    Ok(())
}

/// `DELETE /api/v1/grants/{id}`: revoke a grant from now on.
pub async fn revoke(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    revoke_managed(&state, auth.require()?, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/sharing-requests`: requests for resources the caller manages,
/// undecided first (soonest due first), each with whether it is overdue.
pub async fn requests(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let mut managed = Managed::new(auth.require()?);
    let today = yiwang_calendar::china_today(jiff::Timestamp::now()).to_string();
    let mut out = Vec::new();
    for r in state.store().sharing_requests().await? {
        if managed.manages(&state, &r.resource_code).await? {
            let overdue = r.state == yiwang_sharing::RequestState::Submitted && r.due_on < today;
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            v["overdue"] = json!(overdue);
            out.push(v);
        }
    }
    Ok(Json(json!({ "requests": out })))
}

/// `POST /api/v1/sharing-requests/{id}/decision`: approve (all or part of
/// the asked items, a row scope) or refuse with reasons; an approval makes the grant.
pub async fn decide(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(d): Json<yiwang_sharing::Decision>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    managed_request(&state, p, &id).await?;
    match state.store().decide_sharing_request(&id, &d, &p.account_id, jiff::Timestamp::now()).await? {
        Ok(r) => Ok(Json(json!({ "request": r }))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/resources`: the resource catalog as seen from this node: its
/// own described resources, and those nodes below registered with it (on the
/// national node, every province's), each with the node that hosts it.
pub async fn catalog(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let here = state.exchange().map(|rt| rt.node().to_string()).unwrap_or_default();
    let mut out: Vec<Value> = state
        .store()
        .described_resources()
        .await?
        .into_iter()
        .map(|r| json!({ "source_node": here, "code": r.code, "name": r.name, "provider_uscc": r.provider_uscc, "sharing": r.sharing }))
        .collect();
    for r in state.store().network_resources().await? {
        out.push(serde_json::to_value(&r).unwrap_or_default());
    }
    Ok(Json(json!({ "resources": out })))
}

/// `GET /api/v1/me/data-accesses`: every access to the caller's own data
/// (as a person, or the enterprise they act for) that this node provided or
/// asked for: when, by whom (the consumer's system and opaque operator id),
/// for what purpose and case, and the outcome. Needs the personal-data level.
pub async fn my_accesses(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let (_, accesses) = callers_accesses(&state, auth.require()?).await?;
    Ok(Json(json!({ "accesses": accesses })))
}

/// Whose data the caller holds (held_holder: the personal-data level applies)
/// and the latest 200 accesses to it.
async fn callers_accesses(state: &AppState, p: &Principal) -> Result<(String, Vec<yiwang_store::DataAccess>), ApiError> {
    let (_, holder_id, label) = crate::wallet::held_holder(state, p)?;
    Ok((label, state.store().data_accesses_of(&subject_sm3(&holder_id), 200).await?))
}

struct AccessRow {
    at: String,
    side: &'static str,
    resource: String,
    consumer: String,
    purpose: String,
    issue: String,
    outcome: &'static str,
    fields: String,
}

#[derive(Template)]
#[template(path = "data_accesses.html")]
struct AccessesPage {
    l: Layout,
    holder_label: String,
    rows: Vec<AccessRow>,
}

/// How a person reads an access's outcome.
fn outcome_zh(outcome: &str) -> &'static str {
    match outcome {
        "allowed" => "已提供",
        "not_found" | "out_of_scope" => "未查到",
        o if o.starts_with("denied") || o.starts_with("refused") => "已拒绝（无授权或超出授权）",
        _ => "未完成",
    }
}

/// `GET /me/data-accesses`: the page of `GET /api/v1/me/data-accesses`.
pub async fn my_accesses_page(State(state): State<AppState>, auth: Auth) -> Result<axum::response::Response, ApiError> {
    let p = auth.require()?;
    if !p.assured {
        return Ok(crate::wallet::level_page(&state, &auth, "数据调用记录", p).await);
    }
    let (label, accesses) = callers_accesses(&state, p).await?;
    let rows = accesses
        .into_iter()
        .map(|a| AccessRow {
            at: a.at.get(..19).unwrap_or(&a.at).replace('T', " "),
            side: if a.side == "provider" { "本节点提供" } else { "本节点调用" },
            resource: a.resource_code,
            consumer: a.consumer,
            purpose: a.purpose,
            issue: a.issue.unwrap_or_default(),
            outcome: outcome_zh(&a.outcome),
            fields: a.fields.join("、"),
        })
        .collect();
    Ok(render(StatusCode::OK, &AccessesPage { l: Layout::new(&state, &auth, "数据调用记录").await, holder_label: label, rows }))
}

struct RequestRow {
    id: String,
    consumer: String,
    consumer_node: String,
    resource: String,
    fields: String,
    purposes: String,
    scenario: String,
    due_on: String,
    overdue: bool,
    state: &'static str,
    open: bool,
    outcome: String,
}

struct GrantRow {
    id: String,
    resource: String,
    consumer: String,
    fields: String,
    purposes: String,
    valid_until: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "console_sharing.html")]
struct ConsolePage {
    l: Layout,
    notice: Option<&'static str>,
    error: Option<String>,
    requests: Vec<RequestRow>,
    grants: Vec<GrantRow>,
    network: Vec<yiwang_store::NetworkResource>,
}

#[derive(Debug, Deserialize)]
pub struct ConsoleQuery {
    #[serde(default)]
    pub done: Option<String>,
}

/// `GET /console/sharing`: the requests and grants on resources the caller
/// manages, and the catalog nodes below registered here.
pub async fn console(
    State(state): State<AppState>,
    auth: Auth,
    axum::extract::Query(q): axum::extract::Query<ConsoleQuery>,
) -> Result<Response, ApiError> {
    let notice = match q.done.as_deref() {
        Some("decided") => Some("共享申请已办理。"),
        Some("revoked") => Some("共享授权已撤销。"),
        _ => None,
    };
    console_with(&state, &auth, StatusCode::OK, notice, None).await
}

async fn console_with(
    state: &AppState,
    auth: &Auth,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let store = state.store();
    let today = yiwang_calendar::china_today(jiff::Timestamp::now()).to_string();
    let mut managed = Managed::new(p);
    let mut requests = Vec::new();
    for r in store.sharing_requests().await? {
        if !managed.manages(state, &r.resource_code).await? {
            continue;
        }
        let open = r.state == yiwang_sharing::RequestState::Submitted;
        requests.push(RequestRow {
            overdue: open && r.due_on < today,
            state: match r.state {
                yiwang_sharing::RequestState::Submitted => "待办理",
                yiwang_sharing::RequestState::Approved => "已同意",
                yiwang_sharing::RequestState::Rejected => "未同意",
            },
            open,
            outcome: r.reason.clone().or_else(|| r.grant_id.clone()).unwrap_or_default(),
            id: r.id,
            consumer: r.consumer,
            consumer_node: r.consumer_node,
            resource: r.resource_code,
            fields: r.application.fields.join("、"),
            purposes: r.application.purposes.join("、"),
            scenario: r.application.scenario,
            due_on: r.due_on,
        });
    }
    let mut grants = Vec::new();
    for g in store.grants().await? {
        if !managed.manages(state, &g.resource).await? {
            continue;
        }
        grants.push(GrantRow {
            revoked: g.revoked_at.is_some(),
            valid_until: yiwang_calendar::china_today(g.valid_until).to_string(),
            fields: g.fields.join("、"),
            purposes: if g.purposes.is_empty() { "（所述用途均可）".into() } else { g.purposes.join("、") },
            id: g.id,
            resource: g.resource,
            consumer: g.consumer,
        });
    }
    let network = store.network_resources().await?;
    let l = Layout::new(state, auth, "数据共享：共享申请与授权").await;
    Ok(render(status, &ConsolePage { l, notice, error, requests, grants, network }))
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    pub decision: String,
    #[serde(default)]
    pub reason: String,
}

/// `POST /console/sharing/requests/{id}/decision`: approve (every asked
/// item) or refuse with reasons.
pub async fn console_decide(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<DecisionForm>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    managed_request(&state, p, &id).await?;
    let decision = match f.decision.as_str() {
        "approve" => yiwang_sharing::Decision::Approve { fields: Vec::new(), row_scope: RowScope::All },
        "reject" => yiwang_sharing::Decision::Reject { reason: f.reason },
        _ => return Err(WebError::BadParam { name: "decision", detail: "approve or reject".into() }.into()),
    };
    match state.store().decide_sharing_request(&id, &decision, &p.account_id, jiff::Timestamp::now()).await? {
        Ok(_) => Ok(crate::auth::see_other("/console/sharing?done=decided")),
        Err(e) => console_with(&state, &auth, StatusCode::UNPROCESSABLE_ENTITY, None, Some(yiwang_errors::Coded::message_zh(&e))).await,
    }
}

/// `POST /console/sharing/grants/{id}/revoke`.
pub async fn console_revoke(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    revoke_managed(&state, auth.require()?, &id).await?;
    Ok(crate::auth::see_other("/console/sharing?done=revoked"))
}
