//! 廉政 across cases: what one official does over a China month, on all the
//! cases of an agency: an unusual share of returns (退件率) among the steps
//! they closed, and many special procedures (挂起) started.
//!
//! Pure, like the rules on one case: the alert goes to the case whose event
//! crossed the threshold, stamped with that event's time and keyed by the
//! official and the month, so the live consumer (evaluating that case after
//! its event) and a replay over the month's events give the same alert.

use std::collections::BTreeMap;

use jiff::Timestamp;
use yiwang_case::Event;

use crate::rules::{Alert, Class, Level, RuleSet};

/// What these rules count of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// A step passed (closed without a return).
    Passed,
    /// A step returned (退回).
    Returned,
    /// A special procedure started (挂起).
    Special,
}

impl Counted {
    /// The kind these rules count an event as, if any.
    pub fn of(e: &Event) -> Option<Counted> {
        match e {
            Event::StepPassed { .. } => Some(Counted::Passed),
            Event::StepReturned { .. } => Some(Counted::Returned),
            Event::SpecialStarted { .. } => Some(Counted::Special),
            _ => None,
        }
    }

    /// From a stored event's kind (`Event::name`); the store's query names
    /// the same three kinds, for its partial index.
    pub fn of_kind(kind: &str) -> Option<Counted> {
        match kind {
            "step_passed" => Some(Counted::Passed),
            "step_returned" => Some(Counted::Returned),
            "special_started" => Some(Counted::Special),
            _ => None,
        }
    }
}

/// One event an official recorded on a case, as the cross-case rules read it.
#[derive(Debug, Clone, Copy)]
pub struct OfficialEvent<'a> {
    pub case_no: &'a str,
    pub agency_uscc: &'a str,
    pub actor: &'a str,
    pub at: Timestamp,
    pub counted: Counted,
}

/// A month as the alerts' keys name it: `YYYY-MM`.
fn month_key(day: jiff::civil::Date) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// The China month (`YYYY-MM`) of a moment, and its first and next month's
/// first moments, for the query.
pub fn month_of(at: Timestamp) -> (String, Timestamp, Timestamp) {
    let first = yiwang_calendar::china_today(at).first_of_month();
    let next = first.checked_add(jiff::Span::new().months(1)).unwrap_or(first);
    let start = |d| yiwang_calendar::china_day_start(d).unwrap_or(Timestamp::UNIX_EPOCH);
    (month_key(first), start(first), start(next))
}

#[derive(Default)]
struct Tally {
    passed: u32,
    returned: u32,
    suspensions: u32,
    rate_raised: bool,
    suspensions_raised: bool,
}

/// The cross-case alerts over `events` (any officials, agencies and months;
/// each month's count starts at its first event, so give whole months), in
/// the order of the events: (time, case, as given).
pub fn official_alerts(rules: &RuleSet, events: &[OfficialEvent<'_>]) -> Vec<Alert> {
    let mut ordered: Vec<&OfficialEvent<'_>> = events.iter().filter(|e| !e.actor.is_empty()).collect();
    ordered.sort_by(|a, b| (a.at, a.case_no).cmp(&(b.at, b.case_no)));
    let mut tallies: BTreeMap<(&str, &str, i16, i8), Tally> = BTreeMap::new();
    let mut out = Vec::new();
    for e in ordered {
        let s = rules.for_agency(e.agency_uscc);
        let actor = e.actor;
        let day = yiwang_calendar::china_today(e.at);
        let t = tallies.entry((e.agency_uscc, actor, day.year(), day.month())).or_default();
        // Formatted only when an alert is raised.
        let month = || month_key(day);
        let mut raise = |rule: &str, message_zh: String| {
            if s.disabled.iter().any(|d| d == rule) {
                return;
            }
            out.push(Alert {
                rule: rule.into(),
                class: Class::Integrity,
                level: Level::Yellow,
                case_no: e.case_no.into(),
                agency_uscc: e.agency_uscc.into(),
                at: e.at,
                key: format!("{rule}:{actor}:{}", month()),
                message_zh,
            });
        };
        match e.counted {
            Counted::Passed => t.passed += 1,
            Counted::Returned => t.returned += 1,
            Counted::Special => {
                t.suspensions += 1;
                if s.max_monthly_suspensions > 0 && t.suspensions >= s.max_monthly_suspensions && !t.suspensions_raised {
                    t.suspensions_raised = true;
                    raise(
                        "integrity.monthly_suspensions",
                        format!("同一工作人员 {} 已在本部门办件中启动特别程序 {} 次", month(), t.suspensions),
                    );
                }
                continue;
            }
        }
        let closed = t.passed + t.returned;
        // returned / closed ≥ percent / 100, in integers.
        if s.return_rate_min_steps > 0
            && closed >= s.return_rate_min_steps
            && u64::from(t.returned) * 100 >= u64::from(closed) * u64::from(s.return_rate_percent)
            && !t.rate_raised
        {
            t.rate_raised = true;
            raise(
                "integrity.return_rate",
                format!(
                    "同一工作人员 {} 办理的 {closed} 个环节中退回 {} 个（{}%），达到 {}%",
                    month(),
                    t.returned,
                    u64::from(t.returned) * 100 / u64::from(closed),
                    s.return_rate_percent
                ),
            );
        }
    }
    out
}
