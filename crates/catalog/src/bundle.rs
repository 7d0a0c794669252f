//! 一件事一次办 / 并联审批: a bundle of items of one life or business event
//! (开办餐饮店: 营业执照 + 食品经营许可 + 公章刻制 + 税务), applied for with
//! one form and one material set, accepted once, handled by each department
//! in parallel as a child case, and joined when every child is concluded.
//! The bundle names its items by implementation code; one is the lead item
//! (牵头事项) whose agency numbers the bundle.

use serde::{Deserialize, Serialize};

use crate::model::{ItemDoc, MaterialSource};
use crate::validate::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Stable key in URLs: lowercase ASCII letters, digits and `-`.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The region whose node offers it (行政区划, 6 digits).
    pub division_code: String,
    /// The lead item (牵头事项), one of `items`.
    pub lead_item: String,
    /// Every item's implementation code, the lead item included.
    pub items: Vec<String>,
    /// A combined promised limit in working days for every child (承诺时限);
    /// none: each item's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_days: Option<u32>,
    /// 多证同发: every child's e-license is issued together when the last
    /// child ends (the join), not each as its child concludes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub issue_together: bool,
}

impl Bundle {
    /// What is wrong with the definition by itself (the items' documents are
    /// checked by `merged_form` once they are known).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 64
            && self.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !code_ok {
            out.push(FieldError::new(
                "code",
                "format",
                "编码须为 1–64 位小写字母、数字或连字符",
                "the code must be 1–64 lowercase letters, digits or hyphens",
            ));
        }
        if self.name.trim().is_empty() {
            out.push(FieldError::new("name", "required", "名称为必填项", "name is required"));
        }
        if self.items.len() < 2 {
            out.push(FieldError::new("items", "too_few", "一件事至少包含两个事项", "a bundle needs at least two items"));
        }
        for (i, code) in self.items.iter().enumerate() {
            if self.items[..i].contains(code) {
                out.push(FieldError::new("items", "duplicate", format!("事项 {code} 重复"), format!("item {code} is listed twice")));
            }
        }
        if !self.items.contains(&self.lead_item) {
            out.push(FieldError::new("lead_item", "not_in_items", "牵头事项须是其中之一", "the lead item must be one of the items"));
        }
        out
    }

    /// The one application form: the union of the items' forms, each shared
    /// field asked once (`docs` in the bundle's item order).
    pub fn merged_form(&self, docs: &[&ItemDoc]) -> Result<yiwang_form::Schema, Vec<FieldError>> {
        let empty = yiwang_form::Schema::default();
        let parts: Vec<&yiwang_form::Schema> = docs.iter().map(|d| d.form.as_ref().unwrap_or(&empty)).collect();
        yiwang_form::Schema::merged(&format!("{}申请表", self.name), &parts).map_err(|keys| {
            keys.iter()
                .map(|k| {
                    FieldError::new(
                        "items",
                        "form_conflict",
                        format!("字段 {k} 在各事项表单中定义不同，不能合并为一张表"),
                        format!("field {k} is defined differently by two items' forms"),
                    )
                })
                .collect()
        })
    }

    /// The one material set: each material once by name, with the items that
    /// ask for it.
    pub fn merged_materials(docs: &[&ItemDoc]) -> Vec<BundleMaterial> {
        let mut out: Vec<BundleMaterial> = Vec::new();
        for d in docs {
            for m in &d.materials {
                let required = m.necessity == crate::code_lists::Necessity::Required;
                match out.iter_mut().find(|b| b.name == m.name) {
                    Some(b) => {
                        b.items.push(d.implementation_code.clone());
                        b.required |= required;
                        // A commitment stands in only where every asking item allows one.
                        b.commitment_allowed &= m.commitment_allowed;
                    }
                    None => out.push(BundleMaterial {
                        name: m.name.clone(),
                        source: m.source.clone(),
                        required,
                        commitment_allowed: m.commitment_allowed,
                        items: vec![d.implementation_code.clone()],
                    }),
                }
            }
        }
        out
    }
}

/// A material of the bundle's one set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleMaterial {
    pub name: String,
    pub source: MaterialSource,
    pub required: bool,
    pub commitment_allowed: bool,
    /// The implementation codes of the items that ask for it.
    pub items: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        Bundle {
            code: "open-restaurant".into(),
            name: "开办餐饮店".into(),
            description: String::new(),
            division_code: "330100".into(),
            lead_item: "a".into(),
            items: vec!["a".into(), "b".into()],
            promised_days: Some(3),
            issue_together: false,
        }
    }

    #[test]
    fn a_well_formed_bundle_has_no_problems() {
        assert!(bundle().problems().is_empty());
    }

    #[test]
    fn the_lead_must_be_an_item_and_items_unique_and_two_or_more() {
        let mut b = bundle();
        b.lead_item = "c".into();
        b.items = vec!["a".into(), "a".into()];
        b.code = "Open Restaurant".into();
        let reasons: Vec<&str> = b.problems().iter().map(|p| p.reason).collect();
        assert_eq!(reasons, ["format", "duplicate", "not_in_items"]);
        b.items = vec!["a".into()];
        assert!(b.problems().iter().any(|p| p.reason == "too_few"));
    }
}
