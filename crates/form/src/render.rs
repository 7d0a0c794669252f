//! What the portal needs to show a form (`field_views`) and to read an HTML
//! form post back into typed values (`coerce_pairs`). The HTML itself is the
//! web crate's template; this module decides widgets, values and messages.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::prefill::Filled;
use crate::schema::{FieldProblem, Format, Property, Schema, Widget};

/// One field as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldView {
    pub key: String,
    pub label: String,
    pub widget: Widget,
    /// The `type` of an `<input>`: text, tel, email, date or number.
    pub input_type: &'static str,
    /// The current value as text (a list: one item per line).
    pub value: String,
    /// For select and radio: (value, selected).
    pub options: Vec<(String, bool)>,
    pub checked: bool,
    pub required: bool,
    /// Filled from held data and not to be changed.
    pub locked: bool,
    /// Where a prefilled value came from, in Chinese.
    pub source_zh: Option<&'static str>,
    pub help: Option<String>,
    pub placeholder: Option<String>,
    pub max_length: Option<usize>,
    /// The first problem with this field, in Chinese and English.
    pub error: Option<String>,
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string)).collect::<Vec<_>>().join("\n"),
        Some(other) => other.to_string(),
    }
}

/// The fields of `schema` in display order, with `filled`'s values and the
/// problems of the last submission. A group's fields are shown each on its
/// own, keyed `group.field` and labelled 组·字段.
pub fn field_views(schema: &Schema, filled: &Filled, problems: &[FieldProblem]) -> Vec<FieldView> {
    let bindings = schema.bindings();
    let mut errors: BTreeMap<&str, String> = BTreeMap::new();
    for p in problems {
        // `items[0]` belongs to `items`.
        let key = p.field.split('[').next().unwrap_or(&p.field);
        errors.entry(key).or_insert_with(|| format!("{} / {}", p.message_zh, p.message_en));
    }
    let mut out = Vec::new();
    for key in schema.ordered_keys() {
        let Some(p) = schema.properties.get(key) else { continue };
        let value = filled.values.get(key);
        let required = schema.required.iter().any(|r| r == key);
        if p.kind == "object" {
            // A problem with the group itself (missing, not an object) shows on its first field.
            let mut group_error = errors.get(key).cloned();
            for (sub, sp) in &p.properties {
                let path = format!("{key}.{sub}");
                let mut v = view(&path, format!("{}·{}", schema.label(key), p.label(sub)), sp, value.and_then(|g| g.get(sub)));
                v.required = required && p.required.iter().any(|r| r == sub);
                v.error = errors.get(path.as_str()).cloned().or_else(|| group_error.take());
                out.push(v);
            }
            continue;
        }
        let mut v = view(key, schema.label(key).to_string(), p, value);
        v.required = required;
        v.locked = filled.locked.contains(key);
        v.source_zh = filled.prefilled.contains(key).then(|| bindings.get(key).map(|b| b.source_zh())).flatten();
        v.error = errors.get(key).cloned();
        out.push(v);
    }
    out
}

/// One field's view from its definition and value (not required, locked,
/// prefilled nor in error: the caller knows those).
fn view(key: &str, label: String, p: &Property, value: Option<&Value>) -> FieldView {
    let widget = p.widget.unwrap_or(match (p.kind.as_str(), p.format, &p.allowed) {
        ("boolean", ..) => Widget::Checkbox,
        ("array", ..) => Widget::Textarea,
        (_, Some(Format::Date), _) => Widget::Date,
        (_, _, Some(_)) => Widget::Select,
        _ => Widget::Text,
    });
    let text = text_of(value);
    let options = p
        .allowed
        .iter()
        .flatten()
        .map(|a| {
            let o = a.as_str().map_or_else(|| a.to_string(), str::to_string);
            let selected = o == text;
            (o, selected)
        })
        .collect();
    FieldView {
        key: key.to_string(),
        label,
        widget,
        input_type: match (p.kind.as_str(), p.format) {
            ("integer", _) => "number",
            (_, Some(Format::Phone)) => "tel",
            (_, Some(Format::Email)) => "email",
            (_, Some(Format::Date)) => "date",
            _ => "text",
        },
        checked: value == Some(&Value::Bool(true)),
        value: text,
        options,
        required: false,
        locked: false,
        source_zh: None,
        help: p.description.clone(),
        placeholder: p.placeholder.clone(),
        max_length: p.max_length,
        error: None,
    }
}

/// Read an HTML form post (`application/x-www-form-urlencoded` pairs) into a
/// JSON object by the schema's types: integers are parsed (a non-number stays
/// text, so validation names it), a checkbox is true when present, a list
/// takes one item per line, a group's fields come as `group.field`. Empty
/// fields are left out; keys the schema does not define (the CSRF token,
/// buttons) are ignored.
pub fn coerce_pairs(schema: &Schema, pairs: &[(String, String)]) -> Value {
    let mut out = Map::new();
    for (key, p) in &schema.properties {
        let value = if p.kind == "object" {
            let group: Map<String, Value> = p
                .properties
                .iter()
                .filter_map(|(sub, sp)| coerce_one(sp, &given(pairs, &format!("{key}.{sub}"))).map(|v| (sub.clone(), v)))
                .collect();
            (!group.is_empty()).then_some(Value::Object(group))
        } else {
            coerce_one(p, &given(pairs, key))
        };
        if let Some(v) = value {
            out.insert(key.clone(), v);
        }
    }
    Value::Object(out)
}

fn given<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

fn coerce_one(p: &Property, given: &[&str]) -> Option<Value> {
    match p.kind.as_str() {
        "boolean" => Some(Value::Bool(given.iter().any(|v| matches!(*v, "on" | "true" | "1" | "是")))),
        "array" => {
            let items: Vec<Value> =
                given.iter().flat_map(|v| v.lines()).map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        kind => given.last().map(|v| v.trim()).filter(|v| !v.is_empty()).map(|v| match (kind, v.parse::<i64>()) {
            ("integer", Ok(n)) => Value::from(n),
            _ => Value::String(v.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefill::{Sources, fill};
    use serde_json::json;

    fn schema() -> Schema {
        Schema::parse(&json!({
            "required": ["name", "form"],
            "x-order": ["name", "form"],
            "properties": {
                "name": { "type": "string", "title": "姓名", "x-prefill": "person.name" },
                "form": { "type": "string", "title": "主体业态", "enum": ["餐饮服务经营者", "单位食堂"] },
                "staff": { "type": "integer", "title": "从业人员" },
                "items": { "type": "array", "title": "经营项目", "items": { "type": "string" } },
                "chain": { "type": "boolean", "title": "连锁经营" },
                "opened": { "type": "string", "title": "开业日期", "format": "date" },
            },
        }))
        .unwrap_or_default()
    }

    #[test]
    fn a_form_post_is_read_by_type() {
        let pairs: Vec<(String, String)> = [
            ("_csrf", "t"),
            ("staff", "12"),
            ("items", "热食类食品制售\r\n\r\n冷食类食品制售"),
            ("chain", "on"),
            ("opened", " "),
            ("form", "单位食堂"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            coerce_pairs(&schema(), &pairs),
            json!({ "staff": 12, "items": ["热食类食品制售", "冷食类食品制售"], "chain": true, "form": "单位食堂" })
        );
        let typo = vec![("staff".to_string(), "十二".to_string())];
        assert_eq!(coerce_pairs(&schema(), &typo), json!({ "staff": "十二", "chain": false }));
    }

    #[test]
    fn a_group_is_posted_and_shown_field_by_field() {
        let s = Schema::parse(&json!({
            "required": ["applicant"],
            "properties": { "applicant": { "type": "object", "title": "申请人", "required": ["age"], "properties": {
                "age": { "type": "integer", "title": "年龄" },
                "nationality": { "type": "string", "title": "国籍" },
            } } },
        }))
        .unwrap_or_default();
        let pairs = vec![("applicant.age".to_string(), "16".to_string()), ("applicant.nationality".to_string(), "US".to_string())];
        let data = coerce_pairs(&s, &pairs);
        assert_eq!(data, json!({ "applicant": { "age": 16, "nationality": "US" } }));
        assert_eq!(coerce_pairs(&s, &[]), json!({}));
        let problems = s.check(&json!({ "applicant": { "nationality": "US" } }), jiff::civil::date(2026, 11, 24));
        let filled = fill(&s, &data, &Sources::default());
        let views = field_views(&s, &filled, &problems);
        let shown: Vec<(&str, &str, bool, &str)> =
            views.iter().map(|v| (v.key.as_str(), v.label.as_str(), v.required, v.value.as_str())).collect();
        assert_eq!(shown, [("applicant.age", "申请人·年龄", true, "16"), ("applicant.nationality", "申请人·国籍", false, "US")]);
        assert_eq!(views[0].error.as_deref(), Some("申请人·年龄为必填项 / applicant.age is required"));
        // A required group left out entirely: its problem shows on its first field.
        let problems = s.check(&json!({}), jiff::civil::date(2026, 11, 24));
        let views = field_views(&s, &fill(&s, &json!({}), &Sources::default()), &problems);
        assert_eq!(views[0].error.as_deref(), Some("申请人为必填项 / applicant is required"));
        assert_eq!(views[1].error, None);
    }

    #[test]
    fn views_follow_the_order_and_carry_errors() {
        let s = schema();
        let mut sources = Sources::default();
        sources.insert("person.name", json!("张三"));
        let filled = fill(&s, &json!({ "form": "单位食堂", "items": ["a", "b"] }), &sources);
        let problems = s.check(&json!({ "staff": "x" }), jiff::civil::date(2026, 11, 24));
        let views = field_views(&s, &filled, &problems);
        let keys: Vec<&str> = views.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["name", "form", "chain", "items", "opened", "staff"]);
        assert!(views[0].locked && views[0].value == "张三" && views[0].source_zh == Some("来自人口基础信息库"));
        assert_eq!(views[1].widget, Widget::Select);
        assert!(views[1].options.contains(&("单位食堂".to_string(), true)));
        assert_eq!((views[3].widget, views[3].value.as_str()), (Widget::Textarea, "a\nb"));
        assert_eq!((views[4].widget, views[4].input_type), (Widget::Date, "date"));
        assert_eq!(views[5].error.as_deref(), Some("从业人员应为整数 / staff must be of type integer"));
    }
}
