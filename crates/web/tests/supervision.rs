//! Issue 22, 电子监察 live: the case write marks the case, the consumer
//! evaluates it and keeps each alert once, a later event or the sweep makes
//! it look again, and what it kept is what a replay of the history gives.
//! Both backends.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use yiwang_case::{Envelope, Event};
use yiwang_supervision::RuleSet;
use yiwang_testkit::TestBackend;
use yiwang_web::supervision::supervise_once;

/// Accepted on Monday 2026-11-02 (China time), promised in 1 working day, legal in 2.
async fn accept_long_ago(f: &Fixture, no: &str) {
    let calendar = f.store.load_calendar().await.unwrap();
    let accepted_at: jiff::Timestamp = "2026-11-02T02:00:00Z".parse().unwrap();
    let accept = Event::Accepted { promised_days: 1, legal_days: 2, pending: vec![], commitment_check_days: 0, units: Default::default() };
    let e = Envelope { at: accepted_at, actor: "clerk-x".into(), reason: String::new(), event: accept };
    f.store.record_case_event(no, &e, None, &calendar).await.unwrap();
}

async fn the_consumer_keeps_each_alert_once_as_a_replay_gives_it(backend: TestBackend) {
    let (_db, f) = fixture(backend).await;
    let rules = RuleSet::default();
    let now = jiff::Timestamp::now();
    // Whatever the fixture's own cases raise, out of the way first.
    while supervise_once(&f.store, &rules, 1000, now).await.unwrap().0 > 0 {}
    let no = f.submitted_food_case().await;
    let calendar = f.store.load_calendar().await.unwrap();
    accept_long_ago(&f, &no).await;
    // Evaluated as of after the history (it is read in order, up to now).
    let now = jiff::Timestamp::now();
    let (cases, new) = supervise_once(&f.store, &rules, 1000, now).await.unwrap();
    assert_eq!((cases, new), (1, 3), "the case was marked by its event");
    let kept = f.store.supervision_alerts(None, None, None, 100).await.unwrap();
    let mut got: Vec<(&str, &str, &str)> =
        kept.iter().filter(|a| a.case_no == no).map(|a| (a.rule.as_str(), a.level.as_str(), a.due_at.as_str())).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("timeliness.legal_overdue", "red", "2026-11-04T16:00:00.000000Z"),
            ("timeliness.promised_near", "notice", "2026-11-01T16:00:00.000000Z"),
            ("timeliness.promised_overdue", "yellow", "2026-11-03T16:00:00.000000Z"),
        ]
    );
    // Supervisors read them over the API, one level at a time.
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/alerts?level=red".into(), serde_json::Value::Null).await;
    assert_eq!(status, 200, "{v}");
    let red: Vec<&str> =
        v["alerts"].as_array().unwrap().iter().filter(|a| a["case_no"] == no.as_str()).map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(red, ["timeliness.legal_overdue"]);
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/alerts?level=purple".into(), serde_json::Value::Null).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v}");
    // Evaluated: nothing marked until the next event.
    assert_eq!(supervise_once(&f.store, &rules, 1000, now).await.unwrap(), (0, 0));
    let overdue = Event::StepOverdue { step: "审查".into(), due: "2026-11-03T09:00:00Z".into() };
    let e = Envelope { at: now, actor: "system".into(), reason: String::new(), event: overdue };
    f.store.record_case_event(&no, &e, None, &calendar).await.unwrap();
    let now = jiff::Timestamp::now();
    assert_eq!(supervise_once(&f.store, &rules, 1000, now).await.unwrap(), (1, 1), "only the new alert is new");
    // Every limit has passed: no rule on time can trip later, so no sweep
    // looks at the case again; a sweep of a later day leaves it alone.
    assert_eq!(check_day(&f, &no).await, None);
    assert_eq!(yiwang_web::supervision::sweep(&f.store, jiff::civil::date(2099, 1, 1), "p1").await.unwrap(), Some(0));
    assert_eq!(supervise_once(&f.store, &rules, 1000, now).await.unwrap(), (0, 0));
    // What was kept is what a replay of the history gives.
    let events = f.store.case_events(&no).await.unwrap();
    let c = f.store.case(&no).await.unwrap();
    let doc = f.store.filed_item(&c.item_code, c.item_version).await.unwrap().unwrap();
    let item = yiwang_web::supervision::item_facts(&doc);
    let attached: Vec<String> = c.materials.iter().map(|m| m.material.clone()).collect();
    let facts = yiwang_supervision::CaseFacts {
        case_no: &no,
        agency_uscc: &c.agency_uscc,
        item: &item,
        attached: &attached,
        runs_process: c.process.is_some(),
        issued_licenses: Some(&[]),
    };
    let replayed = yiwang_supervision::evaluate(&rules, facts, &events, &calendar, now);
    let mut replayed_keys: Vec<String> = replayed.iter().map(|a| a.key.clone()).collect();
    let mut kept_keys: Vec<String> =
        f.store.supervision_alerts(None, None, None, 100).await.unwrap().into_iter().filter(|a| a.case_no == no).map(|a| a.key).collect();
    replayed_keys.sort();
    kept_keys.sort();
    assert_eq!(replayed_keys, kept_keys);
    // Of one agency's cases only.
    assert!(f.store.supervision_alerts(Some(&["113301000099999999".to_string()]), None, None, 100).await.unwrap().is_empty());
    assert_eq!(
        f.store.supervision_alerts(Some(std::slice::from_ref(&c.agency_uscc)), None, None, 100).await.unwrap().len(),
        kept_keys.len()
    );
}
on_both!(the_consumer_keeps_each_alert_once_as_a_replay_gives_it);

/// A fixture whose own cases' alerts are out of the way.
async fn drained(backend: TestBackend, rules: &RuleSet) -> (yiwang_testkit::TestDb, Fixture) {
    let (db, f) = fixture(backend).await;
    while supervise_once(&f.store, rules, 1000, jiff::Timestamp::now()).await.unwrap().0 > 0 {}
    (db, f)
}

/// Record events on a case now, straight to the store (each by its actor, with its reason).
async fn record_now(f: &Fixture, no: &str, events: Vec<(&str, &str, Event)>) {
    let calendar = f.store.load_calendar().await.unwrap();
    let now = jiff::Timestamp::now();
    for (actor, reason, event) in events {
        let e = Envelope { at: now, actor: actor.into(), reason: reason.into(), event };
        f.store.record_case_event(no, &e, None, &calendar).await.unwrap();
    }
}

/// 内容 live: a case concluded 不予 after an approval, without the e-license
/// its item version's result names. Its BPMN process (the node's default)
/// keeps its steps in order, so the published 办理流程 is not its measure.
async fn the_consumer_measures_a_conclusion_against_the_decision_and_the_item_version(backend: TestBackend) {
    let rules = RuleSet::default();
    let (_db, f) = drained(backend, &rules).await;
    let no = f.submitted_food_case().await;
    let c = f.store.case(&no).await.unwrap();
    let doc = f.store.filed_item(&c.item_code, c.item_version).await.unwrap().unwrap();
    assert!(c.process.is_some(), "every new case runs a BPMN process");
    let item = yiwang_web::supervision::item_facts(&doc);
    assert!(!item.result_licenses.is_empty(), "the food item's result is a license");
    let accept =
        Event::Accepted { promised_days: 20, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
    let events = vec![
        ("clerk-x", "", accept),
        ("reviewer-x", "", Event::StepStarted { step: "审查".into() }),
        ("reviewer-x", "符合条件", Event::StepPassed { step: "审查".into(), data: Default::default() }),
        ("head-x", "符合条件", Event::Decided { decision: yiwang_case::Decision::Approve }),
        // Recorded straight to the store, the conclusion issues nothing.
        ("head-x", "", Event::Concluded { result: "不予许可".into() }),
    ];
    record_now(&f, &no, events).await;
    supervise_once(&f.store, &rules, 1000, jiff::Timestamp::now()).await.unwrap();
    let kept = f.store.supervision_alerts(None, None, None, 100).await.unwrap();
    let mut got: Vec<&str> = kept.iter().filter(|a| a.case_no == no).map(|a| a.key.as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, ["content.license_not_issued", "content.result_contradicts_decision"]);
}
on_both!(the_consumer_measures_a_conclusion_against_the_decision_and_the_item_version);

/// 收费/裁量 live: staff send a fee notice (the API and the workbench form),
/// the applicant is told, and supervision measures it against the item
/// version's fee table.
async fn a_fee_notice_is_sent_to_the_applicant_and_measured_against_the_fee_table(backend: TestBackend) {
    use serde_json::{Value, json};
    let rules = RuleSet::default();
    let (_db, f) = drained(backend, &rules).await;
    // The food item, charged: one fee of 10 元 that allows no reduction.
    let code = item_code(AGENCY_A);
    let mut doc = f.store.published_item(&code).await.unwrap().unwrap().doc;
    doc.charged = true;
    doc.fee_by_law = String::new();
    doc.fees = vec![yiwang_catalog::model::Fee {
        name: "许可证工本费".into(),
        standard: "每证10元".into(),
        by_law: "收费文件".into(),
        reducible: false,
        reduce_by_law: String::new(),
        min_fen: None,
        max_fen: None,
    }];
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&doc, true, "t", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();

    let no = f.submitted_food_case().await;
    let events = format!("/api/v1/cases/{no}/events");
    let notice = |lines: Value| json!({ "event": { "type": "fee_assessed", "lines": lines }, "reason": "按收费标准核定" });
    let one = json!([{ "name": "许可证工本费", "amount_fen": 1000 }]);
    let (status, v) = f.json(P::Reviewer, "POST", events.clone(), notice(one.clone())).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.transition")), "not before acceptance: {v}");
    let accept = json!({ "event": { "type": "accepted", "promised_days": 0, "legal_days": 0 }, "reason": "" });
    assert_eq!(f.json(P::Clerk, "POST", events.clone(), accept).await.0, 200);
    assert_eq!(f.json(P::Agent, "POST", events.clone(), notice(one.clone())).await.0, 403, "not the applicant's");
    let twice = json!([{ "name": "许可证工本费", "amount_fen": 1000 }, { "name": "许可证工本费", "amount_fen": 1 }]);
    let (status, v) = f.json(P::Reviewer, "POST", events.clone(), notice(twice)).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("case.bad_fee")), "{v}");

    // The workbench offers the table, its lines filled at the published amount.
    let (status, html) = f.page(P::Reviewer, format!("/console/cases/{no}"), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("发出缴费通知") && html.contains("每证10元") && html.contains("许可证工本费=10.00"), "{html}");
    let bad = vec![("action", "fee_assessed".to_string()), ("fees", "许可证工本费=十元".into())];
    let (status, html) = f.page(P::Reviewer, format!("/console/cases/{no}/events"), Some(bad)).await;
    assert!(status == 400 && html.contains("金额须为元"), "{status} {html}");
    let form = vec![
        ("action", "fee_assessed".to_string()),
        ("fees", "许可证工本费=15\n加急费=20.5元".into()),
        ("reason", "申请人要求加急".into()),
    ];
    assert_eq!(f.page(P::Reviewer, format!("/console/cases/{no}/events"), Some(form)).await.0, 303);
    let (_, html) = f.page(P::Reviewer, format!("/console/cases/{no}"), None).await;
    assert!(html.contains("核定收费：许可证工本费 15.00 元、加急费 20.50 元，合计 35.50 元"), "on the timeline: {html}");

    // The applicant is told what to pay.
    let (status, v) = f.json(P::Agent, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    assert_eq!(status, 200);
    let fee = v["notices"].as_array().unwrap().iter().find(|n| n["kind"] == "fee").expect("a fee notice");
    assert!(fee["body"].as_str().unwrap().contains("合计：35.50 元"), "{fee}");

    // Supervision: 15 元 is outside the published 10 元, 加急费 is no fee of the table.
    supervise_once(&f.store, &rules, 1000, jiff::Timestamp::now()).await.unwrap();
    let kept = f.store.supervision_alerts(None, None, None, 100).await.unwrap();
    let mut got: Vec<(&str, &str)> = kept.iter().filter(|a| a.case_no == no).map(|a| (a.key.as_str(), a.level.as_str())).collect();
    got.sort_unstable();
    assert_eq!(got, [("fee.not_in_table:加急费", "red"), ("fee.out_of_range:许可证工本费", "yellow")]);
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/alerts?class=fee".into(), Value::Null).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["alerts"].as_array().unwrap().iter().filter(|a| a["case_no"] == no.as_str()).count(), 2, "{v}");
}
on_both!(a_fee_notice_is_sent_to_the_applicant_and_measured_against_the_fee_table);

/// 廉政 across cases, live: one official's returns over the month reach the
/// (here lowered) 退件率 on their second case; the alert falls on that case,
/// and evaluating either case again gives the same.
async fn one_officials_return_rate_across_cases_is_flagged_on_the_case_that_crossed_it(backend: TestBackend) {
    let mut rules = RuleSet::default();
    (rules.settings.return_rate_min_steps, rules.settings.return_rate_percent) = (2, 50);
    let (_db, f) = drained(backend, &rules).await;
    let calendar = f.store.load_calendar().await.unwrap();
    let mut cases = Vec::new();
    for _ in 0..2 {
        let no = f.submitted_food_case().await;
        let accept =
            Event::Accepted { promised_days: 20, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
        let events = vec![
            ("clerk-x", "", accept),
            ("reviewer-x", "", Event::StepStarted { step: "审查".into() }),
            ("reviewer-x", "材料不实，退回重审", Event::StepReturned { step: "审查".into() }),
        ];
        record_now(&f, &no, events).await;
        supervise_once(&f.store, &rules, 1000, jiff::Timestamp::now()).await.unwrap();
        cases.push(no);
    }
    let kept = f.store.supervision_alerts(None, None, None, 100).await.unwrap();
    let month = yiwang_supervision::officials::month_of(jiff::Timestamp::now()).0;
    let rate: Vec<(&str, &str)> =
        kept.iter().filter(|a| a.rule == "integrity.return_rate").map(|a| (a.case_no.as_str(), a.key.as_str())).collect();
    assert_eq!(rate, [(cases[1].as_str(), format!("integrity.return_rate:reviewer-x:{month}").as_str())]);
    // Either case evaluated again (as a replay would) gives the same.
    let mut items = yiwang_web::supervision::FactsCache::default();
    for no in &cases {
        let c = f.store.case(no).await.unwrap();
        let events = f.store.case_events(no).await.unwrap();
        let (alerts, _) =
            yiwang_web::supervision::case_alerts(&f.store, &rules, &mut items, &c, &events, 0, &calendar, jiff::Timestamp::now())
                .await
                .unwrap();
        let got = alerts.iter().filter(|a| a.rule == "integrity.return_rate").count();
        assert_eq!(got, usize::from(no == &cases[1]), "{no}: {alerts:?}");
    }
    // Under the default threshold (10 steps in a month), two are not unusual.
    let c = f.store.case(&cases[1]).await.unwrap();
    let events = f.store.case_events(&cases[1]).await.unwrap();
    let (alerts, _) =
        yiwang_web::supervision::case_alerts(&f.store, &RuleSet::default(), &mut items, &c, &events, 0, &calendar, jiff::Timestamp::now())
            .await
            .unwrap();
    assert!(alerts.iter().all(|a| a.rule != "integrity.return_rate"), "{alerts:?}");
}
on_both!(one_officials_return_rate_across_cases_is_flagged_on_the_case_that_crossed_it);

/// The day the sweep is to look at a case again, as kept.
async fn check_day(f: &Fixture, no: &str) -> Option<String> {
    f.store.supervision_check_day(no).await.unwrap()
}

async fn the_daily_sweep_is_claimed_once_and_marks_only_the_cases_due(backend: TestBackend) {
    let (_db, f) = fixture(backend).await;
    let rules = RuleSet::default();
    while supervise_once(&f.store, &rules, 1000, jiff::Timestamp::now()).await.unwrap().0 > 0 {}
    let no = f.submitted_food_case().await;
    let calendar = f.store.load_calendar().await.unwrap();
    // Accepted now, promised in 20 working days: nothing is due for weeks.
    let accept =
        Event::Accepted { promised_days: 20, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
    let e = Envelope { at: jiff::Timestamp::now(), actor: "clerk-x".into(), reason: String::new(), event: accept };
    f.store.record_case_event(&no, &e, None, &calendar).await.unwrap();
    let now = jiff::Timestamp::now();
    assert_eq!(supervise_once(&f.store, &rules, 1000, now).await.unwrap(), (1, 0));
    // Its check day is the working day before the promised date.
    let case = f.store.case(&no).await.unwrap();
    let promised: jiff::civil::Date = case.promised_due.as_deref().unwrap().parse().unwrap();
    let check: jiff::civil::Date = check_day(&f, &no).await.unwrap().parse().unwrap();
    assert!(check < promised && calendar.workdays_between(check, promised, &[]).unwrap().value == 1, "{check} {promised}");
    // Today's sweep marks nothing: the case is not due. Another process finds it done.
    let today = yiwang_calendar::china_today(now);
    assert_eq!(yiwang_web::supervision::sweep(&f.store, today, "p1").await.unwrap(), Some(0));
    assert_eq!(yiwang_web::supervision::sweep(&f.store, today, "p2").await.unwrap(), Some(0));
    assert_eq!(supervise_once(&f.store, &rules, 1000, now).await.unwrap(), (0, 0));
    // On its check day the sweep marks it, once, and the consumer raises 提示.
    let marked = yiwang_web::supervision::sweep(&f.store, check, "p1").await.unwrap().unwrap();
    assert!(marked >= 1, "{marked}");
    assert_eq!(yiwang_web::supervision::sweep(&f.store, check, "p2").await.unwrap(), Some(0), "done: not swept twice");
    let on_check_day = yiwang_calendar::china_day_start(check).unwrap() + jiff::SignedDuration::from_hours(9);
    let (cases, _) = supervise_once(&f.store, &rules, 1000, on_check_day).await.unwrap();
    assert_eq!(cases as u64, marked);
    let alerts = f.store.supervision_alerts(None, None, None, 1000).await.unwrap();
    let mine: Vec<&str> = alerts.iter().filter(|a| a.case_no == no).map(|a| a.rule.as_str()).collect();
    assert_eq!(mine, ["timeliness.promised_near"]);
    let next: jiff::civil::Date = check_day(&f, &no).await.unwrap().parse().unwrap();
    assert_eq!(next, promised.tomorrow().unwrap(), "next: the day after the promised date");
    // A claim is one process's while its lease lasts; a lapsed one is taken over,
    // and the first process's next batch finds it lost.
    let day = "2099-01-02";
    let t0 = jiff::Timestamp::now();
    let lease = jiff::SignedDuration::from_secs(60);
    assert_eq!(f.store.claim_sweep(day, "p1", t0 + lease, t0).await.unwrap(), yiwang_store::SweepClaim::Claimed);
    assert_eq!(f.store.claim_sweep(day, "p2", t0 + lease, t0).await.unwrap(), yiwang_store::SweepClaim::Held);
    let later = t0 + jiff::SignedDuration::from_secs(61);
    assert_eq!(f.store.claim_sweep(day, "p2", later + lease, later).await.unwrap(), yiwang_store::SweepClaim::Claimed);
    assert_eq!(f.store.sweep_batch(day, "p1", 100, later + lease).await.unwrap(), None);
    assert!(f.store.sweep_batch(day, "p2", 100, later + lease).await.unwrap().is_some());
    f.store.finish_sweep(day, "p2", later).await.unwrap();
    assert_eq!(f.store.claim_sweep(day, "p3", later + lease, later + lease).await.unwrap(), yiwang_store::SweepClaim::Done);
}
on_both!(the_daily_sweep_is_claimed_once_and_marks_only_the_cases_due);

/// An alert on a case of agency A, kept by the consumer; returns (case, key).
async fn an_alert(f: &Fixture) -> (String, String) {
    let rules = RuleSet::default();
    while supervise_once(&f.store, &rules, 1000, jiff::Timestamp::now()).await.unwrap().0 > 0 {}
    let no = f.submitted_food_case().await;
    accept_long_ago(f, &no).await;
    supervise_once(&f.store, &rules, 1000, jiff::Timestamp::now()).await.unwrap();
    (no, "timeliness.promised_overdue".to_string())
}

async fn an_order_runs_from_issue_to_close_between_the_supervisor_and_the_agency_head(backend: TestBackend) {
    use serde_json::{Value, json};
    let (_db, f) = fixture(backend).await;
    let (no, key) = an_alert(&f).await;
    let issue = |content: &str, workdays: u32| json!({ "case_no": no, "alert_key": key, "content": content, "workdays": workdays });
    // Only supervisors issue; a bad deadline or an empty content is refused and changes nothing.
    let (status, v) = f.json(P::Head, "POST", "/api/v1/supervision/orders".into(), issue("x", 5)).await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = f.json(P::Supervisor, "POST", "/api/v1/supervision/orders".into(), issue("请说明", 0)).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("supervision.bad_deadline")), "{v}");
    let (status, v) = f.json(P::Supervisor, "POST", "/api/v1/supervision/orders".into(), issue("  ", 5)).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("supervision.note_required")), "{v}");
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/orders".into(), Value::Null).await;
    assert_eq!((status, v["orders"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
    // Issued: due in 5 working days, the head of the agency told.
    let (status, v) = f.json(P::Supervisor, "POST", "/api/v1/supervision/orders".into(), issue("请说明超期原因并限期办结", 5)).await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!((v["state"].as_str(), v["version"].as_i64()), (Some("issued"), Some(1)));
    let calendar = f.store.load_calendar().await.unwrap();
    let due = yiwang_supervision::orders::due_date(&calendar, jiff::Timestamp::now(), 5).unwrap();
    assert_eq!(v["due_date"].as_str(), Some(due.to_string().as_str()));
    let (status, v) = f.json(P::Supervisor, "POST", "/api/v1/supervision/orders".into(), issue("再次", 5)).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("store.conflict")), "one order per alert: {v}");
    let (_, v) = f.json(P::Head, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    let titles: Vec<&str> = v["notices"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["督办通知（黄牌）"], "{v}");
    // Another agency's head neither sees nor answers it.
    let (status, _) = f.json(P::OtherAgencyHead, "GET", format!("/api/v1/supervision/orders/{id}"), Value::Null).await;
    assert_eq!(status, 404);
    let step = |action: &str, note: &str| json!({ "action": action, "note": note });
    let (status, _) = f.json(P::OtherAgencyHead, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("acknowledged", "")).await;
    assert_eq!(status, 404);
    // The supervisor does not acknowledge for the agency; out of order is refused.
    let (status, v) = f.json(P::Supervisor, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("acknowledged", "")).await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = f.json(P::Head, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("rectified", "已办")).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("supervision.order_transition")), "{v}");
    let (status, v) = f.json(P::Head, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("acknowledged", "")).await;
    assert_eq!((status, v["state"].as_str()), (200, Some("acknowledged")), "{v}");
    let (status, v) = f.json(P::Head, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("rectified", "")).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("supervision.note_required")), "{v}");
    let (status, _) = f.json(P::Head, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("rectified", "已办结，并约谈")).await;
    assert_eq!(status, 200);
    // Returned, reported again, verified, closed.
    let (status, v) =
        f.json(P::Supervisor, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("returned", "未附约谈记录")).await;
    assert_eq!((status, v["state"].as_str()), (200, Some("acknowledged")), "{v}");
    let (_, v) = f.json(P::Head, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    assert_eq!(v["notices"][0]["title"].as_str(), Some("督办单退回重新整改"), "{v}");
    let (status, _) = f.json(P::Head, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("rectified", "补充约谈记录")).await;
    assert_eq!(status, 200);
    // A stale version is refused.
    let stale = json!({ "action": "verified", "version": 1 });
    let (status, v) = f.json(P::Supervisor, "POST", format!("/api/v1/supervision/orders/{id}/events"), stale).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("store.conflict")), "{v}");
    let (status, _) = f.json(P::Supervisor, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("verified", "")).await;
    assert_eq!(status, 200);
    let (status, v) = f.json(P::Supervisor, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("closed", "")).await;
    assert_eq!((status, v["state"].as_str()), (200, Some("closed")), "{v}");
    let actions: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["issued", "acknowledged", "rectified", "returned", "rectified", "verified", "closed"]);
    let names: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["actor_name"].as_str().unwrap()).collect();
    assert_eq!(names[..2], ["冯六", "周三"]);
    // The supervisor was told of the acknowledgement and the reports.
    let (_, v) = f.json(P::Supervisor, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    let titles: Vec<&str> = v["notices"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["督办单整改待核查", "督办单整改待核查", "督办单已签收"], "{v}");
    // Administrators read, and do not act.
    let (status, v) = f.json(P::Admin, "GET", format!("/api/v1/supervision/orders/{id}"), Value::Null).await;
    assert_eq!((status, v["state"].as_str()), (200, Some("closed")));
    let (status, _) = f.json(P::Admin, "POST", format!("/api/v1/supervision/orders/{id}/events"), step("closed", "")).await;
    assert_eq!(status, 403);
    // The public figures count the late case and the order closed on time, and name no case or person.
    let (status, v) = f.json(P::Anon, "GET", "/api/v1/supervision/public".into(), Value::Null).await;
    assert_eq!(status, 200, "{v}");
    let agency_a = v["agencies"].as_array().unwrap().iter().find(|a| a["name"] == "杭州市市场监督管理局").unwrap();
    assert!(agency_a["accepted"].as_i64().unwrap() >= 1 && agency_a["overdue"].as_i64().unwrap() >= 1, "{agency_a}");
    assert_eq!((agency_a["orders_closed"].as_i64(), agency_a["orders_on_time_rate"].as_f64()), (Some(1), Some(100.0)), "{agency_a}");
    assert_eq!(agency_a["region"], "330100");
    assert!(v["regions"].as_array().unwrap().iter().any(|r| r["code"] == "330100" && r["name"] == "杭州市"), "{v}");
    let text = v.to_string();
    assert!(!text.contains(&no) && !text.contains("张三"), "counts only: {text}");
    let (status, html) = f.page(P::Anon, "/supervision/public".into(), None).await;
    assert!(status == 200 && html.contains("按时办结率") && html.contains("杭州市市场监督管理局"), "{html}");
    let (status, v) = f.json(P::Anon, "GET", "/api/v1/supervision/public?year=1999".into(), Value::Null).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v}");
    // Bad parameters are named.
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/orders?state=lost".into(), Value::Null).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v}");
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/alerts?class=weather".into(), Value::Null).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v}");
}
on_both!(an_order_runs_from_issue_to_close_between_the_supervisor_and_the_agency_head);

async fn a_bad_rating_runs_its_loop_to_the_revisit_and_an_appeal_voids_another(backend: TestBackend) {
    use serde_json::{Value, json};
    let (_db, f) = fixture(backend).await;
    let (_, content) = f.json(P::Anon, "GET", "/api/v1/ratings/content".into(), Value::Null).await;
    assert_eq!(content["online"][4]["name"], "非常不满意", "{content}");
    let no = f.submitted_food_case().await;
    let rate = |no: &str, stage: &str, level: u8, reasons: Vec<&str>| json!({ "case_no": no, "stage": stage, "channel": "pc", "level": level, "reasons": reasons, "comment": "" });
    // Not accepted yet: nothing to rate.
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&no, "accepted", 5, vec!["超时办结"])).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("store.conflict")), "{v}");
    accept_long_ago(&f, &no).await;
    // Only the applicant rates; the level and reasons are checked.
    let (status, _) = f.json(P::OtherCitizen, "POST", "/api/v1/ratings".into(), rate(&no, "accepted", 5, vec!["超时办结"])).await;
    assert_eq!(status, 404);
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&no, "accepted", 7, vec![])).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v}");
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&no, "accepted", 5, vec!["办事效率高"])).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("rating.unknown_reason")), "{v}");
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&no, "accepted", 5, vec![])).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("rating.bad_needs_reason")), "{v}");
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&no, "accepted", 5, vec!["超时办结"])).await;
    assert_eq!((status, v["loop"]["state"].as_str()), (201, Some("open")), "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (status, _) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&no, "accepted", 1, vec![])).await;
    assert_eq!(status, 409, "once per stage");
    let (status, _) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&no, "concluded", 1, vec![])).await;
    assert_eq!(status, 409, "not concluded yet");
    // The agency's head sees it and runs the loop; a supervisor does not act for the agency.
    let (_, v) = f.json(P::Head, "GET", "/api/v1/ratings?bad=true".into(), Value::Null).await;
    assert_eq!(v["ratings"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = f.json(P::OtherAgencyHead, "GET", "/api/v1/ratings".into(), Value::Null).await;
    assert_eq!(v["ratings"].as_array().map(Vec::len), Some(0), "{v}");
    let step = |body: Value| (format!("/api/v1/ratings/{id}/loop"), body);
    let (path, body) = step(json!({ "action": "verified", "triage": "rectify_by", "note": "情况属实" }));
    let (status, _) = f.json(P::Supervisor, "POST", path.clone(), body.clone()).await;
    assert_eq!(status, 403);
    let (status, v) = f.json(P::Head, "POST", path.clone(), body).await;
    assert_eq!((status, v["loop"]["state"].as_str()), (200, Some("rectifying")), "{v}");
    let (status, v) = f.json(P::Head, "POST", path.clone(), json!({ "action": "feedback_sent", "note": "x" })).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("rating.transition")), "{v}");
    let (status, v) = f.json(P::Head, "POST", path.clone(), json!({ "action": "rectified", "note": "" })).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("rating.note_required")), "{v}");
    let (status, _) = f.json(P::Head, "POST", path.clone(), json!({ "action": "rectified", "note": "已调整审查分工" })).await;
    assert_eq!(status, 200);
    let (status, _) =
        f.json(P::Head, "POST", path.clone(), json!({ "action": "feedback_sent", "note": "已调整审查分工，今后按期办结" })).await;
    assert_eq!(status, 200);
    // The rater is told.
    let (_, v) = f.json(P::Agent, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    let feedback = v["notices"].as_array().unwrap().iter().find(|n| n["title"] == "差评整改反馈").expect("the rater's feedback");
    assert!(feedback["body"].as_str().unwrap().contains("已调整审查分工"), "{feedback}");
    assert_eq!(feedback["kind_zh"], "差评整改反馈", "{feedback}");
    let (status, v) = f.json(P::Head, "POST", path.clone(), json!({ "action": "revisited", "satisfaction": 2 })).await;
    assert_eq!((status, v["loop"]["state"].as_str(), v["loop"]["revisited"].as_u64()), (200, Some("closed"), Some(2)), "{v}");
    let actions: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["verified", "rectified", "feedback_sent", "revisited"]);
    // A second case's 差评, appealed and voided by a supervisor.
    let other = f.submitted_food_case().await;
    accept_long_ago(&f, &other).await;
    let (_, v) = f.json(P::Agent, "POST", "/api/v1/ratings".into(), rate(&other, "accepted", 4, vec!["超时办结"])).await;
    let other_id = v["id"].as_str().unwrap().to_string();
    let loop_path = format!("/api/v1/ratings/{other_id}/loop");
    let (status, _) = f.json(P::Head, "POST", loop_path.clone(), json!({ "action": "appealed", "note": "该件未超期，系误评" })).await;
    assert_eq!(status, 200);
    let (status, _) = f.json(P::Head, "POST", loop_path.clone(), json!({ "action": "appeal_reviewed", "upheld": true })).await;
    assert_eq!(status, 403, "the agency does not review its own appeal");
    let (status, v) = f.json(P::Supervisor, "POST", loop_path, json!({ "action": "appeal_reviewed", "upheld": true })).await;
    assert_eq!((status, v["loop"]["state"].as_str()), (200, Some("voided")), "{v}");
    // Statistics: the voided one is left out; the other was rectified and revisited.
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/ratings/stats?by=agency".into(), Value::Null).await;
    assert_eq!(status, 200, "{v}");
    let line = &v["lines"][0];
    assert_eq!(
        (line["counts"]["ratings"].as_i64(), line["counts"]["bad"].as_i64(), line["counts"]["voided"].as_i64()),
        (Some(2), Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(
        (line["rectified_rate"].as_f64(), line["revisit_rate"].as_f64(), line["good_rate"].as_f64()),
        (Some(100.0), Some(100.0), Some(0.0))
    );
    let (status, _) = f.json(P::Supervisor, "GET", "/api/v1/ratings/stats?by=weather".into(), Value::Null).await;
    assert_eq!(status, 400);
    let (status, v) = f.json(P::Supervisor, "GET", "/api/v1/ratings/stats?by=handler".into(), Value::Null).await;
    assert_eq!((status, v["lines"][0]["key"].as_str()), (200, Some("clerk-x")), "{v}");
    // The public page's 好评率 counts the one rating not voided.
    let (_, v) = f.json(P::Anon, "GET", "/api/v1/supervision/public".into(), Value::Null).await;
    let agency_a = v["agencies"].as_array().unwrap().iter().find(|a| a["name"] == "杭州市市场监督管理局").unwrap();
    assert_eq!((agency_a["ratings"].as_i64(), agency_a["good_rate"].as_f64()), (Some(1), Some(0.0)), "{agency_a}");
}
on_both!(a_bad_rating_runs_its_loop_to_the_revisit_and_an_appeal_voids_another);

async fn the_applicant_rates_from_the_case_page(backend: TestBackend) {
    let (_db, f) = fixture(backend).await;
    let no = f.submitted_food_case().await;
    // Before acceptance the page offers no rating.
    let (_, html) = f.page(P::Agent, format!("/me/cases/{no}"), None).await;
    assert!(!html.contains("提交评价"), "{html}");
    accept_long_ago(&f, &no).await;
    let (status, html) = f.page(P::Agent, format!("/me/cases/{no}"), None).await;
    assert!(status == 200 && html.contains("您对本次受理服务是否满意") && html.contains("超时办结"), "{html}");
    // A 差评 without a reason or a comment is refused on the page, and nothing is kept.
    let bad = vec![("stage", "accepted".to_string()), ("level", "5".to_string()), ("comment", " ".to_string())];
    let (status, html) = f.page(P::Agent, format!("/me/cases/{no}/rating"), Some(bad)).await;
    assert!(status == 422 && html.contains("差评请至少选择一项原因或填写评价内容"), "{status} {html}");
    assert!(f.store.case_ratings(&no).await.unwrap().is_empty());
    // A reason from another level's list is refused too.
    let wrong = vec![("stage", "accepted".to_string()), ("level", "5".to_string()), ("reason_1", "办事效率高".to_string())];
    let (status, _) = f.page(P::Agent, format!("/me/cases/{no}/rating"), Some(wrong)).await;
    assert_eq!(status, 422);
    let good = vec![
        ("stage", "accepted".to_string()),
        ("level", "4".to_string()),
        ("reason_9", "超时办结".to_string()),
        ("reason_10", "要求重复提交材料".to_string()),
        ("comment", "等了很久".to_string()),
    ];
    let (status, _) = f.page(P::Agent, format!("/me/cases/{no}/rating"), Some(good)).await;
    assert_eq!(status, 303);
    let kept = f.store.case_ratings(&no).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].rating.level.code(), kept[0].rating.reasons.len()), (4, 2));
    assert_eq!(kept[0].bad_loop.as_ref().map(|l| l.state), Some(yiwang_supervision::ratings::LoopState::Open));
    let (_, html) = f.page(P::Agent, format!("/me/cases/{no}"), None).await;
    assert!(html.contains("您对受理的评价：不满意") && !html.contains("提交评价"), "{html}");
    // The leaders' statistics count it in its month, as a chart and as a table.
    let month = &no[18..24];
    let label = format!("{}年{}月", &month[..4], month[4..].trim_start_matches('0'));
    let (status, html) = f.page(P::Head, "/console/statistics".into(), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<svg") && html.contains("每月申请件数") && html.contains("<title id=\"good-t\">好评率</title>"), "{html}");
    let row =
        html.split(&format!("<th scope=\"row\">{label}</th>")).nth(1).expect("the case's month").split("</tr>").next().unwrap().to_string();
    assert!(row.starts_with("<td>1</td>") && row.contains("<td>1</td><td>0.0%</td>"), "{row}");
    let (_, html) = f.page(P::OtherAgencyHead, "/console/statistics".into(), None).await;
    let row = html.split(&format!("<th scope=\"row\">{label}</th>")).nth(1).unwrap().split("</tr>").next().unwrap().to_string();
    assert!(row.starts_with("<td>0</td>"), "another agency's head counts none of it: {row}");
}
on_both!(the_applicant_rates_from_the_case_page);

async fn the_five_indicators_score_each_agency_and_region_in_the_readers_scope(backend: TestBackend) {
    use serde_json::{Value, json};
    let (_db, f) = fixture(backend).await;
    let no = f.submitted_food_case().await;
    accept_long_ago(&f, &no).await;
    // Records go up (汇聚): the rating queues its GB/T 39046 表9 record with it.
    f.store.set_upward_aggregation(true).await.unwrap();
    let (status, _) = f
        .json(
            P::Agent,
            "POST",
            "/api/v1/ratings".into(),
            json!({ "case_no": no, "stage": "accepted", "channel": "pc", "level": 5, "reasons": ["超时办结"], "comment": "" }),
        )
        .await;
    assert_eq!(status, 201);
    let mut tx = f.store.begin().await.unwrap();
    let queued = tx.upward_batch(1000).await.unwrap();
    drop(tx);
    let record = queued.iter().find(|r| r.kind == "rating.given").expect("the rating's 表9 record");
    assert_eq!(record.record_id, format!("{no}.rating.accepted"));
    assert_eq!(
        (record.data["case_no"].as_str(), record.data["channel"].as_str(), record.data["satisfaction_code"].as_u64()),
        (Some(no.as_str()), Some("PC端"), Some(5)),
        "{record:?}"
    );
    assert_eq!((record.data["evaluate_count"].as_u64(), record.data["division_code"].as_str()), (Some(1), Some("330100")), "{record:?}");
    let agency_line = |v: &Value, name: &str| v["agencies"].as_array().unwrap().iter().find(|a| a["name"] == name).cloned();
    let sub = |line: &Value, code: &str| {
        line["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["subs"].as_array().unwrap())
            .find(|s| s["code"] == code)
            .cloned()
            .unwrap()
    };
    // The agency's head reads its own agency: items, the case and the 差评 counted.
    let (status, v) = f.json(P::Head, "GET", "/api/v1/indicators".into(), Value::Null).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["definitions"].as_array().map(Vec::len), Some(5), "{v}");
    assert_eq!(v["definitions"][4]["subs"][0]["formula_zh"], "期内网上申请件数 ÷ 期内申请件数");
    let line = agency_line(&v, "杭州市市场监督管理局").expect("the head's agency");
    assert!(line["items"].as_i64().unwrap() >= 1, "{line}");
    let online = sub(&line, "online_rate");
    assert!(online["den"].as_f64().unwrap() >= 1.0 && online["value"].as_f64().is_some(), "{online}");
    let good = sub(&line, "good_rate");
    assert_eq!((good["num"].as_f64(), good["den"].as_f64(), good["value"].as_f64()), (Some(0.0), Some(1.0), Some(0.0)), "{good}");
    let rectified = sub(&line, "rectified");
    assert_eq!((rectified["num"].as_f64(), rectified["den"].as_f64()), (Some(0.0), Some(1.0)), "{rectified}");
    for d in line["dimensions"].as_array().unwrap() {
        let score = d["score"].as_f64().unwrap_or(0.0);
        assert!((0.0..=100.0).contains(&score), "{d}");
    }
    assert!(line["total"].as_f64().is_some() && line["grade_zh"].is_string(), "{line}");
    assert_eq!(v["agencies"].as_array().map(Vec::len), Some(1), "a head reads only its agency: {v}");
    // Another agency's head does not read it; the province's supervisor reads it, and the regions above it.
    let (_, v) = f.json(P::OtherAgencyHead, "GET", "/api/v1/indicators".into(), Value::Null).await;
    assert!(agency_line(&v, "杭州市市场监督管理局").is_none(), "{v}");
    let (_, v) = f.json(P::Supervisor, "GET", "/api/v1/indicators".into(), Value::Null).await;
    assert!(agency_line(&v, "杭州市市场监督管理局").is_some(), "{v}");
    let regions: Vec<&str> = v["regions"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(regions.contains(&"330000") && regions.contains(&"330100"), "{regions:?}");
    // A region pools its agencies' counts: the province's applications are at least the agency's.
    let province = v["regions"].as_array().unwrap().iter().find(|r| r["code"] == "330000").unwrap();
    assert!(sub(province, "online_rate")["den"].as_f64() >= sub(&line, "online_rate")["den"].as_f64(), "{province}");
    // A period outside the case's leaves its cases and ratings out.
    let (_, v) = f.json(P::Head, "GET", "/api/v1/indicators?from=2025-01-01&to=2025-12-31".into(), Value::Null).await;
    let old = agency_line(&v, "杭州市市场监督管理局").unwrap();
    assert_eq!((sub(&old, "online_rate")["den"].as_f64(), sub(&old, "good_rate")["value"].as_f64()), (Some(0.0), None), "{old}");
    for bad in ["from=2026-13-01", "from=2026-06-01&to=2026-01-01", "from=2020-01-01&to=2026-01-01", "to=2999-01-01", "year=2026"] {
        let (status, v) = f.json(P::Head, "GET", format!("/api/v1/indicators?{bad}"), Value::Null).await;
        assert_eq!(status, 400, "{bad}: {v}");
    }
    let (status, _) = f.json(P::Citizen, "GET", "/api/v1/indicators".into(), Value::Null).await;
    assert_eq!(status, 403);
    // The page charts the five dimensions with the same figures in tables, and links the exports.
    let (status, html) = f.page(P::Head, "/console/indicators".into(), None).await;
    assert_eq!(status, 200);
    for needle in [
        "<svg",
        "五个维度得分",
        "服务方式完备度",
        "在线服务成效度",
        "杭州市市场监督管理局",
        "期内网上申请件数 ÷ 期内申请件数",
        "report.pdf?from=",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    // The PDF report carries the same tables, as text.
    let (status, kind, pdf) = f.bytes(P::Head, "/api/v1/indicators/report.pdf".into()).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    for needle in ["评估指标报告", "按部门", "杭州市市场监督管理局", "在线办理成熟度", "指标口径"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // The leaders' statistics show the period by agency and by item, charted and in tables.
    let (status, html) = f.page(P::Head, "/console/statistics".into(), None).await;
    assert_eq!(status, 200);
    let agency_row = html
        .split("<caption id=\"agency-table\">")
        .nth(1)
        .and_then(|t| t.split("<th scope=\"row\">杭州市市场监督管理局</th>").nth(1))
        .and_then(|r| r.split("</tr>").next())
        .expect("the agency's row")
        .to_string();
    // At least this case; its 差评 the one rating, so 好评率 0.0%.
    assert!(!agency_row.starts_with("<td>0</td>") && agency_row.ends_with("<td>1</td><td>0.0%</td>"), "{agency_row}");
    let item_table = html.split("<caption id=\"item-table\">").nth(1).unwrap().split("</table>").next().unwrap().to_string();
    assert!(item_table.contains("食品经营许可") && item_table.contains("<td>杭州市市场监督管理局</td>"), "{item_table}");
    assert!(html.contains("<title id=\"agency-on-time-t\">各部门按时办结率</title>"), "{html}");
    let (_, html) = f.page(P::Head, "/console/statistics?from=2025-01-01&to=2025-12-31".into(), None).await;
    assert!(html.contains("期间内没有办件或评价"), "{html}");
    let (status, _) = f.page(P::Head, "/console/statistics?from=2025-12-31&to=2025-01-01".into(), None).await;
    assert_eq!(status, 400);
}
on_both!(the_five_indicators_score_each_agency_and_region_in_the_readers_scope);

/// The token an invitation's link or redirect carries.
fn token_in(s: &str) -> String {
    s.split("/rate/").nth(1).expect("a /rate/ link").chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn ratings_come_from_the_windows_tablet_an_sms_link_and_the_phone(backend: TestBackend) {
    use serde_json::{Value, json};
    let (_db, f) = fixture(backend).await;
    let offline = |s: &str| s.contains("服务态度") || s.contains("态度");
    // 1. The window's tablet, for the enterprise's online case: the clerk opens the form and turns the tablet.
    let no = f.submitted_food_case().await;
    accept_long_ago(&f, &no).await;
    let (_, html) = f.page(P::Clerk, format!("/console/cases/{no}"), None).await;
    assert!(html.contains("平板评价受理") && html.contains("短信邀请评价受理"), "{html}");
    let invite = |stage: &str, channel: &str| vec![("stage", stage.to_string()), ("channel", channel.to_string())];
    let (status, location, _) =
        f.post_form(P::Clerk, format!("/console/cases/{no}/rating-invitations"), invite("concluded", "hall_tablet")).await;
    assert_eq!(status, 409, "not concluded yet");
    assert!(location.is_none());
    let (status, location, _) =
        f.post_form(P::Clerk, format!("/console/cases/{no}/rating-invitations"), invite("accepted", "hall_tablet")).await;
    assert_eq!(status, 303);
    let token = token_in(&location.unwrap());
    let (status, html) = f.page(P::Anon, format!("/rate/{token}"), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("食品经营许可") && html.contains("杭州市市场监督管理局") && html.contains("受理"), "{html}");
    assert!(offline(&html), "the hall's content: {html}");
    assert!(!html.contains("杭州一网餐饮") && !html.contains(&no), "the page names neither applicant nor case: {html}");
    // A 差评 without a reason is refused on the page, and the invitation stays open.
    let (status, _, html) = f.post_form(P::Anon, format!("/rate/{token}"), vec![("level", "5".into())]).await;
    assert!(status == 422 && html.contains("差评请至少选择一项原因"), "{status} {html}");
    let content = f.json(P::Anon, "GET", "/api/v1/ratings/content".into(), Value::Null).await.1;
    let hall_reason = content["offline"][3]["reasons"][0].as_str().unwrap().to_string();
    let (status, _, html) =
        f.post_form(P::Anon, format!("/rate/{token}"), vec![("level", "4".into()), ("reason_9", hall_reason.clone())]).await;
    assert!(status == 200 && html.contains("感谢您的评价"), "{status} {html}");
    let kept = f.store.case_ratings(&no).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].rating.channel, kept[0].rating.reasons.clone()),
        (yiwang_supervision::ratings::Channel::HallTablet, vec![hall_reason])
    );
    assert_eq!(kept[0].rater_account, f.id(P::Agent), "the case's account is the rater, so the feedback reaches 消息");
    // Used once.
    let (status, html) = f.page(P::Anon, format!("/rate/{token}"), None).await;
    assert!(status == 410 && html.contains("此评价已提交"), "{status} {html}");
    let (status, _, _) = f.post_form(P::Anon, format!("/rate/{token}"), vec![("level", "1".into())]).await;
    assert_eq!(status, 410);
    assert_eq!(f.store.case_ratings(&no).await.unwrap().len(), 1);
    // The applicant cannot claim the hall's channel on the API.
    let other = f.submitted_food_case().await;
    accept_long_ago(&f, &other).await;
    let (status, v) = f
        .json(
            P::Agent,
            "POST",
            "/api/v1/ratings".into(),
            json!({ "case_no": other, "stage": "accepted", "channel": "hall_tablet", "level": 1 }),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v}");

    // 2. The phone, for the other case: staff take the rating down; it records who did.
    let (status, location, _) =
        f.post_form(P::Clerk, format!("/console/cases/{other}/rating-invitations"), invite("accepted", "phone")).await;
    assert_eq!(status, 303);
    let token = token_in(&location.unwrap());
    let (_, html) = f.page(P::Clerk, format!("/rate/{token}"), None).await;
    assert!(html.contains("电话回访"), "{html}");
    let (status, _, _) = f.post_form(P::Clerk, format!("/rate/{token}"), vec![("level", "1".into())]).await;
    assert_eq!(status, 200);
    let kept = f.store.case_ratings(&other).await.unwrap();
    assert_eq!(
        (kept[0].rating.channel, kept[0].recorded_by.as_deref()),
        (yiwang_supervision::ratings::Channel::Phone, Some(f.id(P::Clerk)))
    );

    // 3. An SMS link, for a window case whose applicant has no account; the 差评's feedback goes by SMS too.
    let now = jiff::Timestamp::now();
    let window = yiwang_store::NewCase {
        item_code: item_code(AGENCY_A),
        applicant: yiwang_store::Applicant { id_type: "049".into(), id: ENTERPRISE.into(), name: "杭州一网餐饮有限公司".into() },
        account_id: "window:clerk".into(),
        form: json!({ "contact_phone": "13912345678" }),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L3,
        assured: true,
    };
    let (created, _) = f.store.create_case(&window, now).await.unwrap();
    let win = created.case_no.clone();
    let calendar = f.store.load_calendar().await.unwrap();
    let submitted =
        Envelope { at: "2026-11-02T01:00:00Z".parse().unwrap(), actor: "clerk-x".into(), reason: String::new(), event: Event::Submitted };
    f.store.record_case_event(&win, &submitted, None, &calendar).await.unwrap();
    accept_long_ago(&f, &win).await;
    let _ = f.store.claim_outbox(1000, now).await.unwrap();
    let (status, location, _) = f.post_form(P::Clerk, format!("/console/cases/{win}/rating-invitations"), invite("accepted", "sms")).await;
    assert_eq!((status, location.as_deref()), (303, Some(format!("/console/cases/{win}?done=invited").as_str())));
    let (_, html) = f.page(P::Clerk, format!("/console/cases/{win}?done=invited"), None).await;
    assert!(html.contains("已向申请人的联系电话发送评价短信"), "{html}");
    let sent = f.store.claim_outbox(1000, jiff::Timestamp::now()).await.unwrap();
    let sms = sent.iter().find(|m| m.channel == "sms" && m.recipient == "13912345678").expect("the invitation by SMS");
    assert!(sms.body.contains("请对本次服务进行评价") && sms.body.contains("7日内有效"), "{}", sms.body);
    let token = token_in(&sms.body);
    let (status, _, html) =
        f.post_form(P::Anon, format!("/rate/{token}"), vec![("level", "5".into()), ("comment", "窗口让我跑了两次".into())]).await;
    assert!(status == 200 && html.contains("感谢您的评价"), "{status} {html}");
    let kept = f.store.case_ratings(&win).await.unwrap();
    assert_eq!((kept[0].rating.channel, kept[0].rater_account.as_str()), (yiwang_supervision::ratings::Channel::Sms, ""));
    let id = kept[0].id.clone();
    let path = format!("/api/v1/ratings/{id}/loop");
    for body in [
        json!({ "action": "verified", "triage": "rectify_now", "note": "情况属实" }),
        json!({ "action": "rectified", "note": "已实行一次性告知" }),
        json!({ "action": "feedback_sent", "note": "已实行一次性告知，今后一次办结" }),
    ] {
        let (status, v) = f.json(P::Head, "POST", path.clone(), body).await;
        assert_eq!(status, 200, "{v}");
    }
    let sent = f.store.claim_outbox(1000, jiff::Timestamp::now()).await.unwrap();
    let feedback = sent.iter().find(|m| m.channel == "sms" && m.recipient == "13912345678").expect("the feedback by SMS");
    assert!(feedback.body.contains("差评整改反馈") && feedback.body.contains("一次性告知"), "{}", feedback.body);

    // An invitation past its time is closed.
    let stale = f
        .store
        .invite_rating(
            &win,
            yiwang_supervision::ratings::Stage::Accepted,
            yiwang_supervision::ratings::Channel::HallTablet,
            "t",
            0,
            None,
            now,
        )
        .await
        .unwrap();
    let (status, html) = f.page(P::Anon, format!("/rate/{stale}"), None).await;
    assert!(status == 410 && html.contains("已过期"), "{status} {html}");
}
on_both!(ratings_come_from_the_windows_tablet_an_sms_link_and_the_phone);

async fn the_daily_sweep_flags_orders_and_bad_rating_loops_past_their_deadlines(backend: TestBackend) {
    use serde_json::{Value, json};
    let (_db, f) = fixture(backend).await;
    let (no, key) = an_alert(&f).await;
    let (status, v) = f
        .json(
            P::Supervisor,
            "POST",
            "/api/v1/supervision/orders".into(),
            json!({ "case_no": no, "alert_key": key, "content": "限期说明", "workdays": 1 }),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let order = v["id"].as_str().unwrap().to_string();
    let (status, v) = f
        .json(
            P::Agent,
            "POST",
            "/api/v1/ratings".into(),
            json!({ "case_no": no, "stage": "accepted", "channel": "pc", "level": 5, "reasons": ["超时办结"] }),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let rating = v["id"].as_str().unwrap().to_string();
    let followups = |v: &Value| -> Vec<(String, String)> {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["rule"].as_str().unwrap().ends_with("_overdue") && a["key"].as_str().unwrap().contains(':'))
            .map(|a| (a["key"].as_str().unwrap().to_string(), a["level"].as_str().unwrap().to_string()))
            .collect()
    };
    // Today neither is due yet: today's sweep flags nothing.
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    yiwang_web::supervision::sweep(&f.store, today, "p1").await.unwrap();
    let (_, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/alerts".into(), Value::Null).await;
    assert!(followups(&v).is_empty(), "{v}");
    // A month on, both are past their deadlines: the order is red, the loop yellow, each once.
    let later = today.checked_add(jiff::Span::new().days(31)).unwrap();
    assert!(yiwang_web::supervision::sweep(&f.store, later, "p1").await.unwrap().is_some());
    let (_, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/alerts".into(), Value::Null).await;
    let mut got = followups(&v);
    got.sort();
    assert_eq!(
        got,
        [
            (format!("timeliness.order_overdue:{order}"), "red".to_string()),
            (format!("timeliness.rating_loop_overdue:{rating}"), "yellow".to_string()),
        ]
    );
    // The agency's head reads them too; another agency's does not.
    let (_, v) = f.json(P::Head, "GET", "/api/v1/supervision/alerts".into(), Value::Null).await;
    assert_eq!(followups(&v).len(), 2);
    let (_, v) = f.json(P::OtherAgencyHead, "GET", "/api/v1/supervision/alerts".into(), Value::Null).await;
    assert!(followups(&v).is_empty());
    // The next day's sweep keeps them once.
    let next = later.tomorrow().unwrap();
    yiwang_web::supervision::sweep(&f.store, next, "p1").await.unwrap();
    let (_, v) = f.json(P::Supervisor, "GET", "/api/v1/supervision/alerts".into(), Value::Null).await;
    assert_eq!(followups(&v).len(), 2);
}
on_both!(the_daily_sweep_flags_orders_and_bad_rating_loops_past_their_deadlines);

/// A supervisor reads the cases of the agencies their region takes in, with
/// no role in those agencies: the case page and the API, audited as
/// 电子监察, with nothing to record on them.
async fn a_regional_supervisor_reads_the_cases_of_the_region(backend: TestBackend) {
    use serde_json::{Value, json};
    let (_db, f) = fixture(backend).await;
    // Ningbo's market regulator publishes its item; an applicant opens a case there.
    let mut doc = catalog_item(AGENCY_B, "宁波市市场监督管理局", "330200");
    // The fixture holds it as a draft: a changed version, published.
    doc.aliases.push("宁波食品经营许可".into());
    let now = jiff::Timestamp::now();
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&doc, true, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let form = json!({ "contact_name": "王五", "contact_phone": "13800138000" });
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/cases".into(), json!({ "item_code": item_code(AGENCY_B), "form": form })).await;
    assert_eq!(status, 201, "{v}");
    let no = v["case"]["case_no"].as_str().unwrap().to_string();
    // 冯六 supervises Hangzhou (his office is the city's): Ningbo's case is not his to read.
    assert_eq!(f.page(P::Supervisor, format!("/console/cases/{no}"), None).await.0, 404);
    assert_eq!(f.json(P::Supervisor, "GET", format!("/api/v1/cases/{no}"), Value::Null).await.0, 404);
    // The province's supervision office takes in Ningbo.
    let province = valid_uscc("11", "330000", "00250099");
    let mut tx = f.store.begin().await.unwrap();
    let office = yiwang_store::Agency {
        uscc: province.clone(),
        name: "浙江省政务服务监察室".into(),
        division_code: "330000".into(),
        level: "provincial".into(),
    };
    tx.upsert_agency(&office, "t", now).await.unwrap();
    tx.grant_staff_role(f.id(P::Supervisor), &province, yiwang_identity::Role::Supervisor, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let (status, html) = f.page(P::Supervisor, format!("/console/cases/{no}"), None).await;
    assert_eq!(status, 200, "{html}");
    assert!(!html.contains("发出缴费通知") && !html.contains("认领"), "nothing to record: {html}");
    let (status, v) = f.json(P::Supervisor, "GET", format!("/api/v1/cases/{no}"), Value::Null).await;
    assert_eq!((status, v["case"]["case_no"].as_str()), (200, Some(no.as_str())), "{v}");
    let (status, _) =
        f.json(P::Supervisor, "POST", format!("/api/v1/cases/{no}/events"), json!({ "event": { "type": "claimed" }, "reason": "" })).await;
    assert_eq!(status, 403, "a supervisor records nothing on the case");
    let audit = f.store.audit_page(0, 10_000).await.unwrap().entries;
    let reads: Vec<&yiwang_audit::AuditRecord> =
        audit.iter().map(|e| &e.record).filter(|r| r.object_id == no && r.actor.contains(f.id(P::Supervisor))).collect();
    assert!(!reads.is_empty() && reads.iter().all(|r| r.reason.contains("电子监察")), "the reads are audited as supervision: {reads:?}");
}
on_both!(a_regional_supervisor_reads_the_cases_of_the_region);
