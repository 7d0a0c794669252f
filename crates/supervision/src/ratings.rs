//! 好差评 (国办发〔2019〕51号; domain.md §4): a rating of a case at
//! acceptance or at completion, on any channel, in five levels with each
//! level's checklist of reasons from versioned content; and the loop a 差评
//! opens (核实 → 立行立改 / 限期整改 / 解释说明 / 申诉复核 → 反馈评价人 → 回访),
//! a fold of its events with deadlines in working days. Pure: the store keeps
//! the ratings and the events, the web layer decides who may act.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_calendar::{Calendar, CalendarError, china_today};
use yiwang_errors::{Coded, ErrorKind};

/// 满意度 (GB/T 39046 A.8): 1 非常满意 … 5 非常不满意.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Satisfaction(u8);

impl Satisfaction {
    pub fn new(code: u8) -> Option<Satisfaction> {
        (1..=5).contains(&code).then_some(Satisfaction(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    pub fn name_zh(self) -> &'static str {
        ["非常满意", "满意", "基本满意", "不满意", "非常不满意"][usize::from(self.0 - 1)]
    }

    /// 差评: 不满意 or 非常不满意.
    pub fn is_bad(self) -> bool {
        self.0 >= 4
    }

    /// 好评: 非常满意 or 满意 (基本满意 is neither).
    pub fn is_good(self) -> bool {
        self.0 <= 2
    }

    /// Stars as portals show them: 5 for 非常满意 … 1 for 非常不满意.
    pub fn stars(self) -> u8 {
        6 - self.0
    }
}

impl TryFrom<u8> for Satisfaction {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        Satisfaction::new(v).ok_or_else(|| format!("满意度代码须为 1–5，收到 {v}"))
    }
}

impl From<Satisfaction> for u8 {
    fn from(s: Satisfaction) -> u8 {
        s.0
    }
}

/// 评价渠道 (GB/T 39046 Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// PC端
    Pc,
    /// 移动服务端
    Mobile,
    /// 二维码
    Qr,
    /// 政务大厅平板电脑
    HallTablet,
    /// 政务大厅其他终端
    HallTerminal,
    /// 电话
    Phone,
    /// 短信
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 7] =
        [Channel::Pc, Channel::Mobile, Channel::Qr, Channel::HallTablet, Channel::HallTerminal, Channel::Phone, Channel::Sms];

    pub fn name_zh(self) -> &'static str {
        match self {
            Channel::Pc => "PC端",
            Channel::Mobile => "移动服务端",
            Channel::Qr => "二维码",
            Channel::HallTablet => "政务大厅平板电脑",
            Channel::HallTerminal => "政务大厅其他终端",
            Channel::Phone => "电话",
            Channel::Sms => "短信",
        }
    }

    /// Whether the rating is of a service at the hall (the offline indicators).
    pub fn is_offline(self) -> bool {
        matches!(self, Channel::HallTablet | Channel::HallTerminal)
    }
}

/// When a case is rated: after 受理, or after 办结.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Accepted,
    Concluded,
}

impl Stage {
    pub fn code(self) -> &'static str {
        match self {
            Stage::Accepted => "accepted",
            Stage::Concluded => "concluded",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::Accepted => "受理",
            Stage::Concluded => "办结",
        }
    }

    /// Whether the case has reached this stage, so it may be rated.
    pub fn reached(self, case: &yiwang_case::Case) -> bool {
        match self {
            Stage::Accepted => case.accepted_on.is_some(),
            Stage::Concluded => case.concluded_on.is_some(),
        }
    }
}

/// The stages a case has reached and that are not rated yet, 受理 first.
pub fn open_stages(case: &yiwang_case::Case, rated: &[Stage]) -> Vec<Stage> {
    [Stage::Accepted, Stage::Concluded].into_iter().filter(|s| s.reached(case) && !rated.contains(s)).collect()
}

/// One level's reasons to choose from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelContent {
    pub level: Satisfaction,
    pub reasons: Vec<String>,
}

/// The rating content: versioned, the same for every agency (local edits are
/// not allowed); an online and an offline set of indicators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    pub version: u32,
    /// 网上服务: 整体满意度, 办事效率, 办事指南精确度, 办事便捷度, 平台操作性.
    pub online: Vec<LevelContent>,
    /// 现场服务: 整体满意度, 服务效率, 服务水平, 服务态度.
    pub offline: Vec<LevelContent>,
}

impl Content {
    /// The built-in content [I: the national unified indicators, reasons as
    /// provincial schemes phrase them].
    pub fn builtin() -> Content {
        let levels = |good: &[&str], fair: &[&str], bad: &[&str]| -> Vec<LevelContent> {
            (1..=5u8)
                .filter_map(Satisfaction::new)
                .map(|level| LevelContent {
                    level,
                    reasons: match level.code() {
                        1 | 2 => good,
                        3 => fair,
                        _ => bad,
                    }
                    .iter()
                    .map(|r| r.to_string())
                    .collect(),
                })
                .collect()
        };
        Content {
            version: 1,
            online: levels(
                &["办事效率高", "办事指南准确", "申报便捷", "平台操作简便", "无需重复提交材料"],
                &["办理时间较长", "办事指南不够清楚", "操作步骤较多"],
                &[
                    "超时办结",
                    "办事指南与实际要求不符",
                    "要求重复提交材料",
                    "平台操作复杂",
                    "系统故障无法办理",
                    "未一次性告知补正内容",
                    "咨询无人回复",
                ],
            ),
            offline: levels(
                &["服务效率高", "服务规范专业", "服务态度热情", "一次办成"],
                &["等候时间较长", "解答不够清楚"],
                &["等候时间过长", "多次跑动", "服务态度差", "业务不熟练", "未一次性告知", "吃拿卡要"],
            ),
        }
    }

    /// Whether a node may rate with this content: a version from 1; online
    /// and at the hall, each of the five levels once, in order, with 1 to 20
    /// distinct reasons of 1 to 50 characters.
    pub fn check(&self) -> Result<(), String> {
        if self.version == 0 {
            return Err("version 从 1 起 / starts at 1".into());
        }
        for (set, levels) in [("online", &self.online), ("offline", &self.offline)] {
            let codes: Vec<u8> = levels.iter().map(|l| l.level.code()).collect();
            if codes != [1, 2, 3, 4, 5] {
                return Err(format!("{set}: 须依次列出 1–5 五个等级 / must list the levels 1 to 5 in order, not {codes:?}"));
            }
            for l in levels {
                if l.reasons.is_empty() || l.reasons.len() > 20 {
                    return Err(format!("{set} {}: 须有 1–20 项理由 / 1 to 20 reasons", l.level.name_zh()));
                }
                for (i, r) in l.reasons.iter().enumerate() {
                    let n = r.trim().chars().count();
                    if n == 0 || n > 50 || r.trim() != r {
                        return Err(format!("{set} {}: 理由“{r}”须为 1–50 字 / a reason is 1 to 50 characters", l.level.name_zh()));
                    }
                    if l.reasons[..i].contains(r) {
                        return Err(format!("{set} {}: 理由“{r}”重复 / is repeated", l.level.name_zh()));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn levels(&self, channel: Channel) -> &[LevelContent] {
        if channel.is_offline() { &self.offline } else { &self.online }
    }

    pub fn reasons(&self, channel: Channel, level: Satisfaction) -> &[String] {
        self.levels(channel).iter().find(|l| l.level == level).map_or(&[][..], |l| l.reasons.as_slice())
    }
}

/// A rating as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub case_no: String,
    pub stage: Stage,
    pub channel: Channel,
    pub level: Satisfaction,
    pub reasons: Vec<String>,
    pub comment: String,
    pub at: Timestamp,
    pub content_version: u32,
}

/// The longest comment or note kept.
pub const TEXT_MAX: usize = 500;

/// Why a rating or a step of its loop is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("reason {0:?} is not on this level's list")]
    UnknownReason(String),
    #[error("reason {0:?} is given twice")]
    RepeatedReason(String),
    #[error("a bad rating needs a reason or a comment")]
    BadNeedsReason,
    #[error("text is at most {0} characters")]
    TooLong(usize),
    #[error("the loop in state {from} cannot take {action}")]
    Transition { from: &'static str, action: &'static str },
    #[error("{0} needs a note")]
    NoteRequired(&'static str),
    #[error("working-day arithmetic: {0}")]
    Calendar(#[from] CalendarError),
}

impl Coded for RatingError {
    fn code(&self) -> &'static str {
        match self {
            RatingError::UnknownReason(_) => "rating.unknown_reason",
            RatingError::RepeatedReason(_) => "rating.repeated_reason",
            RatingError::BadNeedsReason => "rating.bad_needs_reason",
            RatingError::TooLong(_) => "rating.too_long",
            RatingError::Transition { .. } => "rating.transition",
            RatingError::NoteRequired(_) => "rating.note_required",
            RatingError::Calendar(e) => e.code(),
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            RatingError::Transition { .. } => ErrorKind::Conflict,
            RatingError::Calendar(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            RatingError::UnknownReason(r) => format!("“{r}”不是该评价等级可选的原因"),
            RatingError::RepeatedReason(r) => format!("原因“{r}”重复"),
            RatingError::BadNeedsReason => "差评请至少选择一项原因或填写评价内容".into(),
            RatingError::TooLong(n) => format!("内容不得超过 {n} 字"),
            RatingError::Transition { from, action } => format!("差评整改当前状态（{from}）不允许此操作（{action}）"),
            RatingError::NoteRequired(what) => format!("{what}须填写说明"),
            RatingError::Calendar(e) => e.message_zh(),
        }
    }
}

fn check_text(text: &str) -> Result<(), RatingError> {
    if text.chars().count() > TEXT_MAX { Err(RatingError::TooLong(TEXT_MAX)) } else { Ok(()) }
}

impl Rating {
    /// Check a rating against the content it was given under: its reasons are
    /// the level's (each once), a 差评 says why, texts are bounded.
    pub fn check(&self, content: &Content) -> Result<(), RatingError> {
        check_text(&self.comment)?;
        let allowed = content.reasons(self.channel, self.level);
        for (i, r) in self.reasons.iter().enumerate() {
            if !allowed.contains(r) {
                return Err(RatingError::UnknownReason(r.clone()));
            }
            // Each once: so a rating holds at most its level's list.
            if self.reasons[..i].contains(r) {
                return Err(RatingError::RepeatedReason(r.clone()));
            }
        }
        if self.level.is_bad() && self.reasons.is_empty() && self.comment.trim().is_empty() {
            return Err(RatingError::BadNeedsReason);
        }
        Ok(())
    }
}

/// The settings of the loop [I: no national deadline; 15 working days is the
/// common provincial rule, first contact within 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoopSettings {
    pub rectify_workdays: u32,
    pub contact_workdays: u32,
}

impl Default for LoopSettings {
    fn default() -> Self {
        LoopSettings { rectify_workdays: 15, contact_workdays: 1 }
    }
}

impl LoopSettings {
    /// Feedback within 1–60 working days, first contact within 1 and no later than the feedback.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=60).contains(&self.rectify_workdays) {
            return Err(format!("rectify_workdays 须为 1–60 / must be 1–60, not {}", self.rectify_workdays));
        }
        if self.contact_workdays < 1 || self.contact_workdays > self.rectify_workdays {
            return Err(format!("contact_workdays 须为 1–{} / must be 1 to rectify_workdays", self.rectify_workdays));
        }
        Ok(())
    }
}

/// How the agency triages a verified 差评.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Triage {
    /// 情况清楚、诉求合理: 立行立改.
    RectifyNow,
    /// 情况复杂: 说明理由、建立台账、限期整改.
    RectifyBy,
    /// 缺乏法定依据: 解释说明.
    Explain,
}

/// Where a 差评's loop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopState {
    /// 待核实
    Open,
    /// 整改中 (立行立改 or 限期整改)
    Rectifying,
    /// 申诉复核中
    Appealed,
    /// 待反馈评价人 (rectified, or explained)
    ToFeedback,
    /// 待回访
    ToRevisit,
    /// 已办结
    Closed,
    /// 申诉成立，差评不计入
    Voided,
}

impl LoopState {
    pub fn name_zh(self) -> &'static str {
        match self {
            LoopState::Open => "待核实",
            LoopState::Rectifying => "整改中",
            LoopState::Appealed => "申诉复核中",
            LoopState::ToFeedback => "待反馈",
            LoopState::ToRevisit => "待回访",
            LoopState::Closed => "已办结",
            LoopState::Voided => "申诉成立",
        }
    }
}

/// What happens in a 差评's loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum LoopAction {
    /// 核实 and triage (the agency).
    Verified { triage: Triage },
    /// 申诉 (the agency): 误评 or 恶意差评.
    Appealed,
    /// 申诉复核 (a supervisor): upheld voids the rating; rejected sends it to rectification.
    AppealReviewed { upheld: bool },
    /// 整改完成 (the agency).
    Rectified,
    /// 反馈评价人 (the agency): what was done, told to the rater.
    FeedbackSent,
    /// 回访 (the agency): the rater's satisfaction now.
    Revisited { satisfaction: Satisfaction },
}

impl LoopAction {
    pub fn name_zh(&self) -> &'static str {
        match self {
            LoopAction::Verified { .. } => "核实",
            LoopAction::Appealed => "申诉",
            LoopAction::AppealReviewed { .. } => "申诉复核",
            LoopAction::Rectified => "整改完成",
            LoopAction::FeedbackSent => "反馈评价人",
            LoopAction::Revisited { .. } => "回访",
        }
    }

    /// Whether a supervisor takes it (else the rated agency).
    pub fn by_supervisor(&self) -> bool {
        matches!(self, LoopAction::AppealReviewed { .. })
    }
}

/// One event of a loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopEvent {
    pub at: Timestamp,
    pub actor: String,
    #[serde(flatten)]
    pub action: LoopAction,
    #[serde(default)]
    pub note: String,
}

/// A 差评's loop as its events made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loop {
    pub state: LoopState,
    pub opened_at: Timestamp,
    /// First contact (核实) is due by this day.
    pub contact_due: Date,
    /// Rectification and feedback are due by this day.
    pub due: Date,
    pub triage: Option<Triage>,
    pub contacted_at: Option<Timestamp>,
    pub feedback_at: Option<Timestamp>,
    pub revisited: Option<Satisfaction>,
    pub closed_at: Option<Timestamp>,
}

impl Loop {
    /// The loop a 差评 opens, with its deadlines counted from the rating's day.
    pub fn open(rating: &Rating, calendar: &Calendar, s: LoopSettings) -> Result<Option<Loop>, RatingError> {
        if !rating.level.is_bad() {
            return Ok(None);
        }
        let day = china_today(rating.at);
        Ok(Some(Loop {
            state: LoopState::Open,
            opened_at: rating.at,
            contact_due: calendar.add_workdays(day, s.contact_workdays)?.value,
            due: calendar.add_workdays(day, s.rectify_workdays)?.value,
            triage: None,
            contacted_at: None,
            feedback_at: None,
            revisited: None,
            closed_at: None,
        }))
    }

    /// The loop after `e`.
    pub fn apply(&self, e: &LoopEvent) -> Result<Loop, RatingError> {
        check_text(&e.note)?;
        let refuse = || RatingError::Transition { from: self.state.name_zh(), action: e.action.name_zh() };
        let mut next = self.clone();
        next.state = match (&e.action, self.state) {
            (LoopAction::Verified { triage }, LoopState::Open) => {
                next.triage = Some(*triage);
                next.contacted_at = Some(e.at);
                match triage {
                    Triage::Explain => {
                        if e.note.trim().is_empty() {
                            return Err(RatingError::NoteRequired("解释说明"));
                        }
                        LoopState::ToFeedback
                    }
                    Triage::RectifyNow | Triage::RectifyBy => LoopState::Rectifying,
                }
            }
            (LoopAction::Appealed, LoopState::Open) => {
                if e.note.trim().is_empty() {
                    return Err(RatingError::NoteRequired("申诉"));
                }
                next.contacted_at = Some(e.at);
                LoopState::Appealed
            }
            (LoopAction::AppealReviewed { upheld: true }, LoopState::Appealed) => {
                next.closed_at = Some(e.at);
                LoopState::Voided
            }
            (LoopAction::AppealReviewed { upheld: false }, LoopState::Appealed) => {
                if e.note.trim().is_empty() {
                    return Err(RatingError::NoteRequired("驳回申诉"));
                }
                next.triage = Some(Triage::RectifyBy);
                LoopState::Rectifying
            }
            (LoopAction::Rectified, LoopState::Rectifying) => {
                if e.note.trim().is_empty() {
                    return Err(RatingError::NoteRequired("整改情况"));
                }
                LoopState::ToFeedback
            }
            (LoopAction::FeedbackSent, LoopState::ToFeedback) => {
                if e.note.trim().is_empty() {
                    return Err(RatingError::NoteRequired("反馈内容"));
                }
                next.feedback_at = Some(e.at);
                LoopState::ToRevisit
            }
            (LoopAction::Revisited { satisfaction }, LoopState::ToRevisit) => {
                next.revisited = Some(*satisfaction);
                next.closed_at = Some(e.at);
                LoopState::Closed
            }
            _ => return Err(refuse()),
        };
        Ok(next)
    }

    /// Fold a stored history from the loop's opening.
    pub fn fold(opened: Loop, events: &[LoopEvent]) -> Result<Loop, RatingError> {
        events.iter().try_fold(opened, |l, e| l.apply(e))
    }

    /// Rectified (fed back) by the deadline; `None` while that is still open.
    pub fn on_time(&self) -> Option<bool> {
        self.feedback_at.map(|f| china_today(f) <= self.due)
    }

    /// The feedback is owed and its deadline has passed.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        matches!(self.state, LoopState::Open | LoopState::Rectifying | LoopState::ToFeedback | LoopState::Appealed)
            && china_today(now) > self.due
    }
}

/// Counts over ratings and loops, for statistics per agency, staff member,
/// item and channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RatingCounts {
    pub ratings: i64,
    pub good: i64,
    pub bad: i64,
    /// 差评 voided on appeal (not counted as 差评).
    pub voided: i64,
    /// 差评 whose loop reached feedback.
    pub rectified: i64,
    /// 差评 whose rater was revisited.
    pub revisited: i64,
}

impl RatingCounts {
    /// 好评率: good of ratings (voided ones left out).
    pub fn good_rate(&self) -> Option<f64> {
        crate::public::percent(self.good, self.ratings - self.voided)
    }

    /// 差评整改率: rectified of 差评.
    pub fn rectified_rate(&self) -> Option<f64> {
        crate::public::percent(self.rectified, self.bad)
    }

    /// 回访率: revisited of 差评.
    pub fn revisit_rate(&self) -> Option<f64> {
        crate::public::percent(self.revisited, self.bad)
    }
}

/// Tally ratings by a key (agency, staff member, item or channel) from
/// counts of (key, level, loop state): a rating's loop state says all the
/// statistics need (fed back: 待回访 or 已办结; revisited: 已办结; voided on appeal).
pub fn tally<K: Ord>(rows: impl IntoIterator<Item = (K, Satisfaction, Option<LoopState>, i64)>) -> BTreeMap<K, RatingCounts> {
    let mut out: BTreeMap<K, RatingCounts> = BTreeMap::new();
    for (key, level, state, n) in rows {
        let c = out.entry(key).or_default();
        c.ratings += n;
        if state == Some(LoopState::Voided) {
            c.voided += n;
            continue;
        }
        if level.is_good() {
            c.good += n;
        }
        if level.is_bad() {
            c.bad += n;
            if matches!(state, Some(LoopState::ToRevisit | LoopState::Closed)) {
                c.rectified += n;
            }
            if state == Some(LoopState::Closed) {
                c.revisited += n;
            }
        }
    }
    out
}

/// The 汇聚 record type of a rating (GB/T 39046 表9).
pub const RATING_RECORD: &str = "rating.given";

/// What a rating's 表9 record names besides the rating.
#[derive(Debug, Clone, Copy)]
pub struct RatingContext<'a> {
    /// 评价人: the rater's name.
    pub rater_name: &'a str,
    /// 评价次数: this case's ratings so far, this one included.
    pub count: u32,
    /// 行政区划: the rated agency's division.
    pub division: &'a str,
}

/// The GB/T 39046 表9 record of a rating: 办件编号, 评价渠道, 评价人, 评价时间,
/// 评价次数, 满意度 with its code, 文字评价 and 行政区划; the stage and the
/// checklist's reasons alongside, as the national exchange's extensions [I].
pub fn rating_record(r: &Rating, ctx: &RatingContext<'_>) -> serde_json::Value {
    serde_json::json!({
        "case_no": r.case_no,
        "channel": r.channel.name_zh(),
        "evaluator": ctx.rater_name,
        "evaluate_time": yiwang_case::gbt39046::gb_time(r.at),
        "evaluate_count": ctx.count,
        "satisfaction": r.level.name_zh(),
        "satisfaction_code": r.level.code(),
        "comment": r.comment,
        "division_code": ctx.division,
        "stage": r.stage,
        "reasons": r.reasons,
        "content_version": r.content_version,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn rating(level: u8, reasons: &[&str], comment: &str) -> Rating {
        Rating {
            case_no: "C1".into(),
            stage: Stage::Concluded,
            channel: Channel::Pc,
            level: Satisfaction::new(level).unwrap(),
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            comment: comment.into(),
            at: at("2026-12-07T02:00:00Z"),
            content_version: 1,
        }
    }

    fn ev(t: &str, action: LoopAction, note: &str) -> LoopEvent {
        LoopEvent { at: at(t), actor: "head".into(), action, note: note.into() }
    }

    #[test]
    fn levels_are_the_standards_codes_and_a_bad_rating_says_why() {
        assert_eq!(Satisfaction::new(0), None);
        assert_eq!(Satisfaction::new(6), None);
        let s = Satisfaction::new(4).unwrap();
        assert_eq!((s.name_zh(), s.is_bad(), s.stars()), ("不满意", true, 2));
        assert!(Satisfaction::new(2).unwrap().is_good() && !Satisfaction::new(3).unwrap().is_good());
        assert!(serde_json::from_str::<Satisfaction>("7").is_err());
        let content = Content::builtin();
        rating(1, &["办事效率高"], "").check(&content).unwrap();
        assert_eq!(rating(1, &["服务态度差"], "").check(&content).unwrap_err().code(), "rating.unknown_reason");
        assert_eq!(rating(5, &[], " ").check(&content).unwrap_err().code(), "rating.bad_needs_reason");
        rating(5, &[], "等了一个月").check(&content).unwrap();
        rating(4, &["超时办结"], "").check(&content).unwrap();
        assert_eq!(rating(4, &["超时办结", "超时办结"], "").check(&content).unwrap_err().code(), "rating.repeated_reason");
        assert_eq!(rating(3, &[], &"字".repeat(TEXT_MAX + 1)).check(&content).unwrap_err().code(), "rating.too_long");
        // The hall's tablet rates the offline service.
        let mut r = rating(5, &["服务态度差"], "");
        r.channel = Channel::HallTablet;
        r.check(&content).unwrap();
    }

    #[test]
    fn a_bad_rating_opens_a_loop_that_runs_to_the_revisit() {
        let cal = Calendar::bundled().unwrap();
        assert_eq!(Loop::open(&rating(2, &[], ""), &cal, LoopSettings::default()).unwrap(), None);
        let opened = Loop::open(&rating(5, &["超时办结"], ""), &cal, LoopSettings::default()).unwrap().unwrap();
        // Monday 2026-12-07: first contact by Tuesday, 15 working days to Monday 2026-12-28.
        assert_eq!((opened.contact_due, opened.due), (jiff::civil::date(2026, 12, 8), jiff::civil::date(2026, 12, 28)));
        let events = [
            ev("2026-12-07T03:00:00Z", LoopAction::Verified { triage: Triage::RectifyBy }, "情况属实"),
            ev("2026-12-10T03:00:00Z", LoopAction::Rectified, "已优化审批流程"),
            ev("2026-12-10T04:00:00Z", LoopAction::FeedbackSent, "已电话告知整改情况"),
            ev("2026-12-11T04:00:00Z", LoopAction::Revisited { satisfaction: Satisfaction::new(2).unwrap() }, ""),
        ];
        let l = Loop::fold(opened.clone(), &events).unwrap();
        assert_eq!((l.state, l.on_time(), l.revisited.map(Satisfaction::code)), (LoopState::Closed, Some(true), Some(2)));
        // Out of order, and steps without their note, are refused.
        assert_eq!(opened.apply(&ev("2026-12-07T03:00:00Z", LoopAction::FeedbackSent, "x")).unwrap_err().code(), "rating.transition");
        let explain = ev("2026-12-07T03:00:00Z", LoopAction::Verified { triage: Triage::Explain }, "");
        assert_eq!(opened.apply(&explain).unwrap_err().code(), "rating.note_required");
        let rectifying = opened.apply(&events[0]).unwrap();
        assert_eq!(rectifying.apply(&ev("2026-12-08T03:00:00Z", LoopAction::Rectified, "")).unwrap_err().code(), "rating.note_required");
        // Overdue after the deadline while feedback is owed.
        assert!(!rectifying.is_overdue(at("2026-12-28T15:00:00Z")));
        assert!(rectifying.is_overdue(at("2026-12-28T16:00:00Z")));
    }

    #[test]
    fn an_appeal_is_reviewed_by_a_supervisor_and_voids_or_sends_to_rectification() {
        let cal = Calendar::bundled().unwrap();
        let opened = Loop::open(&rating(5, &[], "恶意"), &cal, LoopSettings::default()).unwrap().unwrap();
        assert_eq!(opened.apply(&ev("2026-12-07T03:00:00Z", LoopAction::Appealed, "")).unwrap_err().code(), "rating.note_required");
        let appealed = opened.apply(&ev("2026-12-07T03:00:00Z", LoopAction::Appealed, "评价人误评：该件已按期办结")).unwrap();
        assert!(LoopAction::AppealReviewed { upheld: true }.by_supervisor() && !LoopAction::Appealed.by_supervisor());
        let voided = appealed.apply(&ev("2026-12-08T03:00:00Z", LoopAction::AppealReviewed { upheld: true }, "")).unwrap();
        assert_eq!(voided.state, LoopState::Voided);
        let rejected = appealed.apply(&ev("2026-12-08T03:00:00Z", LoopAction::AppealReviewed { upheld: false }, "申诉理由不成立")).unwrap();
        assert_eq!((rejected.state, rejected.triage), (LoopState::Rectifying, Some(Triage::RectifyBy)));
        // Explained: straight to feedback.
        let explained =
            opened.apply(&ev("2026-12-07T03:00:00Z", LoopAction::Verified { triage: Triage::Explain }, "依法须现场核验")).unwrap();
        assert_eq!(explained.state, LoopState::ToFeedback);
    }

    #[test]
    fn statistics_leave_voided_ratings_out_and_count_rectified_and_revisited() {
        let cal = Calendar::bundled().unwrap();
        let good = rating(1, &[], "");
        let fair = rating(3, &[], "");
        let bad = rating(5, &[], "慢");
        let opened = Loop::open(&bad, &cal, LoopSettings::default()).unwrap().unwrap();
        let done = Loop::fold(
            opened.clone(),
            &[
                ev("2026-12-07T03:00:00Z", LoopAction::Verified { triage: Triage::RectifyNow }, ""),
                ev("2026-12-07T04:00:00Z", LoopAction::Rectified, "已改"),
                ev("2026-12-07T05:00:00Z", LoopAction::FeedbackSent, "已告知"),
            ],
        )
        .unwrap();
        let voided = Loop::fold(
            opened.clone(),
            &[
                ev("2026-12-07T03:00:00Z", LoopAction::Appealed, "误评"),
                ev("2026-12-08T03:00:00Z", LoopAction::AppealReviewed { upheld: true }, ""),
            ],
        )
        .unwrap();
        let rows =
            [("A", &good, None), ("A", &fair, None), ("A", &bad, Some(&done)), ("A", &bad, Some(&voided)), ("B", &bad, Some(&opened))];
        let t = tally(rows.iter().map(|(k, r, l)| (*k, r.level, l.map(|l| l.state), 1)));
        let a = t["A"];
        assert_eq!((a.ratings, a.good, a.bad, a.voided, a.rectified, a.revisited), (4, 1, 1, 1, 1, 0));
        assert_eq!((a.good_rate(), a.rectified_rate(), a.revisit_rate()), (Some(33.3), Some(100.0), Some(0.0)));
        assert_eq!(t["B"].rectified_rate(), Some(0.0));
    }

    #[test]
    fn a_rating_gives_its_gbt39046_table_9_record() {
        let r = Rating {
            case_no: "11330100MB0000000X20261207000001".into(),
            stage: Stage::Concluded,
            channel: Channel::HallTablet,
            level: Satisfaction::new(4).unwrap(),
            reasons: vec!["超时办结".into()],
            comment: "等了很久".into(),
            at: "2026-12-07T02:03:04Z".parse().unwrap(),
            content_version: 1,
        };
        let v = rating_record(&r, &RatingContext { rater_name: "赵六", count: 2, division: "330100" });
        assert_eq!(v["channel"], "政务大厅平板电脑");
        assert_eq!(v["evaluate_time"], "20261207T100304");
        assert_eq!((v["satisfaction"].as_str(), v["satisfaction_code"].as_u64()), (Some("不满意"), Some(4)));
        assert_eq!(
            (v["evaluate_count"].as_u64(), v["division_code"].as_str(), v["stage"].as_str()),
            (Some(2), Some("330100"), Some("concluded"))
        );
        assert_eq!(v["reasons"][0], "超时办结");
    }

    #[test]
    fn loop_settings_are_checked() {
        assert_eq!(LoopSettings::default().check(), Ok(()));
        assert!(LoopSettings { rectify_workdays: 0, contact_workdays: 1 }.check().is_err());
        assert!(LoopSettings { rectify_workdays: 61, contact_workdays: 1 }.check().is_err());
        assert!(LoopSettings { rectify_workdays: 5, contact_workdays: 6 }.check().is_err());
        assert_eq!(LoopSettings { rectify_workdays: 5, contact_workdays: 5 }.check(), Ok(()));
    }
}
