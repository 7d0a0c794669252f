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
use yiwang_case::{Envelope, Event};

use crate::rules::{Alert, Class, Level, RuleSet};

/// One event an official recorded on a case, as the cross-case rules read it.
#[derive(Debug, Clone, Copy)]
pub struct OfficialEvent<'a> {
    pub case_no: &'a str,
    pub agency_uscc: &'a str,
    pub envelope: &'a Envelope,
}

/// The event kinds these rules count (`Event::name`), for the store's query.
pub const KINDS: &[&str] = &["step_passed", "step_returned", "special_started"];

/// Whether an event is one these rules count.
pub fn counts(e: &Event) -> bool {
    matches!(e, Event::StepPassed { .. } | Event::StepReturned { .. } | Event::SpecialStarted { .. })
}

/// The China month (`YYYY-MM`) of a moment, and its first and next month's
/// first moments, for the query.
pub fn month_of(at: Timestamp) -> (String, Timestamp, Timestamp) {
    let day = yiwang_calendar::china_today(at);
    let first = day.first_of_month();
    let next = first.checked_add(jiff::Span::new().months(1)).unwrap_or(first);
    let start = |d| yiwang_calendar::china_day_start(d).unwrap_or(Timestamp::UNIX_EPOCH);
    (first.strftime("%Y-%m").to_string(), start(first), start(next))
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
    let mut ordered: Vec<&OfficialEvent<'_>> =
        events.iter().filter(|e| counts(&e.envelope.event) && !e.envelope.actor.is_empty()).collect();
    ordered.sort_by(|a, b| (a.envelope.at, a.case_no).cmp(&(b.envelope.at, b.case_no)));
    let mut tallies: BTreeMap<(&str, &str, i16, i8), Tally> = BTreeMap::new();
    let mut out = Vec::new();
    for e in ordered {
        let s = rules.for_agency(e.agency_uscc);
        let actor = e.envelope.actor.as_str();
        let day = yiwang_calendar::china_today(e.envelope.at);
        let t = tallies.entry((e.agency_uscc, actor, day.year(), day.month())).or_default();
        // Formatted only when an alert is raised.
        let month = || format!("{:04}-{:02}", day.year(), day.month());
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
                at: e.envelope.at,
                key: format!("{rule}:{actor}:{}", month()),
                message_zh,
            });
        };
        match &e.envelope.event {
            Event::StepPassed { .. } => t.passed += 1,
            Event::StepReturned { .. } => t.returned += 1,
            Event::SpecialStarted { .. } => {
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
            _ => continue,
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
