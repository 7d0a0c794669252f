//! The schema subset: an object with `properties` (each `string`, `integer`,
//! `boolean`, `array` of strings, or `object`: a group of such fields with its
//! own `properties` and `required`, e.g. 申请人信息; with a Chinese `title`, optional
//! `description`, `minLength`, `maxLength`, `enum`, `minimum`, `maximum` and
//! `format`), `required`, `additionalProperties: false`, and the UI hints
//! `x-order` (field order), `x-widget`, `x-placeholder`, `x-prefill` (a
//! binding, see `prefill.rs`) and `x-editable` (a prefilled value the
//! applicant may change). An empty schema (`{}`) accepts any object.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::prefill::Binding;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Property>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    #[serde(rename = "additionalProperties", default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<bool>,
    /// The order the portal shows the fields in; the rest follow in key order.
    #[serde(rename = "x-order", default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    #[serde(rename = "type")]
    pub kind: String,
    /// The field's label (Chinese) on forms, licenses and in messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text shown under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "minLength", default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    #[serde(rename = "maxLength", default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// For arrays: the items' schema (strings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Property>>,
    #[serde(rename = "x-widget", default, skip_serializing_if = "Option::is_none")]
    pub widget: Option<Widget>,
    #[serde(rename = "x-placeholder", default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Where the value comes from (`person.name`, `license.<type>.<field>`…).
    #[serde(rename = "x-prefill", default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
    /// A prefilled value the applicant may change (a contact phone); bound
    /// fields are locked otherwise.
    #[serde(rename = "x-editable", default, skip_serializing_if = "std::ops::Not::not")]
    pub editable: bool,
    /// For objects (a group of fields): the group's fields, none a group itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Property>,
    /// For objects: the group's required fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
}

impl Property {
    /// A group's field label: its title, else its key.
    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.properties.get(key).and_then(|p| p.title.as_deref()).unwrap_or(key)
    }
}

/// String formats checked on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// YYYY-MM-DD
    Date,
    /// 公民身份号码 (GB 11643, with its check character)
    CitizenId,
    /// 统一社会信用代码 (GB 32100, with its check character)
    Uscc,
    /// A mainland mobile number or a landline with area code.
    Phone,
    Email,
    /// 邮政编码: six digits.
    Postcode,
}

/// How the portal shows a field (the default follows from its type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Widget {
    Text,
    Textarea,
    Select,
    Radio,
    Checkbox,
    Date,
}

impl Widget {
    /// The wire name (`text`, `textarea`…), for templates.
    pub fn code(self) -> &'static str {
        match self {
            Widget::Text => "text",
            Widget::Textarea => "textarea",
            Widget::Select => "select",
            Widget::Radio => "radio",
            Widget::Checkbox => "checkbox",
            Widget::Date => "date",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message_zh: String,
    pub message_en: String,
}

impl FieldProblem {
    pub fn new(field: &str, zh: String, en: String) -> FieldProblem {
        FieldProblem { field: field.to_string(), message_zh: zh, message_en: en }
    }
}

const KINDS: [&str; 5] = ["string", "integer", "boolean", "array", "object"];

/// What is wrong with field `name`'s definition; `in_group`: it is a field of
/// an object (a group), which may not be a group itself nor prefilled.
fn property_problems(name: &str, p: &Property, in_group: bool, problems: &mut Vec<FieldProblem>) {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        problems.push(FieldProblem::new(
            name,
            format!("字段名 {name} 只能用英文字母、数字和下划线"),
            format!("field name {name}: ASCII letters, digits, _ only"),
        ));
    }
    if !KINDS.contains(&p.kind.as_str()) || (in_group && p.kind == "object") {
        problems.push(FieldProblem::new(
            name,
            format!("字段 {name} 的类型 {} 不受支持", p.kind),
            format!("field {name}: unsupported type {}", p.kind),
        ));
    }
    if p.kind == "array" && p.items.as_ref().is_none_or(|i| i.kind != "string") {
        problems.push(FieldProblem::new(name, format!("字段 {name} 须为字符串列表"), format!("field {name}: arrays must be of strings")));
    }
    if p.format.is_some() && p.kind != "string" {
        problems.push(FieldProblem::new(
            name,
            format!("字段 {name} 的格式只能用于文字"),
            format!("field {name}: format needs type string"),
        ));
    }
    if p.kind == "object" && p.properties.is_empty() {
        problems.push(FieldProblem::new(name, format!("分组字段 {name} 没有下级字段"), format!("group {name} has no properties")));
    }
    if p.kind != "object" && (!p.properties.is_empty() || !p.required.is_empty()) {
        problems.push(FieldProblem::new(
            name,
            format!("只有分组字段（object）可以有下级字段，{name} 不是"),
            format!("field {name}: only objects have properties"),
        ));
    }
    if let Some(binding) = &p.prefill {
        if in_group {
            problems.push(FieldProblem::new(
                name,
                format!("分组中的字段 {name} 不能预填"),
                format!("field {name}: fields of a group are not prefilled"),
            ));
        } else if let Err(why) = Binding::parse(binding) {
            problems.push(FieldProblem::new(
                name,
                format!("字段 {name} 的预填来源 {binding} 无效：{why}"),
                format!("field {name}: bad prefill binding {binding}: {why}"),
            ));
        }
    }
    for (sub, sp) in &p.properties {
        let mut inner = Vec::new();
        property_problems(sub, sp, true, &mut inner);
        problems.extend(inner.into_iter().map(|mut f| {
            f.field = format!("{name}.{}", f.field);
            f
        }));
    }
    for r in &p.required {
        if !p.properties.contains_key(r) {
            problems.push(FieldProblem::new(
                name,
                format!("分组 {name} 的必填字段 {r} 未定义"),
                format!("group {name}: required field {r} is not defined"),
            ));
        }
    }
}

impl Schema {
    /// Parse and check a schema as an editor submits it.
    pub fn parse(v: &Value) -> Result<Schema, Vec<FieldProblem>> {
        let schema: Schema = serde_json::from_value(v.clone())
            .map_err(|e| vec![FieldProblem::new("schema", format!("表单结构定义无效：{e}"), format!("the schema is not valid: {e}"))])?;
        let problems = schema.definition_problems();
        if problems.is_empty() { Ok(schema) } else { Err(problems) }
    }

    /// What is wrong with the definition itself (empty: nothing).
    pub fn definition_problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        if self.kind.as_deref().is_some_and(|k| k != "object") {
            problems.push(FieldProblem::new("type", "表单数据必须是对象（object）".into(), "the data must be an object".into()));
        }
        for (name, p) in &self.properties {
            property_problems(name, p, false, &mut problems);
        }
        for r in &self.required {
            if !self.properties.is_empty() && !self.properties.contains_key(r) {
                problems.push(FieldProblem::new(r, format!("必填字段 {r} 未定义"), format!("required field {r} is not defined")));
            }
        }
        for o in &self.order {
            if !self.properties.contains_key(o) {
                problems.push(FieldProblem::new(o, format!("排序中的字段 {o} 未定义"), format!("ordered field {o} is not defined")));
            }
        }
        problems
    }

    /// The label of a field: its title, else its key.
    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.properties.get(key).and_then(|p| p.title.as_deref()).unwrap_or(key)
    }

    /// The values of `form` as a reader sees them, in display order: (label,
    /// value), a group's fields each on its own, labelled 组·字段.
    pub fn labelled_values<'a>(&'a self, form: &'a serde_json::Map<String, Value>) -> Vec<(String, &'a Value)> {
        let mut out = Vec::new();
        for key in self.ordered_keys() {
            let Some(v) = form.get(key) else { continue };
            match (self.properties.get(key), v.as_object()) {
                (Some(p), Some(group)) if p.kind == "object" => {
                    for sub in p.properties.keys() {
                        if let Some(sv) = group.get(sub) {
                            out.push((format!("{}·{}", self.label(key), p.label(sub)), sv));
                        }
                    }
                }
                _ => out.push((self.label(key).to_string(), v)),
            }
        }
        out
    }

    /// The field keys in display order: `x-order` first, the rest by key.
    pub fn ordered_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.order.iter().map(String::as_str).filter(|k| self.properties.contains_key(*k)).collect();
        for k in self.properties.keys() {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        keys
    }

    /// Every problem with `data`, a complete submission (empty: it conforms).
    pub fn check(&self, data: &Value, today: Date) -> Vec<FieldProblem> {
        self.check_inner(data, today, true)
    }

    /// The problems of a draft: what is there must be right, but required
    /// fields may still be missing.
    pub fn check_draft(&self, data: &Value, today: Date) -> Vec<FieldProblem> {
        self.check_inner(data, today, false)
    }

    fn check_inner(&self, data: &Value, today: Date, complete: bool) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let empty = serde_json::Map::new();
        let obj = match data {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => return vec![FieldProblem::new("data", "数据必须是对象".into(), "the data must be an object".into())],
        };
        if complete {
            for r in &self.required {
                if obj.get(r).is_none_or(is_blank) {
                    let l = self.label(r);
                    out.push(FieldProblem::new(r, format!("{l}为必填项"), format!("{r} is required")));
                }
            }
        }
        for (key, value) in obj {
            let Some(p) = self.properties.get(key) else {
                if self.additional_properties == Some(false) {
                    out.push(FieldProblem::new(key, format!("不应有字段 {key}"), format!("unexpected field {key}")));
                }
                continue;
            };
            if value.is_null() || (!complete && is_blank(value)) {
                continue;
            }
            check_value(key, self.label(key), p, value, today, complete, &mut out);
        }
        out
    }
}

/// Null, an empty or blank string, or an empty list.
pub(crate) fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn check_value(key: &str, label: &str, p: &Property, value: &Value, today: Date, complete: bool, out: &mut Vec<FieldProblem>) {
    let type_ok = match p.kind.as_str() {
        "string" => value.is_string(),
        "integer" => value.is_i64(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    if !type_ok {
        let zh = match p.kind.as_str() {
            "string" => "文字",
            "integer" => "整数",
            "boolean" => "是/否",
            "object" => "一组字段",
            _ => "列表",
        };
        out.push(FieldProblem::new(key, format!("{label}应为{zh}"), format!("{key} must be of type {}", p.kind)));
        return;
    }
    if let Some(s) = value.as_str() {
        let chars = s.chars().count();
        if let Some(max) = p.max_length
            && chars > max
        {
            out.push(FieldProblem::new(key, format!("{label}不能超过{max}个字"), format!("{key} is longer than {max} characters")));
        }
        if let Some(min) = p.min_length
            && chars < min
        {
            out.push(FieldProblem::new(key, format!("{label}至少{min}个字"), format!("{key} is shorter than {min} characters")));
        }
        if let Some(format) = p.format
            && let Some((zh, en)) = format_problem(format, s.trim(), today)
        {
            out.push(FieldProblem::new(key, format!("{label}{zh}"), format!("{key}: {en}")));
        }
    }
    if let Some(allowed) = &p.allowed
        && !allowed.contains(value)
    {
        let list = allowed.iter().map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_string)).collect::<Vec<_>>().join("、");
        out.push(FieldProblem::new(key, format!("{label}应为以下之一：{list}"), format!("{key} must be one of: {list}")));
    }
    if let Some(n) = value.as_i64()
        && (p.minimum.is_some_and(|m| n < m) || p.maximum.is_some_and(|m| n > m))
    {
        let (lo, hi) = (p.minimum.map_or("-".into(), |m| m.to_string()), p.maximum.map_or("-".into(), |m| m.to_string()));
        out.push(FieldProblem::new(key, format!("{label}应在 {lo} 至 {hi} 之间"), format!("{key} must be within {lo}..{hi}")));
    }
    if let (Some(items), Some(list)) = (&p.items, value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            check_value(&format!("{key}[{i}]"), &format!("{label}第{}项", i + 1), items, item, today, complete, out);
        }
    }
    // A group: its fields as the form's own, named `group.field`, labelled 组·字段.
    if let Some(obj) = value.as_object() {
        if complete {
            for r in &p.required {
                if obj.get(r).is_none_or(is_blank) {
                    out.push(FieldProblem::new(
                        &format!("{key}.{r}"),
                        format!("{label}·{}为必填项", p.label(r)),
                        format!("{key}.{r} is required"),
                    ));
                }
            }
        }
        for (sub, v) in obj {
            let Some(sp) = p.properties.get(sub) else {
                out.push(FieldProblem::new(
                    &format!("{key}.{sub}"),
                    format!("不应有字段 {key}.{sub}"),
                    format!("unexpected field {key}.{sub}"),
                ));
                continue;
            };
            if v.is_null() || (!complete && is_blank(v)) {
                continue;
            }
            check_value(&format!("{key}.{sub}"), &format!("{label}·{}", p.label(sub)), sp, v, today, complete, out);
        }
    }
}

/// Why `s` is not in `format` (Chinese and English), or `None`.
fn format_problem(format: Format, s: &str, today: Date) -> Option<(String, String)> {
    match format {
        Format::Date => (s.len() != 10 || s.parse::<Date>().is_err())
            .then(|| ("应为日期（年-月-日，如 2026-01-31）".into(), "must be a date, YYYY-MM-DD".into())),
        Format::CitizenId => yiwang_codes::CitizenId::parse(s, today).err().map(|e| {
            use yiwang_errors::Coded;
            (format!("不是有效的公民身份号码：{}", e.message_zh()), format!("not a valid citizen ID: {}", e.message_en()))
        }),
        Format::Uscc => yiwang_codes::Uscc::parse(s).err().map(|e| {
            use yiwang_errors::Coded;
            (format!("不是有效的统一社会信用代码：{}", e.message_zh()), format!("not a valid USCC: {}", e.message_en()))
        }),
        Format::Phone => (!is_phone(s)).then(|| ("应为手机号码或带区号的电话".into(), "must be a mobile or landline number".into())),
        Format::Email => {
            let ok = s.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.') && !s.contains(char::is_whitespace)
            });
            (!ok).then(|| ("应为电子邮箱地址".into(), "must be an email address".into()))
        }
        Format::Postcode => (!(s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())))
            .then(|| ("应为6位数字的邮政编码".into(), "must be a 6-digit postcode".into())),
    }
}

/// 11-digit mobile (1[3-9]…) or a landline: 0 + area code, '-', 7–8 digits.
fn is_phone(s: &str) -> bool {
    let mobile = s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit()) && s.as_bytes()[1] >= b'3';
    let landline = s.split_once('-').is_some_and(|(area, number)| {
        (3..=4).contains(&area.len())
            && area.starts_with('0')
            && area.bytes().all(|b| b.is_ascii_digit())
            && (7..=8).contains(&number.len())
            && number.bytes().all(|b| b.is_ascii_digit())
    });
    mobile || landline
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> Date {
        jiff::civil::date(2026, 11, 24)
    }

    #[test]
    fn data_is_checked_field_by_field() {
        let schema = Schema::parse(&json!({
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
        assert!(schema.check(&json!({ "business_form": "单位食堂", "items": ["热食类食品制售"] }), today()).is_empty());
        let problems =
            schema.check(&json!({ "business_form": "网店", "staff": 0, "extra": 1, "items": ["一二三四五六七八九十十一"] }), today());
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
        assert_eq!(schema.check(&json!({}), today())[0].message_zh, "主体业态为必填项");
        // A draft may leave required fields out, but what it has must be right.
        assert!(schema.check_draft(&json!({}), today()).is_empty());
        assert_eq!(schema.check_draft(&json!({ "staff": "多" }), today())[0].message_zh, "从业人员应为整数");
        assert!(Schema::parse(&json!({ "properties": { "x": { "type": "date" } } })).is_err());
        assert!(Schema::parse(&json!({ "propertes": {} })).is_err());
        assert!(Schema::parse(&json!({})).is_ok_and(|s| s.check(&json!({ "anything": 1 }), today()).is_empty()));
    }

    #[test]
    fn a_group_of_fields_is_checked_as_the_forms_own() {
        let schema = Schema::parse(&json!({
            "required": ["applicant"],
            "properties": {
                "applicant": {
                    "type": "object", "title": "申请人", "required": ["age"],
                    "properties": {
                        "nationality": { "type": "string", "title": "国籍", "enum": ["CN", "US"] },
                        "age": { "type": "integer", "title": "年龄", "minimum": 0 },
                    },
                },
            },
        }))
        .unwrap_or_default();
        assert!(schema.check(&json!({ "applicant": { "nationality": "US", "age": 16 } }), today()).is_empty());
        let problems = schema.check(&json!({ "applicant": { "nationality": "FR", "height": 1 } }), today());
        let got: Vec<(&str, &str)> = problems.iter().map(|p| (p.field.as_str(), p.message_zh.as_str())).collect();
        assert_eq!(
            got,
            [
                ("applicant.age", "申请人·年龄为必填项"),
                ("applicant.height", "不应有字段 applicant.height"),
                ("applicant.nationality", "申请人·国籍应为以下之一：CN、US"),
            ]
        );
        assert_eq!(schema.check(&json!({ "applicant": "张三" }), today())[0].message_zh, "申请人应为一组字段");
        assert!(schema.check_draft(&json!({ "applicant": { "nationality": "CN" } }), today()).is_empty());
        let form = json!({ "applicant": { "age": 30, "nationality": "CN" } });
        let map = form.as_object().cloned().unwrap_or_default();
        let shown = schema.labelled_values(&map);
        assert_eq!(shown.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["申请人·年龄", "申请人·国籍"]);
        // Groups hold fields, not groups; their fields are not prefilled; an empty group is an error.
        let nested = json!({ "properties": { "g": { "type": "object", "properties": { "h": { "type": "object", "properties": { "x": { "type": "string" } } } } } } });
        assert_eq!(Schema::parse(&nested).unwrap_err()[0].field, "g.h");
        let prefilled =
            json!({ "properties": { "g": { "type": "object", "properties": { "n": { "type": "string", "x-prefill": "person.name" } } } } });
        assert!(Schema::parse(&prefilled).is_err());
        assert!(Schema::parse(&json!({ "properties": { "g": { "type": "object" } } })).is_err());
        assert!(Schema::parse(&json!({ "properties": { "s": { "type": "string", "required": ["x"] } } })).is_err());
    }

    #[test]
    fn formats_are_checked() {
        let schema = Schema::parse(&json!({
            "properties": {
                "id": { "type": "string", "title": "身份证号", "format": "citizen_id" },
                "uscc": { "type": "string", "title": "信用代码", "format": "uscc" },
                "phone": { "type": "string", "title": "电话", "format": "phone" },
                "mail": { "type": "string", "title": "邮箱", "format": "email" },
                "zip": { "type": "string", "title": "邮编", "format": "postcode" },
                "day": { "type": "string", "title": "日期", "format": "date" },
            },
        }))
        .unwrap_or_default();
        let good = json!({
            "id": "11010519491231002X", "uscc": "91350100M000100Y43", "phone": "13800138000",
            "mail": "a@b.cn", "zip": "310000", "day": "2026-02-28",
        });
        assert_eq!(schema.check(&good, today()), []);
        assert!(schema.check(&json!({ "phone": "0571-87654321" }), today()).is_empty());
        let bad = json!({
            "id": "110105194912310021", "uscc": "91350100M000100Y4X", "phone": "12345",
            "mail": "a@b", "zip": "31000", "day": "2026-02-30",
        });
        let problems = schema.check(&bad, today());
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["day", "id", "mail", "phone", "uscc", "zip"]);
        assert!(schema.check(&bad, today())[1].message_zh.starts_with("身份证号不是有效的公民身份号码"));
        // A format on a number and an unknown binding are definition errors.
        assert!(Schema::parse(&json!({ "properties": { "n": { "type": "integer", "format": "date" } } })).is_err());
        assert!(Schema::parse(&json!({ "properties": { "n": { "type": "string", "x-prefill": "wallet.x" } } })).is_err());
        assert!(Schema::parse(&json!({ "x-order": ["ghost"], "properties": {} })).is_err());
    }
}
