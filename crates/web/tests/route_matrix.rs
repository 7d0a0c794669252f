//! Every route × every role: the exact status each persona gets. Covers the
//! resource rules too — a citizen reading another citizen's account gets the same
//! 404 as for an account that does not exist, and a department head of agency B
//! cannot list agency A's staff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;
use yiwang_identity::{RealNameLevel, Role, hash_password};
use yiwang_store::{AccountStatus, Agency, BaseEnterprise, BasePerson, NewAccount, Store};
use yiwang_testkit::{TestBackend, TestDb};
use yiwang_web::routes::{RouteSpec, route_specs};
use yiwang_web::{AppState, IdentityRuntime, IdentitySettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum P {
    Anon,
    Citizen,
    OtherCitizen,
    Agent,
    LegalRep,
    Clerk,
    Reviewer,
    Head,
    OtherAgencyHead,
    Editor,
    CatalogReviewer,
    Supervisor,
    DataOfficer,
    Admin,
}

const ALL: [P; 14] = [
    P::Anon,
    P::Citizen,
    P::OtherCitizen,
    P::Agent,
    P::LegalRep,
    P::Clerk,
    P::Reviewer,
    P::Head,
    P::OtherAgencyHead,
    P::Editor,
    P::CatalogReviewer,
    P::Supervisor,
    P::DataOfficer,
    P::Admin,
];

const PASSWORD: &str = "Matrix-2026";
const AGENCY_A: &str = "113301000025000337";
const AGENCY_B: &str = "113302000025000417";
const ENTERPRISE: &str = "91330106MA2H00014Q";

struct Fixture {
    store: Store,
    app: axum::Router,
    /// account id per persona (none for Anon)
    ids: Vec<(P, String, String)>,
}

fn catalog_item(agency: &str, name: &str, division: &str) -> yiwang_catalog::ItemDoc {
    let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == "食品经营许可").unwrap();
    let place = yiwang_catalog::samples::Place {
        agency: yiwang_catalog::AgencyRef { uscc: agency.into(), name: name.into(), division_code: division.into() },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "市民中心".into(),
        phone: "0571-12345".into(),
    };
    yiwang_catalog::samples::build(spec, &place, &|k| k.to_string()).unwrap()
}

fn item_code(agency: &str) -> String {
    format!("{agency}3000104010000")
}

fn cid(body17: &str) -> String {
    format!("{body17}{}", yiwang_codes::citizen_check_char(body17).unwrap())
}

fn valid_uscc(dept_type: &str, division: &str, org8: &str) -> String {
    let body = format!("{dept_type}{division}{org8}{}", yiwang_codes::org_code_check_char(org8).unwrap());
    format!("{body}{}", yiwang_codes::uscc_check_char(&body).unwrap())
}

async fn fixture(backend: TestBackend) -> (TestDb, Fixture) {
    assert_eq!(valid_uscc("11", "330100", "00250003"), AGENCY_A);
    assert_eq!(valid_uscc("11", "330200", "00250004"), AGENCY_B);
    assert_eq!(valid_uscc("91", "330106", "MA2H0001"), ENTERPRISE);
    let db = TestDb::new(backend).await.unwrap();
    let store = db.store.clone();
    let now = jiff::Timestamp::now();
    let hash = hash_password(PASSWORD).unwrap();
    let mut tx = store.begin().await.unwrap();
    for (u, name, div) in [(AGENCY_A, "杭州市市场监督管理局", "330100"), (AGENCY_B, "宁波市市场监督管理局", "330200")] {
        tx.upsert_agency(&Agency { uscc: u.into(), name: name.into(), division_code: div.into(), level: "municipal".into() }, "t", now)
            .await
            .unwrap();
    }
    type Person = (P, &'static str, &'static str, &'static [(&'static str, Role)]);
    let people: [Person; 13] = [
        (P::Citizen, "张三", "33010619900101123", &[]),
        (P::OtherCitizen, "李四", "33010619920202234", &[]),
        (P::Agent, "赵六", "33010619950404456", &[]),
        (P::LegalRep, "王五", "33010619850303345", &[]),
        (P::Clerk, "钱一", "33010219800101001", &[(AGENCY_A, Role::WindowClerk)]),
        (P::Reviewer, "孙二", "33010219800101002", &[(AGENCY_A, Role::Reviewer)]),
        (P::Head, "周三", "33010219800101003", &[(AGENCY_A, Role::DepartmentHead)]),
        (P::OtherAgencyHead, "卫九", "33020319800101009", &[(AGENCY_B, Role::DepartmentHead), (AGENCY_B, Role::Reviewer)]),
        (P::Editor, "吴四", "33010219800101004", &[(AGENCY_A, Role::CatalogEditor)]),
        (P::CatalogReviewer, "郑五", "33010219800101005", &[(AGENCY_A, Role::CatalogReviewer)]),
        (P::Supervisor, "冯六", "33010219800101006", &[(AGENCY_A, Role::Supervisor)]),
        (P::DataOfficer, "陈七", "33010219800101007", &[(AGENCY_A, Role::DataOfficer)]),
        (P::Admin, "褚八", "33010219800101008", &[(AGENCY_A, Role::Admin)]),
    ];
    let mut ids = Vec::new();
    for (p, name, body, roles) in people {
        let citizen_id = cid(body);
        let acc = tx
            .create_account(
                &NewAccount {
                    citizen_id: citizen_id.clone(),
                    name: name.into(),
                    phone: None,
                    email: None,
                    password_hash: Some(hash.clone()),
                    level: RealNameLevel::L2,
                    level_source: "test".into(),
                    status: AccountStatus::Active,
                },
                "t",
                now,
            )
            .await
            .unwrap();
        tx.upsert_base_person(
            &BasePerson {
                citizen_id: citizen_id.clone(),
                name: name.into(),
                birth_date: "1990-01-01".into(),
                address_division: "330106".into(),
                status: "normal".into(),
            },
            "t",
            now,
        )
        .await
        .unwrap();
        for (agency, role) in roles {
            tx.grant_staff_role(&acc.id, agency, *role, "t", now).await.unwrap();
        }
        ids.push((p, acc.id, citizen_id));
    }
    let rep = ids.iter().find(|x| x.0 == P::LegalRep).unwrap().clone();
    let agent = ids.iter().find(|x| x.0 == P::Agent).unwrap().clone();
    tx.upsert_base_enterprise(
        &BaseEnterprise {
            uscc: ENTERPRISE.into(),
            name: "杭州一网餐饮有限公司".into(),
            legal_rep_name: "王五".into(),
            legal_rep_id: rep.2.clone(),
            registration_status: "active".into(),
        },
        "t",
        now,
    )
    .await
    .unwrap();
    tx.create_enterprise(ENTERPRISE, "杭州一网餐饮有限公司", &rep.1, "t", now).await.unwrap();
    tx.add_enterprise_agent(ENTERPRISE, &agent.1, &rep.1, now).await.unwrap();
    tx.create_oidc_client(
        "rp",
        Some(&yiwang_identity::token_hash("rp-secret")),
        "测试应用",
        &["http://127.0.0.1:9/cb".to_string()],
        &["http://127.0.0.1:9/".to_string()],
        false,
        "t",
        now,
    )
    .await
    .unwrap();
    // A published item of agency A and a draft of agency B.
    for (agency, name, div, publish) in
        [(AGENCY_A, "杭州市市场监督管理局", "330100", true), (AGENCY_B, "宁波市市场监督管理局", "330200", false)]
    {
        let doc = catalog_item(agency, name, div);
        tx.import_item(&doc, publish, "t", now).await.unwrap();
    }
    tx.commit().await.unwrap();
    let identity = IdentityRuntime::new(&IdentitySettings::default(), "127.0.0.1:1");
    let app = yiwang_web::router(AppState::new(store.clone(), identity));
    (db, Fixture { store, app, ids })
}

impl Fixture {
    fn id(&self, p: P) -> &str {
        &self.ids.iter().find(|x| x.0 == p).unwrap().1
    }

    fn citizen_id(&self, p: P) -> &str {
        &self.ids.iter().find(|x| x.0 == p).unwrap().2
    }

    /// A fresh session for the persona (cookie header value, CSRF token).
    async fn login(&self, p: P) -> (String, String) {
        if p == P::Anon {
            let csrf = "A".repeat(43);
            return (format!("yiwang_csrf={csrf}"), csrf);
        }
        let mut tx = self.store.begin().await.unwrap();
        let s = tx.create_session(self.id(p), "pwd", &Default::default(), jiff::Timestamp::now()).await.unwrap();
        tx.commit().await.unwrap();
        match p {
            P::Agent | P::LegalRep => self.store.set_session_acting(&s.sid, Some(ENTERPRISE)).await.unwrap(),
            _ => {}
        }
        (format!("yiwang_session={}", s.token), s.csrf)
    }
}

enum Body_ {
    None,
    Form(Vec<(&'static str, String)>),
    Json(serde_json::Value),
}

/// A concrete request for a route and the status each persona must get.
struct Case {
    method: &'static str,
    template: &'static str,
    path: String,
    body: Body_,
    expect: Box<dyn Fn(P) -> u16>,
}

fn staff(p: P) -> bool {
    !matches!(p, P::Anon | P::Citizen | P::OtherCitizen | P::Agent | P::LegalRep)
}

fn authed(ok: u16) -> Box<dyn Fn(P) -> u16> {
    Box::new(move |p| if p == P::Anon { 401 } else { ok })
}

fn only(allowed: &'static [P], ok: u16, other: u16) -> Box<dyn Fn(P) -> u16> {
    Box::new(move |p| {
        if allowed.contains(&p) {
            ok
        } else if p == P::Anon {
            401
        } else {
            other
        }
    })
}

fn all(status: u16) -> Box<dyn Fn(P) -> u16> {
    Box::new(move |_| status)
}

fn cases(f: &Fixture) -> Vec<Case> {
    let authorize = "/oidc/authorize?response_type=code&client_id=rp&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20profile&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    let consent_request = authorize.trim_start_matches("/oidc/authorize?").to_string();
    let zhang = f.citizen_id(P::Citizen).to_string();
    let (item_a, item_b) = (item_code(AGENCY_A), item_code(AGENCY_B));
    let item_b_doc = serde_json::to_value(catalog_item(AGENCY_B, "宁波市市场监督管理局", "330200")).unwrap();
    let mut item_b_new = item_b_doc.clone();
    item_b_new["implementation_code"] = serde_json::json!(format!("{AGENCY_B}3000199001000"));
    item_b_new["basic_code"] = serde_json::json!("000199001000");
    let c = |method, template, path: &str, body, expect| Case { method, template, path: path.to_string(), body, expect };
    vec![
        c("GET", "/", "/", Body_::None, all(200)),
        c("GET", "/healthz", "/healthz", Body_::None, all(200)),
        c("GET", "/readyz", "/readyz", Body_::None, all(200)),
        c("GET", "/metrics", "/metrics", Body_::None, all(200)),
        c("GET", "/login", "/login", Body_::None, Box::new(|p| if p == P::Anon { 200 } else { 303 })),
        c(
            "POST",
            "/login",
            "/login",
            Body_::Form(vec![("login", zhang.clone()), ("password", PASSWORD.into()), ("next", "/account".into())]),
            all(303),
        ),
        c("GET", "/register", "/register", Body_::None, all(200)),
        c(
            "POST",
            "/register",
            "/register",
            Body_::Form(vec![("citizen_id", "110105194912310021".into()), ("name", "某人".into())]),
            all(422),
        ),
        c("GET", "/register/verify", "/register/verify?account=acc_none", Body_::None, all(404)),
        c(
            "POST",
            "/register/verify",
            "/register/verify",
            Body_::Form(vec![("account", "acc_none".into()), ("code", "123456".into())]),
            all(404),
        ),
        c("GET", "/account", "/account", Body_::None, authed(200)),
        c("POST", "/account/acting", "/account/acting", Body_::Form(vec![("as", "self".into())]), authed(303)),
        c(
            "POST",
            "/account/enterprises",
            "/account/enterprises",
            Body_::Form(vec![("uscc", ENTERPRISE.into())]),
            // Already opened by its legal representative (409); nobody else is its representative (404).
            Box::new(|p| match p {
                P::Anon => 401,
                P::LegalRep => 409,
                _ => 404,
            }),
        ),
        c("POST", "/logout", "/logout", Body_::Form(vec![]), authed(303)),
        c("POST", "/logout/all", "/logout/all", Body_::Form(vec![]), authed(303)),
        c(
            "GET",
            "/console",
            "/console",
            Body_::None,
            Box::new(|p| {
                if p == P::Anon {
                    401
                } else if staff(p) {
                    200
                } else {
                    403
                }
            }),
        ),
        c("GET", "/.well-known/openid-configuration", "/.well-known/openid-configuration", Body_::None, all(200)),
        c("GET", "/oidc/jwks", "/oidc/jwks", Body_::None, all(200)),
        c("GET", "/oidc/authorize", authorize, Body_::None, Box::new(|p| if p == P::Anon { 303 } else { 200 })),
        c(
            "POST",
            "/oidc/authorize",
            "/oidc/authorize",
            Body_::Form(vec![("request", consent_request), ("decision", "allow".into())]),
            authed(303),
        ),
        c(
            "POST",
            "/oidc/token",
            "/oidc/token",
            Body_::Form(vec![("grant_type", "authorization_code".into()), ("client_id", "rp".into())]),
            all(401),
        ),
        c("GET", "/oidc/userinfo", "/oidc/userinfo", Body_::None, all(401)),
        c("POST", "/oidc/userinfo", "/oidc/userinfo", Body_::Form(vec![]), all(401)),
        c("GET", "/oidc/logout", "/oidc/logout", Body_::None, Box::new(|p| if p == P::Anon { 303 } else { 200 })),
        c("POST", "/oidc/logout", "/oidc/logout", Body_::Form(vec![]), all(303)),
        c("GET", "/federation/{provider}/login", "/federation/nowhere/login", Body_::None, all(404)),
        c("GET", "/federation/{provider}/callback", "/federation/nowhere/callback?state=x&code=y", Body_::None, all(404)),
        c("GET", "/api/v1/codes/{value}", "/api/v1/codes/11010519491231002X", Body_::None, all(200)),
        c("GET", "/api/v1/calendar/days/{date}", "/api/v1/calendar/days/2026-10-01", Body_::None, all(200)),
        c(
            "PUT",
            "/api/v1/calendar/days/{date}",
            "/api/v1/calendar/days/2026-12-31",
            Body_::Json(serde_json::json!({ "kind": "normal" })),
            only(&[P::Admin], 200, 403),
        ),
        c("GET", "/api/v1/calendar/add-workdays", "/api/v1/calendar/add-workdays?start=2025-09-26&n=20", Body_::None, all(200)),
        c("GET", "/api/v1/seals", "/api/v1/seals", Body_::None, all(200)),
        c("GET", "/licenses/verify", "/licenses/verify?token=YL1.x.y", Body_::None, all(200)),
        c("GET", "/api/v1/licenses/verify", "/api/v1/licenses/verify?token=YL1.x.y", Body_::None, all(200)),
        c(
            "POST",
            "/api/v1/licenses/verify",
            "/api/v1/licenses/verify",
            Body_::Json(
                serde_json::json!({ "record": { "id": "x" }, "seal": { "alg": "SM2-SM3", "key_id": "none", "signer": "x", "signature": "00" } }),
            ),
            all(200),
        ),
        c("GET", "/api/v1/me", "/api/v1/me", Body_::None, authed(200)),
        c(
            "GET",
            "/api/v1/licenses/{id}",
            "/api/v1/licenses/none?reason=%E6%A0%B8%E9%AA%8C",
            Body_::None,
            only(&[P::Clerk, P::Reviewer, P::OtherAgencyHead, P::DataOfficer], 404, 403),
        ),
        c("GET", "/api/v1/me/licenses", "/api/v1/me/licenses", Body_::None, authed(200)),
        c("GET", "/api/v1/me/licenses/{id}/uses", "/api/v1/me/licenses/none/uses", Body_::None, authed(404)),
        // Another person's account: invisible (404, as if absent), except to admins.
        c(
            "GET",
            "/api/v1/accounts/{id}",
            &format!("/api/v1/accounts/{}", f.id(P::Citizen)),
            Body_::None,
            only(&[P::Citizen, P::Admin], 200, 404),
        ),
        c(
            "GET",
            "/api/v1/enterprises/{uscc}",
            &format!("/api/v1/enterprises/{ENTERPRISE}"),
            Body_::None,
            only(&[P::Agent, P::LegalRep, P::Admin], 200, 404),
        ),
        c(
            "POST",
            "/api/v1/enterprises/{uscc}/agents",
            &format!("/api/v1/enterprises/{ENTERPRISE}/agents"),
            Body_::Json(serde_json::json!({ "citizen_id": f.citizen_id(P::OtherCitizen), "name": "李四" })),
            only(&[P::LegalRep], 200, 403),
        ),
        c(
            "DELETE",
            "/api/v1/enterprises/{uscc}/agents/{account_id}",
            &format!("/api/v1/enterprises/{ENTERPRISE}/agents/{}", f.id(P::OtherCitizen)),
            Body_::None,
            only(&[P::LegalRep], 200, 403),
        ),
        c("GET", "/api/v1/agencies", "/api/v1/agencies", Body_::None, all(200)),
        // Agency A's staff: A's department head and admins; B's head is refused.
        c(
            "GET",
            "/api/v1/agencies/{uscc}/staff",
            &format!("/api/v1/agencies/{AGENCY_A}/staff"),
            Body_::None,
            only(&[P::Head, P::Admin], 200, 403),
        ),
        c(
            "GET",
            "/api/v1/base/persons/{citizen_id}",
            &format!("/api/v1/base/persons/{zhang}?reason=%E7%AA%97%E5%8F%A3%E6%A0%B8%E9%AA%8C"),
            Body_::None,
            only(&[P::Clerk, P::Reviewer, P::OtherAgencyHead, P::DataOfficer], 200, 403),
        ),
        c(
            "POST",
            "/api/v1/real-name/in-person",
            "/api/v1/real-name/in-person",
            Body_::Json(serde_json::json!({ "citizen_id": zhang, "name": "张三", "evidence": "核验居民身份证原件" })),
            only(&[P::Clerk], 200, 403),
        ),
        c("GET", "/api/v1/oidc/clients", "/api/v1/oidc/clients", Body_::None, only(&[P::Admin], 200, 403)),
        // Item catalog: public.
        c("GET", "/items", "/items?q=%E9%A4%90%E9%A5%AE", Body_::None, all(200)),
        c("GET", "/items/{code}", &format!("/items/{item_a}"), Body_::None, all(200)),
        c("GET", "/items/{code}/guide.pdf", &format!("/items/{item_a}/guide.pdf"), Body_::None, all(200)),
        c("GET", "/static/htmx.min.js", "/static/htmx.min.js", Body_::None, all(200)),
        c("GET", "/api/v1/items", "/api/v1/items?q=%E9%A4%90%E9%A5%AE", Body_::None, all(200)),
        // B's item is only a draft: not public.
        c("GET", "/api/v1/items/{code}", &format!("/api/v1/items/{item_b}"), Body_::None, all(404)),
        c("GET", "/api/v1/catalog/export", "/api/v1/catalog/export?format=cpsv-ap", Body_::None, all(200)),
        // Item catalog: staff. A's editor cannot create in B (403) nor see B's draft (404).
        c("GET", "/api/v1/catalog/items", "/api/v1/catalog/items", Body_::None, only(&[P::Editor, P::CatalogReviewer], 200, 403)),
        c("POST", "/api/v1/catalog/items", "/api/v1/catalog/items", Body_::Json(item_b_new.clone()), only(&[P::Editor], 403, 403)),
        c(
            "PUT",
            "/api/v1/catalog/items/{code}/draft",
            &format!("/api/v1/catalog/items/{item_b}/draft"),
            Body_::Json(item_b_doc.clone()),
            only(&[P::Editor], 404, 403),
        ),
        // Submitting a published version: the editor is told it is the wrong state; a reviewer may not submit.
        c(
            "POST",
            "/api/v1/catalog/items/{code}/{action}",
            &format!("/api/v1/catalog/items/{item_a}/submit"),
            Body_::Json(serde_json::json!({})),
            only(&[P::Editor], 409, 403),
        ),
        c(
            "GET",
            "/api/v1/catalog/items/{code}/versions",
            &format!("/api/v1/catalog/items/{item_a}/versions"),
            Body_::None,
            only(&[P::Editor, P::CatalogReviewer], 200, 403),
        ),
        c(
            "GET",
            "/api/v1/catalog/items/{code}/diff",
            &format!("/api/v1/catalog/items/{item_a}/diff?from=1&to=1"),
            Body_::None,
            only(&[P::Editor, P::CatalogReviewer], 200, 403),
        ),
        c(
            "GET",
            "/api/v1/catalog/analysis",
            "/api/v1/catalog/analysis",
            Body_::None,
            only(&[P::Editor, P::CatalogReviewer, P::Supervisor, P::DataOfficer], 200, 403),
        ),
        c("GET", "/console/catalog", "/console/catalog", Body_::None, only(&[P::Editor, P::CatalogReviewer], 200, 403)),
        c(
            "POST",
            "/console/catalog",
            "/console/catalog",
            Body_::Form(vec![("agency", AGENCY_B.into()), ("basic_code", "000199001000".into()), ("name", "测试事项".into())]),
            only(&[P::Editor], 403, 403),
        ),
        c(
            "GET",
            "/console/catalog/analysis",
            "/console/catalog/analysis",
            Body_::None,
            only(&[P::Editor, P::CatalogReviewer, P::Supervisor, P::DataOfficer], 200, 403),
        ),
        c(
            "GET",
            "/console/catalog/{code}",
            &format!("/console/catalog/{item_a}"),
            Body_::None,
            only(&[P::Editor, P::CatalogReviewer], 200, 403),
        ),
        c(
            "POST",
            "/console/catalog/{code}/action",
            &format!("/console/catalog/{item_a}/action"),
            Body_::Form(vec![("action", "submit".into())]),
            only(&[P::Editor], 409, 403),
        ),
        c("GET", "/console/catalog/{code}/edit", &format!("/console/catalog/{item_a}/edit"), Body_::None, only(&[P::Editor], 200, 403)),
        c(
            "POST",
            "/console/catalog/{code}/edit",
            &format!("/console/catalog/{item_a}/edit"),
            Body_::Form(vec![("name", "x".into()), ("doc_json", "{not json".into())]),
            only(&[P::Editor], 422, 403),
        ),
        c(
            "GET",
            "/console/catalog/{code}/diff",
            &format!("/console/catalog/{item_a}/diff?from=1&to=1"),
            Body_::None,
            only(&[P::Editor, P::CatalogReviewer], 200, 403),
        ),
        // Only node administrators deploy (this body is not BPMN: 422); any staff may simulate or read.
        c("POST", "/api/v1/workflows", "/api/v1/workflows", Body_::Json(serde_json::json!("<not-bpmn/>")), only(&[P::Admin], 422, 403)),
        c(
            "POST",
            "/api/v1/workflows/simulate",
            "/api/v1/workflows/simulate",
            Body_::Json(serde_json::json!({ "bpmn": MINIMAL_BPMN })),
            Box::new(|p| staff_or(p, 200)),
        ),
        c("GET", "/api/v1/workflows/{process_id}", "/api/v1/workflows/none", Body_::None, Box::new(|p| staff_or(p, 404))),
    ]
}

const MINIMAL_BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" isExecutable="true"><startEvent id="s"/><endEvent id="e"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/></process></definitions>"#;

/// Staff get `ok`; others are refused (401 anonymous, 403 signed in).
fn staff_or(p: P, ok: u16) -> u16 {
    if p == P::Anon {
        401
    } else if staff(p) {
        ok
    } else {
        403
    }
}

async fn run_matrix(backend: TestBackend) {
    let (db, f) = fixture(backend).await;
    let cases = cases(&f);
    // The table must name every route, and only routes that exist.
    let routes: BTreeSet<(String, String)> = route_specs().iter().map(|s: &RouteSpec| (s.method.to_string(), s.path.to_string())).collect();
    let covered: BTreeSet<(String, String)> = cases.iter().map(|c| (c.method.to_string(), c.template.to_string())).collect();
    assert_eq!(routes, covered, "every route must appear in the matrix exactly");
    let mut failures = Vec::new();
    for case in &cases {
        for p in ALL {
            let (cookie, csrf) = f.login(p).await;
            let mut req = Request::builder().method(case.method).uri(&case.path).header(header::COOKIE, cookie);
            let body = match &case.body {
                Body_::None => {
                    req = req.header("x-csrf-token", &csrf);
                    Body::empty()
                }
                Body_::Form(fields) => {
                    req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                    let mut s = form_urlencoded::Serializer::new(String::new());
                    s.append_pair("csrf", &csrf);
                    for (k, v) in fields {
                        s.append_pair(k, v);
                    }
                    Body::from(s.finish())
                }
                Body_::Json(v) => {
                    req = req.header(header::CONTENT_TYPE, "application/json").header("x-csrf-token", &csrf);
                    Body::from(v.to_string())
                }
            };
            let resp = f.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
            let want = (case.expect)(p);
            let got = resp.status().as_u16();
            if got != want {
                let bytes = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap_or_default();
                failures.push(format!(
                    "{} {} as {p:?}: got {got}, want {want}: {}",
                    case.method,
                    case.path,
                    String::from_utf8_lossy(&bytes).chars().take(200).collect::<String>()
                ));
            }
        }
    }
    db.cleanup().await;
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn route_role_matrix_sqlite() {
    run_matrix(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn route_role_matrix_postgres() {
    run_matrix(TestBackend::Postgres).await;
}

/// Without the CSRF token a state-changing request is refused and changes nothing.
#[tokio::test]
async fn csrf_is_required_on_state_changing_requests() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let (cookie, _) = f.login(P::Admin).await;
    for (body, ct) in [("kind=normal", "application/x-www-form-urlencoded"), ("{\"kind\":\"holiday\"}", "application/json")] {
        let req = Request::builder()
            .method("PUT")
            .uri("/api/v1/calendar/days/2026-12-31")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap();
        let resp = f.app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), 403);
    }
    assert!(f.store.calendar_days(2026).await.unwrap().iter().all(|d| d.day.to_string() != "2026-12-31"));
    db.cleanup().await;
}

/// Every agency read of a license appears in its holder's use log, and nobody
/// else sees that log.
#[tokio::test]
async fn an_agency_use_of_a_license_shows_in_the_holders_log() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let now = jiff::Timestamp::now();
    let mut tx = f.store.begin().await.unwrap();
    let t = yiwang_store::EvidenceType {
        code: format!("{AGENCY_A}001"),
        name: "食品经营许可证".into(),
        agency_uscc: AGENCY_A.into(),
        aliases: vec![],
    };
    tx.upsert_license_type(&t, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let holder = yiwang_store::Holder { name: "张三".into(), id_type: "111".into(), id: f.citizen_id(P::Citizen).to_string() };
    let new = yiwang_store::NewLicense {
        type_code: t.code.clone(),
        number: "JY13301020000009".into(),
        issuer_uscc: AGENCY_A.into(),
        holder,
        valid_from: "2026-01-01".parse().unwrap(),
        valid_until: None,
        case_no: None,
        data: serde_json::json!({}),
    };
    let license = f.store.issue_license(&new, &yiwang_crypto::seal::MasterKey::generate(), "staff:t", now).await.unwrap();
    let get = |p: P, path: String| {
        let f = &f;
        async move {
            let (cookie, _) = f.login(p).await;
            let req = Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
            let resp = f.app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            (status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default())
        }
    };
    // Without a reason the read is refused and nothing is logged.
    let (status, _) = get(P::Clerk, format!("/api/v1/licenses/{}", license.id)).await;
    assert_eq!(status, 422);
    let (status, v) =
        get(P::Clerk, format!("/api/v1/licenses/{}?reason=%E5%8A%9E%E7%90%86%E5%8F%98%E6%9B%B4&case_no=C1", license.id)).await;
    assert_eq!((status, v["license"]["id"].as_str()), (200, Some(license.id.as_str())), "{v:#}");

    let (status, v) = get(P::Citizen, "/api/v1/me/licenses".into()).await;
    assert_eq!((status, v["licenses"][0]["id"].as_str()), (200, Some(license.id.as_str())), "{v:#}");
    let (status, v) = get(P::Citizen, format!("/api/v1/me/licenses/{}/uses", license.id)).await;
    assert_eq!(status, 200, "{v:#}");
    let uses = v["uses"].as_array().unwrap();
    assert_eq!(uses.len(), 1, "{v:#}");
    assert_eq!(
        (uses[0]["reason"].as_str(), uses[0]["agency_name"].as_str(), uses[0]["case_no"].as_str()),
        (Some("办理变更"), Some("杭州市市场监督管理局"), Some("C1"))
    );
    // Another person sees neither the license nor its log.
    let (_, v) = get(P::OtherCitizen, "/api/v1/me/licenses".into()).await;
    assert_eq!(v["licenses"].as_array().map(Vec::len), Some(0));
    let (status, _) = get(P::OtherCitizen, format!("/api/v1/me/licenses/{}/uses", license.id)).await;
    assert_eq!(status, 404);
    db.cleanup().await;
}
