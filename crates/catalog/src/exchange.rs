//! Import and export (docs/catalog-format.md).
//!
//! - **Our JSON**: `{"format": "yiwang-catalog/1", "items": [ItemDoc…]}` or a bare
//!   array of items; field names are those of [`ItemDoc`].
//! - **National exchange**: rows named as in the national schema (`catalog_code`,
//!   `task_code`, `task_name`, child arrays `material`, `fee_project`, `questions`).
//!   Field names the sources confirm are marked [S] in domain.md; the rest are our
//!   inference [I] and live in one table here, [`NATIONAL_FIELDS`], so a province
//!   with different names changes one place.
//! - **CPSV-AP 3.x JSON-LD** export of published items.
//!
//! Each row is converted and validated on its own; a bad row is reported by row
//! number and field, and never stops the good rows.

use serde_json::{Map, Value, json};

use crate::code_lists::{ServiceObject, split_multi};
use crate::model::ItemDoc;
use crate::validate::{FieldError, validate};

/// The format marker of our JSON.
pub const FORMAT: &str = "yiwang-catalog/1";

/// Which dialect a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Yiwang,
    National,
}

/// One row of an import: its 1-based number and either the item or every problem.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub row: usize,
    /// The item's implementation code as given (for the report), if any.
    pub code: Option<String>,
    pub outcome: Result<ItemDoc, Vec<FieldError>>,
}

/// Why a whole file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is not JSON: {0}")]
    NotJson(String),
    #[error("the file holds neither a list of items nor an object with \"items\"")]
    Shape,
}

impl yiwang_errors::Coded for FileError {
    fn code(&self) -> &'static str {
        match self {
            FileError::NotJson(_) => "catalog.import.not_json",
            FileError::Shape => "catalog.import.shape",
        }
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        yiwang_errors::ErrorKind::BadRequest
    }
    fn message_zh(&self) -> String {
        match self {
            FileError::NotJson(e) => format!("文件不是有效的JSON：{e}"),
            FileError::Shape => "文件应为事项数组，或含 items 数组的对象".into(),
        }
    }
}

/// Rows of `(national name, our field, how)`: how is `text`, `code`,
/// `multi` ('^'-joined list), `bool` (1/0) or `int`.
pub type FieldTable = &'static [(&'static str, &'static str, &'static str)];

/// National field name → our field name, for the top level of an item row.
pub const NATIONAL_FIELDS: FieldTable = &[
    ("task_code", "implementation_code", "text"),
    ("catalog_code", "basic_code", "text"),
    ("task_name", "name", "text"),
    ("task_type", "task_type", "code"),
    ("by_law", "by_law", "text"),
    ("power_source", "power_source", "code"),
    ("use_level", "use_level", "code"),
    ("local_task_code", "local_task_code", "text"),
    ("dept_code", "agency.uscc", "text"),
    ("dept_name", "agency.name", "text"),
    ("dept_type", "subject_nature", "code"),
    ("entrust_name", "entrusted_by", "text"),
    ("service_type", "intermediary_services", "multi"),
    ("accept_condition", "accept_conditions", "text"),
    ("anticipate_day", "legal_limit.amount", "int"),
    ("anticipate_type", "legal_limit.unit", "code"),
    ("anticipate_explain", "legal_limit.explain", "text"),
    ("promise_day", "promised_limit.amount", "int"),
    ("promise_type", "promised_limit.unit", "code"),
    ("promise_explain", "promised_limit.explain", "text"),
    ("project_type", "project_type", "code"),
    ("special_procedure", "special_procedures", "text"),
    ("limit_num", "quantity_limit", "text"),
    ("limit_scene_num", "visits", "int"),
    ("limit_scene_explain", "visits_explain", "text"),
    ("is_charge", "charged", "bool"),
    ("charge_basis", "fee_by_law", "text"),
    ("service_object", "service_objects", "multi"),
    ("theme_natural", "themes.natural", "multi"),
    ("theme_legal", "themes.legal", "multi"),
    ("handle_type", "handling_forms", "multi"),
    ("tongban_range", "universal_scope", "code"),
    ("is_appoint", "flags.appointment", "bool"),
    ("is_online_pay", "flags.online_payment", "bool"),
    ("is_express", "flags.express_delivery", "bool"),
    ("is_online", "flags.online", "bool"),
    ("is_entry_center", "flags.in_hall", "bool"),
    ("is_self_service", "flags.self_service", "bool"),
    ("web_apply_url", "online_address.pc", "text"),
    ("mobile_apply_url", "online_address.mobile", "text"),
    ("online_handle_depth", "online_depth", "code"),
    ("system_level", "system_level", "code"),
    ("transact_addr", "place", "text"),
    ("transact_time", "hours", "text"),
    ("link_tel", "consult_phone", "text"),
    ("supervise_tel", "complaint_phone", "text"),
    ("town_code", "township_code", "text"),
    ("village_code", "village_code", "text"),
    ("jurisdiction", "jurisdiction", "text"),
    ("aliases", "aliases", "multi"),
];

/// Material child-table fields.
pub const NATIONAL_MATERIAL_FIELDS: FieldTable = &[
    ("material_name", "name", "text"),
    ("material_type", "kind", "code"),
    ("material_format", "form", "code"),
    ("is_need", "necessity", "code"),
    ("source_type", "source_channel", "code"),
    ("source_explain", "source_explain", "text"),
    ("page_num", "originals", "int"),
    ("copy_num", "copies", "int"),
    ("page_format", "paper_format", "text"),
    ("form_guid", "blank_form", "text"),
    ("example_guid", "example", "text"),
    ("fill_explain", "fill_notes", "text"),
    ("accept_stand", "accept_standard", "text"),
    ("by_law", "by_law", "text"),
    ("issue_org", "issuing_body", "text"),
    ("remark", "remark", "text"),
];

/// Fee child-table fields.
pub const NATIONAL_FEE_FIELDS: FieldTable = &[
    ("fee_name", "name", "text"),
    ("fee_stand", "standard", "text"),
    ("by_law", "by_law", "text"),
    ("is_desc", "reducible", "bool"),
    ("desc_by_law", "reduce_by_law", "text"),
];

/// The national import code numbers service objects differently from GB/T 39046
/// (domain.md §1.5): 5 非法人企业, 6 行政机关, 9 其他组织.
pub fn service_object_from_national(code: &str) -> Option<ServiceObject> {
    Some(match code.trim() {
        "1" => ServiceObject::NaturalPerson,
        "2" => ServiceObject::EnterpriseLegalPerson,
        "3" => ServiceObject::InstitutionLegalPerson,
        "4" => ServiceObject::SocialOrganisation,
        "5" | "9" => ServiceObject::OtherOrganisation,
        "6" => ServiceObject::AdministrativeOrgan,
        _ => return None,
    })
}

fn set_path(target: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            target.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = target.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Convert one value by the `how` of the field table; errors name the national field.
fn convert(national: &str, how: &str, v: &Value, errors: &mut Vec<FieldError>, path: &str) -> Option<Value> {
    let text = as_text(v);
    match how {
        "text" | "code" => Some(Value::String(text.trim().to_string())),
        "multi" => match v {
            Value::Array(items) => Some(Value::Array(items.iter().map(|i| Value::String(as_text(i))).collect())),
            _ => Some(Value::Array(split_multi(&text).map(|s| Value::String(s.to_string())).collect())),
        },
        "bool" => match text.trim() {
            "1" | "true" | "是" | "Y" => Some(Value::Bool(true)),
            "0" | "false" | "否" | "N" | "" => Some(Value::Bool(false)),
            other => {
                errors.push(FieldError::new(
                    format!("{path}{national}"),
                    "format",
                    format!("应为1（是）或0（否），实为“{other}”"),
                    format!("{national} must be 1 or 0, got {other:?}"),
                ));
                None
            }
        },
        _ => match text.trim().parse::<u64>() {
            Ok(n) => Some(Value::from(n)),
            Err(_) if text.trim().is_empty() => Some(Value::from(0)),
            Err(_) => {
                errors.push(FieldError::new(
                    format!("{path}{national}"),
                    "format",
                    format!("应为非负整数，实为“{}”", text.trim()),
                    format!("{national} must be a non-negative integer, got {:?}", text.trim()),
                ));
                None
            }
        },
    }
}

fn map_object(row: &Map<String, Value>, table: &[(&str, &str, &str)], errors: &mut Vec<FieldError>, path: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (national, ours, how) in table {
        if let Some(v) = row.get(*national)
            && let Some(converted) = convert(national, how, v, errors, path)
        {
            set_path(&mut out, ours, converted);
        }
    }
    out
}

/// Translate a national row into our JSON shape.
fn national_to_ours(row: &Map<String, Value>) -> Result<Value, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = map_object(row, NATIONAL_FIELDS, &mut errors, "");
    if let Some(Value::Array(objects)) = out.get("service_objects").cloned() {
        let mut mapped = Vec::new();
        for o in objects {
            let code = as_text(&o);
            match service_object_from_national(&code) {
                Some(s) => mapped.push(Value::String(s.code().into())),
                None => errors.push(FieldError::new(
                    "service_object",
                    "invalid_code",
                    format!("服务对象代码“{code}”无效"),
                    format!("unknown service_object code {code:?}"),
                )),
            }
        }
        out.insert("service_objects".into(), Value::Array(mapped));
    }
    if let Some(v) = row.get("task_handle_item")
        && !as_text(v).trim().is_empty()
    {
        let name = row.get("task_handle_item_name").map(as_text).unwrap_or_else(|| as_text(row.get("task_name").unwrap_or(&Value::Null)));
        out.insert("handle_items".into(), json!([{ "code": as_text(v).trim(), "name": name }]));
    }
    if let Some(flow) = row.get("handle_flow") {
        let steps: Vec<Value> = as_text(flow)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (name, detail) = l.split_once(['：', ':']).unwrap_or((l, ""));
                json!({ "name": name.trim(), "detail": detail.trim() })
            })
            .collect();
        out.insert("process".into(), Value::Array(steps));
    }
    if let Some(Value::String(other)) = row.get("other_dept") {
        let orgs: Vec<Value> = split_multi(other).map(|n| json!({ "name": n })).collect();
        out.insert("joint_agencies".into(), Value::Array(orgs));
    }
    let results: Vec<Value> = match row.get("result_name") {
        Some(Value::String(names)) => split_multi(names)
            .map(|n| json!({ "name": n, "result_type": as_text(row.get("result_type").unwrap_or(&json!("9"))).trim() }))
            .collect(),
        _ => vec![],
    };
    if !results.is_empty() {
        out.insert("results".into(), Value::Array(results));
    }
    for (key, ours, table) in [("material", "materials", NATIONAL_MATERIAL_FIELDS), ("fee_project", "fees", NATIONAL_FEE_FIELDS)] {
        match row.get(key) {
            Some(Value::Array(children)) => {
                let mut mapped = Vec::new();
                for (i, child) in children.iter().enumerate() {
                    match child {
                        Value::Object(c) => {
                            let mut m = map_object(c, table, &mut errors, &format!("{key}[{i}]."));
                            if key == "material" {
                                // Our extension: where the material comes from (免提交).
                                let source = match (c.get("license_type"), c.get("share_resource")) {
                                    (Some(l), _) if !as_text(l).is_empty() => json!({ "kind": "license", "license_type": as_text(l) }),
                                    (_, Some(r)) if !as_text(r).is_empty() => json!({ "kind": "shared", "resource": as_text(r) }),
                                    _ => json!({ "kind": "applicant" }),
                                };
                                m.insert("source".into(), source);
                            }
                            mapped.push(Value::Object(m));
                        }
                        _ => errors.push(FieldError::new(format!("{key}[{i}]"), "format", "应为对象", "must be an object")),
                    }
                }
                out.insert(ours.into(), Value::Array(mapped));
            }
            Some(Value::Null) | None => {}
            Some(_) => errors.push(FieldError::new(key, "format", "应为数组", "must be an array")),
        }
    }
    if let Some(Value::Array(qs)) = row.get("questions") {
        let faqs: Vec<Value> = qs
            .iter()
            .map(|q| json!({ "question": as_text(q.get("question").unwrap_or(&Value::Null)), "answer": as_text(q.get("answer").unwrap_or(&Value::Null)) }))
            .collect();
        out.insert("faqs".into(), Value::Array(faqs));
    }
    if errors.is_empty() { Ok(Value::Object(out)) } else { Err(errors) }
}

/// Our field path → the national name, for reporting errors in the caller's terms.
fn national_path(path: &str) -> String {
    let (head, rest) = match path.find(['.', '[']) {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    let child_tables: [(&str, &str, FieldTable); 2] =
        [("materials", "material", NATIONAL_MATERIAL_FIELDS), ("fees", "fee_project", NATIONAL_FEE_FIELDS)];
    for (ours, national, table) in child_tables {
        if head == ours {
            // materials[2].name → material[2].material_name
            if let Some((index, field)) = rest.split_once("].") {
                let field_nat = table.iter().find(|(_, o, _)| *o == field).map(|(n, _, _)| *n).unwrap_or(field);
                return format!("{national}{index}].{field_nat}");
            }
            return format!("{national}{rest}");
        }
    }
    NATIONAL_FIELDS.iter().find(|(_, o, _)| *o == path || *o == head).map(|(n, _, _)| (*n).to_string()).unwrap_or_else(|| path.to_string())
}

fn deserialize(value: Value, dialect: Dialect) -> Result<ItemDoc, Vec<FieldError>> {
    let doc: ItemDoc = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names a missing field only in its message; the path is its parent.
        let missing = inner.strip_prefix("missing field `").and_then(|r| r.split_once('`')).map(|(name, _)| name.to_string());
        let path = match (&missing, path.as_str()) {
            (Some(name), ".") => name.clone(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, _) => path,
        };
        let field = if dialect == Dialect::National { national_path(&path) } else { path };
        let field = if field == "." { "(item)".to_string() } else { field };
        match missing {
            Some(_) => vec![FieldError::new(field.clone(), "required", "缺少必填字段", format!("{field} is required"))],
            None => vec![FieldError::new(field, "format", format!("字段格式不正确：{inner}"), inner)],
        }
    })?;
    let errors = validate(&doc);
    if errors.is_empty() {
        Ok(doc)
    } else if dialect == Dialect::National {
        Err(errors
            .into_iter()
            .map(|mut e| {
                e.field = national_path(&e.field);
                e
            })
            .collect())
    } else {
        Err(errors)
    }
}

/// Read a file in either dialect. The dialect is detected per row: a row with
/// `task_code` is national, one with `implementation_code` is ours.
pub fn parse_file(text: &str) -> Result<Vec<ImportRow>, FileError> {
    let root: Value = serde_json::from_str(text).map_err(|e| FileError::NotJson(e.to_string()))?;
    let rows = match root {
        Value::Array(rows) => rows,
        Value::Object(mut o) => match o.remove("items") {
            Some(Value::Array(rows)) => rows,
            _ => return Err(FileError::Shape),
        },
        _ => return Err(FileError::Shape),
    };
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let row_no = i + 1;
            let Value::Object(map) = row else {
                return ImportRow {
                    row: row_no,
                    code: None,
                    outcome: Err(vec![FieldError::new("(row)", "format", "每行应为一个对象", "each row must be an object")]),
                };
            };
            let national = map.contains_key("task_code") && !map.contains_key("implementation_code");
            let code = map.get(if national { "task_code" } else { "implementation_code" }).map(as_text);
            let outcome = if national {
                national_to_ours(&map).and_then(|v| deserialize(v, Dialect::National))
            } else {
                deserialize(Value::Object(map), Dialect::Yiwang)
            };
            ImportRow { row: row_no, code, outcome }
        })
        .collect())
}

/// Our JSON for a set of items.
pub fn to_yiwang_json(items: &[ItemDoc]) -> Value {
    json!({ "format": FORMAT, "items": items })
}

/// ISO 8601 duration of a time limit (working days are written as days; CPSV-AP
/// has no working-day unit, so the description says so).
fn iso_duration(l: &crate::model::TimeLimit) -> String {
    use crate::code_lists::TimeUnit::*;
    match l.unit {
        WorkingDay | NaturalDay => format!("P{}D", l.amount),
        Month => format!("P{}M", l.amount),
        Year => format!("P{}Y", l.amount),
        Hour => format!("PT{}H", l.amount),
    }
}

/// The JSON-LD context of our CPSV-AP export: CPSV-AP 3.x terms mapped to their IRIs.
pub fn cpsv_context() -> Value {
    json!({
        "cpsv": "http://purl.org/vocab/cpsv#",
        "cv": "http://data.europa.eu/m8g/",
        "dct": "http://purl.org/dc/terms/",
        "dcat": "http://www.w3.org/ns/dcat#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "eli": "http://data.europa.eu/eli/ontology#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "PublicService": "cpsv:PublicService",
        "PublicOrganisation": "cv:PublicOrganisation",
        "Evidence": "cv:Evidence",
        "Output": "cv:Output",
        "Cost": "cv:Cost",
        "Channel": "cv:Channel",
        "ContactPoint": "cv:ContactPoint",
        "Requirement": "cv:Requirement",
        "LegalResource": "eli:LegalResource",
        "Rule": "cpsv:Rule",
        "identifier": "dct:identifier",
        "name": { "@id": "dct:title", "@language": "zh" },
        "description": { "@id": "dct:description", "@language": "zh" },
        "prefLabel": { "@id": "skos:prefLabel", "@language": "zh" },
        "keyword": { "@id": "dcat:keyword", "@language": "zh" },
        "spatial": { "@id": "dct:spatial", "@type": "@id" },
        "hasCompetentAuthority": { "@id": "cv:hasCompetentAuthority", "@type": "@id" },
        "hasInput": { "@id": "cpsv:hasInput" },
        "produces": { "@id": "cpsv:produces" },
        "hasCost": { "@id": "cv:hasCost" },
        "hasChannel": { "@id": "cv:hasChannel" },
        "hasContactPoint": { "@id": "cv:hasContactPoint" },
        "holdsRequirement": { "@id": "cv:holdsRequirement" },
        "hasLegalResource": { "@id": "cv:hasLegalResource" },
        "follows": { "@id": "cpsv:follows" },
        "thematicArea": { "@id": "cv:thematicArea", "@language": "zh" },
        "processingTime": { "@id": "cv:processingTime", "@type": "xsd:duration" },
        "telephone": "cv:telephone",
        "openingHours": { "@id": "cv:openingHours", "@language": "zh" },
        "value": { "@id": "cv:value" },
        "currency": { "@id": "cv:currency", "@type": "@id" },
        "ownedBy": { "@id": "cv:ownedBy", "@type": "@id" },
        "channelType": { "@id": "dct:type", "@language": "zh" },
        "isRequired": { "@id": "cv:isRequired", "@type": "xsd:boolean" },
    })
}

/// One item as a CPSV-AP PublicService node. `base` is the node's public URL.
pub fn cpsv_service(doc: &ItemDoc, base: &str) -> Value {
    let agency_id = format!("urn:uscc:{}", doc.agency.uscc);
    let service_id = format!("{base}/items/{}", doc.implementation_code);
    let inputs: Vec<Value> = doc
        .materials
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({
                "@id": format!("{service_id}#material-{}", i + 1),
                "@type": "Evidence",
                "name": m.name,
                "description": format!("{}；{}；{}", m.necessity.name_zh(), m.form.name_zh(), m.source.label_zh()),
                "isRequired": m.is_mandatory(),
            })
        })
        .collect();
    let outputs: Vec<Value> =
        doc.results.iter().map(|r| json!({ "@type": "Output", "name": r.name, "description": r.result_type.name_zh() })).collect();
    let costs: Vec<Value> = doc
        .fees
        .iter()
        .map(|f| json!({ "@type": "Cost", "description": format!("{}：{}", f.name, f.standard), "currency": "http://publications.europa.eu/resource/authority/currency/CNY", "ownedBy": agency_id }))
        .collect();
    let channels: Vec<Value> =
        doc.handling_forms.iter().map(|f| json!({ "@type": "Channel", "channelType": f.name_zh(), "ownedBy": agency_id })).collect();
    let themes: Vec<&str> = doc.all_themes().collect();
    json!({
        "@id": service_id,
        "@type": "PublicService",
        "identifier": doc.implementation_code,
        "name": doc.name,
        "description": doc.accept_conditions,
        "keyword": doc.aliases,
        "thematicArea": themes,
        "hasCompetentAuthority": {
            "@id": agency_id,
            "@type": "PublicOrganisation",
            "identifier": doc.agency.uscc,
            "prefLabel": doc.agency.name,
            "spatial": format!("urn:gb2260:{}", doc.agency.division_code),
        },
        "hasInput": inputs,
        "produces": outputs,
        "hasCost": costs,
        "hasChannel": channels,
        "hasContactPoint": { "@type": "ContactPoint", "telephone": doc.consult_phone, "openingHours": doc.hours },
        "hasLegalResource": { "@type": "LegalResource", "description": doc.by_law },
        "holdsRequirement": { "@type": "Requirement", "description": doc.accept_conditions },
        "follows": doc.process.iter().map(|s| json!({ "@type": "Rule", "name": s.name, "description": s.detail })).collect::<Vec<_>>(),
        "processingTime": iso_duration(&doc.promised_limit),
    })
}

/// A CPSV-AP JSON-LD document of published items.
pub fn to_cpsv_ap(items: &[ItemDoc], base: &str) -> Value {
    json!({
        "@context": cpsv_context(),
        "@graph": items.iter().map(|d| cpsv_service(d, base)).collect::<Vec<_>>(),
    })
}
