//! Validation of an item document: every problem is reported at once, each with
//! the field path, a stable reason code and messages in Chinese and English, so
//! an import can report "row 17, materials[2].name: 不能为空".

use serde::Serialize;
use yiwang_codes::{BasicCode, ImplementationCode, Uscc};
use yiwang_errors::Coded;

use crate::code_lists::{ProjectType, TimeUnit};
use crate::model::{ItemDoc, MaterialSource};

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON-style path, e.g. `materials[2].name`.
    pub field: String,
    /// Stable reason: `required`, `too_long`, `invalid_code`, `mismatch`, `range`,
    /// `format`, `duplicate` (and `conflict` from import).
    pub reason: &'static str,
    pub message_zh: String,
    pub message_en: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: &'static str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), reason, message_zh: zh.into(), message_en: en.into() }
    }

    fn required(field: impl Into<String>, label: &str) -> FieldError {
        let field = field.into();
        let en = format!("{field} is required");
        FieldError::new(field, "required", format!("{label}不能为空"), en)
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} / {}", self.field, self.message_zh, self.message_en)
    }
}

const NAME_MAX: usize = 200;

fn too_long(errors: &mut Vec<FieldError>, field: &str, label: &str, value: &str, max: usize) {
    let n = value.chars().count();
    if n > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("{label}不能超过{max}个字（现为{n}个）"),
            format!("{field} exceeds {max} characters ({n})"),
        ));
    }
}

fn phone_like(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '(' | ')' | '+' | '转' | '、' | ','))
}

/// Check an item document. An empty result means it may be saved; publishing
/// additionally needs [`publishable`].
pub fn validate(doc: &ItemDoc) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let code = match ImplementationCode::parse(&doc.implementation_code) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(FieldError::new("implementation_code", "invalid_code", format!("实施编码无效：{}", e.message_zh()), e.to_string()));
            None
        }
    };
    if let Err(e) = BasicCode::parse(&doc.basic_code) {
        errors.push(FieldError::new("basic_code", "invalid_code", format!("基本编码无效：{}", e.message_zh()), e.to_string()));
    }
    match Uscc::parse(&doc.agency.uscc) {
        Err(e) => {
            errors.push(FieldError::new("agency.uscc", "invalid_code", format!("实施主体代码无效：{}", e.message_zh()), e.to_string()))
        }
        Ok(uscc) => {
            if let Some(code) = &code {
                let info = code.info();
                if info.uscc.code != uscc.as_str() {
                    errors.push(FieldError::new(
                        "implementation_code",
                        "mismatch",
                        "实施编码前18位应为实施主体的统一社会信用代码",
                        "the first 18 characters of the implementation code must be the agency's USCC",
                    ));
                }
                if info.basic_code != doc.basic_code {
                    errors.push(FieldError::new(
                        "implementation_code",
                        "mismatch",
                        "实施编码后12位应为基本编码",
                        "the last 12 characters of the implementation code must be the basic code",
                    ));
                }
                if info.level != doc.use_level {
                    errors.push(FieldError::new(
                        "use_level",
                        "mismatch",
                        format!("行使层级与实施编码第19位（{}）不一致", info.level_name),
                        "the use level must match character 19 of the implementation code",
                    ));
                }
            }
        }
    }
    if doc.name.trim().is_empty() {
        errors.push(FieldError::required("name", "事项名称"));
    }
    too_long(&mut errors, "name", "事项名称", &doc.name, NAME_MAX);
    too_long(&mut errors, "agency.name", "实施主体", &doc.agency.name, 100);
    if doc.agency.name.trim().is_empty() {
        errors.push(FieldError::required("agency.name", "实施主体"));
    }
    for (i, a) in doc.aliases.iter().enumerate() {
        if a.trim().is_empty() {
            errors.push(FieldError::required(format!("aliases[{i}]"), "别名"));
        }
        too_long(&mut errors, &format!("aliases[{i}]"), "别名", a, 50);
    }
    for (i, h) in doc.handle_items.iter().enumerate() {
        if h.name.trim().is_empty() {
            errors.push(FieldError::required(format!("handle_items[{i}].name"), "业务办理项名称"));
        }
        too_long(&mut errors, &format!("handle_items[{i}].code"), "业务办理项编码", &h.code, 50);
        if !h.code.starts_with(&doc.implementation_code) {
            errors.push(FieldError::new(
                format!("handle_items[{i}].code"),
                "format",
                "业务办理项编码应以实施编码开头",
                "a handling-item code starts with the implementation code",
            ));
        }
    }
    for (field, limit) in [("legal_limit", &doc.legal_limit), ("promised_limit", &doc.promised_limit)] {
        if limit.amount > 3650 {
            errors.push(FieldError::new(format!("{field}.amount"), "range", "办结时限过大", format!("{field}.amount is out of range")));
        }
    }
    if doc.legal_limit.unit == doc.promised_limit.unit && doc.promised_limit.amount > doc.legal_limit.amount {
        errors.push(FieldError::new(
            "promised_limit.amount",
            "range",
            format!("承诺办结时限（{}）不能超过法定办结时限（{}）", doc.promised_limit.display(), doc.legal_limit.display()),
            "the promised time limit cannot exceed the legal one",
        ));
    }
    if doc.project_type == ProjectType::Immediate && doc.promised_limit.amount > 0 && doc.promised_limit.unit != TimeUnit::Hour {
        errors.push(FieldError::new(
            "project_type",
            "mismatch",
            "即办件的承诺时限应为0（当场办结）",
            "an immediate item (即办件) has a promised limit of 0",
        ));
    }
    if doc.visits > 9 {
        errors.push(FieldError::new("visits", "range", "到办事现场次数应在0–9之间", "visits must be between 0 and 9"));
    }
    if !(1..=3).contains(&doc.min_real_name_level) {
        errors.push(FieldError::new("min_real_name_level", "range", "实名等级应为1–3", "min_real_name_level must be 1, 2 or 3"));
    }
    let mut names = std::collections::HashSet::new();
    for (i, m) in doc.materials.iter().enumerate() {
        let field = format!("materials[{i}]");
        if m.name.trim().is_empty() {
            errors.push(FieldError::required(format!("{field}.name"), "材料名称"));
        } else if !names.insert(m.name.trim()) {
            errors.push(FieldError::new(format!("{field}.name"), "duplicate", format!("材料“{}”重复", m.name), "duplicate material name"));
        }
        too_long(&mut errors, &format!("{field}.name"), "材料名称", &m.name, NAME_MAX);
        match &m.source {
            MaterialSource::License { license_type } if license_type.trim().is_empty() => {
                errors.push(FieldError::required(format!("{field}.source.license_type"), "证照类型"))
            }
            MaterialSource::Shared { resource } if resource.trim().is_empty() => {
                errors.push(FieldError::required(format!("{field}.source.resource"), "共享数据资源"))
            }
            _ => {}
        }
        if m.commitment_allowed && m.source.is_exempt() {
            errors.push(FieldError::new(
                format!("{field}.commitment_allowed"),
                "conflict",
                "免提交的材料无需告知承诺",
                "a material the government holds needs no commitment",
            ));
        }
    }
    if let Some(form) = &doc.form {
        for p in form.definition_problems() {
            errors.push(FieldError::new(format!("form.{}", p.field), "form", p.message_zh, p.message_en));
        }
    }
    if doc.charged && doc.fees.is_empty() {
        errors.push(FieldError::new("fees", "required", "收费事项应列出收费项目", "a charged item lists its fees"));
    }
    if !doc.charged && !doc.fees.is_empty() {
        errors.push(FieldError::new(
            "charged",
            "mismatch",
            "列有收费项目但标为不收费",
            "fees are listed but the item is marked free of charge",
        ));
    }
    for (i, f) in doc.fees.iter().enumerate() {
        if f.name.trim().is_empty() {
            errors.push(FieldError::required(format!("fees[{i}].name"), "收费项目名称"));
        }
        if f.standard.trim().is_empty() {
            errors.push(FieldError::required(format!("fees[{i}].standard"), "收费标准"));
        }
        if let (Some(min), Some(max)) = (f.min_fen, f.max_fen)
            && min > max
        {
            errors.push(FieldError::new(
                format!("fees[{i}].min_fen"),
                "range",
                "收费标准的下限不能高于上限",
                "the fee's minimum is above its maximum",
            ));
        }
    }
    for (i, r) in doc.results.iter().enumerate() {
        if r.name.trim().is_empty() {
            errors.push(FieldError::required(format!("results[{i}].name"), "结果名称"));
        }
    }
    for (i, s) in doc.process.iter().enumerate() {
        if s.name.trim().is_empty() {
            errors.push(FieldError::required(format!("process[{i}].name"), "办理环节名称"));
        }
    }
    for (i, q) in doc.faqs.iter().enumerate() {
        if q.question.trim().is_empty() || q.answer.trim().is_empty() {
            errors.push(FieldError::required(format!("faqs[{i}]"), "常见问题的问与答"));
        }
    }
    for (field, label, value) in
        [("consult_phone", "咨询电话", &doc.consult_phone), ("complaint_phone", "监督投诉电话", &doc.complaint_phone)]
    {
        if !value.is_empty() && !phone_like(value) {
            errors.push(FieldError::new(field, "format", format!("{label}格式不正确"), format!("{field} is not a phone number")));
        }
    }
    for (field, url) in [("online_address.pc", &doc.online_address.pc), ("online_address.mobile", &doc.online_address.mobile)] {
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
            errors.push(FieldError::new(field, "format", "网办地址应为网址", format!("{field} must be a URL")));
        }
    }
    errors
}

/// What a version needs before a reviewer may publish it: the guide blocks a
/// citizen relies on must be filled in.
pub fn publishable(doc: &ItemDoc) -> Vec<FieldError> {
    let mut errors = validate(doc);
    let required: [(&str, &str, bool); 7] = [
        ("by_law", "设定依据", doc.by_law.trim().is_empty()),
        ("accept_conditions", "受理条件", doc.accept_conditions.trim().is_empty()),
        ("service_objects", "服务对象", doc.service_objects.is_empty()),
        ("handling_forms", "办理形式", doc.handling_forms.is_empty()),
        ("place", "办理地点", doc.place.trim().is_empty()),
        ("hours", "办理时间", doc.hours.trim().is_empty()),
        ("consult_phone", "咨询电话", doc.consult_phone.trim().is_empty()),
    ];
    for (field, label, missing) in required {
        if missing {
            errors.push(FieldError::required(field, label));
        }
    }
    if doc.complaint_phone.trim().is_empty() {
        errors.push(FieldError::required("complaint_phone", "监督投诉电话"));
    }
    if doc.process.is_empty() {
        errors.push(FieldError::required("process", "办理流程"));
    }
    if doc.results.is_empty() {
        errors.push(FieldError::required("results", "办理结果"));
    }
    errors
}
