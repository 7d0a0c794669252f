//! Workflow persistence on both backends: versioned deployment, an instance
//! that survives a restart in the middle and completes, running instances
//! staying on their version, and each timer firing exactly once when several
//! workers race; service-task handlers run by the worker, retried after a
//! failure, and refused at deployment when nobody registered them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use serde_json::json;
use yiwang_store::{Handler, HandlerCall, HandlerFuture, HandlerRound, Handlers, Store, StoreOptions, WorkflowError};
use yiwang_testkit::both_backends;
use yiwang_workflow::engine::{CalendarEnv, Input, Status};

/// Working days on the bundled holiday calendar, as a node counts them (no
/// holiday falls in the weeks these tests use).
static CALENDAR: std::sync::LazyLock<yiwang_calendar::Calendar> =
    std::sync::LazyLock::new(|| yiwang_calendar::Calendar::bundled().expect("the bundled calendar loads"));

fn weekdays() -> CalendarEnv<'static> {
    CalendarEnv(&CALENDAR)
}

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:yiwang="https://yiwang.example/bpmn" id="d">
  <bpmn:process id="review" name="审查" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="accept" name="受理" camunda:candidateGroups="window_clerk" />
    <bpmn:boundaryEvent id="remind" attachedToRef="accept" cancelActivity="false">
      <bpmn:timerEventDefinition yiwang:calendar="working-days"><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="reminded" />
    <bpmn:parallelGateway id="split" />
    <bpmn:userTask id="a" camunda:candidateGroups="reviewer" />
    <bpmn:userTask id="b" camunda:candidateGroups="reviewer" />
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f0" sourceRef="remind" targetRef="reminded" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="split" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="a" />
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="b" />
    <bpmn:sequenceFlow id="f5" sourceRef="a" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="join" />
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"#;

fn friday() -> Timestamp {
    "2026-11-20T09:00:00Z".parse().unwrap()
}

async fn deploy(store: &Store, text: &str) -> i64 {
    store.deploy_bpmn(text, &Handlers::default(), "editor", friday()).await.unwrap().1
}

async fn complete(store: &Store, id: &str, node: &str) {
    let task = store.open_tasks(id).await.unwrap().into_iter().find(|t| t.node == node).unwrap_or_else(|| panic!("no open {node}"));
    let wait = u64::try_from(task.wait_id).unwrap();
    store.step_workflow(id, Input::CompleteTask { wait, data: json!({ node: "ok" }) }, "staff:1", friday(), &weekdays()).await.unwrap();
}

both_backends!(an_instance_survives_a_restart_and_keeps_its_version, |db| {
    assert_eq!(deploy(&db.store, PROCESS).await, 1);
    assert_eq!(deploy(&db.store, PROCESS).await, 1, "the same text is the same version");
    let id = db.store.start_workflow("review", Some("case-1"), json!({}), friday(), &weekdays()).await.unwrap();
    let open = db.store.open_tasks(&id).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].node.as_str(), open[0].candidate_groups.clone()), ("accept", vec!["window_clerk".to_string()]));
    complete(&db.store, &id, "accept").await;
    complete(&db.store, &id, "a").await;

    // A new version is deployed meanwhile; the running instance stays on v1.
    let v2 = PROCESS.replace("name=\"审查\"", "name=\"审查（新版）\"");
    assert_eq!(deploy(&db.store, &v2).await, 2);

    // "Restart": a fresh connection pool on the same database.
    db.store.close().await;
    let store = Store::open(&db.url, &StoreOptions::default(), friday()).await.unwrap();
    let stored = store.workflow_instance(&id).await.unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(store.open_tasks(&id).await.unwrap().iter().map(|t| t.node.as_str()).collect::<Vec<_>>(), ["b"]);
    complete(&store, &id, "b").await;
    let done = store.workflow_instance(&id).await.unwrap();
    assert_eq!(done.state.status, Status::Completed);
    assert_eq!(done.state.trace, ["start", "accept", "split", "a", "b", "join", "end"]);
    assert_eq!(done.state.data["b"], "ok");
    // A second completion of the same task is refused and changes nothing.
    let again = store.step_workflow(&id, Input::CompleteTask { wait: 1, data: json!({}) }, "staff:1", friday(), &weekdays()).await;
    assert!(again.is_err());
    assert_eq!(store.workflow_instance(&id).await.unwrap().revision, done.revision);
});

both_backends!(each_timer_fires_once_when_workers_race, |db| {
    deploy(&db.store, PROCESS).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(db.store.start_workflow("review", Some(&format!("case-{i}")), json!({}), friday(), &weekdays()).await.unwrap());
    }
    // Two working days after Friday 09:00 is Tuesday 09:00: nothing is due on Monday.
    let monday: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
    assert_eq!(db.store.fire_due_timers("w0", monday, 100, &weekdays()).await.unwrap(), 0);
    let tuesday: Timestamp = "2026-11-24T09:00:00Z".parse().unwrap();
    // Four workers, each with its own pool as separate processes would have.
    let mut workers = Vec::new();
    for w in 0..4 {
        let url = db.url.clone();
        workers.push(tokio::spawn(async move {
            let store = Store::open(&url, &StoreOptions::default(), tuesday).await.unwrap();
            let n = store.fire_due_timers(&format!("w{w}"), tuesday, 100, &weekdays()).await.unwrap();
            store.close().await;
            n
        }));
    }
    let mut fired = 0;
    for w in workers {
        fired += w.await.unwrap();
    }
    assert_eq!(fired, 5, "five timers, each fired exactly once");
    for id in &ids {
        let s = db.store.workflow_instance(id).await.unwrap();
        assert_eq!(s.state.trace.iter().filter(|t| *t == "remind").count(), 1, "{:?}", s.state.trace);
        // Non-interrupting: 受理 is still open.
        assert_eq!(db.store.open_tasks(id).await.unwrap().len(), 1);
    }
    assert_eq!(db.store.fire_due_timers("w9", tuesday, 100, &weekdays()).await.unwrap(), 0);
});

const SERVICE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn" id="d">
  <bpmn:process id="lookup" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="fetch" name="调取证照" yiwang:handler="license.fetch" />
    <bpmn:exclusiveGateway id="found" default="f_ask" />
    <bpmn:userTask id="ask" name="请申请人提交" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fetch" />
    <bpmn:sequenceFlow id="f2" sourceRef="fetch" targetRef="found" />
    <bpmn:sequenceFlow id="f_end" sourceRef="found" targetRef="end"><bpmn:conditionExpression>license_no != None</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_ask" sourceRef="found" targetRef="ask" />
    <bpmn:sequenceFlow id="f3" sourceRef="ask" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"#;

/// Fails its first `fail_first` calls, then answers with a license number
/// derived from the case data.
struct FetchLicense {
    fail_first: i64,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Handler for FetchLicense {
    fn call<'a>(&'a self, _: &'a Store, call: &'a HandlerCall) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if call.attempt <= self.fail_first {
                return Err(format!("license library unreachable (attempt {})", call.attempt));
            }
            assert_eq!((call.node.as_str(), call.node_name.as_str(), call.business_key.as_deref()), ("fetch", "调取证照", Some("case-9")));
            Ok(json!({ "license_no": format!("L-{}", call.data["holder"].as_str().unwrap_or("?")) }))
        })
    }
}

both_backends!(service_tasks_run_registered_handlers_and_retry_after_failure, |db| {
    // A built-in handler this node has not enabled is refused, naming the element.
    let issuing = SERVICE.replace("license.fetch", "issue_license");
    match db.store.deploy_bpmn(&issuing, &Handlers::default(), "editor", friday()).await {
        Err(WorkflowError::Deploy(e)) => {
            assert_eq!(e.problems.iter().map(|p| (p.element.as_str(), p.reason)).collect::<Vec<_>>(), [("fetch", "unknown_handler")]);
        }
        other => panic!("deployed without its handler: {:?}", other.map(|_| ())),
    }
    assert!(db.store.workflow_definition("lookup", None).await.is_err(), "nothing deployed");
    // Any other name is an external task: it deploys, and a worker without
    // that handler leaves the call to whoever answers it from outside.
    assert_eq!(db.store.deploy_bpmn(SERVICE, &Handlers::default(), "editor", friday()).await.unwrap(), ("lookup".to_string(), 1));
    let waiting = db.store.start_workflow("lookup", Some("case-8"), json!({}), friday(), &weekdays()).await.unwrap();
    let later = friday() + jiff::SignedDuration::from_hours(1);
    assert_eq!(db.store.run_due_handlers("w0", &Handlers::default(), later, 10, &weekdays()).await.unwrap(), HandlerRound::default());
    let wait = db.store.workflow_instance(&waiting).await.unwrap().state.waits[0].id;
    let answer = Input::HandlerDone { wait, data: json!({ "license_no": "L-外部" }) };
    let done = db.store.step_workflow(&waiting, answer, "dept", later, &weekdays()).await.unwrap();
    assert_eq!((done.status, done.trace.last().map(String::as_str)), (Status::Completed, Some("end")));

    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handlers = Handlers::default();
    handlers.register("license.fetch", FetchLicense { fail_first: 1, calls: calls.clone() });
    assert_eq!(db.store.deploy_bpmn(SERVICE, &handlers, "editor", friday()).await.unwrap(), ("lookup".to_string(), 1));
    let id = db.store.start_workflow("lookup", Some("case-9"), json!({ "holder": "张三" }), friday(), &weekdays()).await.unwrap();

    // First try fails and is rescheduled: not retried before its back-off.
    let round = db.store.run_due_handlers("w1", &handlers, friday(), 10, &weekdays()).await.unwrap();
    assert_eq!(round, HandlerRound { completed: 0, failed: 1 });
    let round = db.store.run_due_handlers("w1", &handlers, friday() + jiff::SignedDuration::from_secs(1), 10, &weekdays()).await.unwrap();
    assert_eq!(round, HandlerRound::default());
    assert_eq!(db.store.workflow_instance(&id).await.unwrap().state.status, Status::Running);

    // After the back-off the second try succeeds; its answer drives the gateway.
    let later = friday() + jiff::SignedDuration::from_mins(1);
    let round = db.store.run_due_handlers("w2", &handlers, later, 10, &weekdays()).await.unwrap();
    assert_eq!(round, HandlerRound { completed: 1, failed: 0 });
    let done = db.store.workflow_instance(&id).await.unwrap().state;
    assert_eq!(done.status, Status::Completed);
    assert_eq!(done.data["license_no"], "L-张三");
    assert_eq!(done.trace, ["start", "fetch", "found", "end"]);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    // A completed call is never run again.
    assert_eq!(
        db.store.run_due_handlers("w1", &handlers, later + jiff::SignedDuration::from_hours(2), 10, &weekdays()).await.unwrap(),
        HandlerRound::default()
    );
});

both_backends!(each_handler_call_runs_once_when_workers_race, |db| {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handlers = Handlers::default();
    handlers.register("license.fetch", FetchLicense { fail_first: 0, calls: calls.clone() });
    db.store.deploy_bpmn(SERVICE, &handlers, "editor", friday()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(db.store.start_workflow("lookup", Some("case-9"), json!({ "holder": "李四" }), friday(), &weekdays()).await.unwrap());
    }
    // Four workers, each with its own connection pool, as separate processes would be.
    let mut workers = Vec::new();
    for w in 0..4 {
        let (url, handlers) = (db.url.clone(), handlers.clone());
        workers.push(tokio::spawn(async move {
            let store = Store::open(&url, &StoreOptions::default(), friday()).await.unwrap();
            let round = store.run_due_handlers(&format!("w{w}"), &handlers, friday(), 100, &weekdays()).await.unwrap();
            store.close().await;
            round.completed
        }));
    }
    let mut completed = 0;
    for w in workers {
        completed += w.await.unwrap();
    }
    assert_eq!((completed, calls.load(std::sync::atomic::Ordering::SeqCst)), (8, 8), "each call ran and completed exactly once");
    for id in &ids {
        assert_eq!(db.store.workflow_instance(id).await.unwrap().state.status, Status::Completed);
    }
});

const TIMED_CHOICE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="timed_choice" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="gw" default="f_small" />
    <bpmn:endEvent id="big" />
    <bpmn:endEvent id="small" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="gw" />
    <bpmn:sequenceFlow id="f_big" sourceRef="gw" targetRef="big"><bpmn:conditionExpression>amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="gw" targetRef="small" />
  </bpmn:process>
</bpmn:definitions>"#;

both_backends!(a_timer_whose_step_fails_is_retried_later_and_blocks_no_other, |db| {
    deploy(&db.store, TIMED_CHOICE).await;
    let broken = db.store.start_workflow("timed_choice", None, json!({}), friday(), &weekdays()).await.unwrap();
    let fine = db.store.start_workflow("timed_choice", None, json!({ "amount": 500 }), friday(), &weekdays()).await.unwrap();
    let due = friday() + jiff::SignedDuration::from_hours(1);
    // The broken instance's timer fails (amount is not defined); the other fires.
    assert_eq!(db.store.fire_due_timers("w", due, 10, &weekdays()).await.unwrap(), 1);
    assert_eq!(db.store.workflow_instance(&fine).await.unwrap().state.trace, ["start", "wait", "gw", "big"]);
    let stuck = db.store.workflow_instance(&broken).await.unwrap().state;
    assert_eq!((stuck.status, stuck.trace.clone()), (Status::Running, vec!["start".to_string()]));
    // Not retried before its back-off, retried (and failing again) after it.
    assert_eq!(db.store.fire_due_timers("w", due + jiff::SignedDuration::from_secs(1), 10, &weekdays()).await.unwrap(), 0);
    assert_eq!(db.store.fire_due_timers("w", due + jiff::SignedDuration::from_mins(1), 10, &weekdays()).await.unwrap(), 0);
    assert_eq!(db.store.workflow_instance(&broken).await.unwrap().revision, 1, "a failed step changes nothing");
});
