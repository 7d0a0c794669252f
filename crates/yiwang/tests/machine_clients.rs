//! Department systems call the integration API as themselves (issue 20): an
//! operator registers two machine clients of 杭州市市场监督管理局 with
//! `yiwang client add` (one with a secret, one with an ES256 public key), and
//! an off-the-shelf OAuth 2.0 client (Python Authlib) gets tokens by the client
//! credentials grant with `client_secret_basic` and with `private_key_jwt`,
//! records a case's acceptance, and is refused everywhere else. A replayed,
//! misaddressed or expired assertion, a wrong secret or a wider scope gets no
//! token; revoking a client ends its tokens. Both backends.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::Server;
use serde_json::{Value, json};
use yiwang_testkit::both_backends;

fn yiwang(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_yiwang")).args(args).env_remove("YIWANG_CONFIG").output().unwrap()
}

fn peer() -> String {
    format!("{}/../../tests/peers/machine_client_authlib.py", env!("CARGO_MANIFEST_DIR"))
}

/// `yiwang client add …` against the node's database: its JSON answer.
fn add_client(db_url: &str, data: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--database-url", db_url, "--data-dir", data, "client", "add", "--agency"];
    args.extend_from_slice(extra);
    let o = yiwang(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap()
}

both_backends!(department_systems_call_the_integration_api_as_themselves, |db| {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = Server::start(&["--database-url", &db.url, "--data-dir", data, "demo", "--listen", "127.0.0.1:0"]);
    let store = &db.store;
    let agency = store.agencies().await.unwrap().into_iter().find(|a| a.name == "杭州市市场监督管理局").unwrap().uscc;

    // The operator registers the clients; the key pair is the department's own.
    let keygen = Command::new("python3").arg(peer()).arg("keygen").arg(dir.path()).output().unwrap();
    assert!(keygen.status.success(), "{}", String::from_utf8_lossy(&keygen.stderr));
    let basic = add_client(&db.url, data, &[&agency, "--name", "市场监管审批系统"]);
    let jwks = dir.path().join("jwks.json");
    let signed = add_client(&db.url, data, &[&agency, "--name", "市场监管审批系统（密钥签名）", "--jwks", jwks.to_str().unwrap()]);
    let (basic_id, secret) = (basic["client_id"].as_str().unwrap(), basic["client_secret"].as_str().unwrap());
    let signed_id = signed["client_id"].as_str().unwrap();
    assert_eq!((signed["auth_method"].as_str(), signed["client_secret"].as_str()), (Some("private_key_jwt"), None), "{signed}");
    // A private key is refused as a client's key.
    let private = dir.path().join("private.json");
    std::fs::write(dir.path().join("leaked.json"), format!("{{\"keys\": [{}]}}", std::fs::read_to_string(&private).unwrap())).unwrap();
    let leaked = dir.path().join("leaked.json");
    let o = yiwang(&[
        "--database-url",
        &db.url,
        "--data-dir",
        data,
        "client",
        "add",
        "--agency",
        &agency,
        "--name",
        "y",
        "--jwks",
        leaked.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("private"), "{}", String::from_utf8_lossy(&o.stderr));

    // A submitted application of the agency's, for the department system to accept.
    let item = store
        .published_items()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.doc.agency.uscc == agency && i.doc.for_natural_persons())
        .unwrap()
        .doc;
    let person = store.account_by_login("13800000001").await.unwrap().unwrap(); // 张三, L2
    let now = jiff::Timestamp::now();
    let new = yiwang_store::NewCase {
        item_code: item.implementation_code.clone(),
        applicant: yiwang_store::Applicant { id_type: "111".into(), id: person.citizen_id.clone(), name: "张三".into() },
        account_id: person.id.clone(),
        form: json!({}),
        hall_id: None,
        level: person.level,
        assured: true,
    };
    let (c, _) = store.create_case(&new, now).await.unwrap();
    let calendar = store.load_calendar().await.unwrap();
    let submitted =
        yiwang_case::Envelope { at: now, actor: person.id.clone(), reason: String::new(), event: yiwang_case::Event::Submitted };
    store.record_case_event(&c.case_no, &submitted, None, &calendar).await.unwrap();

    let out = Command::new("python3")
        .arg(peer())
        .arg("run")
        .env("BASE", &server.base)
        .env("BASIC_ID", basic_id)
        .env("BASIC_SECRET", secret)
        .env("JWT_ID", signed_id)
        .env("PRIVATE_KEY", &private)
        .env("CASE_NO", &c.case_no)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the Authlib client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["discovery"], true, "{v:#}");
    assert_eq!(v["basic_token"]["scope"], "integration", "{v:#}");
    assert_eq!(v["basic_token"]["token_type"], "Bearer", "{v:#}");
    assert_eq!((v["basic_hooks"].as_u64(), v["jwt_hooks"].as_u64()), (Some(200), Some(200)), "{v:#}");
    assert_eq!(v["record"]["status"], 201, "{v:#}");
    assert_eq!(v["record"]["body"]["state"], "accepted", "{v:#}");
    assert_eq!((v["other_route"].as_u64(), v["garbage_token"].as_u64()), (Some(401), Some(401)), "{v:#}");
    assert_eq!(v["wrong_secret"], json!([401, "invalid_client"]), "{v:#}");
    assert_eq!(v["wider_scope"], json!([400, "invalid_scope"]), "{v:#}");
    assert_eq!(v["replay"], json!([[200, null], [401, "invalid_client"]]), "{v:#}");
    assert_eq!(v["other_audience"], json!([401, "invalid_client"]), "{v:#}");
    assert_eq!(v["expired"], json!([401, "invalid_client"]), "{v:#}");

    // The acceptance names the client as its actor, and every token issued is audited.
    let events = store.case_events(&c.case_no).await.unwrap();
    assert_eq!(events.last().unwrap().actor, format!("client:{basic_id}"));
    let audit = store.audit_page(0, 10_000).await.unwrap().entries;
    let issued = |id: &str| audit.iter().filter(|e| e.record.action == "machine_client.token_issued" && e.record.object_id == id).count();
    assert_eq!((issued(basic_id), issued(signed_id)), (1, 2), "one basic token; Authlib's and the first of the replayed assertion");

    // Revoking the basic client ends its token at once; the other client's still works.
    let o = yiwang(&["--database-url", &db.url, "--data-dir", data, "client", "revoke", basic_id, "--reason", "系统下线"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hooks = format!("{}/api/v1/integration/webhooks", server.base);
    let http = reqwest::Client::new();
    let call = |token: &str| http.get(&hooks).bearer_auth(token.to_string()).send();
    let r = call(v["tokens"]["basic"].as_str().unwrap()).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    assert_eq!(call(v["tokens"]["jwt"].as_str().unwrap()).await.unwrap().status().as_u16(), 200);
    let list = yiwang(&["--database-url", &db.url, "--data-dir", data, "client", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(!listed.contains(secret) && !listed.contains("secret_hash"), "{listed}");
    assert!(listed.lines().any(|l| l.contains(basic_id) && l.contains("\"revoked_at\":\"")), "{listed}");
    server.stop();
    assert!(yiwang(&["--database-url", &db.url, "audit", "verify"]).status.success());
});
