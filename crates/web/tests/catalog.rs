//! The catalog lifecycle through the real router, on both backends: an editor
//! creates, edits and submits; a reviewer publishes; a change makes a new
//! version while the old one stays readable; four eyes; agency A's editor cannot
//! touch agency B's items; the same through the console's forms; every step in
//! the audit log.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::{Value, json};
use tower::ServiceExt;
use yiwang_identity::{RealNameLevel, Role};
use yiwang_store::{AccountStatus, Agency, NewAccount, Store};
use yiwang_testkit::both_backends;
use yiwang_web::{AppState, IdentityRuntime, IdentitySettings};

const AGENCY_A: &str = "113301000025000337";
const AGENCY_B: &str = "113302000025000417";
const PROVINCE: &str = "113300000025000169";

struct Node {
    store: Store,
    app: axum::Router,
}

/// A logged-in staff member: session cookie and CSRF token.
struct Who {
    cookie: String,
    csrf: String,
}

struct Resp {
    status: u16,
    location: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.body))
    }
}

impl Node {
    async fn send(&self, who: Option<&Who>, method: &str, path: &str, body: Option<Body>, content_type: &str) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(w) = who {
            req = req.header(header::COOKIE, &w.cookie).header("x-csrf-token", &w.csrf);
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, content_type);
        }
        let resp = self.app.clone().oneshot(req.body(body.unwrap_or_else(Body::empty)).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
        Resp { status, location, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, who: Option<&Who>, path: &str) -> Resp {
        self.send(who, "GET", path, None, "").await
    }

    async fn json(&self, who: &Who, method: &str, path: &str, body: Value) -> Resp {
        self.send(Some(who), method, path, Some(Body::from(body.to_string())), "application/json").await
    }

    async fn form(&self, who: &Who, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &who.csrf));
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.send(Some(who), "POST", path, Some(Body::from(body)), "application/x-www-form-urlencoded").await
    }

    async fn staff(&self, name: &str, body17: &str, grants: &[(&str, Role)]) -> Who {
        let now = jiff::Timestamp::now();
        let citizen_id = format!("{body17}{}", yiwang_codes::citizen_check_char(body17).unwrap());
        let mut tx = self.store.begin().await.unwrap();
        let acc = tx
            .create_account(
                &NewAccount {
                    citizen_id,
                    name: name.into(),
                    phone: None,
                    email: None,
                    password_hash: None,
                    level: RealNameLevel::L3,
                    level_source: "test".into(),
                    status: AccountStatus::Active,
                },
                "t",
                now,
            )
            .await
            .unwrap();
        for (agency, role) in grants {
            tx.grant_staff_role(&acc.id, agency, *role, "t", now).await.unwrap();
        }
        let s = tx.create_session(&acc.id, "pwd", &Default::default(), now).await.unwrap();
        tx.commit().await.unwrap();
        Who { cookie: format!("yiwang_session={}", s.token), csrf: s.csrf }
    }
}

async fn node(db: &yiwang_testkit::TestDb) -> Node {
    let store = db.store.clone();
    let now = jiff::Timestamp::now();
    let mut tx = store.begin().await.unwrap();
    for (uscc, name, division, level) in [
        (AGENCY_A, "杭州市市场监督管理局", "330100", "municipal"),
        (AGENCY_B, "宁波市市场监督管理局", "330200", "municipal"),
        (PROVINCE, "浙江省政务服务管理办公室", "330000", "provincial"),
    ] {
        tx.upsert_agency(&Agency { uscc: uscc.into(), name: name.into(), division_code: division.into(), level: level.into() }, "t", now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let identity = IdentityRuntime::new(&IdentitySettings::default(), "127.0.0.1:1");
    Node { store: store.clone(), app: yiwang_web::router(AppState::new(store, identity)) }
}

/// The demo's 食品经营许可 as a new item of `agency`.
fn item(agency: &str, name: &str, division: &str) -> Value {
    let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == "食品经营许可").unwrap();
    let place = yiwang_catalog::samples::Place {
        agency: yiwang_catalog::AgencyRef { uscc: agency.into(), name: name.into(), division_code: division.into() },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "杭州市民中心".into(),
        phone: "0571-85252000".into(),
    };
    serde_json::to_value(yiwang_catalog::samples::build(spec, &place, &|k| k.to_string()).unwrap()).unwrap()
}

both_backends!(publish_version_and_audit_through_the_api, |db| {
    let n = node(db).await;
    let editor_a = n.staff("吴四", "33010219800101004", &[(AGENCY_A, Role::CatalogEditor)]).await;
    let editor_b = n.staff("王编", "33020319800101012", &[(AGENCY_B, Role::CatalogEditor)]).await;
    let reviewer = n.staff("郑五", "33010219800101005", &[(PROVINCE, Role::CatalogReviewer)]).await;
    let doc = item(AGENCY_A, "杭州市市场监督管理局", "330100");
    let code = doc["implementation_code"].as_str().unwrap().to_string();
    let items = "/api/v1/catalog/items";

    // B's editor cannot create an item for A; A's editor can.
    assert_eq!(n.json(&editor_b, "POST", items, doc.clone()).await.status, 403);
    let created = n.json(&editor_a, "POST", items, doc.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(n.json(&editor_a, "POST", items, doc.clone()).await.json()["code"], "catalog.exists");
    // A draft is not public.
    assert_eq!(n.get(None, &format!("/api/v1/items/{code}")).await.status, 404);
    // B's editor neither sees nor edits A's item.
    assert_eq!(n.json(&editor_b, "PUT", &format!("{items}/{code}/draft"), doc.clone()).await.status, 404);
    assert_eq!(n.json(&editor_b, "POST", &format!("{items}/{code}/submit"), json!({})).await.status, 404);
    let listed_by_b = n.get(Some(&editor_b), items).await.json();
    assert_eq!(listed_by_b["total"], 0, "{listed_by_b}");

    // Invalid content is refused with every field named, and nothing changes.
    let mut bad = doc.clone();
    bad["name"] = json!("");
    bad["promised_limit"]["amount"] = json!(999);
    let refused = n.json(&editor_a, "PUT", &format!("{items}/{code}/draft"), bad).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let fields: Vec<String> =
        refused.json()["detail"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().into()).collect();
    assert!(fields.contains(&"name".to_string()) && fields.contains(&"promised_limit.amount".to_string()), "{fields:?}");

    // Submit; the editor cannot publish; the provincial reviewer can.
    assert_eq!(n.json(&editor_a, "POST", &format!("{items}/{code}/submit"), json!({})).await.status, 200);
    assert_eq!(n.json(&editor_a, "PUT", &format!("{items}/{code}/draft"), doc.clone()).await.status, 409, "submitted is immutable");
    assert_eq!(n.json(&editor_a, "POST", &format!("{items}/{code}/publish"), json!({})).await.status, 403);
    let published = n.json(&reviewer, "POST", &format!("{items}/{code}/publish"), json!({ "note": "同意发布" })).await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(published.json()["published_version"], 1);
    let public = n.get(None, &format!("/api/v1/items/{code}")).await;
    assert_eq!(public.status, 200);
    assert_eq!(public.json()["item"]["name"], "食品经营许可", "{}", public.body);

    // A change is a new version; the published one stays in force until the next publish.
    let mut v2 = doc.clone();
    v2["name"] = json!("食品经营许可（含网络餐饮）");
    let saved = n.json(&editor_a, "PUT", &format!("{items}/{code}/draft"), v2.clone()).await;
    assert_eq!(saved.json()["version"], 2, "{}", saved.body);
    assert_eq!(n.get(None, &format!("/api/v1/items/{code}")).await.json()["item"]["name"], "食品经营许可");
    assert_eq!(n.json(&editor_a, "POST", &format!("{items}/{code}/submit"), json!({})).await.status, 200);
    let returned = n.json(&reviewer, "POST", &format!("{items}/{code}/return"), json!({ "note": "请补充法律依据" })).await;
    assert_eq!(returned.status, 200, "{}", returned.body);
    assert_eq!(n.json(&editor_a, "POST", &format!("{items}/{code}/submit"), json!({})).await.status, 200);
    assert_eq!(n.json(&reviewer, "POST", &format!("{items}/{code}/publish"), json!({})).await.status, 200);
    assert_eq!(n.get(None, &format!("/api/v1/items/{code}")).await.json()["item"]["name"], "食品经营许可（含网络餐饮）");
    // Cases keep pointing at the version they were filed under: v1 stays readable.
    let old = n.get(None, &format!("/items/{code}?version=1")).await;
    assert_eq!(old.status, 200);
    assert!(old.body.contains("食品经营许可") && !old.body.contains("含网络餐饮") && old.body.contains("历史版本"));
    let versions = n.get(Some(&reviewer), &format!("{items}/{code}/versions")).await.json();
    let states: Vec<&str> = versions["versions"].as_array().unwrap().iter().map(|v| v["state"].as_str().unwrap()).collect();
    assert_eq!(states.len(), 2, "{versions}");
    assert!(states.contains(&"superseded") && states.contains(&"published"), "{states:?}");
    let diff = n.get(Some(&editor_a), &format!("{items}/{code}/diff?from=1&to=2")).await.json();
    assert_eq!(diff["changes"].as_array().unwrap().len(), 1, "{diff}");
    assert_eq!(diff["changes"][0]["field"], "name");
    // Search follows the publish.
    let hits = n.get(None, "/api/v1/items?q=网络餐饮").await.json();
    assert_eq!(hits["hits"][0]["implementation_code"], code.as_str(), "{hits}");

    // Suspending needs a reason; a suspended item is marked in its guide.
    assert_eq!(n.json(&reviewer, "POST", &format!("{items}/{code}/suspend"), json!({})).await.status, 422);
    assert_eq!(n.json(&reviewer, "POST", &format!("{items}/{code}/suspend"), json!({ "note": "法规修订" })).await.status, 200);
    assert!(n.get(None, &format!("/items/{code}")).await.body.contains("本事项已暂停办理"));

    // Every step is in the audit log, with its actor.
    let page = n.store.audit_page(0, 1000).await.unwrap();
    let actions: Vec<&str> = page.entries.iter().filter(|e| e.record.object_id == code).map(|e| e.record.action.as_str()).collect();
    for expected in [
        "catalog.item.created",
        "catalog.item.submitted",
        "catalog.item.published",
        "catalog.item.draft_saved",
        "catalog.item.returned",
        "catalog.item.suspended",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert!(matches!(n.store.audit_verify().await.unwrap(), yiwang_store::AuditReport::Intact { .. }));
});

both_backends!(four_eyes_and_the_console_forms, |db| {
    let n = node(db).await;
    // One person who is both editor and reviewer of A still needs a second pair of eyes.
    let both = n.staff("双岗", "33010219800101013", &[(AGENCY_A, Role::CatalogEditor), (AGENCY_A, Role::CatalogReviewer)]).await;
    let editor_b = n.staff("王编", "33020319800101012", &[(AGENCY_B, Role::CatalogEditor)]).await;
    let reviewer = n.staff("郑五", "33010219800101005", &[(PROVINCE, Role::CatalogReviewer)]).await;

    // Create through the console form.
    let created =
        n.form(&both, "/console/catalog", &[("agency", AGENCY_A), ("basic_code", "000104010000"), ("name", "食品经营许可")]).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let code = format!("{AGENCY_A}3000104010000");
    assert!(created.location.contains(&code), "{}", created.location);

    // B's editor gets nothing of A's item in the console.
    assert_eq!(n.get(Some(&editor_b), &format!("/console/catalog/{code}/edit")).await.status, 404);

    // Fill the whole record through the editor form (the JSON part) and save.
    let form_page = n.get(Some(&both), &format!("/console/catalog/{code}/edit")).await;
    assert_eq!(form_page.status, 200);
    assert!(form_page.body.contains("name=\"doc_json\""));
    let doc = item(AGENCY_A, "杭州市市场监督管理局", "330100").to_string();
    let fields = [
        ("name", "食品经营许可"),
        ("aliases", "食品许可证，餐饮许可"),
        ("by_law", "《中华人民共和国食品安全法》第三十五条"),
        ("accept_conditions", "有与经营的食品品种、数量相适应的经营场所"),
        ("legal_days", "20"),
        ("promised_days", "5"),
        ("visits", "0"),
        ("place", "杭州市民中心"),
        ("hours", "工作日 9:00—17:00"),
        ("consult_phone", "0571-85252000"),
        ("complaint_phone", "12345"),
        ("doc_json", doc.as_str()),
    ];
    // A bad number is shown back on the form with its field named; nothing is saved.
    let mut bad = fields.to_vec();
    bad[5] = ("promised_days", "五天");
    let refused = n.form(&both, &format!("/console/catalog/{code}/edit"), &bad).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("承诺办结时限应为非负整数"), "{}", refused.body);
    let saved = n.form(&both, &format!("/console/catalog/{code}/edit"), &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    let submit = n.form(&both, &format!("/console/catalog/{code}/action"), &[("action", "submit")]).await;
    assert_eq!(submit.status, 303, "{}", submit.body);
    let own = n.form(&both, &format!("/console/catalog/{code}/action"), &[("action", "publish")]).await;
    assert_eq!(own.status, 403, "four eyes: {}", own.body);
    assert!(own.body.contains("提交审核的人员不能自行发布"), "{}", own.body);
    let publish = n.form(&reviewer, &format!("/console/catalog/{code}/action"), &[("action", "publish"), ("note", "同意")]).await;
    assert_eq!(publish.status, 303, "{}", publish.body);

    let guide = n.get(None, &format!("/items/{code}")).await;
    assert_eq!(guide.status, 200);
    assert!(guide.body.contains("第三十五条") && guide.body.contains("有与经营的食品品种、数量相适应的经营场所"));
    // The console page shows the item's history.
    let page = n.get(Some(&reviewer), &format!("/console/catalog/{code}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("已发布"), "{}", page.body);
    // A form without the CSRF token is refused.
    let forged = n
        .send(
            Some(&Who { cookie: both.cookie.clone(), csrf: String::new() }),
            "POST",
            &format!("/console/catalog/{code}/action"),
            Some(Body::from("action=suspend&note=x")),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(forged.status, 403);
});
