//! A license type's data schema and print template. The schema is the subset
//! of JSON Schema the type-specific `data` of a license needs: an object with
//! `properties` (each `string`, `integer`, `boolean`, or `array` of strings,
//! with a Chinese `title`, optional `maxLength`, `enum`, `minimum`, `maximum`),
//! `required`, and `additionalProperties: false`. An empty schema (`{}`)
//! accepts any object. Problems come back per field, in Chinese and English.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSchema {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Property>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    #[serde(rename = "additionalProperties", default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    #[serde(rename = "type")]
    pub kind: String,
    /// The field's label (Chinese) on the license, the wallet and in messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "maxLength", default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
    /// For arrays: the items' schema (strings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Property>>,
}

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message_zh: String,
    pub message_en: String,
}

fn problem(field: &str, zh: String, en: String) -> FieldProblem {
    FieldProblem { field: field.to_string(), message_zh: zh, message_en: en }
}

const KINDS: [&str; 4] = ["string", "integer", "boolean", "array"];

impl DataSchema {
    /// Parse and check a schema as an agency submits it.
    pub fn parse(v: &Value) -> Result<DataSchema, Vec<FieldProblem>> {
        let schema: DataSchema = serde_json::from_value(v.clone())
            .map_err(|e| vec![problem("data_schema", format!("数据结构定义无效：{e}"), format!("the data schema is not valid: {e}"))])?;
        let mut problems = Vec::new();
        if schema.kind.as_deref().is_some_and(|k| k != "object") {
            problems.push(problem("data_schema.type", "证照数据必须是对象（object）".into(), "license data must be an object".into()));
        }
        for (name, p) in &schema.properties {
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
                problems.push(problem(
                    name,
                    format!("字段名 {name} 只能用英文字母、数字和下划线"),
                    format!("field name {name}: ASCII letters, digits, _ only"),
                ));
            }
            if !KINDS.contains(&p.kind.as_str()) {
                problems.push(problem(
                    name,
                    format!("字段 {name} 的类型 {} 不受支持", p.kind),
                    format!("field {name}: unsupported type {}", p.kind),
                ));
            }
            if p.kind == "array" && p.items.as_ref().is_none_or(|i| i.kind != "string") {
                problems.push(problem(name, format!("字段 {name} 须为字符串列表"), format!("field {name}: arrays must be of strings")));
            }
        }
        for r in &schema.required {
            if !schema.properties.is_empty() && !schema.properties.contains_key(r) {
                problems.push(problem(r, format!("必填字段 {r} 未定义"), format!("required field {r} is not defined")));
            }
        }
        if problems.is_empty() { Ok(schema) } else { Err(problems) }
    }

    /// The label of a field: its title, else its key.
    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.properties.get(key).and_then(|p| p.title.as_deref()).unwrap_or(key)
    }

    /// Every problem with `data` (empty: it conforms).
    pub fn check(&self, data: &Value) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let empty = serde_json::Map::new();
        let obj = match data {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => return vec![problem("data", "证照数据必须是对象".into(), "data must be an object".into())],
        };
        for r in &self.required {
            if obj.get(r).is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())) {
                let l = self.label(r);
                out.push(problem(r, format!("{l}为必填项"), format!("{r} is required")));
            }
        }
        for (key, value) in obj {
            let Some(p) = self.properties.get(key) else {
                if self.additional_properties == Some(false) {
                    out.push(problem(key, format!("不应有字段 {key}"), format!("unexpected field {key}")));
                }
                continue;
            };
            if value.is_null() {
                continue;
            }
            check_value(key, self.label(key), p, value, &mut out);
        }
        out
    }
}

fn check_value(key: &str, label: &str, p: &Property, value: &Value, out: &mut Vec<FieldProblem>) {
    let type_ok = match p.kind.as_str() {
        "string" => value.is_string(),
        "integer" => value.is_i64(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        _ => false,
    };
    if !type_ok {
        let zh = match p.kind.as_str() {
            "string" => "文字",
            "integer" => "整数",
            "boolean" => "是/否",
            _ => "列表",
        };
        out.push(problem(key, format!("{label}应为{zh}"), format!("{key} must be of type {}", p.kind)));
        return;
    }
    if let (Some(max), Some(s)) = (p.max_length, value.as_str())
        && s.chars().count() > max
    {
        out.push(problem(key, format!("{label}不能超过{max}个字"), format!("{key} is longer than {max} characters")));
    }
    if let Some(allowed) = &p.allowed
        && !allowed.contains(value)
    {
        let list = allowed.iter().map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_string)).collect::<Vec<_>>().join("、");
        out.push(problem(key, format!("{label}应为以下之一：{list}"), format!("{key} must be one of: {list}")));
    }
    if let Some(n) = value.as_i64()
        && (p.minimum.is_some_and(|m| n < m) || p.maximum.is_some_and(|m| n > m))
    {
        let (lo, hi) = (p.minimum.map_or("-".into(), |m| m.to_string()), p.maximum.map_or("-".into(), |m| m.to_string()));
        out.push(problem(key, format!("{label}应在 {lo} 至 {hi} 之间"), format!("{key} must be within {lo}..{hi}")));
    }
    if let (Some(items), Some(list)) = (&p.items, value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            check_value(&format!("{key}[{i}]"), &format!("{label}第{}项", i + 1), items, item, out);
        }
    }
}

impl PrintTemplate {
    pub fn parse(v: &Value) -> Result<PrintTemplate, Vec<FieldProblem>> {
        let t: PrintTemplate = serde_json::from_value(v.clone())
            .map_err(|e| vec![problem("template", format!("打印模板无效：{e}"), format!("the print template is not valid: {e}"))])?;
        match t.layout.as_deref() {
            None | Some("certificate") | Some("card") => Ok(t),
            Some(other) => Err(vec![problem(
                "template.layout",
                format!("版式 {other} 不受支持（certificate 或 card）"),
                format!("layout {other} is not supported (certificate or card)"),
            )]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_is_checked_field_by_field() {
        let schema = DataSchema::parse(&json!({
            "type": "object",
            "required": ["business_form", "items"],
            "additionalProperties": false,
            "properties": {
                "business_form": { "type": "string", "title": "主体业态", "enum": ["餐饮服务经营者", "单位食堂"] },
                "items": { "type": "array", "title": "经营项目", "items": { "type": "string", "maxLength": 10 } },
                "staff": { "type": "integer", "title": "从业人员", "minimum": 1 },
            },
        }))
        .unwrap_or_default();
        assert!(schema.check(&json!({ "business_form": "单位食堂", "items": ["热食类食品制售"] })).is_empty());
        let problems = schema.check(&json!({ "business_form": "网店", "staff": 0, "extra": 1, "items": ["一二三四五六七八九十十一"] }));
        let zh: Vec<&str> = problems.iter().map(|p| p.message_zh.as_str()).collect();
        assert_eq!(
            zh,
            [
                "主体业态应为以下之一：餐饮服务经营者、单位食堂",
                "不应有字段 extra",
                "经营项目第1项不能超过10个字",
                "从业人员应在 1 至 - 之间",
            ]
        );
        assert_eq!(schema.check(&json!({}))[0].message_zh, "主体业态为必填项");
        assert!(DataSchema::parse(&json!({ "properties": { "x": { "type": "date" } } })).is_err());
        assert!(DataSchema::parse(&json!({ "propertes": {} })).is_err());
        assert!(DataSchema::parse(&json!({})).is_ok_and(|s| s.check(&json!({ "anything": 1 })).is_empty()));
    }
}
