//! Issue 19 (trust first): each finding an outsider reported, tried again
//! through the HTTP edge, on both backends. Every test here failed on the code
//! before the fix.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, header};
use common::*;
use tower::ServiceExt;
use yiwang_testkit::TestBackend;

/// What a request got back.
struct Got {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
    fn location(&self) -> String {
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
}

enum Send {
    Nothing,
    Json(serde_json::Value),
    Form(Vec<(&'static str, String)>),
}

/// A request as `p`, from `peer` (the client address the node sees), with extra headers.
async fn call(f: &Fixture, p: P, method: &str, path: &str, body: Send, peer: Option<&str>, extra: &[(&str, &str)]) -> Got {
    let (cookie, csrf) = f.login(p).await;
    let mut req = Request::builder().method(method).uri(path).header(header::COOKIE, cookie);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let body = match body {
        Send::Nothing => {
            req = req.header("x-csrf-token", &csrf);
            Body::empty()
        }
        Send::Json(v) => {
            req = req.header("x-csrf-token", &csrf).header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        Send::Form(mut pairs) => {
            pairs.push(("csrf", csrf));
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
        }
    };
    let mut req = req.body(body).unwrap();
    if let Some(peer) = peer {
        req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    }
    let resp = f.app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 8 << 20).await.unwrap();
    Got { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(f: &Fixture, p: P, path: &str) -> Got {
    call(f, p, "GET", path, Send::Nothing, None, &[]).await
}

/// The audit entries for one object, as `yiwang audit list` would print them.
async fn audit_of(f: &Fixture, object_id: &str) -> Vec<(String, String, String)> {
    let page = f.store.audit_page(0, 100_000).await.unwrap();
    page.entries
        .into_iter()
        .filter(|e| e.record.object_id == object_id)
        .map(|e| (e.record.action, e.record.actor, e.record.reason))
        .collect()
}

// ---- 1. bounded work for every number a caller sends -----------------------------------

/// Finding 1: `page=10000000000000` reached tantivy, which allocated the offset
/// up front and aborted the process. Every page, size and limit is now bounded
/// with a clear 400, and the node keeps answering.
async fn huge_pages_are_a_clear_400(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    for path in [
        "/api/v1/items?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7&per_page=100&page=10000000000000",
        "/api/v1/items?q=&page=101&per_page=100",
        "/api/v1/items?per_page=101",
        "/api/v1/items?per_page=-1",
        "/api/v1/items?page=99999999999999999999999",
    ] {
        let got = get(&f, P::Anon, path).await;
        assert_eq!(
            (got.status, got.headers[header::CONTENT_TYPE].to_str().unwrap()),
            (400, "application/problem+json"),
            "{path}: {}",
            got.body
        );
        assert_eq!(got.code(), "http.bad_parameter", "{path}");
    }
    // The page, too, answers 400 with a page.
    let got = get(&f, P::Anon, "/items?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7&per_page=100&page=10000000000000").await;
    assert_eq!(got.status, 400, "{}", got.body);
    // The last page inside the window is fine, and the node is alive.
    assert_eq!(get(&f, P::Anon, "/api/v1/items?page=100&per_page=100").await.status, 200);
    assert_eq!(get(&f, P::Reviewer, "/api/v1/workbench/cases?limit=100000").await.status, 400);
    assert_eq!(get(&f, P::Editor, "/api/v1/catalog/items?page=9223372036854775807").await.status, 400);
    assert_eq!(get(&f, P::Anon, "/healthz").await.status, 200);
    db.cleanup().await;
}
on_both!(huge_pages_are_a_clear_400);

// ---- 2. personal data only for verified identities ------------------------------------

/// Finding 2: an L1 account that typed a stranger's ID number saw the stranger's
/// cases, changed their drafts, got their prefill and opened their wallet.
async fn a_typed_id_number_opens_nothing_below_the_personal_data_level(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    let stranger = f.citizen_id(P::Impostor).to_string();
    // The stranger holds a license, and a case was opened for them by someone else (at a window).
    let type_code = license_type_of_a(&f, "001").await;
    let mut new = citizen_license(&f, &type_code, "JY13301020000077", None, serde_json::json!({}));
    new.holder = yiwang_store::Holder { name: "陌生人".into(), id_type: "111".into(), id: stranger.clone() };
    let license =
        f.store.issue_license(&new, &yiwang_crypto::seal::MasterKey::from_hex(&f.master_hex).unwrap(), "staff:t", now).await.unwrap();
    let lref = license.public_ref.clone().unwrap();
    // An item for natural persons that anyone may apply for online at L1.
    let mut id_card = demo_item_of("居民身份证换领", AGENCY_A, "杭州市市场监督管理局", "330100");
    id_card.min_real_name_level = 1;
    let strict = demo_item_of("居民身份证挂失补领", AGENCY_A, "杭州市市场监督管理局", "330100");
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&id_card, true, "t", now).await.unwrap();
    tx.import_item(&strict, true, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let opened_for = yiwang_store::NewCase {
        item_code: id_card.implementation_code.clone(),
        applicant: yiwang_store::Applicant { id_type: "111".into(), id: stranger.clone(), name: "陌生人".into() },
        account_id: "window:clerk".into(),
        form: serde_json::json!({ "contact_phone": "13912345678" }),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L3,
        assured: true,
    };
    let (theirs, _) = f.store.create_case(&opened_for, now).await.unwrap();
    let no = theirs.case_no.clone();
    // And one a window clerk filed under the account that holds the ID (as the window
    // does when the person has an account): the account did not open it.
    let at_window = yiwang_store::NewCase { account_id: f.id(P::Impostor).into(), hall_id: Some("hall_1".into()), ..opened_for.clone() };
    let (window_case, _) = f.store.create_case(&at_window, now).await.unwrap();
    let window_no = window_case.case_no.clone();

    // Their case: not listed, not readable, not writable.
    let mine = get(&f, P::Impostor, "/api/v1/me/cases").await;
    assert_eq!(mine.status, 200);
    assert!(!mine.body.contains(&no), "{}", mine.body);
    assert_eq!(get(&f, P::Impostor, &format!("/api/v1/cases/{no}")).await.status, 404);
    assert!(!mine.body.contains(&window_no), "{}", mine.body);
    assert_eq!(get(&f, P::Impostor, &format!("/api/v1/cases/{window_no}")).await.status, 404);
    assert_eq!(get(&f, P::Impostor, &format!("/me/cases/{window_no}")).await.status, 404);
    assert_eq!(get(&f, P::Impostor, &format!("/api/v1/cases/{no}/events")).await.status, 404);
    assert_eq!(get(&f, P::Impostor, &format!("/me/cases/{no}")).await.status, 404);
    let put =
        call(&f, P::Impostor, "PUT", &format!("/api/v1/cases/{no}/form"), Send::Json(serde_json::json!({ "form": {} })), None, &[]).await;
    assert_eq!(put.status, 404);
    let page = get(&f, P::Impostor, "/me/cases").await;
    assert!(page.status == 200 && !page.body.contains(&no) && !page.body.contains(&window_no) && page.body.contains("L2"), "{}", page.body);
    // Their licenses and wallet: 403 with how to raise the level.
    let got = get(&f, P::Impostor, "/api/v1/me/licenses").await;
    assert_eq!((got.status, got.code().as_str()), (403, "auth.level_too_low"), "{}", got.body);
    assert!(got.json()["message_zh"].as_str().unwrap().contains("窗口现场核验"));
    let wallet = get(&f, P::Impostor, "/me/licenses").await;
    assert!(wallet.status == 403 && wallet.body.contains("L2") && !wallet.body.contains("JY13301020000077"), "{}", wallet.body);
    for path in [
        format!("/me/licenses/{lref}"),
        format!("/me/licenses/{lref}/license.pdf"),
        format!("/me/licenses/{lref}/sealed.json"),
        format!("/api/v1/me/licenses/{lref}/uses"),
        format!("/api/v1/me/licenses/{lref}/sd-jwt"),
        format!("/api/v1/me/items/{}/licenses", id_card.implementation_code),
    ] {
        let got = get(&f, P::Impostor, &path).await;
        assert_eq!(got.status, 403, "{path}: {}", got.body);
        assert!(!got.body.contains("JY13301020000077"), "{path}");
    }
    let share =
        call(&f, P::Impostor, "POST", &format!("/me/licenses/{lref}/shares"), Send::Form(vec![("purpose", "租房备案".into())]), None, &[])
            .await;
    assert_eq!(share.status, 403);
    // No prefill from the base data: the stranger's registered name stays out of the form.
    let form = get(&f, P::Impostor, &format!("/api/v1/me/items/{}/form", id_card.implementation_code)).await;
    assert_eq!(form.status, 200);
    assert!(!form.body.contains("陌生人"), "{}", form.body);
    // An item that needs L2 online refuses the application, saying how to raise the level.
    let got = call(
        &f,
        P::Impostor,
        "POST",
        "/api/v1/cases",
        Send::Json(serde_json::json!({ "item_code": strict.implementation_code })),
        None,
        &[],
    )
    .await;
    assert_eq!((got.status, got.code().as_str()), (403, "auth.level_too_low"), "{}", got.body);
    // An L1 item may be applied for; the applicant then sees that application, and only it.
    let got = call(
        &f,
        P::Impostor,
        "POST",
        "/api/v1/cases",
        Send::Json(serde_json::json!({ "item_code": id_card.implementation_code })),
        None,
        &[],
    )
    .await;
    assert_eq!(got.status, 201, "{}", got.body);
    let own = got.json()["case"]["case_no"].as_str().unwrap().to_string();
    assert!(!got.body.contains("陌生人"), "no held data in the new form: {}", got.body);
    let mine = get(&f, P::Impostor, "/api/v1/me/cases").await;
    assert!(mine.body.contains(&own) && !mine.body.contains(&no), "{}", mine.body);
    assert_eq!(get(&f, P::Impostor, &format!("/api/v1/cases/{own}")).await.status, 200);
    // At L2, the holder of a matching account would see it all: the citizen persona sees their own wallet.
    assert_eq!(get(&f, P::Citizen, "/api/v1/me/licenses").await.status, 200);
    db.cleanup().await;
}
on_both!(a_typed_id_number_opens_nothing_below_the_personal_data_level);

// ---- 4. outgoing requests refuse internal targets -----------------------------------

/// Finding 4: webhook URLs on loopback, private ranges, link-local and the
/// metadata address were accepted. Every spelling is refused now.
async fn webhooks_refuse_internal_targets(backend: TestBackend) {
    let (db, f) = fixture_with(backend, yiwang_web::SecuritySettings::default()).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://2130706433:9/",
        "http://0x7f.1:9/",
        "http://10.0.0.1/",
        "http://192.168.1.10/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
    ] {
        let got = call(&f, P::Head, "POST", "/api/v1/integration/webhooks", Send::Json(serde_json::json!({ "url": url })), None, &[]).await;
        assert_eq!((got.status, got.code().as_str()), (422, "outbound.internal_target"), "{url}: {}", got.body);
    }
    let got = call(
        &f,
        P::Head,
        "POST",
        "/api/v1/integration/webhooks",
        Send::Json(serde_json::json!({ "url": "http://no-such-host.invalid/hook" })),
        None,
        &[],
    )
    .await;
    assert_eq!(got.code(), "outbound.unresolvable", "{}", got.body);
    db.cleanup().await;
}
on_both!(webhooks_refuse_internal_targets);

/// A tiny receiver on loopback that counts hits and answers `status` (with a
/// `Location` when given).
async fn receiver(status: u16, location: Option<String>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        let location = location.clone();
        async move {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut resp = axum::response::Response::new(Body::empty());
            *resp.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
            if let Some(l) = location {
                resp.headers_mut().insert(header::LOCATION, l.parse().unwrap());
            }
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.2:{}", addr.port()), hits)
}

/// Finding 4: the dispatcher followed redirects and showed raw connection
/// errors. Now: no redirect is followed, a name that resolves inside is refused
/// at delivery too (DNS can change), and failures are classes.
async fn deliveries_follow_no_redirect_and_report_classes(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let master = yiwang_crypto::seal::MasterKey::from_hex(&f.master_hex).unwrap();
    let (target, target_hits) = receiver(200, None).await;
    let (redirector, _) = receiver(302, Some(format!("{target}/stolen"))).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.2:{port}/hook")
    };
    let mut hooks = Vec::new();
    for url in [format!("{redirector}/hook"), closed.clone()] {
        let got = call(&f, P::Head, "POST", "/api/v1/integration/webhooks", Send::Json(serde_json::json!({ "url": url })), None, &[]).await;
        assert_eq!(got.status, 201, "{}", got.body);
        hooks.push(got.json()["webhook"]["id"].as_str().unwrap().to_string());
    }
    // A subscription whose name now resolves to an internal address the operator did
    // not name (as if its DNS changed after subscribing).
    let (rebound, _) = f
        .store
        .create_webhook(
            AGENCY_A,
            &format!("{}/hook", target.replace("127.0.0.2", "localhost")),
            &["*".into()],
            "t",
            jiff::Timestamp::now(),
            Some(&master),
        )
        .await
        .unwrap();
    f.submitted_food_case().await;
    // Loopback is internal; the operator named 127.0.0.2 (the department system) only.
    let outbound = yiwang_web::outbound::OutboundPolicy::new(&["127.0.0.2".into()]).unwrap();
    let client = outbound.client(std::time::Duration::from_secs(5)).unwrap();
    let sent = yiwang_web::integration::dispatch_once(&f.store, &client, &outbound, Some(&master), jiff::Timestamp::now()).await.unwrap();
    assert_eq!(sent, 0);
    assert_eq!(target_hits.load(std::sync::atomic::Ordering::SeqCst), 0, "neither the redirect nor the rebound name reached the target");
    let errors = |id: String| {
        let f = &f;
        async move {
            let got = get(f, P::Head, &format!("/api/v1/integration/webhooks/{id}/deliveries")).await;
            got.json()["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["last_error"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        }
    };
    let redirected = errors(hooks[0].clone()).await;
    assert!(!redirected.is_empty() && redirected.iter().all(|e| e == "HTTP 302"), "{redirected:?}");
    let refused = errors(hooks[1].clone()).await;
    assert!(!refused.is_empty() && refused.iter().all(|e| e == "refused"), "{refused:?}");
    let blocked = errors(rebound.id).await;
    assert!(!blocked.is_empty() && blocked.iter().all(|e| e == "blocked"), "{blocked:?}");
    db.cleanup().await;
}
on_both!(deliveries_follow_no_redirect_and_report_classes);

// ---- 5. simulation is bounded ------------------------------------------------------------

fn multi_instance(cardinality: &str) -> String {
    format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" isExecutable="true">
<startEvent id="s"/><userTask id="t"><multiInstanceLoopCharacteristics><loopCardinality>{cardinality}</loopCardinality></multiInstanceLoopCharacteristics></userTask>
<endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/></process></definitions>"#
    )
}

/// Finding 5: any staff member could stall the node with a multi-instance task
/// of unbounded cardinality. Now instances, steps and time are capped, the run
/// is off the async workers, and only modelers and admins may simulate.
async fn simulation_is_bounded(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let started = std::time::Instant::now();
    let simulate = |body: serde_json::Value| {
        let f = &f;
        async move { call(f, P::Editor, "POST", "/api/v1/workflows/simulate", Send::Json(body), None, &[]).await }
    };
    let got = simulate(serde_json::json!({ "bpmn": multi_instance("100000000") })).await;
    assert_eq!((got.status, got.code().as_str()), (422, "workflow.invalid"), "{}", got.body);
    assert!(got.body.contains("bad_multi_instance"));
    let got = simulate(serde_json::json!({ "bpmn": multi_instance("n"), "data": { "n": 100_000_000u64 } })).await;
    assert_eq!(got.status, 422, "{}", got.body);
    let got = simulate(serde_json::json!({ "bpmn": multi_instance("n"), "data": { "n": 3 } })).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let deep = format!("<definitions>{}{}</definitions>", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert_eq!(simulate(serde_json::json!({ "bpmn": deep })).await.status, 422);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    // Reviewers and clerks do not simulate.
    let got = call(
        &f,
        P::Reviewer,
        "POST",
        "/api/v1/workflows/simulate",
        Send::Json(serde_json::json!({ "bpmn": multi_instance("3") })),
        None,
        &[],
    )
    .await;
    assert_eq!(got.status, 403);
    db.cleanup().await;
}
on_both!(simulation_is_bounded);

// ---- 6. a throttle that holds ----------------------------------------------------------

async fn login_from(f: &Fixture, login: &str, password: &str, peer: &str, forwarded: Option<&str>) -> u16 {
    let extra: Vec<(&str, &str)> = forwarded.map(|x| vec![("x-forwarded-for", x)]).unwrap_or_default();
    let form = Send::Form(vec![("login", login.to_string()), ("password", password.to_string()), ("next", "/account".into())]);
    call(f, P::Anon, "POST", "/login", form, Some(peer), &extra).await.status
}

/// Finding 6: the lock was checked before the password and the failure counted
/// after, so sixteen concurrent guesses were all tried; the per-address counter
/// never decayed. Now attempts are counted first, per account and address.
async fn concurrent_guesses_are_counted_before_they_are_checked(backend: TestBackend) {
    let security = yiwang_web::SecuritySettings { trusted_proxies: vec!["10.0.0.0/8".into()], ..Default::default() };
    let (db, f) = fixture_with(backend, security).await;
    let f = std::sync::Arc::new(f);
    let id = f.citizen_id(P::Citizen).to_string();
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (f, id) = (f.clone(), id.clone());
        burst.spawn(async move { login_from(&f, &id, "Wrong-guess-1", "203.0.113.7:4000", None).await });
    }
    let statuses = burst.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 6, "{checked} of 16 guesses were checked: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    // The owner, from another address, is not locked out by someone else's guesses.
    assert_eq!(login_from(&f, &id, PASSWORD, "198.51.100.20:5000", None).await, 303);
    // Behind a trusted proxy, each forwarded client has its own count...
    assert_eq!(login_from(&f, &id, PASSWORD, "10.1.1.1:5000", Some("198.51.100.21")).await, 303);
    // ...and a client cannot dodge its count by forging the header without a trusted proxy.
    assert_eq!(login_from(&f, &id, PASSWORD, "203.0.113.7:4001", Some("198.51.100.22")).await, 429);
    db.cleanup().await;
}
on_both!(concurrent_guesses_are_counted_before_they_are_checked);

/// Finding 6, the other half: everyone behind one proxy address got 429. Good
/// logins never add up to a lock, whatever their number.
async fn good_logins_never_lock_an_address(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    for p in [P::Citizen, P::OtherCitizen, P::Agent] {
        let id = f.citizen_id(p).to_string();
        for _ in 0..15 {
            assert_eq!(login_from(&f, &id, PASSWORD, "192.0.2.50:1", None).await, 303, "{p:?}");
        }
    }
    db.cleanup().await;
}
on_both!(good_logins_never_lock_an_address);

// ---- 7. personal data on staff pages -------------------------------------------------------

/// Finding 7: the workbench printed ID and phone numbers in full, staff reads
/// were not audited, and admins passed every agency check.
async fn staff_see_masked_identifiers_and_every_read_is_audited(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let no = f.submitted_food_case().await;
    // The agent's phone is in the form; an ID number in a text field too.
    let page = get(&f, P::Reviewer, &format!("/console/cases/{no}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("13800138000") && page.body.contains("138****8000"), "phone masked");
    let reads = audit_of(&f, &no).await;
    assert!(reads.iter().any(|(a, who, _)| a == "personal_data.read" && who == f.id(P::Reviewer)), "{reads:?}");
    // Showing in full needs a reason, which is audited.
    assert_eq!(get(&f, P::Reviewer, &format!("/console/cases/{no}?reveal=1")).await.status, 400);
    let full =
        get(&f, P::Reviewer, &format!("/console/cases/{no}?reveal=1&reason=%E6%A0%B8%E5%AE%9E%E8%81%94%E7%B3%BB%E7%94%B5%E8%AF%9D")).await;
    assert!(full.status == 200 && full.body.contains("13800138000"), "{}", full.status);
    let reads = audit_of(&f, &no).await;
    assert!(reads.iter().any(|(a, _, why)| a == "personal_data.reveal" && why.contains("核实联系电话")), "{reads:?}");
    // The API masks for staff, not for the applicant.
    let staff = get(&f, P::Reviewer, &format!("/api/v1/cases/{no}")).await;
    assert!(staff.body.contains("138****8000") && !staff.body.contains("13800138000"), "{}", staff.body);
    let own = get(&f, P::Agent, &format!("/api/v1/cases/{no}")).await;
    assert!(own.body.contains("13800138000"));
    // A staff download of a material is audited.
    let digest = own.json()["case"]["uploads"][0]["file"]["digest"].as_str().unwrap().to_string();
    let before = audit_of(&f, &no).await.len();
    assert_eq!(get(&f, P::Reviewer, &format!("/api/v1/cases/{no}/materials/{digest}")).await.status, 200);
    assert_eq!(audit_of(&f, &no).await.len(), before + 1);
    // An administrator is no member of the agency: nothing without a support grant.
    assert_eq!(get(&f, P::Admin, &format!("/api/v1/cases/{no}")).await.status, 404);
    let now = jiff::Timestamp::now();
    let mut tx = f.store.begin().await.unwrap();
    tx.grant_support(f.id(P::Admin), AGENCY_A, "协助排查办件问题", "cli", now + jiff::SignedDuration::from_hours(2), now).await.unwrap();
    tx.commit().await.unwrap();
    let got = get(&f, P::Admin, &format!("/api/v1/cases/{no}")).await;
    assert_eq!(got.status, 200);
    assert!(got.body.contains("138****8000"), "masked for support too");
    assert!(audit_of(&f, &no).await.iter().any(|(_, who, why)| who == f.id(P::Admin) && why.contains("支持访问")));
    // Support is reading, never acting.
    let event = serde_json::json!({ "event": { "type": "claimed" } });
    assert_eq!(call(&f, P::Admin, "POST", &format!("/api/v1/cases/{no}/events"), Send::Json(event), None, &[]).await.status, 403);
    db.cleanup().await;
}
on_both!(staff_see_masked_identifiers_and_every_read_is_audited);

// ---- 8–10, 14, 15: the small ones --------------------------------------------------------

/// Finding 8: `/login?next=/%09/evil.example` redirected to `/\t/evil.example`,
/// which browsers read as `//evil.example`.
async fn login_follows_only_local_paths(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    for next in
        ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "https://evil.example/", "/%0d%0aSet-Cookie:x=1", "javascript:alert(1)"]
    {
        let got = get(&f, P::Citizen, &format!("/login?next={next}")).await;
        assert_eq!((got.status, got.location().as_str()), (303, "/account"), "{next}");
        let form = Send::Form(vec![
            ("login", f.citizen_id(P::Citizen).to_string()),
            ("password", PASSWORD.to_string()),
            ("next", form_urlencoded::parse(format!("n={next}").as_bytes()).next().unwrap().1.into_owned()),
        ]);
        let got = call(&f, P::Anon, "POST", "/login", form, Some("192.0.2.80:1"), &[]).await;
        assert_eq!((got.status, got.location().as_str()), (303, "/account"), "{next}");
    }
    assert_eq!(get(&f, P::Citizen, "/login?next=/me/cases").await.location(), "/me/cases");
    db.cleanup().await;
}
on_both!(login_follows_only_local_paths);

/// Finding 9: refresh tokens were minted without `offline_access`.
async fn refresh_tokens_only_with_offline_access(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9mmYf5aSbi8ltZcdZLkS7gDs8";
    let challenge = yiwang_identity::pkce_challenge_s256(VERIFIER);
    for (scope, refresh) in [("openid profile", false), ("openid profile offline_access", true)] {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", "rp"),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("scope", scope),
                ("state", "s"),
                ("nonce", "n"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        let consent = get(&f, P::Citizen, &format!("/oidc/authorize?{query}")).await;
        assert_eq!(consent.status, 200, "{}", consent.body);
        // The consent page may not be framed (finding 10).
        assert_eq!(consent.headers["x-frame-options"], "DENY");
        assert!(consent.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
        let allow = Send::Form(vec![("request", query.clone()), ("decision", "allow".into())]);
        let got = call(&f, P::Citizen, "POST", "/oidc/authorize", allow, None, &[]).await;
        let location = got.location();
        let code = url::Url::parse(&location).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
        let req = Request::builder()
            .method("POST")
            .uri("/oidc/token")
            .header(header::AUTHORIZATION, "Basic cnA6cnAtc2VjcmV0")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", "http://127.0.0.1:9/cb"),
                        ("code_verifier", VERIFIER),
                    ])
                    .finish(),
            ))
            .unwrap();
        let resp = f.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let token: serde_json::Value = serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
        assert_eq!(status, 200, "{location}: {token}");
        assert_eq!(token.get("refresh_token").is_some(), refresh, "{scope}: {token}");
    }
    db.cleanup().await;
}
on_both!(refresh_tokens_only_with_offline_access);

/// Finding 10: no page forbade framing. Every response carries the headers.
async fn every_response_forbids_framing(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    for (p, path) in
        [(P::Anon, "/"), (P::Anon, "/api/v1/agencies"), (P::Anon, "/no/such/page"), (P::Citizen, "/account"), (P::Anon, "/login")]
    {
        let got = get(&f, p, path).await;
        assert_eq!(got.headers["x-frame-options"], "DENY", "{path}");
        let csp = got.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(got.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    }
    // A framework rejection is problem+json too, with the headers.
    let got = call(&f, P::Anon, "DELETE", "/healthz", Send::Nothing, None, &[]).await;
    assert_eq!((got.status, got.headers[header::CONTENT_TYPE].to_str().unwrap()), (405, "application/problem+json"));
    assert_eq!(got.headers["x-frame-options"], "DENY");
    db.cleanup().await;
}
on_both!(every_response_forbids_framing);

/// Finding 14: anyone could lock a case's progress query (the counter was per
/// case and never decayed); license ids with the ID number were in wallet URLs.
async fn query_codes_are_throttled_per_client_and_wallet_urls_are_opaque(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    let new = yiwang_store::NewCase {
        item_code: item_code(AGENCY_A),
        applicant: yiwang_store::Applicant { id_type: "049".into(), id: ENTERPRISE.into(), name: "杭州一网餐饮有限公司".into() },
        account_id: f.id(P::Agent).into(),
        form: serde_json::json!({}),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L2,
        assured: true,
    };
    let (c, code) = f.store.create_case(&new, now).await.unwrap();
    let wrong = if code == "12345678" { "87654321" } else { "12345678" };
    let query = |peer: &'static str, code: String| {
        let f = &f;
        let no = c.case_no.clone();
        async move {
            call(f, P::Anon, "GET", &format!("/api/v1/case-progress?case_no={no}&code={code}"), Send::Nothing, Some(peer), &[]).await.status
        }
    };
    let mut last = 0;
    for _ in 0..12 {
        last = query("203.0.113.9:1", wrong.to_string()).await;
    }
    assert_eq!(last, 429, "the guesser is throttled");
    assert_eq!(query("198.51.100.9:1", code.clone()).await, 200, "the applicant elsewhere is not");
    // Wallet URLs name licenses by an opaque reference, never the id (which holds the ID number).
    let type_code = license_type_of_a(&f, "002").await;
    let mut lic = citizen_license(&f, &type_code, f.citizen_id(P::Citizen), None, serde_json::json!({}));
    lic.holder.name = "张三".into();
    let license =
        f.store.issue_license(&lic, &yiwang_crypto::seal::MasterKey::from_hex(&f.master_hex).unwrap(), "staff:t", now).await.unwrap();
    let wallet = get(&f, P::Citizen, "/me/licenses").await;
    assert_eq!(wallet.status, 200);
    let lref = license.public_ref.clone().unwrap();
    assert!(wallet.body.contains(&format!("/me/licenses/{lref}")), "{}", wallet.body);
    assert!(!wallet.body.contains(f.citizen_id(P::Citizen)) && !wallet.body.contains(&license.id), "{}", wallet.body);
    assert_eq!(get(&f, P::Citizen, &format!("/me/licenses/{}", license.id)).await.status, 404, "the id is no URL");
    assert_eq!(get(&f, P::Citizen, &format!("/me/licenses/{lref}")).await.status, 200);
    // A masked 加注件 of a license whose number is the ID number: neither the page, nor its
    // links, nor the printed copy carry the ID number (in clear or inside the license's token).
    let made = call(
        &f,
        P::Citizen,
        "POST",
        &format!("/me/licenses/{lref}/shares"),
        Send::Form(vec![("purpose", "租房备案".into()), ("days", "7".into())]),
        None,
        &[],
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let link = made.body.split("/licenses/shared/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let shared = get(&f, P::Anon, &format!("/licenses/shared/{link}")).await;
    assert!(shared.status == 200 && shared.body.contains("签章有效"), "{}", shared.body);
    assert!(!shared.body.contains(f.citizen_id(P::Citizen)) && !shared.body.contains("verify?token="), "{}", shared.body);
    let pdf = call(&f, P::Anon, "GET", &format!("/licenses/shared/{link}/copy.pdf"), Send::Nothing, None, &[]).await;
    assert_eq!(pdf.status, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.pdf");
    let resp_bytes = {
        let (cookie, _) = f.login(P::Anon).await;
        let req =
            Request::builder().uri(format!("/licenses/shared/{link}/copy.pdf")).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
        axum::body::to_bytes(f.app.clone().oneshot(req).await.unwrap().into_body(), 8 << 20).await.unwrap()
    };
    std::fs::write(&file, &resp_bytes).unwrap();
    let text = std::process::Command::new("pdftotext").arg(&file).arg("-").output().expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("加注件") && !text.contains(f.citizen_id(P::Citizen)), "{text}");
    let qr = std::process::Command::new("pdftoppm").args(["-r", "150", "-png"]).arg(&file).arg(dir.path().join("page")).status().unwrap();
    assert!(qr.success());
    let scanned = std::process::Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(dir.path().join("page-1.png"))
        .output()
        .expect("zbarimg (zbar-tools)");
    let scanned = String::from_utf8_lossy(&scanned.stdout);
    assert!(
        scanned.contains(&format!("/licenses/shared/{link}")) && !scanned.contains("YL1."),
        "the copy's QR leads to the share: {scanned}"
    );
    db.cleanup().await;
}
on_both!(query_codes_are_throttled_per_client_and_wallet_urls_are_opaque);

/// Finding 13: no upload quota per account.
async fn uploads_are_held_to_a_quota(backend: TestBackend) {
    let (db, f) = fixture_with(backend, yiwang_web::SecuritySettings { upload_quota_mb: 1, ..Default::default() }).await;
    let form = serde_json::json!({ "contact_name": "赵六", "contact_phone": "13800138000" });
    let got = call(
        &f,
        P::Agent,
        "POST",
        "/api/v1/cases",
        Send::Json(serde_json::json!({ "item_code": item_code(AGENCY_A), "form": form })),
        None,
        &[],
    )
    .await;
    assert_eq!(got.status, 201, "{}", got.body);
    let no = got.json()["case"]["case_no"].as_str().unwrap().to_string();
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(700 * 1024, b'x');
    let (status, _) = f.upload(P::Agent, format!("/api/v1/cases/{no}/materials"), "食品经营许可申请书", "a.pdf", &pdf).await;
    assert_eq!(status, 201);
    pdf[20] = b'y';
    let (status, v) = f.upload(P::Agent, format!("/api/v1/cases/{no}/materials"), "营业执照", "b.pdf", &pdf).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("case.upload_quota")), "{v:#}");
    db.cleanup().await;
}
on_both!(uploads_are_held_to_a_quota);

/// Finding 15: a USCC with a letter in its region (positions 3–8) was valid.
async fn a_uscc_region_must_be_digits(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let got = get(&f, P::Anon, "/api/v1/codes/3101011X4606267934").await;
    assert_eq!(got.status, 400, "{}", got.body);
    assert_eq!(got.code(), "codes.region");
    db.cleanup().await;
}
on_both!(a_uscc_region_must_be_digits);

/// Data sharing: a person sees every access to their own data (provided or
/// fetched at this node), on the page and the API; another person sees none
/// of it; an account below the personal-data level sees neither.
async fn a_person_sees_the_accesses_to_their_own_data(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let subject = hex::encode(yiwang_crypto::sm3(f.citizen_id(P::Citizen).to_uppercase().as_bytes()));
    let mut tx = f.store.begin().await.unwrap();
    let access = yiwang_store::DataAccess {
        side: "provider",
        at: "2026-12-07T08:00:00.000000Z".into(),
        resource_code: "330000-RK-0001".into(),
        peer_node: "CN-TEST/NODE/330100".into(),
        consumer: "CN-TEST/GOV/113301000025000337/window".into(),
        operator: "clerk-7f3a".into(),
        purpose: "330100-ITEM-0001".into(),
        issue: Some("330100-2026-000123".into()),
        grant_id: Some("grant_1".into()),
        outcome: "allowed".into(),
        fields: vec!["name".into()],
        subject_sm3: subject,
        msg_id: "01a24f73-65b6-7490-b3e3-4422ae9f2e91".into(),
    };
    tx.log_data_access(&access).await.unwrap();
    tx.commit().await.unwrap();
    let (status, page) = f.page(P::Citizen, "/me/data-accesses".into(), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("330000-RK-0001") && page.contains("已提供") && page.contains("330100-2026-000123"), "{page}");
    let got = get(&f, P::Citizen, "/api/v1/me/data-accesses").await;
    assert_eq!(got.json()["accesses"][0]["purpose"], "330100-ITEM-0001");
    let (_, other) = f.page(P::OtherCitizen, "/me/data-accesses".into(), None).await;
    assert!(!other.contains("330000-RK-0001"));
    let got = get(&f, P::Impostor, "/api/v1/me/data-accesses").await;
    assert_eq!(got.status, 403, "{}", got.body);
    db.cleanup().await;
}
on_both!(a_person_sees_the_accesses_to_their_own_data);

/// Data sharing on the console: the provider's data officer sees the 共享申请
/// for their agency's resource, approves it (the grant is made) and revokes the
/// grant; a head of the agency sees no such page.
async fn a_data_officer_decides_sharing_requests_on_the_console(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    let sharing: yiwang_sharing::ResourceSharing = serde_json::from_value(serde_json::json!({
        "share_type": "conditional", "legal_basis": "第九条",
        "items": [{ "name": "name", "label": "企业名称", "data_type": "string" }],
        "service": "base-data/enterprise/v1",
    }))
    .unwrap();
    let resource = yiwang_catalog::setup::ResourceInput {
        code: "330100-FR-0009".into(),
        name: "法人基础信息".into(),
        provider_uscc: AGENCY_A.into(),
        aliases: vec![],
        sharing: Some(sharing),
    };
    f.store.register_data_resource(&resource, "t", now).await.unwrap().unwrap();
    let app: yiwang_sharing::Application = serde_json::from_value(serde_json::json!({
        "resource": "330100-FR-0009", "fields": ["name"], "purposes": ["330200-ITEM-1"], "scenario": "核验企业名称", "days": 30,
    }))
    .unwrap();
    let due = jiff::civil::date(2026, 12, 21);
    let mut tx = f.store.begin().await.unwrap();
    let id = tx.submit_sharing_request("CN-TEST/GOV/113302000025000417/crm", "CN-TEST/NODE/330200", &app, due, "m-1", now).await.unwrap();
    tx.commit().await.unwrap();
    let (status, page) = f.page(P::DataOfficer, "/console/sharing".into(), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("330100-FR-0009") && page.contains("待办理") && page.contains("核验企业名称"), "{page}");
    let (status, _) = f.page(P::Head, "/console/sharing".into(), None).await;
    assert_eq!(status, 403);
    // A refusal needs its reasons.
    let path = format!("/console/sharing/requests/{id}/decision");
    let (status, page) = f.page(P::DataOfficer, path.clone(), Some(vec![("decision", "reject".into()), ("reason", " ".into())])).await;
    assert_eq!(status, 422);
    assert!(page.contains("理由") || page.contains("reasons"), "{page}");
    let (status, _) = f.page(P::DataOfficer, path.clone(), Some(vec![("decision", "approve".into())])).await;
    assert_eq!(status, 303);
    let decided = f.store.sharing_request(&id).await.unwrap().unwrap();
    let grant = decided.grant_id.expect("approved with a grant");
    let (_, page) = f.page(P::DataOfficer, "/console/sharing".into(), None).await;
    assert!(page.contains("已同意") && page.contains("CN-TEST/GOV/113302000025000417/crm"), "{page}");
    let (status, _) = f.page(P::DataOfficer, format!("/console/sharing/grants/{grant}/revoke"), Some(vec![])).await;
    assert_eq!(status, 303);
    assert!(f.store.grants().await.unwrap().iter().any(|g| g.id == grant && g.revoked_at.is_some()));
    db.cleanup().await;
}
on_both!(a_data_officer_decides_sharing_requests_on_the_console);
