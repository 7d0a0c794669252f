//! What each API operation takes and answers, for `/api/openapi.json`: query
//! and header parameters with their bounds, request bodies, and success
//! responses with their schemas. Errors are problem+json (`default`). Every
//! API route of the route table must have an entry here (a unit test checks
//! it), so the document describes the API fully and an independent tool
//! (schemathesis, in `.ci/run`) can drive it.

use serde_json::{Value, json};

/// One parameter in the query string or a header.
pub struct Param {
    pub name: &'static str,
    pub schema: Value,
    pub required: bool,
    pub description: &'static str,
}

/// An operation's description beyond its path, method and access.
pub struct OpDoc {
    pub summary: &'static str,
    pub query: Vec<Param>,
    pub headers: Vec<Param>,
    /// (content type, schema)
    pub body: Option<(&'static str, Value)>,
    /// (status, content type or "" for none, schema)
    pub responses: Vec<(u16, &'static str, Value)>,
}

const JSON: &str = "application/json";

fn s() -> Value {
    json!({ "type": "string" })
}
fn s_max(n: usize) -> Value {
    json!({ "type": "string", "maxLength": n })
}
fn int() -> Value {
    json!({ "type": "integer" })
}
fn boolean() -> Value {
    json!({ "type": "boolean" })
}
fn any() -> Value {
    json!({})
}
fn obj_any() -> Value {
    json!({ "type": "object" })
}
fn opt(v: Value) -> Value {
    json!({ "anyOf": [v, { "type": "null" }] })
}
fn arr(v: Value) -> Value {
    json!({ "type": "array", "items": v })
}
/// An object with these properties, the listed ones required, others allowed.
fn obj(props: &[(&str, Value)], required: &[&str]) -> Value {
    let p: serde_json::Map<String, Value> = props.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    json!({ "type": "object", "properties": p, "required": required })
}
fn q(name: &'static str, schema: Value, description: &'static str) -> Param {
    Param { name, schema, required: false, description }
}
fn q_req(name: &'static str, schema: Value, description: &'static str) -> Param {
    Param { name, schema, required: true, description }
}
fn reason_param() -> Param {
    q("reason", s_max(200), "事由 / why the personal data is read (required by the handler where personal data is read)")
}
fn reveal_params() -> Vec<Param> {
    vec![
        q("reveal", json!({ "type": "string", "enum": ["1", "true"] }), "Show ID and phone numbers in full (staff; audited)"),
        q("reason", s_max(200), "Why they are shown in full (required with reveal)"),
    ]
}

/// `from` and `to`, the period of the evaluation indicators.
fn period_params() -> Vec<Param> {
    let date = json!({ "type": "string", "format": "date" });
    vec![
        q("from", date.clone(), "the first China day (default: 1 January this year)"),
        q("to", date, "the last China day, at most today and three years after from (default: today)"),
    ]
}

fn op(summary: &'static str) -> OpDoc {
    OpDoc { summary, query: vec![], headers: vec![], body: None, responses: vec![] }
}

impl OpDoc {
    fn query(mut self, p: Vec<Param>) -> Self {
        self.query = p;
        self
    }
    fn header(mut self, p: Param) -> Self {
        self.headers.push(p);
        self
    }
    fn json_body(mut self, schema: Value) -> Self {
        self.body = Some((JSON, schema));
        self
    }
    fn body(mut self, content_type: &'static str, schema: Value) -> Self {
        self.body = Some((content_type, schema));
        self
    }
    fn ok(mut self, status: u16, schema: Value) -> Self {
        self.responses.push((status, JSON, schema));
        self
    }
    fn ok_as(mut self, status: u16, content_type: &'static str, schema: Value) -> Self {
        self.responses.push((status, content_type, schema));
        self
    }
    fn empty(mut self, status: u16) -> Self {
        self.responses.push((status, "", Value::Null));
        self
    }
}

// ---- shared shapes ----------------------------------------------------------------

fn notice_preferences() -> Value {
    obj(&[("email", boolean()), ("sms", boolean())], &["email", "sms"])
}

fn case_view() -> Value {
    obj(
        &[
            ("case_no", s()),
            ("item_code", s()),
            ("item_version", int()),
            ("item_name", s()),
            ("agency_uscc", s()),
            ("state", s()),
            ("state_zh", s()),
            ("version", int()),
            ("form", obj_any()),
            ("materials", arr(obj_any())),
            ("correction_items", arr(s())),
            ("pending", arr(obj_any())),
            ("steps", arr(obj_any())),
            ("special_procedures", arr(obj_any())),
            ("decision", any()),
            ("uploads", arr(obj_any())),
            ("commitments", arr(obj_any())),
            ("accepted_on", opt(s())),
            ("promised_due", opt(s())),
            ("legal_due", opt(s())),
            ("bundle_no", opt(s())),
            ("process", any()),
            ("licenses", arr(obj_any())),
            ("created_at", s()),
            ("updated_at", s()),
        ],
        &["case_no", "item_code", "item_version", "state", "version", "form", "created_at", "updated_at"],
    )
}
fn case_answer() -> Value {
    obj(&[("case", case_view())], &["case"])
}
fn bundle_answer() -> Value {
    obj(&[("bundle", obj(&[("bundle_no", s()), ("state", s())], &["bundle_no", "state"]))], &["bundle"])
}
fn license_summary() -> Value {
    obj(
        &[
            ("id", s()),
            ("ref", opt(s())),
            ("name", any()),
            ("number", s()),
            ("version", int()),
            ("issuer", any()),
            ("status", s()),
            ("valid_from", s()),
            ("valid_until", opt(s())),
        ],
        &["id", "number", "version", "status"],
    )
}
fn verdict() -> Value {
    obj(&[("ok", boolean()), ("status", opt(s())), ("license_id", opt(s()))], &["ok"])
}
fn form_body() -> Value {
    obj(&[("form", obj_any()), ("expected_version", opt(int()))], &[])
}
fn applicant_action() -> Value {
    obj(&[("reason", s_max(500)), ("expected_version", opt(int()))], &[])
}
fn upload_body() -> Value {
    obj(&[("material", s_max(200)), ("file", json!({ "type": "string", "format": "binary" }))], &["material", "file"])
}
fn material_body() -> Value {
    obj(&[("material", s_max(200))], &["material"])
}
fn item_doc() -> Value {
    obj(
        &[
            ("implementation_code", s_max(31)),
            ("basic_code", s_max(12)),
            ("name", s_max(200)),
            ("agency", obj(&[("uscc", s()), ("name", s()), ("division_code", s())], &["uscc"])),
        ],
        &["implementation_code", "basic_code", "name", "agency"],
    )
}
fn token_answer() -> Value {
    obj(
        &[("access_token", s()), ("token_type", s()), ("expires_in", int()), ("refresh_token", s()), ("id_token", s()), ("scope", s())],
        &["access_token", "token_type", "expires_in", "id_token"],
    )
}
fn oauth_error() -> Value {
    obj(&[("error", s()), ("error_description", s())], &["error"])
}

/// The description of `method path`, or none (a page, not an API operation).
pub fn doc(method: &str, path: &str) -> Option<OpDoc> {
    let d = match (method, path) {
        // OpenID Connect and discovery.
        ("GET", "/.well-known/openid-configuration") => op("OpenID Provider metadata").ok(
            200,
            obj(&[("issuer", s()), ("authorization_endpoint", s()), ("token_endpoint", s()), ("jwks_uri", s())], &["issuer", "jwks_uri"]),
        ),
        ("GET", "/oidc/jwks") => op("The ID-token signing keys (JWKS)").ok(200, obj(&[("keys", arr(obj_any()))], &["keys"])),
        ("GET", "/oidc/authorize") => op("Authorization request: the consent page, a redirect to login or to the client, or an error page")
            .query(vec![
                q("response_type", s_max(20), "code"),
                q("client_id", s_max(200), ""),
                q("redirect_uri", s_max(2000), ""),
                q("scope", s_max(500), "openid profile phone email offline_access idcard"),
                q("state", s_max(500), ""),
                q("nonce", s_max(500), ""),
                q("code_challenge", s_max(200), "PKCE S256"),
                q("code_challenge_method", s_max(10), "S256"),
                q("prompt", s_max(50), ""),
            ])
            .ok_as(200, "text/html", s())
            .empty(303)
            .ok_as(400, "text/html", s()),
        ("POST", "/oidc/authorize") => op("The person's consent (form post from the consent page)")
            .body("application/x-www-form-urlencoded", obj(&[("request", s()), ("decision", s()), ("csrf", s())], &["request", "decision"]))
            .empty(303)
            .ok_as(400, "text/html", s()),
        ("POST", "/oidc/token") => {
            op("Token endpoint (authorization_code with PKCE, refresh_token); client authentication by HTTP Basic or form")
                .body(
                    "application/x-www-form-urlencoded",
                    obj(
                        &[
                            ("grant_type", s()),
                            ("code", s()),
                            ("redirect_uri", s()),
                            ("code_verifier", s()),
                            ("refresh_token", s()),
                            ("client_id", s()),
                            ("client_secret", s()),
                        ],
                        &["grant_type"],
                    ),
                )
                .ok(200, token_answer())
                .ok(400, oauth_error())
                .ok(401, oauth_error())
        }
        ("GET" | "POST", "/oidc/userinfo") => op("Claims about the person, by the scopes granted (bearer access token)")
            .header(q("authorization", s_max(4000), "Bearer access token"))
            .ok(200, obj(&[("sub", s())], &["sub"]))
            .ok(401, any()),
        ("GET", "/oidc/logout") => op("RP-initiated logout: the confirmation page, or a redirect")
            .query(vec![
                q("id_token_hint", s_max(8000), ""),
                q("post_logout_redirect_uri", s_max(2000), ""),
                q("state", s_max(500), ""),
                q("client_id", s_max(200), ""),
            ])
            .ok_as(200, "text/html", s())
            .empty(303),
        ("POST", "/oidc/logout") => op("Confirm logout")
            .body(
                "application/x-www-form-urlencoded",
                obj(&[("id_token_hint", s()), ("post_logout_redirect_uri", s()), ("state", s()), ("csrf", s())], &[]),
            )
            .ok_as(200, "text/html", s())
            .empty(303),
        // Public utilities.
        ("GET", "/api/v1/codes/{value}") => op("Detect and validate an identifier (citizen ID, USCC, division, codes, license id)")
            .query(vec![q("kind", s_max(40), "citizen_id, uscc, org_code, division, basic_code, implementation_code, case_no, license_id")])
            .ok(200, obj(&[("kind", s())], &["kind"])),
        ("GET", "/api/v1/calendar/days/{date}") => op("What kind of day a date is (working day, holiday, 调休 makeup day)").ok(
            200,
            obj(&[("date", s()), ("kind", s()), ("is_workday", boolean()), ("provisional", boolean())], &["date", "kind", "is_workday"]),
        ),
        ("PUT", "/api/v1/calendar/days/{date}") => op("Administrators correct the calendar (audited)")
            .json_body(obj(
                &[("kind", json!({ "type": "string", "enum": ["holiday", "makeup", "normal"] })), ("name", s_max(50))],
                &["kind"],
            ))
            .ok(200, obj(&[("date", s()), ("kind", s())], &["date", "kind"])),
        ("GET", "/api/v1/calendar/add-workdays") => op("The N-th working day after a date (the start day not counted)")
            .query(vec![
                q_req("start", json!({ "type": "string", "format": "date" }), "YYYY-MM-DD"),
                q_req("n", json!({ "type": "integer", "minimum": 0, "maximum": 4294967295u64 }), "working days"),
            ])
            .ok(200, obj(&[("start", s()), ("workdays", int()), ("due", s()), ("provisional", boolean())], &["due"])),
        ("GET", "/api/openapi.json") => op("This document").ok(200, obj(&[("openapi", s()), ("paths", obj_any())], &["openapi", "paths"])),
        ("GET", "/api/v1/seals") => op("Every agency's seal public keys (SM2)")
            .ok(200, obj(&[("algorithm", s()), ("user_id", s()), ("keys", arr(obj_any()))], &["algorithm", "keys"])),
        ("GET", "/api/v1/licenses/verify") => op("Verify a license QR token (YL1.…) and its current status")
            .query(vec![q("token", s_max(4000), "the token or the verification URL")])
            .ok(200, verdict()),
        ("POST", "/api/v1/licenses/verify") => op("Verify a sealed license file (its JSON)")
            .json_body(obj(&[("record", obj_any()), ("seal", obj_any())], &["record", "seal"]))
            .ok(200, verdict()),
        // E-licenses: agencies.
        ("GET", "/api/v1/licenses/{id}") => op("An agency uses a license, stating why (logged; the holder sees it)")
            .query(vec![reason_param(), q("case_no", s_max(50), "")])
            .ok(200, obj(&[("license", license_summary()), ("sealed", obj_any())], &["license", "sealed"])),
        ("GET", "/api/v1/licenses") => op("An agency lists a holder's current licenses for a stated use (logged)")
            .query(vec![
                q("holder_id_type", s_max(3), "111 (居民身份证) or 049 (统一社会信用代码)"),
                q("holder_id", s_max(18), ""),
                reason_param(),
                q("case_no", s_max(50), ""),
            ])
            .ok(200, obj(&[("licenses", arr(license_summary()))], &["licenses"])),
        ("POST", "/api/v1/licenses") => op("Issue a license (sealed with the agency's SM2 key)")
            .json_body(obj(
                &[
                    ("type_code", s_max(21)),
                    ("number", s_max(100)),
                    ("issuer_uscc", s_max(18)),
                    ("holder", obj(&[("name", s()), ("id_type", s()), ("id", s())], &["name", "id_type", "id"])),
                    ("valid_from", json!({ "type": "string", "format": "date" })),
                    ("valid_until", opt(json!({ "type": "string", "format": "date" }))),
                    ("data", obj_any()),
                ],
                &["type_code", "number", "issuer_uscc", "holder", "valid_from"],
            ))
            .ok(201, obj(&[("license", license_summary()), ("token", s()), ("verify_url", s())], &["license", "token"])),
        ("POST", "/api/v1/licenses/{id}/status") => op("Suspend, resume or revoke a license, with a reason")
            .json_body(obj(
                &[("status", json!({ "type": "string", "enum": ["valid", "suspended", "revoked"] })), ("reason", s_max(500))],
                &["status", "reason"],
            ))
            .ok(200, obj(&[("license", license_summary()), ("status_reason", opt(s()))], &["license"])),
        ("GET", "/api/v1/license-types/{code}") => {
            op("A license type: data schema and print template").ok(200, obj(&[("license_type", obj_any())], &["license_type"]))
        }
        ("PUT", "/api/v1/license-types/{code}") => op("Define or change a license type (its defining agency's catalog editors)")
            .json_body(obj(
                &[("name", s_max(100)), ("data_schema", obj_any()), ("template", obj_any()), ("aliases", arr(s_max(50)))],
                &["name"],
            ))
            .ok(200, obj(&[("license_type", obj_any())], &["license_type"])),
        ("GET", "/api/v1/licenses/status-lists/{agency}") => {
            op("The agency's Token Status List (application/statuslist+jwt)").ok_as(200, "application/statuslist+jwt", s())
        }
        ("GET", "/.well-known/jwt-vc-issuer/agencies/{agency}") => {
            op("SD-JWT VC issuer metadata of an agency").ok(200, obj(&[("issuer", s()), ("jwks", obj_any())], &["issuer", "jwks"]))
        }
        // E-licenses: the holder (by the license's opaque `ref`).
        ("GET", "/api/v1/me/licenses") => {
            op("The caller's licenses (or the acting enterprise's)").ok(200, obj(&[("licenses", arr(license_summary()))], &["licenses"]))
        }
        ("GET", "/api/v1/me/items/{code}/licenses") => {
            op("For an item, each material a license type covers and whether the caller holds one")
                .ok(200, obj(&[("item", s()), ("materials", arr(obj_any()))], &["item", "materials"]))
        }
        ("GET", "/api/v1/me/licenses/{id}/uses") => op("Every agency use of one of the caller's licenses (`id`: the license's `ref`)")
            .ok(200, obj(&[("license", license_summary()), ("uses", arr(obj_any()))], &["license", "uses"])),
        ("GET", "/api/v1/me/licenses/{id}/sd-jwt") => op("The license as an SD-JWT VC, disclosing the chosen claims (`id`: the `ref`)")
            .query(vec![q("disclose", s_max(2000), "claim paths, comma-separated, e.g. holder_name,data.scope")])
            .ok_as(200, "application/dc+sd-jwt", s()),
        // Cases.
        ("POST", "/api/v1/cases") => op("Open an application (a draft) for a published item; the 查询码 is shown once")
            .json_body(obj(&[("item_code", s_max(31)), ("form", obj_any())], &["item_code"]))
            .ok(201, obj(&[("case", case_view()), ("query_code", s()), ("receipt_url", s())], &["case", "query_code"])),
        ("POST", "/api/v1/cases/{no}/submit") => op("Hand the application in").json_body(applicant_action()).ok(200, case_answer()),
        ("POST", "/api/v1/cases/{no}/corrected") => {
            op("Hand in the correction (补正)").json_body(applicant_action()).ok(200, case_answer())
        }
        ("POST", "/api/v1/cases/{no}/withdraw") => op("Withdraw the application").json_body(applicant_action()).ok(200, case_answer()),
        ("POST", "/api/v1/cases/{no}/events") => op("Staff record a typed event their role allows (受理, 办理, 特别程序, 决定, 办结…)")
            .json_body(obj(
                &[("event", obj(&[("type", s_max(50))], &["type"])), ("reason", s_max(1000)), ("expected_version", opt(int()))],
                &["event"],
            ))
            .ok(200, case_answer()),
        ("POST", "/api/v1/cases/{no}/shared-data") => {
            op("Staff handling the case fetch its shared materials (免提交) again under their grants; the records, identifiers masked (audited)")
                .ok(200, obj(&[("recorded", int()), ("shared", arr(obj_any()))], &["recorded", "shared"]))
        }
        ("GET", "/api/v1/cases/{no}") => op("A case, for its applicant and its agency's staff (staff see identifiers masked; audited)")
            .query(reveal_params())
            .ok(200, case_answer()),
        ("GET", "/api/v1/cases/{no}/events") => op("A case's timeline (staff reads audited, masked)")
            .query(reveal_params())
            .ok(200, obj(&[("case_no", s()), ("events", arr(obj_any()))], &["case_no", "events"])),
        ("GET", "/api/v1/me/notices") => op("The caller's notices (消息) about their cases, newest first")
            .query(vec![
                q("page", json!({ "type": "integer", "minimum": 0, "maximum": 10000 }), "1-based"),
                q("size", json!({ "type": "integer", "minimum": 0, "maximum": 100 }), "page size (default 20)"),
            ])
            .ok(
                200,
                obj(
                    &[
                        (
                            "notices",
                            arr(obj(
                                &[
                                    ("id", s()),
                                    ("case_no", opt(s())),
                                    ("kind", s()),
                                    ("kind_zh", s()),
                                    ("title", s()),
                                    ("body", s()),
                                    ("created_at", s()),
                                    ("read_at", opt(s())),
                                ],
                                &["id", "kind", "title", "body", "created_at"],
                            )),
                        ),
                        ("total", int()),
                        ("unread", int()),
                    ],
                    &["notices", "total", "unread"],
                ),
            ),
        ("POST", "/api/v1/me/notices/read-all") => op("Mark all the caller's notices read").ok(200, obj(&[("marked", int())], &["marked"])),
        ("POST", "/api/v1/me/notices/{id}/read") => op("Mark one of the caller's notices read").empty(204),
        ("GET", "/api/v1/me/notice-preferences") => {
            op("The channels the caller wants notices on besides the in-app list").ok(200, notice_preferences())
        }
        ("PUT", "/api/v1/me/notice-preferences") => {
            op("Set the channels the caller wants notices on").json_body(notice_preferences()).ok(200, notice_preferences())
        }
        ("GET", "/api/v1/me/cases") => op("The caller's cases").ok(200, obj(&[("cases", arr(case_view()))], &["cases"])),
        ("GET", "/api/v1/workbench/cases") => op("The cases of the caller's agencies, newest change first (keyset paging)")
            .query(vec![
                q("state", s_max(40), "a case state"),
                q("agency", s_max(18), "one of the caller's agencies"),
                q("after", s_max(200), "the `next` cursor of the previous page"),
                q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 200 }), "page size (default 50)"),
                q("count", boolean(), "with the total"),
                q("claimed", json!({ "type": "string", "enum": ["mine", "none"] }), ""),
            ])
            .ok(200, obj(&[("cases", arr(obj_any())), ("next", opt(s())), ("total", opt(int()))], &["cases"])),
        ("GET", "/api/v1/case-progress") => op("A case's progress with its 查询码 (no login; throttled per client)")
            .query(vec![q_req("case_no", s_max(50), ""), q_req("code", s_max(20), "the 8-digit 查询码")])
            .ok(200, obj(&[("case_no", s()), ("item_name", s()), ("state", s()), ("state_zh", s())], &["case_no", "state"])),
        ("PUT", "/api/v1/cases/{no}/form") => op("Save the form of a draft or a correction").json_body(form_body()).ok(200, case_answer()),
        ("POST", "/api/v1/cases/{no}/materials") => op("Upload a material (PDF, PNG or JPEG by content, up to 10 MB; per-account quota)")
            .body("multipart/form-data", upload_body())
            .ok(201, case_answer()),
        ("GET", "/api/v1/cases/{no}/materials/{digest}") => {
            op("An uploaded file, as a download (staff downloads audited)").ok_as(200, "application/octet-stream", s())
        }
        ("DELETE", "/api/v1/cases/{no}/materials/{digest}") => op("Take an upload back (draft or correction)")
            .query(vec![q("material", s_max(200), "which material, when the file serves several")])
            .ok(200, case_answer()),
        ("POST", "/api/v1/cases/{no}/commitments") => {
            op("告知承诺 instead of a material, where the item allows it").json_body(material_body()).ok(201, case_answer())
        }
        ("GET", "/api/v1/me/items/{code}/form") => op("The caller's form for an item, prefilled from held data (by real-name level)")
            .ok(200, obj(&[("item_code", s()), ("schema", any()), ("values", obj_any()), ("locked", arr(s()))], &["item_code", "values"])),
        ("GET", "/api/v1/workbench/checks") => {
            op("Open 告知承诺 verification tasks of the caller's agencies").ok(200, obj(&[("checks", arr(obj_any()))], &["checks"]))
        }
        ("POST", "/api/v1/window/cases") => op("一窗受理: a window clerk opens an application for the person at the counter")
            .json_body(obj(
                &[
                    ("item_code", s_max(31)),
                    ("applicant_id", s_max(18)),
                    ("applicant_name", s_max(100)),
                    ("form", obj_any()),
                    ("reason", s_max(200)),
                ],
                &["item_code", "applicant_id"],
            ))
            .ok(201, obj(&[("case", case_view()), ("query_code", s())], &["case"])),
        ("GET", "/api/v1/workbench/countersigns") => op("Steps the caller's agencies are asked to countersign (会签)")
            .ok(200, obj(&[("countersigns", arr(obj_any()))], &["countersigns"])),
        // Integration.
        ("POST", "/api/v1/integration/cases/{no}/records") => op("A GB/T 39046 record from a department system (idempotent by key)")
            .header(q_req("idempotency-key", s_max(200), "repeat a request safely"))
            .json_body(obj(
                &[("table", json!({ "type": "string", "enum": ["acceptance", "handling", "special", "completion"] }))],
                &["table"],
            ))
            .ok(200, obj_any())
            .ok(201, obj_any()),
        ("POST", "/api/v1/integration/webhooks") => op("Subscribe a URL to the agency's case records (never an internal address)")
            .json_body(obj(&[("agency_uscc", opt(s_max(18))), ("url", s_max(2000)), ("events", arr(s_max(40)))], &["url"]))
            .ok(201, obj(&[("webhook", obj_any()), ("secret", s())], &["webhook", "secret"])),
        ("GET", "/api/v1/integration/webhooks") => op("The subscriptions of the agencies the caller heads")
            .ok(200, obj(&[("webhooks", arr(obj_any())), ("record_types", arr(s()))], &["webhooks"])),
        ("GET", "/api/v1/integration/webhooks/{id}/deliveries") => op("Recent deliveries and their outcome (a class, never raw errors)")
            .ok(200, obj(&[("webhook", obj_any()), ("deliveries", arr(obj_any()))], &["webhook", "deliveries"])),
        ("DELETE", "/api/v1/integration/webhooks/{id}") => op("Stop a subscription").empty(204),
        // Machine clients (client credentials for department systems).
        ("GET", "/api/v1/machine-clients") => {
            op("Department systems' OAuth clients (admins; never a secret)").ok(200, obj(&[("clients", arr(obj_any()))], &["clients"]))
        }
        ("POST", "/api/v1/machine-clients") => op("Register a machine client for an agency (admins); its secret is shown once")
            .json_body(obj(
                &[
                    ("name", s_max(60)),
                    ("agency_uscc", s_max(18)),
                    ("auth_method", json!({ "type": "string", "enum": ["client_secret_basic", "private_key_jwt"] })),
                    ("jwks", opt(obj_any())),
                ],
                &["name", "agency_uscc", "auth_method"],
            ))
            .ok(201, obj(&[("client", obj_any()), ("client_secret", s())], &["client"])),
        ("DELETE", "/api/v1/machine-clients/{id}") => op("Revoke a machine client and every token it holds (admins)")
            .query(vec![q_req("reason", s_max(200), "why it is revoked (audited)")])
            .ok(200, obj(&[("client_id", s()), ("revoked", json!({ "type": "boolean" }))], &["client_id", "revoked"])),
        // 一件事.
        ("GET", "/api/v1/halls") => {
            op("Every hall (政务服务大厅) and the agencies its windows serve").ok(200, obj(&[("halls", arr(obj_any()))], &["halls"]))
        }
        ("POST", "/api/v1/halls") => op("Add or replace a hall (admins); 422 names each bad field")
            .json_body(obj(
                &[
                    ("id", s_max(64)),
                    ("name", s_max(100)),
                    ("division_code", s_max(12)),
                    ("agency_uscc", s_max(18)),
                    ("address", s_max(200)),
                    ("serves", arr(s_max(18))),
                ],
                &["id", "name", "division_code", "agency_uscc"],
            ))
            .ok(201, obj(&[("hall", obj_any())], &["hall"])),
        ("GET", "/api/v1/data-resources") => {
            op("The registry of shared data resources").ok(200, obj(&[("resources", arr(obj_any()))], &["resources"]))
        }
        ("POST", "/api/v1/data-resources") => op("Add or replace a data resource (admins, or the provider's data officer)")
            .json_body(obj(
                &[("code", s_max(64)), ("name", s_max(100)), ("provider_uscc", s_max(18)), ("aliases", arr(s_max(100)))],
                &["code", "name", "provider_uscc"],
            ))
            .ok(201, obj(&[("resource", obj_any())], &["resource"])),
        // Data sharing: grants on this node's resources, and a person's accesses.
        ("GET", "/api/v1/resources") => {
            op("The resource catalog seen from this node: its own described resources and those nodes below registered")
                .ok(200, obj(&[("resources", arr(obj_any()))], &["resources"]))
        }
        ("GET", "/api/v1/exchange/log") => op("The node-to-node message log, oldest first, after a sequence number (admins)")
            .query(vec![q("after", int(), "entries after this sequence number"), q("limit", int(), "1–1000, default 100")])
            .ok(200, obj(&[("entries", arr(obj_any()))], &["entries"])),
        ("GET", "/api/v1/exchange/peers") => op("This node's place in the exchange: its id, the registry in hand and the nodes it lists")
            .ok(200, obj(&[("node", opt(s())), ("member", opt(s())), ("registry", opt(obj_any()))], &["node", "registry"])),
        ("GET", "/api/v1/exchange/outbox") => op("The exchange outbox: events waiting for their receivers' receipts, and the latest sent")
            .ok(
                200,
                obj(
                    &[("pending", int()), ("oldest_pending", opt(s())), ("upward_queue", int()), ("events", arr(obj_any()))],
                    &["pending", "events"],
                ),
            ),
        ("GET", "/api/v1/exchange/aggregates") => op("GB/T 39046 records held from the nodes below, counted per source node and type")
            .ok(200, obj(&[("total", int()), ("counts", arr(obj_any()))], &["total", "counts"])),
        ("GET", "/api/v1/supervision/alerts") => {
            op("电子监察: the alerts on the cases of the agencies the caller reads, newest due first (docs/supervision.md)")
                .query(vec![
                    q("class", json!({ "type": "string", "enum": ["timeliness", "process", "content", "fee", "integrity"] }), "the class"),
                    q("level", json!({ "type": "string", "enum": ["notice", "yellow", "red"] }), "提示, 黄牌 or 红牌"),
                    q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 1000 }), "how many (default 100)"),
                ])
                .ok(200, obj(&[("alerts", arr(obj_any()))], &["alerts"]))
        }
        ("GET", "/api/v1/supervision/public") => {
            op("监察结果公开: a year's 办结率, 按时办结率, 超期件数, 好评率 and 督办按期办结率 per region and agency (counts only)")
                .query(vec![q("year", json!({ "type": "integer", "minimum": 2000, "maximum": 2100 }), "the year (default: this year)")])
                .ok(
                    200,
                    obj(
                        &[("year", int()), ("computed_at", s()), ("total", obj_any()), ("regions", arr(obj_any())), ("agencies", arr(obj_any()))],
                        &["year", "total", "regions", "agencies"],
                    ),
                )
        }
        ("GET", "/api/v1/indicators") => {
            op("第三方评估指标: the five dimensions 0–100 per agency and region over a period, with their formulas and weights (the supervision scope)")
                .query(period_params())
                .ok(
                    200,
                    obj(
                        &[
                            ("from", s()),
                            ("to", s()),
                            ("computed_at", s()),
                            ("definitions", arr(obj_any())),
                            ("bands", arr(json!({ "type": "number" }))),
                            ("total", obj_any()),
                            ("regions", arr(obj_any())),
                            ("agencies", arr(obj_any())),
                        ],
                        &["from", "to", "definitions", "total", "regions", "agencies"],
                    ),
                )
        }
        ("GET", "/api/v1/indicators/report.pdf") => op("第三方评估指标 as a PDF report (A4 landscape), the same figures as the JSON")
            .query(period_params())
            .ok_as(200, "application/pdf", json!({ "type": "string", "format": "binary" })),
        ("GET", "/api/v1/ratings/content") => op("好差评's content: each level's reasons, online and at the hall, and the channels")
            .ok(200, obj(&[("version", int()), ("online", arr(obj_any())), ("offline", arr(obj_any())), ("channels", arr(obj_any()))], &["version"])),
        ("POST", "/api/v1/ratings") => op("Rate one's case at 受理 or 办结 (once per stage) on pc, mobile or qr (the hall's, SMS and phone channels come by invitation); a 差评 opens its rectification loop")
            .json_body(obj(
                &[
                    ("case_no", s_max(64)),
                    ("stage", json!({ "type": "string", "enum": ["accepted", "concluded"] })),
                    (
                        "channel",
                        json!({ "type": "string", "enum": ["pc", "mobile", "qr", "hall_tablet", "hall_terminal", "phone", "sms"] }),
                    ),
                    ("level", json!({ "type": "integer", "minimum": 1, "maximum": 5 })),
                    ("reasons", arr(s_max(64))),
                    ("comment", s_max(500)),
                ],
                &["case_no", "stage", "channel", "level"],
            ))
            .ok(201, obj_any()),
        ("GET", "/api/v1/ratings") => op("Ratings of the agencies the caller reads, newest first; only 差评 with bad=true")
            .query(vec![
                q("bad", json!({ "type": "boolean" }), "only 差评"),
                q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 1000 }), "how many (default 100)"),
            ])
            .ok(200, obj(&[("ratings", arr(obj_any()))], &["ratings"])),
        ("GET", "/api/v1/ratings/stats") => op("好评率, 差评整改率 and 回访率 per agency, item, channel or staff member")
            .query(vec![q("by", json!({ "type": "string", "enum": ["agency", "item", "channel", "handler"] }), "the key (default agency)")])
            .ok(200, obj(&[("by", s()), ("lines", arr(obj_any()))], &["by", "lines"])),
        ("GET", "/api/v1/ratings/{id}") => op("A rating and its loop (staff who read its agency, or the rater)").ok(200, obj_any()),
        ("POST", "/api/v1/ratings/{id}/loop") => {
            op("One step on a 差评's loop: the agency's head verifies, appeals, rectifies, feeds back and revisits; a supervisor reviews an appeal")
                .json_body(obj(
                    &[
                        (
                            "action",
                            json!({ "type": "string", "enum": ["verified", "appealed", "appeal_reviewed", "rectified", "feedback_sent", "revisited"] }),
                        ),
                        ("triage", json!({ "type": "string", "enum": ["rectify_now", "rectify_by", "explain"] })),
                        ("upheld", json!({ "type": "boolean" })),
                        ("satisfaction", json!({ "type": "integer", "minimum": 1, "maximum": 5 })),
                        ("note", s_max(500)),
                        ("version", int()),
                    ],
                    &["action"],
                ))
                .ok(200, obj_any())
        }
        ("GET", "/api/v1/supervision/orders") => op("督办单 to the agencies the caller reads, newest first")
            .query(vec![
                q(
                    "state",
                    json!({ "type": "string", "enum": ["issued", "acknowledged", "rectified", "verified", "closed"] }),
                    "of one state",
                ),
                q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 1000 }), "how many (default 100)"),
            ])
            .ok(200, obj(&[("orders", arr(obj_any()))], &["orders"])),
        ("POST", "/api/v1/supervision/orders") => op("Issue a 督办单 on an alert (a supervisor of the agency's region)")
            .json_body(obj(
                &[
                    ("case_no", s_max(64)),
                    ("alert_key", s_max(200)),
                    ("content", s_max(2000)),
                    ("workdays", json!({ "type": "integer", "minimum": 1, "maximum": 60 })),
                ],
                &["case_no", "alert_key", "content"],
            ))
            .ok(201, obj_any()),
        ("GET", "/api/v1/supervision/orders/{id}") => op("A 督办单 with its events").ok(200, obj_any()),
        ("POST", "/api/v1/supervision/orders/{id}/events") => {
            op("One step on a 督办单: the agency's head acknowledges and reports; a supervisor verifies, returns or closes")
                .json_body(obj(
                    &[
                        (
                            "action",
                            json!({ "type": "string", "enum": ["acknowledged", "rectified", "verified", "returned", "closed"] }),
                        ),
                        ("note", s_max(2000)),
                        ("version", int()),
                    ],
                    &["action"],
                ))
                .ok(200, obj_any())
        }
        ("GET", "/api/v1/grants") => op("The grants on resources the caller manages (admins, the provider's data officers)")
            .ok(200, obj(&[("grants", arr(obj_any()))], &["grants"])),
        ("POST", "/api/v1/grants") => op("Grant a consumer fields of a resource for purposes, rows and a period (default deny)")
            .json_body(obj(
                &[
                    ("resource", s_max(64)),
                    ("consumer", s_max(120)),
                    ("fields", arr(s_max(64))),
                    ("purposes", arr(s_max(64))),
                    ("row_scope", obj_any()),
                    ("valid_from", s()),
                    ("valid_until", s()),
                    ("approval_ref", s_max(200)),
                ],
                &["resource", "consumer", "fields", "valid_until", "approval_ref"],
            ))
            .ok(201, obj(&[("grant", obj_any())], &["grant"])),
        ("DELETE", "/api/v1/grants/{id}") => op("Revoke a grant from now on").empty(204),
        ("GET", "/api/v1/sharing-requests") => op("共享申请 for resources the caller manages, undecided first, each with `overdue`")
            .ok(200, obj(&[("requests", arr(obj_any()))], &["requests"])),
        ("POST", "/api/v1/sharing-requests/{id}/decision") => {
            op("Decide a 共享申请: approve (all or part of the items, a row scope) or reject with reasons")
                .json_body(obj(
                    &[("decision", s_max(16)), ("fields", arr(s_max(64))), ("row_scope", obj_any()), ("reason", s_max(1000))],
                    &["decision"],
                ))
                .ok(200, obj(&[("request", obj_any())], &["request"]))
        }
        ("GET", "/api/v1/me/data-accesses") => {
            op("Every access to the caller's own data through the sharing platform (who, purpose, case, outcome)")
                .ok(200, obj(&[("accesses", arr(obj_any()))], &["accesses"]))
        }
        ("PUT", "/api/v1/bundles/{code}") => {
            op("Draft a 一件事 or its next version (admins): its items must be published and their forms merge")
                .json_body(obj(
                    &[
                        ("code", s_max(50)),
                        ("name", s_max(100)),
                        ("description", s_max(1000)),
                        ("division_code", s_max(12)),
                        ("lead_item", s_max(31)),
                        ("items", arr(s_max(31))),
                        ("promised_days", opt(int())),
                        ("issue_together", boolean()),
                    ],
                    &["code", "name", "division_code", "lead_item", "items"],
                ))
                .ok(
                    200,
                    obj(&[("code", s()), ("name", s()), ("items", int()), ("version", int()), ("status", s())], &["code", "name", "items"]),
                )
        }
        ("POST", "/api/v1/bundles/{code}/publish") => op("Publish a 一件事 draft (a catalog reviewer who did not draft it)")
            .ok(200, obj(&[("code", s()), ("version", int()), ("status", s())], &["code", "version", "status"])),
        ("GET", "/api/v1/bundles/{code}/versions") => op("A 一件事's versions, newest first (draft, published, superseded)")
            .ok(200, obj(&[("code", s()), ("versions", arr(obj_any()))], &["code", "versions"])),
        ("GET", "/api/v1/bundles") => op("The 一件事 bundles").ok(200, obj(&[("bundles", arr(obj_any()))], &["bundles"])),
        ("GET", "/api/v1/bundles/{code}") => op("A bundle: its items, one merged form and one material set").ok(200, obj_any()),
        ("POST", "/api/v1/bundle-cases") => op("Apply for a 一件事 with one form")
            .json_body(obj(&[("bundle_code", s_max(50)), ("form", obj_any())], &["bundle_code"]))
            .ok(201, obj(&[("bundle", obj_any()), ("query_code", s())], &["bundle", "query_code"])),
        ("GET", "/api/v1/bundle-cases/{no}") => op("A 一件事 application").ok(200, bundle_answer()),
        ("GET", "/api/v1/me/bundle-cases") => {
            op("The caller's 一件事 applications").ok(200, obj(&[("bundles", arr(obj_any()))], &["bundles"]))
        }
        ("PUT", "/api/v1/bundle-cases/{no}/form") => op("Save the one form").json_body(form_body()).ok(200, bundle_answer()),
        ("POST", "/api/v1/bundle-cases/{no}/materials") => op("Upload a material once for every child that asks for it")
            .body("multipart/form-data", upload_body())
            .ok(201, bundle_answer()),
        ("POST", "/api/v1/bundle-cases/{no}/commitments") => {
            op("告知承诺 for every child that allows it").json_body(material_body()).ok(201, bundle_answer())
        }
        ("POST", "/api/v1/bundle-cases/{no}/submit") => op("Hand in every child").json_body(applicant_action()).ok(200, bundle_answer()),
        ("POST", "/api/v1/bundle-cases/{no}/accept") => {
            op("一次受理 of every waiting child").json_body(applicant_action()).ok(200, bundle_answer())
        }
        // Identity.
        ("GET", "/api/v1/me") => op("The caller: masked ID, real-name level, acting identity, staff roles")
            .ok(200, obj(&[("account_id", s()), ("name", s()), ("real_name_level", int())], &["account_id", "real_name_level"])),
        ("GET", "/api/v1/accounts/{id}") => op("One account (its holder and administrators)")
            .ok(200, obj(&[("account_id", s()), ("real_name_level", int())], &["account_id"])),
        ("GET", "/api/v1/enterprises/{uscc}") => op("The people who act for an enterprise")
            .ok(200, obj(&[("uscc", s()), ("name", s()), ("people", arr(obj_any()))], &["uscc", "people"])),
        ("POST", "/api/v1/enterprises/{uscc}/agents") => op("The legal representative authorises an agent (经办人)")
            .json_body(obj(&[("citizen_id", s_max(18)), ("name", s_max(50))], &["citizen_id", "name"]))
            .ok(200, obj(&[("uscc", s()), ("agent_account_id", s())], &["uscc", "agent_account_id"])),
        ("DELETE", "/api/v1/enterprises/{uscc}/agents/{account_id}") => {
            op("Withdraw an agent's authorisation").ok(200, obj(&[("removed", boolean())], &["removed"]))
        }
        ("GET", "/api/v1/agencies") => op("Government agencies").ok(200, arr(obj(&[("uscc", s()), ("name", s())], &["uscc", "name"]))),
        ("GET", "/api/v1/agencies/{uscc}/staff") => op("An agency's staff (its heads, administrators)").ok(200, arr(obj_any())),
        ("GET", "/api/v1/base/persons/{citizen_id}") => op("Staff look up the population base data, with a reason (audited)")
            .query(vec![reason_param(), q("case_no", s_max(50), "")])
            .ok(200, obj_any()),
        ("POST", "/api/v1/real-name/in-person") => op("A window clerk verified a person face to face: L3")
            .json_body(obj(
                &[("citizen_id", s_max(18)), ("name", s_max(50)), ("evidence", s_max(200))],
                &["citizen_id", "name", "evidence"],
            ))
            .ok(200, obj(&[("account_id", s()), ("real_name_level", int())], &["account_id"])),
        ("GET", "/api/v1/oidc/clients") => op("Registered relying parties").ok(200, arr(obj_any())),
        ("POST", "/api/v1/support-grants") => op("Let another administrator read one agency's cases for a while (audited)")
            .json_body(obj(
                &[
                    ("account_id", s_max(100)),
                    ("agency_uscc", s_max(18)),
                    ("hours", json!({ "type": "integer", "minimum": 1, "maximum": 720 })),
                    ("reason", s_max(200)),
                ],
                &["account_id", "agency_uscc", "hours", "reason"],
            ))
            .ok(201, obj(&[("grant", obj_any())], &["grant"])),
        ("GET", "/api/v1/support-grants") => op("Support grants, newest first").ok(200, obj(&[("grants", arr(obj_any()))], &["grants"])),
        ("DELETE", "/api/v1/support-grants/{id}") => op("End a support grant now").empty(204),
        // Catalog.
        ("GET", "/api/v1/items") => op("Search the published items (Chinese full text and facets)")
            .query(vec![
                q("q", s_max(100), "words"),
                q("audience", json!({ "type": "string", "enum": ["", "natural", "legal"] }), ""),
                q("theme", s_max(100), ""),
                q("agency", s_max(18), ""),
                q("region", s_max(12), "a division code"),
                q("online", s_max(1), "1 for 全程网办 only"),
                q("page", json!({ "type": "integer", "minimum": 0, "maximum": 10000 }), "1-based; page × per_page ≤ 10,000"),
                q("per_page", json!({ "type": "integer", "minimum": 0, "maximum": 100 }), "default 20"),
            ])
            .ok(200, obj(&[("total", int()), ("hits", arr(obj_any())), ("fuzzy", boolean())], &["total", "hits"])),
        ("GET", "/api/v1/items/{code}") => op("A published item (or an older published version)")
            .query(vec![q("version", json!({ "type": "integer", "minimum": 1 }), "")])
            .ok(200, obj(&[("version", int()), ("status", s()), ("item", obj_any())], &["version", "item"])),
        ("GET", "/api/v1/catalog/export") => op("Every published item, as our JSON or CPSV-AP JSON-LD")
            .query(vec![q("format", json!({ "type": "string", "enum": ["", "yiwang", "cpsv-ap", "jsonld"] }), "")])
            .ok(200, any())
            .ok_as(200, "application/ld+json", obj_any()),
        ("GET", "/api/v1/catalog/items") => op("Items on the staff side (latest version each)")
            .query(vec![
                q("state", s_max(20), "draft, submitted, published…"),
                q("page", json!({ "type": "integer", "minimum": 0, "maximum": 100 }), "1-based, 100 a page"),
            ])
            .ok(200, obj(&[("total", int()), ("items", arr(obj_any()))], &["total", "items"])),
        ("POST", "/api/v1/catalog/items") => op("Create an item (a draft)")
            .json_body(item_doc())
            .ok(201, obj(&[("implementation_code", s()), ("version", int()), ("state", s())], &["implementation_code"])),
        ("PUT", "/api/v1/catalog/items/{code}/draft") => op("Save the draft version")
            .json_body(item_doc())
            .ok(200, obj(&[("implementation_code", s()), ("version", int()), ("state", s())], &["implementation_code"])),
        ("POST", "/api/v1/catalog/items/{code}/{action}") => {
            op("submit, publish, return, suspend, resume or cancel").json_body(obj(&[("note", s_max(500))], &[])).ok(200, obj_any())
        }
        ("GET", "/api/v1/catalog/items/{code}/versions") => {
            op("An item's versions").ok(200, obj(&[("item", obj_any()), ("versions", arr(obj_any()))], &["item", "versions"]))
        }
        ("GET", "/api/v1/catalog/items/{code}/diff") => op("Field-level differences between two versions")
            .query(vec![
                q_req("from", json!({ "type": "integer", "minimum": 1 }), ""),
                q_req("to", json!({ "type": "integer", "minimum": 1 }), ""),
            ])
            .ok(200, obj(&[("from", int()), ("to", int()), ("changes", arr(obj_any()))], &["changes"])),
        ("GET", "/api/v1/catalog/analysis") => op("The once-only analysis (三个凡是)").ok(200, obj_any()),
        // Workflow.
        ("POST", "/api/v1/workflows") => op("Deploy BPMN XML (the body); every problem named")
            .body("application/xml", s())
            .ok(201, obj(&[("process_id", s()), ("version", int())], &["process_id", "version"])),
        ("POST", "/api/v1/workflows/simulate") => op("A bounded dry run of a model (steps, time, instances)")
            .json_body(obj(
                &[("bpmn", s()), ("data", obj_any()), ("decisions", obj_any()), ("hold", arr(s())), ("at", opt(s()))],
                &["bpmn"],
            ))
            .ok(200, obj(&[("process_id", s()), ("simulation", obj_any())], &["process_id", "simulation"])),
        ("GET", "/api/v1/workflows/{process_id}") => op("A deployed version's nodes and flows")
            .query(vec![q("version", json!({ "type": "integer", "minimum": 1 }), "")])
            .ok(200, obj(&[("process_id", s()), ("version", int()), ("definition", obj_any())], &["process_id", "version"])),
        _ => return None,
    };
    Some(d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_api_route_is_described() {
        let missing: Vec<String> = crate::routes::route_specs()
            .into_iter()
            .filter(|s| crate::openapi::is_api(s.path))
            .filter(|s| super::doc(s.method, s.path).is_none())
            .map(|s| format!("{} {}", s.method, s.path))
            .collect();
        assert!(missing.is_empty(), "undocumented API routes: {missing:?}");
        for spec in crate::routes::route_specs().into_iter().filter(|s| crate::openapi::is_api(s.path)) {
            let d = super::doc(spec.method, spec.path).unwrap_or_else(|| panic!("{}", spec.path));
            assert!(!d.responses.is_empty(), "{} {} has no success response", spec.method, spec.path);
        }
    }
}
