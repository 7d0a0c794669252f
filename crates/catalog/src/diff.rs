//! Differences between two versions of an item, field by field, for reviewers.

use serde::Serialize;
use serde_json::Value;

use crate::model::ItemDoc;

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Path such as `materials[1].name`.
    pub field: String,
    /// The Chinese label of the top-level element.
    pub label: &'static str,
    /// `added`, `removed` or `changed`.
    pub op: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&p, v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Array(_) => {}
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The Chinese label of a field path's top-level element.
pub fn label(field: &str) -> &'static str {
    let top = field.split(['.', '[']).next().unwrap_or(field);
    match top {
        "implementation_code" => "实施编码",
        "basic_code" => "基本编码",
        "name" => "事项名称",
        "aliases" => "别名",
        "task_type" => "事项类型",
        "handle_items" => "业务办理项",
        "by_law" => "设定依据",
        "power_source" => "权力来源",
        "use_level" => "行使层级",
        "power_division" => "权限划分",
        "exercise_content" => "行使内容",
        "agency" => "实施主体",
        "subject_nature" => "实施主体性质",
        "entrusted_by" => "委托部门",
        "handling_unit" => "承办机构",
        "joint_agencies" => "联办机构",
        "intermediary_services" => "中介服务",
        "accept_conditions" => "受理条件",
        "materials" => "申请材料",
        "process" => "办理流程",
        "legal_limit" => "法定办结时限",
        "promised_limit" => "承诺办结时限",
        "project_type" => "办件类型",
        "special_procedures" => "特别程序",
        "quantity_limit" => "数量限制",
        "visits" => "到办事现场次数",
        "visits_explain" => "到现场原因",
        "charged" => "是否收费",
        "fee_by_law" => "收费依据",
        "fees" => "收费项目",
        "results" => "办理结果",
        "service_objects" => "服务对象",
        "themes" => "服务主题",
        "handling_forms" => "办理形式",
        "jurisdiction" => "行政管辖",
        "universal_scope" => "通办范围",
        "flags" => "服务方式",
        "online_address" => "网办地址",
        "online_depth" => "网上办理深度",
        "system_level" => "运行系统层级",
        "min_real_name_level" => "实名等级",
        "place" => "办理地点",
        "hours" => "办理时间",
        "consult_phone" | "consult_other" => "咨询方式",
        "complaint_phone" | "complaint_other" => "监督投诉方式",
        "faqs" => "常见问题",
        "township_code" | "village_code" => "乡镇街道/村居社区",
        "reconsideration" => "行政复议",
        "litigation" => "行政诉讼",
        "local_task_code" => "地方实施编码",
        _ => "其他",
    }
}

/// Field-level differences from `before` to `after`, in document order.
pub fn diff(before: &ItemDoc, after: &ItemDoc) -> Vec<Change> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten("", &serde_json::to_value(before).unwrap_or(Value::Null), &mut a);
    flatten("", &serde_json::to_value(after).unwrap_or(Value::Null), &mut b);
    let old: std::collections::HashMap<&str, &str> = a.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let new: std::collections::HashMap<&str, &str> = b.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut changes = Vec::new();
    for (k, v) in &b {
        match old.get(k.as_str()) {
            None => changes.push(Change { field: k.clone(), label: label(k), op: "added", before: None, after: Some(v.clone()) }),
            Some(o) if o != v => changes.push(Change {
                field: k.clone(),
                label: label(k),
                op: "changed",
                before: Some((*o).to_string()),
                after: Some(v.clone()),
            }),
            _ => {}
        }
    }
    for (k, v) in &a {
        if !new.contains_key(k.as_str()) {
            changes.push(Change { field: k.clone(), label: label(k), op: "removed", before: Some(v.clone()), after: None });
        }
    }
    changes
}
