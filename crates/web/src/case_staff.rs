//! The case API, staff's part: 一窗受理 at a hall's window, and the typed
//! handling events (受理 … 办结), each checked by the case state machine, the
//! case's process and the caller's role in the agency.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_case::Event;
use yiwang_identity::{Principal, Role};
use yiwang_store::{Applicant, CaseRow, NewCase};

use crate::AppState;
use crate::auth::Auth;
use crate::cases::{form_request, issued, new_form, not_found, record, view, visible_case};
use crate::error::{ApiError, WebError, forbidden, json_body};

#[derive(Debug, Deserialize)]
pub struct WindowApply {
    pub item_code: String,
    /// 公民身份号码 or 统一社会信用代码 of the applicant.
    pub applicant_id: String,
    /// Needed only when the base data does not hold the applicant.
    #[serde(default)]
    pub applicant_name: String,
    /// 事由: reading the applicant's base data is logged with it.
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub form: Value,
    /// Which of the clerk's halls, when they serve several.
    pub hall_id: Option<String>,
}

/// `POST /api/v1/window/cases`: 一窗受理. A window clerk opens an application
/// for the person or enterprise at the counter, identified by ID number, for
/// any item of an agency their hall serves. The base-data read is audited
/// with the reason. 201 with the case, the 查询码 and the receipt URL.
pub async fn window_apply(State(state): State<AppState>, auth: Auth, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let w: WindowApply = form_request(&body)?;
    let (c, query_code) = open_window_case(&state, p, w).await?;
    let receipt_url = format!("/cases/{}/receipt.pdf?code={query_code}", c.case_no);
    Ok((StatusCode::CREATED, Json(json!({ "case": view(&c), "query_code": query_code, "receipt_url": receipt_url }))).into_response())
}

/// Open a window application (the API and the console share it).
pub(crate) async fn open_window_case(state: &AppState, p: &Principal, w: WindowApply) -> Result<(CaseRow, String), ApiError> {
    let now = jiff::Timestamp::now();
    let reason = w.reason.trim();
    if reason.chars().count() < 2 {
        return Err(WebError::BadParam { name: "reason", detail: "查询申请人信息须填写事由 / a reason is required".into() }.into());
    }
    let form = new_form(w.form)?;
    let item = state.store().published_item(w.item_code.trim()).await?.ok_or_else(|| ApiError::new(&WebError::NotFound("事项".into())))?;
    let agency = item.doc.agency.uscc.as_str();
    let clerk_of = p.agencies_with(&[Role::WindowClerk]);
    let halls = state.store().halls_run_by(&clerk_of).await?;
    let hall = halls
        .iter()
        .filter(|h| h.agencies.iter().any(|a| a == agency))
        .find(|h| w.hall_id.as_deref().is_none_or(|id| id == h.id))
        .ok_or_else(|| forbidden("the item's agency is not served by your hall's windows"))?;
    // Who is at the counter: a person by 公民身份号码, an enterprise by USCC.
    let id = w.applicant_id.trim().to_uppercase();
    let today = yiwang_calendar::china_today(now);
    let (applicant, account_id, masked) = if let Ok(cid) = yiwang_codes::CitizenId::parse(&id, today) {
        let held = state.store().base_person(cid.as_str()).await?.map(|b| b.name);
        // Filed under the person's account only when that account reaches held
        // data: an account below the level may carry a typed, unproven ID, and
        // the case (and its notices) must not reach a stranger.
        let required = state.security().personal_data_level;
        let account = state.store().account_by_citizen_id(cid.as_str()).await?.filter(|a| a.level >= required).map(|a| a.id);
        let name = held.unwrap_or_else(|| w.applicant_name.trim().to_string());
        (Applicant { id_type: "111".into(), id: cid.as_str().into(), name }, account, cid.masked())
    } else {
        let uscc = yiwang_codes::Uscc::parse(&id)?;
        let held = state.store().base_enterprise(uscc.as_str()).await?.map(|b| b.name);
        let name = held.unwrap_or_else(|| w.applicant_name.trim().to_string());
        (Applicant { id_type: "049".into(), id: uscc.as_str().into(), name }, None, uscc.as_str().to_string())
    };
    if applicant.name.is_empty() {
        return Err(WebError::BadParam {
            name: "applicant_name",
            detail: "基础信息库中没有该申请人，请填写申请人名称 / not in the base data: give the applicant's name".into(),
        }
        .into());
    }
    let mut tx = state.store().begin().await?;
    tx.append_audit(yiwang_audit::AuditRecord {
        at: crate::ts(now),
        actor: p.account_id.clone(),
        action: "personal_data.read".into(),
        object_type: if applicant.id_type == "111" { "base_person" } else { "base_enterprise" }.into(),
        object_id: masked,
        reason: reason.to_string(),
        data: json!({ "hall": hall.id, "item_code": item.doc.implementation_code }).to_string(),
    })
    .await?;
    tx.commit().await?;
    let new = NewCase {
        item_code: item.doc.implementation_code.clone(),
        applicant,
        // The person's own account when they have one, so the case is theirs online too.
        account_id: account_id.unwrap_or_else(|| format!("window:{}", p.account_id)),
        form,
        hall_id: Some(hall.id.clone()),
        // The clerk sees the person and their ID card: in person, as L3.
        level: yiwang_identity::RealNameLevel::L3,
        assured: true,
    };
    let (c, code) = state.store().create_case(&new, now).await?;
    Ok((crate::shared_materials::opened(state, c, &p.account_id).await, code))
}

#[derive(Debug, Deserialize)]
pub struct StaffEvent {
    pub event: Event,
    #[serde(default)]
    pub reason: String,
    pub expected_version: Option<i64>,
}

/// `POST /api/v1/cases/{no}/events`: staff of the case's agency record an
/// event their role allows. For acceptance the time limits come from the
/// published item, not from the request.
pub async fn staff_event(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let e: StaffEvent = json_body(&body)?;
    let c = record_staff_event(&state, p, &no, e).await?;
    let mut v = view(&c);
    v["process"] = json!(state.store().case_process(&c).await?);
    v["licenses"] = issued(&state, &c).await?;
    Ok(Json(json!({ "case": v })).into_response())
}

/// A staff event, checked for the caller's role in the case's agency; for
/// acceptance the time limits come from the published item.
pub(crate) async fn record_staff_event(state: &AppState, p: &Principal, no: &str, mut e: StaffEvent) -> Result<CaseRow, ApiError> {
    let c = visible_case(state, p, no).await?;
    check_staff_event(state, p, &c, &mut e).await?;
    let envelope = yiwang_case::Envelope { at: jiff::Timestamp::now(), actor: p.account_id.clone(), reason: e.reason, event: e.event };
    record(state, no, envelope, e.expected_version).await
}

/// May the caller record this event on the case (its role in the agency, a
/// claim's release)? For acceptance, the limits are filled in from the item.
pub(crate) async fn check_staff_event(state: &AppState, p: &Principal, c: &CaseRow, e: &mut StaffEvent) -> Result<(), ApiError> {
    let acting_agency = match &e.event {
        Event::Countersigned { agency, .. } => agency.clone(),
        _ => c.agency_uscc.clone(),
    };
    // Who may record it is the case crate's rule: the event's usual roles, or
    // the open task's candidate groups. The store checks in the event's
    // transaction that the task is open.
    let open = match yiwang_case::process::governs(&e.event) {
        true => state.store().case_process(c).await?.map(|p| p.open.into_iter().map(|s| s.step).collect::<Vec<_>>()),
        false => None,
    };
    let open = open.unwrap_or_default();
    let is_role = |g: &str| g.parse::<Role>().is_ok();
    let codes = yiwang_case::recorders::recorders(&e.event, &open, is_role).ok_or_else(|| forbidden("this event is the applicant's"))?;
    let roles: Vec<Role> = codes.iter().filter_map(|g| g.parse().ok()).collect();
    // A request naming no agency asks those the process names for the step.
    if let Event::CountersignRequested { step, agencies } = &mut e.event
        && agencies.is_empty()
    {
        *agencies = yiwang_case::process::countersign_request(&open, step);
    }
    if !p.has_role_in(&acting_agency, &roles) {
        return Err(forbidden("this event needs another role in the agency"));
    }
    // Only its holder, or a department head taking the case back, releases a claim.
    if matches!(e.event, Event::Released)
        && !yiwang_case::recorders::may_release(&c.case, &p.account_id, p.has_role_in(&c.agency_uscc, &[Role::DepartmentHead]))
    {
        return Err(forbidden("only the holder or a department head releases a claim"));
    }
    if let Event::Accepted { promised_days, legal_days, commitment_check_days, units, .. } = &mut e.event {
        *commitment_check_days = yiwang_case::DEFAULT_COMMITMENT_CHECK_DAYS;
        (*promised_days, *legal_days, *units) = acceptance_limits(state, c).await?;
    }
    Ok(())
}

/// The limits a case is accepted with (`yiwang_case::acceptance_limits`), from
/// the item version it was filed under and its bundle's combined limit.
pub(crate) async fn acceptance_limits(state: &AppState, c: &CaseRow) -> Result<(u32, u32, yiwang_case::LimitUnits), ApiError> {
    let item = state.store().case_item(c).await?.ok_or_else(not_found)?;
    let combined = match &c.bundle_no {
        Some(bundle_no) => state.store().bundle_promised_days(bundle_no).await?,
        None => None,
    };
    Ok(yiwang_case::acceptance_limits(&item, combined))
}
