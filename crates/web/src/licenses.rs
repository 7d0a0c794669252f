//! E-licenses for agencies and holders: an agency fetches a license for a
//! stated use (logged, 用证留痕); a holder lists their licenses and sees every
//! use of each. Verification and the seal keys are public (`api.rs`).

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_identity::Role;
use yiwang_store::StoredLicense;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, WebError};

/// The staff who may use licenses in handling cases.
pub const LICENSE_USERS: &[Role] = &[Role::WindowClerk, Role::Reviewer, Role::DataOfficer];

/// The holder code type of a person (GA/T 2000.156: 居民身份证).
const PERSON_ID_TYPE: &str = "111";

#[derive(Debug, Deserialize)]
pub struct UseQuery {
    pub reason: Option<String>,
    pub case_no: Option<String>,
}

fn summary(l: &StoredLicense) -> Value {
    json!({
        "id": l.id, "name": l.sealed.record["name"], "number": l.number, "version": l.version,
        "issuer": l.sealed.record["issuer"], "status": l.status, "valid_from": l.valid_from, "valid_until": l.valid_until,
    })
}

/// `GET /api/v1/licenses/{id}?reason=…&case_no=…`: an agency uses a license.
/// The use is recorded before the license is returned.
pub async fn use_license(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<UseQuery>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    // The route policy admits only LICENSE_USERS, so there is an agency.
    let agency = p
        .agencies_with(LICENSE_USERS)
        .first()
        .map(|a| a.to_string())
        .ok_or_else(|| ApiError::new(&yiwang_identity::IdentityError::Forbidden("license use".into())))?;
    let reason = q.reason.unwrap_or_default();
    let l = state.store().use_license(&id, &agency, &p.account_id, &reason, q.case_no.as_deref(), jiff::Timestamp::now()).await?;
    Ok(Json(json!({ "license": summary(&l), "status_reason": l.status_reason, "sealed": l.sealed })))
}

/// `GET /api/v1/me/licenses`: the caller's own licenses (as a person).
pub async fn my_licenses(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let list = state.store().licenses_of(PERSON_ID_TYPE, &p.citizen_id).await?;
    Ok(Json(json!({ "licenses": list.iter().map(summary).collect::<Vec<_>>() })))
}

/// `GET /api/v1/me/licenses/{id}/uses`: every agency use of one of the
/// caller's licenses. Someone else's license answers 404, as if absent.
pub async fn my_license_uses(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let not_found = || ApiError::new(&WebError::NotFound("电子证照".into()));
    let l = match state.store().license(&id).await {
        Ok(l) => l,
        Err(yiwang_store::StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if l.holder.id_type != PERSON_ID_TYPE || !yiwang_identity::ct_eq(l.holder.id.as_bytes(), p.citizen_id.as_bytes()) {
        return Err(not_found());
    }
    let uses = state.store().license_uses(&id).await?;
    Ok(Json(json!({ "license": summary(&l), "uses": uses })))
}
