//! The rules, their settings and [`evaluate`].

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_calendar::{Calendar, china_today};
use yiwang_case::{Case, Decision, Envelope, Event};

/// The five classes of anomaly (domain.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// 时效异常
    Timeliness,
    /// 流程异常
    Process,
    /// 内容异常
    Content,
    /// 收费/裁量异常
    Fee,
    /// 廉政风险
    Integrity,
}

impl Class {
    pub fn name_zh(self) -> &'static str {
        match self {
            Class::Timeliness => "时效异常",
            Class::Process => "流程异常",
            Class::Content => "内容异常",
            Class::Fee => "收费裁量异常",
            Class::Integrity => "廉政风险",
        }
    }
}

/// The ladder: 提示 → 黄牌 → 红牌 (督办 is an order, issued on an alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 提示 (预警)
    Notice,
    /// 黄牌
    Yellow,
    /// 红牌
    Red,
}

impl Level {
    pub fn name_zh(self) -> &'static str {
        match self {
            Level::Notice => "提示",
            Level::Yellow => "黄牌",
            Level::Red => "红牌",
        }
    }
}

/// The thresholds the rules use [I: domain.md §5 gives a common mapping, not
/// a national standard]: every one configurable, per agency too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// 提示 this many working days before the promised date.
    pub warn_workdays: u32,
    /// The 一次性告知 of a correction is late after this many working days from the application.
    pub correction_notice_workdays: u32,
    /// Returns (退回) on one case that make a loop.
    pub max_returns: u32,
    /// Special procedures (挂起) started by one official on one case that are too many.
    pub max_suspensions: u32,
    /// A special procedure (听证、检验、专家评审…; not an extension, which moves
    /// the deadlines itself) open longer than this many working days.
    pub max_special_workdays: u32,
    /// 退件率: one official's returns among the steps they closed in a China
    /// month, in per cent, that is unusual [I] …
    pub return_rate_percent: u32,
    /// … once they closed at least this many (0: the rule is off).
    pub return_rate_min_steps: u32,
    /// Special procedures one official starts on an agency's cases in a China
    /// month that are too many [I] (0: off).
    pub max_monthly_suspensions: u32,
    /// Decisions outside [start, end) China time, or on a rest day, are flagged.
    pub office_start_hour: i8,
    pub office_end_hour: i8,
    /// The published 办理流程 steps that are the case's own stages rather
    /// than workbench steps, by name, each with the event that reaches it
    /// (`submitted`, `accepted`, `decided`, `concluded`, `delivered`) [I].
    pub stage_steps: BTreeMap<String, String>,
    /// Rule codes switched off.
    pub disabled: Vec<String>,
}

/// The default stage names of a published 办理流程 [I: GB/T 32170's steps
/// and what local catalogs commonly publish].
fn default_stage_steps() -> BTreeMap<String, String> {
    [
        ("申请", "submitted"),
        ("提交申请", "submitted"),
        ("网上申请", "submitted"),
        ("受理", "accepted"),
        ("决定", "decided"),
        ("审批决定", "decided"),
        ("作出决定", "decided"),
        ("办结", "concluded"),
        ("送达", "delivered"),
        ("领取", "delivered"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            warn_workdays: 1,
            correction_notice_workdays: 5,
            max_returns: 3,
            max_suspensions: 3,
            max_special_workdays: 60,
            return_rate_percent: 50,
            return_rate_min_steps: 10,
            max_monthly_suspensions: 10,
            office_start_hour: 7,
            office_end_hour: 21,
            stage_steps: default_stage_steps(),
            disabled: Vec::new(),
        }
    }
}

/// A versioned rule set: the node's settings and per-agency overrides (a whole
/// [`Settings`] per agency USCC).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSet {
    pub version: u32,
    pub settings: Settings,
    pub agencies: BTreeMap<String, Settings>,
}

impl RuleSet {
    /// The settings that apply to an agency's cases.
    pub fn for_agency(&self, uscc: &str) -> &Settings {
        self.agencies.get(uscc).unwrap_or(&self.settings)
    }
}

/// What the rules need to know about a case's item version (the one it was
/// filed under), read once per version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFacts {
    /// The required materials (是否必要 = 1).
    pub required_materials: Vec<String>,
    /// 办理流程: the published steps' names, in order.
    pub published_steps: Vec<String>,
    /// The e-license types the version's results issue.
    pub result_licenses: Vec<String>,
    /// 是否收费.
    pub charged: bool,
    /// The fee table (收费项目).
    pub fees: Vec<FeeFacts>,
}

/// One row of an item version's fee table, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeFacts {
    pub name: String,
    /// The published amount or range in fen; none: the standard names none.
    pub range_fen: Option<(u64, u64)>,
    /// Whether the table allows a reduction or exemption (减免).
    pub reducible: bool,
}

/// What the rules need to know about a case besides its events.
#[derive(Debug, Clone, Copy)]
pub struct CaseFacts<'a> {
    pub case_no: &'a str,
    pub agency_uscc: &'a str,
    pub item: &'a ItemFacts,
    /// Materials provided by reference outside the events (attached licenses).
    pub attached: &'a [String],
    /// The case runs its item version's BPMN process, whose engine already
    /// refuses a step out of its order: the published 办理流程 is then not
    /// the measure of its steps.
    pub runs_process: bool,
    /// The e-license types issued on the case (办结出证); `None`: not known
    /// here, or issued with a 多证同发 bundle at its last child's conclusion,
    /// so the result rule leaves the case alone.
    pub issued_licenses: Option<&'a [String]>,
}

/// One alert: which rule, how severe, on which case, since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's stable code, e.g. `timeliness.promised_overdue`.
    pub rule: String,
    pub class: Class,
    pub level: Level,
    pub case_no: String,
    pub agency_uscc: String,
    /// When it became due: the event's time, or the start (China time) of
    /// the day a limit was passed.
    pub at: Timestamp,
    /// Unique per case: the rule and what it is about (a step, an official).
    pub key: String,
    pub message_zh: String,
}

struct Out<'a> {
    facts: CaseFacts<'a>,
    settings: &'a Settings,
    alerts: Vec<Alert>,
}

impl Out<'_> {
    fn raise(&mut self, rule: &str, class: Class, level: Level, at: Timestamp, about: &str, message_zh: String) {
        if self.settings.disabled.iter().any(|d| d == rule) {
            return;
        }
        let key = if about.is_empty() { rule.to_string() } else { format!("{rule}:{about}") };
        if self.alerts.iter().any(|a| a.key == key) {
            return;
        }
        self.alerts.push(Alert {
            rule: rule.into(),
            class,
            level,
            case_no: self.facts.case_no.into(),
            agency_uscc: self.facts.agency_uscc.into(),
            at,
            key,
            message_zh,
        });
    }
}

/// The start of a day, China time.
fn day_start(d: Date) -> Timestamp {
    yiwang_calendar::china_day_start(d).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Whether a material is provided on the case before `e`: uploaded, fetched
/// by sharing, committed, or attached.
fn provided(case: &Case, facts: &CaseFacts<'_>, material: &str) -> bool {
    case.uploads.iter().any(|u| u.material == material)
        || case.shared_fetched(material)
        || case.commitments.iter().any(|c| c.material == material)
        || facts.attached.iter().any(|a| a == material)
}

/// Every alert the case has earned by `now`, oldest first.
pub fn evaluate(rules: &RuleSet, facts: CaseFacts<'_>, events: &[Envelope], calendar: &Calendar, now: Timestamp) -> Vec<Alert> {
    evaluate_with_next(rules, facts, events, calendar, now).0
}

/// [`evaluate`], and the first day after today on which a rule on time could
/// trip for this case with no further event (`None`: none can). Deadlines only
/// move later as days pass (a special procedure pauses them), so the day is
/// never later than the truth: the sweep evaluates the case again from then.
pub fn evaluate_with_next(
    rules: &RuleSet,
    facts: CaseFacts<'_>,
    events: &[Envelope],
    calendar: &Calendar,
    now: Timestamp,
) -> (Vec<Alert>, Option<Date>) {
    let settings = rules.for_agency(facts.agency_uscc);
    let mut out = Out { facts, settings, alerts: Vec::new() };
    let mut case = Case::default();
    let mut seen = Seen::default();
    for e in events.iter().take_while(|e| e.at <= now) {
        on_event(&mut out, &case, e, calendar, &mut seen);
        on_published_steps(&mut out, e, &mut seen);
        on_result(&mut out, e, &mut seen);
        on_fees(&mut out, e);
        // A stored history is valid by construction; an event the fold refuses changes nothing.
        if let Ok(next) = case.apply(e) {
            case = next;
        }
    }
    let next = on_time(&mut out, &case, calendar, now);
    let next = match (next, special_time(&mut out, &seen, calendar, now)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    out.alerts.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
    (out.alerts, next)
}

/// What the walk over a case's events has met so far, beside the case's fold.
#[derive(Default)]
struct Seen<'e> {
    submitted_on: Option<Date>,
    accepted_by: Option<&'e str>,
    returns: u32,
    /// Special procedures started, per official.
    suspensions: BTreeMap<&'e str, u32>,
    /// Special procedures other than extensions: the day each started and ended.
    specials: Vec<(Date, Option<Date>)>,
    /// The furthest published 办理流程 step the case has reached, and whether
    /// a return since lets it take the workbench steps again.
    published_high: Option<usize>,
    /// The workbench steps started, by name.
    steps_started: Vec<&'e str>,
    decision: Option<Decision>,
}

fn on_event<'e>(out: &mut Out<'_>, before: &Case, e: &'e Envelope, calendar: &Calendar, seen: &mut Seen<'e>) {
    let s = out.settings;
    let on = china_today(e.at);
    match &e.event {
        Event::Submitted => {
            seen.submitted_on.get_or_insert(on);
        }
        Event::CorrectionNotified { .. } => {
            if let Some(from) = seen.submitted_on
                && let Ok(days) = calendar.workdays_between(from, on, &[])
                && days.value > s.correction_notice_workdays
            {
                out.raise(
                    "timeliness.correction_late",
                    Class::Timeliness,
                    Level::Yellow,
                    e.at,
                    "",
                    format!("申请后第 {} 个工作日才出具补正告知，超过 {} 个工作日", days.value, s.correction_notice_workdays),
                );
            }
        }
        Event::Accepted { pending, .. } => {
            seen.accepted_by = Some(e.actor.as_str());
            let missing: Vec<&str> = out
                .facts
                .item
                .required_materials
                .iter()
                .map(String::as_str)
                .filter(|m| !provided(before, &out.facts, m) && !pending.iter().any(|p| p.name == *m))
                .collect();
            if !missing.is_empty() {
                out.raise(
                    "content.accepted_missing_materials",
                    Class::Content,
                    Level::Yellow,
                    e.at,
                    "",
                    format!("受理时必要材料未齐且未列入容缺：{}", missing.join("、")),
                );
            }
        }
        // The case fold refuses these today; the rule stands for histories that
        // came in before that guard, and for replays of them.
        Event::NotAccepted { legal_basis } if legal_basis.trim().is_empty() || e.reason.trim().is_empty() => {
            out.raise(
                "process.refusal_without_reason",
                Class::Process,
                Level::Yellow,
                e.at,
                "not_accepted",
                "不予受理未说明理由或法律依据".into(),
            );
        }
        Event::StepReturned { step } => {
            seen.returns += 1;
            let returns = seen.returns;
            if returns == s.max_returns {
                out.raise(
                    "process.return_loop",
                    Class::Process,
                    Level::Yellow,
                    e.at,
                    "",
                    format!("办件已被退回 {returns} 次（最近一次在“{step}”）"),
                );
            }
        }
        Event::SpecialEnded { .. } => {
            if let Some(open) = seen.specials.iter_mut().rev().find(|(_, end)| end.is_none()) {
                open.1 = Some(on);
            }
        }
        Event::SpecialStarted { name, kind, .. } => {
            if *kind == yiwang_case::SpecialKind::Other {
                seen.specials.push((on, None));
            }
            let n = seen.suspensions.entry(e.actor.as_str()).or_insert(0);
            *n += 1;
            if *n == s.max_suspensions {
                out.raise(
                    "integrity.repeated_suspension",
                    Class::Integrity,
                    Level::Yellow,
                    e.at,
                    &e.actor,
                    format!("同一工作人员在本件启动特别程序 {n} 次（最近：{name}）"),
                );
            }
        }
        Event::StepOverdue { step, due } => {
            out.raise(
                "timeliness.step_overdue",
                Class::Timeliness,
                Level::Yellow,
                e.at,
                &format!("{step}@{due}"),
                format!("环节“{step}”超过时限（应于 {due} 前完成）"),
            );
        }
        Event::Decided { decision } => {
            if seen.accepted_by.is_none() {
                out.raise("process.decided_without_acceptance", Class::Process, Level::Red, e.at, "decided", "未经受理即作出决定".into());
            }
            if *decision == Decision::Deny && e.reason.trim().is_empty() {
                out.raise("process.refusal_without_reason", Class::Process, Level::Yellow, e.at, "denied", "不予许可未说明理由".into());
            }
            if let Some(by) = seen.accepted_by
                && !by.is_empty()
                && by == e.actor
            {
                out.raise("integrity.same_person", Class::Integrity, Level::Yellow, e.at, "", "同一工作人员既受理又作出决定".into());
            }
            let local = yiwang_calendar::china_time(e.at);
            let hour = local.hour();
            let rest_day = !calendar.is_workday(on).value;
            if rest_day || hour < s.office_start_hour || hour >= s.office_end_hour {
                out.raise(
                    "integrity.off_hours_decision",
                    Class::Integrity,
                    Level::Notice,
                    e.at,
                    "",
                    format!("决定作出于非工作时间（{}）", local.strftime("%Y-%m-%d %H:%M")),
                );
            }
        }
        Event::Concluded { .. } if seen.accepted_by.is_none() => {
            out.raise("process.concluded_without_acceptance", Class::Process, Level::Red, e.at, "concluded", "未经受理即办结".into());
        }
        _ => {}
    }
}

/// The event's stage name in the published 办理流程, if it is one of the
/// case's own stages.
fn stage_of(e: &Event) -> Option<&'static str> {
    Some(match e {
        Event::Submitted => "submitted",
        Event::Accepted { .. } => "accepted",
        Event::Decided { .. } => "decided",
        Event::Concluded { .. } => "concluded",
        Event::Delivered { .. } => "delivered",
        _ => return None,
    })
}

/// 流程: a case without a BPMN process measured against its item version's
/// published 办理流程: a workbench step the guide does not publish (提示), a
/// step taken after a later one with no return between (黄牌), and a
/// published step not taken before the decision or a later stage (黄牌).
fn on_published_steps<'e>(out: &mut Out<'_>, e: &'e Envelope, seen: &mut Seen<'e>) {
    let steps = &out.facts.item.published_steps;
    if out.facts.runs_process || steps.is_empty() {
        return;
    }
    let stages = &out.settings.stage_steps;
    let is_stage = |name: &str| stages.contains_key(name);
    match &e.event {
        Event::StepStarted { step } => {
            let Some(i) = steps.iter().position(|s| s == step && !is_stage(s)) else {
                out.raise(
                    "process.step_unlisted",
                    Class::Process,
                    Level::Notice,
                    e.at,
                    step,
                    format!("环节“{step}”不在办事指南公布的办理流程中"),
                );
                return;
            };
            if !seen.steps_started.contains(&step.as_str()) {
                seen.steps_started.push(step);
            }
            if let Some(high) = seen.published_high
                && high > i
            {
                out.raise(
                    "process.step_out_of_order",
                    Class::Process,
                    Level::Yellow,
                    e.at,
                    step,
                    format!("环节“{step}”在其后的“{}”之后办理，与公布的办理流程顺序不符", steps[high]),
                );
            }
            seen.published_high = Some(seen.published_high.map_or(i, |h| h.max(i)));
        }
        // A return lets the case take the workbench steps again from the first.
        Event::StepReturned { .. } => {
            seen.published_high = steps.iter().position(|s| !is_stage(s)).and_then(|f| f.checked_sub(1));
        }
        event => {
            let Some(stage) = stage_of(event) else { return };
            let Some(j) = steps.iter().position(|s| stages.get(s).is_some_and(|v| v == stage)) else { return };
            if matches!(stage, "decided" | "concluded" | "delivered") {
                for skipped in steps[..j].iter().filter(|s| !is_stage(s) && !seen.steps_started.contains(&s.as_str())) {
                    out.raise(
                        "process.step_skipped",
                        Class::Process,
                        Level::Yellow,
                        e.at,
                        skipped,
                        format!("公布的办理流程中的环节“{skipped}”未经办理即{}", steps[j]),
                    );
                }
            }
            seen.published_high = Some(seen.published_high.map_or(j, |h| h.max(j)));
        }
    }
}

/// 内容: the conclusion against the decision and the item version's
/// results: an approved case's result text that refuses, a refused case's
/// that grants [I: by the words 准予 and 不予], and an approval that issued
/// none of the e-licenses the version's results name.
fn on_result(out: &mut Out<'_>, e: &Envelope, seen: &mut Seen<'_>) {
    match &e.event {
        Event::Decided { decision } => seen.decision = Some(*decision),
        Event::Concluded { result } => {
            let refuses = result.contains("不予") || result.contains("不准予") || result.contains("不同意");
            let grants = result.contains("准予") || result.contains("同意");
            let contradicts = match seen.decision {
                Some(Decision::Approve) => refuses,
                Some(Decision::Deny) => grants && !refuses,
                None => false,
            };
            if contradicts {
                out.raise(
                    "content.result_contradicts_decision",
                    Class::Content,
                    Level::Yellow,
                    e.at,
                    "",
                    format!("办结结果“{result}”与{}决定不符", if seen.decision == Some(Decision::Approve) { "准予" } else { "不予" }),
                );
            }
            if seen.decision == Some(Decision::Approve)
                && let Some(issued) = out.facts.issued_licenses
            {
                let missing: Vec<&str> =
                    out.facts.item.result_licenses.iter().map(String::as_str).filter(|t| !issued.iter().any(|i| i == t)).collect();
                if !missing.is_empty() {
                    out.raise(
                        "content.license_not_issued",
                        Class::Content,
                        Level::Yellow,
                        e.at,
                        "",
                        format!("准予办结但未签发事项办理结果所列的电子证照：{}", missing.join("、")),
                    );
                }
            }
        }
        _ => {}
    }
}

/// 收费/裁量: a fee notice against the item version's fee table: any fee on
/// an item published as free (红牌); a fee the table does not list (红牌); an
/// amount outside the published amount or range, unless reduced (黄牌,
/// 裁量); a reduction the table does not allow (黄牌). Keyed per fee, so a
/// later notice that repeats one raises nothing new.
fn on_fees(out: &mut Out<'_>, e: &Envelope) {
    let Event::FeeAssessed { lines } = &e.event else { return };
    let item = out.facts.item;
    if !item.charged {
        let total = yiwang_case::FeeLine::total_fen(lines);
        if total > 0 {
            out.raise(
                "fee.on_free_item",
                Class::Fee,
                Level::Red,
                e.at,
                "",
                format!("事项公布为不收费，却核定收费 {}", yiwang_case::yuan(total)),
            );
        }
        return;
    }
    for l in lines {
        let Some(row) = item.fees.iter().find(|f| f.name == l.name) else {
            if l.amount_fen > 0 {
                out.raise(
                    "fee.not_in_table",
                    Class::Fee,
                    Level::Red,
                    e.at,
                    &l.name,
                    format!("收费项目“{}”（{}）不在事项公布的收费项目中", l.name, yiwang_case::yuan(l.amount_fen)),
                );
            }
            continue;
        };
        if l.reduced && !row.reducible {
            out.raise(
                "fee.reduction_not_allowed",
                Class::Fee,
                Level::Yellow,
                e.at,
                &l.name,
                format!("收费项目“{}”未公布减免，却按减免收取 {}", l.name, yiwang_case::yuan(l.amount_fen)),
            );
        }
        if let Some((min, max)) = row.range_fen
            && !l.reduced
            && (l.amount_fen < min || l.amount_fen > max)
        {
            let published =
                if min == max { yiwang_case::yuan(min) } else { format!("{}至{}", yiwang_case::yuan(min), yiwang_case::yuan(max)) };
            out.raise(
                "fee.out_of_range",
                Class::Fee,
                Level::Yellow,
                e.at,
                &l.name,
                format!("收费项目“{}”收取 {}，超出公布的收费标准（{published}）", l.name, yiwang_case::yuan(l.amount_fen)),
            );
        }
    }
}

/// The rules on time: the promised date near or passed, the legal date passed,
/// each from the moment it happened, unless the case was concluded first.
/// Returns the first later day on which one of them could still trip.
fn on_time(out: &mut Out<'_>, case: &Case, calendar: &Calendar, now: Timestamp) -> Option<Date> {
    let today = china_today(now);
    let Ok(Some(d)) = case.deadlines(calendar, today) else { return None };
    // Withdrawn or voided before conclusion: no clock runs.
    if case.state.is_over() && case.concluded_on.is_none() {
        return None;
    }
    let mut next: Option<Date> = None;
    let mut later = |day: Date| {
        if day > today && case.concluded_on.is_none() {
            next = Some(next.map_or(day, |n| n.min(day)));
        }
    };
    let open_on = |day: Date| case.concluded_on.is_none_or(|c| c >= day);
    let s = out.settings;
    let warn = workdays_before(calendar, d.promised_due, s.warn_workdays);
    if let Some(warn_on) = warn {
        later(warn_on);
    }
    for due in [d.promised_due, d.legal_due] {
        if let Ok(after) = due.tomorrow() {
            later(after);
        }
    }
    if let Some(warn_on) = warn
        && warn_on <= today
        && open_on(warn_on)
    {
        out.raise(
            "timeliness.promised_near",
            Class::Timeliness,
            Level::Notice,
            day_start(warn_on),
            "",
            format!("承诺办结日 {} 临近", d.promised_due),
        );
    }
    for (due, rule, level, what) in [
        (d.promised_due, "timeliness.promised_overdue", Level::Yellow, "承诺"),
        (d.legal_due, "timeliness.legal_overdue", Level::Red, "法定"),
    ] {
        let Ok(after) = due.tomorrow() else { continue };
        if after <= today && open_on(after) {
            out.raise(rule, Class::Timeliness, level, day_start(after), "", format!("已超过{what}办结日 {due}"));
        }
    }
    next
}

/// A special procedure open past `max_special_workdays` working days: 黄牌
/// from the start of the day after its last allowed day. Returns the first
/// later day on which one still open could trip.
fn special_time(out: &mut Out<'_>, seen: &Seen<'_>, calendar: &Calendar, now: Timestamp) -> Option<Date> {
    let today = china_today(now);
    let limit = out.settings.max_special_workdays;
    let mut next: Option<Date> = None;
    for (start, end) in &seen.specials {
        let Ok(last) = calendar.add_workdays(*start, limit) else { continue };
        let Ok(trips) = last.value.tomorrow() else { continue };
        if trips <= today {
            if end.is_none_or(|e| e >= trips) {
                out.raise(
                    "timeliness.special_overlong",
                    Class::Timeliness,
                    Level::Yellow,
                    day_start(trips),
                    &start.to_string(),
                    format!("特别程序自 {start} 起超过 {limit} 个工作日仍未结束"),
                );
            }
        } else if end.is_none() {
            next = Some(next.map_or(trips, |n| n.min(trips)));
        }
    }
    next
}

/// The working day `n` working days before `due` (`due` itself for 0).
fn workdays_before(calendar: &Calendar, due: Date, n: u32) -> Option<Date> {
    let mut day = due;
    let mut counted = 0;
    // Bounded: a long holiday is some ten days; a few months covers any setting.
    for _ in 0..120 {
        if counted == n {
            return Some(day);
        }
        day = day.yesterday().ok()?;
        if calendar.is_workday(day).value {
            counted += 1;
        }
    }
    None
}
