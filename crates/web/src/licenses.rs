//! E-licenses for agencies and holders: an agency fetches a license for a
//! stated use (logged, 用证留痕); a holder lists their licenses and sees every
//! use of each. Verification and the seal keys are public (`api.rs`).

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_identity::Role;
use yiwang_store::StoredLicense;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, forbidden, json_body};

/// The staff who may use licenses in handling cases.
pub const LICENSE_USERS: &[Role] = &[Role::WindowClerk, Role::Reviewer, Role::DataOfficer];

/// The staff who may issue licenses for their agency and change their status:
/// department heads (the decision) and data officers (imports from an
/// agency's own system).
pub const LICENSE_ISSUERS: &[Role] = &[Role::DepartmentHead, Role::DataOfficer];

#[derive(Debug, Deserialize)]
pub struct UseQuery {
    pub reason: Option<String>,
    pub case_no: Option<String>,
}

fn summary(l: &StoredLicense) -> Value {
    json!({
        "id": l.id, "ref": l.public_ref, "name": l.sealed.record["name"], "number": l.number, "version": l.version,
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
    let agency = p.agencies_with(LICENSE_USERS).first().map(|a| a.to_string()).ok_or_else(|| forbidden("license use"))?;
    let reason = q.reason.unwrap_or_default();
    let l = state.store().use_license(&id, &agency, &p.account_id, &reason, q.case_no.as_deref(), jiff::Timestamp::now()).await?;
    Ok(Json(json!({ "license": summary(&l), "status_reason": l.status_reason, "sealed": l.sealed })))
}

/// `GET /api/v1/me/licenses`: the caller's licenses: their own as a person,
/// or the enterprise's they act for.
pub async fn my_licenses(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let (id_type, holder_id, _) = crate::wallet::held_holder(&state, p)?;
    let list = state.store().licenses_of(id_type, &holder_id).await?;
    Ok(Json(json!({ "licenses": list.iter().map(summary).collect::<Vec<_>>() })))
}

/// A license error at the edge; field problems are listed in `detail.problems`.
fn license_err(e: yiwang_store::LicenseStoreError) -> ApiError {
    let problems = match &e {
        yiwang_store::LicenseStoreError::Fields(p) => Some(json!({ "problems": p })),
        _ => None,
    };
    let api = ApiError::new(&e);
    match problems {
        Some(p) => api.with_detail(p),
        None => api,
    }
}

/// The staff who define their agency's license types.
pub const LICENSE_TYPE_EDITORS: &[Role] = &[Role::CatalogEditor];

#[derive(Debug, Deserialize)]
pub struct TypeBody {
    pub name: String,
    #[serde(default)]
    pub data_schema: Value,
    #[serde(default)]
    pub template: Value,
    /// Other names materials are matched by (三个凡是); absent: unchanged.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
}

/// `PUT /api/v1/license-types/{code}`: define or redefine a license type of
/// the caller's agency (the code starts with its USCC): name, data schema,
/// print template. 422 lists every problem.
pub async fn define_type(State(state): State<AppState>, auth: Auth, Path(code): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let def: TypeBody = json_body(&body)?;
    let agency = code.get(..18).unwrap_or_default();
    if !p.agencies_with(LICENSE_TYPE_EDITORS).contains(&agency) {
        return Err(forbidden("defining another agency's license types"));
    }
    let schema = if def.data_schema.is_null() { json!({}) } else { def.data_schema };
    // Checked before anything is written: a bad alias changes nothing.
    let aliases = def.aliases.as_deref().map(yiwang_store::license_type_aliases).transpose().map_err(license_err)?;
    let now = jiff::Timestamp::now();
    state.store().define_license_type(&code, &def.name, &schema, &def.template, &p.account_id, now).await.map_err(license_err)?;
    if let Some(aliases) = &aliases {
        state.store().set_license_type_aliases(&code, aliases, &p.account_id, now).await.map_err(license_err)?;
    }
    let t = state.store().license_type(&code).await?;
    Ok(Json(json!({ "license_type": t })).into_response())
}

/// `GET /api/v1/license-types/{code}`: a license type's schema and template (public).
pub async fn license_type(State(state): State<AppState>, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "license_type": state.store().license_type(&code).await? })))
}

/// `POST /api/v1/licenses`: issue a license (or the next version of one) for
/// an agency where the caller is an issuer. The body is a `NewLicense`.
pub async fn issue_license(State(state): State<AppState>, auth: Auth, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let new: yiwang_store::NewLicense = json_body(&body)?;
    if !p.agencies_with(LICENSE_ISSUERS).contains(&new.issuer_uscc.as_str()) {
        return Err(forbidden("issuing licenses for this agency"));
    }
    let master = state.master_key()?;
    let l = state.store().issue_license(&new, master, &p.account_id, jiff::Timestamp::now()).await.map_err(license_err)?;
    let token = state.store().license_token(&l.id, master).await?;
    let verify_url = format!("{}/licenses/verify?token={token}", state.identity().issuer);
    Ok((StatusCode::CREATED, Json(json!({ "license": summary(&l), "token": token, "verify_url": verify_url }))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct StatusBody {
    /// `suspended`, `valid` (resume) or `revoked`.
    pub status: yiwang_store::LicenseStatus,
    pub reason: String,
}

/// `POST /api/v1/licenses/{id}/status`: suspend, resume or revoke, with a
/// reason, by an issuer of the license's agency.
pub async fn set_status(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let change: StatusBody = json_body(&body)?;
    let l = state.store().license(&id).await?;
    if !p.agencies_with(LICENSE_ISSUERS).contains(&l.issuer_uscc.as_str()) {
        return Err(forbidden("changing another agency's licenses"));
    }
    let l = state.store().set_license_status(&id, change.status, &change.reason, &p.account_id, jiff::Timestamp::now()).await?;
    Ok(Json(json!({ "license": summary(&l), "status_reason": l.status_reason })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct HolderQuery {
    pub holder_id_type: Option<String>,
    pub holder_id: Option<String>,
    pub reason: Option<String>,
    pub case_no: Option<String>,
}

/// `GET /api/v1/licenses?holder_id_type=…&holder_id=…&reason=…`: an agency
/// lists a holder's current licenses for a stated use; the holder sees the
/// query in each license's use log.
pub async fn query_by_holder(State(state): State<AppState>, auth: Auth, Query(q): Query<HolderQuery>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let agency = p.agencies_with(LICENSE_USERS).first().map(|a| a.to_string()).ok_or_else(|| forbidden("license query"))?;
    let found = state
        .store()
        .query_licenses_of(
            (q.holder_id_type.as_deref().unwrap_or(crate::wallet::PERSON), q.holder_id.as_deref().unwrap_or_default()),
            &agency,
            &p.account_id,
            q.reason.as_deref().unwrap_or_default(),
            q.case_no.as_deref(),
            jiff::Timestamp::now(),
        )
        .await?;
    Ok(Json(json!({ "licenses": found.iter().map(summary).collect::<Vec<_>>() })))
}

/// `GET /api/v1/me/licenses/{ref}/uses` (`{ref}`: the license's `ref`, never its id): every agency use of one of the
/// caller's licenses.
pub async fn my_license_uses(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let l = crate::wallet::held_license(&state, p, &id).await?;
    let uses = state.store().license_uses(&l.id).await?;
    Ok(Json(json!({ "license": summary(&l), "uses": uses })))
}

/// `GET /api/v1/me/licenses/{ref}/sd-jwt?disclose=…` (by `ref`): the holder's license as
/// an SD-JWT VC (`application/dc+sd-jwt`), disclosing only the chosen claims:
/// `disclose` lists claim paths (`holder_name,data.scope`), comma-separated or
/// repeated (as a form's checkboxes send them). Without `disclose`, every
/// disclosure is included, for the holder's own wallet to choose from later.
pub async fn my_license_sd_jwt(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let l = crate::wallet::held_license(&state, p, &id).await?;
    let chosen: Option<Vec<String>> = {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
        let values: Vec<&String> = pairs.iter().filter(|(k, _)| k == "disclose").map(|(_, v)| v).collect();
        (!values.is_empty())
            .then(|| values.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
    };
    let master = state.master_key()?;
    let full = state.store().license_vc(&l.id, master, &state.identity().issuer, jiff::Timestamp::now()).await?;
    let out = match chosen {
        None => full,
        Some(keep) => yiwang_license::sdjwt::present(&full, &keep).map_err(|e| ApiError::new(&e))?,
    };
    Ok(([(header::CONTENT_TYPE, "application/dc+sd-jwt"), (header::CACHE_CONTROL, "no-store")], out).into_response())
}

/// `GET /api/v1/licenses/status-lists/{agency}`: the agency's Token Status
/// List (`application/statuslist+jwt`), which SD-JWT VCs point at.
pub async fn status_list(State(state): State<AppState>, Path(agency): Path<String>) -> Result<Response, ApiError> {
    let master = state.master_key()?;
    let token = state.store().license_status_list(&agency, master, &state.identity().issuer, jiff::Timestamp::now()).await?;
    Ok(([(header::CONTENT_TYPE, "application/statuslist+jwt"), (header::CACHE_CONTROL, "max-age=60")], token).into_response())
}

/// `GET /.well-known/jwt-vc-issuer/agencies/{agency}`: SD-JWT VC issuer
/// metadata with the agency's Ed25519 keys as a JWKS.
pub async fn vc_issuer_metadata(State(state): State<AppState>, Path(agency): Path<String>) -> Result<Json<Value>, ApiError> {
    let keys = state.store().vc_keys(&agency).await?;
    let jwks = keys
        .iter()
        .map(|k| yiwang_license::sdjwt::public_jwk(&k.public_key, &k.key_id))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::new(&e))?;
    Ok(Json(json!({
        "issuer": yiwang_store::vc_issuer_url(&state.identity().issuer, &agency),
        "jwks": { "keys": jwks },
    })))
}

/// `GET /api/v1/me/items/{code}/licenses`: for an item the caller may apply
/// for, each material an e-license type satisfies and whether the caller holds
/// a valid license of that type. An application attaches those by reference
/// (免提交) instead of asking for an upload.
pub async fn my_item_licenses(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let (id_type, holder_id, _) = crate::wallet::held_holder(&state, p)?;
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    let found = state.store().license_materials(&code, (id_type, &holder_id), today).await?;
    let materials: Vec<Value> = found
        .iter()
        .map(|m| {
            json!({
                "material": m.material, "license_type": m.license_type, "covered": m.license.is_some(),
                "license": m.license.as_ref().map(summary),
            })
        })
        .collect();
    Ok(Json(json!({ "item": code, "materials": materials })))
}
