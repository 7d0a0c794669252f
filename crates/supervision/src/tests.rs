#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use jiff::Timestamp;
use yiwang_calendar::Calendar;
use yiwang_case::{Decision, Envelope, Event, PendingMaterial, SpecialKind};

use crate::{Alert, CaseFacts, Class, ItemFacts, Level, RuleSet, evaluate};

/// China time `YYYY-MM-DD HH:MM` as a timestamp.
fn at(s: &str) -> Timestamp {
    let civil: jiff::civil::DateTime = format!("{s}:00").replace(' ', "T").parse().unwrap();
    civil.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).unwrap().timestamp()
}

fn env(when: &str, actor: &str, reason: &str, event: Event) -> Envelope {
    Envelope { at: at(when), actor: actor.into(), reason: reason.into(), event }
}

fn accepted(promised: u32, legal: u32, pending: Vec<PendingMaterial>) -> Event {
    Event::Accepted { promised_days: promised, legal_days: legal, pending, commitment_check_days: 0, units: Default::default() }
}

fn upload(material: &str) -> Event {
    Event::MaterialUploaded {
        material: material.into(),
        file: yiwang_case::StoredFile {
            digest: "00".repeat(32),
            file_name: "a.pdf".into(),
            content_type: "application/pdf".into(),
            size: 10,
        },
    }
}

const REQUIRED: &[&str] = &["申请表", "身份证"];

fn item() -> ItemFacts {
    ItemFacts { required_materials: REQUIRED.iter().map(|s| s.to_string()).collect(), ..ItemFacts::default() }
}

fn facts<'a>(item: &'a ItemFacts, attached: &'a [String]) -> CaseFacts<'a> {
    CaseFacts { case_no: "C1", agency_uscc: "A1", item, attached, runs_process: false, issued_licenses: None }
}

fn run_with(rules: &RuleSet, events: &[Envelope], attached: &[String], now: &str) -> Vec<Alert> {
    let calendar = Calendar::bundled().unwrap();
    let item = item();
    let facts = facts(&item, attached);
    evaluate(rules, facts, events, &calendar, at(now))
}

fn run(events: &[Envelope], now: &str) -> Vec<Alert> {
    run_with(&RuleSet::default(), events, &[], now)
}

fn rules_of(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.rule.as_str()).collect()
}

/// Submitted and accepted on Monday 2026-12-07 with both materials: promised
/// in 3 working days (Thu 12-10), legal in 10 (Mon 12-21).
fn accepted_case() -> Vec<Envelope> {
    vec![
        env("2026-12-07 09:00", "citizen", "", upload("申请表")),
        env("2026-12-07 09:01", "citizen", "", upload("身份证")),
        env("2026-12-07 09:02", "citizen", "", Event::Submitted),
        env("2026-12-07 10:00", "clerk", "", Event::PreReviewStarted),
        env("2026-12-07 10:05", "clerk", "", accepted(3, 10, vec![])),
    ]
}

#[test]
fn the_promised_and_legal_dates_make_the_ladder_from_the_day_they_pass() {
    let events = accepted_case();
    assert!(run(&events, "2026-12-08 12:00").is_empty(), "two working days left");
    let near = run(&events, "2026-12-09 09:00");
    assert_eq!(rules_of(&near), ["timeliness.promised_near"]);
    assert_eq!((near[0].level, near[0].at), (Level::Notice, at("2026-12-09 00:00")));
    let late = run(&events, "2026-12-11 09:00");
    assert_eq!(rules_of(&late), ["timeliness.promised_near", "timeliness.promised_overdue"]);
    assert_eq!((late[1].level, late[1].at), (Level::Yellow, at("2026-12-11 00:00")));
    let red = run(&events, "2026-12-22 08:00");
    assert_eq!(rules_of(&red).last(), Some(&"timeliness.legal_overdue"));
    assert_eq!((red.last().unwrap().level, red.last().unwrap().at), (Level::Red, at("2026-12-22 00:00")));
    // Concluded on the promised day: warned, never late.
    let mut done = events.clone();
    done.push(env("2026-12-10 10:00", "head", "符合条件", Event::Decided { decision: Decision::Approve }));
    done.push(env("2026-12-10 11:00", "head", "", Event::Concluded { result: "准予".into() }));
    assert_eq!(rules_of(&run(&done, "2026-12-30 09:00")), ["timeliness.promised_near"]);
}

#[test]
fn a_correction_notice_is_late_after_five_working_days() {
    let mut on_time = accepted_case()[..3].to_vec();
    on_time.push(env("2026-12-14 10:00", "clerk", "", Event::CorrectionNotified { items: vec!["照片".into()] }));
    assert!(run(&on_time, "2026-12-14 11:00").is_empty(), "the fifth working day");
    let mut late = accepted_case()[..3].to_vec();
    late.push(env("2026-12-15 10:00", "clerk", "", Event::CorrectionNotified { items: vec!["照片".into()] }));
    let alerts = run(&late, "2026-12-15 11:00");
    assert_eq!(rules_of(&alerts), ["timeliness.correction_late"]);
    assert_eq!(alerts[0].class, Class::Timeliness);
}

#[test]
fn acceptance_with_a_required_material_missing_is_flagged_unless_it_is_pending_or_attached() {
    let mut events = accepted_case();
    events.remove(1);
    assert_eq!(rules_of(&run(&events, "2026-12-07 12:00")), ["content.accepted_missing_materials"]);
    assert!(run(&events, "2026-12-07 12:00")[0].message_zh.contains("身份证"));
    let attached = vec!["身份证".to_string()];
    assert!(run_with(&RuleSet::default(), &events, &attached, "2026-12-07 12:00").is_empty());
    let pending = vec![PendingMaterial { name: "身份证".into(), due: jiff::civil::date(2026, 12, 14) }];
    *events.last_mut().unwrap() = env("2026-12-07 10:05", "clerk", "", accepted(3, 10, pending));
    assert!(run(&events, "2026-12-07 12:00").is_empty(), "容缺 is allowed");
}

#[test]
fn a_refusal_needs_its_reason() {
    let mut refused = accepted_case()[..4].to_vec();
    refused.push(env("2026-12-07 11:00", "clerk", "", Event::NotAccepted { legal_basis: String::new() }));
    assert_eq!(rules_of(&run(&refused, "2026-12-07 12:00")), ["process.refusal_without_reason"]);
    *refused.last_mut().unwrap() =
        env("2026-12-07 11:00", "clerk", "不属于本机关职权范围", Event::NotAccepted { legal_basis: "《行政许可法》第三十二条".into() });
    assert!(run(&refused, "2026-12-07 12:00").is_empty());
    let mut denied = accepted_case();
    denied.push(env("2026-12-08 10:00", "head", "", Event::Decided { decision: Decision::Deny }));
    assert_eq!(rules_of(&run(&denied, "2026-12-08 12:00")), ["process.refusal_without_reason"]);
    *denied.last_mut().unwrap() = env("2026-12-08 10:00", "head", "场所不符合卫生要求", Event::Decided { decision: Decision::Deny });
    assert!(run(&denied, "2026-12-08 12:00").is_empty());
}

#[test]
fn a_decision_or_conclusion_without_acceptance_is_red() {
    let mut skipped = accepted_case()[..4].to_vec();
    skipped.push(env("2026-12-07 11:00", "head", "同意", Event::Decided { decision: Decision::Approve }));
    skipped.push(env("2026-12-07 11:30", "head", "", Event::Concluded { result: "准予".into() }));
    let alerts = run(&skipped, "2026-12-07 12:00");
    assert_eq!(rules_of(&alerts), ["process.decided_without_acceptance", "process.concluded_without_acceptance"]);
    assert!(alerts.iter().all(|a| a.level == Level::Red && a.class == Class::Process));
    let mut proper = accepted_case();
    proper.push(env("2026-12-07 11:00", "head", "同意", Event::Decided { decision: Decision::Approve }));
    assert!(run(&proper, "2026-12-07 12:00").is_empty());
}

#[test]
fn the_third_return_makes_a_loop() {
    let mut events = accepted_case();
    events.push(env("2026-12-07 11:00", "reviewer", "", Event::StepStarted { step: "审查".into() }));
    for i in 0..2 {
        events.push(env(&format!("2026-12-07 11:1{i}"), "reviewer", "", Event::StepReturned { step: "审查".into() }));
    }
    assert!(run(&events, "2026-12-07 12:00").is_empty(), "two returns");
    events.push(env("2026-12-07 11:30", "reviewer", "", Event::StepReturned { step: "审查".into() }));
    let alerts = run(&events, "2026-12-07 12:00");
    assert_eq!(rules_of(&alerts), ["process.return_loop"]);
    assert_eq!(alerts[0].at, at("2026-12-07 11:30"));
}

#[test]
fn one_official_suspending_a_case_again_and_again_is_an_integrity_risk() {
    let special = |who: &str, minute: u32| {
        env(
            &format!("2026-12-07 11:{minute:02}"),
            who,
            "现场核查",
            Event::SpecialStarted { kind: SpecialKind::Other, name: "现场核查".into(), extension_days: 0 },
        )
    };
    let mut by_three = accepted_case();
    by_three.extend([special("a", 1), special("b", 2), special("c", 3)]);
    assert!(run(&by_three, "2026-12-07 12:00").is_empty());
    let mut by_one = accepted_case();
    by_one.extend([special("a", 1), special("a", 2), special("a", 3)]);
    let alerts = run(&by_one, "2026-12-07 12:00");
    assert_eq!(rules_of(&alerts), ["integrity.repeated_suspension"]);
    assert_eq!((alerts[0].class, alerts[0].key.as_str()), (Class::Integrity, "integrity.repeated_suspension:a"));
}

#[test]
fn a_step_past_its_limit_is_yellow_once() {
    let mut events = accepted_case();
    let overdue = || Event::StepOverdue { step: "审查".into(), due: "2026-12-08T09:00:00Z".into() };
    events.push(env("2026-12-08 17:00", "system", "", overdue()));
    events.push(env("2026-12-08 17:05", "system", "", overdue()));
    let alerts = run(&events, "2026-12-08 18:00");
    assert_eq!(rules_of(&alerts), ["timeliness.step_overdue"]);
    assert_eq!(alerts[0].at, at("2026-12-08 17:00"));
}

#[test]
fn the_same_person_accepting_and_deciding_is_flagged_and_so_is_a_decision_at_night_or_on_a_rest_day() {
    let decide = |who: &str, when: &str| env(when, who, "同意", Event::Decided { decision: Decision::Approve });
    let mut apart = accepted_case();
    apart.push(decide("head", "2026-12-08 10:00"));
    assert!(run(&apart, "2026-12-08 12:00").is_empty());
    let mut same = accepted_case();
    same.push(decide("clerk", "2026-12-08 10:00"));
    assert_eq!(rules_of(&run(&same, "2026-12-08 12:00")), ["integrity.same_person"]);
    let mut night = accepted_case();
    night.push(decide("head", "2026-12-08 23:30"));
    let alerts = run(&night, "2026-12-08 23:50");
    assert_eq!(rules_of(&alerts), ["integrity.off_hours_decision"]);
    assert_eq!(alerts[0].level, Level::Notice);
    let mut saturday = accepted_case();
    saturday.push(decide("head", "2026-12-12 10:00"));
    // (By Saturday the promised date has passed too: the case is decided, not concluded.)
    let alerts = run(&saturday, "2026-12-12 11:00");
    assert_eq!(rules_of(&alerts), ["timeliness.promised_near", "timeliness.promised_overdue", "integrity.off_hours_decision"]);
}

#[test]
fn rules_can_be_switched_off_and_set_per_agency() {
    let mut events = accepted_case();
    events.push(env("2026-12-07 11:00", "reviewer", "", Event::StepStarted { step: "审查".into() }));
    events.push(env("2026-12-07 11:10", "reviewer", "", Event::StepReturned { step: "审查".into() }));
    let strict = crate::Settings { max_returns: 1, ..crate::Settings::default() };
    let rules =
        RuleSet { version: 2, settings: crate::Settings::default(), agencies: BTreeMap::from([("A1".to_string(), strict.clone())]) };
    assert_eq!(rules_of(&run_with(&rules, &events, &[], "2026-12-07 12:00")), ["process.return_loop"]);
    let off = crate::Settings { disabled: vec!["process.return_loop".into()], ..strict };
    let rules = RuleSet { agencies: BTreeMap::from([("A1".to_string(), off)]), ..rules };
    assert!(run_with(&rules, &events, &[], "2026-12-07 12:00").is_empty());
}

/// The live node evaluates after each event and on a sweep every morning,
/// keeping the first alert of each key; a replay over the whole history at
/// the end gives exactly what it kept.
#[test]
fn a_replay_over_the_history_reproduces_the_live_alerts_exactly() {
    let mut events = accepted_case();
    events.push(env("2026-12-08 09:00", "reviewer", "", Event::StepStarted { step: "审查".into() }));
    for (i, when) in ["2026-12-08 10:00", "2026-12-08 11:00", "2026-12-09 10:00"].iter().enumerate() {
        events.push(env(when, "reviewer", "", Event::StepReturned { step: format!("审查{i}") }));
        events.push(env(when, "reviewer", "", Event::StepStarted { step: "审查".into() }));
    }
    events.push(env("2026-12-10 17:00", "system", "", Event::StepOverdue { step: "审查".into(), due: "2026-12-10".into() }));
    events.push(env("2026-12-23 23:00", "clerk", "", Event::Decided { decision: Decision::Approve }));
    events.push(env("2026-12-24 09:00", "clerk", "", Event::Concluded { result: "准予".into() }));
    let calendar = Calendar::bundled().unwrap();
    let item = item();
    let facts = facts(&item, &[]);
    let rules = RuleSet::default();
    let mut live: BTreeMap<String, Alert> = BTreeMap::new();
    let mut keep = |alerts: Vec<Alert>| {
        for a in alerts {
            live.entry(a.key.clone()).or_insert(a);
        }
    };
    for (i, e) in events.iter().enumerate() {
        keep(evaluate(&rules, facts, &events[..=i], &calendar, e.at));
    }
    let mut day = jiff::civil::date(2026, 12, 7);
    while day <= jiff::civil::date(2026, 12, 31) {
        let sweep = at(&format!("{day} 00:05"));
        let seen: Vec<Envelope> = events.iter().filter(|e| e.at <= sweep).cloned().collect();
        keep(evaluate(&rules, facts, &seen, &calendar, sweep));
        day = day.tomorrow().unwrap();
    }
    let replayed = evaluate(&rules, facts, &events, &calendar, at("2026-12-31 23:00"));
    let mut kept: Vec<Alert> = live.into_values().collect();
    kept.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
    assert_eq!(replayed, kept);
    // Every class of this history is there, each at the moment it happened.
    let rules: Vec<&str> = rules_of(&replayed);
    for r in [
        "timeliness.promised_near",
        "timeliness.promised_overdue",
        "timeliness.legal_overdue",
        "timeliness.step_overdue",
        "process.return_loop",
        "integrity.same_person",
        "integrity.off_hours_decision",
    ] {
        assert!(rules.contains(&r), "{r} in {rules:?}");
    }
}

#[test]
fn the_next_check_is_the_first_day_a_rule_on_time_can_trip_and_never_later() {
    let calendar = Calendar::bundled().unwrap();
    let item = item();
    let facts = facts(&item, &[]);
    let next = |events: &[Envelope], now: &str| crate::evaluate_with_next(&RuleSet::default(), facts, events, &calendar, at(now)).1;
    let events = accepted_case();
    // Promised Thu 12-10 (warned Wed 12-09), legal Mon 12-21.
    assert_eq!(next(&events, "2026-12-07 12:00"), Some(jiff::civil::date(2026, 12, 9)));
    assert_eq!(next(&events, "2026-12-09 12:00"), Some(jiff::civil::date(2026, 12, 11)));
    assert_eq!(next(&events, "2026-12-11 12:00"), Some(jiff::civil::date(2026, 12, 22)));
    assert_eq!(next(&events, "2026-12-22 12:00"), None);
    // Each check finds what the day before did not: evaluating only on the
    // next-check days gives every alert a daily evaluation gives.
    // Evaluated after the last event (as the consumer does), then only on check days.
    let (mut checked, mut due) = crate::evaluate_with_next(&RuleSet::default(), facts, &events, &calendar, at("2026-12-07 10:05"));
    let mut day = jiff::civil::date(2026, 12, 8);
    while day <= jiff::civil::date(2026, 12, 31) {
        if due.is_some_and(|d| d <= day) {
            let now = yiwang_calendar::china_day_start(day).unwrap() + jiff::SignedDuration::from_mins(5);
            let (alerts, n) = crate::evaluate_with_next(&RuleSet::default(), facts, &events, &calendar, now);
            checked = alerts;
            due = n;
        }
        day = day.tomorrow().unwrap();
    }
    assert_eq!(checked, run(&events, "2026-12-31 23:00"));
    // Concluded: nothing more can trip.
    let mut done = events.clone();
    done.push(env("2026-12-08 10:00", "head", "符合条件", Event::Decided { decision: Decision::Approve }));
    done.push(env("2026-12-08 11:00", "head", "", Event::Concluded { result: "准予".into() }));
    assert_eq!(next(&done, "2026-12-08 12:00"), None);
}

#[test]
fn a_special_procedure_open_past_its_working_days_is_yellow_until_it_ends() {
    let rules = RuleSet { settings: crate::Settings { max_special_workdays: 2, ..Default::default() }, ..Default::default() };
    let start = env(
        "2026-12-07 11:00",
        "clerk",
        "",
        Event::SpecialStarted { kind: SpecialKind::Other, name: "现场核查".into(), extension_days: 0 },
    );
    let mut open = accepted_case();
    open.push(start.clone());
    // Two working days after Monday: Wednesday is the last allowed day; it trips on Thursday.
    assert!(run_with(&rules, &open, &[], "2026-12-09 18:00").iter().all(|a| a.rule != "timeliness.special_overlong"));
    let alerts = run_with(&rules, &open, &[], "2026-12-10 09:00");
    let special: Vec<&Alert> = alerts.iter().filter(|a| a.rule == "timeliness.special_overlong").collect();
    assert_eq!(special.len(), 1, "{alerts:?}");
    assert_eq!((special[0].level, special[0].at), (Level::Yellow, at("2026-12-10 00:00")));
    // The sweep's check day is no later than the day it trips.
    let calendar = Calendar::bundled().unwrap();
    let item = item();
    let facts = facts(&item, &[]);
    let (_, next) = crate::evaluate_with_next(&rules, facts, &open, &calendar, at("2026-12-08 12:00"));
    assert!(next.is_some_and(|d| d <= "2026-12-10".parse().unwrap()), "{next:?}");
    // Ended on its last allowed day: nothing, however late the evaluation.
    let mut ended = open.clone();
    ended.push(env("2026-12-09 16:00", "clerk", "", Event::SpecialEnded { result: "核查通过".into() }));
    assert!(run_with(&rules, &ended, &[], "2026-12-20 09:00").iter().all(|a| a.rule != "timeliness.special_overlong"));
    // An extension is not a special procedure of this kind: it moves the deadlines itself.
    let mut extension = accepted_case();
    extension.push(env(
        "2026-12-07 11:00",
        "clerk",
        "",
        Event::SpecialStarted { kind: SpecialKind::Extension, name: "延期".into(), extension_days: 10 },
    ));
    assert!(run_with(&rules, &extension, &[], "2026-12-20 09:00").iter().all(|a| a.rule != "timeliness.special_overlong"));
}

/// A guide that publishes 申请、受理、初审、复审、决定、送达.
fn published() -> ItemFacts {
    let steps = ["申请", "受理", "初审", "复审", "决定", "送达"].map(String::from).to_vec();
    ItemFacts { published_steps: steps, ..item() }
}

fn run_item(item: &ItemFacts, runs_process: bool, issued: Option<&[String]>, events: &[Envelope], now: &str) -> Vec<Alert> {
    let calendar = Calendar::bundled().unwrap();
    let facts = CaseFacts { runs_process, issued_licenses: issued, ..facts(item, &[]) };
    evaluate(&RuleSet::default(), facts, events, &calendar, at(now))
}

fn steps(case: &mut Vec<Envelope>, names: &[&str]) {
    for name in names {
        case.push(env("2026-12-08 09:00", "reviewer", "", Event::StepStarted { step: (*name).into() }));
        case.push(env("2026-12-08 09:30", "reviewer", "", Event::StepPassed { step: (*name).into(), data: Default::default() }));
    }
}

fn decided(case: &mut Vec<Envelope>) {
    case.push(env("2026-12-08 10:00", "head", "", Event::Decided { decision: Decision::Approve }));
}

#[test]
fn steps_are_measured_against_the_published_process_when_no_bpmn_process_runs() {
    let item = published();
    let mut in_order = accepted_case();
    steps(&mut in_order, &["初审", "复审"]);
    decided(&mut in_order);
    assert!(run_item(&item, false, None, &in_order, "2026-12-08 11:00").is_empty(), "the published order");

    let mut skipped = accepted_case();
    steps(&mut skipped, &["初审"]);
    decided(&mut skipped);
    let alerts = run_item(&item, false, None, &skipped, "2026-12-08 11:00");
    assert_eq!(rules_of(&alerts), ["process.step_skipped"]);
    assert_eq!((alerts[0].level, alerts[0].key.as_str()), (Level::Yellow, "process.step_skipped:复审"));
    assert!(alerts[0].message_zh.contains("复审") && alerts[0].message_zh.contains("决定"), "{}", alerts[0].message_zh);

    let mut reversed = accepted_case();
    steps(&mut reversed, &["复审", "初审"]);
    decided(&mut reversed);
    let alerts = run_item(&item, false, None, &reversed, "2026-12-08 11:00");
    assert_eq!(rules_of(&alerts), ["process.step_out_of_order"]);
    assert_eq!(alerts[0].key, "process.step_out_of_order:初审");

    // A return lets the case take the steps again from the first.
    let mut returned = accepted_case();
    steps(&mut returned, &["初审", "复审"]);
    returned.push(env("2026-12-08 09:40", "reviewer", "退回重审", Event::StepReturned { step: "复审".into() }));
    steps(&mut returned, &["初审", "复审"]);
    decided(&mut returned);
    assert!(run_item(&item, false, None, &returned, "2026-12-08 11:00").is_empty(), "after a return");

    let mut unlisted = accepted_case();
    steps(&mut unlisted, &["初审", "专家论证", "复审"]);
    decided(&mut unlisted);
    let alerts = run_item(&item, false, None, &unlisted, "2026-12-08 11:00");
    assert_eq!(rules_of(&alerts), ["process.step_unlisted"]);
    assert_eq!(alerts[0].level, Level::Notice);

    // A case its BPMN process drives is its engine's to keep in order; a
    // guide that publishes no 办理流程 measures nothing.
    assert!(run_item(&item, true, None, &skipped, "2026-12-08 11:00").is_empty());
    assert!(run_item(&ItemFacts::default(), false, None, &reversed, "2026-12-08 11:00").is_empty());
    // A stage the settings do not know is a workbench step like any other.
    let mut rules = RuleSet::default();
    rules.settings.stage_steps.remove("受理");
    let calendar = Calendar::bundled().unwrap();
    let alerts = evaluate(&rules, facts(&item, &[]), &in_order, &calendar, at("2026-12-08 11:00"));
    assert_eq!(rules_of(&alerts), ["process.step_skipped"], "受理 is now a step no one took");
}

#[test]
fn a_conclusion_must_agree_with_the_decision_and_issue_the_results_licenses() {
    let licensed = ItemFacts { result_licenses: vec!["FOOD".into()], ..item() };
    let conclude = |decision: Decision, result: &str| {
        let mut case = accepted_case();
        case.push(env("2026-12-08 10:00", "head", "经审查", Event::Decided { decision }));
        case.push(env("2026-12-08 10:05", "head", "", Event::Concluded { result: result.into() }));
        case
    };
    let issued = ["FOOD".to_string()];
    let none: [String; 0] = [];
    assert!(run_item(&licensed, false, Some(&issued), &conclude(Decision::Approve, "准予许可"), "2026-12-08 11:00").is_empty());
    assert!(run_item(&licensed, false, Some(&none), &conclude(Decision::Deny, "不予许可"), "2026-12-08 11:00").is_empty());
    let alerts = run_item(&licensed, false, Some(&none), &conclude(Decision::Approve, "准予许可"), "2026-12-08 11:00");
    assert_eq!(rules_of(&alerts), ["content.license_not_issued"]);
    assert!(alerts[0].message_zh.contains("FOOD"));
    // Not known (a bundle issues at its last child's conclusion): no alert.
    assert!(run_item(&licensed, false, None, &conclude(Decision::Approve, "准予许可"), "2026-12-08 11:00").is_empty());
    let alerts = run_item(&licensed, false, Some(&issued), &conclude(Decision::Approve, "不予许可"), "2026-12-08 11:00");
    assert_eq!(rules_of(&alerts), ["content.result_contradicts_decision"]);
    let alerts = run_item(&item(), false, None, &conclude(Decision::Deny, "准予登记"), "2026-12-08 11:00");
    assert_eq!(rules_of(&alerts), ["content.result_contradicts_decision"]);
    assert_eq!(alerts[0].level, Level::Yellow);
}

#[test]
fn a_fee_notice_is_measured_against_the_items_fee_table() {
    use yiwang_case::FeeLine;
    let table = ItemFacts {
        charged: true,
        fees: vec![
            crate::FeeFacts { name: "工本费".into(), range_fen: Some((2000, 2000)), reducible: true },
            crate::FeeFacts { name: "检验费".into(), range_fen: Some((5000, 20000)), reducible: false },
            crate::FeeFacts { name: "评估费".into(), range_fen: None, reducible: false },
        ],
        ..item()
    };
    let line = |name: &str, fen: u64, reduced: bool| FeeLine { name: name.into(), amount_fen: fen, reduced };
    let charge = |lines: Vec<FeeLine>| {
        let mut case = accepted_case();
        case.push(env("2026-12-07 11:00", "reviewer", "", Event::FeeAssessed { lines }));
        case
    };
    let within =
        charge(vec![line("工本费", 2000, false), line("检验费", 12000, false), line("评估费", 99900, false), line("工本费减免", 0, false)]);
    assert!(run_item(&table, false, None, &within, "2026-12-07 12:00").is_empty(), "the table's fees within their standards");
    let reduced = charge(vec![line("工本费", 0, true)]);
    assert!(run_item(&table, false, None, &reduced, "2026-12-07 12:00").is_empty(), "a reduction the table allows");

    let bad = charge(vec![line("工本费", 3000, false), line("检验费", 1000, true), line("加急费", 5000, false)]);
    let alerts = run_item(&table, false, None, &bad, "2026-12-07 12:00");
    let mut got: Vec<(&str, Level)> = alerts.iter().map(|a| (a.key.as_str(), a.level)).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("fee.not_in_table:加急费", Level::Red),
            ("fee.out_of_range:工本费", Level::Yellow),
            ("fee.reduction_not_allowed:检验费", Level::Yellow),
        ]
    );
    assert!(alerts.iter().all(|a| a.class == Class::Fee));
    let range = alerts.iter().find(|a| a.rule == "fee.out_of_range").unwrap();
    assert!(range.message_zh.contains("30.00 元") && range.message_zh.contains("20.00 元"), "{}", range.message_zh);

    // An item published as free: any amount is 红牌; a zero notice is not.
    let free = item();
    let alerts = run_item(&free, false, None, &charge(vec![line("工本费", 2000, false)]), "2026-12-07 12:00");
    assert_eq!((rules_of(&alerts), alerts[0].level), (vec!["fee.on_free_item"], Level::Red));
    assert!(run_item(&free, false, None, &charge(vec![line("工本费", 0, true)]), "2026-12-07 12:00").is_empty());
}

fn official<'a>(case_no: &'a str, e: &'a Envelope) -> crate::officials::OfficialEvent<'a> {
    let counted = crate::officials::Counted::of(&e.event).unwrap();
    crate::officials::OfficialEvent { case_no, agency_uscc: "A1", actor: &e.actor, at: e.at, counted }
}

#[test]
fn one_officials_returns_and_suspensions_over_a_month_across_cases() {
    use crate::officials::{OfficialEvent, official_alerts};
    let passed = |step: &str| Event::StepPassed { step: step.into(), data: Default::default() };
    let returned = |step: &str| Event::StepReturned { step: step.into() };
    // Official r1 closes 10 steps on ten cases in December: 4 returns, then a 5th on C9.
    let mut envelopes = Vec::new();
    for i in 0..10 {
        let e = if i < 4 || i == 9 { returned("审查") } else { passed("审查") };
        envelopes.push((format!("C{i}"), env(&format!("2026-12-{:02} 10:00", i + 1), "r1", "退回", e)));
    }
    // Another official's returns and another month's do not count toward it.
    envelopes.push(("C20".into(), env("2026-12-05 10:00", "r2", "退回", returned("审查"))));
    envelopes.push(("C21".into(), env("2026-11-30 10:00", "r1", "退回", returned("审查"))));
    let events: Vec<OfficialEvent<'_>> = envelopes.iter().map(|(no, e)| official(no, e)).collect();
    let alerts = official_alerts(&RuleSet::default(), &events);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!((a.rule.as_str(), a.case_no.as_str(), a.key.as_str()), ("integrity.return_rate", "C9", "integrity.return_rate:r1:2026-12"));
    assert_eq!((a.class, a.level, a.at), (Class::Integrity, Level::Yellow, at("2026-12-10 10:00")));
    assert!(a.message_zh.contains("10 个环节中退回 5 个（50%）"), "{}", a.message_zh);
    // 4 of 10 is below the threshold; one fewer step is below the minimum.
    let fewer: Vec<OfficialEvent<'_>> = events.iter().copied().filter(|e| e.case_no != "C9").collect();
    assert!(official_alerts(&RuleSet::default(), &fewer).is_empty());
    // The same events in another order give the same alert.
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(official_alerts(&RuleSet::default(), &reversed), alerts);

    // Ten special procedures by one official in a month, each on its own case.
    let special = |name: &str| Event::SpecialStarted { kind: SpecialKind::Other, name: name.into(), extension_days: 0 };
    let suspended: Vec<(String, Envelope)> =
        (0..10).map(|i| (format!("S{i}"), env(&format!("2026-12-{:02} 15:00", i + 1), "r3", "现场核查", special("现场核查")))).collect();
    let events: Vec<OfficialEvent<'_>> = suspended.iter().map(|(no, e)| official(no, e)).collect();
    let alerts = official_alerts(&RuleSet::default(), &events);
    assert_eq!(rules_of(&alerts), ["integrity.monthly_suspensions"]);
    assert_eq!(alerts[0].case_no, "S9");
    assert!(official_alerts(&RuleSet::default(), &events[..9]).is_empty());
    // Per agency: an agency's own threshold, or the rule switched off.
    let mut rules = RuleSet::default();
    rules.agencies.insert("A1".into(), crate::Settings { max_monthly_suspensions: 0, ..Default::default() });
    assert!(official_alerts(&rules, &events).is_empty());
}

#[test]
fn rating_content_lists_the_five_levels_with_distinct_short_reasons() {
    use crate::ratings::Content;
    assert_eq!(Content::builtin().check(), Ok(()));
    let bad = |f: &dyn Fn(&mut Content)| {
        let mut c = Content::builtin();
        f(&mut c);
        c.check().unwrap_err()
    };
    assert!(bad(&|c| c.version = 0).contains("version"));
    assert!(bad(&|c| c.online.swap(0, 1)).contains("online"));
    assert!(bad(&|c| c.offline[4].reasons.clear()).contains("offline"));
    assert!(bad(&|c| c.online[0].reasons.push("办事效率高".into())).contains("重复"));
    assert!(bad(&|c| c.online[0].reasons.push("长".repeat(51))).contains("1–50"));
    assert!(bad(&|c| c.online[0].reasons.push(" 前后空格".into())).contains("1–50"));
}
