//! The node's workflow worker with the built-in handlers, on both backends:
//! a due timer fires, `record` writes the audit chain, `notify` queues a
//! message in the outbox, and the instance completes; a `notify` without a
//! recipient is retried, not lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use yiwang_testkit::both_backends;
use yiwang_web::workflow::{builtin_handlers, work_once};
use yiwang_workflow::engine::Status;

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn" id="d">
  <bpmn:process id="publicity" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="log_start" name="登记公示" yiwang:handler="record" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT0S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="tell" name="公示期满" yiwang:handler="notify" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="log_start" />
    <bpmn:sequenceFlow id="f2" sourceRef="log_start" targetRef="wait" />
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="tell" />
    <bpmn:sequenceFlow id="f4" sourceRef="tell" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"#;

both_backends!(the_worker_fires_timers_and_runs_builtin_handlers, |db| {
    let handlers = builtin_handlers();
    let now = jiff::Timestamp::now();
    db.store.deploy_bpmn(PROCESS, &handlers, "admin", now).await.unwrap();
    let env = yiwang_workflow::engine::CalendarEnv(&db.store.load_calendar().await.unwrap());
    let notify = json!({ "notify": { "channel": "sms", "recipient": "13800000000" } });
    let ok = db.store.start_workflow("publicity", Some("330100-2026-000001"), notify, now, &env).await.unwrap();
    let stuck = db.store.start_workflow("publicity", Some("330100-2026-000002"), json!({}), now, &env).await.unwrap();
    let outbox_before = db.store.outbox_pending().await.unwrap();

    // Each pass moves every instance as far as it can go: record, then the timer, then notify.
    for _ in 0..3 {
        work_once(&db.store, &handlers, "test-worker").await.unwrap();
    }
    let done = db.store.workflow_instance(&ok).await.unwrap().state;
    assert_eq!(done.status, Status::Completed, "{done:?}");
    assert_eq!(done.trace, ["start", "log_start", "wait", "tell", "end"]);
    assert_eq!(db.store.outbox_pending().await.unwrap(), outbox_before + 1, "one progress message queued");
    let audit = db.store.audit_page(0, 10_000).await.unwrap();
    assert_eq!(audit.entries.iter().filter(|e| e.record.action == "workflow.recorded").count(), 2);

    // No recipient in the case data: the call stays open for a retry, the instance waits.
    let waiting = db.store.workflow_instance(&stuck).await.unwrap().state;
    assert_eq!(waiting.status, Status::Running);
    assert_eq!(waiting.trace, ["start", "log_start", "wait"]);
});
