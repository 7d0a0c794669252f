//! Two nodes on loopback, a city on SQLite and its province on PostgreSQL,
//! each with its own database, trusting one registry signed by a national
//! key: a signed request answered with a signed reply and logged on both
//! sides; a retry answered with the same bytes; a changed byte, a reused id,
//! a member the sender does not host, an unknown service and a missing
//! registry each refused with their code, and nothing logged for them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The nodes check envelopes against the real clock, so the test signs with it too.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;

use yiwang_crypto::seal::{MasterKey, SealKey};
use yiwang_exchange::{
    BodyRef, ClientId, Directory, Header, Kind, MemberEntry, NodeEntry, NodeId, Recipient, RegistryPolicy, Sender, Tier, sign_directory,
};
use yiwang_store::LogReport;
use yiwang_testkit::{TestBackend, TestDb};
use yiwang_web::exchange::{Apply, BaseDataAsk, Call, CallError, DataFetch, ExchangeRuntime, ExchangeSettings};
use yiwang_web::{AppState, IdentityRuntime, IdentitySettings};

const CITY: &str = "CN-TEST/NODE/330100";
const PROVINCE: &str = "CN-TEST/NODE/330000";
const NATIONAL: &str = "CN-TEST/NODE/000000";
/// 杭州市数据资源管理局 (the city's operator) and its window system.
const CITY_MEMBER: &str = "CN-TEST/GOV/113301000025000337";
/// 浙江省大数据发展管理局 (the province's operator).
const PROVINCE_MEMBER: &str = "CN-TEST/GOV/113302000025000417";
/// A member the registry hosts at the province, not at the city.
const STRANGER_MEMBER: &str = "CN-TEST/GOV/91330106MA2H00014Q";

struct Node {
    db: TestDb,
    state: AppState,
    rt: Arc<ExchangeRuntime>,
    base: String,
    master: MasterKey,
    server: tokio::task::JoinHandle<()>,
    public_key: String,
}

async fn node(backend: TestBackend, id: &str, member: &str, anchor: &SealKey) -> Node {
    node_fetching(backend, id, member, anchor, None).await
}

/// A node, fetching its registry from `registry_url` if given.
async fn node_fetching(backend: TestBackend, id: &str, member: &str, anchor: &SealKey, registry_url: Option<String>) -> Node {
    node_with(backend, id, member, anchor, registry_url, false).await
}

async fn node_with(
    backend: TestBackend,
    id: &str,
    member: &str,
    anchor: &SealKey,
    registry_url: Option<String>,
    aggregate_upward: bool,
) -> Node {
    let db = TestDb::new(backend).await.unwrap();
    let master = MasterKey::generate();
    let (_, public_key) = db.store.create_exchange_key(&master, jiff::Timestamp::now()).await.unwrap();
    let settings = ExchangeSettings {
        node: Some(id.into()),
        member: Some(member.into()),
        anchor_instance: "CN-TEST".into(),
        anchor_keys: vec![anchor.public_key_hex()],
        registry_url,
        aggregate_upward,
        ..Default::default()
    };
    let rt = Arc::new(ExchangeRuntime::from_settings(&settings).unwrap().expect("configured"));
    rt.load(&db.store, &master, jiff::Timestamp::now()).await.unwrap();
    db.store.set_upward_aggregation(aggregate_upward).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let identity = IdentityRuntime::new(&IdentitySettings::default(), &base);
    let state = AppState::new(db.store.clone(), identity).with_exchange(rt.clone());
    let router = yiwang_web::router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Node { db, state, rt, base, master: master.clone(), server, public_key }
}

fn entry(id: &str, tier: Tier, parent: Option<&str>, endpoint: &str, keys: Vec<String>) -> NodeEntry {
    NodeEntry {
        id: NodeId::parse(id).unwrap(),
        tier,
        parent: parent.map(|p| NodeId::parse(p).unwrap()),
        endpoints: vec![endpoint.to_string()],
        keys,
    }
}

fn directory(city: &Node, province: &Node) -> Directory {
    let now = jiff::Timestamp::now();
    Directory {
        instance: "CN-TEST".into(),
        serial: 1,
        issued_at: now,
        soft_expires_at: now + jiff::SignedDuration::from_hours(1),
        hard_expires_at: now + jiff::SignedDuration::from_hours(72),
        nodes: vec![
            entry(NATIONAL, Tier::National, None, "http://127.0.0.1:9", vec![]),
            entry(PROVINCE, Tier::Provincial, Some(NATIONAL), &province.base, vec![province.public_key.clone()]),
            entry(CITY, Tier::Municipal, Some(PROVINCE), &city.base, vec![city.public_key.clone()]),
        ],
        members: [(CITY_MEMBER.to_string(), CITY), (PROVINCE_MEMBER.to_string(), PROVINCE), (STRANGER_MEMBER.to_string(), PROVINCE)]
            .into_iter()
            // The licensing agency of the test kit issues at the province.
            .chain([(format!("CN-TEST/GOV/{}", yiwang_testkit::licenses::issuer()), PROVINCE)])
            .map(|(m, home)| MemberEntry { id: ClientId::parse(&m).unwrap(), home: NodeId::parse(home).unwrap() })
            .collect(),
        policy: RegistryPolicy { max_skew_seconds: 300, max_ttl_seconds: 86_400 },
        revoked: vec![],
    }
}

/// A raw post of one envelope, as a peer (or an attacker) would send it.
async fn post(base: &str, envelope: &str, line: &str, body: &[u8]) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/gx/1/exchange"))
        .header("gx-envelope", envelope)
        .header("gx-signature", line)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn code_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let v: serde_json::Value = resp.json().await.unwrap();
    (status, v["code"].as_str().unwrap_or_default().to_string())
}

async fn log_len(n: &Node) -> usize {
    n.db.store.exchange_log_page(0, 1000).await.unwrap().len()
}

/// A request from the city, sealed with the city's key, for raw posts.
async fn city_request(city: &Node, from: &str, service: &str, body: &[u8], random: [u8; 10]) -> (Header, yiwang_exchange::Sealed) {
    let key = city.db.store.exchange_keys(&city.master).await.unwrap().remove(0);
    let header = Header::new(
        Kind::Request,
        Sender { node: NodeId::parse(CITY).unwrap(), client: ClientId::parse(from).unwrap(), on_behalf_of: None },
        Recipient { node: NodeId::parse(PROVINCE).unwrap(), service: service.into() },
        BodyRef::of("application/json", body),
        jiff::Timestamp::now(),
        jiff::SignedDuration::from_secs(60),
        random,
    );
    let sealed = yiwang_exchange::seal(&header, &key.key).unwrap();
    (header, sealed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_asks_its_province_across_two_databases() {
    let national = SealKey::generate();
    let city = node(TestBackend::Sqlite, CITY, CITY_MEMBER, &national).await;
    let province = node(TestBackend::Postgres, PROVINCE, PROVINCE_MEMBER, &national).await;
    let from = ClientId::parse(&format!("{CITY_MEMBER}/window")).unwrap();
    let to = NodeId::parse(PROVINCE).unwrap();
    let list = format!("{PROVINCE_MEMBER}/meta/list/v1");
    let call = |service| Call { from: &from, to: &to, service, user: None, content_type: "application/json", body: b"{}" };

    // Without a registry neither side sends nor takes anything.
    match city.rt.call(&city.db.store, call(&list)).await {
        Err(CallError::Local(e)) => assert_eq!(yiwang_errors::Coded::code(&e), "gx.no_registry"),
        other => panic!("expected gx.no_registry, got {other:?}"),
    }
    let (_, sealed) = city_request(&city, &from.to_string(), &list, b"{}", rand_bytes()).await;
    assert_eq!(
        code_of(post(&province.base, &sealed.envelope(), &sealed.signature_line(), b"{}").await).await,
        (503, "gx.no_registry".into())
    );

    // The national key signs the registry; both nodes install it.
    let signed = sign_directory(&directory(&city, &province), &national).unwrap();
    for n in [&city, &province] {
        n.rt.install(&n.db.store, &signed.bytes, &signed.signature_line, jiff::Timestamp::now()).await.unwrap();
    }
    // The province publishes it, byte for byte.
    let published = reqwest::get(format!("{}/gx/1/registry", province.base)).await.unwrap();
    assert_eq!(published.headers()["gx-signature"].to_str().unwrap(), signed.signature_line);
    assert_eq!(published.bytes().await.unwrap().to_vec(), signed.bytes);

    // A signed request, a signed reply, logged on both sides.
    let reply = city.rt.call(&city.db.store, call(&list)).await.unwrap();
    assert_eq!((reply.status, reply.header.kind, reply.replayed), (200, Kind::Response, false));
    assert_eq!(reply.header.from.client.as_str(), format!("{PROVINCE_MEMBER}/meta"));
    let listed: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(listed["services"][0], list.as_str());
    assert_eq!(listed["asked_by"], from.as_str());
    assert_eq!((log_len(&city).await, log_len(&province).await), (2, 2));

    // The same bytes again: the stored reply, byte for byte, and nothing logged twice.
    let (_, sealed) = city_request(&city, from.as_str(), &list, b"{}", rand_bytes()).await;
    let first = post(&province.base, &sealed.envelope(), &sealed.signature_line(), b"{}").await;
    assert_eq!(first.status(), 200);
    let first_env = first.headers()["gx-envelope"].to_str().unwrap().to_string();
    let first_body = first.bytes().await.unwrap();
    let again = post(&province.base, &sealed.envelope(), &sealed.signature_line(), b"{}").await;
    assert_eq!(again.headers()["gx-replayed"], "true");
    assert_eq!(again.headers()["gx-envelope"].to_str().unwrap(), first_env);
    assert_eq!(again.bytes().await.unwrap(), first_body);
    assert_eq!(log_len(&province).await, 4);

    // The same id with other bytes (the body changed, resealed by the city's own key).
    let key = city.db.store.exchange_keys(&city.master).await.unwrap().remove(0);
    let mut twin: Header = serde_json::from_slice(&sealed.header_bytes).unwrap();
    twin.body = BodyRef::of("application/json", b"{\"x\":1}");
    let twin = yiwang_exchange::seal(&twin, &key.key).unwrap();
    let refused = post(&province.base, &twin.envelope(), &twin.signature_line(), b"{\"x\":1}").await;
    assert_eq!(code_of(refused).await, (409, "gx.id_conflict".into()));

    // One byte of the header changed.
    let (_, sealed) = city_request(&city, from.as_str(), &list, b"{}", rand_bytes()).await;
    let mut bytes = sealed.header_bytes.clone();
    let at = bytes.windows(6).position(|w| w == b"330100").unwrap();
    bytes[at + 3] = b'2';
    let tampered = yiwang_exchange::Sealed { header_bytes: bytes, ..sealed.clone() };
    let refused = post(&province.base, &tampered.envelope(), &sealed.signature_line(), b"{}").await;
    assert_eq!(code_of(refused).await, (401, "gx.bad_signature".into()));
    // The body changed under a good header.
    let refused = post(&province.base, &sealed.envelope(), &sealed.signature_line(), b"{ }").await;
    assert_eq!(code_of(refused).await, (400, "gx.body_digest".into()));

    // The city signs for a member it does not host.
    let (_, foreign) = city_request(&city, &format!("{STRANGER_MEMBER}/crm"), &list, b"{}", rand_bytes()).await;
    let refused = post(&province.base, &foreign.envelope(), &foreign.signature_line(), b"{}").await;
    assert_eq!(code_of(refused).await, (401, "gx.signer_mismatch".into()));
    assert_eq!(log_len(&province).await, 4, "nothing refused is logged");

    // A service the province does not offer: a signed error, logged, and answered again on retry.
    let reply = city.rt.call(&city.db.store, call("CN-TEST/GOV/113302000025000417/population-db/person/v1")).await.unwrap();
    assert_eq!((reply.status, reply.header.kind), (404, Kind::Error));
    assert_eq!(reply.error_code().as_deref(), Some("gx.unknown_service"));
    assert_eq!(log_len(&province).await, 6);

    // Base data under a grant: the province's 人口库, served as a resource of its catalog.
    let now = jiff::Timestamp::now();
    register_agency(&province.db.store, "113302000025000417", "浙江省大数据发展管理局", "330000", "provincial").await;
    let mut tx = province.db.store.begin().await.unwrap();
    for (id, name, division) in [("11010519491231002X", "王五", "330106"), ("440301199001011234", "赵六", "440301")] {
        let p = yiwang_store::BasePerson {
            citizen_id: id.into(),
            name: name.into(),
            birth_date: "1949-12-31".into(),
            address_division: division.into(),
            status: "normal".into(),
        };
        tx.upsert_base_person(&p, "t", now).await.unwrap();
    }
    tx.commit().await.unwrap();
    let sharing = serde_json::json!({
        "share_type": "conditional",
        "legal_basis": "《政务信息资源共享管理暂行办法》第九条",
        "items": [
            { "name": "name", "label": "姓名", "data_type": "string" },
            { "name": "birth_date", "label": "出生日期", "data_type": "date" },
            { "name": "status", "label": "户籍状态", "data_type": "code" },
        ],
        "service": "base-data/person/v1",
    });
    describe_resource(&province.db.store, "330000-RK-0001", "人口基础信息", "113302000025000417", sharing).await;
    let person = format!("{PROVINCE_MEMBER}/base-data/person/v1");
    let purpose = "330100-ITEM-0001";
    let fetch = |subject: &str, purpose: &str, fields: &[&str]| {
        let ask = BaseDataAsk { subject: subject.into(), fields: fields.iter().map(|f| f.to_string()).collect() };
        let user = yiwang_exchange::User { id: "clerk-7f3a".into(), purpose: purpose.into(), issue: Some("330100-2026-000123".into()) };
        (ask, user)
    };
    let run = async |subject: &str, purpose: &str, fields: &[&str]| {
        let (ask, user) = fetch(subject, purpose, fields);
        let body = serde_json::to_value(&ask).unwrap();
        city.rt
            .fetch_base_data(&city.db.store, DataFetch { from: &from, provider: &to, service: &person, user, subject: &ask.subject, body })
            .await
            .map(|(answer, _)| answer)
    };
    // Default deny: no grant, no data.
    match run("11010519491231002X", purpose, &["name"]).await {
        Err(CallError::Answered { status: 403, code }) => assert_eq!(code, "gx.access_denied"),
        other => panic!("expected access denied, got {other:?}"),
    }
    let grant = yiwang_sharing::Grant {
        id: String::new(),
        resource: "330000-RK-0001".into(),
        consumer: CITY_MEMBER.into(),
        fields: vec!["name".into(), "birth_date".into()],
        purposes: vec![purpose.into()],
        row_scope: yiwang_sharing::RowScope::Division { prefix: "33".into() },
        valid_from: now - jiff::SignedDuration::from_secs(1),
        valid_until: now + jiff::SignedDuration::from_hours(24),
        revoked_at: None,
    };
    let grant = province.db.store.create_grant(grant, "admin-1", "共享申请 2026-001", now).await.unwrap().unwrap();
    let got = run("11010519491231002X", purpose, &["name", "birth_date", "status"]).await.unwrap();
    assert!(got.found);
    assert_eq!(serde_json::Value::Object(got.data), serde_json::json!({ "name": "王五", "birth_date": "1949-12-31" }));
    assert_eq!((got.grant, got.withheld), (grant.id.clone(), vec!["status".to_string()]));
    // Outside the grant's rows reads as absent; another purpose is refused.
    assert!(!run("440301199001011234", purpose, &["name"]).await.unwrap().found);
    assert!(matches!(run("11010519491231002X", "other-purpose", &["name"]).await, Err(CallError::Answered { status: 403, .. })));
    // Revoked: refused again.
    assert!(province.db.store.revoke_grant(&grant.id, "admin-1", jiff::Timestamp::now()).await.unwrap());
    assert!(matches!(run("11010519491231002X", purpose, &["name"]).await, Err(CallError::Answered { status: 403, .. })));
    // Both sides logged every access to 王五's data, with the purpose and the case.
    let sm3 = hex::encode(yiwang_crypto::sm3("11010519491231002X".as_bytes()));
    for (n, side) in [(&province, "provider"), (&city, "consumer")] {
        let seen = n.db.store.data_accesses_of(&sm3, 100).await.unwrap();
        let mut outcomes: Vec<&str> = seen.iter().map(|a| a.outcome.as_str()).collect();
        outcomes.sort_unstable();
        let want: Vec<&str> = if side == "provider" {
            vec!["allowed", "denied:expired", "denied:no_grant", "denied:purpose"]
        } else {
            vec!["allowed", "refused:gx.access_denied", "refused:gx.access_denied", "refused:gx.access_denied"]
        };
        assert_eq!(outcomes, want, "{side}");
        assert!(seen.iter().all(|a| a.side == side && a.issue.as_deref() == Some("330100-2026-000123") && a.operator == "clerk-7f3a"));
    }

    // A 共享申请 over the exchange: kept at the province, due in 10 working days,
    // approved in part there, and its grant answers the next look-up.
    let apply = format!("{PROVINCE_MEMBER}/sharing/apply/v1");
    let application = serde_json::json!({
        "resource": "330000-RK-0001", "fields": ["name", "status"], "purposes": ["330100-ITEM-0002"],
        "scenario": "异地办理户籍类事项时核验申请人身份", "days": 30,
    });
    let application: yiwang_sharing::Application = serde_json::from_value(application).unwrap();
    let provider = ClientId::parse(PROVINCE_MEMBER).unwrap();
    let sent = Apply { from: &from, provider_node: &to, provider_member: &provider, application: &application, applied_by: "officer-c" };
    let sent = city.rt.apply_for_resource(&city.db.store, sent).await.unwrap();
    let request_id = sent.request_id.clone();
    let held = province.db.store.sharing_request(&request_id).await.unwrap().unwrap();
    let calendar = province.db.store.load_calendar().await.unwrap();
    let due = calendar.add_workdays(yiwang_calendar::china_today(jiff::Timestamp::now()), 10).unwrap().value;
    assert_eq!((held.consumer.as_str(), held.due_on.clone()), (from.as_str(), due.to_string()));
    assert_eq!(sent.due_on, due.to_string());
    // Asking for an item the resource does not have is refused, and nothing is kept.
    let wrong = serde_json::to_vec(&serde_json::json!({
        "resource": "330000-RK-0001", "fields": ["income"], "purposes": ["x"], "scenario": "核验收入情况", "days": 30,
    }))
    .unwrap();
    let refused = city
        .rt
        .call(&city.db.store, Call { from: &from, to: &to, service: &apply, user: None, content_type: "application/json", body: &wrong })
        .await
        .unwrap();
    assert_eq!((refused.status, refused.error_code().as_deref()), (400, Some("gx.bad_body")));
    assert_eq!(province.db.store.sharing_requests().await.unwrap().len(), 1);
    // No one else learns of it; the city sees it submitted.
    let status = format!("{PROVINCE_MEMBER}/sharing/status/v1");
    let ask = serde_json::to_vec(&serde_json::json!({ "request_id": request_id })).unwrap();
    let seen = city
        .rt
        .call(&city.db.store, Call { from: &from, to: &to, service: &status, user: None, content_type: "application/json", body: &ask })
        .await
        .unwrap();
    let seen: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(seen["state"], "submitted");
    // Not overdue today; overdue once past the due date, flagged once.
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    assert_eq!(
        province.db.store.flag_overdue_sharing_requests(yiwang_calendar::china_today(jiff::Timestamp::now()), later).await.unwrap(),
        0
    );
    assert_eq!(province.db.store.flag_overdue_sharing_requests(yiwang_calendar::china_today(later), later).await.unwrap(), 1);
    assert_eq!(province.db.store.flag_overdue_sharing_requests(yiwang_calendar::china_today(later), later).await.unwrap(), 0);
    // 电子监察 has it, once, on the providing agency: the request, not a case.
    let alerts = province.db.store.supervision_alerts(None, None, None, 100).await.unwrap();
    let overdue: Vec<_> = alerts.iter().filter(|a| a.rule == yiwang_store::SHARING_OVERDUE_RULE).collect();
    assert_eq!(overdue.len(), 1, "{alerts:?}");
    let provider_uscc = provider.uscc().to_string();
    assert_eq!(
        (overdue[0].subject.as_str(), overdue[0].case_no.as_str(), overdue[0].agency_uscc.as_str(), overdue[0].level.as_str()),
        ("sharing_request", request_id.as_str(), provider_uscc.as_str(), "yellow")
    );
    let due_next_day = yiwang_calendar::china_day_start(due.tomorrow().unwrap()).unwrap();
    assert_eq!(overdue[0].due_at, yiwang_store::ts(due_next_day));
    // Approved in part (names only); a second decision is refused.
    let approve = yiwang_sharing::Decision::Approve { fields: vec!["name".into()], row_scope: yiwang_sharing::RowScope::All };
    let decided =
        province.db.store.decide_sharing_request(&request_id, &approve, "officer-1", jiff::Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(decided.state, yiwang_sharing::RequestState::Approved);
    let again = province.db.store.decide_sharing_request(&request_id, &approve, "officer-2", jiff::Timestamp::now()).await.unwrap();
    assert_eq!(again.map_err(|e| yiwang_errors::Coded::code(&e)).err(), Some("sharing.already_decided"));
    let seen = city
        .rt
        .call(&city.db.store, Call { from: &from, to: &to, service: &status, user: None, content_type: "application/json", body: &ask })
        .await
        .unwrap();
    let seen: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!((seen["state"].as_str(), seen["grant"].as_str()), (Some("approved"), decided.grant_id.as_deref()));
    // The city learns of the decision and holds the grant.
    assert!(city.rt.refresh_application(&city.db.store, &sent).await.unwrap());
    let held = city.db.store.held_grants("330000-RK-0001").await.unwrap();
    assert_eq!(held.iter().map(|a| a.grant_id.clone()).collect::<Vec<_>>(), vec![decided.grant_id.clone()]);
    let got = run("11010519491231002X", "330100-ITEM-0002", &["name", "status"]).await.unwrap();
    assert_eq!((got.grant.as_str(), got.withheld), (decided.grant_id.as_deref().unwrap(), vec!["status".to_string()]));

    // The same resource by its catalog code, as 免提交 will ask: whatever the grant allows.
    let fetch = format!("{PROVINCE_MEMBER}/sharing/fetch/v1");
    let body = serde_json::to_vec(&serde_json::json!({ "resource": "330000-RK-0001", "subject": "11010519491231002X" })).unwrap();
    let user = yiwang_exchange::User { id: "clerk-7f3a".into(), purpose: "330100-ITEM-0002".into(), issue: None };
    let call = Call { from: &from, to: &to, service: &fetch, user: Some(user), content_type: "application/json", body: &body };
    let reply = city.rt.call(&city.db.store, call).await.unwrap();
    let got: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!((reply.status, &got["data"], &got["withheld"]), (200, &serde_json::json!({ "name": "王五" }), &serde_json::json!([])));

    // The 信用信息库 as a resource: the province says whether 王五 may be offered 告知承诺.
    let credit = serde_json::json!({
        "share_type": "conditional",
        "legal_basis": "《国务院关于建立完善守信联合激励和失信联合惩戒制度的指导意见》（国发〔2016〕33号）",
        "items": [
            { "name": "dishonest", "label": "失信标记", "data_type": "boolean" },
            { "name": "commitment_offered", "label": "可适用告知承诺", "data_type": "boolean" },
        ],
        "service": "base-data/credit/v1",
    });
    describe_resource(&province.db.store, "330000-XY-0001", "信用信息", "113302000025000417", credit).await;
    let credit_grant = yiwang_sharing::Grant {
        id: String::new(),
        resource: "330000-XY-0001".into(),
        consumer: CITY_MEMBER.into(),
        fields: vec!["dishonest".into(), "commitment_offered".into()],
        purposes: vec![],
        row_scope: yiwang_sharing::RowScope::All,
        valid_from: jiff::Timestamp::now(),
        valid_until: jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        revoked_at: None,
    };
    province.db.store.create_grant(credit_grant, "officer-1", "批复", jiff::Timestamp::now()).await.unwrap().unwrap();
    let ask_credit = async || {
        let service = format!("{PROVINCE_MEMBER}/base-data/credit/v1");
        let body = serde_json::json!({ "subject": "11010519491231002X", "fields": ["dishonest", "commitment_offered"] });
        let user = yiwang_exchange::User { id: "clerk-7f3a".into(), purpose: "330100-ITEM-0009".into(), issue: None };
        let fetch = DataFetch { from: &from, provider: &to, service: &service, user, subject: "11010519491231002X", body };
        city.rt.fetch_base_data(&city.db.store, fetch).await.unwrap().0.data
    };
    assert_eq!(serde_json::Value::Object(ask_credit().await), serde_json::json!({ "dishonest": false, "commitment_offered": true }));
    let flag = yiwang_store::CreditRecord {
        subject_type: "111".into(),
        subject_id: "11010519491231002X".into(),
        kind: yiwang_store::DISHONEST.into(),
        source: "信用中国".into(),
        case_no: None,
        reason: "失信被执行人".into(),
        until_on: None,
    };
    assert_eq!(province.db.store.import_credit(&[flag], "t", jiff::Timestamp::now()).await.unwrap(), Ok(1));
    assert_eq!(serde_json::Value::Object(ask_credit().await), serde_json::json!({ "dishonest": true, "commitment_offered": false }));

    // 免提交 across nodes: a city item sources 户籍信息 from the province's resource. Its agency
    // asks for that item's purpose; once approved, opening a case fetches the data over the
    // exchange and the case keeps it with its provenance.
    let now = jiff::Timestamp::now();
    let city_agency = ClientId::parse(CITY_MEMBER).unwrap().uscc().to_string();
    let mut tx = city.db.store.begin().await.unwrap();
    let agency = yiwang_store::Agency {
        uscc: city_agency.clone(),
        name: "杭州市医疗保障局".into(),
        division_code: "330100".into(),
        level: "municipal".into(),
    };
    tx.upsert_agency(&agency, "t", now).await.unwrap();
    let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == "城乡居民基本医疗保险参保登记").unwrap();
    let place = yiwang_catalog::samples::Place {
        agency: yiwang_catalog::AgencyRef { uscc: city_agency.clone(), name: agency.name.clone(), division_code: "330100".into() },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "市民中心".into(),
        phone: "0571-12345".into(),
    };
    let doc =
        yiwang_catalog::samples::build(spec, &place, &|k| if k == "population" { "330000-RK-0001".into() } else { k.into() }).unwrap();
    tx.import_item(&doc, true, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let item_code = doc.implementation_code.clone();
    let application = serde_json::json!({
        "resource": "330000-RK-0001", "fields": ["name", "birth_date"], "purposes": [item_code],
        "scenario": "城乡居民医保参保登记时免提交户籍信息", "days": 365,
    });
    let application: yiwang_sharing::Application = serde_json::from_value(application).unwrap();
    let sent = Apply { from: &from, provider_node: &to, provider_member: &provider, application: &application, applied_by: "officer-c" };
    let sent = city.rt.apply_for_resource(&city.db.store, sent).await.unwrap();
    let approve =
        yiwang_sharing::Decision::Approve { fields: vec!["name".into(), "birth_date".into()], row_scope: yiwang_sharing::RowScope::All };
    let decided = province.db.store.decide_sharing_request(&sent.request_id, &approve, "officer-1", now).await.unwrap().unwrap();
    assert!(city.rt.refresh_application(&city.db.store, &sent).await.unwrap());
    let new = yiwang_store::NewCase {
        item_code: item_code.clone(),
        applicant: yiwang_store::Applicant { id_type: "111".into(), id: "11010519491231002X".into(), name: "王五".into() },
        account_id: "acc-wangwu".into(),
        form: serde_json::json!({}),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L3,
        assured: true,
    };
    let (case, _) = city.db.store.create_case(&new, now).await.unwrap();
    use yiwang_web::shared_materials::{Which, fetch_shared_materials};
    assert_eq!(fetch_shared_materials(&city.state, &case, "acc-wangwu", Which::Missing).await.unwrap(), 1);
    let case = city.db.store.case(&case.case_no).await.unwrap();
    let got = &case.case.shared[0];
    assert_eq!(got.material, "户籍信息");
    assert_eq!(
        (got.node.as_str(), got.provider.as_str(), got.grant.as_str()),
        (PROVINCE, "113302000025000417", decided.grant_id.as_deref().unwrap())
    );
    assert_eq!(serde_json::Value::Object(got.data.clone()), serde_json::json!({ "name": "王五", "birth_date": "1949-12-31" }));
    // The message it came by is in the city's log, and both sides logged the access for this case.
    let logged = city.db.store.exchange_log_page(0, 1000).await.unwrap();
    assert!(logged.iter().any(|r| r.record.msg_id == got.msg_id), "the fetch's request {} is logged", got.msg_id);
    for n in [&province, &city] {
        let seen = n.db.store.data_accesses_of(&sm3, 100).await.unwrap();
        assert!(seen.iter().any(|a| a.issue.as_deref() == Some(case.case_no.as_str()) && a.outcome == "allowed" && a.purpose == item_code));
    }
    let statuses = yiwang_store::material_statuses(&doc, &case);
    let hj = statuses.iter().find(|m| m.name == "户籍信息").unwrap();
    assert_eq!(hj.provided_by, yiwang_case::materials::ProvidedBy::Shared);
    // Revoked at the province: a later fetch is denied, and what came stays the provenance.
    assert!(province.db.store.revoke_grant(decided.grant_id.as_deref().unwrap(), "officer-1", jiff::Timestamp::now()).await.unwrap());
    assert_eq!(fetch_shared_materials(&city.state, &case, "reviewer-1", Which::All).await.unwrap(), 1);
    let events = city.db.store.case_events(&case.case_no).await.unwrap();
    let last = events.last().unwrap();
    assert!(matches!(&last.event, yiwang_case::Event::SharedDataFetched { unavailable: Some(u), .. } if u == "access_denied"), "{last:?}");
    let case = city.db.store.case(&case.case_no).await.unwrap();
    assert!(case.case.shared[0].fetched(), "the earlier fetch is kept");

    // A license sealed at the province verifies at the city, by the province's node.
    let now = jiff::Timestamp::now();
    yiwang_testkit::licenses::seed_issuer(&province.db.store, now).await;
    let issued = province
        .db
        .store
        .issue_license(
            &yiwang_testkit::licenses::new_license("330100-SP-0001", yiwang_testkit::licenses::restaurant()),
            &province.master,
            "t",
            now,
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let verdict: serde_json::Value =
        http.post(format!("{}/api/v1/licenses/verify", city.base)).json(&issued.sealed).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (verdict["ok"].as_bool(), verdict["verified_by"].as_str(), verdict["status"].as_str()),
        (Some(true), Some(PROVINCE), Some("valid"))
    );
    let token = province.db.store.license_token(&issued.id, &province.master).await.unwrap();
    let verdict: serde_json::Value =
        http.get(format!("{}/api/v1/licenses/verify", city.base)).query(&[("token", &token)]).send().await.unwrap().json().await.unwrap();
    assert_eq!((verdict["ok"].as_bool(), verdict["verified_by"].as_str()), (Some(true), Some(PROVINCE)));
    let page = http.get(format!("{}/licenses/verify", city.base)).query(&[("token", &token)]).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("证照真实有效") && page.contains(PROVINCE), "the page says who verified it");
    // A tampered record stays refused: the issuer's node says so.
    let mut forged = issued.sealed.clone();
    forged.record["holder"]["name"] = serde_json::json!("李四餐饮店");
    let verdict: serde_json::Value =
        http.post(format!("{}/api/v1/licenses/verify", city.base)).json(&forged).send().await.unwrap().json().await.unwrap();
    assert_eq!((verdict["ok"].as_bool(), verdict["verified_by"].as_str()), (Some(false), Some(PROVINCE)));

    // The 电子证照库 as a resource: a city item takes 营业执照 as a license; the applicant
    // holds none at the city, so opening a case fetches the province's, under a grant for
    // that license type (an item in lower case), and the material counts as provided.
    let type_item = yiwang_testkit::licenses::type_code().to_lowercase();
    let library = serde_json::json!({
        "share_type": "conditional",
        "legal_basis": "《国务院关于加快推进全国一体化在线政务服务平台建设的指导意见》（国发〔2018〕27号）",
        "items": [{ "name": type_item, "label": "食品经营许可证", "data_type": "string" }],
        "service": "base-data/license/v1",
    });
    describe_resource(&province.db.store, "330000-ZZ-0001", "电子证照库", "113302000025000417", library).await;
    let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == "食品经营许可").unwrap();
    let food = yiwang_catalog::samples::build(spec, &place, &|k| {
        if k == "business_license" { yiwang_testkit::licenses::type_code() } else { k.into() }
    })
    .unwrap();
    let mut tx = city.db.store.begin().await.unwrap();
    tx.import_item(&food, true, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let restaurant = yiwang_testkit::licenses::restaurant();
    let new = yiwang_store::NewCase {
        item_code: food.implementation_code.clone(),
        applicant: yiwang_store::Applicant { id_type: "049".into(), id: restaurant.id.clone(), name: restaurant.name.clone() },
        account_id: "acc-restaurant".into(),
        form: serde_json::json!({}),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L3,
        assured: true,
    };
    // No grant for the type yet: nothing is asked, and the applicant uploads as ever.
    let (before, _) = city.db.store.create_case(&new, now).await.unwrap();
    assert_eq!(fetch_shared_materials(&city.state, &before, "acc-restaurant", Which::Missing).await.unwrap(), 0);
    let licence_of = |c: &yiwang_store::CaseRow| {
        let st = yiwang_store::material_statuses(&food, c);
        let m = st.into_iter().find(|m| m.name == "营业执照").unwrap();
        (m.provided_by, m.upload_reason_zh)
    };
    assert_eq!(licence_of(&before), (yiwang_case::materials::ProvidedBy::Missing, None));
    let application = serde_json::json!({
        "resource": "330000-ZZ-0001", "fields": [type_item], "purposes": [food.implementation_code],
        "scenario": "食品经营许可时免提交营业执照", "days": 365,
    });
    let application: yiwang_sharing::Application = serde_json::from_value(application).unwrap();
    let sent = Apply { from: &from, provider_node: &to, provider_member: &provider, application: &application, applied_by: "officer-c" };
    let sent = city.rt.apply_for_resource(&city.db.store, sent).await.unwrap();
    let approve = yiwang_sharing::Decision::Approve { fields: vec![type_item.clone()], row_scope: yiwang_sharing::RowScope::All };
    let decided = province.db.store.decide_sharing_request(&sent.request_id, &approve, "officer-1", now).await.unwrap().unwrap();
    assert!(city.rt.refresh_application(&city.db.store, &sent).await.unwrap());
    let (case, _) = city.db.store.create_case(&new, now).await.unwrap();
    assert_eq!(fetch_shared_materials(&city.state, &case, "acc-restaurant", Which::Missing).await.unwrap(), 1);
    let case = city.db.store.case(&case.case_no).await.unwrap();
    let got = case.case.shared.iter().find(|s| s.material == "营业执照").unwrap();
    assert_eq!((got.resource.as_str(), got.node.as_str()), ("330000-ZZ-0001", PROVINCE));
    assert_eq!(got.grant.as_str(), decided.grant_id.as_deref().unwrap());
    assert_eq!(got.data[&type_item]["license_id"].as_str(), Some(issued.id.as_str()));
    assert_eq!(licence_of(&case), (yiwang_case::materials::ProvidedBy::License, None));
    // What came cannot be uploaded over.
    let upload = yiwang_store::FileUpload { material: "营业执照", file_name: "yyzz.pdf", bytes: b"%PDF-1.4 x", quota_bytes: None };
    let calendar = city.db.store.load_calendar().await.unwrap();
    let refused = city.db.store.upload_case_material(&case.case_no, upload, "acc-restaurant", now, &calendar).await;
    assert_eq!(refused.map(|_| ()).map_err(|e| yiwang_errors::Coded::code(&e)), Err("case.shared_provided"));
    // The license it names verifies at the city, by the province.
    assert_eq!(got.data[&type_item]["number"].as_str(), Some("330100-SP-0001"));
    // An applicant the province holds no license for: asked, not found, and told why.
    let other = yiwang_store::NewCase {
        applicant: yiwang_store::Applicant { id_type: "049".into(), id: "91330106MA2H0001X6".into(), name: "某公司".into() },
        ..new.clone()
    };
    let (none, _) = city.db.store.create_case(&other, now).await.unwrap();
    assert_eq!(fetch_shared_materials(&city.state, &none, "acc-x", Which::Missing).await.unwrap(), 1);
    let none = city.db.store.case(&none.case_no).await.unwrap();
    assert_eq!(
        licence_of(&none),
        (yiwang_case::materials::ProvidedBy::Missing, Some("数据提供部门未查到您的记录，请上传该材料".to_string()))
    );

    // 目录清单 down: the province defines its basic catalog; the city takes it and its
    // analysis flags the city's 食品经营许可, whose name departs from it.
    let mut basic = yiwang_catalog::BasicItem {
        basic_code: food.basic_code.clone(),
        name: "食品经营许可（餐饮服务）".into(),
        task_type: food.task_type,
        by_law: food.by_law.clone(),
        use_levels: vec![],
        local_code: None,
    };
    let other = yiwang_catalog::BasicItem {
        basic_code: doc.basic_code.clone(),
        name: doc.name.clone(),
        by_law: doc.by_law.clone(),
        task_type: doc.task_type,
        ..basic.clone()
    };
    assert_eq!(province.db.store.define_basic_entries(&[basic.clone(), other.clone()], "t", now).await.unwrap(), 2);
    assert_eq!(province.db.store.define_basic_entries(&[other], "t", now).await.unwrap(), 0, "unchanged");
    assert_eq!(city.rt.pull_basic_catalog(&city.db.store).await.unwrap(), Some(2));
    let flagged = |r: &yiwang_catalog::Report| -> Vec<String> {
        r.items
            .iter()
            .filter(|i| i.implementation_code == food.implementation_code)
            .flat_map(|i| i.findings.iter().map(|f| f.message_zh.clone()))
            .collect()
    };
    let report = yiwang_web::catalog::analysis(&city.db.store).await.unwrap();
    assert_eq!(
        flagged(&report),
        ["事项名称与上级基本目录不一致：本地为“食品经营许可”，基本目录为“食品经营许可（餐饮服务）”"],
        "{:#?}",
        report.items
    );
    // The province corrects its entry; the next pull clears the flag.
    basic.name = "食品经营许可".into();
    assert_eq!(province.db.store.define_basic_entries(&[basic], "t", now).await.unwrap(), 1);
    assert_eq!(city.rt.pull_basic_catalog(&city.db.store).await.unwrap(), Some(2));
    let report = yiwang_web::catalog::analysis(&city.db.store).await.unwrap();
    assert!(flagged(&report).is_empty(), "{:#?}", flagged(&report));

    // The city's log names the province as the peer of what it sent and received.
    let entries = city.db.store.exchange_log_page(0, 1000).await.unwrap();
    assert!(entries.iter().any(|e| e.record.peer == PROVINCE));

    // Both logs verify, entry by entry.
    for n in [&city, &province] {
        assert!(matches!(n.db.store.exchange_log_verify().await.unwrap(), LogReport::Intact { .. }));
    }
    assert!(city.state.exchange().is_some());
    for n in [city, province] {
        n.server.abort();
        n.db.cleanup().await;
    }
}

async fn register_agency(store: &yiwang_store::Store, uscc: &str, name: &str, division: &str, level: &str) {
    let agency = yiwang_store::Agency { uscc: uscc.into(), name: name.into(), division_code: division.into(), level: level.into() };
    let mut tx = store.begin().await.unwrap();
    tx.upsert_agency(&agency, "t", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
}

/// A resource of `provider` with these sharing attributes (JSON), through the operator's path.
async fn describe_resource(store: &yiwang_store::Store, code: &str, name: &str, provider: &str, sharing: serde_json::Value) {
    let resource = yiwang_catalog::setup::ResourceInput {
        code: code.into(),
        name: name.into(),
        provider_uscc: provider.into(),
        aliases: vec![],
        sharing: Some(serde_json::from_value(sharing).unwrap()),
    };
    store.register_data_resource(&resource, "t", jiff::Timestamp::now()).await.unwrap().unwrap();
}

fn rand_bytes() -> [u8; 10] {
    rand::random()
}

/// The national node publishes the registry; the city fetches it, keeps
/// serving from its copy while the national node is down, and stops at the
/// copy's hard expiry; a restarted node resumes from the kept copy; a node's
/// key rotates (both listed, the newest signs, the old one revoked is refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_outlives_an_outage_and_keys_rotate() {
    let anchor = SealKey::generate();
    let national = node(TestBackend::Sqlite, NATIONAL, "CN-TEST/GOV/11100000000013127D", &anchor).await;
    let registry_url = Some(format!("{}/gx/1/registry", national.base));
    let city = node_fetching(TestBackend::Sqlite, CITY, CITY_MEMBER, &anchor, registry_url).await;
    let province = node(TestBackend::Sqlite, PROVINCE, PROVINCE_MEMBER, &anchor).await;
    let mut dir = directory(&city, &province);
    dir.nodes[0].endpoints = vec![national.base.clone()];
    dir.nodes[0].keys = vec![national.public_key.clone()];
    dir.members
        .push(MemberEntry { id: ClientId::parse("CN-TEST/GOV/11100000000013127D").unwrap(), home: NodeId::parse(NATIONAL).unwrap() });
    let publish = |d: &Directory| sign_directory(d, &anchor).unwrap();
    let signed = publish(&dir);
    for n in [&national, &province] {
        n.rt.install(&n.db.store, &signed.bytes, &signed.signature_line, jiff::Timestamp::now()).await.unwrap();
    }
    // The city fetches it from the national node.
    assert!(matches!(city.rt.refresh(&city.db.store).await.unwrap(), yiwang_exchange::Fetched::Newer(_)));
    let from = ClientId::parse(&format!("{CITY_MEMBER}/window")).unwrap();
    let to = NodeId::parse(PROVINCE).unwrap();
    let list = format!("{PROVINCE_MEMBER}/meta/list/v1");
    let ask = || Call { from: &from, to: &to, service: &list, user: None, content_type: "application/json", body: b"{}" };
    assert_eq!(city.rt.call(&city.db.store, ask()).await.unwrap().status, 200);

    // The catalog flows up: the city registers its resource with the province,
    // the province re-registers it with the national node, which lists it.
    register_agency(&city.db.store, "113301000025000337", "杭州市数据资源管理局", "330100", "municipal").await;
    let sharing = serde_json::json!({
        "share_type": "unconditional",
        "items": [{ "name": "name", "label": "企业名称", "data_type": "string" }],
        "service": "base-data/enterprise/v1",
    });
    describe_resource(&city.db.store, "330100-FR-0001", "杭州市法人基础信息", "113301000025000337", sharing).await;
    assert_eq!(city.rt.push_catalog(&city.db.store).await.unwrap(), Some(1));
    assert_eq!(province.rt.push_catalog(&province.db.store).await.unwrap(), Some(1));
    assert_eq!(national.rt.push_catalog(&national.db.store).await.unwrap(), None, "the national node has no parent");
    let listed = national.db.store.network_resources().await.unwrap();
    assert_eq!(
        listed.iter().map(|r| (r.source_node.as_str(), r.code.as_str(), r.provider_member.as_str())).collect::<Vec<_>>(),
        vec![(CITY, "330100-FR-0001", CITY_MEMBER)]
    );
    // A second push replaces, never doubles; a node that is not the parent takes none.
    assert_eq!(city.rt.push_catalog(&city.db.store).await.unwrap(), Some(1));
    assert_eq!(province.db.store.network_resources().await.unwrap().len(), 1);
    let sideways = format!("{CITY_MEMBER}/sharing/catalog/v1");
    let body = serde_json::to_vec(&listed).unwrap();
    let province_member = ClientId::parse(PROVINCE_MEMBER).unwrap();
    let city_id = NodeId::parse(CITY).unwrap();
    let call = Call { from: &province_member, to: &city_id, service: &sideways, user: None, content_type: "application/json", body: &body };
    let refused = province.rt.call(&province.db.store, call).await.unwrap();
    assert_eq!((refused.status, refused.error_code().as_deref()), (403, Some("gx.access_denied")));

    // The national node goes down: the fetch fails, traffic goes on.
    national.server.abort();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(matches!(city.rt.refresh(&city.db.store).await, Err(CallError::Local(_))));
    assert_eq!(city.rt.call(&city.db.store, ask()).await.unwrap().status, 200);

    // A restarted city resumes from the copy it kept.
    let settings = ExchangeSettings {
        node: Some(CITY.into()),
        member: Some(CITY_MEMBER.into()),
        anchor_instance: "CN-TEST".into(),
        anchor_keys: vec![anchor.public_key_hex()],
        ..Default::default()
    };
    let restarted = ExchangeRuntime::from_settings(&settings).unwrap().unwrap();
    restarted.load(&city.db.store, &city.master, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(restarted.registry().map(|r| r.directory.serial), Some(1));
    assert_eq!(restarted.call(&city.db.store, ask()).await.unwrap().status, 200);

    // Key rotation: a new key, listed beside the old one; the newest listed signs.
    let old_kid = city.db.store.exchange_keys(&city.master).await.unwrap()[0].kid.clone();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (new_kid, new_public) = city.db.store.create_exchange_key(&city.master, jiff::Timestamp::now()).await.unwrap();
    city.rt.load(&city.db.store, &city.master, jiff::Timestamp::now()).await.unwrap();
    let mut v2 = dir.clone();
    v2.serial = 2;
    v2.nodes[2].keys.push(new_public.clone());
    let signed = publish(&v2);
    for n in [&city, &province] {
        n.rt.install(&n.db.store, &signed.bytes, &signed.signature_line, jiff::Timestamp::now()).await.unwrap();
    }
    assert_eq!(city.rt.call(&city.db.store, ask()).await.unwrap().status, 200);
    let last = province.db.store.exchange_log_page(0, 1000).await.unwrap();
    let received = last.iter().rev().find(|e| e.record.direction == yiwang_exchange::Direction::In).unwrap();
    assert!(received.record.signature.contains(&format!("kid={new_kid}")), "the newest listed key signs");
    // The old key revoked: a message it signs is refused; the log it signed still verifies.
    let mut v3 = v2.clone();
    v3.serial = 3;
    v3.nodes[2].keys = vec![new_public];
    v3.revoked = vec![old_kid.clone()];
    let signed = publish(&v3);
    province.rt.install(&province.db.store, &signed.bytes, &signed.signature_line, jiff::Timestamp::now()).await.unwrap();
    let old = city.db.store.exchange_keys(&city.master).await.unwrap().into_iter().find(|k| k.kid == old_kid).unwrap();
    let header = Header::new(
        Kind::Request,
        Sender { node: NodeId::parse(CITY).unwrap(), client: from.clone(), on_behalf_of: None },
        Recipient { node: to.clone(), service: list.clone() },
        BodyRef::of("application/json", b"{}"),
        jiff::Timestamp::now(),
        jiff::SignedDuration::from_secs(60),
        rand_bytes(),
    );
    let sealed = yiwang_exchange::seal(&header, &old.key).unwrap();
    assert_eq!(
        code_of(post(&province.base, &sealed.envelope(), &sealed.signature_line(), b"{}").await).await,
        (401, "gx.unknown_key".into())
    );
    for n in [&city, &province] {
        assert!(matches!(n.db.store.exchange_log_verify().await.unwrap(), LogReport::Intact { .. }));
    }
    // A rollback to an older serial is refused.
    let stale = publish(&v2);
    match province.rt.install(&province.db.store, &stale.bytes, &stale.signature_line, jiff::Timestamp::now()).await {
        Err(CallError::Local(e)) => assert_eq!(yiwang_errors::Coded::code(&e), "gx.registry_rollback"),
        other => panic!("expected a refused rollback, got {other:?}"),
    }

    // A copy past its hard expiry stops traffic until a newer one arrives.
    let mut short = v3.clone();
    short.serial = 4;
    let now = jiff::Timestamp::now();
    short.issued_at = now;
    short.soft_expires_at = now + jiff::SignedDuration::from_millis(500);
    short.hard_expires_at = now + jiff::SignedDuration::from_millis(1500);
    let signed = publish(&short);
    city.rt.install(&city.db.store, &signed.bytes, &signed.signature_line, now).await.unwrap();
    assert_eq!(city.rt.call(&city.db.store, ask()).await.unwrap().status, 200, "stale, still used");
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    match city.rt.call(&city.db.store, ask()).await {
        Err(CallError::Local(e)) => assert_eq!(yiwang_errors::Coded::code(&e), "gx.registry_outdated"),
        other => panic!("expected gx.registry_outdated, got {other:?}"),
    }
    for n in [national, city, province] {
        n.server.abort();
        n.db.cleanup().await;
    }
}

/// Serve `state` again at `base` (a node restarted on its registered address).
async fn serve_again(base: &str, state: AppState) -> tokio::task::JoinHandle<()> {
    let addr = base.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    let router = yiwang_web::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    })
}

/// Send the outbox until it is empty or `rounds` half-second rounds pass.
async fn drain(n: &Node, rounds: usize) -> usize {
    let mut delivered = 0;
    for _ in 0..rounds {
        delivered += n.rt.dispatch_once(&n.db.store).await.unwrap();
        if n.db.store.exchange_outbox_depth().await.unwrap().0 == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    delivered
}

fn synthetic(from: usize, to: usize) -> Vec<yiwang_store::UpwardRecord> {
    (from..to)
        .map(|i| yiwang_store::UpwardRecord {
            source_node: String::new(),
            record_id: format!("113301000025000337202612070{i:05}.2"),
            kind: if i % 2 == 0 { "case.submitted".into() } else { "case.accepted".into() },
            agency_uscc: "113301000025000337".into(),
            occurred_at: "2026-12-07T02:00:00.000000Z".into(),
            data: serde_json::json!({ "case_no": format!("c{i}") }),
        })
        .collect()
}

/// 汇聚 through the outbox: a city's GB/T 39046 records go to its province and
/// on to the national node as signed events, each answered by a signed
/// receipt. The province is down for a while: the city's events wait, then go
/// in order; a resend and a record that comes again are held once; a batch
/// naming a node that is not below the sender is refused for good, and the
/// next one still goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_go_up_through_the_outbox_once_and_in_order() {
    const NATIONAL_MEMBER: &str = "CN-TEST/GOV/11100000000013127D";
    let anchor = SealKey::generate();
    let national = node_with(TestBackend::Sqlite, NATIONAL, NATIONAL_MEMBER, &anchor, None, false).await;
    let mut province = node_with(TestBackend::Postgres, PROVINCE, PROVINCE_MEMBER, &anchor, None, true).await;
    let city = node_with(TestBackend::Sqlite, CITY, CITY_MEMBER, &anchor, None, true).await;
    let mut dir = directory(&city, &province);
    dir.nodes[0].endpoints = vec![national.base.clone()];
    dir.nodes[0].keys = vec![national.public_key.clone()];
    dir.members.push(MemberEntry { id: ClientId::parse(NATIONAL_MEMBER).unwrap(), home: NodeId::parse(NATIONAL).unwrap() });
    let signed = sign_directory(&dir, &anchor).unwrap();
    for n in [&national, &province, &city] {
        n.rt.install(&n.db.store, &signed.bytes, &signed.signature_line, jiff::Timestamp::now()).await.unwrap();
    }

    // A real case event at the city queues its record in the event's transaction.
    let now = jiff::Timestamp::now();
    register_agency(&city.db.store, "113301000025000337", "杭州市市场监督管理局", "330100", "municipal").await;
    let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == "食品经营许可").unwrap();
    let place = yiwang_catalog::samples::Place {
        agency: yiwang_catalog::AgencyRef {
            uscc: "113301000025000337".into(),
            name: "杭州市市场监督管理局".into(),
            division_code: "330100".into(),
        },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "市民中心".into(),
        phone: "0571-12345".into(),
    };
    let doc = yiwang_catalog::samples::build(spec, &place, &|k| k.to_string()).unwrap();
    let mut tx = city.db.store.begin().await.unwrap();
    tx.import_item(&doc, true, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let new = yiwang_store::NewCase {
        item_code: doc.implementation_code.clone(),
        applicant: yiwang_store::Applicant {
            id_type: "049".into(), id: "91330106MA2H00014Q".into(), name: "杭州一网餐饮有限公司".into()
        },
        account_id: "acc".into(),
        form: serde_json::json!({}),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L3,
        assured: true,
    };
    let (case, _) = city.db.store.create_case(&new, now).await.unwrap();
    let calendar = city.db.store.load_calendar().await.unwrap();
    let submitted = yiwang_case::Envelope { at: now, actor: "acc".into(), reason: String::new(), event: yiwang_case::Event::Submitted };
    city.db.store.record_case_event(&case.case_no, &submitted, None, &calendar).await.unwrap();
    assert_eq!(city.db.store.upward_queue_len().await.unwrap(), 2, "the publication's and the submission's records are queued");
    let mut tx = city.db.store.begin().await.unwrap();
    tx.queue_upward(&synthetic(0, 2500), now).await.unwrap();
    tx.commit().await.unwrap();

    // The province is down: sealed into three events, none delivered, none lost.
    province.server.abort();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(city.rt.seal_upward(&city.db.store, 100).await.unwrap(), 2502);
    assert_eq!(city.db.store.upward_queue_len().await.unwrap(), 0);
    assert_eq!(city.rt.dispatch_once(&city.db.store).await.unwrap(), 0);
    let waiting = city.db.store.exchange_outbox(10).await.unwrap();
    assert_eq!(waiting.len(), 3);
    assert!(waiting.iter().all(|e| e.state == "pending"));
    assert_eq!(waiting.iter().map(|e| e.attempts).sum::<i64>(), 3, "the first round tries the window");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(city.rt.dispatch_once(&city.db.store).await.unwrap(), 0);
    let waiting = city.db.store.exchange_outbox(10).await.unwrap();
    assert_eq!(waiting.iter().map(|e| e.attempts).sum::<i64>(), 4, "after a failure only the oldest is tried");

    // Back up: everything goes, in the order it was made, each with a signed receipt.
    province.server = serve_again(&province.base, province.state.clone()).await;
    assert_eq!(drain(&city, 40).await, 3);
    let sent = city.db.store.exchange_outbox(10).await.unwrap();
    assert!(sent.iter().all(|e| e.state == "delivered" && e.receipt_msg_id.is_some()), "{sent:#?}");
    let city_log = city.db.store.exchange_log_page(0, 1000).await.unwrap();
    for e in &sent {
        let receipt = e.receipt_msg_id.as_deref().unwrap();
        assert!(city_log.iter().any(|l| l.record.msg_id == receipt), "the receipt {receipt} is logged at the city");
    }
    // In the order made: the oldest (retried alone) first, then the window.
    let mut by_creation = sent.clone();
    by_creation.sort_by(|a, b| (&a.created_at, &a.msg_id).cmp(&(&b.created_at, &b.msg_id)));
    let province_log = province.db.store.exchange_log_page(0, 1000).await.unwrap();
    let received: Vec<&str> = province_log
        .iter()
        .filter(|l| l.record.peer == CITY && l.record.direction == yiwang_exchange::Direction::In)
        .map(|l| l.record.msg_id.as_str())
        .collect();
    assert_eq!(received.first().copied(), Some(by_creation[0].msg_id.as_str()), "the oldest goes first");
    assert_eq!(received.len(), 3, "each event logged once");
    assert_eq!(province.db.store.aggregated_totals().await.unwrap(), 2502);

    // A resend of the same bytes gets the same receipt and adds nothing.
    let first = &by_creation[0];
    let resent = post(&province.base, &first.envelope, &first.signature, &first.body).await;
    assert_eq!(resent.status(), 200);
    assert_eq!(resent.headers().get("gx-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    // The same records again, in a new event: held once.
    let mut tx = city.db.store.begin().await.unwrap();
    tx.queue_upward(&synthetic(0, 10), jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(city.rt.seal_upward(&city.db.store, 10).await.unwrap(), 10);
    assert_eq!(drain(&city, 10).await, 1);
    assert_eq!(province.db.store.aggregated_totals().await.unwrap(), 2502, "never counted twice");

    // The province forwards what was new; the national node holds the city's records once, by source.
    assert_eq!(province.db.store.upward_queue_len().await.unwrap(), 2502);
    assert_eq!(province.rt.seal_upward(&province.db.store, 100).await.unwrap(), 2502);
    assert_eq!(drain(&province, 20).await, 3);
    assert_eq!(national.db.store.aggregated_totals().await.unwrap(), 2502);
    let counts = national.db.store.aggregate_counts().await.unwrap();
    let summed: i64 = counts.iter().filter(|c| c.source_node == CITY).map(|c| c.records).sum();
    assert_eq!(summed, 2502, "{counts:?}");
    assert!(counts.iter().any(|c| c.kind == "case.submitted" && c.records == 1251), "{counts:?}");
    assert!(counts.iter().any(|c| c.kind == "item.published" && c.records == 1), "the 事项 data set goes up too: {counts:?}");

    // A batch claiming a node that is not below the city is refused for good; the next one goes.
    let mut tx = city.db.store.begin().await.unwrap();
    let mut stray = synthetic(5000, 5001);
    stray[0].source_node = NATIONAL.into();
    tx.queue_upward(&stray, jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(city.rt.seal_upward(&city.db.store, 10).await.unwrap(), 1);
    let mut tx = city.db.store.begin().await.unwrap();
    tx.queue_upward(&synthetic(6000, 6001), jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(city.rt.seal_upward(&city.db.store, 10).await.unwrap(), 1);
    assert_eq!(drain(&city, 10).await, 1);
    let states: Vec<(String, Option<String>)> =
        city.db.store.exchange_outbox(2).await.unwrap().into_iter().map(|e| (e.state, e.last_error)).collect();
    assert_eq!(states[0].0, "delivered");
    assert_eq!((states[1].0.as_str(), states[1].1.as_deref()), ("rejected", Some("gx.bad_body")));
    assert_eq!(province.db.store.aggregated_totals().await.unwrap(), 2503);

    // The city's log head, countersigned by the province (its receipt); nothing new, nothing sent.
    let anchored = city.rt.anchor_head(&city.db.store).await.unwrap().expect("the log moved");
    assert_eq!(drain(&city, 10).await, 1);
    let held = province.db.store.anchors_held(10).await.unwrap();
    assert_eq!((held[0].child_node.as_str(), held[0].seq), (CITY, anchored));
    assert_eq!(held[0].hash, city.db.store.exchange_log_page(anchored - 1, 1).await.unwrap()[0].hash);
    assert_eq!(city.rt.anchor_head(&city.db.store).await.unwrap(), None, "only the anchoring's own two entries since");
    let (checked, bad) = city.db.store.anchor_mismatches().await.unwrap();
    assert_eq!((checked, bad.len()), (1, 0));
    // Another hash for that seq, as a rewritten history would send: refused for good.
    let forged = yiwang_web::exchange_async::AnchorBody {
        node: CITY.into(),
        seq: anchored,
        hash: "ab".repeat(32),
        at: "2026-12-07T02:00:00.000000Z".into(),
    };
    let body = serde_json::to_vec(&forged).unwrap();
    let service = format!("{PROVINCE_MEMBER}/log/anchor/v1");
    let (city_member, province_node) = (ClientId::parse(CITY_MEMBER).unwrap(), NodeId::parse(PROVINCE).unwrap());
    let out = yiwang_web::exchange_async::EventOut {
        from: &city_member,
        to: &province_node,
        service: &service,
        content_type: "application/json",
        body: &body,
    };
    let mut tx = city.db.store.begin().await.unwrap();
    city.rt.enqueue_event(&mut tx, out).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(drain(&city, 10).await, 0);
    let last = city.db.store.exchange_outbox(1).await.unwrap().remove(0);
    assert_eq!((last.state.as_str(), last.last_error.as_deref()), ("rejected", Some("gx.anchor_conflict")));
    assert_eq!(province.db.store.anchors_held(10).await.unwrap().len(), 1);
    for n in [&national, &province, &city] {
        assert!(matches!(n.db.store.exchange_log_verify().await.unwrap(), LogReport::Intact { .. }));
        n.server.abort();
    }
}
