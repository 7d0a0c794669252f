//! Every route × every role: the exact status each persona gets. Covers the
//! resource rules too — a citizen reading another citizen's account gets the same
//! 404 as for an account that does not exist, and a department head of agency B
//! cannot list agency A's staff.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, header};
use common::*;
use tower::ServiceExt;
use yiwang_identity::{RealNameLevel, Role};
use yiwang_store::{AccountStatus, NewAccount};
use yiwang_testkit::TestBackend;
use yiwang_web::routes::{RouteSpec, route_specs};

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

const SUPERVISION_READERS: &[P] = &[P::Supervisor, P::Head, P::OtherAgencyHead, P::Admin];
const ORDER_ACTORS: &[P] = &[P::Supervisor, P::Head, P::OtherAgencyHead];

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
        // Metrics need the bearer token (issue 19): the matrix sends none.
        c("GET", "/metrics", "/metrics", Body_::None, all(401)),
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
        c("GET", "/register/verify", "/register/verify?registration=reg_none", Body_::None, all(404)),
        c(
            "POST",
            "/register/verify",
            "/register/verify",
            Body_::Form(vec![("registration", "reg_none".into()), ("code", "123456".into())]),
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
        c("POST", "/federation/{provider}/confirm", "/federation/nowhere/confirm", Body_::Form(vec![("password", "x".into())]), all(404)),
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
        // The exchange: peers authenticate by signed envelopes, never by session;
        // this node takes no part (no [exchange]), so it says so to everyone.
        c("POST", "/gx/1/exchange", "/gx/1/exchange", Body_::Json(serde_json::json!({})), all(503)),
        c("GET", "/gx/1/registry", "/gx/1/registry", Body_::None, all(503)),
        c("GET", "/api/openapi.json", "/api/openapi.json", Body_::None, all(200)),
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
        c(
            "GET",
            "/api/v1/licenses",
            "/api/v1/licenses?holder_id=none&reason=%E6%A0%B8%E9%AA%8C",
            Body_::None,
            only(&[P::Clerk, P::Reviewer, P::OtherAgencyHead, P::DataOfficer], 200, 403),
        ),
        c(
            "POST",
            "/api/v1/licenses",
            "/api/v1/licenses",
            Body_::Json(serde_json::json!({
                "type_code": "none", "number": "N1", "issuer_uscc": AGENCY_A, "valid_from": "2026-01-01",
                "holder": { "name": "张三", "id_type": "111", "id": "x" },
            })),
            // Issuers of agency A reach validation (no such type); agency B's head may not issue for A.
            Box::new(|p| match p {
                P::Head | P::DataOfficer => 422,
                P::Anon => 401,
                _ => 403,
            }),
        ),
        c(
            "POST",
            "/api/v1/licenses/{id}/status",
            "/api/v1/licenses/none/status",
            Body_::Json(serde_json::json!({ "status": "revoked", "reason": "测试" })),
            only(&[P::Head, P::OtherAgencyHead, P::DataOfficer], 404, 403),
        ),
        c("POST", "/api/v1/cases", "/api/v1/cases", Body_::Json(serde_json::json!({ "item_code": "none" })), authed(404)),
        c("GET", "/api/v1/bundles", "/api/v1/bundles", Body_::None, all(200)),
        c("GET", "/api/v1/halls", "/api/v1/halls", Body_::None, all(200)),
        c(
            "POST",
            "/api/v1/halls",
            "/api/v1/halls",
            Body_::Json(serde_json::json!({ "id": "", "name": "", "division_code": "", "agency_uscc": "" })),
            only(&[P::Admin], 422, 403),
        ),
        c("GET", "/api/v1/data-resources", "/api/v1/data-resources", Body_::None, all(200)),
        c(
            "POST",
            "/api/v1/data-resources",
            "/api/v1/data-resources",
            Body_::Json(serde_json::json!({ "code": "", "name": "", "provider_uscc": "" })),
            only(&[P::Admin], 422, 403),
        ),
        c(
            "PUT",
            "/api/v1/bundles/{code}",
            "/api/v1/bundles/none",
            Body_::Json(serde_json::json!({ "code": "other", "name": "", "division_code": "", "lead_item": "", "items": [] })),
            only(&[P::Admin], 422, 403),
        ),
        c("GET", "/api/v1/machine-clients", "/api/v1/machine-clients", Body_::None, only(&[P::Admin], 200, 403)),
        c(
            "POST",
            "/api/v1/machine-clients",
            "/api/v1/machine-clients",
            Body_::Json(serde_json::json!({ "name": "", "agency_uscc": AGENCY_A, "auth_method": "client_secret_basic" })),
            only(&[P::Admin], 422, 403),
        ),
        c("DELETE", "/api/v1/machine-clients/{id}", "/api/v1/machine-clients/none?reason=test", Body_::None, only(&[P::Admin], 404, 403)),
        c("GET", "/console/setup", "/console/setup", Body_::None, only(&[P::Admin, P::DataOfficer, P::CatalogReviewer], 200, 403)),
        c("GET", "/console/sharing", "/console/sharing", Body_::None, only(&[P::Admin, P::DataOfficer], 200, 403)),
        c("GET", "/console/exchange", "/console/exchange", Body_::None, only(&[P::Admin], 200, 403)),
        c(
            "POST",
            "/console/sharing/requests/{id}/decision",
            "/console/sharing/requests/none/decision",
            Body_::Form(vec![("decision", "reject".into()), ("reason", "无法律依据".into())]),
            only(&[P::Admin, P::DataOfficer], 404, 403),
        ),
        c(
            "POST",
            "/console/sharing/grants/{id}/revoke",
            "/console/sharing/grants/none/revoke",
            Body_::Form(vec![]),
            only(&[P::Admin, P::DataOfficer], 404, 403),
        ),
        c("POST", "/api/v1/bundles/{code}/publish", "/api/v1/bundles/none/publish", Body_::None, only(&[P::CatalogReviewer], 404, 403)),
        c(
            "GET",
            "/api/v1/bundles/{code}/versions",
            "/api/v1/bundles/none/versions",
            Body_::None,
            only(&[P::Admin, P::CatalogReviewer], 404, 403),
        ),
        c(
            "POST",
            "/console/setup/bundles/{code}/publish",
            "/console/setup/bundles/none/publish",
            Body_::Form(vec![]),
            only(&[P::CatalogReviewer], 404, 403),
        ),
        c(
            "POST",
            "/console/setup/halls",
            "/console/setup/halls",
            Body_::Form(vec![
                ("id", String::new()),
                ("name", String::new()),
                ("division_code", String::new()),
                ("agency_uscc", String::new()),
            ]),
            only(&[P::Admin], 422, 403),
        ),
        c(
            "POST",
            "/console/setup/resources",
            "/console/setup/resources",
            Body_::Form(vec![("code", String::new()), ("name", String::new()), ("provider_uscc", String::new())]),
            only(&[P::Admin], 422, 403),
        ),
        c(
            "POST",
            "/console/setup/bundles",
            "/console/setup/bundles",
            Body_::Form(vec![("bundle_json", "{".into())]),
            only(&[P::Admin], 422, 403),
        ),
        c(
            "POST",
            "/api/v1/integration/cases/{no}/records",
            "/api/v1/integration/cases/none/records",
            Body_::Json(serde_json::json!({ "table": "acceptance", "accept_time": "20260101T090000", "accepting_officer": "x" })),
            // The key is checked first (400), before the case is looked up.
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead], 400, 403),
        ),
        c(
            "POST",
            "/api/v1/integration/webhooks",
            "/api/v1/integration/webhooks",
            Body_::Json(serde_json::json!({ "url": "ftp://x" })),
            only(&[P::Head, P::OtherAgencyHead], 400, 403),
        ),
        c(
            "GET",
            "/api/v1/integration/webhooks",
            "/api/v1/integration/webhooks",
            Body_::None,
            only(&[P::Head, P::OtherAgencyHead], 200, 403),
        ),
        c(
            "GET",
            "/api/v1/integration/webhooks/{id}/deliveries",
            "/api/v1/integration/webhooks/none/deliveries",
            Body_::None,
            only(&[P::Head, P::OtherAgencyHead], 404, 403),
        ),
        c(
            "DELETE",
            "/api/v1/integration/webhooks/{id}",
            "/api/v1/integration/webhooks/none",
            Body_::None,
            only(&[P::Head, P::OtherAgencyHead], 404, 403),
        ),
        c("GET", "/api/v1/bundles/{code}", "/api/v1/bundles/none", Body_::None, all(404)),
        c("POST", "/api/v1/bundle-cases", "/api/v1/bundle-cases", Body_::Json(serde_json::json!({ "bundle_code": "none" })), authed(404)),
        c("GET", "/api/v1/bundle-cases/{no}", "/api/v1/bundle-cases/none", Body_::None, authed(404)),
        c("GET", "/api/v1/me/bundle-cases", "/api/v1/me/bundle-cases", Body_::None, authed(200)),
        c(
            "PUT",
            "/api/v1/bundle-cases/{no}/form",
            "/api/v1/bundle-cases/none/form",
            Body_::Json(serde_json::json!({ "form": {} })),
            authed(404),
        ),
        c(
            "POST",
            "/api/v1/bundle-cases/{no}/materials",
            "/api/v1/bundle-cases/none/materials",
            Body_::Json(serde_json::json!({})),
            authed(404),
        ),
        c(
            "POST",
            "/api/v1/bundle-cases/{no}/commitments",
            "/api/v1/bundle-cases/none/commitments",
            Body_::Json(serde_json::json!({ "material": "x" })),
            authed(404),
        ),
        c("POST", "/api/v1/bundle-cases/{no}/submit", "/api/v1/bundle-cases/none/submit", Body_::Json(serde_json::json!({})), authed(404)),
        c(
            "POST",
            "/api/v1/bundle-cases/{no}/accept",
            "/api/v1/bundle-cases/none/accept",
            Body_::Json(serde_json::json!({})),
            only(&[P::Clerk], 404, 403),
        ),
        c("POST", "/api/v1/cases/{no}/submit", "/api/v1/cases/none/submit", Body_::Json(serde_json::json!({})), authed(404)),
        c("POST", "/api/v1/cases/{no}/corrected", "/api/v1/cases/none/corrected", Body_::Json(serde_json::json!({})), authed(404)),
        c("POST", "/api/v1/cases/{no}/withdraw", "/api/v1/cases/none/withdraw", Body_::Json(serde_json::json!({})), authed(404)),
        c(
            "POST",
            "/api/v1/cases/{no}/events",
            "/api/v1/cases/none/events",
            Body_::Json(serde_json::json!({ "event": { "type": "pre_review_started" } })),
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead, P::Supervisor], 404, 403),
        ),
        c(
            "POST",
            "/api/v1/cases/{no}/shared-data",
            "/api/v1/cases/none/shared-data",
            Body_::Json(serde_json::json!({})),
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead], 404, 403),
        ),
        c("GET", "/api/v1/cases/{no}", "/api/v1/cases/none", Body_::None, authed(404)),
        c("GET", "/api/v1/cases/{no}/events", "/api/v1/cases/none/events", Body_::None, authed(404)),
        c("GET", "/api/v1/me/cases", "/api/v1/me/cases", Body_::None, authed(200)),
        c(
            "GET",
            "/api/v1/workbench/cases",
            "/api/v1/workbench/cases?state=submitted",
            Body_::None,
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead, P::Supervisor], 200, 403),
        ),
        c("GET", "/api/v1/case-progress", "/api/v1/case-progress?case_no=none&code=1", Body_::None, all(404)),
        c("GET", "/me/cases", "/me/cases", Body_::None, authed(200)),
        c("GET", "/api/v1/me/notices", "/api/v1/me/notices", Body_::None, authed(200)),
        c("POST", "/api/v1/me/notices/read-all", "/api/v1/me/notices/read-all", Body_::Json(serde_json::json!({})), authed(200)),
        c("POST", "/api/v1/me/notices/{id}/read", "/api/v1/me/notices/none/read", Body_::Json(serde_json::json!({})), authed(404)),
        c("GET", "/api/v1/me/notice-preferences", "/api/v1/me/notice-preferences", Body_::None, authed(200)),
        c(
            "PUT",
            "/api/v1/me/notice-preferences",
            "/api/v1/me/notice-preferences",
            Body_::Json(serde_json::json!({ "email": true, "sms": true })),
            authed(200),
        ),
        c("GET", "/me/messages", "/me/messages", Body_::None, authed(200)),
        c("POST", "/me/messages/read", "/me/messages/read", Body_::Form(vec![]), authed(303)),
        c("POST", "/me/messages/preferences", "/me/messages/preferences", Body_::Form(vec![("email", "1".into())]), authed(303)),
        c("GET", "/me/cases/{no}", "/me/cases/none", Body_::None, authed(404)),
        c("PUT", "/api/v1/cases/{no}/form", "/api/v1/cases/none/form", Body_::Json(serde_json::json!({ "form": {} })), authed(404)),
        c("POST", "/api/v1/cases/{no}/materials", "/api/v1/cases/none/materials", Body_::Json(serde_json::json!({})), authed(404)),
        c("GET", "/api/v1/cases/{no}/materials/{digest}", "/api/v1/cases/none/materials/00", Body_::None, authed(404)),
        c("DELETE", "/api/v1/cases/{no}/materials/{digest}", "/api/v1/cases/none/materials/00", Body_::None, authed(404)),
        c(
            "POST",
            "/api/v1/cases/{no}/commitments",
            "/api/v1/cases/none/commitments",
            Body_::Json(serde_json::json!({ "material": "x" })),
            authed(404),
        ),
        c("GET", "/api/v1/me/items/{code}/form", "/api/v1/me/items/none/form", Body_::None, authed(404)),
        c(
            "GET",
            "/api/v1/workbench/checks",
            "/api/v1/workbench/checks",
            Body_::None,
            only(&[P::Reviewer, P::Head, P::OtherAgencyHead, P::Supervisor], 200, 403),
        ),
        c("GET", "/items/{code}/apply", "/items/none/apply", Body_::None, authed(404)),
        c("GET", "/bundles", "/bundles", Body_::None, all(200)),
        c("GET", "/bundles/{code}", "/bundles/none", Body_::None, all(404)),
        c("GET", "/bundles/{code}/apply", "/bundles/none/apply", Body_::None, authed(404)),
        c("POST", "/bundles/{code}/apply", "/bundles/none/apply", Body_::Form(vec![("contact_name", "张三".into())]), authed(404)),
        c("GET", "/me/bundles/{no}", "/me/bundles/none", Body_::None, authed(404)),
        c("POST", "/me/bundles/{no}/form", "/me/bundles/none/form", Body_::Form(vec![]), authed(404)),
        c("POST", "/me/bundles/{no}/materials", "/me/bundles/none/materials", Body_::Form(vec![]), authed(404)),
        c("POST", "/me/bundles/{no}/commitments", "/me/bundles/none/commitments", Body_::Form(vec![("material", "x".into())]), authed(404)),
        c("POST", "/me/bundles/{no}/submit", "/me/bundles/none/submit", Body_::Form(vec![]), authed(404)),
        c("POST", "/items/{code}/apply", "/items/none/apply", Body_::Form(vec![("contact_name", "张三".into())]), authed(404)),
        c("POST", "/me/cases/{no}/form", "/me/cases/none/form", Body_::Form(vec![]), authed(404)),
        c("POST", "/me/cases/{no}/materials", "/me/cases/none/materials", Body_::Form(vec![]), authed(404)),
        c("POST", "/me/cases/{no}/commitments", "/me/cases/none/commitments", Body_::Form(vec![("material", "x".into())]), authed(404)),
        c("POST", "/me/cases/{no}/submit", "/me/cases/none/submit", Body_::Form(vec![]), authed(404)),
        c(
            "POST",
            "/api/v1/window/cases",
            "/api/v1/window/cases",
            Body_::Json(serde_json::json!({ "item_code": "none", "applicant_id": "x", "reason": "窗口受理" })),
            only(&[P::Clerk], 404, 403),
        ),
        c("GET", "/console/window", "/console/window", Body_::None, only(&[P::Clerk], 200, 403)),
        c(
            "GET",
            "/console/cases",
            "/console/cases",
            Body_::None,
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead, P::Supervisor], 200, 403),
        ),
        c(
            "GET",
            "/console/cases/{no}",
            "/console/cases/none",
            Body_::None,
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead, P::Supervisor], 404, 403),
        ),
        c(
            "POST",
            "/console/cases/{no}/events",
            "/console/cases/none/events",
            Body_::Form(vec![("action", "claimed".into())]),
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead, P::Supervisor], 404, 403),
        ),
        c(
            "POST",
            "/console/cases/{no}/shared-data",
            "/console/cases/none/shared-data",
            Body_::Form(vec![]),
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead], 404, 403),
        ),
        c(
            "POST",
            "/console/cases/{no}/rating-invitations",
            "/console/cases/none/rating-invitations",
            Body_::Form(vec![("stage", "accepted".into()), ("channel", "hall_tablet".into())]),
            only(&[P::Clerk, P::Reviewer, P::Head, P::OtherAgencyHead], 404, 403),
        ),
        c("GET", "/rate/{token}", "/rate/none", Body_::None, all(404)),
        c("POST", "/rate/{token}", "/rate/none", Body_::Form(vec![("level", "1".into())]), all(404)),
        c(
            "GET",
            "/api/v1/workbench/countersigns",
            "/api/v1/workbench/countersigns",
            Body_::None,
            only(&[P::Reviewer, P::Head, P::OtherAgencyHead], 200, 403),
        ),
        c(
            "POST",
            "/console/window",
            "/console/window",
            Body_::Form(vec![("item_code", "none".into()), ("applicant_id", "x".into()), ("reason", "窗口受理".into())]),
            only(&[P::Clerk], 404, 403),
        ),
        c("GET", "/console/window/cases/{no}", "/console/window/cases/none", Body_::None, only(&[P::Clerk], 404, 403)),
        c(
            "POST",
            "/console/window/cases/{no}/events",
            "/console/window/cases/none/events",
            Body_::Form(vec![("action", "accept".into())]),
            only(&[P::Clerk], 404, 403),
        ),
        c(
            "POST",
            "/console/window/bundles/{no}/accept",
            "/console/window/bundles/none/accept",
            Body_::Form(vec![("case_no", "none".into())]),
            only(&[P::Clerk], 404, 403),
        ),
        c("GET", "/cases/query", "/cases/query?case_no=none&code=1", Body_::None, all(404)),
        c("GET", "/cases/{no}/receipt.pdf", "/cases/none/receipt.pdf?code=1", Body_::None, all(404)),
        c("GET", "/me/licenses", "/me/licenses", Body_::None, authed(200)),
        c("GET", "/me/data-accesses", "/me/data-accesses", Body_::None, authed(200)),
        c("GET", "/me/licenses/{id}", "/me/licenses/none", Body_::None, authed(404)),
        c("GET", "/me/licenses/{id}/license.pdf", "/me/licenses/none/license.pdf", Body_::None, authed(404)),
        c("GET", "/me/licenses/{id}/sealed.json", "/me/licenses/none/sealed.json", Body_::None, authed(404)),
        c("POST", "/me/licenses/{id}/shares", "/me/licenses/none/shares", Body_::Form(vec![("purpose", "租房备案".into())]), authed(404)),
        c("POST", "/me/licenses/{id}/shares/{share}/revoke", "/me/licenses/none/shares/none/revoke", Body_::Form(vec![]), authed(404)),
        c("GET", "/licenses/shared/{token}", "/licenses/shared/none", Body_::None, all(404)),
        c("GET", "/licenses/shared/{token}/copy.pdf", "/licenses/shared/none/copy.pdf", Body_::None, all(404)),
        c("GET", "/api/v1/license-types/{code}", "/api/v1/license-types/none", Body_::None, all(404)),
        c(
            "PUT",
            "/api/v1/license-types/{code}",
            &format!("/api/v1/license-types/{AGENCY_A}009"),
            Body_::Json(serde_json::json!({ "name": "测试许可证", "data_schema": {} })),
            only(&[P::Editor], 200, 403),
        ),
        c("GET", "/api/v1/me/licenses", "/api/v1/me/licenses", Body_::None, authed(200)),
        c("GET", "/api/v1/me/data-accesses", "/api/v1/me/data-accesses", Body_::None, authed(200)),
        // Grants: admins and data officers; a resource not described here is 404 to them.
        c("GET", "/api/v1/resources", "/api/v1/resources", Body_::None, Box::new(|p| staff_or(p, 200))),
        c("GET", "/api/v1/exchange/log", "/api/v1/exchange/log", Body_::None, only(&[P::Admin], 200, 403)),
        c("GET", "/api/v1/exchange/peers", "/api/v1/exchange/peers", Body_::None, only(&[P::DataOfficer, P::Admin], 200, 403)),
        c("GET", "/api/v1/exchange/outbox", "/api/v1/exchange/outbox", Body_::None, only(&[P::Admin], 200, 403)),
        c(
            "GET",
            "/api/v1/exchange/aggregates",
            "/api/v1/exchange/aggregates",
            Body_::None,
            only(&[P::DataOfficer, P::Admin, P::Supervisor], 200, 403),
        ),
        // 电子监察: supervisors, department heads (their own agency's) and admins read; orders
        // are issued by supervisors and answered by heads; none exists here (404).
        c("GET", "/api/v1/supervision/alerts", "/api/v1/supervision/alerts", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/supervision/public", "/supervision/public", Body_::None, all(200)),
        c("GET", "/api/v1/supervision/public", "/api/v1/supervision/public?year=2026", Body_::None, all(200)),
        c("GET", "/api/v1/ratings/content", "/api/v1/ratings/content", Body_::None, all(200)),
        c("GET", "/console/ratings", "/console/ratings", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/console/statistics", "/console/statistics", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/api/v1/indicators", "/api/v1/indicators", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/api/v1/indicators/report.pdf", "/api/v1/indicators/report.pdf", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/console/indicators", "/console/indicators", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/console/ratings/{id}", "/console/ratings/none", Body_::None, only(SUPERVISION_READERS, 404, 403)),
        c(
            "POST",
            "/console/ratings/{id}/loop",
            "/console/ratings/none/loop",
            Body_::Form(vec![("action", "verified".into()), ("triage", "rectify_now".into())]),
            only(ORDER_ACTORS, 404, 403),
        ),
        c(
            "POST",
            "/me/cases/{no}/rating",
            "/me/cases/none/rating",
            Body_::Form(vec![("stage", "accepted".into()), ("level", "1".into())]),
            authed(404),
        ),
        c(
            "POST",
            "/api/v1/ratings",
            "/api/v1/ratings",
            Body_::Json(serde_json::json!({ "case_no": "none", "stage": "accepted", "channel": "pc", "level": 1 })),
            authed(404),
        ),
        c("GET", "/api/v1/ratings", "/api/v1/ratings", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/api/v1/ratings/stats", "/api/v1/ratings/stats", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c("GET", "/api/v1/ratings/{id}", "/api/v1/ratings/none", Body_::None, authed(404)),
        c(
            "POST",
            "/api/v1/ratings/{id}/loop",
            "/api/v1/ratings/none/loop",
            Body_::Json(serde_json::json!({ "action": "verified", "triage": "rectify_now" })),
            only(ORDER_ACTORS, 404, 403),
        ),
        c("GET", "/api/v1/supervision/orders", "/api/v1/supervision/orders", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c(
            "POST",
            "/api/v1/supervision/orders",
            "/api/v1/supervision/orders",
            Body_::Json(serde_json::json!({ "case_no": "none", "alert_key": "none", "content": "请说明" })),
            only(&[P::Supervisor], 404, 403),
        ),
        c("GET", "/api/v1/supervision/orders/{id}", "/api/v1/supervision/orders/none", Body_::None, only(SUPERVISION_READERS, 404, 403)),
        c(
            "POST",
            "/api/v1/supervision/orders/{id}/events",
            "/api/v1/supervision/orders/none/events",
            Body_::Json(serde_json::json!({ "action": "acknowledged" })),
            only(ORDER_ACTORS, 404, 403),
        ),
        c("GET", "/console/supervision", "/console/supervision", Body_::None, only(SUPERVISION_READERS, 200, 403)),
        c(
            "GET",
            "/console/supervision/issue",
            "/console/supervision/issue?case_no=none&key=none",
            Body_::None,
            only(&[P::Supervisor], 404, 403),
        ),
        c(
            "POST",
            "/console/supervision/orders",
            "/console/supervision/orders",
            Body_::Form(vec![("case_no", "none".into()), ("key", "none".into()), ("content", "请说明".into())]),
            only(&[P::Supervisor], 404, 403),
        ),
        c("GET", "/console/supervision/orders/{id}", "/console/supervision/orders/none", Body_::None, only(SUPERVISION_READERS, 404, 403)),
        c(
            "POST",
            "/console/supervision/orders/{id}/events",
            "/console/supervision/orders/none/events",
            Body_::Form(vec![("action", "acknowledged".into())]),
            only(ORDER_ACTORS, 404, 403),
        ),
        c("GET", "/api/v1/grants", "/api/v1/grants", Body_::None, only(&[P::DataOfficer, P::Admin], 200, 403)),
        c(
            "POST",
            "/api/v1/grants",
            "/api/v1/grants",
            Body_::Json(serde_json::json!({
                "resource": "none", "consumer": "CN/GOV/113301000025000337", "fields": ["name"],
                "valid_until": "2030-01-01T00:00:00Z", "approval_ref": "共享申请 1",
            })),
            only(&[P::DataOfficer, P::Admin], 404, 403),
        ),
        c("DELETE", "/api/v1/grants/{id}", "/api/v1/grants/none", Body_::None, only(&[P::DataOfficer, P::Admin], 404, 403)),
        c("GET", "/api/v1/sharing-requests", "/api/v1/sharing-requests", Body_::None, only(&[P::DataOfficer, P::Admin], 200, 403)),
        c(
            "POST",
            "/api/v1/sharing-requests/{id}/decision",
            "/api/v1/sharing-requests/none/decision",
            Body_::Json(serde_json::json!({ "decision": "reject", "reason": "无法律依据" })),
            only(&[P::DataOfficer, P::Admin], 404, 403),
        ),
        c("GET", "/api/v1/me/items/{code}/licenses", "/api/v1/me/items/none/licenses", Body_::None, authed(404)),
        c("GET", "/api/v1/me/licenses/{id}/uses", "/api/v1/me/licenses/none/uses", Body_::None, authed(404)),
        c("GET", "/api/v1/me/licenses/{id}/sd-jwt", "/api/v1/me/licenses/none/sd-jwt", Body_::None, authed(404)),
        c("GET", "/api/v1/licenses/status-lists/{agency}", "/api/v1/licenses/status-lists/none", Body_::None, all(404)),
        c("GET", "/.well-known/jwt-vc-issuer/agencies/{agency}", "/.well-known/jwt-vc-issuer/agencies/none", Body_::None, all(404)),
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
        // Support access is for administrators, granted by another one: the head is no admin (422).
        c(
            "POST",
            "/api/v1/support-grants",
            "/api/v1/support-grants",
            Body_::Json(serde_json::json!({ "account_id": f.id(P::Head), "agency_uscc": AGENCY_A, "hours": 2, "reason": "协助排查办件" })),
            only(&[P::Admin], 422, 403),
        ),
        c("GET", "/api/v1/support-grants", "/api/v1/support-grants", Body_::None, only(&[P::Admin], 200, 403)),
        c("DELETE", "/api/v1/support-grants/{id}", "/api/v1/support-grants/sup_none", Body_::None, only(&[P::Admin], 404, 403)),
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
        // Only node administrators deploy (this body is not BPMN: 422); modelers and admins simulate; any staff reads.
        c("POST", "/api/v1/workflows", "/api/v1/workflows", Body_::Json(serde_json::json!("<not-bpmn/>")), only(&[P::Admin], 422, 403)),
        c(
            "POST",
            "/api/v1/workflows/simulate",
            "/api/v1/workflows/simulate",
            Body_::Json(serde_json::json!({ "bpmn": MINIMAL_BPMN })),
            only(&[P::Editor, P::CatalogReviewer, P::Admin], 200, 403),
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
    // A department system's bearer token (a machine client of agency A): on the
    // routes open to machines it acts with the handling roles of its agency
    // (what agency A's head gets there); on every other route it
    // authenticates nobody (401). Public routes are left out: the bearer
    // changes nothing there, and they already ran anonymously.
    let token = machine_token(&f).await;
    let specs = route_specs();
    for case in &cases {
        let spec = specs.iter().find(|s| s.method == case.method && s.path == case.template).unwrap();
        if matches!(spec.access, yiwang_identity::Access::Public) {
            continue;
        }
        let mut req = Request::builder().method(case.method).uri(&case.path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match &case.body {
            Body_::None => Body::empty(),
            Body_::Form(fields) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                let mut s = form_urlencoded::Serializer::new(String::new());
                for (k, v) in fields {
                    s.append_pair(k, v);
                }
                Body::from(s.finish())
            }
            Body_::Json(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
        };
        let resp = f.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let want = if spec.machine { (case.expect)(P::Head) } else { 401 };
        let got = resp.status().as_u16();
        if got != want {
            failures.push(format!("{} {} as a machine client: got {got}, want {want}", case.method, case.path));
        }
    }
    db.cleanup().await;
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// A live bearer token of a machine client of agency A.
async fn machine_token(f: &Fixture) -> String {
    let now = jiff::Timestamp::now();
    let input = yiwang_store::MachineClientInput {
        name: "部门A审批系统".into(),
        agency_uscc: AGENCY_A.into(),
        auth_method: "client_secret_basic".into(),
        jwks: None,
    };
    let (client, _) = f.store.add_machine_client(&input, "t", now).await.unwrap().unwrap();
    let token = yiwang_identity::new_token();
    let hash = yiwang_identity::token_hash(&token);
    assert!(f.store.issue_machine_token(&client, &hash, now + std::time::Duration::from_secs(3600), None, now).await.unwrap());
    token
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
    let type_code = license_type_of_a(&f, "001").await;
    let new = citizen_license(&f, &type_code, "JY13301020000009", None, serde_json::json!({}));
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
    let (status, v) = get(P::Citizen, format!("/api/v1/me/licenses/{}/uses", license.public_ref.as_deref().unwrap())).await;
    assert_eq!(status, 200, "{v:#}");
    let uses = v["uses"].as_array().unwrap();
    assert_eq!(uses.len(), 1, "{v:#}");
    assert_eq!(
        (uses[0]["reason"].as_str(), uses[0]["agency_name"].as_str(), uses[0]["case_no"].as_str()),
        (Some("办理变更"), Some("杭州市市场监督管理局"), Some("C1"))
    );
    // A query by holder lists the license and also shows in the log.
    let (status, v) = get(
        P::Clerk,
        format!("/api/v1/licenses?holder_id_type=111&holder_id={}&reason=%E6%A0%B8%E9%AA%8C%E8%B5%84%E8%B4%A8", f.citizen_id(P::Citizen)),
    )
    .await;
    assert_eq!((status, v["licenses"][0]["id"].as_str()), (200, Some(license.id.as_str())), "{v:#}");
    let (_, v) = get(P::Citizen, format!("/api/v1/me/licenses/{}/uses", license.public_ref.as_deref().unwrap())).await;
    assert_eq!((v["uses"][0]["kind"].as_str(), v["uses"][0]["reason"].as_str()), (Some("query"), Some("核验资质")), "{v:#}");
    // Another person sees neither the license nor its log.
    let (_, v) = get(P::OtherCitizen, "/api/v1/me/licenses".into()).await;
    assert_eq!(v["licenses"].as_array().map(Vec::len), Some(0));
    let (status, _) = get(P::OtherCitizen, format!("/api/v1/me/licenses/{}/uses", license.public_ref.as_deref().unwrap())).await;
    assert_eq!(status, 404);
    db.cleanup().await;
}

/// The SD-JWT VC export: the holder discloses only what they choose, and the
/// reference Python `sd-jwt` library verifies it from the published issuer
/// metadata; the status list the credential points at turns from valid to
/// invalid when the license is revoked.
#[tokio::test]
async fn the_sd_jwt_export_verifies_with_the_reference_library() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let now = jiff::Timestamp::now();
    let type_code = license_type_of_a(&f, "001").await;
    let new = citizen_license(
        &f,
        &type_code,
        "JY13301020000010",
        Some("2031-12-31".parse().unwrap()),
        serde_json::json!({ "address": "杭州市西湖区文三路1号", "scope": "热食类食品制售" }),
    );
    let master = yiwang_crypto::seal::MasterKey::from_hex(&f.master_hex).unwrap();
    let license = f.store.issue_license(&new, &master, "staff:t", now).await.unwrap();
    let get = |p: P, path: String| {
        let f = &f;
        async move {
            let (cookie, _) = f.login(p).await;
            let req = Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
            let resp = f.app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    let export = format!("/api/v1/me/licenses/{}/sd-jwt?disclose=holder_name,data.scope", license.public_ref.as_deref().unwrap());
    let (status, ct, presentation) = get(P::Citizen, export.clone()).await;
    assert_eq!((status, ct.as_str()), (200, "application/dc+sd-jwt"), "{presentation}");
    // Only the holder may export it; a claim the license lacks is refused, not ignored.
    assert_eq!(get(P::OtherCitizen, export).await.0, 404);
    let (status, _, body) =
        get(P::Citizen, format!("/api/v1/me/licenses/{}/sd-jwt?disclose=holder_nmae", license.public_ref.as_deref().unwrap())).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("license.unknown_claim"), "{body}");

    let (status, _, metadata) = get(P::Anon, format!("/.well-known/jwt-vc-issuer/agencies/{AGENCY_A}")).await;
    assert_eq!(status, 200, "{metadata}");
    let status_path = format!("/api/v1/licenses/status-lists/{AGENCY_A}");
    let (status, ct, status_list) = get(P::Anon, status_path.clone()).await;
    assert_eq!((status, ct.as_str()), (200, "application/statuslist+jwt"), "{status_list}");

    let dir = tempfile::tempdir().unwrap();
    let verify = |status_list: String| {
        let (p, m, s) = (dir.path().join("p"), dir.path().join("m.json"), dir.path().join("s"));
        std::fs::write(&p, &presentation).unwrap();
        std::fs::write(&m, &metadata).unwrap();
        std::fs::write(&s, status_list).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/sdjwt_verify.py");
        let out = std::process::Command::new("python3").arg(script).arg(&p).arg(&m).arg(&s).output().expect("python3 with sd-jwt");
        assert!(out.status.success(), "sd-jwt verifier refused: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = verify(status_list);
    assert_eq!((v["header"]["typ"].as_str(), v["header"]["alg"].as_str()), (Some("dc+sd-jwt"), Some("EdDSA")), "{v:#}");
    let claims = &v["claims"];
    assert_eq!(claims["holder_name"], "张三");
    assert_eq!(claims["data"], serde_json::json!({ "scope": "热食类食品制售" }));
    assert_eq!((claims["name"].as_str(), claims["type_code"].as_str()), (Some("食品经营许可证"), Some(type_code.as_str())));
    assert_eq!(claims["vct"], format!("urn:yiwang:license-type:{}", type_code));
    // Not chosen, not disclosed: the ID number, the license number and identifier, the address.
    for hidden in ["holder_id", "number", "license_id", "valid_until"] {
        assert!(claims.get(hidden).is_none(), "{hidden} was disclosed: {claims:#}");
    }
    assert!(!v.to_string().contains(f.citizen_id(P::Citizen)), "{v:#}");
    assert_eq!(v["status"], 0, "valid in the status list");

    f.store.set_license_status(&license.id, yiwang_store::LicenseStatus::Revoked, "依法吊销", "staff:t", now).await.unwrap();
    let (_, _, status_list) = get(P::Anon, status_path).await;
    assert_eq!(verify(status_list)["status"], 1, "revoked is invalid in the status list");
    db.cleanup().await;
}

/// An agency's department head issues a license through the API, and revokes
/// it; the public verification answers valid, then revoked. Another agency's
/// head can do neither for it.
#[tokio::test]
async fn issuing_and_revoking_through_the_api() {
    let (db, f) = fixture(TestBackend::Postgres).await;
    let type_code = license_type_of_a(&f, "002").await;
    let send = |p: P, method: &'static str, path: String, body: serde_json::Value| f.json(p, method, path, body);
    // The defining agency's catalog editor gives the type a data schema and template.
    let schema = serde_json::json!({
        "type": "object", "required": ["scope"], "additionalProperties": false,
        "properties": { "scope": { "type": "string", "title": "经营项目", "maxLength": 50 } },
    });
    let (status, v) = send(
        P::Editor,
        "PUT",
        format!("/api/v1/license-types/{}", type_code),
        serde_json::json!({ "name": "食品经营许可证", "data_schema": schema, "template": { "layout": "card", "fields": ["scope", "nope"] } }),
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (422, Some("license.data_invalid")), "{v:#}");
    assert_eq!(v["detail"]["problems"][0]["field"], "template.fields.nope", "{v:#}");
    let (status, v) = send(
        P::Editor,
        "PUT",
        format!("/api/v1/license-types/{}", type_code),
        serde_json::json!({ "name": "食品经营许可证", "data_schema": schema, "template": { "layout": "card", "fields": ["scope"] } }),
    )
    .await;
    assert_eq!((status, v["license_type"]["template"]["layout"].as_str()), (200, Some("card")), "{v:#}");
    let bad = serde_json::json!({
        "type_code": type_code, "number": "JY13301020000012", "issuer_uscc": AGENCY_A, "valid_from": "2026-01-01",
        "holder": { "name": "杭州一网餐饮有限公司", "id_type": "049", "id": ENTERPRISE },
        "data": { "scop": "热食类食品制售" },
    });
    let (status, v) = send(P::Head, "POST", "/api/v1/licenses".into(), bad).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("license.data_invalid")), "{v:#}");
    assert_eq!(v["message_zh"], "经营项目为必填项；不应有字段 scop", "{v:#}");
    let new = serde_json::json!({
        "type_code": type_code, "number": "JY13301020000011", "issuer_uscc": AGENCY_A, "valid_from": "2026-01-01",
        "holder": { "name": "杭州一网餐饮有限公司", "id_type": "049", "id": ENTERPRISE },
        "data": { "scope": "热食类食品制售" },
    });
    let (status, _) = send(P::OtherAgencyHead, "POST", "/api/v1/licenses".into(), new.clone()).await;
    assert_eq!(status, 403);
    let (status, v) = send(P::Head, "POST", "/api/v1/licenses".into(), serde_json::json!({ "number": 5 })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v:#}");
    let (status, v) = send(P::Head, "POST", "/api/v1/licenses".into(), new).await;
    assert_eq!(status, 201, "{v:#}");
    let id = v["license"]["id"].as_str().unwrap().to_string();
    let token = v["token"].as_str().unwrap().to_string();
    assert!(v["verify_url"].as_str().unwrap().ends_with(&format!("/licenses/verify?token={token}")));
    let (_, v) = send(P::Anon, "GET", format!("/api/v1/licenses/verify?token={token}"), serde_json::Value::Null).await;
    assert_eq!((v["ok"].as_bool(), v["status"].as_str()), (Some(true), Some("valid")), "{v:#}");

    let revoke = serde_json::json!({ "status": "revoked", "reason": "依法吊销" });
    let (status, _) = send(P::OtherAgencyHead, "POST", format!("/api/v1/licenses/{id}/status"), revoke.clone()).await;
    assert_eq!(status, 403);
    let (status, v) =
        send(P::DataOfficer, "POST", format!("/api/v1/licenses/{id}/status"), serde_json::json!({ "status": "revoked", "reason": " " }))
            .await;
    assert_eq!((status, v["code"].as_str()), (422, Some("license.invalid")), "{v:#}");
    let (status, v) = send(P::Head, "POST", format!("/api/v1/licenses/{id}/status"), revoke.clone()).await;
    assert_eq!((status, v["license"]["status"].as_str()), (200, Some("revoked")), "{v:#}");
    // Revoked is final.
    let (status, _) =
        send(P::Head, "POST", format!("/api/v1/licenses/{id}/status"), serde_json::json!({ "status": "valid", "reason": "恢复" })).await;
    assert_eq!(status, 409);
    let (_, v) = send(P::Anon, "GET", format!("/api/v1/licenses/verify?token={token}"), serde_json::Value::Null).await;
    assert_eq!((v["ok"].as_bool(), v["status"].as_str()), (Some(false), Some("revoked")), "{v:#}");
    db.cleanup().await;
}

/// Read the QR codes off a printed PDF's first page, as a phone would off
/// paper: poppler's pdftoppm rasterises the page at 200 dpi and zbar decodes it.
fn qr_codes_in_pdf(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("l.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "200", "-gray", "-singlefile", "-f", "1", "-l", "1"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .output()
        .expect("pdftoppm (poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(dir.path().join("page.pgm"))
        .output()
        .expect("zbarimg (zbar-tools)");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("l.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&file).arg("-").output().expect("pdftotext (poppler-utils)");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The holder wallet: the holder sees their license with fields and a QR
/// code; the PDF carries the seal and a QR code that decodes to a verification
/// link which verifies; a 加注件 shared by link opens for anyone, masked and
/// marked with its use, until the holder withdraws it. Others get 404.
#[tokio::test]
async fn the_wallet_shows_prints_and_shares_a_license() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let now = jiff::Timestamp::now();
    let type_code = license_type_of_a(&f, "003").await;
    let schema = serde_json::json!({ "properties": { "scope": { "type": "string", "title": "经营项目" } } });
    f.store
        .define_license_type(&type_code, "食品经营许可证", &schema, &serde_json::json!({ "fields": ["scope"] }), "t", now)
        .await
        .unwrap();
    let citizen = f.citizen_id(P::Citizen).to_string();
    let until = Some("2030-12-31".parse().unwrap());
    let new = citizen_license(&f, &type_code, "JY13301020000013", until, serde_json::json!({ "scope": "热食类食品制售" }));
    let master = yiwang_crypto::seal::MasterKey::from_hex(&f.master_hex).unwrap();
    let license = f.store.issue_license(&new, &master, "staff:t", now).await.unwrap();
    let send = |p: P, method: &'static str, path: String, form: Vec<(&'static str, String)>| {
        let f = &f;
        async move {
            let (cookie, csrf) = f.login(p).await;
            let mut req = Request::builder().method(method).uri(path).header(header::COOKIE, cookie);
            let body = if method == "POST" {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                let mut s = form_urlencoded::Serializer::new(String::new());
                s.append_pair("csrf", &csrf);
                for (k, v) in form {
                    s.append_pair(k, &v);
                }
                Body::from(s.finish())
            } else {
                Body::empty()
            };
            let resp = f.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 8 << 20).await.unwrap();
            (status, bytes.to_vec())
        }
    };
    let page = |b: &[u8]| String::from_utf8_lossy(b).to_string();

    let (status, body) = send(P::Citizen, "GET", "/me/licenses".into(), vec![]).await;
    assert_eq!(status, 200);
    assert!(page(&body).contains(&format!("/me/licenses/{}", license.public_ref.as_deref().unwrap())), "{}", page(&body));
    let (status, body) = send(P::Citizen, "GET", format!("/me/licenses/{}", license.public_ref.as_deref().unwrap()), vec![]).await;
    let html = page(&body);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("经营项目") && html.contains("热食类食品制售") && html.contains("<svg"), "{html}");
    assert!(html.contains("value=\"data.scope\""), "the SD-JWT form offers the data fields: {html}");
    assert!(html.contains("张三") && !html.contains(&format!(">{citizen}<")), "the ID number is masked on screen: {html}");
    for other in [P::OtherCitizen, P::Agent] {
        assert_eq!(send(other, "GET", format!("/me/licenses/{}", license.public_ref.as_deref().unwrap()), vec![]).await.0, 404);
        assert_eq!(send(other, "GET", format!("/me/licenses/{}/license.pdf", license.public_ref.as_deref().unwrap()), vec![]).await.0, 404);
    }

    // The PDF: title, holder and fields as text; the QR decodes to a link that verifies.
    let (status, pdf) =
        send(P::Citizen, "GET", format!("/me/licenses/{}/license.pdf", license.public_ref.as_deref().unwrap()), vec![]).await;
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdf_text(&pdf);
    for want in ["食品经营许可证", "张三", "JY13301020000013", "热食类食品制售", "杭州市市场监督管理局", "电子印章"]
    {
        assert!(text.contains(want), "{want} missing from the PDF text:\n{text}");
    }
    let codes = qr_codes_in_pdf(&pdf);
    assert_eq!(codes.len(), 1, "one QR code on the page: {codes:?}");
    let token = codes[0].split("token=").nth(1).expect("a verification link").to_string();
    let (status, body) = send(P::Anon, "GET", format!("/api/v1/licenses/verify?token={token}"), vec![]).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, v["ok"].as_bool(), v["license_id"].is_string()), (200, Some(true), true), "{v:#}");

    // The sealed JSON verifies as a file.
    let (_, body) = send(P::Citizen, "GET", format!("/me/licenses/{}/sealed.json", license.public_ref.as_deref().unwrap()), vec![]).await;
    let sealed: yiwang_license::SealedLicense = serde_json::from_slice(&body).unwrap();
    assert_eq!(sealed.record["id"], license.id.as_str());

    // A 加注件 by link: shown once to the holder, opened by anyone, masked, marked with its use.
    let purpose = "仅用于办理房屋租赁备案";
    let (status, body) = send(
        P::Citizen,
        "POST",
        format!("/me/licenses/{}/shares", license.public_ref.as_deref().unwrap()),
        vec![("purpose", purpose.into()), ("days", "7".into())],
    )
    .await;
    let html = page(&body);
    assert_eq!(status, 201, "{html}");
    let link = html.split("/licenses/shared/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (status, body) = send(P::Anon, "GET", format!("/licenses/shared/{link}"), vec![]).await;
    let html = page(&body);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(purpose) && html.contains("加注件") && html.contains("热食类食品制售"), "{html}");
    assert!(!html.contains(&citizen) && html.contains("张*"), "identifiers are masked unless the holder chose otherwise: {html}");
    let (status, pdf) = send(P::Anon, "GET", format!("/licenses/shared/{link}/copy.pdf"), vec![]).await;
    assert_eq!(status, 200);
    std::fs::write("/tmp/copy.pdf", &pdf).unwrap();
    let text = pdf_text(&pdf);
    assert!(text.contains(&format!("本件为加注件（用途：{purpose}）")), "the use is printed on the copy:\n{text}");
    assert!(!text.contains(&citizen) && text.contains("张*"), "masked on the printed copy too:\n{text}");
    // Bad input changes nothing.
    let (status, _) =
        send(P::Citizen, "POST", format!("/me/licenses/{}/shares", license.public_ref.as_deref().unwrap()), vec![("purpose", "x".into())])
            .await;
    assert_eq!(status, 422);
    let (status, _) = send(
        P::Citizen,
        "POST",
        format!("/me/licenses/{}/shares", license.public_ref.as_deref().unwrap()),
        vec![("purpose", "租房".into()), ("days", "90".into())],
    )
    .await;
    assert_eq!(status, 422);
    let shares = f.store.license_shares(&license.id).await.unwrap();
    assert_eq!(shares.len(), 1);
    // Someone else cannot withdraw it; the holder can, and the link closes.
    let revoke = format!("/me/licenses/{}/shares/{}/revoke", license.public_ref.as_deref().unwrap(), shares[0].id);
    assert_eq!(send(P::OtherCitizen, "POST", revoke.clone(), vec![]).await.0, 404);
    assert_eq!(send(P::Citizen, "POST", revoke, vec![]).await.0, 303);
    assert_eq!(send(P::Anon, "GET", format!("/licenses/shared/{link}"), vec![]).await.0, 410);
    assert_eq!(send(P::Anon, "GET", format!("/licenses/shared/{link}/copy.pdf"), vec![]).await.0, 410);
    db.cleanup().await;
}

/// A case through the API: the citizen applies and submits; the window clerk
/// gives the one-time correction notice and accepts (limits from the item);
/// the reviewer handles; the head decides and concludes. Each role may record
/// only its own events; another citizen and another agency's staff see
/// nothing; the public progress query needs the 查询码.
#[tokio::test]
async fn a_case_through_the_api_with_roles_and_visibility() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let send = |p: P, method: &'static str, path: String, body: serde_json::Value| f.json(p, method, path, body);
    let none = serde_json::Value::Null;
    let item = item_code(AGENCY_A);
    let (status, v) = send(P::Agent, "POST", "/api/v1/cases".into(), serde_json::json!({ "item_code": item, "form": [1] })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v:#}");
    // 食品经营许可 serves enterprises: a person acting for themselves is told to switch.
    let (status, v) = send(P::Citizen, "POST", "/api/v1/cases".into(), serde_json::json!({ "item_code": item, "form": {} })).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("case.applicant_type")), "{v:#}");
    // The form is checked on the server, every problem at once.
    let mut form = serde_json::json!({
        "applicant_name": "一网小馆", "contact_name": "王五", "contact_phone": "12345",
        "premises": "杭州市西湖区文三路1号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    });
    let (status, v) = send(P::Agent, "POST", "/api/v1/cases".into(), serde_json::json!({ "item_code": item, "form": form })).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("case.form_invalid")), "{v:#}");
    assert_eq!(v["detail"]["problems"][0]["field"], "contact_phone", "{v:#}");
    form["contact_phone"] = "13800138000".into();
    let (status, v) = send(P::Agent, "POST", "/api/v1/cases".into(), serde_json::json!({ "item_code": item, "form": form })).await;
    assert_eq!(status, 201, "{v:#}");
    // The bound 统一社会信用代码 is the enterprise's, from the session, not typed.
    assert_eq!(v["case"]["form"]["uscc"], ENTERPRISE, "{v:#}");
    let no = v["case"]["case_no"].as_str().unwrap().to_string();
    let code = v["query_code"].as_str().unwrap().to_string();
    assert_eq!(v["case"]["state"], "draft");
    let receipt_url = v["receipt_url"].as_str().unwrap().to_string();

    // Only the applicant submits; nobody else sees the case.
    assert_eq!(send(P::OtherCitizen, "POST", format!("/api/v1/cases/{no}/submit"), none.clone()).await.0, 404);
    assert_eq!(send(P::OtherCitizen, "GET", format!("/api/v1/cases/{no}"), none.clone()).await.0, 404);
    assert_eq!(send(P::OtherAgencyHead, "GET", format!("/api/v1/cases/{no}"), none.clone()).await.0, 404);
    // Not before the materials are there.
    let (status, v) = send(P::Agent, "POST", format!("/api/v1/cases/{no}/submit"), none.clone()).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.materials_missing")), "{v:#}");
    assert_eq!(v["detail"]["missing"].as_array().map(Vec::len), Some(4), "{v:#}");
    let upload = |p: P, material: &'static str, name: &'static str, bytes: &'static [u8]| {
        f.upload(p, format!("/api/v1/cases/{no}/materials"), material, name, bytes)
    };
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let (status, v) = upload(P::Agent, "食品经营许可申请书", "申请书.pdf", b"MZ not a pdf").await;
    assert_eq!((status, v["code"].as_str()), (422, Some("case.file_type")), "judged by content, not name: {v:#}");
    assert_eq!(upload(P::OtherCitizen, "食品经营许可申请书", "x.pdf", PDF).await.0, 404);
    for material in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件"]
    {
        let (status, v) = upload(P::Agent, material, "扫描件.pdf", PDF).await;
        assert_eq!(status, 201, "{v:#}");
    }
    let digest = v_digest(&send(P::Agent, "GET", format!("/api/v1/cases/{no}"), none.clone()).await.1);
    let commit = serde_json::json!({ "material": "食品安全自查、从业人员健康管理等制度" });
    assert_eq!(send(P::Agent, "POST", format!("/api/v1/cases/{no}/commitments"), commit).await.0, 201);
    let (status, v) = send(P::Agent, "POST", format!("/api/v1/cases/{no}/submit"), none.clone()).await;
    assert_eq!((status, v["case"]["state"].as_str()), (200, Some("submitted")), "{v:#}");

    // The clerk's inbox lists it; the other agency's does not; a cursor pages on.
    let (status, v) = send(P::Clerk, "GET", "/api/v1/workbench/cases?state=submitted".into(), none.clone()).await;
    assert_eq!((status, v["cases"][0]["case_no"].as_str()), (200, Some(no.as_str())), "{v:#}");
    let (_, v) = send(P::OtherAgencyHead, "GET", "/api/v1/workbench/cases".into(), none.clone()).await;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(0), "{v:#}");
    assert_eq!(send(P::OtherAgencyHead, "GET", format!("/api/v1/workbench/cases?agency={AGENCY_A}"), none.clone()).await.0, 403);
    assert_eq!(send(P::Clerk, "GET", "/api/v1/workbench/cases?state=bogus".into(), none.clone()).await.0, 400);
    let (_, v) = send(P::Clerk, "GET", "/api/v1/workbench/cases?limit=1".into(), none.clone()).await;
    let cursor = v["next"].as_str().unwrap().to_string();
    let (_, v) = send(P::Clerk, "GET", format!("/api/v1/workbench/cases?limit=1&after={}", cursor.replace('|', "%7C")), none.clone()).await;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(0), "one case in the agency: {v:#}");
    let event = |e: serde_json::Value, reason: &str| serde_json::json!({ "event": e, "reason": reason });
    let events = format!("/api/v1/cases/{no}/events");
    // The applicant's events are not staff events; a reviewer cannot accept; the head of another agency sees nothing.
    assert_eq!(send(P::Clerk, "POST", events.clone(), event(serde_json::json!({ "type": "submitted" }), "")).await.0, 403);
    let accept = event(serde_json::json!({ "type": "accepted", "promised_days": 1, "legal_days": 1 }), "");
    assert_eq!(send(P::Reviewer, "POST", events.clone(), accept.clone()).await.0, 403);
    assert_eq!(send(P::OtherAgencyHead, "POST", events.clone(), accept.clone()).await.0, 404);
    let notice = event(serde_json::json!({ "type": "correction_notified", "items": ["场所平面图"] }), "");
    assert_eq!(send(P::Clerk, "POST", events.clone(), notice).await.0, 200);
    // The correction: a better layout plan, and a corrected form field.
    let (status, v) = upload(P::Agent, "与食品经营相适应的主要设备设施布局、操作流程等文件", "场所平面图.pdf", PDF).await;
    assert_eq!(status, 201, "the applicant uploads while correcting: {v:#}");
    // PUT replaces the whole form: the client sends all of it.
    let mut corrected = form.clone();
    corrected["staff"] = 8.into();
    let (status, v) = send(P::Agent, "PUT", format!("/api/v1/cases/{no}/form"), serde_json::json!({ "form": corrected })).await;
    assert_eq!((status, v["case"]["form"]["staff"].as_i64()), (200, Some(8)), "{v:#}");
    assert_eq!(send(P::Agent, "POST", format!("/api/v1/cases/{no}/corrected"), none.clone()).await.0, 200);
    // After the correction the form is closed again.
    let (status, v) = send(P::Agent, "PUT", format!("/api/v1/cases/{no}/form"), serde_json::json!({ "form": { "staff": 9 } })).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.transition")), "{v:#}");
    let more = event(serde_json::json!({ "type": "correction_notified", "items": ["消防验收意见"] }), "");
    let (status, v) = send(P::Clerk, "POST", events.clone(), more).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("case.notice_adds_items")), "{v:#}");
    let (status, v) = send(P::Clerk, "POST", events.clone(), accept).await;
    assert_eq!((status, v["case"]["state"].as_str()), (200, Some("accepted")), "{v:#}");
    // The limits are the item's (20 and 10 working days), not the request's 1.
    assert!(v["case"]["legal_due"].as_str().unwrap() > v["case"]["promised_due"].as_str().unwrap(), "{v:#}");

    // 认领: the reviewer takes the case; the head's handling waits, the clerk cannot release it.
    let (status, v) = send(P::Reviewer, "POST", events.clone(), event(serde_json::json!({ "type": "claimed" }), "")).await;
    assert_eq!(status, 200, "{v:#}");
    let (status, v) = send(P::Head, "POST", events.clone(), event(serde_json::json!({ "type": "step_started", "step": "审查" }), "")).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.claimed_by_other")), "{v:#}");
    assert_eq!(send(P::Clerk, "POST", events.clone(), event(serde_json::json!({ "type": "released" }), "")).await.0, 403);
    let (_, v) = send(P::Reviewer, "GET", "/api/v1/workbench/cases?claimed=mine".into(), none.clone()).await;
    assert_eq!(v["cases"][0]["case_no"].as_str(), Some(no.as_str()), "{v:#}");
    let (_, v) = send(P::Head, "GET", "/api/v1/workbench/cases?claimed=none".into(), none.clone()).await;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(0), "{v:#}");
    let (status, v) =
        send(P::Reviewer, "POST", events.clone(), event(serde_json::json!({ "type": "step_started", "step": "审查" }), "")).await;
    assert_eq!(status, 200, "{v:#}");
    // 会签: agency B is asked for its opinion; it sees the case in its list, and the step waits for it.
    let ask = serde_json::json!({ "type": "countersign_requested", "step": "审查", "agencies": [AGENCY_B] });
    assert_eq!(send(P::Reviewer, "POST", events.clone(), event(ask, "")).await.0, 200);
    let (_, v) = send(P::OtherAgencyHead, "GET", "/api/v1/workbench/countersigns".into(), none.clone()).await;
    assert_eq!(v["countersigns"][0]["case_no"].as_str(), Some(no.as_str()), "{v:#}");
    assert_eq!(send(P::OtherAgencyHead, "GET", format!("/api/v1/cases/{no}"), none.clone()).await.0, 200);
    let pass = event(serde_json::json!({ "type": "step_passed", "step": "审查" }), "符合条件");
    let (status, v) = send(P::Reviewer, "POST", events.clone(), pass.clone()).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.countersign_open")), "{v:#}");
    let sign =
        |agency: &str| event(serde_json::json!({ "type": "countersigned", "step": "审查", "agency": agency, "agree": true }), "同意");
    assert_eq!(send(P::Reviewer, "POST", events.clone(), sign(AGENCY_B)).await.0, 403, "agency A cannot sign for B");
    assert_eq!(send(P::OtherAgencyHead, "POST", events.clone(), sign(AGENCY_B)).await.0, 200);
    let (_, v) = send(P::OtherAgencyHead, "GET", "/api/v1/workbench/countersigns".into(), none.clone()).await;
    assert_eq!(v["countersigns"].as_array().map(Vec::len), Some(0), "{v:#}");
    for (who, e, reason) in [
        (P::Reviewer, serde_json::json!({ "type": "step_passed", "step": "审查" }), "符合条件"),
        (P::Head, serde_json::json!({ "type": "decided", "decision": "approve" }), ""),
        (P::Head, serde_json::json!({ "type": "concluded", "result": "准予许可" }), ""),
    ] {
        let (status, v) = send(who, "POST", events.clone(), event(e, reason)).await;
        assert_eq!(status, 200, "{v:#}");
    }
    // A stale writer is refused.
    let (status, v) = send(
        P::Head,
        "POST",
        events.clone(),
        serde_json::json!({ "event": { "type": "delivered", "method": "电子证照" }, "expected_version": 2 }),
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.stale")), "{v:#}");

    let (status, v) = send(P::Agent, "GET", format!("/api/v1/cases/{no}/events"), none.clone()).await;
    assert_eq!((status, v["events"].as_array().map(Vec::len)), (200, Some(17)), "{v:#}");
    let passed = v["events"].as_array().unwrap().iter().find(|e| e["event"]["type"] == "step_passed").unwrap();
    assert_eq!(passed["reason"], "符合条件");
    // The uploaded file, for the applicant and the agency's staff only, as uploaded.
    let file = |p: P| {
        let f = &f;
        let path = format!("/api/v1/cases/{no}/materials/{digest}");
        async move {
            let (cookie, _) = f.login(p).await;
            let resp = f
                .app
                .clone()
                .oneshot(Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let kind = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
            (resp.status().as_u16(), kind, axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap())
        }
    };
    let (status, kind, bytes) = file(P::Reviewer).await;
    assert_eq!((status, kind.as_deref(), &bytes[..]), (200, Some("application/pdf"), PDF));
    assert_eq!(file(P::Agent).await.0, 200);
    assert_eq!(file(P::OtherCitizen).await.0, 404);
    // Agency B countersigned the step, so its staff may read the materials too.
    assert_eq!(file(P::OtherAgencyHead).await.0, 200);
    // The verification task for the commitment is in the reviewer's list.
    let (status, v) = send(P::Reviewer, "GET", "/api/v1/workbench/checks".into(), none.clone()).await;
    assert_eq!((status, v["checks"][0]["case_no"].as_str()), (200, Some(no.as_str())), "{v:#}");
    let (_, v) = send(P::Agent, "GET", "/api/v1/me/cases".into(), none.clone()).await;
    assert_eq!(v["cases"][0]["state"], "concluded");
    let (_, v) = send(P::OtherCitizen, "GET", "/api/v1/me/cases".into(), none.clone()).await;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(0));
    let (status, v) = send(P::Anon, "GET", format!("/api/v1/case-progress?case_no={no}&code={code}"), none.clone()).await;
    assert_eq!((status, v["state_zh"].as_str()), (200, Some("已办结")), "{v:#}");
    assert!(!v.to_string().contains(ENTERPRISE) && !v.to_string().contains("文三路"));
    // The portal pages: the list, the timeline with the one-time notice and the opinions, the public query.
    let page = |p: P, path: String| {
        let f = &f;
        async move {
            let (cookie, _) = f.login(p).await;
            let req = Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
            let resp = f.app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            (status, String::from_utf8_lossy(&bytes).to_string())
        }
    };
    let (status, html) = page(P::Agent, "/me/cases".into()).await;
    assert!(status == 200 && html.contains(&no) && html.contains("已办结"), "{html}");
    let (status, html) = page(P::Agent, format!("/me/cases/{no}")).await;
    assert_eq!(status, 200, "{html}");
    for want in [
        "一次性告知补齐补正：场所平面图",
        "上传材料：与食品经营相适应的主要设备设施布局、操作流程等文件（场所平面图.pdf）",
        "签署告知承诺：食品安全自查、从业人员健康管理等制度",
        "修改申请表：staff",
        "受理",
        "审查：通过",
        "符合条件",
        "决定：准予",
        "办结：准予许可",
    ] {
        assert!(html.contains(want), "{want} missing: {html}");
    }
    assert_eq!(page(P::OtherCitizen, format!("/me/cases/{no}")).await.0, 404);
    let (status, html) = page(P::Anon, format!("/cases/query?case_no={no}&code={code}")).await;
    assert!(status == 200 && html.contains("已办结") && !html.contains("一网小馆") && !html.contains("文三路"), "{html}");
    let wrong = if code == "12345678" { "87654321" } else { "12345678" };
    assert_eq!(page(P::Anon, format!("/cases/query?case_no={no}&code={wrong}")).await.0, 404);
    // The printable receipt (受理回执 once accepted) carries the number and the query code.
    let req = Request::builder().uri(&receipt_url).body(Body::empty()).unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let pdf = axum::body::to_bytes(resp.into_body(), 8 << 20).await.unwrap();
    let text = pdf_text(&pdf);
    let masked = yiwang_identity::mask_name(&f.store.case(&no).await.unwrap().applicant.name);
    for want in ["受理回执", no.as_str(), code.as_str(), masked.as_str(), "承诺办结日"] {
        assert!(text.contains(want), "{want} missing from the receipt:\n{text}");
    }
    assert!(!text.contains(ENTERPRISE));
    // An unknown case number is simply not found.
    assert_eq!(send(P::Anon, "GET", "/api/v1/case-progress?case_no=none&code=1".into(), none.clone()).await.0, 404);
    // Guessing is throttled per client: the tenth wrong code (one was tried above)
    // locks this client's queries, and then even the right one waits.
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(send(P::Anon, "GET", format!("/api/v1/case-progress?case_no={no}&code={wrong}"), none.clone()).await.0);
    }
    assert_eq!(statuses[..8], [404; 8], "{statuses:?}");
    assert!(statuses[8..].iter().all(|s| *s == 429), "{statuses:?}");
    let (status, v) = send(P::Anon, "GET", format!("/api/v1/case-progress?case_no={no}&code={code}"), none.clone()).await;
    assert_eq!((status, v["code"].as_str()), (429, Some("case.query_throttled")), "{v:#}");
    db.cleanup().await;
}

/// The digest of a case's first upload, from the case API.
fn v_digest(v: &serde_json::Value) -> String {
    v["case"]["uploads"][0]["file"]["digest"].as_str().unwrap_or_default().to_string()
}

/// The portal's application pages without JavaScript: the form shows what the
/// government holds, locked; a bad value comes back beside its field; the
/// draft's page shows the 查询码 once; materials are uploaded with a plain
/// multipart form (CSRF token in the action URL); a commitment replaces one;
/// the page refuses to submit while a material is missing, then submits.
#[tokio::test]
async fn applying_through_the_portal_pages() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let item = item_code(AGENCY_A);
    let (cookie, csrf) = f.login(P::Agent).await;
    let send = |method: &'static str, path: String, content_type: &'static str, body: Vec<u8>| {
        let (f, cookie) = (&f, cookie.clone());
        async move {
            let mut req = Request::builder().method(method).uri(path).header(header::COOKIE, cookie);
            if !content_type.is_empty() {
                req = req.header(header::CONTENT_TYPE, content_type);
            }
            let resp = f.app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
            let status = resp.status().as_u16();
            let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            (status, location, String::from_utf8_lossy(&bytes).to_string())
        }
    };
    let form = |pairs: &[(&str, &str)]| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("csrf", &csrf);
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish().into_bytes()
    };
    const URLENC: &str = "application/x-www-form-urlencoded";

    // The guide links to the form; the form is filled from the legal-entity base data.
    let (status, _, html) = send("GET", format!("/items/{item}"), "", vec![]).await;
    assert!(status == 200 && html.contains(&format!("/items/{item}/apply")), "{html}");
    let (status, _, html) = send("GET", format!("/items/{item}/apply"), "", vec![]).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"value="杭州一网餐饮有限公司" readonly"#), "the name is held, not typed: {html}");
    assert!(html.contains(&format!(r#"value="{ENTERPRISE}" readonly"#)) && html.contains("来自法人基础信息库"), "{html}");
    assert!(html.contains("<select") && html.contains("<option>单位食堂</option>"), "{html}");

    // A bad phone number comes back beside its field, with what was typed kept.
    let bad = form(&[("contact_phone", "12345"), ("premises", "文三路1号"), ("staff", "十二")]);
    let (status, _, html) = send("POST", format!("/items/{item}/apply"), URLENC, bad).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("联系电话应为手机号码或带区号的电话") && html.contains("从业人员数应为整数"), "{html}");
    assert!(html.contains(r#"value="文三路1号""#), "{html}");
    assert!(f.store.cases_of("049", ENTERPRISE, None, 10).await.unwrap().is_empty(), "a refused form writes nothing");

    let good = form(&[
        ("contact_phone", "13800138000"),
        ("premises", "杭州市西湖区文三路1号"),
        ("business_form", "餐饮服务经营者"),
        ("items", "热食类食品制售\r\n冷食类食品制售"),
        ("applicant_name", "改名也无用"),
    ]);
    let (status, _, html) = send("POST", format!("/items/{item}/apply"), URLENC, good).await;
    assert_eq!(status, 201, "{html}");
    let c = f.store.cases_of("049", ENTERPRISE, None, 10).await.unwrap().remove(0);
    assert_eq!(c.form["applicant_name"], "杭州一网餐饮有限公司");
    assert_eq!(c.form["items"], serde_json::json!(["热食类食品制售", "冷食类食品制售"]));
    assert!(html.contains("查询码") && html.contains(&c.case_no), "{html}");
    let no = c.case_no;

    // The case page offers uploads; submitting now names what is missing.
    let (status, _, html) = send("GET", format!("/me/cases/{no}"), "", vec![]).await;
    assert!(status == 200 && html.contains(&format!("/me/cases/{no}/materials?csrf={csrf}")), "{html}");
    assert!(html.contains("以告知承诺代替此材料"), "{html}");
    let (status, _, html) = send("POST", format!("/me/cases/{no}/submit"), URLENC, form(&[])).await;
    assert!(status == 409 && html.contains("以下必要材料尚未提供"), "{status} {html}");

    let upload = |material: &'static str, with_csrf: bool| {
        let boundary = "XyZ";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"material\"\r\n\r\n{material}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(b"%PDF-1.4\n%%EOF\n\r\n--XyZ--\r\n");
        let path = if with_csrf { format!("/me/cases/{no}/materials?csrf={csrf}") } else { format!("/me/cases/{no}/materials") };
        send("POST", path, "multipart/form-data; boundary=XyZ", body)
    };
    assert_eq!(upload("食品经营许可申请书", false).await.0, 403, "no token, no upload");
    for m in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件"]
    {
        let (status, location, html) = upload(m, true).await;
        assert_eq!((status, location.as_str()), (303, format!("/me/cases/{no}?done=uploaded").as_str()), "{html}");
    }
    let commit = form(&[("material", "食品安全自查、从业人员健康管理等制度")]);
    assert_eq!(send("POST", format!("/me/cases/{no}/commitments"), URLENC, commit).await.0, 303);
    let (status, location, _) = send("POST", format!("/me/cases/{no}/submit"), URLENC, form(&[])).await;
    assert_eq!((status, location.as_str()), (303, format!("/me/cases/{no}?done=submitted").as_str()));
    let (_, _, html) = send("GET", format!("/me/cases/{no}?done=submitted"), "", vec![]).await;
    assert!(html.contains("申请已提交") && html.contains("已申请") && html.contains("scan.pdf"), "{html}");
    assert!(!html.contains("保存申请表"), "the form is closed once submitted: {html}");
    db.cleanup().await;
}

/// 一窗受理: the comprehensive window of a hall takes an application for the
/// enterprise at the counter, by its code, for an item of an agency the hall
/// serves; the base-data read is audited with its reason; the clerk fills the
/// form, scans the materials in, submits and accepts; the 受理回执 follows. A
/// clerk whose hall does not serve the agency cannot; a window clerk cannot
/// act for the applicant of an online application; the applicant sees the case.
#[tokio::test]
async fn a_window_clerk_takes_an_application_at_the_hall() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let item = item_code(AGENCY_A);
    let now = jiff::Timestamp::now();
    // 市民中心, run by a service centre, serving agency A; 钱一 is its window clerk.
    let center = {
        let body = "11330100002500020";
        format!("{body}{}", yiwang_codes::uscc::uscc_check_char(body).unwrap())
    };
    let mut tx = f.store.begin().await.unwrap();
    let agency = yiwang_store::Agency {
        uscc: center.clone(),
        name: "杭州市政务服务中心".into(),
        division_code: "330100".into(),
        level: "municipal".into(),
    };
    tx.upsert_agency(&agency, "t", now).await.unwrap();
    let hall = yiwang_store::Hall {
        id: "hz-hall".into(),
        name: "市民中心".into(),
        division_code: "330100".into(),
        agency_uscc: center.clone(),
        address: String::new(),
        agencies: vec![AGENCY_A.into()],
    };
    tx.upsert_hall(&hall, "t", now).await.unwrap();
    let clerk = tx
        .create_account(
            &NewAccount {
                citizen_id: cid("33010219850505001"),
                name: "钱一".into(),
                phone: None,
                email: None,
                password_hash: None,
                level: RealNameLevel::L2,
                level_source: "test".into(),
                status: AccountStatus::Active,
            },
            "t",
            now,
        )
        .await
        .unwrap();
    tx.grant_staff_role(&clerk.id, &center, Role::WindowClerk, "t", now).await.unwrap();
    let s = tx.create_session(&clerk.id, "pwd", &Default::default(), now).await.unwrap();
    tx.commit().await.unwrap();
    let audit_before = f.store.audit_page(0, 10_000).await.unwrap().entries.len();
    let (clerk_cookie, clerk_csrf) = (format!("yiwang_session={}", s.token), s.csrf.clone());
    let request = |cookie: String, csrf: String, method: &'static str, path: String, content_type: &'static str, body: Vec<u8>| {
        let f = &f;
        async move {
            let mut req = Request::builder().method(method).uri(path).header(header::COOKIE, cookie).header("x-csrf-token", csrf);
            if !content_type.is_empty() {
                req = req.header(header::CONTENT_TYPE, content_type);
            }
            let resp = f.app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
            let status = resp.status().as_u16();
            let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            (status, location, String::from_utf8_lossy(&bytes).to_string())
        }
    };
    let clerk_json = |method: &'static str, path: String, body: serde_json::Value| {
        let r = request(clerk_cookie.clone(), clerk_csrf.clone(), method, path, "application/json", body.to_string().into_bytes());
        async move {
            let (status, _, text) = r.await;
            (status, serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default())
        }
    };

    // The console lists the hall's items.
    let (status, _, html) = request(clerk_cookie.clone(), clerk_csrf.clone(), "GET", "/console/window".into(), "", vec![]).await;
    assert!(status == 200 && html.contains("市民中心") && html.contains(&item), "{html}");
    // No reason, no lookup.
    let open = serde_json::json!({ "item_code": item, "applicant_id": ENTERPRISE, "reason": "" });
    assert_eq!(clerk_json("POST", "/api/v1/window/cases".into(), open).await.0, 400);
    let open = serde_json::json!({ "item_code": item, "applicant_id": ENTERPRISE.to_lowercase(), "reason": "窗口受理申请" });
    let (status, v) = clerk_json("POST", "/api/v1/window/cases".into(), open.clone()).await;
    assert_eq!(status, 201, "{v:#}");
    let no = v["case"]["case_no"].as_str().unwrap().to_string();
    let code = v["query_code"].as_str().unwrap().to_string();
    assert_eq!(v["case"]["form"]["applicant_name"], "杭州一网餐饮有限公司", "{v:#}");
    let c = f.store.case(&no).await.unwrap();
    assert_eq!((c.channel.as_str(), c.hall_id.as_deref(), c.applicant.id.as_str()), ("window", Some("hz-hall"), ENTERPRISE));
    let audit = f.store.audit_page(0, 10_000).await.unwrap().entries;
    let read = audit[audit_before..].iter().find(|e| e.record.action == "personal_data.read").expect("the base-data read is audited");
    assert_eq!((read.record.reason.as_str(), read.record.actor.as_str()), ("窗口受理申请", clerk.id.as_str()));

    // The clerk fills in the form, scans the materials in, and submits for the applicant.
    let form = serde_json::json!({ "form": {
        "contact_name": "王五", "contact_phone": "13800138000", "premises": "杭州市西湖区文三路1号",
        "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    } });
    let (status, v) = clerk_json("PUT", format!("/api/v1/cases/{no}/form"), form).await;
    assert_eq!(status, 200, "{v:#}");
    // On the console page the 查询码 travels with each change, for the receipts.
    let (status, _, html) =
        request(clerk_cookie.clone(), clerk_csrf.clone(), "GET", format!("/console/window/cases/{no}?code={code}"), "", vec![]).await;
    assert!(status == 200 && html.contains("保存申请表") && html.contains("打印申请回执"), "{html}");
    let save = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &clerk_csrf)
        .append_pair("code", &code)
        .append_pair("contact_name", "王五")
        .append_pair("contact_phone", "13800138000")
        .append_pair("premises", "杭州市西湖区文三路1号")
        .append_pair("business_form", "餐饮服务经营者")
        .append_pair("items", "热食类食品制售")
        .finish()
        .into_bytes();
    let (status, location, html) = request(
        clerk_cookie.clone(),
        clerk_csrf.clone(),
        "POST",
        format!("/me/cases/{no}/form"),
        "application/x-www-form-urlencoded",
        save,
    )
    .await;
    assert_eq!((status, location.as_str()), (303, format!("/console/window/cases/{no}?code={code}&done=saved").as_str()), "{html}");
    for m in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件"]
    {
        let mut body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"material\"\r\n\r\n{m}\r\n--XyZ\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(b"%PDF-1.4\n%%EOF\n\r\n--XyZ--\r\n");
        let path = format!("/api/v1/cases/{no}/materials");
        let (status, _, text) =
            request(clerk_cookie.clone(), clerk_csrf.clone(), "POST", path, "multipart/form-data; boundary=XyZ", body).await;
        assert_eq!(status, 201, "{text}");
    }
    let commit = serde_json::json!({ "material": "食品安全自查、从业人员健康管理等制度" });
    assert_eq!(clerk_json("POST", format!("/api/v1/cases/{no}/commitments"), commit).await.0, 201);
    let (status, v) = clerk_json("POST", format!("/api/v1/cases/{no}/submit"), serde_json::Value::Null).await;
    assert_eq!((status, v["case"]["state"].as_str()), (200, Some("submitted")), "{v:#}");

    // Acceptance at the window, and the 受理回执 link with the 查询码.
    let accept = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &clerk_csrf)
        .append_pair("action", "accept")
        .append_pair("code", &code)
        .finish()
        .into_bytes();
    let path = format!("/console/window/cases/{no}/events");
    let (status, location, _) =
        request(clerk_cookie.clone(), clerk_csrf.clone(), "POST", path, "application/x-www-form-urlencoded", accept).await;
    assert_eq!((status, location.clone()), (303, format!("/console/window/cases/{no}?code={code}&done=accepted")));
    let (status, _, html) = request(clerk_cookie.clone(), clerk_csrf.clone(), "GET", location, "", vec![]).await;
    assert!(status == 200 && html.contains("已受理") && html.contains("打印受理回执"), "{html}");
    assert!(f.store.case(&no).await.unwrap().promised_due.is_some());

    // The enterprise sees its case online; other agencies' staff do not.
    let (agent_cookie, agent_csrf) = f.login(P::Agent).await;
    let (_, _, mine) = request(agent_cookie, agent_csrf, "GET", "/api/v1/me/cases".into(), "", vec![]).await;
    assert!(mine.contains(&no), "{mine}");
    let (head_cookie, head_csrf) = f.login(P::OtherAgencyHead).await;
    assert_eq!(request(head_cookie, head_csrf, "GET", format!("/api/v1/cases/{no}"), "", vec![]).await.0, 404);
    // A clerk of agency A without a hall has no window for the hall's items.
    let (c_cookie, c_csrf) = f.login(P::Clerk).await;
    let (status, _, text) =
        request(c_cookie.clone(), c_csrf.clone(), "POST", "/api/v1/window/cases".into(), "application/json", open.to_string().into_bytes())
            .await;
    assert_eq!(status, 403, "{text}");
    // A window clerk does not act for the applicant of an online application.
    let (a_cookie, a_csrf) = f.login(P::Agent).await;
    let online = serde_json::json!({ "item_code": item, "form": {} }).to_string().into_bytes();
    let (status, _, text) = request(a_cookie, a_csrf, "POST", "/api/v1/cases".into(), "application/json", online).await;
    assert_eq!(status, 201, "{text}");
    let online_no = serde_json::from_str::<serde_json::Value>(&text).unwrap()["case"]["case_no"].as_str().unwrap().to_string();
    let (status, _) = clerk_json("POST", format!("/api/v1/cases/{online_no}/submit"), serde_json::Value::Null).await;
    assert_eq!(status, 403);
    db.cleanup().await;
}

/// 一件事一次办 through the API: one form and one set of materials for two
/// items of agency A, handed in once; the window accepts both children at
/// once (the bundle's shorter promised limit applies); each is handled on its
/// own and the bundle completes with the last. Nobody else sees it; staff see
/// the progress, not the form.
#[tokio::test]
async fn a_bundle_through_the_api() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let send = |p: P, method: &'static str, path: String, body: serde_json::Value| f.json(p, method, path, body);
    let none = serde_json::Value::Null;
    let seal = demo_item_of("公章刻制备案", AGENCY_A, "杭州市市场监督管理局", "330100");
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&seal, true, "t", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    let food = item_code(AGENCY_A);
    let bundle = yiwang_catalog::Bundle {
        code: "open-restaurant".into(),
        name: "开办餐饮店".into(),
        description: "一张表、一套材料".into(),
        division_code: "330100".into(),
        lead_item: food.clone(),
        items: vec![food.clone(), seal.implementation_code.clone()],
        promised_days: Some(3),
        issue_together: false,
    };
    f.store.define_bundle(&bundle, "t", jiff::Timestamp::now()).await.unwrap();
    let (status, v) = send(P::Anon, "GET", "/api/v1/bundles/open-restaurant".into(), none.clone()).await;
    assert_eq!((status, v["items"].as_array().map(Vec::len)), (200, Some(2)), "{v:#}");
    assert!(v["form"]["properties"]["premises"].is_object(), "{v:#}");

    let form = serde_json::json!({
        "contact_name": "王五", "contact_phone": "13800138000",
        "premises": "杭州市西湖区文三路1号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    });
    let body = serde_json::json!({ "bundle_code": "open-restaurant", "form": form });
    let (status, v) = send(P::Agent, "POST", "/api/v1/bundle-cases".into(), body).await;
    assert_eq!(status, 201, "{v:#}");
    let no = v["bundle"]["bundle_no"].as_str().unwrap().to_string();
    assert_eq!(v["bundle"]["children"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["bundle"]["children"][0]["form"]["uscc"], ENTERPRISE, "bound from the session: {v:#}");
    let path = format!("/api/v1/bundle-cases/{no}");
    assert_eq!(send(P::OtherCitizen, "GET", path.clone(), none.clone()).await.0, 404);
    assert_eq!(send(P::OtherAgencyHead, "GET", path.clone(), none.clone()).await.0, 404);
    let (status, v) = send(P::Reviewer, "GET", path.clone(), none.clone()).await;
    assert_eq!(status, 200);
    assert!(v["bundle"]["form"].is_null() && v["bundle"]["children"][0]["form"].is_null(), "staff see progress only: {v:#}");
    assert_eq!(send(P::Reviewer, "POST", format!("{path}/submit"), none.clone()).await.0, 403);

    let (status, v) = send(P::Agent, "POST", format!("{path}/submit"), none.clone()).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.materials_missing")), "{v:#}");
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    for m in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件", "法定代表人居民身份证"]
    {
        let (status, v) = f.upload(P::Agent, format!("{path}/materials"), m, "扫描件.pdf", PDF).await;
        assert_eq!(status, 201, "{m}: {v:#}");
    }
    let commit = serde_json::json!({ "material": "食品安全自查、从业人员健康管理等制度" });
    assert_eq!(send(P::Agent, "POST", format!("{path}/commitments"), commit).await.0, 201);
    let (status, v) = send(P::Agent, "POST", format!("{path}/submit"), none.clone()).await;
    assert_eq!((status, v["bundle"]["state"].as_str()), (200, Some("in_progress")), "{v:#}");

    // One acceptance at the window for both children, from either child's page in the console.
    let (_, v) = send(P::Agent, "GET", path.clone(), none.clone()).await;
    let children: Vec<String> =
        v["bundle"]["children"].as_array().unwrap().iter().map(|c| c["case_no"].as_str().unwrap().to_string()).collect();
    let (status, html) = f.page(P::Clerk, format!("/console/window/cases/{}", children[1]), None).await;
    assert!(status == 200 && html.contains("一次受理整个一件事"), "{html}");
    let form = vec![("case_no", children[1].clone())];
    let (status, html) = f.page(P::Clerk, format!("/console/window/bundles/{no}/accept"), Some(form)).await;
    assert_eq!(status, 303, "{html}");
    let (status, v) = send(P::Clerk, "GET", path.clone(), none.clone()).await;
    assert_eq!(status, 200, "{v:#}");
    for no in &children {
        let c = f.store.case(no).await.unwrap();
        assert_eq!(c.state, yiwang_case::State::Accepted);
        // The bundle's combined promised limit (3) where the item's is longer (食品经营许可: 5).
        assert!(c.case.promised_days <= 3, "{no}: {}", c.case.promised_days);
    }
    let (status, v) = send(P::Clerk, "POST", format!("{path}/accept"), none.clone()).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("bundle.state")), "{v:#}");

    // Each child is handled on its own; the bundle completes with the last.
    let event = |e: serde_json::Value| serde_json::json!({ "event": e, "reason": "" });
    for (i, no) in children.iter().enumerate() {
        for (who, e) in [
            (P::Reviewer, serde_json::json!({ "type": "step_started", "step": "审查" })),
            (P::Reviewer, serde_json::json!({ "type": "step_passed", "step": "审查" })),
            (P::Head, serde_json::json!({ "type": "decided", "decision": "approve" })),
            (P::Head, serde_json::json!({ "type": "concluded", "result": "准予" })),
        ] {
            let (status, v) = send(who, "POST", format!("/api/v1/cases/{no}/events"), event(e)).await;
            assert_eq!(status, 200, "{v:#}");
        }
        let (_, v) = send(P::Agent, "GET", path.clone(), none.clone()).await;
        let expected = if i + 1 == children.len() { "completed" } else { "in_progress" };
        assert_eq!(v["bundle"]["state"], expected, "{v:#}");
    }
    let (_, v) = send(P::Agent, "GET", "/api/v1/me/bundle-cases".into(), none.clone()).await;
    assert_eq!(v["bundles"][0]["bundle_no"].as_str(), Some(no.as_str()), "{v:#}");
    let (_, v) = send(P::OtherCitizen, "GET", "/api/v1/me/bundle-cases".into(), none.clone()).await;
    assert_eq!(v["bundles"].as_array().map(Vec::len), Some(0));

    // The portal pages: the guide, the applicant's page with each department's case, the list.
    let (status, html) = f.page(P::Anon, "/bundles/open-restaurant".into(), None).await;
    assert!(status == 200 && html.contains("公章刻制备案") && html.contains("上传一次，各事项共用"), "{html}");
    let (status, html) = f.page(P::Agent, format!("/me/bundles/{no}"), None).await;
    assert!(status == 200 && html.contains("已办结") && html.contains(&children[0]) && html.contains(&children[1]), "{html}");
    assert_eq!(f.page(P::OtherCitizen, format!("/me/bundles/{no}"), None).await.0, 404);
    let (_, html) = f.page(P::Agent, "/me/cases".into(), None).await;
    assert!(html.contains(&format!("/me/bundles/{no}")), "{html}");
    // Applying through the page: the one form, bound fields filled from the session.
    let (status, html) = f.page(P::Agent, "/bundles/open-restaurant/apply".into(), None).await;
    assert!(status == 200 && html.contains("premises") && html.contains(ENTERPRISE), "{html}");
    let bad = vec![("contact_phone", "123".to_string())];
    let (status, html) = f.page(P::Agent, "/bundles/open-restaurant/apply".into(), Some(bad)).await;
    assert!(status == 422 && html.contains("联系电话"), "{html}");
    let good = vec![("contact_name", "王五".to_string()), ("contact_phone", "13800138000".to_string())];
    let (status, html) = f.page(P::Agent, "/bundles/open-restaurant/apply".into(), Some(good)).await;
    assert!(status == 201 && html.contains("一件事申请编号") && html.contains("/me/bundles/"), "{html}");
    let (_, v) = send(P::Agent, "GET", "/api/v1/me/bundle-cases".into(), none.clone()).await;
    let second = v["bundles"][0]["bundle_no"].as_str().unwrap().to_string();
    assert_ne!(second, no);
    let (status, html) = f.page(P::Agent, format!("/me/bundles/{second}/submit"), Some(vec![])).await;
    // Handing in checks the one form as complete first (the food items' fields are still empty).
    assert!(status == 422 && html.contains("申请表有 2 处需要修改"), "{html}");
    db.cleanup().await;
}

/// The department workbench pages take an accepted case to its end: the
/// reviewer claims it (a colleague must wait), handles the step with a
/// special procedure that stops the clock, passes it; the head decides and
/// concludes. Each refusal (role, claim, state) shows on the page.
#[tokio::test]
async fn the_workbench_pages_take_a_case_to_completion() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let no = f.submitted_food_case().await;
    let accept = serde_json::json!({ "event": { "type": "accepted", "promised_days": 0, "legal_days": 0 } });
    assert_eq!(f.json(P::Clerk, "POST", format!("/api/v1/cases/{no}/events"), accept).await.0, 200);

    let (status, html) = f.page(P::Reviewer, "/console/cases".into(), None).await;
    assert!(status == 200 && html.contains(&no) && html.contains("已受理"), "{html}");
    assert_eq!(f.page(P::OtherAgencyHead, format!("/console/cases/{no}"), None).await.0, 404, "not asked to countersign yet");
    let act = |p: P, pairs: Vec<(&'static str, &'static str)>| {
        let path = format!("/console/cases/{no}/events");
        let pairs = pairs.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        f.page(p, path, Some(pairs))
    };
    assert_eq!(act(P::Reviewer, vec![("action", "claimed")]).await.0, 303);
    let (status, html) = act(P::Head, vec![("action", "step_started"), ("step", "审查")]).await;
    assert!(status == 409 && html.contains("role=\"alert\""), "a colleague waits for the claim: {html}");
    let (status, html) = act(P::Reviewer, vec![("action", "bogus")]).await;
    assert!(status == 400 && html.contains("未知的操作"), "{html}");
    for pairs in [
        vec![("action", "step_started"), ("step", "审查")],
        vec![("action", "special_started"), ("name", "现场核查"), ("reason", "核实经营场所")],
        vec![("action", "special_ended"), ("result", "场所与申报一致")],
        vec![("action", "countersign_requested"), ("step", "审查"), ("agency", AGENCY_B)],
    ] {
        let (status, html) = act(P::Reviewer, pairs.clone()).await;
        assert_eq!(status, 303, "{pairs:?}: {html}");
    }
    // 会签: the step waits for agency B, which finds the case on its workbench and signs.
    let pass = vec![("action", "step_passed"), ("step", "审查"), ("reason", "符合条件")];
    assert_eq!(act(P::Reviewer, pass.clone()).await.0, 409);
    let (_, html) = f.page(P::OtherAgencyHead, "/console/cases".into(), None).await;
    assert!(html.contains("待我会签") && html.contains(&no), "{html}");
    let (status, html) = f.page(P::OtherAgencyHead, format!("/console/cases/{no}"), None).await;
    assert!(status == 200 && html.contains("提交会签意见"), "{html}");
    let sign = vec![("action", "countersigned"), ("step", "审查"), ("agency", AGENCY_B), ("agree", "yes"), ("reason", "无异议")];
    assert_eq!(act(P::OtherAgencyHead, sign).await.0, 303);
    assert_eq!(act(P::Reviewer, pass).await.0, 303);
    let (status, html) = act(P::Reviewer, vec![("action", "decided"), ("decision", "approve")]).await;
    assert!(status == 403, "the decision is the head's: {html}");
    for pairs in [vec![("action", "decided"), ("decision", "approve")], vec![("action", "concluded"), ("result", "准予许可")]] {
        assert_eq!(act(P::Head, pairs.clone()).await.0, 303, "{pairs:?}");
    }
    let (status, html) = f.page(P::Head, format!("/console/cases/{no}"), None).await;
    assert!(status == 200 && html.contains("已办结") && html.contains("场所与申报一致") && html.contains("通过 符合条件"), "{html}");
    db.cleanup().await;
}

/// The integration API: a department system's records become events once per
/// Idempotency-Key; the agency's webhook receives each exchanged record,
/// signed, and the Standard Webhooks reference library (Python) verifies it;
/// a refused delivery is retried.
#[tokio::test]
async fn department_systems_send_records_and_receive_signed_webhooks() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let none = serde_json::Value::Null;
    // The head subscribes a receiver (a Python process with the reference library).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    let (status, v) = f
        .json(
            P::Head,
            "POST",
            "/api/v1/integration/webhooks".into(),
            serde_json::json!({ "url": "http://127.0.0.1:9/", "events": ["case.bogus"] }),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "{v:#}");
    let (status, v) = f
        .json(
            P::OtherAgencyHead,
            "POST",
            "/api/v1/integration/webhooks".into(),
            serde_json::json!({ "agency_uscc": AGENCY_A, "url": "http://127.0.0.1:9/" }),
        )
        .await;
    assert_eq!(status, 403, "{v:#}");
    // A subscription is stopped by its head.
    let (status, v) =
        f.json(P::Head, "POST", "/api/v1/integration/webhooks".into(), serde_json::json!({ "url": "http://127.0.0.1:9/old" })).await;
    assert_eq!(status, 201, "{v:#}");
    let old = v["webhook"]["id"].as_str().unwrap().to_string();
    assert_eq!(f.json(P::OtherAgencyHead, "DELETE", format!("/api/v1/integration/webhooks/{old}"), none.clone()).await.0, 404);
    assert_eq!(f.json(P::Head, "DELETE", format!("/api/v1/integration/webhooks/{old}"), none.clone()).await.0, 204);
    // The receiver starts first; it reads the secret, shown once at subscription, from a file.
    let secret_file = dir.path().join("secret");
    let mut receiver = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/webhook_receiver.py"))
        .arg(&secret_file)
        .arg(&out)
        .arg("--fail-first")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with standardwebhooks (tests/requirements.txt)");
    let mut port = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(receiver.stdout.take().unwrap()), &mut port).unwrap();
    let events = ["case.submitted", "case.accepted", "case.step", "case.concluded"];
    let url = format!("http://127.0.0.1:{}/hook", port.trim());
    let (status, v) =
        f.json(P::Head, "POST", "/api/v1/integration/webhooks".into(), serde_json::json!({ "url": url, "events": events })).await;
    assert_eq!(status, 201, "{v:#}");
    let hook = v["webhook"]["id"].as_str().unwrap().to_string();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    std::fs::write(&secret_file, &secret).unwrap();
    let (_, v) = f.json(P::Head, "GET", "/api/v1/integration/webhooks".into(), none.clone()).await;
    assert!(!v.to_string().contains(&secret), "the secret is shown once only: {v:#}");

    // A case is applied for and submitted on the portal; the department's system accepts and handles it.
    let no = f.submitted_food_case().await;

    let records = format!("/api/v1/integration/cases/{no}/records");
    let now = jiff::Timestamp::now();
    let gb = |t: jiff::Timestamp| yiwang_case::gbt39046::gb_time(t);
    let accept = serde_json::json!({ "table": "acceptance", "accept_time": gb(now), "accepting_officer": "窗口一号", "acceptance_doc_no": "杭受〔2026〕1号" });
    let ((status, v), _) = f.json_with(P::Clerk, "POST", records.clone(), accept.clone(), &[]).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("http.bad_parameter")), "the key is required: {v:#}");
    let ((status, v), _) = f.json_with(P::Reviewer, "POST", records.clone(), accept.clone(), &[("idempotency-key", "acc-1")]).await;
    assert_eq!(status, 403, "acceptance is the window's: {v:#}");
    let ((status, v), _) = f.json_with(P::OtherAgencyHead, "POST", records.clone(), accept.clone(), &[("idempotency-key", "acc-1")]).await;
    assert_eq!(status, 404, "another agency's case: {v:#}");
    let ((status, v), _) = f.json_with(P::Clerk, "POST", records.clone(), accept.clone(), &[("idempotency-key", "acc-1")]).await;
    assert_eq!((status, v["state"].as_str()), (201, Some("accepted")), "{v:#}");
    // The retry answers the same without recording twice; another body under the same key is refused.
    let ((status, again), headers) = f.json_with(P::Clerk, "POST", records.clone(), accept.clone(), &[("idempotency-key", "acc-1")]).await;
    assert_eq!((status, &again), (200, &v));
    assert_eq!(headers.get("idempotent-replayed").map(|h| h.to_str().unwrap()), Some("true"));
    let other = serde_json::json!({ "table": "acceptance", "accept_time": gb(now), "accepting_officer": "窗口二号" });
    let ((status, v), _) = f.json_with(P::Clerk, "POST", records.clone(), other, &[("idempotency-key", "acc-1")]).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("integration.key_reused")), "{v:#}");
    let step = serde_json::json!({
        "table": "handling", "step_name": "审查", "step_status": "2", "business_action": "通过", "step_handler": "张审",
        "step_opinion": "符合条件", "step_start": gb(now), "step_end": gb(now),
    });
    let ((status, v), _) = f.json_with(P::Reviewer, "POST", records.clone(), step, &[("idempotency-key", "step-1")]).await;
    assert_eq!((status, v["recorded"].clone()), (201, serde_json::json!(["step_started", "step_passed"])), "{v:#}");
    let done = serde_json::json!({ "table": "completion", "result_type": "准予", "result_description": "准予许可", "completion_time": gb(now), "completion_handler": "周三" });
    let ((status, v), _) = f.json_with(P::Reviewer, "POST", records.clone(), done.clone(), &[("idempotency-key", "done-1")]).await;
    assert_eq!(status, 403, "the decision is the head's: {v:#}");
    let ((status, v), _) = f.json_with(P::Head, "POST", records.clone(), done, &[("idempotency-key", "done-1")]).await;
    assert_eq!((status, v["state"].as_str()), (201, Some("concluded")), "{v:#}");
    let (_, v) = f.json(P::Agent, "GET", format!("/api/v1/cases/{no}/events"), none.clone()).await;
    let kinds: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["event"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "accepted").count(), 1, "{kinds:?}");
    let passed = v["events"].as_array().unwrap().iter().find(|e| e["event"]["type"] == "step_passed").unwrap();
    assert_eq!(passed["reason"], "符合条件（外部系统办理人：张审）");

    // Deliveries: the first attempt of each is refused (500) and retried later; every one verifies.
    let outbound = yiwang_web::outbound::OutboundPolicy::allowing_loopback();
    let client = outbound.client(std::time::Duration::from_secs(10)).unwrap();
    // The secret is kept wrapped under the node master key; the dispatcher unwraps it.
    let master = yiwang_crypto::seal::MasterKey::from_hex(&f.master_hex).unwrap();
    let first = yiwang_web::integration::dispatch_once(&f.store, &client, &outbound, Some(&master), jiff::Timestamp::now()).await.unwrap();
    assert_eq!(first, 0, "every first attempt is refused");
    let (_, v) = f.json(P::Head, "GET", format!("/api/v1/integration/webhooks/{hook}/deliveries"), none.clone()).await;
    let statuses: Vec<i64> = v["deliveries"].as_array().unwrap().iter().map(|d| d["last_status"].as_i64().unwrap_or(0)).collect();
    assert!(!statuses.is_empty() && statuses.iter().all(|s| *s == 500), "{v:#}");
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(2);
    let second = yiwang_web::integration::dispatch_once(&f.store, &client, &outbound, Some(&master), later).await.unwrap();
    assert_eq!(second, statuses.len());
    receiver.kill().unwrap();
    receiver.wait().unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().all(|l| l["verified"] == true), "{lines:#?}");
    // A batch is sent side by side, so receivers order a case's records by `seq`.
    let mut delivered: Vec<(i64, &str)> = lines
        .iter()
        .filter(|l| l["answered"].is_null())
        .map(|l| (l["payload"]["seq"].as_i64().unwrap(), l["type"].as_str().unwrap()))
        .collect();
    delivered.sort();
    let delivered: Vec<&str> = delivered.into_iter().map(|d| d.1).collect();
    assert_eq!(delivered, ["case.submitted", "case.accepted", "case.step", "case.step", "case.concluded"], "{lines:#?}");
    let accepted = lines.iter().find(|l| l["type"] == "case.accepted").unwrap();
    let data = &accepted["payload"]["data"];
    assert_eq!((data["gbt39046_table"].as_str(), data["case_no"].as_str()), (Some("6"), Some(no.as_str())), "{data:#}");
    assert!(data["promised_completion"].is_string() && data["accept_time"].as_str().unwrap().contains('T'), "{data:#}");
    assert!(!accepted.to_string().contains(ENTERPRISE), "no applicant identifiers in webhooks: {accepted}");
    db.cleanup().await;
}

/// An item whose limits are in natural days and hours (时限单位) is accepted
/// with its limits in those units: the due dates are counted accordingly.
#[tokio::test]
async fn limits_in_other_units_are_accepted_in_those_units() {
    let (db, f) = fixture(TestBackend::Sqlite).await;
    let mut doc = catalog_item(AGENCY_A, "杭州市市场监督管理局", "330100");
    doc.legal_limit.unit = yiwang_catalog::code_lists::TimeUnit::NaturalDay;
    doc.legal_limit.amount = 30;
    doc.promised_limit.unit = yiwang_catalog::code_lists::TimeUnit::Hour;
    doc.promised_limit.amount = 16;
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&doc, true, "t", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    let no = f.submitted_food_case().await;
    let accept = serde_json::json!({ "event": { "type": "accepted", "promised_days": 0, "legal_days": 0 } });
    let (status, v) = f.json(P::Clerk, "POST", format!("/api/v1/cases/{no}/events"), accept).await;
    assert_eq!(status, 200, "{v:#}");
    let c = f.store.case(&no).await.unwrap();
    assert_eq!(
        (c.case.promised_days, c.case.legal_days, c.case.units),
        (16, 30, yiwang_case::LimitUnits { promised: yiwang_case::LimitUnit::Hour, legal: yiwang_case::LimitUnit::NaturalDay })
    );
    let calendar = f.store.load_calendar().await.unwrap();
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    let natural = calendar.add_calendar_span(today, jiff::Span::new().days(30), &[]).unwrap().value;
    assert_eq!(c.legal_due.as_deref(), Some(natural.to_string().as_str()));
    assert_eq!(c.promised_due.as_deref(), Some(calendar.add_workdays(today, 2).unwrap().value.to_string().as_str()));
    db.cleanup().await;
}
