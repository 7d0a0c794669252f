//! An item as the GB/T 39046-2020 事项 data set (表4, domain.md §1.4) carries
//! it up the tiers (汇聚): one record per published version, with the
//! national exchange's field names.

use serde_json::{Value, json};

use crate::model::{ItemDoc, MaterialSource};

/// The record kind a published version goes up as.
pub const ITEM_PUBLISHED: &str = "item.published";

/// The 事项 record of a published version.
pub fn item_record(doc: &ItemDoc, version: i64) -> Value {
    let flag = |b: bool| if b { "1" } else { "0" };
    let materials: Vec<Value> = doc
        .materials
        .iter()
        .map(|m| {
            let (source, evidence) = match &m.source {
                MaterialSource::Applicant => ("applicant", String::new()),
                MaterialSource::License { license_type } => ("license", license_type.clone()),
                MaterialSource::Shared { resource } => ("shared", resource.clone()),
            };
            json!({ "material_name": m.name, "is_need": m.necessity.code(), "source_type": source, "source_code": evidence })
        })
        .collect();
    json!({
        "task_name": doc.name,
        "catalog_code": doc.basic_code,
        "task_code": doc.implementation_code,
        "task_version": version,
        "task_type": doc.task_type.code(),
        "by_law": doc.by_law,
        "use_level": doc.use_level.digit().to_string(),
        "dept_name": doc.agency.name,
        "dept_code": doc.agency.uscc,
        "division_code": doc.agency.division_code,
        "accept_condition": doc.accept_conditions,
        "anticipate_day": doc.legal_limit.amount,
        "anticipate_type": doc.legal_limit.unit.code(),
        "promise_day": doc.promised_limit.amount,
        "promise_type": doc.promised_limit.unit.code(),
        "project_type": doc.project_type.code(),
        "limit_scene_num": doc.visits,
        "is_charge": flag(doc.charged),
        "serve_type": doc.service_objects.iter().map(|o| o.code()).collect::<Vec<_>>().join("^"),
        "is_online": flag(doc.fully_online()),
        "universal_scope": doc.universal_scope.code(),
        "materials": materials,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_version_goes_up_with_its_codes_and_materials() {
        let (_, spec) = crate::demo_items::ITEMS.iter().find(|(_, s)| s.name == "户口迁移（跨省通办）").unwrap();
        let place = crate::samples::Place {
            agency: crate::AgencyRef {
                uscc: "11320100002600026X".into(), name: "南京市公安局".into(), division_code: "320100".into()
            },
            level: yiwang_codes::UseLevel::Municipal,
            hall: "南京市民服务中心".into(),
            phone: "025-12345".into(),
        };
        let doc = crate::samples::build(spec, &place, &|k| format!("code-of-{k}")).unwrap();
        let r = item_record(&doc, 3);
        assert_eq!((r["task_code"].as_str(), r["task_version"].as_i64()), (Some(doc.implementation_code.as_str()), Some(3)));
        assert_eq!((r["catalog_code"].as_str(), r["task_type"].as_str()), (Some("000107012000"), Some("07")));
        assert_eq!((r["dept_code"].as_str(), r["use_level"].as_str()), (Some("11320100002600026X"), Some("3")));
        assert_eq!(r["anticipate_day"], 20);
        let sources: Vec<(&str, &str)> = r["materials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["source_type"].as_str().unwrap(), m["source_code"].as_str().unwrap()))
            .collect();
        assert_eq!(sources, [("applicant", ""), ("license", "code-of-id_card"), ("shared", "code-of-population")]);
    }
}
