//! Personal data on staff displays (issue 19). ID numbers and phone numbers
//! are masked wherever staff see a case (the page, its form, its timeline, the
//! API); showing them in full needs a stated reason and is audited. Every staff
//! read of a case or a material writes an audit entry: who, why and which case.
//! The applicant reading their own case is not audited and sees it whole.

use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_identity::Principal;
use yiwang_store::CaseRow;

use crate::cases::{CASE_STAFF, is_applicant};
use crate::{ApiError, AppState, WebError};

/// Mask every ID number and mobile number in every string of `v`.
pub fn masked(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(yiwang_codes::mask_identifiers_in(s)),
        Value::Array(a) => Value::Array(a.iter().map(masked).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), masked(v))).collect()),
        other => other.clone(),
    }
}

/// `?reveal=1&reason=…`: show a case's identifiers in full, for a stated reason.
#[derive(Debug, Default, Deserialize)]
pub struct RevealQuery {
    pub reveal: Option<String>,
    pub reason: Option<String>,
}

impl RevealQuery {
    /// The reason to show in full, if asked; asking without a reason is a 400.
    pub fn wanted(&self) -> Result<Option<String>, ApiError> {
        if !matches!(self.reveal.as_deref(), Some("1" | "true")) {
            return Ok(None);
        }
        match self.reason.as_deref().map(str::trim).filter(|r| (2..=200).contains(&r.chars().count())) {
            Some(r) => Ok(Some(r.to_string())),
            None => Err(WebError::BadParam {
                name: "reason",
                detail: "显示完整身份信息须填写事由（2至200字）/ a reason (2 to 200 characters) is required to show identifiers in full"
                    .into(),
            }
            .into()),
        }
    }
}

/// Why a staff member may read this case, as the audit records it.
fn relation(p: &Principal, c: &CaseRow) -> &'static str {
    if p.has_role_in(&c.agency_uscc, CASE_STAFF) {
        "本部门办件 / the agency's own case"
    } else if c.case.countersign_agencies().any(|a| p.has_role_in(a, CASE_STAFF)) {
        "会签 / countersigning"
    } else if p.supports(&c.agency_uscc) {
        "支持访问 / support access"
    } else if !p.agencies_with(&[yiwang_identity::Role::Supervisor]).is_empty() {
        "电子监察 / supervision of the region's cases"
    } else {
        "其他 / other"
    }
}

/// Audit a read of `c` by `p` unless `p` is its applicant; `what` says what was
/// read (`case`, `events`, `page`, `material:<digest>`), `revealed` the reason
/// identifiers were shown in full. Written before the data is returned.
pub async fn audit_staff_read(state: &AppState, p: &Principal, c: &CaseRow, what: &str, revealed: Option<&str>) -> Result<bool, ApiError> {
    if is_applicant(p, c) {
        return Ok(false);
    }
    let now = jiff::Timestamp::now();
    let reason = match revealed {
        Some(r) => format!("{}；显示完整信息：{r}", relation(p, c)),
        None => relation(p, c).to_string(),
    };
    let mut tx = state.store().begin().await?;
    tx.append_audit(yiwang_audit::AuditRecord {
        at: crate::ts(now),
        actor: p.account_id.clone(),
        action: if revealed.is_some() { "personal_data.reveal" } else { "personal_data.read" }.into(),
        object_type: "case".into(),
        object_id: c.case_no.clone(),
        reason,
        data: json!({ "what": what, "agency": c.agency_uscc, "revealed": revealed.is_some() }).to_string(),
    })
    .await?;
    tx.commit().await?;
    Ok(true)
}
