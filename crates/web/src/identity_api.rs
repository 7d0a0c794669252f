//! `/api/v1` identity endpoints: the caller's own account, enterprise agents,
//! agency staff, base-data lookups by staff (logged with a reason), in-person
//! real-name verification at a window, and admin-only calendar edits.
//!
//! Resource rule: a citizen asking for anything not theirs gets the same 404 as
//! for something that does not exist, so existence never leaks.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yiwang_codes::CitizenId;
use yiwang_identity::{IdentityError, RealNameLevel, Role, mask_name, may_act_for_enterprise};
use yiwang_store::{Agency, StaffMember};

use crate::auth::Auth;
use crate::{ApiError, AppState, WebError};

fn not_found(what: &str) -> ApiError {
    ApiError::new(&WebError::NotFound(what.to_string()))
}

pub async fn me(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let enterprises = state.store().enterprises_for(&p.account_id).await?;
    Ok(Json(json!({
        "account_id": p.account_id,
        "subject": p.subject,
        "name": p.name,
        "id_number_masked": yiwang_codes::mask_citizen_id(&p.citizen_id),
        "real_name_level": p.level,
        "acting": p.acting,
        "enterprises": enterprises,
        "staff": p.staff,
    })))
}

/// One account: its holder and administrators only.
pub async fn account(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    if p.account_id != id && !p.is_admin() {
        return Err(not_found("account"));
    }
    let acc = state.store().account(&id).await?.ok_or_else(|| not_found("account"))?;
    Ok(Json(json!({
        "account_id": acc.id,
        "name": acc.name,
        "id_number_masked": yiwang_codes::mask_citizen_id(&acc.citizen_id),
        "real_name_level": acc.level,
        "level_source": acc.level_source,
        "status": acc.status,
        "created_at": acc.created_at,
    })))
}

#[derive(Serialize)]
struct Person {
    account_id: String,
    name_masked: String,
    id_number_masked: String,
    legal_representative: bool,
}

/// The people who act for an enterprise: visible to them and to admins.
pub async fn enterprise(State(state): State<AppState>, auth: Auth, Path(uscc): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let Some((name, people)) = state.store().enterprise_people(&uscc).await? else { return Err(not_found("enterprise")) };
    if !p.is_admin() && !people.iter().any(|(a, _)| a.id == p.account_id) {
        return Err(not_found("enterprise"));
    }
    let people: Vec<Person> = people
        .into_iter()
        .map(|(a, rep)| Person {
            account_id: a.id,
            name_masked: mask_name(&a.name),
            id_number_masked: yiwang_codes::mask_citizen_id(&a.citizen_id),
            legal_representative: rep,
        })
        .collect();
    Ok(Json(json!({ "uscc": uscc, "name": name, "people": people })))
}

#[derive(Deserialize)]
pub struct AgentBody {
    citizen_id: String,
    name: String,
}

/// The legal representative, acting for the enterprise, authorises an agent (经办人).
/// The agent must already have an account whose name matches.
pub async fn add_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path(uscc): Path<String>,
    Json(b): Json<AgentBody>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    if !may_act_for_enterprise(p, &uscc, true) {
        return Err(IdentityError::Forbidden("only the legal representative, acting for the enterprise, may add agents".into()).into());
    }
    let today = yiwang_calendar::china_today(Timestamp::now());
    let id = CitizenId::parse(b.citizen_id.trim(), today)?;
    let agent =
        state.store().account_by_citizen_id(id.as_str()).await?.filter(|a| a.name == b.name.trim()).ok_or_else(|| not_found("实名用户"))?;
    let mut tx = state.store().begin().await?;
    tx.add_enterprise_agent(&uscc, &agent.id, &p.account_id, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(Json(json!({ "uscc": uscc, "agent_account_id": agent.id, "name_masked": mask_name(&agent.name) })))
}

pub async fn remove_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path((uscc, account_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    if !may_act_for_enterprise(p, &uscc, true) {
        return Err(IdentityError::Forbidden("only the legal representative may remove agents".into()).into());
    }
    let mut tx = state.store().begin().await?;
    let removed = tx.remove_enterprise_agent(&uscc, &account_id, &p.account_id, Timestamp::now()).await?;
    tx.commit().await?;
    if !removed {
        return Err(not_found("agent"));
    }
    Ok(Json(json!({ "removed": true })))
}

pub async fn agencies(State(state): State<AppState>) -> Result<Json<Vec<Agency>>, ApiError> {
    Ok(Json(state.store().agencies().await?))
}

/// An agency's staff: visible to that agency's department heads and to admins.
pub async fn agency_staff(State(state): State<AppState>, auth: Auth, Path(uscc): Path<String>) -> Result<Json<Vec<StaffMember>>, ApiError> {
    let p = auth.require()?;
    // Node administrators manage staff roles, so they read staff lists (not cases).
    if !p.has_role_in(&uscc, &[Role::DepartmentHead]) && !p.is_admin() {
        return Err(IdentityError::Forbidden("staff lists are visible to the agency's department heads".into()).into());
    }
    state.store().agency(&uscc).await?.ok_or_else(|| not_found("agency"))?;
    Ok(Json(state.store().agency_staff(&uscc).await?))
}

#[derive(Deserialize)]
pub struct ReasonQuery {
    reason: Option<String>,
    case_no: Option<String>,
}

/// Staff look up the population base data for a person in front of them. Every
/// read is written to the audit log with who, why (事由) and for which case.
pub async fn base_person(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<ReasonQuery>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let reason = q.reason.as_deref().map(str::trim).filter(|r| r.chars().count() >= 2).ok_or_else(|| WebError::BadParam {
        name: "reason",
        detail: "查询个人信息须填写事由 / a reason is required to read personal data".into(),
    })?;
    let now = Timestamp::now();
    let id = CitizenId::parse(id.trim(), yiwang_calendar::china_today(now))?;
    let mut tx = state.store().begin().await?;
    tx.append_audit(yiwang_audit::AuditRecord {
        at: crate::ts(now),
        actor: p.account_id.clone(),
        action: "personal_data.read".into(),
        object_type: "base_person".into(),
        object_id: id.masked(),
        reason: reason.to_string(),
        data: json!({ "case_no": q.case_no, "agencies": p.agencies_with(&[Role::WindowClerk, Role::Reviewer, Role::DataOfficer]) })
            .to_string(),
    })
    .await?;
    tx.commit().await?;
    let person = state.store().base_person(id.as_str()).await?.ok_or_else(|| not_found("人口库记录"))?;
    Ok(Json(json!({
        "id_number_masked": id.masked(),
        "name": person.name,
        "birth_date": person.birth_date,
        "address_division": person.address_division,
        "status": person.status,
    })))
}

#[derive(Deserialize)]
pub struct InPersonBody {
    citizen_id: String,
    name: String,
    /// What was checked, e.g. 核验居民身份证原件及人脸比对.
    evidence: String,
}

/// A window clerk verified the person face to face: the account becomes L3.
pub async fn verify_in_person(State(state): State<AppState>, auth: Auth, Json(b): Json<InPersonBody>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let now = Timestamp::now();
    let id = CitizenId::parse(b.citizen_id.trim(), yiwang_calendar::china_today(now))?;
    if b.evidence.trim().chars().count() < 2 {
        return Err(WebError::BadParam { name: "evidence", detail: "请说明核验方式 / describe how identity was checked".into() }.into());
    }
    let acc =
        state.store().account_by_citizen_id(id.as_str()).await?.filter(|a| a.name == b.name.trim()).ok_or_else(|| not_found("实名用户"))?;
    let mut tx = state.store().begin().await?;
    tx.set_account_level(&acc.id, RealNameLevel::L3, "in_person", &p.account_id, b.evidence.trim(), now).await?;
    tx.commit().await?;
    Ok(Json(json!({ "account_id": acc.id, "real_name_level": RealNameLevel::L3 })))
}

#[derive(Deserialize)]
pub struct CalendarDayBody {
    /// `holiday`, `makeup` or `normal` (back to an ordinary day).
    kind: String,
    #[serde(default)]
    name: String,
}

/// Administrators correct the working-day calendar (audited).
pub async fn set_calendar_day(
    State(state): State<AppState>,
    auth: Auth,
    Path(date): Path<String>,
    Json(b): Json<CalendarDayBody>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let day: jiff::civil::Date =
        date.parse().map_err(|_| WebError::BadParam { name: "date", detail: format!("{date:?} 不是有效日期 YYYY-MM-DD") })?;
    let kind = match b.kind.as_str() {
        "holiday" => Some(yiwang_calendar::SpecialDay::Holiday),
        "makeup" => Some(yiwang_calendar::SpecialDay::Makeup),
        "normal" => None,
        other => return Err(WebError::BadParam { name: "kind", detail: format!("{other:?}：应为 holiday、makeup 或 normal") }.into()),
    };
    let mut tx = state.store().begin().await?;
    tx.set_calendar_day(day, kind, b.name.trim(), &p.account_id, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(Json(json!({ "date": day, "kind": b.kind })))
}

pub async fn oidc_clients(State(state): State<AppState>) -> Result<Json<Vec<yiwang_store::OidcClient>>, ApiError> {
    Ok(Json(state.store().oidc_clients().await?))
}

#[derive(Deserialize)]
pub struct SupportBody {
    /// The administrator who gets the access (not the caller: another admin grants it).
    account_id: String,
    agency_uscc: String,
    hours: i64,
    reason: String,
}

/// `POST /api/v1/support-grants`: let another administrator read one agency's
/// cases for a while (support access). Never one's own grant (four eyes); at
/// most `[security] support_access_max_hours`; audited.
pub async fn grant_support(State(state): State<AppState>, auth: Auth, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let b: SupportBody = crate::error::json_body(&body)?;
    if b.account_id == p.account_id {
        return Err(IdentityError::Forbidden("support access is granted by another administrator".into()).into());
    }
    let max = state.security().support_access_max.as_hours();
    let hours = crate::bounds::count("hours", b.hours, max)?;
    state.store().agency(&b.agency_uscc).await?.ok_or_else(|| not_found("agency"))?;
    state.store().account(&b.account_id).await?.ok_or_else(|| not_found("account"))?;
    let now = Timestamp::now();
    let mut tx = state.store().begin().await?;
    let g = tx
        .grant_support(&b.account_id, &b.agency_uscc, &b.reason, &p.account_id, now + jiff::SignedDuration::from_hours(hours), now)
        .await?;
    tx.commit().await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!({ "grant": g }))).into_response())
}

/// `GET /api/v1/support-grants`: every grant, newest first.
pub async fn support_grants(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "grants": state.store().support_grants(500).await? })))
}

/// `DELETE /api/v1/support-grants/{id}`: end a grant now.
pub async fn revoke_support(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let mut tx = state.store().begin().await?;
    let ended = tx.revoke_support(&id, &p.account_id, Timestamp::now()).await?;
    tx.commit().await?;
    if !ended {
        return Err(not_found("support grant"));
    }
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}
