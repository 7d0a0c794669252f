//! 共享申请: a consumer's request for a resource, and the provider's decision
//! within 10 working days (domain.md §6). A refusal gives reasons; an
//! approval becomes a grant, never wider than what was asked.

use serde::{Deserialize, Serialize};

use crate::{ResourceSharing, RowScope, ShareType, SharingError};

/// Working days the provider has to decide (国发〔2016〕51号).
pub const DECISION_WORKDAYS: u32 = 10;

/// What a consumer asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub resource: String,
    pub fields: Vec<String>,
    /// The purposes (事项 codes or 事由) the data will serve.
    pub purposes: Vec<String>,
    /// The scenario: what the data is for, in words (应用场景).
    pub scenario: String,
    /// The consumer's own legal basis for the use.
    #[serde(default)]
    pub legal_basis: String,
    /// How long the use lasts, in days.
    pub days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Submitted,
    Approved,
    Rejected,
}

impl RequestState {
    pub fn code(self) -> &'static str {
        match self {
            RequestState::Submitted => "submitted",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        match s {
            "submitted" => Some(RequestState::Submitted),
            "approved" => Some(RequestState::Approved),
            "rejected" => Some(RequestState::Rejected),
            _ => None,
        }
    }
}

/// The provider's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    /// Grant all or part of what was asked.
    Approve {
        /// A subset of the asked items; empty: all of them.
        #[serde(default)]
        fields: Vec<String>,
        #[serde(default = "all_rows")]
        row_scope: RowScope,
    },
    Reject {
        reason: String,
    },
}

fn all_rows() -> RowScope {
    RowScope::All
}

fn bad(r: impl Into<String>) -> SharingError {
    SharingError::InvalidRequest(r.into())
}

/// Check an application against the resource it names.
pub fn check_application(app: &Application, resource: &ResourceSharing) -> Result<(), SharingError> {
    if resource.share_type == ShareType::None {
        return Err(bad(format!("resource {} is 不予共享 (not shared)", app.resource)));
    }
    let items = resource.item_names();
    if app.fields.is_empty() || app.fields.len() > 200 {
        return Err(bad("ask for 1–200 information items"));
    }
    if let Some(f) = app.fields.iter().find(|f| !items.contains(f)) {
        return Err(bad(format!("{f} is not an information item of resource {}", app.resource)));
    }
    if app.purposes.is_empty() || app.purposes.len() > 200 || app.purposes.iter().any(|p| p.trim().is_empty() || p.len() > 64) {
        return Err(bad("name 1–200 purposes of at most 64 characters"));
    }
    let scenario = app.scenario.trim().chars().count();
    if !(4..=500).contains(&scenario) {
        return Err(bad("describe the scenario in 4–500 characters"));
    }
    if app.legal_basis.chars().count() > 500 {
        return Err(bad("the legal basis is at most 500 characters"));
    }
    if !(1..=1095).contains(&app.days) {
        return Err(bad("the use lasts 1–1095 days"));
    }
    Ok(())
}

/// Check a decision on a request in `state` that asked for `asked`: only a
/// submitted request is decided; a refusal gives reasons; an approval grants
/// no item that was not asked for. Gives the items granted.
pub fn check_decision(state: RequestState, asked: &[String], decision: &Decision) -> Result<Vec<String>, SharingError> {
    if state != RequestState::Submitted {
        return Err(SharingError::AlreadyDecided { state: state.code() });
    }
    match decision {
        Decision::Reject { reason } => {
            let n = reason.trim().chars().count();
            if !(2..=1000).contains(&n) {
                return Err(bad("a refusal gives its reasons (2–1000 characters)"));
            }
            Ok(Vec::new())
        }
        Decision::Approve { fields, .. } if fields.is_empty() => Ok(asked.to_vec()),
        Decision::Approve { fields, .. } => match fields.iter().find(|f| !asked.contains(f)) {
            Some(f) => Err(bad(format!("{f} was not asked for"))),
            None => Ok(fields.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource() -> ResourceSharing {
        serde_json::from_value(serde_json::json!({
            "share_type": "conditional", "legal_basis": "第九条",
            "items": [{ "name": "name", "label": "姓名", "data_type": "string" }, { "name": "status", "label": "状态", "data_type": "code" }],
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn app() -> Application {
        Application {
            resource: "330000-RK-0001".into(),
            fields: vec!["name".into(), "status".into()],
            purposes: vec!["330100-ITEM-1".into()],
            scenario: "异地办理户籍类事项时核验身份".into(),
            legal_basis: String::new(),
            days: 365,
        }
    }

    #[test]
    fn an_application_names_items_purposes_a_scenario_and_a_term() {
        assert_eq!(check_application(&app(), &resource()), Ok(()));
        let mut a = app();
        a.fields.push("income".into());
        assert!(check_application(&a, &resource()).is_err());
        let mut a = app();
        a.scenario = "用".into();
        assert!(check_application(&a, &resource()).is_err());
        let mut a = app();
        a.days = 0;
        assert!(check_application(&a, &resource()).is_err());
        let mut none = resource();
        none.share_type = ShareType::None;
        assert!(check_application(&app(), &none).is_err());
    }

    #[test]
    fn a_decision_is_taken_once_with_reasons_for_a_refusal_and_never_wider_than_asked() {
        let asked = vec!["name".to_string(), "status".to_string()];
        let all = Decision::Approve { fields: vec![], row_scope: RowScope::All };
        assert_eq!(check_decision(RequestState::Submitted, &asked, &all), Ok(asked.clone()));
        let part = Decision::Approve { fields: vec!["name".into()], row_scope: RowScope::All };
        assert_eq!(check_decision(RequestState::Submitted, &asked, &part), Ok(vec!["name".to_string()]));
        let wider = Decision::Approve { fields: vec!["income".into()], row_scope: RowScope::All };
        assert!(check_decision(RequestState::Submitted, &asked, &wider).is_err());
        assert!(check_decision(RequestState::Submitted, &asked, &Decision::Reject { reason: " ".into() }).is_err());
        assert_eq!(check_decision(RequestState::Submitted, &asked, &Decision::Reject { reason: "无法律依据".into() }), Ok(vec![]));
        assert_eq!(
            check_decision(RequestState::Approved, &asked, &all).map_err(|e| yiwang_errors::Coded::code(&e)),
            Err("sharing.already_decided")
        );
    }
}
