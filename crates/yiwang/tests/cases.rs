//! Nothing acknowledged is lost: applications are submitted to a running node
//! under load, the node is killed with SIGKILL in the middle, and every
//! application the node had acknowledged (201 for the draft, 200 for the
//! submission) is in the database afterwards, in that state; the node then
//! starts again on the same database. Both backends.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;
use yiwang_case::State;
use yiwang_testkit::both_backends;

both_backends!(sigkill_during_submissions_loses_no_acknowledged_application, |db| {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = Server::start(&["--database-url", &db.url, "--data-dir", data, "demo", "--listen", "127.0.0.1:0"]);
    // A logged-in session for the demo citizen 张三, made directly in the database.
    let account = db.store.account_by_citizen_id("33010619900101123X").await.unwrap().expect("demo citizen");
    let mut tx = db.store.begin().await.unwrap();
    let session = tx.create_session(&account.id, "pwd", &Default::default(), jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    // An item for persons whose required materials 张三's e-licenses and shared data cover (data a
    // resource described on this node gives, under the demo's grants), so that a submission needs no upload.
    let held: Vec<String> = db.store.licenses_of("111", &account.citizen_id).await.unwrap().into_iter().map(|l| l.type_code).collect();
    let described: Vec<String> = db.store.described_resources().await.unwrap().into_iter().map(|r| r.code).collect();
    let item = db
        .store
        .published_items()
        .await
        .unwrap()
        .into_iter()
        .find(|i| {
            i.doc.legal_limit.amount > 0
                && i.doc.for_natural_persons()
                && i.doc.materials.iter().all(|m| match &m.source {
                    yiwang_catalog::MaterialSource::Shared { resource } => described.contains(resource),
                    yiwang_catalog::MaterialSource::License { license_type } => held.contains(license_type),
                    yiwang_catalog::MaterialSource::Applicant => false,
                })
        })
        .unwrap()
        .doc
        .implementation_code;

    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let cookie = format!("yiwang_session={}", session.token);
    // (case number, submitted acknowledged)
    let acked: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut clients = Vec::new();
    for c in 0..6 {
        let (http, cookie, csrf, base, item, acked) =
            (http.clone(), cookie.clone(), session.csrf.clone(), server.base.clone(), item.clone(), acked.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            // Until the node is gone (or a bound on time, so a broken kill cannot hang the test).
            while Instant::now() < deadline {
                n += 1;
                let form = serde_json::json!({ "applicant_name": "张三", "contact_phone": "13800138000", "remark": format!("{c}-{n}") });
                let body = serde_json::json!({ "item_code": item, "form": form });
                let sent = http
                    .post(format!("{base}/api/v1/cases"))
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .json(&body)
                    .send()
                    .await;
                let Ok(resp) = sent else { break };
                if resp.status().as_u16() != 201 {
                    break;
                }
                let Ok(v) = resp.json::<serde_json::Value>().await else { break };
                let no = v["case"]["case_no"].as_str().unwrap().to_string();
                acked.lock().unwrap().push((no.clone(), false));
                let submitted = http
                    .post(format!("{base}/api/v1/cases/{no}/submit"))
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .send()
                    .await;
                match submitted {
                    Ok(r) if r.status().as_u16() == 200 => {
                        if r.bytes().await.is_ok() {
                            acked.lock().unwrap().push((no, true));
                        }
                    }
                    _ => break,
                }
            }
        }));
    }
    // Let the load run, then kill the node without warning.
    while acked.lock().unwrap().len() < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 150, "the load made too few applications: {}", acked.len());

    for (no, submitted) in &acked {
        let case = db.store.case(no).await.unwrap_or_else(|e| panic!("acknowledged case {no} lost: {e}"));
        if *submitted {
            assert_eq!(case.state, State::Submitted, "{no}: acknowledged submission lost");
            assert_eq!(db.store.case_events(no).await.unwrap().len(), 1);
        }
    }
    // The node starts again on the same database and serves the cases.
    let again = Server::start(&["--database-url", &db.url, "--data-dir", data, "serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(again.get("/readyz").await.0, 200);
    let (no, _) = &acked[0];
    let r = http.get(format!("{}/api/v1/cases/{no}", again.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    again.stop();
});
