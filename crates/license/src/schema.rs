//! A license type's data schema and print template. The schema is the e-form
//! subset (`yiwang_form::Schema`): an object with typed `properties`, Chinese
//! titles, `required` and `additionalProperties: false`; problems come back per
//! field, in Chinese and English. The print template says how a license of the
//! type prints.

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use yiwang_form::{FieldProblem, Property, Schema as DataSchema};

/// How a license of the type prints: its layout and which data fields, in
/// which order (the rest follow in key order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintTemplate {
    /// `certificate` (A4, the default) or `card` (ID-card size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A line printed under the fields (e.g. 发证机关提示).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
}

impl PrintTemplate {
    pub fn parse(v: &Value) -> Result<PrintTemplate, Vec<FieldProblem>> {
        let t: PrintTemplate = serde_json::from_value(v.clone()).map_err(|e| {
            vec![FieldProblem::new("template", format!("打印模板无效：{e}"), format!("the print template is not valid: {e}"))]
        })?;
        match t.layout.as_deref() {
            None | Some("certificate") | Some("card") => Ok(t),
            Some(other) => Err(vec![FieldProblem::new(
                "template.layout",
                format!("版式 {other} 不受支持（certificate 或 card）"),
                format!("layout {other} is not supported (certificate or card)"),
            )]),
        }
    }
}
