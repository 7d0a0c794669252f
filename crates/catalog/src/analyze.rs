//! The once-only analyzer (三个凡是: 凡是能通过网络共享复用的材料，不得要求企业和群众
//! 重复提交). For every published item it finds materials still asked from the
//! applicant although an e-license type or a shared data resource covers them,
//! computes the share of materials exempt from submission (免提交率) and reports
//! the visits to the hall, per item and per agency.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{BasicItem, ItemDoc, MaterialSource};

/// Something the government already holds: an e-license type or a shared data
/// resource, with the names materials are usually called by.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
}

impl Evidence {
    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str)).filter(|n| n.chars().count() >= 2)
    }
}

/// What the analyzer knows the government holds.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    pub license_types: Vec<Evidence>,
    pub resources: Vec<Evidence>,
    /// The grants in force, as (resource code, consumer agency USCC): a
    /// resource covers an item's material only for an agency that may read it.
    pub grants: Vec<(String, String)>,
    /// The basic catalog (基本目录) as the node above sent it down, by 基本编码;
    /// empty when none came (a national node, or one not yet joined).
    pub basic: BTreeMap<String, BasicItem>,
    /// The information items (lower case) this node's agencies hold approved
    /// grants for on other nodes: a license type among them is served by
    /// another node's 电子证照库, so it is known though not defined here.
    pub held_items: Vec<String>,
}

impl Holdings {
    /// Whether `agency` holds a grant in force on `resource`.
    pub fn granted(&self, resource: &str, agency: &str) -> bool {
        self.grants.iter().any(|(r, a)| r == resource && a == agency)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Asked from the applicant although an e-license type covers it.
    CoveredByLicense,
    /// Asked from the applicant although a shared data resource covers it.
    CoveredBySharedData,
    /// Declared as satisfied by a license type the library does not define.
    UnknownLicenseType,
    /// Declared as satisfied by a resource the sharing catalog does not list.
    UnknownResource,
    /// Declared as satisfied by a resource the item's agency holds no grant
    /// on: nothing can be fetched, so the applicant still uploads it.
    NoGrant,
    /// The item's 基本编码 is not in the basic catalog sent down from above.
    NotInBasicCatalog,
    /// One of the item's basic elements (name, type, legal basis, level)
    /// differs from the basic catalog sent down from above; `material` names
    /// the element, `name` the value above.
    DiffersFromBasicCatalog,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub material: String,
    pub kind: FindingKind,
    pub code: String,
    pub name: String,
    pub message_zh: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    pub implementation_code: String,
    pub name: String,
    pub agency_uscc: String,
    pub agency_name: String,
    pub materials: usize,
    pub exempt: usize,
    /// 免提交率, 0–1 (1 when the item asks for no material at all).
    pub exempt_rate: f64,
    pub visits: u8,
    pub fully_online: bool,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgencyReport {
    pub agency_uscc: String,
    pub agency_name: String,
    pub items: usize,
    pub materials: usize,
    pub exempt: usize,
    pub exempt_rate: f64,
    pub findings: usize,
    pub items_with_findings: usize,
    pub average_visits: f64,
    pub zero_visit_items: usize,
    pub fully_online_items: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: Vec<ItemReport>,
    pub agencies: Vec<AgencyReport>,
    pub totals: AgencyReport,
}

/// A material name without spaces, brackets' content and 原件/复印件 suffixes.
fn normalise(name: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in name.chars() {
        match c {
            '（' | '(' | '【' | '[' => depth += 1,
            '）' | ')' | '】' | ']' => depth = (depth - 1).max(0),
            c if c.is_whitespace() => {}
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The evidence whose longest name occurs in the material name.
fn covering<'a>(material: &str, evidence: &'a [Evidence]) -> Option<&'a Evidence> {
    let m = normalise(material);
    evidence
        .iter()
        .filter_map(|e| e.names().filter(|n| m.contains(&normalise(n))).map(|n| n.chars().count()).max().map(|len| (len, e)))
        .max_by_key(|(len, _)| *len)
        .map(|(_, e)| e)
}

fn rate(exempt: usize, total: usize) -> f64 {
    if total == 0 { 1.0 } else { exempt as f64 / total as f64 }
}

/// Analyse one item.
pub fn analyze_item(doc: &ItemDoc, holdings: &Holdings) -> ItemReport {
    let mut findings = Vec::new();
    for m in &doc.materials {
        match &m.source {
            MaterialSource::Applicant => {
                if let Some(e) = covering(&m.name, &holdings.license_types) {
                    findings.push(Finding {
                        material: m.name.clone(),
                        kind: FindingKind::CoveredByLicense,
                        code: e.code.clone(),
                        name: e.name.clone(),
                        message_zh: format!("“{}”可由电子证照“{}”（{}）免提交，但仍要求申请人提供", m.name, e.name, e.code),
                    });
                } else if let Some(e) = covering(&m.name, &holdings.resources).filter(|e| holdings.granted(&e.code, &doc.agency.uscc)) {
                    findings.push(Finding {
                        material: m.name.clone(),
                        kind: FindingKind::CoveredBySharedData,
                        code: e.code.clone(),
                        name: e.name.clone(),
                        message_zh: format!("“{}”可通过共享数据“{}”（{}）获取，但仍要求申请人提供", m.name, e.name, e.code),
                    });
                }
            }
            MaterialSource::License { license_type } => {
                let held = holdings.held_items.iter().any(|i| i.eq_ignore_ascii_case(license_type));
                if !held && !holdings.license_types.iter().any(|e| &e.code == license_type) {
                    findings.push(Finding {
                        material: m.name.clone(),
                        kind: FindingKind::UnknownLicenseType,
                        code: license_type.clone(),
                        name: String::new(),
                        message_zh: format!("“{}”引用的证照类型{}在证照库中不存在", m.name, license_type),
                    });
                }
            }
            MaterialSource::Shared { resource } if !holdings.granted(resource, &doc.agency.uscc) => {
                let known = holdings.resources.iter().find(|e| &e.code == resource);
                findings.push(Finding {
                    material: m.name.clone(),
                    kind: if known.is_some() { FindingKind::NoGrant } else { FindingKind::UnknownResource },
                    code: resource.clone(),
                    name: known.map(|e| e.name.clone()).unwrap_or_default(),
                    message_zh: match known {
                        Some(e) => format!(
                            "“{}”声明由共享数据“{}”（{}）免提交，但{}尚无该资源的有效共享授权，申请人仍须提交",
                            m.name, e.name, e.code, doc.agency.name
                        ),
                        None => format!("“{}”引用的共享数据资源{}未在资源目录中登记", m.name, resource),
                    },
                });
            }
            MaterialSource::Shared { resource } => {
                if !holdings.resources.iter().any(|e| &e.code == resource) {
                    findings.push(Finding {
                        material: m.name.clone(),
                        kind: FindingKind::UnknownResource,
                        code: resource.clone(),
                        name: String::new(),
                        message_zh: format!("“{}”引用的共享数据资源{}未在资源目录中登记", m.name, resource),
                    });
                }
            }
        }
    }
    findings.extend(basic_findings(doc, &holdings.basic));
    // A shared material is exempt only where the agency may read its resource.
    let exempt = doc
        .materials
        .iter()
        .filter(|m| match &m.source {
            MaterialSource::Applicant => false,
            MaterialSource::License { .. } => true,
            MaterialSource::Shared { resource } => holdings.granted(resource, &doc.agency.uscc),
        })
        .count();
    ItemReport {
        implementation_code: doc.implementation_code.clone(),
        name: doc.name.clone(),
        agency_uscc: doc.agency.uscc.clone(),
        agency_name: doc.agency.name.clone(),
        materials: doc.materials.len(),
        exempt,
        exempt_rate: rate(exempt, doc.materials.len()),
        visits: doc.visits,
        fully_online: doc.fully_online(),
        findings,
    }
}

/// Where an implementation departs from the basic catalog sent down (目录清单
/// 上下级一致): each basic element that differs, or the code missing from it.
pub fn basic_findings(doc: &ItemDoc, basic: &BTreeMap<String, BasicItem>) -> Vec<Finding> {
    if basic.is_empty() {
        return Vec::new();
    }
    let Some(b) = basic.get(&doc.basic_code) else {
        return vec![Finding {
            material: "基本编码".into(),
            kind: FindingKind::NotInBasicCatalog,
            code: doc.basic_code.clone(),
            name: String::new(),
            message_zh: format!("基本编码 {} 不在上级下发的基本目录中", doc.basic_code),
        }];
    };
    let level = doc.use_level.digit().to_string();
    let elements = [
        ("事项名称", doc.name.trim() != b.name.trim(), doc.name.clone(), b.name.clone()),
        ("事项类型", doc.task_type != b.task_type, doc.task_type.name_zh().to_string(), b.task_type.name_zh().to_string()),
        ("设定依据", doc.by_law.trim() != b.by_law.trim(), doc.by_law.clone(), b.by_law.clone()),
        ("行使层级", !b.use_levels.is_empty() && !b.use_levels.contains(&level), level.clone(), b.use_levels.join("^")),
    ];
    elements
        .into_iter()
        .filter(|(_, differs, ..)| *differs)
        .map(|(element, _, local, above)| Finding {
            material: element.into(),
            kind: FindingKind::DiffersFromBasicCatalog,
            code: doc.basic_code.clone(),
            message_zh: format!("{element}与上级基本目录不一致：本地为“{local}”，基本目录为“{above}”"),
            name: above,
        })
        .collect()
}

fn summarise(uscc: &str, name: &str, items: &[&ItemReport]) -> AgencyReport {
    let materials = items.iter().map(|i| i.materials).sum();
    let exempt = items.iter().map(|i| i.exempt).sum();
    let visits: usize = items.iter().map(|i| i.visits as usize).sum();
    AgencyReport {
        agency_uscc: uscc.into(),
        agency_name: name.into(),
        items: items.len(),
        materials,
        exempt,
        exempt_rate: rate(exempt, materials),
        findings: items.iter().map(|i| i.findings.len()).sum(),
        items_with_findings: items.iter().filter(|i| !i.findings.is_empty()).count(),
        average_visits: if items.is_empty() { 0.0 } else { visits as f64 / items.len() as f64 },
        zero_visit_items: items.iter().filter(|i| i.visits == 0).count(),
        fully_online_items: items.iter().filter(|i| i.fully_online).count(),
    }
}

/// Analyse a set of items (normally every published item of a node).
pub fn analyze<'a>(docs: impl IntoIterator<Item = &'a ItemDoc>, holdings: &Holdings) -> Report {
    let items: Vec<ItemReport> = docs.into_iter().map(|d| analyze_item(d, holdings)).collect();
    let mut by_agency: BTreeMap<(&str, &str), Vec<&ItemReport>> = BTreeMap::new();
    for i in &items {
        by_agency.entry((i.agency_uscc.as_str(), i.agency_name.as_str())).or_default().push(i);
    }
    let agencies = by_agency.iter().map(|((u, n), v)| summarise(u, n, v)).collect();
    let all: Vec<&ItemReport> = items.iter().collect();
    let totals = summarise("", "合计", &all);
    Report { items, agencies, totals }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn longest_alias_wins_and_brackets_are_ignored() {
        let ev = vec![
            Evidence { code: "A".into(), name: "身份证".into(), aliases: vec![] },
            Evidence { code: "B".into(), name: "居民身份证".into(), aliases: vec!["身份证件".into()] },
        ];
        assert_eq!(covering("申请人居民身份证（复印件）", &ev).unwrap().code, "B");
        assert_eq!(normalise("营业执照 (副本)"), "营业执照");
        assert!(covering("户口簿", &ev).is_none());
    }

    /// A resource covers a material only for an agency holding a grant on it:
    /// without one, a shared material is not exempt and is flagged.
    #[test]
    fn shared_data_counts_only_where_the_agency_holds_a_grant() {
        use crate::model::{AgencyRef, Material};
        let agency = AgencyRef { uscc: "11330100002493651H".into(), name: "杭州市民政局".into(), division_code: "330100".into() };
        let mut doc = ItemDoc::blank("X", "000000000000", agency, yiwang_codes::UseLevel::Municipal);
        let mut shared = Material::new("户籍信息");
        shared.source = MaterialSource::Shared { resource: "R1".into() };
        doc.materials = vec![shared, Material::new("户籍证明")];
        let mut holdings = Holdings {
            resources: vec![Evidence { code: "R1".into(), name: "人口基本信息".into(), aliases: vec!["户籍证明".into()] }],
            ..Holdings::default()
        };
        let without = analyze_item(&doc, &holdings);
        assert_eq!(without.exempt, 0);
        assert_eq!(without.findings.iter().map(|f| f.kind).collect::<Vec<_>>(), vec![FindingKind::NoGrant]);
        assert!(without.findings[0].message_zh.contains("尚无该资源的有效共享授权"), "{:?}", without.findings);
        holdings.grants.push(("R1".into(), "11330100002493651H".into()));
        let with = analyze_item(&doc, &holdings);
        assert_eq!(with.exempt, 1);
        assert_eq!(with.findings.iter().map(|f| f.kind).collect::<Vec<_>>(), vec![FindingKind::CoveredBySharedData]);
        holdings.grants[0].1 = "11330100002493652X".into();
        assert_eq!(analyze_item(&doc, &holdings).exempt, 0, "another agency's grant does not count");
    }

    #[test]
    fn an_item_is_flagged_where_it_departs_from_the_basic_catalog_above() {
        use crate::model::AgencyRef;
        use crate::{BasicItem, TaskType};
        let agency = AgencyRef { uscc: "11330100002493651H".into(), name: "杭州市公安局".into(), division_code: "330100".into() };
        let mut doc = ItemDoc::blank("X", "000107012000", agency, yiwang_codes::UseLevel::Municipal);
        doc.name = "户口迁移".into();
        doc.task_type = TaskType::Confirmation;
        doc.by_law = "《户口登记条例》".into();
        let above = BasicItem {
            basic_code: "000107012000".into(),
            name: "户口迁移".into(),
            task_type: TaskType::Confirmation,
            by_law: "《户口登记条例》".into(),
            use_levels: vec!["3".into(), "4".into()],
            local_code: None,
        };
        // Nothing sent down: nothing to compare against.
        assert!(basic_findings(&doc, &BTreeMap::new()).is_empty());
        let mut basic = BTreeMap::from([(above.basic_code.clone(), above.clone())]);
        assert!(basic_findings(&doc, &basic).is_empty(), "the same elements");
        doc.name = "户口迁移（跨省通办）".into();
        doc.task_type = TaskType::License;
        doc.use_level = yiwang_codes::UseLevel::Provincial;
        let found = basic_findings(&doc, &basic);
        let elements: Vec<&str> = found.iter().map(|f| f.material.as_str()).collect();
        assert_eq!(elements, ["事项名称", "事项类型", "行使层级"]);
        assert!(found.iter().all(|f| f.kind == FindingKind::DiffersFromBasicCatalog));
        assert_eq!(found[0].message_zh, "事项名称与上级基本目录不一致：本地为“户口迁移（跨省通办）”，基本目录为“户口迁移”");
        assert_eq!(found[2].name, "3^4");
        basic.clear();
        basic.insert("000107099000".into(), BasicItem { basic_code: "000107099000".into(), ..above });
        let missing = basic_findings(&doc, &basic);
        assert_eq!(missing.iter().map(|f| f.kind).collect::<Vec<_>>(), [FindingKind::NotInBasicCatalog]);
    }
}
