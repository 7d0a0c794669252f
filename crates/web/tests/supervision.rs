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

async fn the_consumer_keeps_each_alert_once_as_a_replay_gives_it(backend: TestBackend) {
    let (_db, f) = fixture(backend).await;
    let rules = RuleSet::default();
    let now = jiff::Timestamp::now();
    // Whatever the fixture's own cases raise, out of the way first.
    while supervise_once(&f.store, &rules, 1000, now).await.unwrap().0 > 0 {}
    let no = f.submitted_food_case().await;
    let calendar = f.store.load_calendar().await.unwrap();
    // Accepted on Monday 2026-11-02 (China time), promised in 1 working day, legal in 2.
    let accepted_at: jiff::Timestamp = "2026-11-02T02:00:00Z".parse().unwrap();
    let accept = Event::Accepted { promised_days: 1, legal_days: 2, pending: vec![], commitment_check_days: 0, units: Default::default() };
    let e = Envelope { at: accepted_at, actor: "clerk-x".into(), reason: String::new(), event: accept };
    f.store.record_case_event(&no, &e, None, &calendar).await.unwrap();
    // Evaluated as of after the history (it is read in order, up to now).
    let now = jiff::Timestamp::now();
    let (cases, new) = supervise_once(&f.store, &rules, 1000, now).await.unwrap();
    assert_eq!((cases, new), (1, 3), "the case was marked by its event");
    let kept = f.store.supervision_alerts(None, 100).await.unwrap();
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
    // The sweep marks the cases whose limits run; nothing is raised twice.
    assert!(f.store.mark_for_sweep().await.unwrap() >= 1);
    let (cases, new) = supervise_once(&f.store, &rules, 1000, now).await.unwrap();
    assert!(cases >= 1 && new == 0, "{cases} {new}");
    // What was kept is what a replay of the history gives.
    let events = f.store.case_events(&no).await.unwrap();
    let c = f.store.case(&no).await.unwrap();
    let doc = f.store.filed_item(&c.item_code, c.item_version).await.unwrap().unwrap();
    let required: Vec<String> =
        doc.materials.iter().filter(|m| m.necessity == yiwang_catalog::code_lists::Necessity::Required).map(|m| m.name.clone()).collect();
    let attached: Vec<String> = c.materials.iter().map(|m| m.material.clone()).collect();
    let facts =
        yiwang_supervision::CaseFacts { case_no: &no, agency_uscc: &c.agency_uscc, required_materials: &required, attached: &attached };
    let replayed = yiwang_supervision::evaluate(&rules, facts, &events, &calendar, now);
    let mut replayed_keys: Vec<String> = replayed.iter().map(|a| a.key.clone()).collect();
    let mut kept_keys: Vec<String> =
        f.store.supervision_alerts(None, 100).await.unwrap().into_iter().filter(|a| a.case_no == no).map(|a| a.key).collect();
    replayed_keys.sort();
    kept_keys.sort();
    assert_eq!(replayed_keys, kept_keys);
    // Of one agency's cases only.
    assert!(f.store.supervision_alerts(Some(&["113301000099999999"]), 100).await.unwrap().is_empty());
    assert_eq!(f.store.supervision_alerts(Some(&[c.agency_uscc.as_str()]), 100).await.unwrap().len(), kept_keys.len());
}
on_both!(the_consumer_keeps_each_alert_once_as_a_replay_gives_it);
