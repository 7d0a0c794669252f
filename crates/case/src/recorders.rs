//! Who records which event: staff role codes (the identity crate's `Role`
//! codes, as process models name them in candidate groups). The web edge
//! parses them and checks the caller's roles in the acting agency.

use crate::process::{OpenStep, target};
use crate::{Event, SpecialKind};

pub const WINDOW_CLERK: &str = "window_clerk";
pub const REVIEWER: &str = "reviewer";
pub const DEPARTMENT_HEAD: &str = "department_head";

/// The roles that usually record `event`; none for the applicant's own events
/// (submit, correct, withdraw…) and the node's (a time limit passing).
pub fn usual(event: &Event) -> Option<&'static [&'static str]> {
    match event {
        Event::PreReviewStarted | Event::CorrectionNotified { .. } | Event::Accepted { .. } | Event::NotAccepted { .. } => {
            Some(&[WINDOW_CLERK])
        }
        // 认领 by whoever handles the case now; releasing someone else's claim also needs `may_release`.
        Event::Claimed | Event::Released => Some(&[WINDOW_CLERK, REVIEWER, DEPARTMENT_HEAD]),
        Event::StepStarted { .. }
        | Event::StepPassed { .. }
        | Event::StepReturned { .. }
        | Event::SpecialStarted { kind: SpecialKind::Other, .. }
        | Event::SpecialEnded { .. }
        | Event::PendingSupplied { .. }
        | Event::CommitmentChecked { .. }
        | Event::CountersignRequested { .. }
        | Event::MessageReceived { .. }
        | Event::FeeAssessed { .. }
        // 会签 is checked against the signing agency, not the case's.
        | Event::Countersigned { .. } => Some(&[REVIEWER, DEPARTMENT_HEAD]),
        // 延长审批 needs the head's approval (行政许可法 Art. 42), as do decisions.
        Event::SpecialStarted { kind: SpecialKind::Extension, .. }
        | Event::Decided { .. }
        | Event::Concluded { .. }
        | Event::Delivered { .. }
        | Event::Voided => Some(&[DEPARTMENT_HEAD]),
        Event::Submitted
        | Event::CorrectionSubmitted
        | Event::Withdrawn
        | Event::FormSaved { .. }
        | Event::MaterialUploaded { .. }
        | Event::MaterialRemoved { .. }
        | Event::CommitmentSigned { .. }
        | Event::StepOverdue { .. }
        | Event::SharedDataFetched { .. } => None,
    }
}

/// The roles that may record `event` on a case whose process has `open` steps
/// (empty: no process, or one that does not govern the event). A process task
/// names who does it: its candidate groups that are staff roles (`is_role`),
/// in place of the event's usual roles (e.g. a 受理 task for window clerks); a
/// task naming no staff role keeps the usual ones. A countersign task's groups
/// name who signs in each named agency; the lead agency starts, asks for and
/// closes it with the events' usual roles. None: not staff's to record.
pub fn recorders(event: &Event, open: &[OpenStep], is_role: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let usual = usual(event)?;
    let lead_on_countersign = |s: &OpenStep| s.agency.is_some() && !matches!(event, Event::Countersigned { .. });
    let named: Vec<String> = target(open, event)
        .filter(|s| !lead_on_countersign(s))
        .map(|s| s.candidate_groups.iter().filter(|g| is_role(g)).cloned().collect())
        .unwrap_or_default();
    Some(if named.is_empty() { usual.iter().map(|r| r.to_string()).collect() } else { named })
}

/// Whether `actor` may release a claim (认领) on `case`: when nobody else holds
/// it, or as a department head of its agency (`head`) taking the case back.
pub fn may_release(case: &crate::Case, actor: &str, head: bool) -> bool {
    case.claimed_by.as_deref().is_none_or(|holder| holder == actor) || head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, groups: &[&str], agency: Option<&str>) -> OpenStep {
        OpenStep {
            wait: 1,
            node: name.into(),
            name: name.into(),
            candidate_groups: groups.iter().map(|g| g.to_string()).collect(),
            decision: false,
            index: 0,
            of: 1,
            agency: agency.map(str::to_string),
            service: None,
        }
    }

    fn staff(g: &str) -> bool {
        [WINDOW_CLERK, REVIEWER, DEPARTMENT_HEAD].contains(&g)
    }

    #[test]
    fn a_task_naming_no_staff_role_keeps_the_usual_ones() {
        let open = [step("核查", &["finance_team"], None)];
        let passed = Event::StepPassed { step: "核查".into(), data: Default::default() };
        assert_eq!(recorders(&passed, &open, staff), Some(vec![REVIEWER.to_string(), DEPARTMENT_HEAD.to_string()]));
    }

    #[test]
    fn only_the_holder_or_a_head_releases_a_claim() {
        let held = crate::Case { claimed_by: Some("acc_a".into()), ..Default::default() };
        assert!(may_release(&held, "acc_a", false));
        assert!(!may_release(&held, "acc_b", false));
        assert!(may_release(&held, "acc_b", true));
        assert!(may_release(&crate::Case::default(), "acc_b", false));
    }

    #[test]
    fn the_applicants_events_have_no_staff_recorders() {
        assert_eq!(recorders(&Event::Submitted, &[], staff), None);
        assert_eq!(recorders(&Event::Withdrawn, &[], staff), None);
    }

    #[test]
    fn a_task_names_who_does_it_in_place_of_the_usual_roles() {
        let started = Event::StepStarted { step: "受理核查".into() };
        assert_eq!(recorders(&started, &[], staff), Some(vec![REVIEWER.to_string(), DEPARTMENT_HEAD.to_string()]));
        let open = [step("受理核查", &[WINDOW_CLERK], None)];
        assert_eq!(recorders(&started, &open, staff), Some(vec![WINDOW_CLERK.to_string()]));
    }

    #[test]
    fn the_lead_agency_asks_for_a_countersign_with_its_usual_roles() {
        let open = [step("会签", &[DEPARTMENT_HEAD], Some("913300000000000001"))];
        let asked = Event::CountersignRequested { step: "会签".into(), agencies: vec![] };
        assert_eq!(recorders(&asked, &open, staff), Some(vec![REVIEWER.to_string(), DEPARTMENT_HEAD.to_string()]));
        let signed = Event::Countersigned { step: "会签".into(), agency: "913300000000000001".into(), agree: true };
        assert_eq!(recorders(&signed, &open, staff), Some(vec![DEPARTMENT_HEAD.to_string()]));
    }
}
