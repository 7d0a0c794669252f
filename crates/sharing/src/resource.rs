//! A resource's sharing attributes in the 政务信息资源目录 (domain.md §6): its
//! information items, 共享类型 with the legal basis where it is not 无条件,
//! 共享方式, update cycle, format, classification, and the exchange service
//! that serves it.

use serde::{Deserialize, Serialize};

/// 共享类型.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareType {
    /// 无条件共享: to every government department.
    Unconditional,
    /// 有条件共享: to some departments, or part of it to all.
    Conditional,
    /// 不予共享.
    None,
}

/// One information item (信息项).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceItem {
    /// The field name it travels under (`name`, `birth_date`).
    pub name: String,
    /// 信息项名称 as people read it (姓名).
    pub label: String,
    /// 数据类型: `string`, `date`, `number`, `boolean`, `code`.
    pub data_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSharing {
    pub share_type: ShareType,
    /// 共享条件 and its legal basis (法律、行政法规或政策依据): required unless 无条件.
    #[serde(default)]
    pub legal_basis: String,
    pub items: Vec<ResourceItem>,
    /// 共享方式: `api` (through the exchange) or `file`.
    #[serde(default = "api")]
    pub share_method: String,
    /// 更新周期: `realtime`, `daily`, `monthly`…
    #[serde(default)]
    pub update_cycle: String,
    /// 信息资源格式, e.g. `application/json`.
    #[serde(default)]
    pub format: String,
    /// 信息资源分类 (类/项/目/细目 digits).
    #[serde(default)]
    pub classification: String,
    /// The exchange service that serves it, `{subsystem}/{code}/v{n}` under
    /// the provider (e.g. `base-data/person/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

fn api() -> String {
    "api".into()
}

const DATA_TYPES: [&str; 5] = ["string", "date", "number", "boolean", "code"];

impl ResourceSharing {
    /// Problems as (field, Chinese, English).
    pub fn problems(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut push = |f: &str, zh: String, en: String| out.push((f.to_string(), zh, en));
        if self.share_type != ShareType::Unconditional && self.legal_basis.trim().is_empty() {
            push(
                "sharing.legal_basis",
                "有条件共享或不予共享须写明法律、行政法规或政策依据".into(),
                "conditional or no sharing needs its legal basis".into(),
            );
        }
        if self.items.is_empty() {
            push("sharing.items", "至少列出一个信息项".into(), "list at least one information item".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, item) in self.items.iter().enumerate() {
            let ok_name = !item.name.is_empty()
                && item.name.len() <= 64
                && item.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok_name || !seen.insert(item.name.as_str()) {
                push(
                    &format!("sharing.items[{i}].name"),
                    "信息项名须为小写字母、数字或下划线，且不重复".into(),
                    "item names are lower-case letters, digits or _, each once".into(),
                );
            }
            if item.label.trim().is_empty() {
                push(&format!("sharing.items[{i}].label"), "信息项名称不能为空".into(), "an item needs a label".into());
            }
            if !DATA_TYPES.contains(&item.data_type.as_str()) {
                push(
                    &format!("sharing.items[{i}].data_type"),
                    format!("数据类型须为 {}", DATA_TYPES.join("、")),
                    format!("data_type is one of {}", DATA_TYPES.join(", ")),
                );
            }
        }
        if !["api", "file"].contains(&self.share_method.as_str()) {
            push("sharing.share_method", "共享方式须为 api 或 file".into(), "share_method is api or file".into());
        }
        if let Some(s) = &self.service {
            let parts: Vec<&str> = s.split('/').collect();
            let word = |p: &str| !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let ok = matches!(parts.as_slice(), [sub, code, v] if word(sub) && word(code) && v.strip_prefix('v').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())));
            if !ok {
                push("sharing.service", "服务须为 子系统/服务代码/v版本".into(), "service is subsystem/code/v<n>".into());
            }
        }
        out
    }

    pub fn item_names(&self) -> Vec<String> {
        self.items.iter().map(|i| i.name.clone()).collect()
    }
}
