//! The fixture the HTTP tests share: two agencies, a persona per role (and an
//! L1 account that typed a stranger's ID), an enterprise with its agent, a
//! relying party and a published item; requests as any persona.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;
use yiwang_identity::{RealNameLevel, Role, hash_password};
use yiwang_store::{AccountStatus, Agency, BaseEnterprise, BasePerson, NewAccount, Store};
use yiwang_testkit::{TestBackend, TestDb};
use yiwang_web::{AppState, IdentityRuntime, IdentitySettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum P {
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
    /// Issue 19: an L1 account whose owner typed a stranger's ID number
    /// (`STRANGER`, who has base data, a license and a window case, but no
    /// account). Not in `ALL`: the route matrix is about roles.
    Impostor,
}

/// The ID number the impostor typed: a real person in the base data.
pub const STRANGER_BODY: &str = "33010619880808123";

pub const ALL: [P; 14] = [
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

/// One test body, run on SQLite and on PostgreSQL.
#[allow(unused_macros)]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(yiwang_testkit::TestBackend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(yiwang_testkit::TestBackend::Postgres).await
            }
        }
    };
}

pub const PASSWORD: &str = "Matrix-2026";
pub const AGENCY_A: &str = "113301000025000337";
pub const AGENCY_B: &str = "113302000025000417";
pub const ENTERPRISE: &str = "91330106MA2H00014Q";
pub const AGENT_EMAIL: &str = "zhaoliu@example.cn";
pub const AGENT_PHONE: &str = "13900000456";

pub struct Fixture {
    pub store: Store,
    pub app: axum::Router,
    /// The node master key the app signs with (hex, to make a copy for the store).
    pub master_hex: String,
    /// account id per persona (none for Anon)
    pub ids: Vec<(P, String, String)>,
}

pub fn catalog_item(agency: &str, name: &str, division: &str) -> yiwang_catalog::ItemDoc {
    demo_item_of("食品经营许可", agency, name, division)
}

/// The demo item called `item` as implemented by the given agency.
pub fn demo_item_of(item: &str, agency: &str, name: &str, division: &str) -> yiwang_catalog::ItemDoc {
    let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == item).unwrap();
    let place = yiwang_catalog::samples::Place {
        agency: yiwang_catalog::AgencyRef { uscc: agency.into(), name: name.into(), division_code: division.into() },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "市民中心".into(),
        phone: "0571-12345".into(),
    };
    yiwang_catalog::samples::build(spec, &place, &|k| k.to_string()).unwrap()
}

pub fn item_code(agency: &str) -> String {
    format!("{agency}3000104010000")
}

/// A 人口库 row in 杭州西湖区.
pub fn base_person(citizen_id: &str, name: &str, birth_date: &str) -> BasePerson {
    BasePerson {
        citizen_id: citizen_id.into(),
        name: name.into(),
        birth_date: birth_date.into(),
        address_division: "330106".into(),
        status: "normal".into(),
    }
}

pub fn cid(body17: &str) -> String {
    format!("{body17}{}", yiwang_codes::citizen_check_char(body17).unwrap())
}

pub fn valid_uscc(dept_type: &str, division: &str, org8: &str) -> String {
    let body = format!("{dept_type}{division}{org8}{}", yiwang_codes::org_code_check_char(org8).unwrap());
    format!("{body}{}", yiwang_codes::uscc_check_char(&body).unwrap())
}

pub async fn fixture(backend: TestBackend) -> (TestDb, Fixture) {
    let security = yiwang_web::SecuritySettings {
        outbound_allow: vec!["127.0.0.0/8".into()],
        metrics_token: Some(METRICS_TOKEN.into()),
        ..Default::default()
    };
    fixture_with(backend, security).await
}

/// The fixture with the node's `[security]` settings given.
pub async fn fixture_with(backend: TestBackend, security: yiwang_web::SecuritySettings) -> (TestDb, Fixture) {
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
        // The agent has verified contacts, so notices reach them by email and SMS.
        let (phone, email) = if p == P::Agent { (Some(AGENT_PHONE.into()), Some(AGENT_EMAIL.into())) } else { (None, None) };
        let acc = tx
            .create_account(
                &NewAccount {
                    citizen_id: citizen_id.clone(),
                    name: name.into(),
                    phone,
                    email,
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
        tx.upsert_base_person(&base_person(&citizen_id, name, "1990-01-01"), "t", now).await.unwrap();
        for (agency, role) in roles {
            tx.grant_staff_role(&acc.id, agency, *role, "t", now).await.unwrap();
        }
        ids.push((p, acc.id, citizen_id));
    }
    // The impostor: self-registered (L1) with the stranger's ID number and their own email.
    let stranger = cid(STRANGER_BODY);
    tx.upsert_base_person(&base_person(&stranger, "陌生人", "1988-08-08"), "t", now).await.unwrap();
    let impostor = tx
        .create_account(
            &NewAccount {
                citizen_id: stranger.clone(),
                name: "冒名者".into(),
                phone: None,
                email: Some("impostor@example.cn".into()),
                password_hash: Some(hash.clone()),
                level: RealNameLevel::L1,
                level_source: "self_registered".into(),
                status: AccountStatus::Active,
            },
            "t",
            now,
        )
        .await
        .unwrap();
    ids.push((P::Impostor, impostor.id, stranger));
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
    let master = yiwang_crypto::seal::MasterKey::generate();
    let master_hex = master.to_hex().to_string();
    // The webhook test's receiver runs on loopback: an operator's exception.
    let security = yiwang_web::SecurityRuntime::new(&security).unwrap();
    let app = yiwang_web::router(AppState::new(store.clone(), identity).with_master_key(master).with_security(security));
    (db, Fixture { store, app, master_hex, ids })
}

/// The bearer token that reads `/metrics` in these tests.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789";

impl Fixture {
    /// A JSON API call as the persona (with its session and CSRF token): status and body.
    pub async fn json(&self, p: P, method: &'static str, path: String, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.json_with(p, method, path, body, &[]).await.0
    }

    /// A JSON API call with extra headers: (status, body) and the response headers.
    pub async fn json_with(
        &self,
        p: P,
        method: &'static str,
        path: String,
        body: serde_json::Value,
        headers: &[(&str, &str)],
    ) -> ((u16, serde_json::Value), axum::http::HeaderMap) {
        let (cookie, csrf) = self.login(p).await;
        let mut req = Request::builder().method(method).uri(path).header(header::COOKIE, cookie).header("x-csrf-token", csrf);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if method != "GET" {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let resp = self.app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        ((status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default()), headers)
    }

    /// POST an HTML form as the persona (with the CSRF field): status, the
    /// `Location` it redirects to, if any, and the body.
    pub async fn post_form(&self, p: P, path: String, mut pairs: Vec<(&str, String)>) -> (u16, Option<String>, String) {
        let (cookie, csrf) = self.login(p).await;
        pairs.push(("csrf", csrf.clone()));
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(String::from);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, location, String::from_utf8_lossy(&bytes).to_string())
    }

    /// A GET as the persona: status, content type and the body's bytes (a PDF …).
    pub async fn bytes(&self, p: P, path: String) -> (u16, String, Vec<u8>) {
        let (cookie, _) = self.login(p).await;
        let req = Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let kind = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
        (status, kind, bytes.to_vec())
    }

    /// A page as the persona: GET, or POST of an HTML form (with the CSRF field).
    pub async fn page(&self, p: P, path: String, form: Option<Vec<(&str, String)>>) -> (u16, String) {
        let (cookie, csrf) = self.login(p).await;
        let req = Request::builder().uri(path).header(header::COOKIE, cookie);
        let req = match form {
            None => req.body(Body::empty()).unwrap(),
            Some(mut pairs) => {
                pairs.push(("csrf", csrf));
                let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
                req.method("POST").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body)).unwrap()
            }
        };
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).to_string())
    }

    /// The agent's 食品经营许可 application for the enterprise, with every
    /// material, submitted: its case number.
    pub async fn submitted_food_case(&self) -> String {
        self.submitted_food_case_with(serde_json::Map::new()).await
    }

    /// As `submitted_food_case`, with `extra` form fields (the item's form must have them).
    pub async fn submitted_food_case_with(&self, extra: serde_json::Map<String, serde_json::Value>) -> String {
        let mut form = serde_json::json!({
            "contact_name": "王五", "contact_phone": "13800138000",
            "premises": "杭州市西湖区文三路1号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
        });
        for (k, v) in extra {
            form[k] = v;
        }
        let (status, v) = self
            .json(P::Agent, "POST", "/api/v1/cases".into(), serde_json::json!({ "item_code": item_code(AGENCY_A), "form": form }))
            .await;
        assert_eq!(status, 201, "{v:#}");
        let no = v["case"]["case_no"].as_str().unwrap().to_string();
        const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        for m in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件"]
        {
            assert_eq!(self.upload(P::Agent, format!("/api/v1/cases/{no}/materials"), m, "扫描件.pdf", PDF).await.0, 201);
        }
        let commit = serde_json::json!({ "material": "食品安全自查、从业人员健康管理等制度" });
        assert_eq!(self.json(P::Agent, "POST", format!("/api/v1/cases/{no}/commitments"), commit).await.0, 201);
        assert_eq!(self.json(P::Agent, "POST", format!("/api/v1/cases/{no}/submit"), serde_json::Value::Null).await.0, 200);
        no
    }

    /// A multipart material upload (`material`, `file`) as the persona.
    pub async fn upload(&self, p: P, path: String, material: &str, name: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
        let (cookie, csrf) = self.login(p).await;
        let mut body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"material\"\r\n\r\n{material}\r\n--XyZ\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--XyZ--\r\n");
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", csrf)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
            .body(Body::from(body))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default())
    }

    pub fn id(&self, p: P) -> &str {
        &self.ids.iter().find(|x| x.0 == p).unwrap().1
    }

    pub fn citizen_id(&self, p: P) -> &str {
        &self.ids.iter().find(|x| x.0 == p).unwrap().2
    }

    /// A fresh session for the persona (cookie header value, CSRF token).
    pub async fn login(&self, p: P) -> (String, String) {
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

/// A license type (食品经营许可证) of agency A with sequence `seq`.
pub async fn license_type_of_a(f: &Fixture, seq: &str) -> String {
    let mut tx = f.store.begin().await.unwrap();
    let t = yiwang_store::EvidenceType {
        code: format!("{AGENCY_A}{seq}"),
        name: "食品经营许可证".into(),
        agency_uscc: AGENCY_A.into(),
        aliases: vec![],
    };
    tx.upsert_license_type(&t, "t", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    t.code
}

/// A license issued by agency A to the citizen persona 张三.
pub fn citizen_license(
    f: &Fixture,
    type_code: &str,
    number: &str,
    valid_until: Option<jiff::civil::Date>,
    data: serde_json::Value,
) -> yiwang_store::NewLicense {
    yiwang_store::NewLicense {
        type_code: type_code.into(),
        number: number.into(),
        issuer_uscc: AGENCY_A.into(),
        holder: yiwang_store::Holder { name: "张三".into(), id_type: "111".into(), id: f.citizen_id(P::Citizen).to_string() },
        valid_from: "2026-01-01".parse().unwrap(),
        valid_until,
        case_no: None,
        data,
    }
}
