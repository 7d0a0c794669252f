#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use yiwang_errors::{Coded, ErrorKind};

/// 10:00 China time on `day`.
fn at(day: &str) -> Timestamp {
    format!("{day}T02:00:00Z").parse().unwrap()
}

fn ev(day: &str, event: Event) -> Envelope {
    Envelope { at: at(day), actor: "staff:1".into(), reason: String::new(), event }
}

fn why(day: &str, reason: &str, event: Event) -> Envelope {
    Envelope { reason: reason.into(), ..ev(day, event) }
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn items(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn run(events: &[Envelope]) -> Case {
    Case::replay(events).unwrap()
}

#[test]
fn the_golden_path_with_a_one_time_notice_and_a_special_procedure() {
    let calendar = Calendar::bundled().unwrap();
    let mut events = vec![
        ev("2025-09-22", Event::Submitted),
        ev("2025-09-22", Event::PreReviewStarted),
        ev("2025-09-23", Event::CorrectionNotified { items: items(&["营业执照", "场所平面图", " 营业执照 "]) }),
    ];
    let noticed = run(&events);
    assert_eq!((noticed.state, noticed.correction_items.clone()), (State::CorrectionNotice, items(&["营业执照", "场所平面图"])));
    events.push(ev("2025-09-24", Event::CorrectionSubmitted));
    // Still missing one of the listed items: a reminder that repeats it is allowed …
    events.push(ev("2025-09-24", Event::CorrectionNotified { items: items(&["场所平面图"]) }));
    events.push(ev("2025-09-25", Event::CorrectionSubmitted));
    let again = run(&events);
    // … a notice that adds a new requirement is not (一次性告知), and changes nothing.
    let added = again.apply(&ev("2025-09-25", Event::CorrectionNotified { items: items(&["场所平面图", "消防验收意见"]) }));
    assert_eq!(added, Err(CaseError::NoticeAddsItems(items(&["消防验收意见"]))));
    assert_eq!((again.correction_items.clone(), again.notices), (items(&["营业执照", "场所平面图"]), 2));
    events.push(ev(
        "2025-09-26",
        Event::Accepted { promised_days: 10, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
    ));
    let accepted = run(&events);
    // domain.md §7.5: accepted Fri 2025-09-26, 20 working days → Thu 2025-10-30.
    let d = accepted.deadlines(&calendar, date("2025-09-26")).unwrap().unwrap();
    assert_eq!((d.legal_due, d.promised_due, d.used_workdays), (date("2025-10-30"), date("2025-10-16"), 0));

    events.push(ev("2025-09-29", Event::StepStarted { step: "审查".into() }));
    events.push(why("2025-09-30", "材料齐全，符合条件", Event::StepPassed { step: "审查".into(), data: Default::default() }));
    events.push(ev("2025-09-30", Event::StepStarted { step: "现场核查".into() }));
    // 现场核查 stops the clock from Thu 10/09 to Tue 10/14: 5 working days (Sat 10/11 is a makeup day).
    events.push(why(
        "2025-10-09",
        "需现场核查经营场所",
        Event::SpecialStarted { kind: SpecialKind::Other, name: "现场核查".into(), extension_days: 0 },
    ));
    let paused = run(&events);
    assert_eq!(paused.state, State::SpecialProcedure);
    let d = paused.deadlines(&calendar, date("2025-10-10")).unwrap().unwrap();
    assert!(d.paused);
    // No decision while the clock is stopped.
    assert!(matches!(paused.apply(&ev("2025-10-10", Event::Decided { decision: Decision::Approve })), Err(CaseError::Transition { .. })));
    events.push(ev("2025-10-14", Event::SpecialEnded { result: "经营场所与申报一致".into() }));
    events.push(why("2025-10-15", "核查通过", Event::StepPassed { step: "现场核查".into(), data: Default::default() }));
    let resumed = run(&events);
    assert_eq!(resumed.state, State::InProcess);
    let d = resumed.deadlines(&calendar, date("2025-10-15")).unwrap().unwrap();
    assert_eq!((d.promised_due, d.legal_due, d.paused), (date("2025-10-23"), date("2025-11-06"), false));

    events.push(ev("2025-10-24", Event::Decided { decision: Decision::Approve }));
    events.push(ev("2025-10-24", Event::Concluded { result: "准予许可，核发食品经营许可证".into() }));
    events.push(ev("2025-10-27", Event::Delivered { method: "电子证照".into() }));
    let done = run(&events);
    assert_eq!((done.state, done.decision), (State::Delivered, Some(Decision::Approve)));
    let d = done.deadlines(&calendar, date("2025-12-01")).unwrap().unwrap();
    // Concluded Fri 10/24: past the promised date (yellow), within the legal one.
    assert_eq!((d.promised_overdue, d.legal_overdue, d.used_workdays), (true, false, 11));
    assert_eq!(
        done.steps.iter().map(|s| (s.step.as_str(), s.action)).collect::<Vec<_>>(),
        [("审查", Some(StepAction::Passed)), ("现场核查", Some(StepAction::Passed))]
    );
    assert!(done.state.is_terminal());
    assert!(matches!(done.apply(&ev("2025-10-28", Event::Withdrawn)), Err(CaseError::Transition { .. })));
}

#[test]
fn an_extension_adds_working_days_without_stopping_the_clock() {
    let calendar = Calendar::bundled().unwrap();
    let mut events = vec![
        ev("2026-03-02", Event::Submitted),
        ev(
            "2026-03-02",
            Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
        ),
    ];
    let base = run(&events).deadlines(&calendar, date("2026-03-02")).unwrap().unwrap().legal_due;
    assert!(matches!(
        run(&events).apply(&why(
            "2026-03-10",
            "情况复杂",
            Event::SpecialStarted { kind: SpecialKind::Extension, name: "延长审批".into(), extension_days: 0 }
        )),
        Err(CaseError::EmptyExtension)
    ));
    // 延长审批 needs a reason given to the applicant.
    assert_eq!(
        run(&events)
            .apply(&ev("2026-03-10", Event::SpecialStarted { kind: SpecialKind::Extension, name: "延长审批".into(), extension_days: 10 })),
        Err(CaseError::ReasonRequired("特别程序"))
    );
    events.push(why(
        "2026-03-10",
        "经负责人批准延长",
        Event::SpecialStarted { kind: SpecialKind::Extension, name: "延长审批".into(), extension_days: 10 },
    ));
    let extended = run(&events);
    assert_eq!((extended.state, extended.legal_days_total()), (State::Accepted, 30));
    let d = extended.deadlines(&calendar, date("2026-03-10")).unwrap().unwrap();
    assert_eq!(d.legal_due, calendar.add_workdays(base, 10).unwrap().value);
    assert!(!d.paused);
}

#[test]
fn accepting_with_gaps_blocks_approval_until_supplied() {
    let mut events = vec![ev("2026-03-02", Event::Submitted)];
    let pending = vec![PendingMaterial { name: "健康证明".into(), due: date("2026-03-09") }];
    // The due date must come after acceptance.
    let early = vec![PendingMaterial { name: "健康证明".into(), due: date("2026-03-02") }];
    assert_eq!(
        run(&events).apply(&ev(
            "2026-03-02",
            Event::Accepted { promised_days: 5, legal_days: 20, pending: early, commitment_check_days: 0, units: Default::default() }
        )),
        Err(CaseError::PendingDue("健康证明".into()))
    );
    events.push(ev(
        "2026-03-02",
        Event::Accepted { promised_days: 5, legal_days: 20, pending, commitment_check_days: 0, units: Default::default() },
    ));
    let accepted = run(&events);
    assert_eq!(
        accepted.apply(&ev("2026-03-03", Event::Decided { decision: Decision::Approve })),
        Err(CaseError::PendingOutstanding(items(&["健康证明"])))
    );
    // A denial does not wait for the missing material.
    assert!(accepted.apply(&why("2026-03-03", "不符合条件", Event::Decided { decision: Decision::Deny })).is_ok());
    assert_eq!(
        accepted.apply(&ev("2026-03-03", Event::PendingSupplied { name: "体检表".into() })),
        Err(CaseError::NoSuchPending("体检表".into()))
    );
    events.push(ev("2026-03-04", Event::PendingSupplied { name: "健康证明".into() }));
    events.push(ev("2026-03-05", Event::Decided { decision: Decision::Approve }));
    assert_eq!(run(&events).state, State::Decided);
}

#[test]
fn refusals_name_what_is_missing_and_change_nothing() {
    let submitted = run(&[ev("2026-03-02", Event::Submitted)]);
    // 不予受理 needs a reason and its legal basis.
    assert_eq!(
        submitted.apply(&ev("2026-03-02", Event::NotAccepted { legal_basis: "《行政许可法》第三十二条".into() })),
        Err(CaseError::ReasonRequired("不予受理"))
    );
    assert_eq!(
        submitted.apply(&why("2026-03-02", "不属于本机关职权范围", Event::NotAccepted { legal_basis: " ".into() })),
        Err(CaseError::ReasonRequired("不予受理的法律依据"))
    );
    let refused = submitted
        .apply(&why("2026-03-02", "不属于本机关职权范围", Event::NotAccepted { legal_basis: "《行政许可法》第三十二条".into() }))
        .unwrap();
    assert_eq!(refused.state, State::NotAccepted);
    assert!(refused.deadlines(&Calendar::bundled().unwrap(), date("2026-03-02")).unwrap().is_none());

    assert_eq!(
        submitted.apply(&ev(
            "2026-03-02",
            Event::Accepted { promised_days: 30, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() }
        )),
        Err(CaseError::PromisedExceedsLegal { promised: 30, legal: 20 })
    );
    assert_eq!(submitted.apply(&ev("2026-03-02", Event::CorrectionNotified { items: items(&[" "]) })), Err(CaseError::EmptyNotice));
    let draft = Case::default();
    let e = draft
        .apply(&ev(
            "2026-03-02",
            Event::Accepted { promised_days: 1, legal_days: 1, pending: vec![], commitment_check_days: 0, units: Default::default() },
        ))
        .unwrap_err();
    assert_eq!((e.code(), e.kind()), ("case.transition", ErrorKind::Conflict));
    assert_eq!(e.message_zh(), "办件当前状态（draft）不允许此操作（accepted）");

    // Returning a step needs an opinion; a step cannot be closed twice.
    let mut events = vec![
        ev("2026-03-02", Event::Submitted),
        ev(
            "2026-03-02",
            Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
        ),
        ev("2026-03-03", Event::StepStarted { step: "审核".into() }),
    ];
    let open = run(&events);
    assert_eq!(open.apply(&ev("2026-03-03", Event::StepReturned { step: "审核".into() })), Err(CaseError::ReasonRequired("退回")));
    assert_eq!(open.apply(&ev("2026-03-03", Event::StepStarted { step: "审核".into() })), Err(CaseError::StepOpen("审核".into())));
    assert_eq!(open.apply(&ev("2026-03-03", Event::Decided { decision: Decision::Approve })), Err(CaseError::StepOpen("审核".into())));
    events.push(why("2026-03-03", "请核实经营范围", Event::StepReturned { step: "审核".into() }));
    let returned = run(&events);
    assert_eq!(returned.steps[0].opinion, "请核实经营范围");
    assert_eq!(
        returned.apply(&ev("2026-03-04", Event::StepPassed { step: "审核".into(), data: Default::default() })),
        Err(CaseError::NoOpenStep("审核".into()))
    );
}

#[test]
fn withdrawal_and_voiding_before_a_decision_only() {
    let in_process = run(&[
        ev("2026-03-02", Event::Submitted),
        ev(
            "2026-03-02",
            Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
        ),
        ev("2026-03-03", Event::StepStarted { step: "审核".into() }),
    ]);
    assert_eq!(in_process.apply(&ev("2026-03-03", Event::Withdrawn)).map(|c| c.state), Ok(State::Withdrawn));
    assert_eq!(in_process.apply(&ev("2026-03-03", Event::Voided)), Err(CaseError::ReasonRequired("作废")));
    assert_eq!(in_process.apply(&why("2026-03-03", "重复申请", Event::Voided)).map(|c| c.state), Ok(State::Voided));
    let draft = Case::default();
    assert_eq!(draft.apply(&ev("2026-03-02", Event::Withdrawn)).map(|c| c.state), Ok(State::Withdrawn));
}

#[test]
fn events_round_trip_as_json() {
    let e = why("2026-03-02", "需检验", Event::SpecialStarted { kind: SpecialKind::Other, name: "检验".into(), extension_days: 0 });
    let text = serde_json::to_string(&e).unwrap();
    assert!(text.contains("\"type\":\"special_started\""), "{text}");
    assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), e);
    // A folded case round-trips too (the store keeps it beside the events).
    let case = run(&[
        ev("2026-03-02", Event::Submitted),
        ev(
            "2026-03-02",
            Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
        ),
        ev("2026-03-03", Event::StepStarted { step: "审核".into() }),
        e,
    ]);
    let back: Case = serde_json::from_str(&serde_json::to_string(&case).unwrap()).unwrap();
    assert_eq!(back, case);
}

#[test]
fn a_claim_holds_colleagues_back_until_the_work_passes_on() {
    let by = |actor: &str, day: &str, event: Event| Envelope {
        at: format!("{day}T02:00:00Z").parse().unwrap(),
        actor: actor.into(),
        reason: String::new(),
        event,
    };
    let submitted = run(&[ev("2026-03-02", Event::Submitted)]);
    assert!(matches!(Case::default().apply(&by("clerk-a", "2026-03-02", Event::Claimed)), Err(CaseError::Transition { .. })));
    let claimed = submitted.apply(&by("clerk-a", "2026-03-02", Event::Claimed)).unwrap();
    assert_eq!(claimed.claimed_by.as_deref(), Some("clerk-a"));
    // A colleague can neither act nor claim it over.
    let notice = Event::CorrectionNotified { items: vec!["x".into()] };
    assert_eq!(claimed.apply(&by("clerk-b", "2026-03-02", notice.clone())), Err(CaseError::ClaimedByOther("clerk-a".into())));
    assert_eq!(claimed.apply(&by("clerk-b", "2026-03-02", Event::Claimed)), Err(CaseError::ClaimedByOther("clerk-a".into())));
    // The applicant is not held up.
    assert!(claimed.apply(&by("applicant", "2026-03-02", Event::Withdrawn)).is_ok());
    // Acceptance passes the work on: the claim ends.
    let accept = Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
    let accepted = claimed.apply(&by("clerk-a", "2026-03-02", accept)).unwrap();
    assert_eq!(accepted.claimed_by, None);
    // Released by anyone the web layer lets release (its holder or a head).
    let held = accepted.apply(&by("reviewer", "2026-03-03", Event::Claimed)).unwrap();
    let released = held.apply(&by("head", "2026-03-03", Event::Released)).unwrap();
    assert_eq!(released.claimed_by, None);
    assert_eq!(released.apply(&by("head", "2026-03-03", Event::Released)), Err(CaseError::NotClaimed));
}

#[test]
fn a_countersigned_step_passes_only_with_every_signature() {
    let by = |actor: &str, reason: &str, event: Event| Envelope {
        at: "2026-03-03T02:00:00Z".parse().unwrap(),
        actor: actor.into(),
        reason: reason.into(),
        event,
    };
    let accept = Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
    let case =
        run(&[ev("2026-03-02", Event::Submitted), ev("2026-03-02", accept), ev("2026-03-03", Event::StepStarted { step: "审查".into() })]);
    let ask = Event::CountersignRequested { step: "审查".into(), agencies: vec!["FIRE".into(), "HEALTH".into(), "FIRE".into()] };
    let asked = case.apply(&by("reviewer", "", ask)).unwrap();
    assert_eq!(asked.awaited_countersigns().collect::<Vec<_>>(), ["FIRE", "HEALTH"]);
    let pass = Event::StepPassed { step: "审查".into(), data: Default::default() };
    assert_eq!(
        asked.apply(&by("reviewer", "", pass.clone())),
        Err(CaseError::CountersignOpen { step: "审查".into(), agencies: vec!["FIRE".into(), "HEALTH".into()] })
    );
    let no = Event::Countersigned { step: "审查".into(), agency: "FIRE".into(), agree: false };
    assert_eq!(asked.apply(&by("fire-officer", "", no)), Err(CaseError::ReasonRequired("会签不同意")));
    let fire = asked
        .apply(&by("fire-officer", "消防条件符合", Event::Countersigned { step: "审查".into(), agency: "FIRE".into(), agree: true }))
        .unwrap();
    let again = Event::Countersigned { step: "审查".into(), agency: "FIRE".into(), agree: true };
    assert!(matches!(fire.apply(&by("fire-officer", "", again)), Err(CaseError::NoSuchCountersign { .. })));
    let both = fire
        .apply(&by("health-officer", "卫生条件符合", Event::Countersigned { step: "审查".into(), agency: "HEALTH".into(), agree: true }))
        .unwrap();
    assert_eq!(both.awaited_countersigns().count(), 0);
    let passed = both.apply(&by("reviewer", "会签均同意", pass)).unwrap();
    assert_eq!(passed.steps[0].countersigns[1].opinion, "卫生条件符合");
}

/// Limits in other units (时限单位): natural days end on a working day, months
/// keep the day of the month, hours count office hours of working days; an
/// extension (延长审批) still adds working days; the units survive replay.
#[test]
fn limits_in_natural_days_months_and_hours() {
    let calendar = Calendar::bundled().unwrap();
    let accept = |promised: LimitUnit, legal: LimitUnit, p: u32, l: u32| {
        let units = LimitUnits { promised, legal };
        vec![
            ev("2025-09-01", Event::Submitted),
            ev("2025-09-01", Event::Accepted { promised_days: p, legal_days: l, pending: vec![], commitment_check_days: 0, units }),
        ]
    };
    // Accepted Mon 2025-09-01: 30 natural days → 10-01, in the National Day holiday → Thu 10-09;
    // 16 office hours → 2 working days → Wed 09-03.
    let c = run(&accept(LimitUnit::Hour, LimitUnit::NaturalDay, 16, 30));
    let d = c.deadlines(&calendar, date("2025-09-01")).unwrap().unwrap();
    assert_eq!((d.promised_due, d.legal_due), (date("2025-09-03"), date("2025-10-09")));
    // Different units are not compared number to number: 16 hours and 30 days is fine, as is 40 hours and 3 months.
    let months = run(&accept(LimitUnit::Hour, LimitUnit::Month, 40, 3));
    assert_eq!(months.deadlines(&calendar, date("2025-09-01")).unwrap().unwrap().legal_due, date("2025-12-01"));
    // The units are kept through the fold (and omitted from JSON when they are working days).
    let json = serde_json::to_string(&c).unwrap();
    let back: Case = serde_json::from_str(&json).unwrap();
    assert_eq!(back.units, LimitUnits { promised: LimitUnit::Hour, legal: LimitUnit::NaturalDay });
    assert!(!serde_json::to_string(&Case::default()).unwrap().contains("units"));
    // 延长审批 adds 10 working days after the natural-day limit: Thu 10-09 → Wed 10-22 (Sat 10-11 is a makeup day).
    let mut events = accept(LimitUnit::NaturalDay, LimitUnit::NaturalDay, 20, 30);
    events.push(ev("2025-09-02", Event::StepStarted { step: "审查".into() }));
    events.push(why(
        "2025-09-03",
        "情况复杂，经负责人批准延长",
        Event::SpecialStarted { kind: SpecialKind::Extension, name: "延长审批".into(), extension_days: 10 },
    ));
    let extended = run(&events);
    assert_eq!(extended.deadlines(&calendar, date("2025-09-03")).unwrap().unwrap().legal_due, date("2025-10-22"));
}

/// The demo's 食品经营许可, as its agency publishes it.
fn food_item() -> yiwang_catalog::ItemDoc {
    let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == "食品经营许可").unwrap();
    let place = yiwang_catalog::samples::Place {
        agency: yiwang_catalog::AgencyRef { uscc: "1133010000250013XD".into(), name: "税务局".into(), division_code: "330100".into() },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "市民中心".into(),
        phone: "0571-12345".into(),
    };
    yiwang_catalog::samples::build(spec, &place, &|k| k.to_string()).unwrap()
}

/// Each material is provided by an attached license first, then an upload,
/// then a commitment; required ones nothing provides are what handing in
/// still needs.
#[test]
fn material_statuses_say_what_provides_each_material() {
    use crate::materials::{ProvidedBy, material_statuses, missing_required};
    let item = food_item();
    let names: Vec<&str> = item.materials.iter().map(|m| m.name.as_str()).collect();
    let file = StoredFile { digest: "ab".repeat(32), file_name: "扫描件.pdf".into(), content_type: "application/pdf".into(), size: 10 };
    let case = run(&[
        ev("2025-09-22", Event::MaterialUploaded { material: names[0].into(), file: file.clone() }),
        ev("2025-09-22", Event::MaterialUploaded { material: names[1].into(), file }),
    ]);
    let statuses = material_statuses(&item, &case, &[names[1]]);
    assert_eq!(statuses.len(), names.len());
    assert_eq!((statuses[0].provided_by, statuses[0].uploads.len()), (ProvidedBy::Upload, 1));
    assert_eq!(statuses[1].provided_by, ProvidedBy::License, "an attached license comes before an upload");
    let missing = missing_required(&statuses);
    assert!(!missing.contains(&names[0].to_string()) && !missing.contains(&names[1].to_string()));
    assert!(statuses.iter().filter(|m| m.provided_by == ProvidedBy::Missing && m.required).all(|m| missing.contains(&m.name)));
    assert_eq!(ProvidedBy::License.name_zh(), "电子证照免提交");
    let said = |way: ProvidedBy, required, pending| way.shown_zh(required, pending);
    assert_eq!(said(ProvidedBy::Missing, true, true), "容缺，待补交");
    assert_eq!(said(ProvidedBy::Missing, false, false), "非必要，可不提供");
    assert_eq!(said(ProvidedBy::Missing, true, false), "尚未提供");
    assert_eq!(said(ProvidedBy::Upload, true, true), "已上传");
    let text = crate::materials::commitment_text("食品经营许可", names[0]);
    assert!(text.contains("食品经营许可") && text.contains(names[0]) && text.contains("承担"), "{text}");
}

fn fetched(material: &str, data: &[(&str, &str)], unavailable: Option<&str>) -> Event {
    Event::SharedDataFetched {
        material: material.into(),
        resource: "ZJ.GX.0001".into(),
        provider: "11330000002482052X".into(),
        node: "CN-330000-P".into(),
        msg_id: "m1".into(),
        grant: if unavailable.is_none() { "grant-1".into() } else { String::new() },
        data: data.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect(),
        unavailable: unavailable.map(str::to_string),
        labels: None,
    }
}

/// A material sourced from a data resource is provided only by what the
/// resource actually gave; until then (or when it gave nothing) the
/// applicant is told why and uploads it. A later failure keeps what came.
#[test]
fn shared_materials_are_provided_only_when_fetched() {
    use crate::materials::{ProvidedBy, material_statuses, missing_required};
    let mut item = food_item();
    item.materials[0].source = yiwang_catalog::MaterialSource::Shared { resource: "ZJ.GX.0001".into() };
    let name = item.materials[0].name.clone();
    let status = |case: &Case| material_statuses(&item, case, &[]).remove(0);

    let nothing_yet = status(&run(&[]));
    assert_eq!(nothing_yet.provided_by, ProvidedBy::Missing);
    assert_eq!(nothing_yet.upload_reason_zh.as_deref(), Some("共享数据尚未获取，请上传该材料"));
    assert!(missing_required(&material_statuses(&item, &run(&[]), &[])).contains(&name));

    let denied = run(&[ev("2025-09-22", fetched(&name, &[], Some("access_denied")))]);
    let s = status(&denied);
    assert_eq!(s.provided_by, ProvidedBy::Missing);
    assert_eq!(s.upload_reason_zh.as_deref(), Some("数据提供部门未授权本次调取，请上传该材料"));

    let came = run(&[
        ev("2025-09-22", fetched(&name, &[], Some("unreachable"))),
        ev("2025-09-22", fetched(&name, &[("name", "张三")], None)),
        ev("2025-09-23", Event::Submitted),
        ev("2025-09-23", fetched(&name, &[], Some("unreachable"))),
    ]);
    let s = status(&came);
    assert_eq!((s.provided_by, s.upload_reason_zh.clone()), (ProvidedBy::Shared, None));
    let kept = s.shared.expect("the provenance is kept");
    assert_eq!((kept.grant.as_str(), kept.msg_id.as_str(), kept.data["name"].as_str()), ("grant-1", "m1", Some("张三")));
    assert_eq!(came.shared.len(), 1, "one record per material");

    // Bounded, and not after the decision.
    let big: Vec<(String, String)> = (0..65).map(|i| (format!("f{i}"), "x".to_string())).collect();
    let big: Vec<(&str, &str)> = big.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = run(&[]).apply(&ev("2025-09-22", fetched(&name, &big, None)));
    assert!(matches!(refused, Err(CaseError::BadSharedData(_))), "{refused:?}");
    let mut done = run(&[]);
    done.state = State::Concluded;
    assert!(done.apply(&ev("2025-09-22", fetched(&name, &[], None))).is_err());
    assert_eq!(fetched(&name, &[], Some("not_found")).describe_zh(), format!("数据共享未能获取：{name}（数据提供部门未查到您的记录）"));
}

/// Acceptance takes the item version's limits; a bundle's combined promised
/// limit shortens the promised one only where both count working days.
#[test]
fn acceptance_limits_come_from_the_item_and_its_bundle() {
    use yiwang_catalog::code_lists::TimeUnit;
    let mut item = food_item();
    item.promised_limit.amount = 5;
    item.legal_limit.amount = 20;
    let working = LimitUnits::default();
    assert_eq!(acceptance_limits(&item, None), (5, 20, working));
    assert_eq!(acceptance_limits(&item, Some(3)), (3, 20, working));
    assert_eq!(acceptance_limits(&item, Some(8)), (5, 20, working));
    item.promised_limit.unit = TimeUnit::NaturalDay;
    let (promised, _, units) = acceptance_limits(&item, Some(3));
    assert_eq!((promised, units.promised), (5, LimitUnit::NaturalDay));
}

fn fee(name: &str, amount_fen: u64) -> FeeLine {
    FeeLine { name: name.into(), amount_fen, reduced: false }
}

#[test]
fn a_fee_notice_comes_between_acceptance_and_conclusion_and_replaces_the_last() {
    let notice = |lines: Vec<FeeLine>| ev("2025-09-23", Event::FeeAssessed { lines });
    let submitted = run(&[ev("2025-09-22", Event::Submitted)]);
    let early = submitted.apply(&notice(vec![fee("工本费", 1000)]));
    assert!(matches!(early, Err(CaseError::Transition { .. })), "{early:?}");
    let accepted = run(&[
        ev("2025-09-22", Event::Submitted),
        ev(
            "2025-09-22",
            Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
        ),
    ]);
    let charged = accepted.apply(&notice(vec![fee(" 工本费 ", 1000), fee("检验费", 25050)])).unwrap();
    assert_eq!(charged.fees, vec![fee("工本费", 1000), fee("检验费", 25050)]);
    assert_eq!(charged.state, accepted.state, "a fee notice does not move the case");
    let again = charged.apply(&notice(vec![FeeLine { reduced: true, ..fee("工本费", 0) }])).unwrap();
    assert_eq!(again.fees.len(), 1);
    for bad in
        [vec![], vec![fee("", 1)], vec![fee("工本费", MAX_FEE_FEN + 1)], vec![fee("工本费", 1), fee("工本费 ", 2)], vec![fee("x", 1); 21]]
    {
        let e = accepted.apply(&notice(bad)).unwrap_err();
        assert_eq!((e.code(), e.kind()), ("case.bad_fee", ErrorKind::Unprocessable));
    }
    assert_eq!(
        Event::FeeAssessed { lines: vec![fee("工本费", 1000), fee("检验费", 25050)] }.describe_zh(),
        "核定收费：工本费 10.00 元、检验费 250.50 元，合计 260.50 元"
    );
}
