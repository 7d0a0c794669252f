//! The service guide (办事指南): a pure projection of one published version into
//! the blocks national and provincial portals show (domain.md §1.4). The HTML page
//! and the PDF both render these blocks, so they cannot drift apart.

use serde::Serialize;

use crate::code_lists::TimeUnit;
use crate::model::{ItemDoc, MaterialSource};

/// One block of the guide.
#[derive(Debug, Clone, Serialize)]
pub struct GuideBlock {
    /// Stable anchor, e.g. `materials`.
    pub id: &'static str,
    pub title: &'static str,
    pub body: BlockBody,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockBody {
    /// Label/value pairs.
    Fields { rows: Vec<(String, String)> },
    /// Paragraphs of text.
    Text { paragraphs: Vec<String> },
    /// A table with a header row.
    Table { header: Vec<String>, rows: Vec<Vec<String>> },
}

/// The whole guide.
#[derive(Debug, Clone, Serialize)]
pub struct Guide {
    pub title: String,
    pub implementation_code: String,
    pub agency: String,
    pub version: i64,
    pub published_at: String,
    /// Badges shown under the title: 全程网办, 最多跑一次…
    pub badges: Vec<String>,
    pub blocks: Vec<GuideBlock>,
    /// A warning above the guide: suspended, cancelled, or a superseded version.
    pub notice: Option<String>,
}

fn yes_no(b: bool) -> String {
    if b { "是".into() } else { "否".into() }
}

fn or_dash(s: &str) -> String {
    if s.trim().is_empty() { "无".into() } else { s.trim().into() }
}

fn paragraphs(s: &str) -> Vec<String> {
    let v: Vec<String> = s.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if v.is_empty() { vec!["无".into()] } else { v }
}

/// The badge for the number of visits to the hall.
pub fn visits_badge(visits: u8) -> String {
    match visits {
        0 => "零跑动".into(),
        1 => "最多跑一次".into(),
        n => format!("到现场{n}次"),
    }
}

/// Badges for search results and the guide header.
pub fn badges(doc: &ItemDoc) -> Vec<String> {
    let mut b = Vec::new();
    if doc.fully_online() {
        b.push("全程网办".into());
    }
    b.push(visits_badge(doc.visits));
    if doc.project_type == crate::code_lists::ProjectType::Immediate {
        b.push("即办".into());
    }
    if doc.materials.iter().any(|m| m.source.is_exempt()) {
        b.push("免提交材料".into());
    }
    if !doc.charged {
        b.push("不收费".into());
    }
    b
}

fn limit_text(l: &crate::model::TimeLimit) -> String {
    let mut s = if l.amount == 0 && l.unit == TimeUnit::WorkingDay { "即办（当场办结）".to_string() } else { l.display() };
    if !l.explain.is_empty() {
        s.push_str(&format!("（{}）", l.explain));
    }
    s
}

/// Project a version into the guide.
pub fn guide(doc: &ItemDoc, version: i64, published_at: &str, license_names: &dyn Fn(&MaterialSource) -> Option<String>) -> Guide {
    let mut blocks = Vec::new();
    let objects: Vec<&str> = doc.service_objects.iter().map(|o| o.name_zh()).collect();
    let forms: Vec<&str> = doc.handling_forms.iter().map(|f| f.name_zh()).collect();
    let mut basic = vec![
        ("事项名称".to_string(), doc.name.clone()),
        ("实施编码".into(), doc.implementation_code.clone()),
        ("基本编码".into(), doc.basic_code.clone()),
        ("事项类型".into(), doc.task_type.name_zh().into()),
        ("实施主体".into(), doc.agency.name.clone()),
        ("实施主体性质".into(), doc.subject_nature.name_zh().into()),
        ("行使层级".into(), doc.use_level.name_zh().into()),
        ("权力来源".into(), doc.power_source.name_zh().into()),
        ("服务对象".into(), objects.join("、")),
        ("办件类型".into(), doc.project_type.name_zh().into()),
        ("法定办结时限".into(), limit_text(&doc.legal_limit)),
        ("承诺办结时限".into(), limit_text(&doc.promised_limit)),
        ("到办事现场次数".into(), format!("{}次", doc.visits)),
        ("是否收费".into(), yes_no(doc.charged)),
        ("办理形式".into(), forms.join("、")),
        ("通办范围".into(), doc.universal_scope.name_zh().into()),
        ("网上办理深度".into(), doc.online_depth.name_zh().into()),
        ("网上申请所需实名等级".into(), format!("L{}", doc.min_real_name_level)),
    ];
    if let Some(u) = &doc.handling_unit {
        basic.push(("承办机构".into(), u.name.clone()));
    }
    if !doc.joint_agencies.is_empty() {
        basic.push(("联办机构".into(), doc.joint_agencies.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join("、")));
    }
    if !doc.entrusted_by.is_empty() {
        basic.push(("委托部门".into(), doc.entrusted_by.clone()));
    }
    if !doc.intermediary_services.is_empty() {
        basic.push(("中介服务".into(), doc.intermediary_services.join("、")));
    }
    if !doc.visits_explain.is_empty() {
        basic.push(("到现场原因".into(), doc.visits_explain.clone()));
    }
    if !doc.quantity_limit.is_empty() {
        basic.push(("数量限制".into(), doc.quantity_limit.clone()));
    }
    let themes: Vec<&str> = doc.all_themes().collect();
    if !themes.is_empty() {
        basic.push(("服务主题".into(), themes.join("、")));
    }
    if !doc.handle_items.is_empty() {
        basic.push(("业务办理项".into(), doc.handle_items.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join("、")));
    }
    blocks.push(GuideBlock { id: "basic", title: "基本信息", body: BlockBody::Fields { rows: basic } });
    blocks.push(GuideBlock {
        id: "conditions",
        title: "受理条件",
        body: BlockBody::Text { paragraphs: paragraphs(&doc.accept_conditions) },
    });
    blocks.push(GuideBlock { id: "by_law", title: "设定依据", body: BlockBody::Text { paragraphs: paragraphs(&doc.by_law) } });
    let materials = doc
        .materials
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let source = match license_names(&m.source) {
                Some(name) => format!("{}：{}", m.source.label_zh(), name),
                None => m.source.label_zh().to_string(),
            };
            let copies = match (m.originals, m.copies) {
                (0, 0) => "—".to_string(),
                (o, 0) => format!("原件{o}份"),
                (0, c) => format!("复印件{c}份"),
                (o, c) => format!("原件{o}份，复印件{c}份"),
            };
            let mut notes = Vec::new();
            for n in [&m.accept_standard, &m.fill_notes, &m.issuing_body, &m.remark] {
                if !n.is_empty() {
                    notes.push(n.as_str());
                }
            }
            vec![
                (i + 1).to_string(),
                m.name.clone(),
                m.necessity.name_zh().into(),
                m.form.name_zh().into(),
                copies,
                source,
                if m.blank_form.is_empty() && m.example.is_empty() { "—".into() } else { "有".into() },
                if notes.is_empty() { "—".into() } else { notes.join("；") },
            ]
        })
        .collect();
    blocks.push(GuideBlock {
        id: "materials",
        title: "申请材料",
        body: BlockBody::Table {
            header: ["序号", "材料名称", "必要性", "材料形式", "份数", "来源", "样表", "要求"].map(String::from).to_vec(),
            rows: materials,
        },
    });
    blocks.push(GuideBlock {
        id: "process",
        title: "办理流程",
        body: BlockBody::Table {
            header: ["环节", "名称", "说明"].map(String::from).to_vec(),
            rows: doc.process.iter().enumerate().map(|(i, s)| vec![(i + 1).to_string(), s.name.clone(), or_dash(&s.detail)]).collect(),
        },
    });
    if !doc.special_procedures.is_empty() {
        blocks.push(GuideBlock {
            id: "special",
            title: "特别程序",
            body: BlockBody::Text { paragraphs: paragraphs(&doc.special_procedures) },
        });
    }
    let fee_rows = if doc.charged {
        doc.fees
            .iter()
            .map(|f| {
                vec![
                    f.name.clone(),
                    f.standard.clone(),
                    or_dash(&f.by_law),
                    if f.reducible { or_dash(&f.reduce_by_law) } else { "否".into() },
                ]
            })
            .collect()
    } else {
        vec![vec!["不收费".into(), "—".into(), or_dash(&doc.fee_by_law), "—".into()]]
    };
    blocks.push(GuideBlock {
        id: "fees",
        title: "收费",
        body: BlockBody::Table {
            header: ["收费项目", "收费标准", "收费依据", "减免"].map(String::from).to_vec(), rows: fee_rows
        },
    });
    blocks.push(GuideBlock {
        id: "results",
        title: "办理结果",
        body: BlockBody::Table {
            header: ["结果名称", "结果类型", "样本"].map(String::from).to_vec(),
            rows: doc.results.iter().map(|r| vec![r.name.clone(), r.result_type.name_zh().into(), or_dash(&r.sample)]).collect(),
        },
    });
    let mut place = vec![("办理地点".to_string(), or_dash(&doc.place)), ("办理时间".into(), or_dash(&doc.hours))];
    let flags = &doc.flags;
    for (label, v) in [
        ("是否支持预约办理", flags.appointment),
        ("是否支持网上支付", flags.online_payment),
        ("是否支持物流快递", flags.express_delivery),
        ("是否网办", flags.online),
        ("是否进驻政务大厅", flags.in_hall),
        ("是否支持自助终端办理", flags.self_service),
    ] {
        place.push((label.into(), yes_no(v)));
    }
    if !doc.online_address.pc.is_empty() {
        place.push(("网上办理地址".into(), doc.online_address.pc.clone()));
    }
    if !doc.online_address.mobile.is_empty() {
        place.push(("移动端办理地址".into(), doc.online_address.mobile.clone()));
    }
    blocks.push(GuideBlock { id: "place", title: "办理地点和时间", body: BlockBody::Fields { rows: place } });
    let mut contacts = vec![("咨询电话".to_string(), or_dash(&doc.consult_phone)), ("监督投诉电话".into(), or_dash(&doc.complaint_phone))];
    if !doc.consult_other.is_empty() {
        contacts.push(("其他咨询方式".into(), doc.consult_other.clone()));
    }
    if !doc.complaint_other.is_empty() {
        contacts.push(("其他投诉方式".into(), doc.complaint_other.clone()));
    }
    for (label, remedy) in [("行政复议", &doc.reconsideration), ("行政诉讼", &doc.litigation)] {
        if let Some(r) = remedy {
            let mut parts = vec![r.department.clone()];
            for p in [&r.address, &r.phone, &r.url] {
                if !p.is_empty() {
                    parts.push(p.clone());
                }
            }
            contacts.push((label.into(), parts.join("，")));
        }
    }
    blocks.push(GuideBlock { id: "contacts", title: "咨询和监督投诉", body: BlockBody::Fields { rows: contacts } });
    blocks.push(GuideBlock {
        id: "faq",
        title: "常见问题",
        body: BlockBody::Table {
            header: ["问题", "解答"].map(String::from).to_vec(),
            rows: doc.faqs.iter().map(|q| vec![q.question.clone(), q.answer.clone()]).collect(),
        },
    });
    Guide {
        title: doc.name.clone(),
        implementation_code: doc.implementation_code.clone(),
        agency: doc.agency.name.clone(),
        version,
        published_at: published_at.into(),
        badges: badges(doc),
        blocks,
        notice: None,
    }
}

/// The ids of the blocks every guide carries (for tests and the PDF outline).
pub const REQUIRED_BLOCKS: [&str; 10] =
    ["basic", "conditions", "by_law", "materials", "process", "fees", "results", "place", "contacts", "faq"];
