//! The 一件事一次办 API: the bundles a node offers (public), and a bundle
//! application — one form, one material set, one hand-in — whose child cases
//! each department handles in parallel (并联审批) through the case API. The
//! window accepts the whole bundle at once. The applicant sees everything;
//! staff of a child's agency see the bundle's progress, not the other
//! departments' data.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_case::{Event, State as CaseState};
use yiwang_identity::{Principal, Role};
use yiwang_store::{BundleCase, BundlePlan, CaseRow, NewBundleCase};

use crate::AppState;
use crate::auth::Auth;
use crate::cases::{CASE_STAFF, CommitBody, MultipartBody, applicant_of, form_request, is_applicant, new_form, read_upload};
use crate::error::{ApiError, WebError, forbidden, json_body};

pub(crate) fn not_found() -> ApiError {
    ApiError::new(&WebError::NotFound("一件事申请".into()))
}

fn plan_view(plan: &BundlePlan) -> Value {
    let b = &plan.bundle;
    let items: Vec<Value> = plan
        .items
        .iter()
        .map(|i| {
            json!({
                "implementation_code": i.doc.implementation_code, "name": i.doc.name,
                "agency": { "uscc": i.doc.agency.uscc, "name": i.doc.agency.name },
                "lead": i.doc.implementation_code == b.lead_item,
                "promised_days": i.doc.promised_limit.amount, "legal_days": i.doc.legal_limit.amount,
            })
        })
        .collect();
    json!({
        "code": b.code, "name": b.name, "description": b.description, "division_code": b.division_code,
        "lead_item": b.lead_item, "promised_days": b.promised_days, "issue_together": b.issue_together, "items": items,
        "form": plan.form, "materials": plan.materials,
    })
}

/// `GET /api/v1/bundles`: the 一件事 this node offers, with their items.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for b in state.store().bundles().await? {
        // A bundle whose item is no longer published is not offered.
        if let Ok(plan) = state.store().bundle_plan(&b.code).await {
            out.push(plan_view(&plan));
        }
    }
    Ok(Json(json!({ "bundles": out })))
}

/// `GET /api/v1/bundles/{code}`: one 一件事: its items, one form and one material set.
pub async fn show(State(state): State<AppState>, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(plan_view(&state.store().bundle_plan(&code).await?)))
}

fn child_summary(c: &CaseRow) -> Value {
    json!({
        "case_no": c.case_no, "item_code": c.item_code, "item_version": c.item_version, "item_name": c.item_name, "agency_uscc": c.agency_uscc,
        "state": c.state.code(), "state_zh": c.state.name_zh(), "promised_due": c.promised_due, "updated_at": c.updated_at,
    })
}

/// The applicant's view: the one form and every child in full.
fn view(b: &BundleCase) -> Value {
    let children: Vec<Value> = b.children.iter().map(crate::cases::view).collect();
    json!({
        "bundle_no": b.bundle_no, "bundle_code": b.bundle_code, "bundle_version": b.bundle_version, "bundle_name": b.bundle_name,
        "state": b.state().code(), "state_zh": b.state().name_zh(), "form": b.form, "channel": b.channel,
        "created_at": b.created_at, "updated_at": b.updated_at, "completed_at": b.completed_at, "children": children,
    })
}

/// Staff of one child's agency: where the bundle stands, not the others' data.
fn staff_view(b: &BundleCase) -> Value {
    let children: Vec<Value> = b.children.iter().map(child_summary).collect();
    json!({
        "bundle_no": b.bundle_no, "bundle_code": b.bundle_code, "bundle_version": b.bundle_version, "bundle_name": b.bundle_name,
        "state": b.state().code(), "state_zh": b.state().name_zh(), "channel": b.channel,
        "created_at": b.created_at, "completed_at": b.completed_at, "children": children,
    })
}

pub(crate) fn is_bundle_applicant(p: &Principal, b: &BundleCase) -> bool {
    b.children.first().is_some_and(|c| is_applicant(p, c))
}

/// The bundle application if the caller may see it (else 404): its
/// applicant, or staff of one of its children's agencies.
/// The bundle application, or 404.
pub(crate) async fn bundle_or_404(state: &AppState, no: &str) -> Result<BundleCase, ApiError> {
    match state.store().bundle_case(no).await {
        Ok(b) => Ok(b),
        Err(yiwang_store::StoreError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

async fn visible_bundle(state: &AppState, p: &Principal, no: &str) -> Result<(BundleCase, bool), ApiError> {
    let b = bundle_or_404(state, no).await?;
    if is_bundle_applicant(p, &b) {
        return Ok((b, true));
    }
    if b.children.iter().any(|c| p.has_role_in(&c.agency_uscc, CASE_STAFF)) { Ok((b, false)) } else { Err(not_found()) }
}

async fn applicant_bundle(state: &AppState, p: &Principal, no: &str) -> Result<BundleCase, ApiError> {
    match visible_bundle(state, p, no).await? {
        (b, true) => Ok(b),
        _ => Err(forbidden("only the applicant may do this")),
    }
}

#[derive(Debug, Deserialize)]
pub struct ApplyBody {
    pub bundle_code: String,
    #[serde(default)]
    pub form: Value,
}

/// `POST /api/v1/bundle-cases`: apply for a 一件事 with one form: one draft
/// child case per item. 201 with the application and its 查询码 (shown once).
pub async fn apply(State(state): State<AppState>, auth: Auth, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let a: ApplyBody = form_request(&body)?;
    let new = NewBundleCase {
        bundle_code: a.bundle_code.trim().to_string(),
        applicant: applicant_of(p),
        account_id: p.account_id.clone(),
        form: new_form(a.form)?,
        hall_id: None,
        level: p.level,
        assured: p.assured,
    };
    let (b, query_code) = state.store().create_bundle_case(&new, jiff::Timestamp::now()).await?;
    let b = crate::shared_materials::bundle_fetched(&state, b, &p.account_id).await;
    Ok((StatusCode::CREATED, Json(json!({ "bundle": view(&b), "query_code": query_code }))).into_response())
}

/// `GET /api/v1/bundle-cases/{no}`.
pub async fn show_case(State(state): State<AppState>, auth: Auth, Path(no): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let (b, own) = visible_bundle(&state, p, &no).await?;
    Ok(Json(json!({ "bundle": if own { view(&b) } else { staff_view(&b) } })))
}

/// `GET /api/v1/me/bundle-cases`: the caller's (or their enterprise's) 一件事 applications.
pub async fn mine(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let a = applicant_of(p);
    let list = state.store().bundle_cases_of(&a.id_type, &a.id, crate::cases::opened_by(p), 50).await?;
    Ok(Json(json!({ "bundles": list.iter().map(staff_view).collect::<Vec<_>>() })))
}

#[derive(Debug, Deserialize)]
pub struct FormBody {
    #[serde(default)]
    pub form: Value,
}

/// `PUT /api/v1/bundle-cases/{no}/form`: save the one form; each child the
/// applicant may still edit takes its part.
pub async fn save_form(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let f: FormBody = form_request(&body)?;
    let form = new_form(f.form)?;
    let b = applicant_bundle(&state, p, &no).await?;
    let calendar = state.store().load_calendar().await?;
    let b = state.store().save_bundle_form(&b.bundle_no, &form, &p.account_id, jiff::Timestamp::now(), &calendar).await?;
    Ok(Json(json!({ "bundle": view(&b) })).into_response())
}

/// `POST /api/v1/bundle-cases/{no}/materials` (multipart `material`, `file`):
/// one upload for every item that asks for the material.
pub async fn upload(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, form: MultipartBody) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let b = applicant_bundle(&state, p, &no).await?;
    let u = read_upload(form).await?;
    let calendar = state.store().load_calendar().await?;
    let b = state.store().upload_bundle_material(&b.bundle_no, u.as_file(&state), &p.account_id, jiff::Timestamp::now(), &calendar).await?;
    Ok((StatusCode::CREATED, Json(json!({ "bundle": view(&b) }))).into_response())
}

/// `POST /api/v1/bundle-cases/{no}/commitments {material}`: 告知承诺 once,
/// for every item that allows it.
pub async fn commit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let c: CommitBody = json_body(&body)?;
    let b = applicant_bundle(&state, p, &no).await?;
    let calendar = state.store().load_calendar().await?;
    let b = state.store().sign_bundle_commitment(&b.bundle_no, c.material.trim(), &p.account_id, jiff::Timestamp::now(), &calendar).await?;
    Ok((StatusCode::CREATED, Json(json!({ "bundle": view(&b) }))).into_response())
}

/// `POST /api/v1/bundle-cases/{no}/submit`: hand in every child at once (or
/// the corrections of those with a notice).
pub async fn submit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let b = applicant_bundle(&state, p, &no).await?;
    let b = crate::shared_materials::bundle_fetched(&state, b, &p.account_id).await;
    let calendar = state.store().load_calendar().await?;
    let b = state.store().submit_bundle(&b.bundle_no, &p.account_id, jiff::Timestamp::now(), &calendar).await?;
    Ok(Json(json!({ "bundle": view(&b) })).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct AcceptBody {
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/bundle-cases/{no}/accept`: 一次受理 at the window: every child
/// waiting for acceptance is accepted in one transaction, each with its
/// item's limits (the bundle's combined promised limit where shorter). The
/// clerk must serve every such child's agency.
pub async fn accept(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let a: AcceptBody = match body.trim() {
        "" | "null" => AcceptBody::default(),
        text => json_body(text)?,
    };
    let b = accept_bundle(&state, p, &no, &a.reason).await?;
    Ok(Json(json!({ "bundle": staff_view(&b) })).into_response())
}

/// Accept every child of the bundle that waits for acceptance, in one
/// transaction (the API and the window console share it).
pub(crate) async fn accept_bundle(state: &AppState, p: &Principal, no: &str, reason: &str) -> Result<BundleCase, ApiError> {
    let (b, _) = visible_bundle(state, p, no).await?;
    let waiting: Vec<&CaseRow> = b
        .children
        .iter()
        .filter(|c| matches!(c.state, CaseState::Submitted | CaseState::PreReview | CaseState::CorrectionReceived))
        .collect();
    if waiting.is_empty() {
        return Err(yiwang_store::CaseStoreError::BundleState(no.to_string(), "nothing waits for acceptance").into());
    }
    let now = jiff::Timestamp::now();
    let mut events = Vec::with_capacity(waiting.len());
    for c in waiting {
        if !p.has_role_in(&c.agency_uscc, &[Role::WindowClerk]) {
            return Err(forbidden("your window does not serve every agency of this bundle"));
        }
        let (promised_days, legal_days, units) = crate::case_staff::acceptance_limits(state, c).await?;
        let event = Event::Accepted {
            promised_days,
            legal_days,
            pending: vec![],
            commitment_check_days: yiwang_case::DEFAULT_COMMITMENT_CHECK_DAYS,
            units,
        };
        events.push((c.case_no.clone(), yiwang_case::Envelope { at: now, actor: p.account_id.clone(), reason: reason.to_string(), event }));
    }
    let calendar = state.store().load_calendar().await?;
    Ok(state.store().record_bundle_events(&b.bundle_no, &events, &calendar).await?)
}
