//! Workflow persistence on both backends: versioned deployment, an instance
//! that survives a restart in the middle and completes, running instances
//! staying on their version, and each timer firing exactly once when several
//! workers race.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use serde_json::json;
use yiwang_store::{Store, StoreOptions};
use yiwang_testkit::both_backends;
use yiwang_workflow::engine::{Env, Input, Status};

struct Weekdays;

impl Env for Weekdays {
    fn add_working_days(&self, from: Timestamp, days: u32) -> Result<Timestamp, String> {
        let mut d = from.to_zoned(jiff::tz::TimeZone::UTC);
        let mut left = days;
        while left > 0 {
            d = d.tomorrow().map_err(|e| e.to_string())?;
            if !matches!(d.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
                left -= 1;
            }
        }
        Ok(d.timestamp())
    }
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
    let def = yiwang_workflow::deploy(text, &|_| true).unwrap();
    let mut tx = store.begin().await.unwrap();
    let v = tx.deploy_workflow(&def, text, "editor", friday()).await.unwrap();
    tx.commit().await.unwrap();
    v
}

async fn complete(store: &Store, id: &str, node: &str) {
    let task = store.open_tasks(id).await.unwrap().into_iter().find(|t| t.node == node).unwrap_or_else(|| panic!("no open {node}"));
    let wait = u64::try_from(task.wait_id).unwrap();
    store.step_workflow(id, Input::CompleteTask { wait, data: json!({ node: "ok" }) }, "staff:1", friday(), &Weekdays).await.unwrap();
}

both_backends!(an_instance_survives_a_restart_and_keeps_its_version, |db| {
    assert_eq!(deploy(&db.store, PROCESS).await, 1);
    assert_eq!(deploy(&db.store, PROCESS).await, 1, "the same text is the same version");
    let id = db.store.start_workflow("review", Some("case-1"), json!({}), friday(), &Weekdays).await.unwrap();
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
    let again = store.step_workflow(&id, Input::CompleteTask { wait: 1, data: json!({}) }, "staff:1", friday(), &Weekdays).await;
    assert!(again.is_err());
    assert_eq!(store.workflow_instance(&id).await.unwrap().revision, done.revision);
});

both_backends!(each_timer_fires_once_when_workers_race, |db| {
    deploy(&db.store, PROCESS).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(db.store.start_workflow("review", Some(&format!("case-{i}")), json!({}), friday(), &Weekdays).await.unwrap());
    }
    // Two working days after Friday 09:00 is Tuesday 09:00: nothing is due on Monday.
    let monday: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
    assert_eq!(db.store.fire_due_timers("w0", monday, 100, &Weekdays).await.unwrap(), 0);
    let tuesday: Timestamp = "2026-11-24T09:00:00Z".parse().unwrap();
    // Four workers, each with its own pool as separate processes would have.
    let mut workers = Vec::new();
    for w in 0..4 {
        let url = db.url.clone();
        workers.push(tokio::spawn(async move {
            let store = Store::open(&url, &StoreOptions::default(), tuesday).await.unwrap();
            let n = store.fire_due_timers(&format!("w{w}"), tuesday, 100, &Weekdays).await.unwrap();
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
    assert_eq!(db.store.fire_due_timers("w9", tuesday, 100, &Weekdays).await.unwrap(), 0);
});
