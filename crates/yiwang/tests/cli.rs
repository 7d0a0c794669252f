//! End-to-end tests of the `yiwang` binary, as an operator would run it.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

use common::Server;

use yiwang_store::Backend;
use yiwang_testkit::both_backends;

fn yiwang(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yiwang")).args(args).env_remove("YIWANG_CONFIG").output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn codes_prints_fields_of_a_valid_id() {
    let o = yiwang(&["codes", "11010519491231002X"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "citizen_id");
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["sex"], "female");
    assert_eq!(v["region"], "110105");
}

#[test]
fn codes_names_the_check_character() {
    let o = yiwang(&["codes", "110105194912310021"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["reason"], "check_char");
    assert_eq!(v["error"]["expected"], "X");
    assert!(String::from_utf8_lossy(&o.stderr).contains("check_char"));
}

#[test]
fn codes_detects_every_kind() {
    for (value, kind) in [
        ("91350100M000100Y43", "uscc"),
        ("330100", "division"),
        ("11370800MB285591843370117002011", "implementation_code"),
        ("12441500196720244T3442199806003202206230068", "case_no"),
        ("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F", "license_id"),
    ] {
        let o = yiwang(&["codes", value]);
        assert!(o.status.success(), "{value}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["kind"], kind, "{value}");
    }
    assert_eq!(yiwang(&["codes", "12345"]).status.code(), Some(1));
}

#[test]
fn calendar_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = yiwang(&["--data-dir", d, "calendar", "add-workdays", "2025-09-26", "20"]);
    assert_eq!(stdout(&o).trim(), "2025-10-30");
    assert!(!dir.path().join("yiwang.db").exists(), "a calculation must not create a database");
    let o = yiwang(&["--data-dir", d, "calendar", "add-workdays", "2025-03-03", "5", "--pause", "2025-03-04..2025-03-05"]);
    assert_eq!(stdout(&o).trim(), "2025-03-12");
    assert!(yiwang(&["--data-dir", d, "calendar", "is-workday", "2025-09-28"]).status.success());
    assert_eq!(yiwang(&["--data-dir", d, "calendar", "is-workday", "2025-10-08"]).status.code(), Some(1));
    let o = yiwang(&["--data-dir", d, "calendar", "add-workdays", "2031-01-01", "3"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("provisional"));
    // An admin edit lives in the database and changes answers.
    assert!(yiwang(&["--data-dir", d, "calendar", "set", "2025-10-29", "holiday", "--name", "测试"]).status.success());
    let o = yiwang(&["--data-dir", d, "calendar", "add-workdays", "2025-09-26", "20"]);
    assert_eq!(stdout(&o).trim(), "2025-10-31");
    assert_eq!(stdout(&yiwang(&["--data-dir", d, "calendar", "add-workdays", "2025-09-26", "20", "--bundled"])).trim(), "2025-10-30");
    assert!(yiwang(&["--data-dir", d, "audit", "verify"]).status.success());
    let o = yiwang(&["--data-dir", d, "exchange-log", "verify"]);
    assert!(o.status.success() && stdout(&o).contains("0 entries"), "{}", stdout(&o));
    assert_eq!(stdout(&yiwang(&["--data-dir", d, "exchange-log", "list"])), "");
    assert_eq!(yiwang(&["calendar", "add-workdays", "2025-02-30", "1"]).status.code(), Some(3));
}

#[test]
fn check_config_redacts_secrets_and_honours_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("y.toml");
    std::fs::write(&f, "listen = \"127.0.0.1:9001\"\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .args(["--config", f.to_str().unwrap(), "--database-url", "postgres://app:s3cret@db.example/yiwang", "check-config"])
        .env("YIWANG_DB__MAX_CONNECTIONS", "4")
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(!out.contains("s3cret") && out.contains("REDACTED"), "{out}");
    assert!(out.contains("127.0.0.1:9001") && out.contains("max_connections = 4"), "{out}");
    let o = yiwang(&["--config", "/nonexistent.toml", "check-config"]);
    assert_eq!(o.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_a_province_with_cities() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let s = Server::start(&["demo", "--data-dir", d.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let (status, ct, body) = s.get("/").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    assert!(body.contains("lang=\"zh-CN\"") && body.contains("浙江省") && body.contains("杭州市") && body.contains("宁波市"), "{body}");
    assert_eq!(s.get("/healthz").await.0, 200);
    s.stop();
    // A second start reuses the node instead of failing.
    let s = Server::start(&["demo", "--data-dir", d.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    assert_eq!(s.get("/readyz").await.0, 200);
    s.stop();
    assert!(yiwang(&["--data-dir", d.to_str().unwrap(), "audit", "verify"]).status.success());
}

both_backends!(serve_health_ready_metrics_and_problems, |db| {
    let token = "metrics-token-0123456789abcdef";
    let s = Server::start_with_env(
        &["--database-url", &db.url, "serve", "--listen", "127.0.0.1:0"],
        &[("YIWANG_SECURITY__METRICS_TOKEN", token)],
    );
    let (status, _, body) = s.get("/healthz").await;
    assert_eq!((status, body.contains("ok")), (200, true));
    let (status, _, body) = s.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["database"],
        match db.store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
    let (status, ct, body) = s.get("/api/v1/codes/110105194912310021").await;
    assert_eq!((status, ct.as_str()), (400, "application/problem+json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "codes.check_char");
    assert!(v["message_zh"].as_str().unwrap().contains("校验码"));
    assert!(!v["message_en"].as_str().unwrap().is_empty());
    let (status, _, body) = s.get("/api/v1/calendar/add-workdays?start=2025-09-26&n=20").await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["due"], "2025-10-30");
    assert_eq!(s.get("/api/v1/calendar/add-workdays?start=2025-13-01&n=1").await.0, 400);
    assert_eq!(s.get("/api/v1/calendar/days/2025-09-28").await.0, 200);
    assert_eq!(s.get("/no/such/page").await.0, 404);
    // Metrics are not public (issue 19, finding 14): the bearer token, or nothing.
    assert_eq!(s.get("/metrics").await.0, 401);
    let r = reqwest::Client::new().get(format!("{}/metrics", s.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let body = r.text().await.unwrap();
    assert!(body.contains("yiwang_http_requests_total") && body.contains("route=\"/readyz\""), "{body}");
    s.stop();
    // Without a token configured, /metrics is absent on the public address, and
    // served alone on the management address when one is configured.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let metrics_at = format!("127.0.0.1:{port}");
    let s = Server::start_with_env(
        &["--database-url", &db.url, "serve", "--listen", "127.0.0.1:0"],
        &[("YIWANG_SECURITY__METRICS_LISTEN", metrics_at.as_str())],
    );
    assert_eq!(s.get("/metrics").await.0, 404);
    let r = reqwest::get(format!("http://{metrics_at}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("yiwang_uptime_seconds"));
    assert_eq!(
        reqwest::get(format!("http://{metrics_at}/healthz")).await.unwrap().status(),
        404,
        "the management address serves metrics only"
    );
    s.stop();
});

/// Append four entries, check the chain verifies, drop the append-only guards (as a
/// DBA could), run `tamper`, and return what `yiwang audit verify` printed.
async fn tampered_verify(db: &yiwang_testkit::TestDb, tamper: &'static str) -> serde_json::Value {
    db.append_audit_records(4).await;
    let ok = yiwang(&["--database-url", &db.url, "audit", "verify"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    db.drop_audit_guards().await;
    sqlx::raw_sql(tamper).execute(db.store.pool()).await.unwrap();
    let bad = yiwang(&["--database-url", &db.url, "audit", "verify"]);
    assert_eq!(bad.status.code(), Some(1), "tampering not detected: {tamper}");
    let v: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    let seq = v["first_bad_seq"].as_i64().unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains(&format!("entry {seq}")));
    v
}

both_backends!(audit_verify_catches_a_modified_row, |db| {
    let v = tampered_verify(db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await;
    assert_eq!((v["first_bad_seq"].as_i64(), v["code"].as_str()), (Some(3), Some("audit.modified")));
    assert_eq!(v["entry"]["actor"], "mallory");
});

both_backends!(audit_verify_catches_a_deleted_row, |db| {
    let v = tampered_verify(db, "DELETE FROM audit_log WHERE seq = 2").await;
    assert_eq!((v["first_bad_seq"].as_i64(), v["code"].as_str()), (Some(3), Some("audit.gap")));
});

both_backends!(audit_verify_catches_reordered_rows, |db| {
    let v = tampered_verify(
        db,
        "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = -1",
    )
    .await;
    assert_eq!((v["first_bad_seq"].as_i64(), v["code"].as_str()), (Some(2), Some("audit.broken_link")));
});

/// A bad `[security]` setting stops the node before it listens (exit 3, the key named).
#[test]
fn bad_security_settings_stop_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .env_remove("YIWANG_CONFIG")
        .env("YIWANG_SECURITY__PERSONAL_DATA_LEVEL", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("security.personal_data_level"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}

/// An operator sets up what a node offers without code: agencies, a hall
/// serving two agencies, a shared data resource; a bundle whose items are not
/// published is refused with the reason. Everything is audited.
#[test]
fn an_operator_sets_up_halls_resources_and_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (uscc, name, div) in
        [("113301000025000337", "杭州市市场监督管理局", "330100"), ("113302000025000417", "宁波市市场监督管理局", "330200")]
    {
        let o = yiwang(&["--data-dir", d, "agency", "add", "--uscc", uscc, "--name", name, "--division", div, "--level", "municipal"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let hall = ["--data-dir", d, "hall", "add", "--id", "hz-smzx", "--name", "杭州市民中心", "--division", "330100"];
    let o =
        yiwang(&[&hall[..], &["--agency", "113301000025000337", "--serves", "113302000025000417", "--address", "解放东路18号"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = yiwang(&[&hall[..], &["--agency", "113301000025000337", "--serves", "91330106MA2H00014Q"]].concat());
    assert_eq!(o.status.code(), Some(2), "an agency that is not registered is refused");
    assert!(String::from_utf8_lossy(&o.stderr).contains("未登记"));
    let listed = stdout(&yiwang(&["--data-dir", d, "hall", "list"]));
    let h: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!((h["id"].as_str(), h["agencies"].as_array().map(Vec::len)), (Some("hz-smzx"), Some(2)), "{h:#}");

    let o = yiwang(&[
        "--data-dir",
        d,
        "resource",
        "add",
        "--code",
        "330100-RK-001",
        "--name",
        "户籍信息",
        "--provider",
        "113301000025000337",
        "--aliases",
        "户口簿,户口本",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed = stdout(&yiwang(&["--data-dir", d, "resource", "list"]));
    assert!(listed.contains("330100-RK-001") && listed.contains("户口簿"), "{listed}");

    let file = dir.path().join("bundle.json");
    let bundle = serde_json::json!({
        "code": "open-shop", "name": "开办小店", "division_code": "330100",
        "lead_item": "1133010000250003373000104010000",
        "items": ["1133010000250003373000104010000", "1133020000250004173000104010000"],
    });
    std::fs::write(&file, bundle.to_string()).unwrap();
    let o = yiwang(&["--data-dir", d, "bundle", "define", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "the bundle's item is not published");
    assert!(String::from_utf8_lossy(&o.stderr).contains("1133010000250003373000104010000"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&yiwang(&["--data-dir", d, "bundle", "list"])).trim().is_empty());
    assert!(yiwang(&["--data-dir", d, "audit", "verify"]).status.success());
}

// `yiwang supervision replay`: what a rule set would have flagged over stored
// history, and beside it another version; nothing is stored.
both_backends!(supervision_replay_reports_what_a_rule_set_would_have_flagged, |db| {
    use yiwang_case::{Envelope, Event};
    let now = jiff::Timestamp::now();
    yiwang_testkit::licenses::seed_issuer(&db.store, now).await;
    let doc = yiwang_testkit::licenses::publish_food_item(&db.store, false).await;
    let calendar = db.store.load_calendar().await.unwrap();
    let restaurant = yiwang_testkit::licenses::restaurant();
    let new = yiwang_store::NewCase {
        item_code: doc.implementation_code.clone(),
        applicant: yiwang_store::Applicant { id_type: "049".into(), id: restaurant.id.clone(), name: restaurant.name.clone() },
        account_id: "acc".into(),
        form: serde_json::json!({}),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L3,
        assured: true,
    };
    let record = |no: String, events: Vec<Event>| {
        let (store, calendar) = (&db.store, &calendar);
        async move {
            for event in events {
                // A return says why, as the node asks.
                let reason = if matches!(event, Event::StepReturned { .. }) { "材料需补正" } else { "" };
                let e = Envelope { at: jiff::Timestamp::now(), actor: "clerk-1".into(), reason: reason.into(), event };
                store.record_case_event(&no, &e, None, calendar).await.unwrap();
            }
        }
    };
    // Both accepted with every material missing; one returned three times at 审查.
    let accept =
        || Event::Accepted { promised_days: 20, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
    let (looped, _) = db.store.create_case(&new, now).await.unwrap();
    let mut events = vec![Event::Submitted, Event::PreReviewStarted, accept()];
    for _ in 0..3 {
        events.push(Event::StepStarted { step: "审查".into() });
        events.push(Event::StepReturned { step: "审查".into() });
    }
    record(looped.case_no, events).await;
    let (accepted, _) = db.store.create_case(&new, now).await.unwrap();
    record(accepted.case_no, vec![Event::Submitted, Event::PreReviewStarted, accept()]).await;

    let today = yiwang_calendar::china_today(jiff::Timestamp::now()).to_string();
    let dir = tempfile::tempdir().unwrap();
    let off = dir.path().join("v2.json");
    std::fs::write(&off, r#"{"version": 2, "settings": {"max_returns": 4}}"#).unwrap();
    let o = yiwang(&[
        "--database-url",
        &db.url,
        "supervision",
        "replay",
        "--since",
        &today,
        "--until",
        &today,
        "--compare",
        off.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("2 件办件"), "{out}");
    assert!(out.contains("process.return_loop（流程异常，黄牌）：1 | 0"), "{out}");
    assert!(out.contains("content.accepted_missing_materials（内容异常，黄牌）：2 | 2"), "{out}");
    let o = yiwang(&["--database-url", &db.url, "supervision", "replay", "--since", &today, "--until", &today, "--json"]);
    let alerts: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    assert!(alerts.iter().all(|a| a["alert"]["agency_uscc"] == doc.agency.uscc.as_str()));
    // A period in which nothing happened flags nothing.
    let o = yiwang(&["--database-url", &db.url, "supervision", "replay", "--since", "2020-01-01", "--until", "2020-01-31"]);
    assert!(stdout(&o).contains("0 件办件"), "{}", stdout(&o));
});

/// `[supervision] rules_file`: the node supervises with the file's rule set;
/// a file that is not one stops the node before it listens, saying so.
#[test]
fn a_bad_supervision_rule_set_stops_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.json");
    std::fs::write(&rules, r#"{"version": 3, "settings": {"max_returns": "three"}}"#).unwrap();
    let config = dir.path().join("yiwang.toml");
    std::fs::write(&config, format!("[supervision]\nrules_file = \"{}\"\n", rules.display())).unwrap();
    let data = dir.path().join("data");
    let o = yiwang(&["--config", config.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("supervision.rules_file") && err.contains("不是监察规则集"), "{err}");
}
