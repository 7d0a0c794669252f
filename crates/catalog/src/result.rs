//! 办结出证: how an item version's result fills the e-license it issues.
//!
//! A result that names a license type maps each of the type's data fields to
//! a source: `form.<field>` (the application form), `applicant.name` or
//! `applicant.id`, `case.case_no`, `case.accepted_on`, `case.concluded_on`, or
//! a constant in single quotes. The mapping is checked against the type's
//! schema and the item's form when the item is published (`mapping_problems`),
//! so a conclusion never meets a mapping that cannot fill its license.

use serde_json::{Map, Value};
use yiwang_form::Schema;

use crate::model::{ItemDoc, ResultDoc};
use crate::validate::FieldError;

/// The sources a mapping may read besides the form.
const NAMED_SOURCES: [&str; 5] = ["applicant.name", "applicant.id", "case.case_no", "case.accepted_on", "case.concluded_on"];

/// The result that issues a license, if the item has one.
pub fn license_result(doc: &ItemDoc) -> Option<&ResultDoc> {
    doc.results.iter().find(|r| r.license_type.is_some())
}

/// What is wrong with a result's mapping, against the license type's data
/// schema and the item's form (empty: it can fill every license).
pub fn mapping_problems(index: usize, result: &ResultDoc, type_schema: &Schema, form: Option<&Schema>) -> Vec<FieldError> {
    let mut out = Vec::new();
    let at = |k: &str| format!("results[{index}].license_data.{k}");
    for (field, source) in &result.license_data {
        if !type_schema.properties.contains_key(field) {
            out.push(FieldError::new(
                at(field),
                "mismatch",
                format!("证照类型没有字段“{field}”"),
                format!("the license type has no field {field}"),
            ));
        }
        let source = source.trim();
        let ok = if let Some(key) = source.strip_prefix("form.") {
            form.is_some_and(|f| f.properties.contains_key(key))
        } else {
            NAMED_SOURCES.contains(&source) || is_constant(source)
        };
        if !ok {
            out.push(FieldError::new(
                at(field),
                "invalid_code",
                format!("数据来源“{source}”无效：可用 form.字段、applicant.name、applicant.id、case.case_no、case.accepted_on、case.concluded_on 或 '常量'"),
                format!("unknown source {source}: use form.<field>, applicant.name|id, case.case_no|accepted_on|concluded_on or a 'constant'"),
            ));
        }
    }
    for field in &type_schema.required {
        if !result.license_data.contains_key(field) {
            out.push(FieldError::new(
                at(field),
                "required",
                format!("证照类型的必填字段“{}”未指定数据来源", type_schema.label(field)),
                format!("the license type's required field {field} has no source"),
            ));
        }
    }
    out
}

fn is_constant(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'')
}

/// The license data a mapping gives over `sources`, an object with `form`,
/// `applicant` and `case` members. A source with no value leaves its field
/// out (the type's schema then says what is missing).
pub fn fill(result: &ResultDoc, sources: &Value) -> Value {
    let mut data = Map::new();
    for (field, source) in &result.license_data {
        let source = source.trim();
        let value = if is_constant(source) {
            Some(Value::String(source[1..source.len() - 1].to_string()))
        } else {
            let mut parts = source.splitn(2, '.');
            match (parts.next(), parts.next()) {
                (Some(group), Some(key)) => sources.get(group).and_then(|g| g.get(key)).filter(|v| !v.is_null()).cloned(),
                _ => None,
            }
        };
        if let Some(v) = value {
            data.insert(field.clone(), v);
        }
    }
    Value::Object(data)
}
