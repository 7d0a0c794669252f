//! Notices leave a running node by real mail and a real HTTP SMS gateway: the
//! node is configured (as an operator would, in its TOML file) with an SMTP
//! server that requires STARTTLS and authentication (Python aiosmtpd, with a
//! private CA) and an SMS gateway that checks each request's signature with the
//! Standard Webhooks reference library and fails the first try of each message.
//! A case's 受理 and 不予受理 then arrive in both, in Chinese. Both backends.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, free_port, make_certificates, start_peer, wait_for};
use yiwang_testkit::both_backends;

const SMS_SECRET: &str = "whsec_c21zLWdhdGV3YXktc2VjcmV0LWZvci10ZXN0cw==";

both_backends!(notices_arrive_by_smtp_and_the_sms_gateway, |db| {
    let dir = tempfile::tempdir().unwrap();
    let (mail, sms) = (dir.path().join("mail"), dir.path().join("sms"));
    std::fs::create_dir_all(&mail).unwrap();
    std::fs::create_dir_all(&sms).unwrap();
    make_certificates(dir.path());
    let (smtp_port, sms_port) = (free_port(), free_port());
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let _smtp = start_peer(
        "smtp_server.py",
        &[&smtp_port.to_string(), &p("smtp.pem"), &p("smtp.key"), "yiwang-node", "mail-pass-2026", mail.to_str().unwrap()],
    );
    let _gateway = start_peer("sms_gateway.py", &[&sms_port.to_string(), SMS_SECRET, sms.to_str().unwrap(), "1"]);
    let config = dir.path().join("yiwang.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[security]
# The SMS gateway of this test runs on loopback: an operator's exception.
outbound_allow = ["127.0.0.1/32"]

[messaging.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
username = "yiwang-node"
from = "杭州市政务服务 <noreply@zwfw.example.cn>"
ca_file = "{ca}"

[messaging.sms_http]
url = "http://127.0.0.1:{sms_port}/send"
secret = "{SMS_SECRET}"
sender = "【杭州政务服务】"
"#,
            ca = p("ca.pem"),
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with_env(
        &[
            "--config",
            config.to_str().unwrap(),
            "--database-url",
            &db.url,
            "--data-dir",
            data.to_str().unwrap(),
            "demo",
            "--listen",
            "127.0.0.1:0",
        ],
        // The password from the environment, as the operator guide advises.
        &[("YIWANG_MESSAGING__SMTP__PASSWORD", "mail-pass-2026")],
    );

    // An applicant with a verified email and phone, and two applications of a demo item.
    let store = &db.store;
    let now = jiff::Timestamp::now();
    let body17 = "33010619930505567";
    let citizen_id = format!("{body17}{}", yiwang_codes::citizen_check_char(body17).unwrap());
    let mut tx = store.begin().await.unwrap();
    let account = tx
        .create_account(
            &yiwang_store::NewAccount {
                citizen_id: citizen_id.clone(),
                name: "孔七".into(),
                phone: Some("13900001234".into()),
                email: Some("kongqi@example.cn".into()),
                password_hash: None,
                level: yiwang_identity::RealNameLevel::L2,
                level_source: "test".into(),
                status: yiwang_store::AccountStatus::Active,
            },
            "t",
            now,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let item = store.published_items().await.unwrap().into_iter().find(|i| i.doc.for_natural_persons()).unwrap().doc;
    let calendar = store.load_calendar().await.unwrap();
    let env = |event: yiwang_case::Event, reason: &str| yiwang_case::Envelope {
        at: jiff::Timestamp::now(),
        actor: account.id.clone(),
        reason: reason.into(),
        event,
    };
    let mut cases = Vec::new();
    for _ in 0..2 {
        let new = yiwang_store::NewCase {
            item_code: item.implementation_code.clone(),
            applicant: yiwang_store::Applicant { id_type: "111".into(), id: citizen_id.clone(), name: "孔七".into() },
            account_id: account.id.clone(),
            form: serde_json::json!({}),
            hall_id: None,
            level: yiwang_identity::RealNameLevel::L2,
            assured: true,
        };
        let (c, _) = store.create_case(&new, now).await.unwrap();
        store.record_case_event(&c.case_no, &env(yiwang_case::Event::Submitted, ""), None, &calendar).await.unwrap();
        cases.push(c.case_no);
    }
    let accepted = yiwang_case::Event::Accepted {
        promised_days: 5,
        legal_days: 20,
        pending: vec![],
        commitment_check_days: 0,
        units: Default::default(),
    };
    store.record_case_event(&cases[0], &env(accepted, ""), None, &calendar).await.unwrap();
    let refused = yiwang_case::Event::NotAccepted { legal_basis: "《中华人民共和国行政许可法》第三十二条".into() };
    store.record_case_event(&cases[1], &env(refused, "申请事项不属于本机关职权范围"), None, &calendar).await.unwrap();

    // The mail server received both, over TLS, from the authenticated node, readable in Chinese.
    let mails = wait_for(&mail, 2, |m| m["rcpt_tos"] == serde_json::json!(["kongqi@example.cn"]));
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let by_case = |no: &str| mails.iter().find(|m| m["body"].as_str().unwrap().contains(no)).unwrap_or_else(|| panic!("{no}: {mails:#?}"));
    let m = by_case(&cases[0]);
    assert_eq!((m["tls"].as_bool(), m["user"].as_str()), (Some(true), Some("yiwang-node")), "{m:#}");
    assert!(m["subject"].as_str().unwrap().contains("已受理") && m["subject"].as_str().unwrap().contains(&item.name), "{m:#}");
    assert!(m["body"].as_str().unwrap().contains("承诺 5 个工作日内办结"), "{m:#}");
    assert!(m["from"].as_str().unwrap().contains("noreply@zwfw.example.cn"), "{m:#}");
    assert!(m["message_id"].as_str().unwrap().ends_with("@yiwang>"), "{m:#}");
    let m = by_case(&cases[1]);
    assert!(m["subject"].as_str().unwrap().contains("不予受理"), "{m:#}");
    assert!(
        m["body"].as_str().unwrap().contains("申请事项不属于本机关职权范围") && m["body"].as_str().unwrap().contains("第三十二条"),
        "{m:#}"
    );

    // The gateway accepted both texts (each after one refused try), signatures checked.
    let texts = wait_for(&sms, 2, |m| m["to"] == "13900001234");
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(texts.iter().all(|t| t["sender"] == "【杭州政务服务】"), "{texts:#?}");
    assert!(texts.iter().any(|t| t["text"].as_str().unwrap().contains(&format!("您的办件{}", cases[0]))), "{texts:#?}");
    // And the node's outbox holds nothing undelivered for them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.outbox_pending().await.unwrap() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(store.outbox_pending().await.unwrap(), 0);
    server.stop();
});
