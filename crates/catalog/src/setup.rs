//! What an operator sets up on a node besides items: halls (政务服务大厅) and
//! the data resources materials can be shared from. The checks are pure; the
//! store adds what needs the database (the agencies must be registered), and
//! the CLI, the API and the console all go through the same checks.

use serde::{Deserialize, Serialize};
use yiwang_codes::{DivisionCode, Uscc};

use crate::FieldError;

/// A hall as an operator describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HallInput {
    /// A stable id: ASCII letters, digits, `-` and `_`.
    pub id: String,
    pub name: String,
    pub division_code: String,
    /// The agency that runs the hall; its window clerks take applications.
    pub agency_uscc: String,
    #[serde(default)]
    pub address: String,
    /// Other agencies whose items the hall's windows accept.
    #[serde(default)]
    pub serves: Vec<String>,
}

/// A data resource as an operator registers it (grants come with sharing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    pub code: String,
    pub name: String,
    /// The agency that provides it.
    pub provider_uscc: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its sharing attributes (共享属性, information items, the service that
    /// serves it); without them it is only a name materials are matched by.
    #[serde(default)]
    pub sharing: Option<yiwang_sharing::ResourceSharing>,
}

fn uscc(field: String, value: &str, out: &mut Vec<FieldError>) -> Option<String> {
    match Uscc::parse(value.trim()) {
        Ok(u) => Some(u.as_str().to_string()),
        Err(e) => {
            out.push(FieldError::new(
                field.clone(),
                "invalid_code",
                format!("统一社会信用代码无效：{e}"),
                format!("{field} is not a valid USCC: {e}"),
            ));
            None
        }
    }
}

/// The hall's problems, and its normalised agencies (the runner first, each once).
pub fn check_hall(h: &HallInput) -> (Vec<FieldError>, Vec<String>) {
    let mut out = Vec::new();
    let id = h.id.trim();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        out.push(FieldError::new(
            "id",
            "format",
            "大厅编号须为 1–64 个字母、数字、- 或 _",
            "a hall id is 1–64 ASCII letters, digits, - and _",
        ));
    }
    if h.name.trim().is_empty() || h.name.chars().count() > 100 {
        out.push(FieldError::new("name", "required", "大厅名称不能为空，且不超过 100 字", "a hall needs a name of at most 100 characters"));
    }
    if let Err(e) = DivisionCode::parse(h.division_code.trim()) {
        out.push(FieldError::new(
            "division_code",
            "invalid_code",
            format!("行政区划代码无效：{e}"),
            format!("division_code is invalid: {e}"),
        ));
    }
    let mut agencies = Vec::new();
    if let Some(u) = uscc("agency_uscc".into(), &h.agency_uscc, &mut out) {
        agencies.push(u);
    }
    for (i, s) in h.serves.iter().enumerate().filter(|(_, s)| !s.trim().is_empty()) {
        if let Some(u) = uscc(format!("serves[{i}]"), s, &mut out)
            && !agencies.contains(&u)
        {
            agencies.push(u);
        }
    }
    (out, agencies)
}

/// The resource's problems.
pub fn check_resource(r: &ResourceInput) -> Vec<FieldError> {
    let mut out = Vec::new();
    let code = r.code.trim();
    if code.is_empty() || code.len() > 64 || code.chars().any(char::is_whitespace) {
        out.push(FieldError::new("code", "format", "资源代码须为 1–64 个非空白字符", "a resource code is 1–64 non-space characters"));
    }
    if r.name.trim().is_empty() || r.name.chars().count() > 100 {
        out.push(FieldError::new(
            "name",
            "required",
            "资源名称不能为空，且不超过 100 字",
            "a resource needs a name of at most 100 characters",
        ));
    }
    uscc("provider_uscc".into(), &r.provider_uscc, &mut out);
    if let Some(sharing) = &r.sharing {
        for (field, zh, en) in sharing.problems() {
            out.push(FieldError::new(field, "invalid", zh, en));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hall() -> HallInput {
        HallInput {
            id: "hz-center".into(),
            name: "杭州市民中心".into(),
            division_code: "330100".into(),
            agency_uscc: "113301000025000337".into(),
            address: String::new(),
            serves: vec!["113302000025000417".into(), "113301000025000337".into()],
        }
    }

    #[test]
    fn a_good_hall_lists_each_agency_once_runner_first() {
        let (errors, agencies) = check_hall(&hall());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(agencies, ["113301000025000337", "113302000025000417"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let h = HallInput { id: "市民 中心".into(), division_code: "999999".into(), serves: vec!["nope".into()], ..hall() };
        let fields: Vec<String> = check_hall(&h).0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["id", "division_code", "serves[0]"]);
        let r = ResourceInput { code: " ".into(), name: String::new(), provider_uscc: "x".into(), aliases: vec![], sharing: None };
        let fields: Vec<String> = check_resource(&r).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["code", "name", "provider_uscc"]);
    }
}
