//! The catalog model (domain.md §1.3–1.4). `BasicItem` is one row of the basic
//! catalog (基本目录); `ItemDoc` is the content of one version of one
//! implementation-list item (实施清单), with every element of §1.4. A version's
//! document is immutable once submitted: a change makes a new version.
//!
//! This is also "our JSON" format (docs/catalog-format.md): field names are
//! English snake_case, code lists are their wire codes.

use serde::{Deserialize, Serialize};
use yiwang_codes::UseLevel;

use crate::code_lists::*;

/// One row of the basic catalog, keyed by 基本编码.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasicItem {
    pub basic_code: String,
    pub name: String,
    pub task_type: TaskType,
    #[serde(default)]
    pub by_law: String,
    /// 行使层级: the levels at which the item may be implemented.
    #[serde(default)]
    pub use_levels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_code: Option<String>,
}

/// The implementing agency, as it stood when the version was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AgencyRef {
    /// 实施主体代码: the agency's USCC.
    pub uscc: String,
    /// 实施主体.
    pub name: String,
    #[serde(default)]
    pub division_code: String,
}

/// Another organisation named by an item (承办机构, 联办机构).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrgRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
}

/// 业务办理项: a handling variant of one item (新办/变更/注销…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleItem {
    pub code: String,
    pub name: String,
}

/// A time limit with its unit and explanation (法定/承诺办结时限).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeLimit {
    pub amount: u32,
    #[serde(default = "default_unit")]
    pub unit: TimeUnit,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub explain: String,
}

fn default_unit() -> TimeUnit {
    TimeUnit::WorkingDay
}

impl TimeLimit {
    pub fn display(&self) -> String {
        if self.amount == 0 && self.unit == TimeUnit::WorkingDay {
            return "即办".into();
        }
        format!("{}个{}", self.amount, self.unit.name_zh())
    }
}

/// Where a material comes from: asked from the applicant, or satisfied by an
/// e-license type or a shared data resource the government already holds (免提交).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaterialSource {
    /// The applicant provides it.
    Applicant,
    /// Satisfied by an e-license of this type (电子证照, type code per GB/T 36904).
    License { license_type: String },
    /// Satisfied by a shared data resource (数据共享, resource code).
    Shared { resource: String },
}

impl MaterialSource {
    pub fn is_exempt(&self) -> bool {
        !matches!(self, MaterialSource::Applicant)
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            MaterialSource::Applicant => "申请人提供",
            MaterialSource::License { .. } => "电子证照免提交",
            MaterialSource::Shared { .. } => "数据共享免提交",
        }
    }
}

/// 申请材料: one row of the material child table, with every field of §1.4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    pub name: String,
    #[serde(default = "default_kind")]
    pub kind: MaterialKind,
    #[serde(default = "default_form")]
    pub form: MaterialForm,
    #[serde(default = "default_necessity")]
    pub necessity: Necessity,
    #[serde(default = "default_source")]
    pub source: MaterialSource,
    #[serde(default = "default_channel")]
    pub source_channel: SourceChannel,
    /// 来源渠道说明.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_explain: String,
    /// 原件份数.
    #[serde(default)]
    pub originals: u8,
    /// 复印件份数.
    #[serde(default)]
    pub copies: u8,
    /// 纸质材料规格.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub paper_format: String,
    /// 空白表格 (address of the blank form).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blank_form: String,
    /// 示例样表.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub example: String,
    /// 填报须知.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fill_notes: String,
    /// 受理标准.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub accept_standard: String,
    /// 要求提供材料的依据.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub by_law: String,
    /// 出具机构.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuing_body: String,
    /// 出具时间要求.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuing_time: String,
    /// 材料办理说明 / 办理地点 / 使用说明.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub handling_notes: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub handling_place: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub usage_notes: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remark: String,
    /// 告知承诺: the applicant may sign a written commitment instead of
    /// supplying this proof; the agency verifies afterwards (事后核查).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub commitment_allowed: bool,
}

fn default_kind() -> MaterialKind {
    MaterialKind::Original
}
fn default_form() -> MaterialForm {
    MaterialForm::PaperAndElectronic
}
fn default_necessity() -> Necessity {
    Necessity::Required
}
fn default_source() -> MaterialSource {
    MaterialSource::Applicant
}
fn default_channel() -> SourceChannel {
    SourceChannel::Applicant
}

impl Material {
    /// A required material with defaults, as an editor starts one.
    pub fn new(name: &str) -> Material {
        Material {
            name: name.into(),
            kind: default_kind(),
            form: default_form(),
            necessity: default_necessity(),
            source: default_source(),
            source_channel: default_channel(),
            source_explain: String::new(),
            originals: 1,
            copies: 0,
            paper_format: String::new(),
            blank_form: String::new(),
            example: String::new(),
            fill_notes: String::new(),
            accept_standard: String::new(),
            by_law: String::new(),
            issuing_body: String::new(),
            issuing_time: String::new(),
            handling_notes: String::new(),
            handling_place: String::new(),
            usage_notes: String::new(),
            remark: String::new(),
            commitment_allowed: false,
        }
    }

    /// 是否必备材料 (GB/T 39046).
    pub fn is_mandatory(&self) -> bool {
        self.necessity == Necessity::Required
    }
}

/// One row of the fee child table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub name: String,
    /// 收费标准 (text: "每件 10 元").
    pub standard: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub by_law: String,
    #[serde(default)]
    pub reducible: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reduce_by_law: String,
    /// The standard's amounts in fen, where the text alone does not say them
    /// plainly (a fixed fee: both the same). None: read from `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fen: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fen: Option<u64>,
}

impl Fee {
    /// The published range in fen (裁量 outside it is an anomaly): the
    /// structured amounts, or else the standard's text when it names one
    /// amount in 元 ("每证20元") or a range ("10至50元", "10-50元") [I].
    /// None: the standard is not an amount (按标的额的 1%…).
    pub fn range_fen(&self) -> Option<(u64, u64)> {
        match (self.min_fen, self.max_fen) {
            (Some(a), Some(b)) => return Some((a.min(b), a.max(b))),
            (Some(a), None) | (None, Some(a)) => return Some((a, a)),
            (None, None) => {}
        }
        let amounts = yuan_amounts(&self.standard);
        match amounts.as_slice() {
            [a] => Some((*a, *a)),
            [a, b] => Some(((*a).min(*b), (*a).max(*b))),
            _ => None,
        }
    }
}

/// The amounts in 元 a fee standard's text names, in fen: each number that
/// 元 follows, and a number that begins a range (至, 到, -, ～, ~) ending in
/// one. A percentage or a number of something else is no amount.
fn yuan_amounts(text: &str) -> Vec<u64> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut pending: Option<u64> = None;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
        let Some(fen) = fen_of(&number) else {
            pending = None;
            continue;
        };
        let mut j = i;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        match chars.get(j) {
            Some('元') => {
                out.extend(pending.take());
                out.push(fen);
            }
            Some('至' | '到' | '-' | '～' | '~' | '—') => pending = Some(fen),
            _ => pending = None,
        }
        i = j;
    }
    out
}

/// "20" or "20.5" 元 in fen; None for anything else or too large.
pub fn fen_of(number: &str) -> Option<u64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || whole.len() > 9 || frac.len() > 2 || frac.contains('.') {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<u64>().ok()? * 100 + frac.parse::<u64>().ok()?)
}

/// The handling process an item names (`ItemDoc::process`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// 审批结果.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultDoc {
    pub name: String,
    #[serde(default = "default_result_type")]
    pub result_type: ResultType,
    /// The e-license type issued as this result, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_type: Option<String>,
    /// 办结出证: each of the license type's data fields and where its value
    /// comes from (`result::fill`), checked when the item is published.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub license_data: std::collections::BTreeMap<String, String>,
    /// Years an issued license is valid from its issue (none: no end date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_valid_years: Option<u32>,
    /// 结果样本 (an address).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sample: String,
}

fn default_result_type() -> ResultType {
    ResultType::Other
}

/// One step of 办理流程.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStep {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// 常见问题.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faq {
    pub question: String,
    pub answer: String,
}

/// 行政复议 / 行政诉讼 contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Remedy {
    pub department: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// The six yes/no flags of §1.4 (each n1 1/0 on the wire of the national exchange).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Flags {
    /// 是否支持预约办理
    #[serde(default)]
    pub appointment: bool,
    /// 是否支持网上支付
    #[serde(default)]
    pub online_payment: bool,
    /// 是否支持物流快递
    #[serde(default)]
    pub express_delivery: bool,
    /// 是否网办
    #[serde(default)]
    pub online: bool,
    /// 是否进驻政务大厅
    #[serde(default)]
    pub in_hall: bool,
    /// 是否支持终端办理 (self-service kiosks)
    #[serde(default)]
    pub self_service: bool,
}

/// Themes (服务主题) for natural persons and legal persons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Themes {
    #[serde(default)]
    pub natural: Vec<String>,
    #[serde(default)]
    pub legal: Vec<String>,
}

/// 网办地址.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OnlineAddress {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pc: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mobile: String,
    /// Whether the addresses are reached through the unified login (SSO).
    #[serde(default)]
    pub sso: bool,
}

/// The content of one version of an implementation-list item: every element of
/// domain.md §1.4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDoc {
    // Identity and legal basis.
    pub implementation_code: String,
    pub basic_code: String,
    pub name: String,
    /// Other names people search by (e.g. 社保卡 for 社会保障卡申领).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub task_type: TaskType,
    #[serde(default)]
    pub handle_items: Vec<HandleItem>,
    #[serde(default)]
    pub by_law: String,
    #[serde(default = "default_power_source")]
    pub power_source: PowerSource,
    #[serde(with = "use_level_code")]
    pub use_level: UseLevel,
    /// 权限划分.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub power_division: String,
    /// 行使内容.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exercise_content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_task_code: Option<String>,

    // Who implements it.
    pub agency: AgencyRef,
    #[serde(default = "default_nature")]
    pub subject_nature: SubjectNature,
    /// 委托部门.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entrusted_by: String,
    /// 承办机构.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling_unit: Option<OrgRef>,
    /// 共同实施部门 / 联办机构.
    #[serde(default)]
    pub joint_agencies: Vec<OrgRef>,
    /// 中介服务.
    #[serde(default)]
    pub intermediary_services: Vec<String>,

    // Conditions and materials.
    #[serde(default)]
    pub accept_conditions: String,
    #[serde(default)]
    pub materials: Vec<Material>,
    /// 电子表单: the application form (schema, UI hints, prefill bindings);
    /// none means the item has no online form yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<yiwang_form::Schema>,

    // Process and time.
    #[serde(default)]
    pub process: Vec<ProcessStep>,
    pub legal_limit: TimeLimit,
    pub promised_limit: TimeLimit,
    pub project_type: ProjectType,
    /// 特别程序 (听证, 检测, 专家评审…) with their time rules.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub special_procedures: String,
    /// 数量限制.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub quantity_limit: String,
    /// 到办事现场次数.
    #[serde(default)]
    pub visits: u8,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub visits_explain: String,

    // Fees.
    #[serde(default)]
    pub charged: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fee_by_law: String,
    #[serde(default)]
    pub fees: Vec<Fee>,

    // Results.
    #[serde(default)]
    pub results: Vec<ResultDoc>,

    /// The BPMN process that handles this item's cases (a deployed process id,
    /// and the version; none: the latest when a case is filed). An item that
    /// names none runs the node's default process (受理 → 审查 → 决定).
    /// (`process` is the guide's 办理流程, a national catalog element.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<ProcessRef>,

    // Channels.
    #[serde(default)]
    pub service_objects: Vec<ServiceObject>,
    #[serde(default)]
    pub themes: Themes,
    #[serde(default)]
    pub handling_forms: Vec<HandlingForm>,
    /// 行政管辖 (division codes the item serves).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jurisdiction: String,
    #[serde(default = "default_scope")]
    pub universal_scope: UniversalScope,
    #[serde(default)]
    pub flags: Flags,
    #[serde(default)]
    pub online_address: OnlineAddress,
    #[serde(default = "default_depth")]
    pub online_depth: OnlineDepth,
    #[serde(default = "default_system_level")]
    pub system_level: SystemLevel,
    /// The real-name level (1–3) an applicant needs to apply online.
    #[serde(default = "default_min_level")]
    pub min_real_name_level: u8,

    // Place, time and contacts.
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub consult_phone: String,
    /// 咨询方式 beyond the phone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub consult_other: String,
    #[serde(default)]
    pub complaint_phone: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub complaint_other: String,
    #[serde(default)]
    pub faqs: Vec<Faq>,
    /// 乡镇街道代码 / 村居社区代码.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub township_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub village_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconsideration: Option<Remedy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub litigation: Option<Remedy>,
}

fn default_power_source() -> PowerSource {
    PowerSource::Statutory
}
fn default_nature() -> SubjectNature {
    SubjectNature::StatutoryOrgan
}
fn default_scope() -> UniversalScope {
    UniversalScope::None
}
fn default_depth() -> OnlineDepth {
    OnlineDepth::OnlinePreReview
}
fn default_system_level() -> SystemLevel {
    SystemLevel::Provincial
}
fn default_min_level() -> u8 {
    2
}

impl ItemDoc {
    /// 全程网办: fully online and no visit to the hall.
    pub fn fully_online(&self) -> bool {
        self.online_depth == OnlineDepth::FullyOnline && self.visits == 0
    }

    pub fn for_natural_persons(&self) -> bool {
        self.service_objects.iter().any(|o| o.is_natural_person())
    }

    pub fn for_legal_persons(&self) -> bool {
        self.service_objects.iter().any(|o| !o.is_natural_person())
    }

    /// All themes, natural and legal.
    pub fn all_themes(&self) -> impl Iterator<Item = &str> {
        self.themes.natural.iter().chain(self.themes.legal.iter()).map(String::as_str)
    }

    /// An empty draft for a new item of an agency, as the console starts one.
    pub fn blank(implementation_code: &str, basic_code: &str, agency: AgencyRef, use_level: UseLevel) -> ItemDoc {
        ItemDoc {
            implementation_code: implementation_code.into(),
            basic_code: basic_code.into(),
            name: String::new(),
            aliases: vec![],
            task_type: TaskType::License,
            handle_items: vec![],
            by_law: String::new(),
            power_source: default_power_source(),
            use_level,
            power_division: String::new(),
            exercise_content: String::new(),
            local_task_code: None,
            agency,
            subject_nature: default_nature(),
            entrusted_by: String::new(),
            handling_unit: None,
            joint_agencies: vec![],
            intermediary_services: vec![],
            accept_conditions: String::new(),
            materials: vec![],
            form: None,
            process: vec![],
            legal_limit: TimeLimit { amount: 20, unit: TimeUnit::WorkingDay, explain: String::new() },
            promised_limit: TimeLimit { amount: 10, unit: TimeUnit::WorkingDay, explain: String::new() },
            project_type: ProjectType::Promised,
            special_procedures: String::new(),
            quantity_limit: String::new(),
            visits: 0,
            visits_explain: String::new(),
            charged: false,
            fee_by_law: String::new(),
            fees: vec![],
            results: vec![],
            workflow: None,
            service_objects: vec![ServiceObject::NaturalPerson],
            themes: Themes::default(),
            handling_forms: vec![HandlingForm::Window, HandlingForm::OnlinePc],
            jurisdiction: String::new(),
            universal_scope: default_scope(),
            flags: Flags::default(),
            online_address: OnlineAddress::default(),
            online_depth: default_depth(),
            system_level: default_system_level(),
            min_real_name_level: default_min_level(),
            place: String::new(),
            hours: String::new(),
            consult_phone: String::new(),
            consult_other: String::new(),
            complaint_phone: String::new(),
            complaint_other: String::new(),
            faqs: vec![],
            township_code: String::new(),
            village_code: String::new(),
            reconsideration: None,
            litigation: None,
        }
    }
}

#[cfg(test)]
mod fee_tests {
    use super::Fee;

    fn fee(standard: &str) -> Fee {
        Fee {
            name: "工本费".into(),
            standard: standard.into(),
            by_law: String::new(),
            reducible: false,
            reduce_by_law: String::new(),
            min_fen: None,
            max_fen: None,
        }
    }

    #[test]
    fn a_fee_standard_names_its_amount_or_range_in_yuan() {
        assert_eq!(fee("每证20元").range_fen(), Some((2000, 2000)));
        assert_eq!(fee("每件 10.5 元").range_fen(), Some((1050, 1050)));
        assert_eq!(fee("每次10至50元").range_fen(), Some((1000, 5000)));
        assert_eq!(fee("50-10元").range_fen(), Some((1000, 5000)));
        assert_eq!(fee("按标的额的1%收取").range_fen(), None);
        assert_eq!(fee("每证20元，加急另收30元，最多3次").range_fen(), Some((2000, 3000)), "two amounts bound the range");
        assert_eq!(fee("每年3次，每次10元、20元或30元").range_fen(), None, "three amounts are not a range");
        assert_eq!(fee("依法不收费").range_fen(), None);
        let structured = Fee { min_fen: Some(500), max_fen: Some(100), ..fee("按面积计") };
        assert_eq!(structured.range_fen(), Some((100, 500)));
        assert_eq!(Fee { max_fen: Some(900), ..fee("每证20元") }.range_fen(), Some((900, 900)));
    }
}
