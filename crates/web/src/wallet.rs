//! The holder wallet (证照夹) in the portal: a person's licenses, or an
//! enterprise's while acting for it; each with its fields, QR code, PDF with
//! seal, SD-JWT export, use log; and 加注件 — time-limited copies shared by
//! link or QR for a stated use, which anyone with the link may open.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use yiwang_identity::{Acting, Principal};
use yiwang_print::{LicenseDoc, SealMark, Template as PrintTemplate};
use yiwang_store::{LicenseShare, LicenseStatus, LicenseTypeDef, SharedCopy, StoredLicense};

use crate::auth::{Auth, see_other};
use crate::pages::{Layout, error_page, render};
use crate::{ApiError, AppState, WebError};

/// GA/T 2000.156 holder code types: 居民身份证 and 统一社会信用代码.
pub(crate) const PERSON: &str = "111";
const ENTERPRISE: &str = "049";

/// Whose wallet the caller sees: their own as a person, or the enterprise's
/// they are acting for (法定代表人 or 经办人).
pub fn holder_of(p: &Principal) -> (&'static str, String, String) {
    match &p.acting {
        Acting::Own => (PERSON, p.citizen_id.clone(), "您".to_string()),
        Acting::Enterprise { uscc, name, .. } => (ENTERPRISE, uscc.clone(), name.clone()),
    }
}

/// Whose held data the caller reaches: as [`holder_of`], but only for a caller
/// at the node's personal-data level (`[security] personal_data_level`). An
/// account below it typed an ID it has not proven, so what the government
/// holds under that ID (licenses, the wallet, base data) stays closed: 403
/// `auth.level_too_low`, whose message says how to raise the level.
pub fn held_holder(state: &AppState, p: &Principal) -> Result<(&'static str, String, String), ApiError> {
    p.require_assured(state.security().personal_data_level)?;
    Ok(holder_of(p))
}

/// The level page a person below the personal-data level gets instead of held data.
pub async fn level_page(state: &AppState, auth: &Auth, title: &str, p: &Principal) -> Response {
    let need = state.security().personal_data_level.as_u8();
    let e = yiwang_identity::IdentityError::LevelTooLow { required: need, have: p.level.as_u8() };
    error_page(state, auth, title, &e, Some(("/account".into(), "查看我的账号和实名等级".into()))).await
}

/// The license its public reference names (the holder's URLs never carry the
/// license id, which holds the license number: for an ID card, the ID number),
/// if the caller holds it (as person or acting enterprise) and reaches held
/// data; another's answers 404, as if absent.
pub async fn held_license(state: &AppState, p: &Principal, public_ref: &str) -> Result<StoredLicense, ApiError> {
    let not_found = || ApiError::new(&WebError::NotFound("电子证照".into()));
    let l = match state.store().license_by_ref(public_ref).await {
        Ok(l) => l,
        Err(yiwang_store::StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let (id_type, holder_id, _) = held_holder(state, p)?;
    if l.holder.id_type != id_type || !yiwang_identity::ct_eq(l.holder.id.as_bytes(), holder_id.as_bytes()) {
        return Err(not_found());
    }
    Ok(l)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join("、"),
        Value::Bool(b) => if *b { "是" } else { "否" }.into(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn validity(l: &StoredLicense) -> String {
    format!("{} 至 {}", l.valid_from, l.valid_until.as_deref().unwrap_or("长期"))
}

/// The type-specific fields as (label, value), in the template's order, then
/// the rest in key order.
fn data_fields(l: &StoredLicense, def: Option<&LicenseTypeDef>) -> Vec<(String, String)> {
    let Some(data) = l.sealed.record["data"].as_object() else { return Vec::new() };
    let mut keys: Vec<&String> = Vec::new();
    if let Some(d) = def {
        keys.extend(d.template.fields.iter().filter(|k| data.contains_key(k.as_str())));
    }
    keys.extend(data.keys().filter(|k| !keys.contains(k)).collect::<Vec<_>>());
    keys.into_iter()
        .map(|k| {
            let label = def.map_or(k.as_str(), |d| d.data_schema.label(k));
            (label.to_string(), text(&data[k.as_str()]))
        })
        .collect()
}

/// What a display may show of a person's identity.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// The license itself (the holder's PDF, a share the holder opened up).
    Full,
    /// On the holder's own screen: ID numbers masked, the name shown.
    MaskIds,
    /// To others: ID numbers and the name masked.
    Masked,
}

/// The holder as shown: (name, holder id, license number). A person's ID
/// number is masked unless `Full`, also where the license number is the ID
/// number; their name only when `Masked`.
fn holder_shown(l: &StoredLicense, shown: Shown) -> (String, String, String) {
    if l.holder.id_type != PERSON || shown == Shown::Full {
        return (l.holder.name.clone(), l.holder.id.clone(), l.number.clone());
    }
    let name = if shown == Shown::Masked { yiwang_identity::mask_name(&l.holder.name) } else { l.holder.name.clone() };
    let masked = yiwang_codes::mask_citizen_id(&l.holder.id);
    let number = if l.number == l.holder.id { masked.clone() } else { l.number.clone() };
    (name, masked, number)
}

fn rows(l: &StoredLicense, def: Option<&LicenseTypeDef>, shown: Shown) -> Vec<(String, String)> {
    let (name, holder_id, number) = holder_shown(l, shown);
    let mut out = vec![
        ("证照名称".to_string(), text(&l.sealed.record["name"])),
        ("证照编号".to_string(), number),
        ("持证主体".to_string(), name),
        ("主体代码".to_string(), holder_id),
    ];
    out.extend(data_fields(l, def));
    out.push(("有效期限".into(), validity(l)));
    out.push(("颁发机构".into(), text(&l.sealed.record["issuer"]["name"])));
    out.push(("颁发日期".into(), text(&l.sealed.record["issued_on"])));
    out
}

fn share_shown(share: &LicenseShare) -> Shown {
    if share.reveal_ids { Shown::Full } else { Shown::Masked }
}

async fn type_def(state: &AppState, code: &str) -> Option<LicenseTypeDef> {
    match state.store().license_type(code).await {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(error = %e, code, "license type unreadable; printing raw field names");
            None
        }
    }
}

fn verify_url(state: &AppState, token: &str) -> String {
    format!("{}/licenses/verify?token={token}", state.identity().issuer)
}

fn qr(url: &str) -> Result<String, ApiError> {
    yiwang_print::qr_svg(url).map_err(|e| ApiError::new(&e))
}

// ---- wallet list -----------------------------------------------------------------

struct WalletRow {
    id: String,
    name: String,
    version: i64,
    issuer: String,
    valid: String,
    status_zh: &'static str,
}

#[derive(Template)]
#[template(path = "wallet.html")]
struct WalletPage {
    l: Layout,
    holder_label: String,
    licenses: Vec<WalletRow>,
}

/// `GET /me/licenses`
pub async fn wallet_page(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    if !p.assured {
        return Ok(level_page(&state, &auth, "我的证照", p).await);
    }
    let (id_type, holder_id, label) = held_holder(&state, p)?;
    let list = state.store().licenses_of(id_type, &holder_id).await?;
    let licenses = list
        .iter()
        .map(|l| WalletRow {
            id: l.public_ref.clone().unwrap_or_default(),
            name: text(&l.sealed.record["name"]),
            version: l.version,
            issuer: text(&l.sealed.record["issuer"]["name"]),
            valid: validity(l),
            status_zh: l.status.name_zh(),
        })
        .collect();
    Ok(render(StatusCode::OK, &WalletPage { l: Layout::new(&state, &auth, "我的证照").await, holder_label: label, licenses }))
}

// ---- one license -------------------------------------------------------------------

struct ShareRow {
    id: String,
    purpose: String,
    expires: String,
    views: i64,
    open: bool,
}

struct UseRow {
    at: String,
    agency: String,
    kind: &'static str,
    reason: String,
    case_no: String,
}

#[derive(Template)]
#[template(path = "wallet_license.html")]
struct LicensePage {
    l: Layout,
    notice: Option<String>,
    id: String,
    /// The identifier as displayed: a person's ID number in it masked.
    shown_id: String,
    status: &'static str,
    status_zh: &'static str,
    status_reason: Option<String>,
    rows: Vec<(String, String)>,
    qr_svg: String,
    shares: Vec<ShareRow>,
    claims: Vec<(String, String)>,
    uses: Vec<UseRow>,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// The claim paths a holder may disclose in the SD-JWT export, labelled.
fn claim_choices(l: &StoredLicense, def: Option<&LicenseTypeDef>) -> Vec<(String, String)> {
    fn label(k: &str) -> &str {
        match k {
            "license_id" => "电子证照标识",
            "number" => "证照编号",
            "version" => "版本",
            "holder_name" => "持证主体名称",
            "holder_id_type" => "主体代码类型",
            "holder_id" => "主体代码（证件号码）",
            "issued_on" => "颁发日期",
            "valid_from" => "有效期起",
            "valid_until" => "有效期至",
            other => other,
        }
    }
    let mut out = Vec::new();
    for (k, v) in yiwang_store::vc_selective_claims(l) {
        match v.as_object() {
            Some(members) => {
                for m in members.keys() {
                    let name = def.map_or(m.as_str(), |d| d.data_schema.label(m));
                    out.push((format!("{k}.{m}"), name.to_string()));
                }
            }
            None => out.push((k.clone(), label(&k).to_string())),
        }
    }
    out
}

/// `GET /me/licenses/{id}`
pub async fn license_page(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    if !p.assured {
        return Ok(level_page(&state, &auth, "我的证照", p).await);
    }
    let l = held_license(&state, p, &id).await?;
    let def = type_def(&state, &l.type_code).await;
    let token = state.store().license_token(&l.id, state.master_key()?).await?;
    let now = jiff::Timestamp::now();
    let shares = state
        .store()
        .license_shares(&l.id)
        .await?
        .into_iter()
        .map(|s: LicenseShare| ShareRow {
            open: s.active_at(now),
            expires: crate::pages::china_time(&s.expires_at),
            id: s.id,
            purpose: s.purpose,
            views: s.views,
        })
        .collect();
    let uses = state
        .store()
        .license_uses(&l.id)
        .await?
        .into_iter()
        .map(|u| UseRow {
            at: crate::pages::china_time(&u.at),
            agency: u.agency_name.unwrap_or(u.agency_uscc),
            kind: if u.kind == "query" { "查询" } else { "调取" },
            reason: u.reason,
            case_no: u.case_no.unwrap_or_default(),
        })
        .collect();
    let notice = match q.notice.as_deref() {
        Some("revoked") => Some("加注件已撤回，链接随即失效。".to_string()),
        _ => None,
    };
    let page = LicensePage {
        l: Layout::new(&state, &auth, &text(&l.sealed.record["name"])).await,
        notice,
        id: l.public_ref.clone().unwrap_or_default(),
        shown_id: if l.holder.id_type == PERSON { yiwang_store::mask_identifier_number(&l.id) } else { l.id.clone() },
        status: l.status.code(),
        status_zh: l.status.name_zh(),
        status_reason: l.status_reason.clone(),
        rows: rows(&l, def.as_ref(), Shown::MaskIds),
        qr_svg: qr(&verify_url(&state, &token))?,
        shares,
        claims: claim_choices(&l, def.as_ref()),
        uses,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The printable copy of a license; `annotation` for a 加注件.
/// `qr_url`: where the printed QR code leads; by default the license's own
/// verification URL (its signed token, which carries the license id).
async fn license_pdf_bytes(
    state: &AppState,
    l: &StoredLicense,
    shown: Shown,
    annotation: Option<String>,
    qr_url: Option<String>,
) -> Result<Vec<u8>, ApiError> {
    let def = type_def(state, &l.type_code).await;
    let qr_url = match qr_url {
        Some(u) => u,
        None => verify_url(state, &state.store().license_token(&l.id, state.master_key()?).await?),
    };
    let (holder, holder_id, number) = holder_shown(l, shown);
    // A person's license id holds its number (for an ID card, the ID number).
    let shown_id =
        if l.holder.id_type == PERSON && shown != Shown::Full { yiwang_store::mask_identifier_number(&l.id) } else { l.id.clone() };
    let doc = LicenseDoc {
        title: text(&l.sealed.record["name"]),
        layout: def.as_ref().and_then(|d| d.template.layout.clone()).unwrap_or_else(|| "certificate".into()),
        id: shown_id,
        number,
        holder,
        holder_id,
        // The template prints the fixed rows itself; these are the type's own.
        fields: data_fields(l, def.as_ref()),
        valid: validity(l),
        issuer: text(&l.sealed.record["issuer"]["name"]),
        issued_on: text(&l.sealed.record["issued_on"]),
        footer: def.as_ref().and_then(|d| d.template.footer.clone()),
        seal: SealMark { key_id: l.key_id.clone(), signature: l.sealed.seal.signature.chars().take(16).collect() },
        qr_svg: qr(&qr_url)?,
        verify_host: state.identity().issuer.clone(),
        annotation,
        status_note: (l.status != LicenseStatus::Valid).then(|| l.status.name_zh().to_string()),
    };
    let printer = state.catalog().printer().clone();
    let pdf = tokio::task::spawn_blocking(move || printer.pdf(PrintTemplate::License, &doc))
        .await
        .map_err(|_| ApiError::new(&WebError::Panic))??;
    Ok(pdf)
}

fn pdf_response(pdf: Vec<u8>, filename: &str) -> Response {
    let disposition = format!("inline; filename=\"{filename}\"");
    ([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, disposition)], pdf).into_response()
}

/// `GET /me/licenses/{id}/license.pdf`: the holder's own copy, with seal and QR.
pub async fn license_pdf(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let l = held_license(&state, p, &id).await?;
    let pdf = license_pdf_bytes(&state, &l, Shown::Full, None, None).await?;
    Ok(pdf_response(pdf, "license.pdf"))
}

/// `GET /me/licenses/{id}/sealed.json`: the sealed record, for
/// `yiwang license verify FILE` or any verifier following docs/license-format.md.
pub async fn sealed_json(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let l = held_license(&state, p, &id).await?;
    let body = serde_json::to_vec_pretty(&l.sealed).map_err(|_| ApiError::new(&WebError::Panic))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"license.json\"".to_string()),
        ],
        body,
    )
        .into_response())
}

// ---- 加注件 --------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ShareForm {
    purpose: String,
    days: Option<String>,
    /// Checkbox: show ID numbers in full on the copy.
    reveal_ids: Option<String>,
}

#[derive(Template)]
#[template(path = "wallet_shared.html")]
struct SharedCreatedPage {
    l: Layout,
    id: String,
    purpose: String,
    expires: String,
    link: String,
    qr_svg: String,
}

/// `POST /me/licenses/{id}/shares`: make a 加注件 link; shown once.
pub async fn create_share(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Form(f): Form<ShareForm>) -> Response {
    let back = Some((format!("/me/licenses/{id}#share"), "返回证照".to_string()));
    let Ok(p) = auth.require() else {
        return error_page(&state, &auth, "分享加注件", &yiwang_identity::IdentityError::Unauthenticated, back).await;
    };
    let l = match held_license(&state, p, &id).await {
        Ok(l) => l,
        Err(e) => return crate::pages::problem_page(&state, &auth, "分享加注件", e, back).await,
    };
    let days = match f.days.as_deref().unwrap_or("7").trim().parse::<i64>() {
        Ok(d) => d,
        Err(_) => {
            let e = WebError::BadParam { name: "days", detail: "有效天数应为数字 / days must be a number".into() };
            return error_page(&state, &auth, "分享加注件", &e, back).await;
        }
    };
    let reveal = f.reveal_ids.is_some();
    match state.store().share_license(&l.id, &f.purpose, days, reveal, &p.account_id, jiff::Timestamp::now()).await {
        Ok((share, token)) => {
            let link = format!("{}/licenses/shared/{token}", state.identity().issuer);
            let qr_svg = match qr(&link) {
                Ok(q) => q,
                Err(e) => return crate::pages::problem_page(&state, &auth, "分享加注件", e, back).await,
            };
            let page = SharedCreatedPage {
                l: Layout::new(&state, &auth, "加注件已生成").await,
                id: l.public_ref.clone().unwrap_or_default(),
                purpose: share.purpose,
                expires: crate::pages::china_time(&share.expires_at),
                link,
                qr_svg,
            };
            let mut resp = render(StatusCode::CREATED, &page);
            // The link is a bearer secret: keep it out of caches.
            resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => error_page(&state, &auth, "分享加注件", &e, back).await,
    }
}

/// `POST /me/licenses/{id}/shares/{share}/revoke`
pub async fn revoke_share(State(state): State<AppState>, auth: Auth, Path((id, share)): Path<(String, String)>) -> Response {
    let back = Some((format!("/me/licenses/{id}#share"), "返回证照".to_string()));
    let Ok(p) = auth.require() else {
        return error_page(&state, &auth, "撤回加注件", &yiwang_identity::IdentityError::Unauthenticated, back).await;
    };
    let l = match held_license(&state, p, &id).await {
        Ok(l) => l,
        Err(e) => return crate::pages::problem_page(&state, &auth, "撤回加注件", e, back).await,
    };
    match state.store().revoke_license_share(&l.id, &share, &p.account_id, jiff::Timestamp::now()).await {
        Ok(()) => see_other(&format!("/me/licenses/{id}?notice=revoked#share")),
        Err(e) => error_page(&state, &auth, "撤回加注件", &e, back).await,
    }
}

struct CopyView {
    purpose: String,
    expires: String,
    rows: Vec<(String, String)>,
    status_zh: &'static str,
    /// Whether the seal verifies (checked here, so a masked copy needs no link
    /// with the license's own token, which carries its id).
    seal_ok: bool,
    /// The public verification link, only when the holder showed identifiers.
    verify_token: Option<String>,
}

#[derive(Template)]
#[template(path = "license_shared.html")]
struct SharedPage {
    l: Layout,
    token: String,
    copy: Option<CopyView>,
    closed_message: String,
}

fn annotation(share: &LicenseShare) -> String {
    format!("加注件（用途：{}）{}前有效", share.purpose, crate::pages::china_time(&share.expires_at))
}

/// `GET /licenses/shared/{token}`: the 加注件, for anyone with the link while
/// it is open; 410 once expired or withdrawn, 404 for an unknown link.
pub async fn shared_page(State(state): State<AppState>, auth: Auth, Path(token): Path<String>) -> Result<Response, ApiError> {
    let now = jiff::Timestamp::now();
    let l = Layout::new(&state, &auth, "电子证照加注件").await;
    let (status, copy, closed_message) = match state.store().open_license_share(&token, now).await? {
        SharedCopy::Open { share, license } => {
            let def = type_def(&state, &license.type_code).await;
            let verify_token = match share.reveal_ids {
                true => Some(state.store().license_token(&license.id, state.master_key()?).await?),
                false => None,
            };
            let today = yiwang_calendar::china_today(now);
            let verdict = state.store().verify_license(yiwang_store::Presented::Sealed(license.sealed.clone()), today).await?;
            let copy = CopyView {
                purpose: share.purpose.clone(),
                expires: crate::pages::china_time(&share.expires_at),
                rows: rows(&license, def.as_ref(), share_shown(&share)),
                status_zh: license.status.name_zh(),
                seal_ok: verdict.seal.as_ref().is_some_and(|s| s.valid),
                verify_token,
            };
            (StatusCode::OK, Some(copy), String::new())
        }
        SharedCopy::Closed { .. } => (StatusCode::GONE, None, "此加注件已过期、已被持证人撤回，或证照已不再有效。".to_string()),
        SharedCopy::Unknown => (StatusCode::NOT_FOUND, None, "没有这个加注件链接，请向持证人确认。".to_string()),
    };
    let mut resp = render(status, &SharedPage { l, token, copy, closed_message });
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    Ok(resp)
}

/// `GET /licenses/shared/{token}/copy.pdf`: the 加注件 as PDF, the use printed across it.
pub async fn shared_pdf(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    match state.store().open_license_share(&token, jiff::Timestamp::now()).await? {
        SharedCopy::Open { share, license } => {
            // A masked copy's QR leads back to this share, never to the license's own token.
            let qr_url = (!share.reveal_ids).then(|| format!("{}/licenses/shared/{token}", state.identity().issuer));
            let pdf = license_pdf_bytes(&state, &license, share_shown(&share), Some(annotation(&share)), qr_url).await?;
            Ok(pdf_response(pdf, "license-copy.pdf"))
        }
        SharedCopy::Closed { .. } => Err(ApiError::new(&WebError::ShareClosed)),
        SharedCopy::Unknown => Err(ApiError::new(&WebError::NotFound("加注件".into()))),
    }
}
