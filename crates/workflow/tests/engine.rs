//! The engine on the Camunda Modeler style file: parallel review with a
//! countersign, a subprocess waiting for a message, an exclusive decision with
//! a default, a timer, a terminate end, and boundary timers in working days.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use serde_json::json;
use yiwang_workflow::engine::{CalendarEnv, Effect, Env, Input, Instance, Status, WaitKind, start, step};
use yiwang_workflow::{Definition, deploy};

/// Working days on the bundled holiday calendar, as a node counts them (no
/// holiday falls in the weeks these tests use).
static CALENDAR: std::sync::LazyLock<yiwang_calendar::Calendar> =
    std::sync::LazyLock::new(|| yiwang_calendar::Calendar::bundled().expect("the bundled calendar loads"));

fn weekdays() -> CalendarEnv<'static> {
    CalendarEnv(&CALENDAR)
}

fn def() -> Definition {
    let text = std::fs::read_to_string(format!("{}/tests/bpmn/approval.bpmn", env!("CARGO_MANIFEST_DIR"))).unwrap();
    deploy(&text, &|h| h == "notify").unwrap()
}

fn friday() -> Timestamp {
    "2026-11-20T09:00:00Z".parse().unwrap()
}

fn open_tasks(i: &Instance, node: &str) -> Vec<u64> {
    i.waits.iter().filter(|w| w.node == node && matches!(w.kind, WaitKind::Task { .. })).map(|w| w.id).collect()
}

fn complete(d: &Definition, i: Instance, node: &str, data: serde_json::Value) -> Instance {
    let wait = *open_tasks(&i, node).first().unwrap_or_else(|| panic!("no open task {node}: {:?}", i.waits));
    step(d, &i, Input::CompleteTask { wait, data }, friday(), &weekdays()).unwrap().0
}

#[test]
fn parallel_review_countersign_subprocess_decision_and_timer() {
    let d = def();
    let (i, effects) = start(&d, json!({}), friday(), &weekdays()).unwrap();
    assert_eq!(i.trace, ["start"]);
    assert!(effects.iter().any(
        |e| matches!(e, Effect::TaskCreated { node, candidate_groups, .. } if node == "accept" && candidate_groups == &["window_clerk"])
    ));
    // The working-day reminder on 受理: 2 working days after Friday is Tuesday.
    let due = effects
        .iter()
        .find_map(|e| match e {
            Effect::TimerScheduled { node, due, .. } if node == "accept_overdue" => Some(*due),
            _ => None,
        })
        .unwrap();
    assert_eq!(due.to_string(), "2026-11-24T09:00:00Z");

    let i = complete(&d, i, "accept", json!({}));
    // The reminder is gone with the task; the parallel branches are open.
    assert!(!i.waits.iter().any(|w| w.node == "accept_overdue"));
    assert_eq!(open_tasks(&i, "countersign").len(), 3, "{:?}", i.waits);
    let i = complete(&d, i, "review_food", json!({}));
    let i = complete(&d, i, "countersign", json!({}));
    let i = complete(&d, i, "countersign", json!({}));
    let i = complete(&d, i, "review_fire", json!({}));
    let i = complete(&d, i, "countersign", json!({ "score": 75 }));
    assert_eq!(i.status, Status::Running);
    // The subprocess still waits for its message; the join waits for it.
    let (i, _) =
        step(&d, &i, Input::Message { name: "payment_received".into(), data: json!({ "approved": true }) }, friday(), &weekdays()).unwrap();
    assert!(
        i.trace.ends_with(&["wait_report".to_string(), "sc_end".into(), "site_check".into(), "join".into(), "decide".into()]),
        "{:?}",
        i.trace
    );
    let timer = i.waits.iter().find(|w| w.node == "cooling").unwrap();
    let WaitKind::Timer { due, .. } = timer.kind else { panic!() };
    assert_eq!(due.to_string(), "2026-11-25T09:00:00Z", "P5D in natural time");
    let (i, effects) = step(&d, &i, Input::TimerFired { wait: timer.id }, due, &weekdays()).unwrap();
    assert_eq!(i.status, Status::Completed);
    assert_eq!(effects.last(), Some(&Effect::Finished { status: Status::Completed }));
    assert_eq!(i.trace.last().map(String::as_str), Some("granted"));
    assert!(i.waits.is_empty() && i.parked.is_empty() && i.frames.is_empty());
}

#[test]
fn the_default_flow_and_a_terminate_end_cancel_everything() {
    let d = def();
    let (i, _) = start(&d, json!({}), friday(), &weekdays()).unwrap();
    let mut i = complete(&d, i, "accept", json!({}));
    for node in ["review_food", "review_fire", "countersign", "countersign", "countersign"] {
        i = complete(&d, i, node, json!({ "approved": false, "score": 90 }));
    }
    let (i, effects) = step(&d, &i, Input::Message { name: "payment_received".into(), data: json!({}) }, friday(), &weekdays()).unwrap();
    assert_eq!(i.status, Status::Terminated);
    assert_eq!(i.trace.last().map(String::as_str), Some("refused"));
    assert!(effects.contains(&Effect::Finished { status: Status::Terminated }));
    // Nothing more can happen to it.
    assert!(step(&d, &i, Input::TimerFired { wait: 1 }, friday(), &weekdays()).is_err());
}

#[test]
fn a_non_interrupting_boundary_timer_runs_beside_the_task() {
    let d = def();
    let (i, effects) = start(&d, json!({}), friday(), &weekdays()).unwrap();
    let timer = effects
        .iter()
        .find_map(|e| match e {
            Effect::TimerScheduled { wait, .. } => Some(*wait),
            _ => None,
        })
        .unwrap();
    let (i, effects) = step(&d, &i, Input::TimerFired { wait: timer }, friday(), &weekdays()).unwrap();
    let call = effects
        .iter()
        .find_map(|e| match e {
            Effect::CallHandler { wait, handler, .. } => Some((*wait, handler.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(call.1, "notify");
    assert_eq!(open_tasks(&i, "accept").len(), 1, "the task stays open");
    let (i, _) = step(&d, &i, Input::HandlerDone { wait: call.0, data: json!({ "reminded": true }) }, friday(), &weekdays()).unwrap();
    assert_eq!(i.trace, ["start", "accept_overdue", "remind", "remind_end"]);
    assert_eq!(i.status, Status::Running);
    assert_eq!(i.data["reminded"], true);
    // A wrong input changes nothing and says so.
    assert!(step(&d, &i, Input::CompleteTask { wait: 999, data: json!({}) }, friday(), &weekdays()).is_err());
}

#[test]
fn an_instance_round_trips_through_json() {
    let d = def();
    let (i, _) = start(&d, json!({ "x": 1 }), friday(), &weekdays()).unwrap();
    let i = complete(&d, i, "accept", json!({}));
    let stored = serde_json::to_string(&i).unwrap();
    let back: Instance = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, i);
}

#[test]
fn simulate_runs_to_the_end_with_the_given_decisions() {
    let d = def();
    let mut decisions = serde_json::Map::new();
    decisions.insert("countersign".into(), json!([{ "score": 50 }, { "score": 60 }, { "score": 70 }]));
    decisions.insert("wait_report".into(), json!({ "approved": true }));
    let sim = yiwang_workflow::engine::simulate(&d, json!({}), &decisions, &[], friday(), &weekdays()).unwrap();
    assert_eq!(sim.status, Status::Completed);
    assert_eq!(sim.data["score"], 70, "the last countersign's data wins");
    assert_eq!(sim.trace.first().map(String::as_str), Some("start"));
    assert_eq!(sim.trace.last().map(String::as_str), Some("granted"));
    assert_eq!(sim.trace.iter().filter(|t| *t == "countersign").count(), 1, "a multi-instance task completes once");
    assert_eq!(sim.ended_at.to_string(), "2026-11-25T09:00:00Z", "time jumped to the 公示期 timer");
    // Without approval the default flow ends it.
    decisions.insert("wait_report".into(), json!({ "approved": false }));
    let sim = yiwang_workflow::engine::simulate(&d, json!({}), &decisions, &[], friday(), &weekdays()).unwrap();
    assert_eq!((sim.status, sim.trace.last().map(String::as_str)), (Status::Terminated, Some("refused")));
}

/// Across the 2026 National Day holiday: a 2-working-day timer set on
/// 2026-09-30 fires on 2026-10-09 (10-01…10-07 are holidays, so the working
/// days counted are 10-08 and 10-09).
#[test]
fn a_working_day_timer_fires_on_the_right_day_across_a_holiday() {
    let cal = yiwang_calendar::Calendar::bundled().unwrap();
    let env = yiwang_workflow::engine::CalendarEnv(&cal);
    let from: Timestamp = "2026-09-30T07:00:00Z".parse().unwrap(); // 15:00 in Beijing
    let due = env.add_working_days(from, 2).unwrap();
    let expected = cal.add_workdays(jiff::civil::date(2026, 9, 30), 2).unwrap().value;
    assert_eq!(due.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date(), expected);
    assert_eq!(due.to_string(), format!("{expected}T07:00:00Z"));
    assert_eq!(expected, jiff::civil::date(2026, 10, 9));
}

#[test]
fn terminating_from_outside_cancels_every_task_and_timer() {
    let d = def();
    let (i, _) = start(&d, json!({}), friday(), &weekdays()).unwrap();
    let i = complete(&d, i, "accept", json!({}));
    let open = i.waits.len();
    assert!(open > 1, "{:?}", i.waits);
    let (done, effects) = step(&d, &i, Input::Terminate, friday(), &weekdays()).unwrap();
    assert_eq!(done.status, Status::Terminated);
    assert!(done.waits.is_empty(), "{:?}", done.waits);
    assert!(effects.iter().any(|e| matches!(e, Effect::Finished { status: Status::Terminated })));
    let cancelled = effects.iter().filter(|e| matches!(e, Effect::TaskCancelled { .. } | Effect::TimerCancelled { .. })).count();
    assert!(cancelled >= 3, "{effects:?}");
    // A terminated instance takes no more input.
    assert!(step(&d, &done, Input::Terminate, friday(), &weekdays()).is_err());
}

#[test]
fn paused_timers_stand_still_and_resume_later_by_the_pause() {
    let d = def();
    let (i, _) = start(&d, json!({}), friday(), &weekdays()).unwrap();
    let due_of = |i: &Instance| {
        i.waits
            .iter()
            .find_map(|w| match w.kind {
                WaitKind::Timer { due, .. } if w.node == "accept_overdue" => Some(due),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(due_of(&i).to_string(), "2026-11-24T09:00:00Z", "two working days after Friday");
    let (paused, effects) = step(&d, &i, Input::PauseTimers, friday(), &weekdays()).unwrap();
    assert_eq!(paused.paused_at, Some(friday()));
    assert!(effects.iter().any(|e| matches!(e, Effect::TimerPaused { .. })), "{effects:?}");
    // Pausing again changes nothing.
    assert!(step(&d, &paused, Input::PauseTimers, friday(), &weekdays()).unwrap().1.is_empty());
    // Resumed the next Wednesday: Monday to Wednesday (three working days) were stopped.
    let wednesday: Timestamp = "2026-11-25T09:00:00Z".parse().unwrap();
    let (resumed, effects) = step(&d, &paused, Input::ResumeTimers, wednesday, &weekdays()).unwrap();
    assert_eq!(resumed.paused_at, None);
    assert_eq!(due_of(&resumed).to_string(), "2026-11-27T09:00:00Z");
    assert!(effects.iter().any(|e| matches!(e, Effect::TimerRescheduled { due, .. } if due.to_string() == "2026-11-27T09:00:00Z")));
    // The state round-trips, and an old state without the field still reads.
    let text = serde_json::to_string(&resumed).unwrap();
    assert!(!text.contains("paused_at"));
    let back: Instance = serde_json::from_str(&text).unwrap();
    assert_eq!(back, resumed);
}
