//! 第三方评估指标 (issue 22, domain.md §5): the five dimensions of the national
//! evaluation of online service capability, each scored 0–100 from the node's
//! own data: its published items (and the once-only analyzer's findings on
//! them), its cases and its ratings over a period.
//!
//! The evaluators' weights and sub-indicators are not published [I], so each
//! dimension is built from measurable sub-indicators, every one a ratio of
//! counts (`Ratio`), with relative weights an operator may change
//! (`Weights`). Ratios are kept as numerator and denominator, never as rates,
//! so a region's score pools its agencies' counts instead of averaging their
//! scores. The formulas are in docs/supervision.md, "The five indicators".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use yiwang_catalog::code_lists::{HandlingForm, OnlineDepth, TimeUnit};
use yiwang_catalog::{FindingKind, ItemDoc, ItemReport, MaterialSource};

/// The five dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// 服务方式完备度: can people find the service and reach it by every channel.
    Channels,
    /// 服务事项覆盖度: 应上尽上, the items offered online.
    Coverage,
    /// 办事指南准确度: the guide's elements complete and consistent.
    Guide,
    /// 在线办理成熟度: 一网通办, how deep online handling goes.
    Maturity,
    /// 在线服务成效度: 线上可评, what the online service achieved in the period.
    Effect,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [Dimension::Channels, Dimension::Coverage, Dimension::Guide, Dimension::Maturity, Dimension::Effect];

    pub fn code(self) -> &'static str {
        match self {
            Dimension::Channels => "channels",
            Dimension::Coverage => "coverage",
            Dimension::Guide => "guide",
            Dimension::Maturity => "maturity",
            Dimension::Effect => "effect",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Dimension::Channels => "服务方式完备度",
            Dimension::Coverage => "服务事项覆盖度",
            Dimension::Guide => "办事指南准确度",
            Dimension::Maturity => "在线办理成熟度",
            Dimension::Effect => "在线服务成效度",
        }
    }

    pub fn parse(code: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.code() == code)
    }
}

/// The sub-indicators, each a ratio of counts within one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sub {
    ChannelsOffered,
    Findable,
    OneLogin,
    OnlineItems,
    EForm,
    GuideElements,
    BasicConsistent,
    SourcesValid,
    Depth,
    FullyOnline,
    ZeroVisit,
    Exempt,
    OnlineRate,
    OnTime,
    GoodRate,
    Rectified,
}

impl Sub {
    pub const ALL: [Sub; 16] = [
        Sub::ChannelsOffered,
        Sub::Findable,
        Sub::OneLogin,
        Sub::OnlineItems,
        Sub::EForm,
        Sub::GuideElements,
        Sub::BasicConsistent,
        Sub::SourcesValid,
        Sub::Depth,
        Sub::FullyOnline,
        Sub::ZeroVisit,
        Sub::Exempt,
        Sub::OnlineRate,
        Sub::OnTime,
        Sub::GoodRate,
        Sub::Rectified,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Sub::ChannelsOffered => "channels_offered",
            Sub::Findable => "findable",
            Sub::OneLogin => "one_login",
            Sub::OnlineItems => "online_items",
            Sub::EForm => "e_form",
            Sub::GuideElements => "guide_elements",
            Sub::BasicConsistent => "basic_consistent",
            Sub::SourcesValid => "sources_valid",
            Sub::Depth => "depth",
            Sub::FullyOnline => "fully_online",
            Sub::ZeroVisit => "zero_visit",
            Sub::Exempt => "exempt",
            Sub::OnlineRate => "online_rate",
            Sub::OnTime => "on_time",
            Sub::GoodRate => "good_rate",
            Sub::Rectified => "rectified",
        }
    }

    pub fn parse(code: &str) -> Option<Sub> {
        Sub::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Sub::ChannelsOffered | Sub::Findable | Sub::OneLogin => Dimension::Channels,
            Sub::OnlineItems | Sub::EForm => Dimension::Coverage,
            Sub::GuideElements | Sub::BasicConsistent | Sub::SourcesValid => Dimension::Guide,
            Sub::Depth | Sub::FullyOnline | Sub::ZeroVisit | Sub::Exempt => Dimension::Maturity,
            Sub::OnlineRate | Sub::OnTime | Sub::GoodRate | Sub::Rectified => Dimension::Effect,
        }
    }

    /// The weight within its dimension [I].
    pub fn default_weight(self) -> f64 {
        match self {
            Sub::ChannelsOffered => 0.5,
            Sub::Findable | Sub::OneLogin => 0.25,
            Sub::OnlineItems => 0.7,
            Sub::EForm => 0.3,
            Sub::GuideElements => 0.6,
            Sub::BasicConsistent | Sub::SourcesValid => 0.2,
            Sub::Depth | Sub::FullyOnline => 0.3,
            Sub::ZeroVisit | Sub::Exempt => 0.2,
            Sub::OnlineRate | Sub::OnTime => 0.3,
            Sub::GoodRate => 0.25,
            Sub::Rectified => 0.15,
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Sub::ChannelsOffered => "办理渠道覆盖",
            Sub::Findable => "可按主题查找",
            Sub::OneLogin => "一次登录",
            Sub::OnlineItems => "网上可办率",
            Sub::EForm => "在线表单率",
            Sub::GuideElements => "指南要素完整率",
            Sub::BasicConsistent => "与基本目录一致率",
            Sub::SourcesValid => "免提交依据有效率",
            Sub::Depth => "网办深度",
            Sub::FullyOnline => "全程网办率",
            Sub::ZeroVisit => "零跑动率",
            Sub::Exempt => "材料免提交率",
            Sub::OnlineRate => "网办率",
            Sub::OnTime => "按时办结率",
            Sub::GoodRate => "好评率",
            Sub::Rectified => "差评整改率",
        }
    }

    /// The formula, as docs and reports print it.
    pub fn formula_zh(self) -> &'static str {
        match self {
            Sub::ChannelsOffered => {
                "各事项已开通渠道数之和 ÷ 适用渠道数之和（网上、移动端、大厅、自助终端、预约、快递，收费事项另计网上支付）"
            }
            Sub::Findable => "有服务主题且有服务对象的事项数 ÷ 事项数",
            Sub::OneLogin => "经统一身份认证办理的网办事项数 ÷ 网办事项数",
            Sub::OnlineItems => "网上办理深度达三级（在线预审）及以上的事项数 ÷ 事项数",
            Sub::EForm => "有电子表单的网办事项数 ÷ 网办事项数",
            Sub::GuideElements => "各事项已填写且有效的指南要素数之和 ÷ 检查要素数之和（每项11个）",
            Sub::BasicConsistent => "与上级下发基本目录无差异的事项数 ÷ 事项数（未下发基本目录时不计）",
            Sub::SourcesValid => "免提交来源有效的材料数 ÷ 声明免提交的材料数",
            Sub::Depth => "各事项网办深度得分之和 ÷ 事项数（一级0、二级⅓、三级⅔、四级1）",
            Sub::FullyOnline => "全程网办（四级且到现场0次）事项数 ÷ 事项数",
            Sub::ZeroVisit => "到现场0次的事项数 ÷ 事项数",
            Sub::Exempt => "免提交材料数 ÷ 申请材料数",
            Sub::OnlineRate => "期内网上申请件数 ÷ 期内申请件数",
            Sub::OnTime => "期内申请且按承诺时限办结件数 ÷ 其中已办结件数",
            Sub::GoodRate => "期内好评（非常满意、满意）数 ÷ 期内评价数（申诉成立作废的除外）",
            Sub::Rectified => "期内差评中已整改并反馈评价人的数 ÷ 期内差评数（申诉成立作废的除外）",
        }
    }
}

/// A ratio of counts; none when nothing was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub num: f64,
    pub den: f64,
}

impl Ratio {
    pub fn of(num: f64, den: f64) -> Ratio {
        Ratio { num, den }
    }

    pub fn value(&self) -> Option<f64> {
        (self.den > 0.0).then(|| (self.num / self.den).clamp(0.0, 1.0))
    }

    fn add(&mut self, o: &Ratio) {
        self.num += o.num;
        self.den += o.den;
    }
}

/// The guide elements checked on each item (指南要素完整率's denominator).
pub const GUIDE_ELEMENTS: usize = 11;

/// A phone number as a guide prints it: digits and the usual separators.
fn phone_like(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits >= 5 && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '(' | ')' | '+' | '转' | '、' | ',' | '，'))
}

/// How many of the [`GUIDE_ELEMENTS`] checked guide elements an item has,
/// each present and valid.
pub fn guide_elements_present(doc: &ItemDoc) -> usize {
    let filled = |s: &str| !s.trim().is_empty();
    let limits_consistent = doc.promised_limit.unit != doc.legal_limit.unit
        || doc.legal_limit.unit == TimeUnit::WorkingDay && doc.legal_limit.amount == 0
        || doc.promised_limit.amount <= doc.legal_limit.amount;
    let fees_consistent = if doc.charged { !doc.fees.is_empty() && filled(&doc.fee_by_law) } else { doc.fees.is_empty() };
    [
        filled(&doc.accept_conditions),
        filled(&doc.by_law),
        !doc.process.is_empty(),
        filled(&doc.place),
        filled(&doc.hours),
        phone_like(&doc.consult_phone) || filled(&doc.consult_other),
        phone_like(&doc.complaint_phone) || filled(&doc.complaint_other),
        doc.results.iter().any(|r| filled(&r.name)),
        limits_consistent,
        fees_consistent,
        !doc.faqs.is_empty(),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count()
}

fn depth_score(d: OnlineDepth) -> f64 {
    match d {
        OnlineDepth::Information => 0.0,
        OnlineDepth::FormDownload => 1.0 / 3.0,
        OnlineDepth::OnlinePreReview => 2.0 / 3.0,
        OnlineDepth::FullyOnline => 1.0,
    }
}

/// Applied for online (在线预审 or 全程网办).
fn online(doc: &ItemDoc) -> bool {
    matches!(doc.online_depth, OnlineDepth::OnlinePreReview | OnlineDepth::FullyOnline)
}

/// The cases of a period, as the store counts them per agency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCounts {
    /// Applications made in the period.
    pub applications: i64,
    /// Of those, made online.
    pub online: i64,
    /// Of those, concluded.
    pub concluded: i64,
    /// Of those concluded, by the promised date.
    pub on_time: i64,
}

/// The ratings of a period, those voided on appeal left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingCounts {
    pub ratings: i64,
    /// 好评: 非常满意 or 满意.
    pub good: i64,
    /// 差评: 不满意 or 非常不满意.
    pub bad: i64,
    /// 差评 whose rectification was fed back to the rater (or later).
    pub fed_back: i64,
}

/// The counts behind one agency's (or a region's) indicators.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Items counted.
    pub items: i64,
    pub ratios: BTreeMap<Sub, Ratio>,
}

impl Tally {
    fn ratio(&mut self, sub: Sub, num: f64, den: f64) {
        self.ratios.entry(sub).or_default().add(&Ratio::of(num, den));
    }

    /// Count one published item. `report` is the analyzer's report on it;
    /// `basic_known`: whether a basic catalog came down to compare with.
    pub fn add_item(&mut self, doc: &ItemDoc, report: &ItemReport, basic_known: bool) {
        self.items += 1;
        let is_online = online(doc);
        let mut offered = [
            is_online || doc.flags.online,
            !doc.online_address.mobile.trim().is_empty() || doc.handling_forms.contains(&HandlingForm::OnlineMobile),
            doc.flags.in_hall,
            doc.flags.self_service,
            doc.flags.appointment,
            doc.flags.express_delivery,
        ]
        .into_iter()
        .filter(|b| *b)
        .count() as f64;
        let mut channels = 6.0;
        if doc.charged {
            channels += 1.0;
            offered += f64::from(u8::from(doc.flags.online_payment));
        }
        self.ratio(Sub::ChannelsOffered, offered, channels);
        let findable = doc.all_themes().next().is_some() && !doc.service_objects.is_empty();
        self.ratio(Sub::Findable, f64::from(u8::from(findable)), 1.0);
        if is_online {
            // Applied for on this node (no outside address) is behind its one login.
            let one_login = doc.online_address.pc.trim().is_empty() || doc.online_address.sso;
            self.ratio(Sub::OneLogin, f64::from(u8::from(one_login)), 1.0);
            self.ratio(Sub::EForm, f64::from(u8::from(doc.form.is_some())), 1.0);
        }
        self.ratio(Sub::OnlineItems, f64::from(u8::from(is_online)), 1.0);
        self.ratio(Sub::GuideElements, guide_elements_present(doc) as f64, GUIDE_ELEMENTS as f64);
        if basic_known {
            let consistent =
                !report.findings.iter().any(|f| matches!(f.kind, FindingKind::NotInBasicCatalog | FindingKind::DiffersFromBasicCatalog));
            self.ratio(Sub::BasicConsistent, f64::from(u8::from(consistent)), 1.0);
        }
        let declared = doc.materials.iter().filter(|m| !matches!(m.source, MaterialSource::Applicant)).count();
        let broken = report
            .findings
            .iter()
            .filter(|f| matches!(f.kind, FindingKind::UnknownLicenseType | FindingKind::UnknownResource | FindingKind::NoGrant))
            .count();
        self.ratio(Sub::SourcesValid, declared.saturating_sub(broken) as f64, declared as f64);
        self.ratio(Sub::Depth, depth_score(doc.online_depth), 1.0);
        self.ratio(Sub::FullyOnline, f64::from(u8::from(doc.fully_online())), 1.0);
        self.ratio(Sub::ZeroVisit, f64::from(u8::from(doc.visits == 0)), 1.0);
        self.ratio(Sub::Exempt, report.exempt as f64, report.materials as f64);
    }

    /// Count a period's cases.
    pub fn add_cases(&mut self, c: &CaseCounts) {
        self.ratio(Sub::OnlineRate, c.online as f64, c.applications as f64);
        self.ratio(Sub::OnTime, c.on_time as f64, c.concluded as f64);
    }

    /// Count a period's ratings.
    pub fn add_ratings(&mut self, r: &RatingCounts) {
        self.ratio(Sub::GoodRate, r.good as f64, r.ratings as f64);
        self.ratio(Sub::Rectified, r.fed_back as f64, r.bad as f64);
    }

    /// Pool another tally into this one (a region over its agencies).
    pub fn add(&mut self, o: &Tally) {
        self.items += o.items;
        for (sub, r) in &o.ratios {
            self.ratios.entry(*sub).or_default().add(r);
        }
    }
}

/// Relative weights of the dimensions and of the sub-indicators within each,
/// and the grade bands. Unset entries take the defaults [I]: 20 per dimension
/// and [`Sub::default_weight`]; bands 90 / 80 / 65.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// By dimension code (`channels`, `coverage`, `guide`, `maturity`, `effect`).
    pub dimensions: BTreeMap<String, f64>,
    /// By sub-indicator code (`online_rate` …).
    pub sub: BTreeMap<String, f64>,
    /// The lowest totals of 非常高, 高 and 中 (below the last: 低).
    pub bands: [f64; 3],
}

impl Default for Weights {
    fn default() -> Self {
        Weights { dimensions: BTreeMap::new(), sub: BTreeMap::new(), bands: [90.0, 80.0, 65.0] }
    }
}

/// Why a weights setting was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    #[error("unknown indicator code {0:?}")]
    UnknownCode(String),
    #[error("weight of {0} must be a finite number ≥ 0")]
    BadWeight(String),
    #[error("the dimension weights add up to nothing")]
    AllZero,
    #[error("grade bands must fall from ≤ 100 to ≥ 0")]
    BadBands,
}

impl Weights {
    /// Every code known, every weight finite and ≥ 0, some dimension weighed.
    pub fn check(&self) -> Result<(), WeightsError> {
        for (code, w) in &self.dimensions {
            Dimension::parse(code).ok_or_else(|| WeightsError::UnknownCode(code.clone()))?;
            if !w.is_finite() || *w < 0.0 {
                return Err(WeightsError::BadWeight(code.clone()));
            }
        }
        for (code, w) in &self.sub {
            Sub::parse(code).ok_or_else(|| WeightsError::UnknownCode(code.clone()))?;
            if !w.is_finite() || *w < 0.0 {
                return Err(WeightsError::BadWeight(code.clone()));
            }
        }
        if Dimension::ALL.iter().all(|d| self.dimension(*d) <= 0.0) {
            return Err(WeightsError::AllZero);
        }
        let [a, b, c] = self.bands;
        if !(a <= 100.0 && a >= b && b >= c && c >= 0.0) {
            return Err(WeightsError::BadBands);
        }
        Ok(())
    }

    pub fn dimension(&self, d: Dimension) -> f64 {
        self.dimensions.get(d.code()).copied().unwrap_or(20.0)
    }

    pub fn of(&self, s: Sub) -> f64 {
        self.sub.get(s.code()).copied().unwrap_or_else(|| s.default_weight())
    }

    pub fn grade(&self, total: f64) -> Grade {
        let [very_high, high, medium] = self.bands;
        if total >= very_high {
            Grade::VeryHigh
        } else if total >= high {
            Grade::High
        } else if total >= medium {
            Grade::Medium
        } else {
            Grade::Low
        }
    }
}

/// The report's grade bands [I: recalled from the evaluation reports].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    VeryHigh,
    High,
    Medium,
    Low,
}

impl Grade {
    pub fn name_zh(self) -> &'static str {
        match self {
            Grade::VeryHigh => "非常高",
            Grade::High => "高",
            Grade::Medium => "中",
            Grade::Low => "低",
        }
    }
}

/// One sub-indicator's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SubScore {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub num: f64,
    pub den: f64,
    /// 0–100, one decimal; none when nothing was counted.
    pub value: Option<f64>,
    pub weight: f64,
}

/// One dimension's score with its parts.
#[derive(Debug, Clone, Serialize)]
pub struct DimensionScore {
    pub code: &'static str,
    pub name_zh: &'static str,
    /// 0–100, one decimal; none when none of its sub-indicators counted anything.
    pub score: Option<f64>,
    pub weight: f64,
    pub subs: Vec<SubScore>,
}

/// The five scores and the weighted total.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub items: i64,
    pub dimensions: Vec<DimensionScore>,
    /// Weighted over the dimensions that have a score.
    pub total: Option<f64>,
    pub grade: Option<Grade>,
    pub grade_zh: Option<&'static str>,
    /// Some weighed dimension had nothing to count, so the total leaves it out.
    pub partial: bool,
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Score a tally. A dimension is the weighted mean of its sub-indicators that
/// counted something, times 100; the total is the weighted mean of the
/// dimensions that have a score.
pub fn evaluate(t: &Tally, w: &Weights) -> Evaluation {
    let mut dimensions = Vec::with_capacity(5);
    let (mut sum, mut weight_sum, mut partial) = (0.0, 0.0, false);
    for d in Dimension::ALL {
        let (mut dsum, mut dweight) = (0.0, 0.0);
        let mut subs = Vec::new();
        for s in Sub::ALL.into_iter().filter(|s| s.dimension() == d) {
            let r = t.ratios.get(&s).copied().unwrap_or_default();
            let value = r.value();
            let weight = w.of(s);
            if let Some(v) = value.filter(|_| weight > 0.0) {
                dsum += v * weight;
                dweight += weight;
            }
            subs.push(SubScore {
                code: s.code(),
                name_zh: s.name_zh(),
                num: r.num,
                den: r.den,
                value: value.map(|v| one_decimal(v * 100.0)),
                weight,
            });
        }
        let score = (dweight > 0.0).then(|| 100.0 * dsum / dweight);
        let weight = w.dimension(d);
        match score {
            Some(s) if weight > 0.0 => {
                sum += s * weight;
                weight_sum += weight;
            }
            None if weight > 0.0 => partial = true,
            _ => {}
        }
        dimensions.push(DimensionScore { code: d.code(), name_zh: d.name_zh(), score: score.map(one_decimal), weight, subs });
    }
    let total = (weight_sum > 0.0).then(|| one_decimal(sum / weight_sum));
    let grade = total.map(|t| w.grade(t));
    Evaluation { items: t.items, dimensions, total, grade, grade_zh: grade.map(Grade::name_zh), partial }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yiwang_catalog::analyze::{Finding, Holdings};
    use yiwang_catalog::code_lists::ServiceObject;
    use yiwang_catalog::model::{Faq, Material, ProcessStep, ResultDoc};

    /// A complete, fully online item: every channel but payment, every element.
    fn full_item() -> ItemDoc {
        let agency = yiwang_catalog::AgencyRef { uscc: "11330100MB0000000X".into(), name: "某局".into(), division_code: "330100".into() };
        let mut d = ItemDoc::blank("1133010000250003373000104010000", "000250003373", agency, yiwang_codes::UseLevel::Municipal);
        d.name = "某许可".into();
        d.online_depth = OnlineDepth::FullyOnline;
        d.visits = 0;
        d.flags = yiwang_catalog::model::Flags {
            appointment: true,
            online_payment: false,
            express_delivery: true,
            online: true,
            in_hall: true,
            self_service: true,
        };
        d.online_address = Default::default();
        d.online_address.mobile = "https://m.example.gov.cn".into();
        d.charged = false;
        d.fees.clear();
        d.accept_conditions = "申请人为本市居民".into();
        d.by_law = "《某条例》第三条".into();
        d.process = vec![ProcessStep { name: "受理".into(), detail: String::new() }];
        d.place = "市民中心".into();
        d.hours = "工作日 9:00-17:00".into();
        d.consult_phone = "0571-12345".into();
        d.complaint_phone = "12345".into();
        d.results = vec![ResultDoc {
            name: "许可证".into(),
            result_type: yiwang_catalog::code_lists::ResultType::Other,
            license_type: None,
            license_data: Default::default(),
            license_valid_years: None,
            sample: String::new(),
        }];
        d.faqs = vec![Faq { question: "多久？".into(), answer: "五个工作日".into() }];
        d.themes.natural = vec!["就业创业".into()];
        d.service_objects = vec![ServiceObject::NaturalPerson];
        d.form = Some(Default::default());
        d.materials = vec![Material::new("身份证"), Material::new("营业执照")];
        d.materials[1].source = MaterialSource::License { license_type: "11100000000013338W001".into() };
        d
    }

    fn report(d: &ItemDoc) -> ItemReport {
        let holdings = Holdings {
            license_types: vec![yiwang_catalog::analyze::Evidence {
                code: "11100000000013338W001".into(),
                name: "营业执照".into(),
                aliases: vec![],
            }],
            ..Default::default()
        };
        yiwang_catalog::analyze::analyze_item(d, &holdings)
    }

    fn value(e: &Evaluation, sub: Sub) -> Option<f64> {
        e.dimensions.iter().flat_map(|d| &d.subs).find(|s| s.code == sub.code()).and_then(|s| s.value)
    }

    fn score(e: &Evaluation, d: Dimension) -> Option<f64> {
        e.dimensions.iter().find(|x| x.code == d.code()).and_then(|x| x.score)
    }

    #[test]
    fn a_complete_fully_online_item_scores_its_parts() {
        let d = full_item();
        let mut t = Tally::default();
        t.add_item(&d, &report(&d), false);
        let e = evaluate(&t, &Weights::default());
        assert_eq!(e.items, 1);
        assert_eq!(guide_elements_present(&d), GUIDE_ELEMENTS);
        // Six channels of six (the item charges nothing), found by theme, one login.
        assert_eq!(score(&e, Dimension::Channels), Some(100.0));
        assert_eq!(score(&e, Dimension::Coverage), Some(100.0));
        // No basic catalog came down: 与基本目录一致率 is not counted.
        assert_eq!(value(&e, Sub::BasicConsistent), None);
        assert_eq!(score(&e, Dimension::Guide), Some(100.0));
        // One of two materials exempt: 免提交率 50, the rest of maturity full.
        assert_eq!(value(&e, Sub::Exempt), Some(50.0));
        assert_eq!(score(&e, Dimension::Maturity), Some(90.0));
        // No case and no rating: 成效度 has nothing to count, and the total leaves it out.
        assert_eq!(score(&e, Dimension::Effect), None);
        assert!(e.partial);
        assert_eq!(e.total, Some(97.5));
        assert_eq!(e.grade, Some(Grade::VeryHigh));
    }

    #[test]
    fn a_thin_item_loses_what_it_lacks() {
        let mut d = full_item();
        d.online_depth = OnlineDepth::FormDownload;
        d.visits = 2;
        d.flags = Default::default();
        d.online_address.mobile.clear();
        d.handling_forms.clear();
        d.charged = true; // charged with no fee table: the fee element fails, and payment is a channel
        d.faqs.clear();
        d.consult_phone = "请咨询".into();
        d.themes = Default::default();
        let mut t = Tally::default();
        t.add_item(&d, &report(&d), false);
        let e = evaluate(&t, &Weights::default());
        assert_eq!(guide_elements_present(&d), GUIDE_ELEMENTS - 3);
        assert_eq!(value(&e, Sub::ChannelsOffered), Some(0.0));
        assert_eq!(value(&e, Sub::Findable), Some(0.0));
        // Not online: one login and the e-form are not counted for it.
        assert_eq!((value(&e, Sub::OneLogin), value(&e, Sub::EForm)), (None, None));
        assert_eq!(score(&e, Dimension::Coverage), Some(0.0));
        assert_eq!(value(&e, Sub::Depth), Some(33.3));
        assert_eq!(value(&e, Sub::GuideElements), Some(72.7));
        assert_eq!(score(&e, Dimension::Maturity), Some(20.0));
    }

    #[test]
    fn findings_lower_consistency_and_sources() {
        let mut d = full_item();
        d.materials[1].source = MaterialSource::License { license_type: "unknown".into() };
        let mut r = report(&d);
        r.findings.push(Finding {
            material: "设定依据".into(),
            kind: FindingKind::DiffersFromBasicCatalog,
            code: d.basic_code.clone(),
            name: String::new(),
            message_zh: String::new(),
        });
        let mut t = Tally::default();
        t.add_item(&d, &r, true);
        let e = evaluate(&t, &Weights::default());
        assert_eq!(value(&e, Sub::BasicConsistent), Some(0.0));
        assert_eq!(value(&e, Sub::SourcesValid), Some(0.0));
        assert_eq!(score(&e, Dimension::Guide), Some(60.0));
    }

    #[test]
    fn effect_counts_cases_and_ratings_and_regions_pool_counts() {
        let mut a = Tally::default();
        a.add_cases(&CaseCounts { applications: 10, online: 8, concluded: 4, on_time: 4 });
        a.add_ratings(&RatingCounts { ratings: 4, good: 3, bad: 1, fed_back: 1 });
        let mut b = Tally::default();
        b.add_cases(&CaseCounts { applications: 90, online: 0, concluded: 0, on_time: 0 });
        let w = Weights::default();
        let ea = evaluate(&a, &w);
        // (0.3×80 + 0.3×100 + 0.25×75 + 0.15×100) / 1.0
        assert_eq!(score(&ea, Dimension::Effect), Some(87.8));
        // No item counted: the other four have no score, and the total is the effect alone.
        assert_eq!(ea.total, Some(87.8));
        let mut region = a.clone();
        region.add(&b);
        let er = evaluate(&region, &w);
        // Pooled: 8 online of 100, not the mean of 80 % and 0 %.
        assert_eq!(value(&er, Sub::OnlineRate), Some(8.0));
    }

    #[test]
    fn weights_reweigh_and_bad_weights_are_refused() {
        let mut t = Tally::default();
        t.add_cases(&CaseCounts { applications: 10, online: 10, concluded: 10, on_time: 0 });
        let d = full_item();
        t.add_item(&d, &report(&d), false);
        let mut w = Weights::default();
        let before = evaluate(&t, &w).total;
        w.dimensions.insert("effect".into(), 0.0);
        let e = evaluate(&t, &w);
        assert!(!e.partial);
        assert_ne!(e.total, before);
        w.sub.insert("on_time".into(), 0.0);
        assert_eq!(w.check(), Ok(()));
        let e = evaluate(&t, &w);
        assert_eq!(score(&e, Dimension::Effect), Some(100.0));
        for bad in [
            Weights { dimensions: [("speed".to_string(), 1.0)].into(), ..Default::default() },
            Weights { sub: [("on_time".to_string(), -1.0)].into(), ..Default::default() },
            Weights { dimensions: Dimension::ALL.iter().map(|d| (d.code().to_string(), 0.0)).collect(), ..Default::default() },
            Weights { bands: [80.0, 90.0, 65.0], ..Default::default() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert_eq!((w.grade(90.0), w.grade(89.9), w.grade(65.0), w.grade(64.9)), (Grade::VeryHigh, Grade::High, Grade::Medium, Grade::Low));
    }

    #[test]
    fn every_sub_indicator_belongs_to_a_dimension_and_has_a_formula() {
        for d in Dimension::ALL {
            let subs: Vec<_> = Sub::ALL.into_iter().filter(|s| s.dimension() == d).collect();
            assert!(!subs.is_empty(), "{d:?}");
            assert!((subs.iter().map(|s| s.default_weight()).sum::<f64>() - 1.0).abs() < 1e-9, "{d:?}");
        }
        for s in Sub::ALL {
            assert_eq!(Sub::parse(s.code()), Some(s));
            assert!(!s.formula_zh().is_empty());
        }
    }
}
