//! The node's workflow worker with the built-in handlers, on both backends:
//! a due timer fires, `record` writes the audit chain, `notify` queues a
//! message in the outbox, and the instance completes; a `notify` without a
//! recipient is retried, not lost.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    let half = json!({ "notify": { "channel": "sms" } });
    let stuck = db.store.start_workflow("publicity", Some("330100-2026-000002"), half, now, &env).await.unwrap();
    let nobody = db.store.start_workflow("publicity", Some("330100-2026-000003"), json!({}), now, &env).await.unwrap();
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
    assert_eq!(audit.entries.iter().filter(|e| e.record.action == "workflow.recorded").count(), 3);
    // No notify data and no case account to tell: nobody is told, and the process is not held up.
    let told = db.store.workflow_instance(&nobody).await.unwrap().state;
    assert_eq!((told.status, &told.data["notified"]), (Status::Completed, &json!(false)), "{told:?}");

    // A notify object without its recipient: the call stays open for a retry, the instance waits.
    let waiting = db.store.workflow_instance(&stuck).await.unwrap().state;
    assert_eq!(waiting.status, Status::Running);
    assert_eq!(waiting.trace, ["start", "log_start", "wait"]);
});

const ISSUING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn" id="d">
  <bpmn:process id="food_permit" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="issue" name="办结出证" yiwang:handler="issue_license" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="issue" />
    <bpmn:sequenceFlow id="f2" sourceRef="issue" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"#;

// A case that ends in a license issues it: the license carries the case
// number, and a retried call issues no second version.
both_backends!(a_process_issues_its_license_once, |db| {
    use yiwang_store::{Handler, HandlerCall};
    use yiwang_testkit::licenses::{new_license, restaurant, seed_issuer, type_code};
    let now = jiff::Timestamp::now();
    seed_issuer(&db.store, now).await;
    // Without a master key the node cannot seal, so it does not know the handler.
    let refused = db.store.deploy_bpmn(ISSUING, &builtin_handlers(), "admin", now).await;
    assert!(refused.is_err());
    let master = yiwang_crypto::seal::MasterKey::generate();
    let identity = yiwang_web::IdentityRuntime::new(&yiwang_web::IdentitySettings::default(), "127.0.0.1:1");
    let state = yiwang_web::AppState::new(db.store.clone(), identity).with_master_key(master);
    let handlers = state.handlers().clone();
    db.store.deploy_bpmn(ISSUING, &handlers, "admin", now).await.unwrap();
    let env = yiwang_workflow::engine::CalendarEnv(&db.store.load_calendar().await.unwrap());
    let license = serde_json::to_value(new_license("JY13301020000021", restaurant())).unwrap();
    let case = "330100-2026-000021";
    let id = db.store.start_workflow("food_permit", Some(case), json!({ "license": license }), now, &env).await.unwrap();
    work_once(&db.store, &handlers, "test-worker").await.unwrap();
    let done = db.store.workflow_instance(&id).await.unwrap().state;
    assert_eq!(done.status, Status::Completed, "{done:?}");
    let issued = db.store.license_for_case(&type_code(), case).await.unwrap().expect("issued");
    assert_eq!(done.data["license_id"], issued.id.as_str());
    assert_eq!((issued.case_no.as_deref(), issued.holder.id.as_str(), issued.version), (Some(case), restaurant().id.as_str(), 1));
    let verdict =
        db.store.verify_license(yiwang_store::Presented::Sealed(issued.sealed.clone()), jiff::civil::date(2026, 6, 1)).await.unwrap();
    assert!(verdict.ok, "{verdict:?}");

    // The same call again (a retry after a crash between issuing and completing).
    let again = HandlerCall {
        instance_id: id.clone(),
        business_key: Some(case.into()),
        wait_id: 0,
        node: "issue".into(),
        node_name: "办结出证".into(),
        handler: "issue_license".into(),
        attempt: 2,
        data: json!({ "license": license }),
    };
    let handler = yiwang_web::workflow::IssueLicense::new(&yiwang_crypto::seal::MasterKey::generate()).unwrap();
    let out = handler.call(&db.store, &again).await.unwrap();
    assert_eq!(out["license_id"], issued.id.as_str());
    assert_eq!(db.store.licenses_of("049", &restaurant().id).await.unwrap().len(), 1);
});
