//! Issue 20 (one running whole): case handling joined up, through the HTTP
//! edge, on both backends.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use serde_json::{Value, json};

/// Publish a new version of agency A's item: one more required material and
/// limits of one and two working days.
async fn republish_stricter(f: &Fixture) -> i64 {
    let code = item_code(AGENCY_A);
    let mut doc = f.store.published_item(&code).await.unwrap().unwrap().doc;
    let mut extra = doc.materials.iter().find(|m| matches!(m.source, yiwang_catalog::MaterialSource::Applicant)).unwrap().clone();
    extra.name = "新增的消防安全承诺材料".into();
    extra.commitment_allowed = false;
    doc.materials.push(extra);
    doc.promised_limit.amount = 1;
    doc.legal_limit.amount = 2;
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&doc, true, "t", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    f.store.published_item(&code).await.unwrap().unwrap().version
}

async fn accept(f: &Fixture, no: &str) -> Value {
    let body = json!({ "event": { "type": "accepted", "promised_days": 0, "legal_days": 0 }, "reason": "" });
    let (status, v) = f.json(P::Clerk, "POST", format!("/api/v1/cases/{no}/events"), body).await;
    assert_eq!(status, 200, "{v:#}");
    v
}

/// Republishing an item with a new required material and shorter limits
/// changes nothing for an application in hand: it keeps the version it was
/// filed under for its materials and its limits; a new application gets the
/// new version.
async fn a_republished_item_changes_nothing_for_a_case_in_hand(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    // A draft opened under version 1, then the item republished.
    let form = json!({
        "contact_name": "王五", "contact_phone": "13800138000",
        "premises": "杭州市西湖区文三路1号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    });
    let (status, v) =
        f.json(P::Agent, "POST", "/api/v1/cases".into(), json!({ "item_code": item_code(AGENCY_A), "form": form.clone() })).await;
    assert_eq!(status, 201, "{v:#}");
    let filed = v["case"]["item_version"].as_i64().unwrap();
    let old = v["case"]["case_no"].as_str().unwrap().to_string();
    let submitted = f.submitted_food_case().await;
    let newer = republish_stricter(&f).await;
    assert!(newer > filed, "a new version is published: {newer} > {filed}");

    // The draft still submits with the materials of its version.
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    for m in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件"]
    {
        assert_eq!(f.upload(P::Agent, format!("/api/v1/cases/{old}/materials"), m, "扫描件.pdf", PDF).await.0, 201);
    }
    let commit = json!({ "material": "食品安全自查、从业人员健康管理等制度" });
    assert_eq!(f.json(P::Agent, "POST", format!("/api/v1/cases/{old}/commitments"), commit.clone()).await.0, 201);
    let (status, v) = f.json(P::Agent, "POST", format!("/api/v1/cases/{old}/submit"), Value::Null).await;
    assert_eq!(status, 200, "the new material is not asked of a case filed before it: {v:#}");
    assert_eq!(v["case"]["item_version"].as_i64(), Some(filed), "{v:#}");

    // Accepted now, both cases in hand get their version's limits.
    let accepted_old = accept(&f, &submitted).await;
    assert_eq!(accepted_old["case"]["item_version"].as_i64(), Some(filed));

    // A new application is filed under the new version: the new material is
    // required, and its limits are the new, shorter ones.
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/cases".into(), json!({ "item_code": item_code(AGENCY_A), "form": form })).await;
    assert_eq!((status, v["case"]["item_version"].as_i64()), (201, Some(newer)), "{v:#}");
    let new = v["case"]["case_no"].as_str().unwrap().to_string();
    for m in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件"]
    {
        assert_eq!(f.upload(P::Agent, format!("/api/v1/cases/{new}/materials"), m, "扫描件.pdf", PDF).await.0, 201);
    }
    assert_eq!(f.json(P::Agent, "POST", format!("/api/v1/cases/{new}/commitments"), commit).await.0, 201);
    let (status, v) = f.json(P::Agent, "POST", format!("/api/v1/cases/{new}/submit"), Value::Null).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.materials_missing")), "{v:#}");
    assert_eq!(v["detail"]["missing"], json!(["新增的消防安全承诺材料"]), "{v:#}");
    assert_eq!(f.upload(P::Agent, format!("/api/v1/cases/{new}/materials"), "新增的消防安全承诺材料", "a.pdf", PDF).await.0, 201);
    assert_eq!(f.json(P::Agent, "POST", format!("/api/v1/cases/{new}/submit"), Value::Null).await.0, 200);
    let accepted_new = accept(&f, &new).await;
    let due = |v: &Value, k: &str| v["case"][k].as_str().unwrap().to_string();
    assert!(
        due(&accepted_old, "promised_due") > due(&accepted_new, "promised_due"),
        "the case in hand keeps its version's longer limit: {accepted_old:#} vs {accepted_new:#}"
    );
    assert!(due(&accepted_old, "legal_due") > due(&accepted_new, "legal_due"));
    // The case page and the applicant's list show the version too.
    let (status, v) = f.json(P::Agent, "GET", format!("/api/v1/cases/{old}"), Value::Null).await;
    assert_eq!((status, v["case"]["item_version"].as_i64()), (200, Some(filed)), "{v:#}");
}
on_both!(a_republished_item_changes_nothing_for_a_case_in_hand);

async fn staff(f: &Fixture, who: P, no: &str, event: Value, reason: &str) -> (u16, Value) {
    f.json(who, "POST", format!("/api/v1/cases/{no}/events"), json!({ "event": event, "reason": reason })).await
}

fn open_steps(v: &Value) -> Vec<String> {
    v["case"]["process"]["open"].as_array().map_or_else(Vec::new, |a| a.iter().map(|s| s["name"].as_str().unwrap().to_string()).collect())
}

/// An item that names no process runs the node's default (受理 → 审查 → 决定):
/// acceptance starts it, the steps are its open tasks, a return does 审查
/// again, the decision waits for the decision task and its role, and 办结
/// for the process's end.
async fn the_default_process_drives_a_case(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let no = f.submitted_food_case().await;
    let (_, v) = f.json(P::Clerk, "GET", format!("/api/v1/cases/{no}"), Value::Null).await;
    assert!(v["case"]["process"].is_null(), "no process before acceptance: {v:#}");
    let v = accept(&f, &no).await;
    assert_eq!(v["case"]["process"]["process_id"], "yiwang_case_default", "{v:#}");
    assert_eq!(open_steps(&v), ["审查"]);

    // A step the process does not have now is refused, and changes nothing.
    let (status, v) = staff(&f, P::Reviewer, &no, json!({ "type": "step_started", "step": "承办" }), "").await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.process_no_step")), "{v:#}");
    // The decision cannot be taken before the process reaches it.
    let (status, v) = staff(&f, P::Head, &no, json!({ "type": "decided", "decision": "approve" }), "").await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.process_not_at_decision")), "{v:#}");

    // 审查, returned once and done again, then passed.
    for (ev, reason) in [("step_started", ""), ("step_returned", "材料与现场不符，重新审查"), ("step_started", ""), ("step_passed", "同意")]
    {
        let (status, v) = staff(&f, P::Reviewer, &no, json!({ "type": ev, "step": "审查" }), reason).await;
        assert_eq!(status, 200, "{ev}: {v:#}");
    }
    let (_, v) = f.json(P::Head, "GET", format!("/api/v1/cases/{no}"), Value::Null).await;
    assert_eq!(open_steps(&v), ["决定"], "{v:#}");
    assert_eq!(v["case"]["process"]["trail"], json!(["受理", "审查", "审查"]), "{v:#}");
    // The decision task is the department head's: a reviewer cannot take it.
    let (status, _) = staff(&f, P::Reviewer, &no, json!({ "type": "decided", "decision": "approve" }), "").await;
    assert_eq!(status, 403);
    let (status, v) = staff(&f, P::Head, &no, json!({ "type": "decided", "decision": "approve" }), "").await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(v["case"]["process"]["status"], "completed", "{v:#}");
    let (status, v) = staff(&f, P::Head, &no, json!({ "type": "concluded", "result": "准予许可" }), "").await;
    assert_eq!((status, v["case"]["state"].as_str()), (200, Some("concluded")), "{v:#}");
    assert_eq!(v["case"]["process"]["trail"], json!(["受理", "审查", "审查", "决定", "办结"]), "{v:#}");
}
on_both!(the_default_process_drives_a_case);

/// Walk a case through the default process to a decision.
async fn handle_to_decision(f: &Fixture, no: &str, decision: &str) {
    accept(f, no).await;
    decide_accepted(f, no, decision).await;
}

/// Walk an accepted case through the default process to a decision.
async fn decide_accepted(f: &Fixture, no: &str, decision: &str) {
    for ev in ["step_started", "step_passed"] {
        let (status, v) = staff(f, P::Reviewer, no, json!({ "type": ev, "step": "审查" }), "同意").await;
        assert_eq!(status, 200, "{v:#}");
    }
    let reason = if decision == "deny" { "经营场所不符合要求" } else { "" };
    let (status, v) = staff(f, P::Head, no, json!({ "type": "decided", "decision": decision }), reason).await;
    assert_eq!(status, 200, "{v:#}");
}

/// 办结出证: the item version's result names a license type and maps the
/// form to its data; a mapping that cannot fill the type is refused when the
/// item is published; concluding an approved case issues the sealed license
/// in the conclusion's transaction, once; a denied case gets none.
async fn concluding_issues_the_items_license(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    let type_code = license_type_of_a(&f, "004").await;
    let schema = json!({
        "properties": {
            "premises": { "type": "string", "title": "经营场所" },
            "business_form": { "type": "string", "title": "主体业态" },
            "kind": { "type": "string", "title": "许可类别" },
        },
        "required": ["premises", "business_form"],
    });
    f.store
        .define_license_type(&type_code, "食品经营许可证", &schema, &json!({ "fields": ["premises", "business_form"] }), "t", now)
        .await
        .unwrap();
    let code = item_code(AGENCY_A);
    let items = "/api/v1/catalog/items";
    let mut doc = serde_json::to_value(f.store.published_item(&code).await.unwrap().unwrap().doc).unwrap();
    doc["results"][0]["license_type"] = json!(type_code);
    // A mapping that names a form field the item does not have, and leaves a required field without a source.
    doc["results"][0]["license_data"] = json!({ "premises": "form.no_such_field" });
    assert_eq!(f.json(P::Editor, "PUT", format!("{items}/{code}/draft"), doc.clone()).await.0, 200);
    let (status, v) = f.json(P::Editor, "POST", format!("{items}/{code}/submit"), json!({})).await;
    assert_eq!(status, 422, "{v:#}");
    let text = v.to_string();
    assert!(text.contains("results[0].license_data.premises") && text.contains("results[0].license_data.business_form"), "{v:#}");
    doc["results"][0]["license_data"] =
        json!({ "premises": "form.premises", "business_form": "form.business_form", "kind": "'食品经营许可'" });
    doc["results"][0]["license_valid_years"] = json!(5);
    assert_eq!(f.json(P::Editor, "PUT", format!("{items}/{code}/draft"), doc).await.0, 200);
    assert_eq!(f.json(P::Editor, "POST", format!("{items}/{code}/submit"), json!({})).await.0, 200);
    let (status, v) = f.json(P::CatalogReviewer, "POST", format!("{items}/{code}/publish"), json!({})).await;
    assert_eq!(status, 200, "{v:#}");

    let approved = f.submitted_food_case().await;
    handle_to_decision(&f, &approved, "approve").await;
    let (status, v) = staff(&f, P::Head, &approved, json!({ "type": "concluded", "result": "准予许可" }), "").await;
    assert_eq!(status, 200, "{v:#}");
    let (_, v) = f.json(P::Agent, "GET", format!("/api/v1/cases/{approved}"), Value::Null).await;
    let licenses = v["case"]["licenses"].as_array().unwrap().clone();
    assert_eq!(licenses.len(), 1, "one license issued: {v:#}");
    assert_eq!(licenses[0]["type_code"], json!(type_code));
    let id = licenses[0]["id"].as_str().unwrap();
    let stored = f.store.license(id).await.unwrap();
    assert_eq!((stored.holder.id.as_str(), stored.number.as_str()), (ENTERPRISE, approved.as_str()));
    let today = yiwang_calendar::china_today(now);
    let verdict = f.store.verify_license(yiwang_store::Presented::Sealed(stored.sealed.clone()), today).await.unwrap();
    assert!(verdict.ok, "the issued license is sealed and valid: {verdict:?}");
    let data = &stored.sealed.record["data"];
    assert_eq!((data["premises"].as_str(), data["kind"].as_str()), (Some("杭州市西湖区文三路1号"), Some("食品经营许可")), "{data:#}");
    assert!(stored.valid_until.is_some(), "valid for the item's five years");
    // The applicant's case page links it into the wallet, where it opens.
    let (status, html) = f.page(P::Agent, format!("/me/cases/{approved}"), None).await;
    let wallet_ref = stored.public_ref.clone().unwrap();
    assert!(status == 200 && html.contains(&format!("/me/licenses/{wallet_ref}")) && html.contains("办理结果"), "{html}");
    let (status, html) = f.page(P::Agent, format!("/me/licenses/{wallet_ref}"), None).await;
    assert!(status == 200 && html.contains("食品经营许可证"), "{status}: {html}");
    // 办结 happens once, so the license is issued once.
    let (status, _) = staff(&f, P::Head, &approved, json!({ "type": "concluded", "result": "准予许可" }), "").await;
    assert_eq!(status, 409);
    assert_eq!(f.store.licenses_of_case(&approved).await.unwrap().len(), 1);

    // 不予许可 issues nothing.
    let denied = f.submitted_food_case().await;
    handle_to_decision(&f, &denied, "deny").await;
    let (status, v) = staff(&f, P::Head, &denied, json!({ "type": "concluded", "result": "不予许可" }), "").await;
    assert_eq!(status, 200, "{v:#}");
    assert!(f.store.licenses_of_case(&denied).await.unwrap().is_empty());
}
on_both!(concluding_issues_the_items_license);

/// Notices: the applicant is told of 受理 and 办结 (naming the license it
/// issued) in their 消息 list, and by email and SMS through the outbox as they
/// prefer; nobody else sees or marks them; a window case for an ID whose
/// account is below the personal-data level notifies nobody.
async fn applicants_are_told_of_their_cases(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    item_issues_a_license(&f, "005").await;
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(5);
    // Whatever earlier steps queued (none for the agent so far).
    for m in f.store.claim_outbox(100, later).await.unwrap() {
        f.store.outbox_sent(&m.id, later).await.unwrap();
    }

    let no = f.submitted_food_case().await;
    // Email yes, SMS no.
    let (status, v) = f.json(P::Agent, "PUT", "/api/v1/me/notice-preferences".into(), json!({ "email": true, "sms": false })).await;
    assert_eq!((status, v["sms"].as_bool()), (200, Some(false)), "{v:#}");
    accept(&f, &no).await;
    let (status, v) = f.json(P::Agent, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    assert_eq!((status, v["total"].as_i64(), v["unread"].as_i64()), (200, Some(1), Some(1)), "{v:#}");
    let accepted = &v["notices"][0];
    assert_eq!((accepted["kind"].as_str(), accepted["case_no"].as_str()), (Some("accepted"), Some(no.as_str())), "{v:#}");
    assert!(accepted["body"].as_str().unwrap().contains("已受理"), "{v:#}");
    let queued = f.store.claim_outbox(100, later).await.unwrap();
    let mine: Vec<_> = queued.iter().filter(|m| m.recipient == AGENT_EMAIL || m.recipient == AGENT_PHONE).collect();
    assert_eq!(mine.len(), 1, "one email, no SMS: {mine:?}");
    assert_eq!(mine[0].channel, "email");
    assert!(mine[0].subject.contains("已受理") && mine[0].body.contains(&no), "{:?}", mine[0]);
    for m in &queued {
        f.store.outbox_sent(&m.id, later).await.unwrap();
    }

    // Another person neither sees nor marks it.
    let id = accepted["id"].as_str().unwrap().to_string();
    let (_, v) = f.json(P::OtherCitizen, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    assert_eq!(v["total"].as_i64(), Some(0), "{v:#}");
    assert_eq!(f.json(P::OtherCitizen, "POST", format!("/api/v1/me/notices/{id}/read"), json!({})).await.0, 404);
    assert_eq!(f.json(P::Agent, "POST", format!("/api/v1/me/notices/{id}/read"), json!({})).await.0, 204);
    let (_, v) = f.json(P::Agent, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    assert_eq!(v["unread"].as_i64(), Some(0), "{v:#}");

    // SMS back on; 办结 names the license it issued, on every channel.
    assert_eq!(f.json(P::Agent, "PUT", "/api/v1/me/notice-preferences".into(), json!({ "email": true, "sms": true })).await.0, 200);
    decide_accepted(&f, &no, "approve").await;
    let (status, v) = staff(&f, P::Head, &no, json!({ "type": "concluded", "result": "准予许可" }), "").await;
    assert_eq!(status, 200, "{v:#}");
    let (_, v) = f.json(P::Agent, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    assert_eq!((v["total"].as_i64(), v["notices"][0]["kind"].as_str()), (Some(2), Some("concluded")), "{v:#}");
    assert!(v["notices"][0]["body"].as_str().unwrap().contains("食品经营许可证"), "{v:#}");
    let queued = f.store.claim_outbox(100, later).await.unwrap();
    let channels: std::collections::BTreeSet<&str> =
        queued.iter().filter(|m| m.body.contains(&no) && m.body.contains("办结")).map(|m| m.channel.as_str()).collect();
    assert_eq!(channels, ["email", "sms"].into_iter().collect(), "{queued:?}");
    assert!(queued.iter().any(|m| m.channel == "sms" && m.recipient == AGENT_PHONE && m.body.contains("电子证照已签发")), "{queued:?}");

    // The page lists them, and saves preferences from its form.
    let (status, html) = f.page(P::Agent, "/me/messages".into(), None).await;
    assert!(status == 200 && html.contains("已办结") && html.contains("已受理") && html.contains(&no), "{html}");
    let (status, _) = f.page(P::Agent, "/me/messages/preferences".into(), Some(vec![("email", "1".into())])).await;
    assert_eq!(status, 303);
    assert_eq!(f.store.notice_preferences(f.id(P::Agent)).await.unwrap(), yiwang_store::NoticePreferences { email: true, sms: false });
}
on_both!(applicants_are_told_of_their_cases);

/// Agency A's item issues a 食品经营许可证 (type `seq`) filled from the form.
async fn item_issues_a_license(f: &Fixture, seq: &str) -> String {
    let type_code = license_type_of_a(f, seq).await;
    let schema = json!({ "properties": { "premises": { "type": "string", "title": "经营场所" } }, "required": ["premises"] });
    let now = jiff::Timestamp::now();
    f.store.define_license_type(&type_code, "食品经营许可证", &schema, &json!({ "fields": ["premises"] }), "t", now).await.unwrap();
    let mut doc = item_a_doc(f).await;
    doc["results"][0]["license_type"] = json!(type_code);
    doc["results"][0]["license_data"] = json!({ "premises": "form.premises" });
    publish_doc(f, doc).await;
    type_code
}

/// A department system's GB/T 39046 records complete the process's tasks the
/// same way the workbench does, and its completion record (决定 and 办结 in one
/// record) issues the item's license in the record's transaction, once.
async fn a_department_systems_completion_issues_the_license(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let type_code = item_issues_a_license(&f, "006").await;
    let no = f.submitted_food_case().await;
    let records = format!("/api/v1/integration/cases/{no}/records");
    let gb = yiwang_case::gbt39046::gb_time;
    let now = jiff::Timestamp::now();
    let accept = json!({ "table": "acceptance", "accept_time": gb(now), "accepting_officer": "窗口一号" });
    let ((status, v), _) = f.json_with(P::Clerk, "POST", records.clone(), accept, &[("idempotency-key", "a-1")]).await;
    assert_eq!(status, 201, "{v:#}");
    // A step the process does not have is refused, as on the workbench.
    let wrong = json!({
        "table": "handling", "step_name": "现场核查", "step_status": "2", "business_action": "通过", "step_handler": "张审",
        "step_opinion": "符合", "step_start": gb(now), "step_end": gb(now),
    });
    let ((status, v), _) = f.json_with(P::Reviewer, "POST", records.clone(), wrong, &[("idempotency-key", "s-0")]).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.process_no_step")), "{v:#}");
    let step = json!({
        "table": "handling", "step_name": "审查", "step_status": "2", "business_action": "通过", "step_handler": "张审",
        "step_opinion": "符合条件", "step_start": gb(now), "step_end": gb(now),
    });
    let ((status, v), _) = f.json_with(P::Reviewer, "POST", records.clone(), step, &[("idempotency-key", "s-1")]).await;
    assert_eq!(status, 201, "{v:#}");
    let done = json!({ "table": "completion", "result_type": "准予", "result_description": "准予许可", "completion_time": gb(now), "completion_handler": "周三" });
    let ((status, v), _) = f.json_with(P::Head, "POST", records.clone(), done.clone(), &[("idempotency-key", "d-1")]).await;
    assert_eq!((status, v["state"].as_str()), (201, Some("concluded")), "{v:#}");
    assert_eq!(v["licenses"].as_array().map(Vec::len), Some(1), "{v:#}");
    let issued = f.store.licenses_of_case(&no).await.unwrap();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].type_code, type_code);
    // The same record again is a replay, not a second license.
    let ((status, _), headers) = f.json_with(P::Head, "POST", records, done, &[("idempotency-key", "d-1")]).await;
    assert_eq!((status, headers.get("idempotent-replayed").is_some()), (200, true));
    assert_eq!(f.store.licenses_of_case(&no).await.unwrap().len(), 1);
}
on_both!(a_department_systems_completion_issues_the_license);

/// A case that ends without a decision ends its process: withdrawing an
/// accepted application or voiding it terminates the instance, so its open
/// step leaves every worklist, and the applicant is told.
async fn withdrawing_or_voiding_ends_the_process(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let withdrawn = f.submitted_food_case().await;
    let v = accept(&f, &withdrawn).await;
    assert_eq!(open_steps(&v), ["审查"]);
    let (status, v) = f.json(P::Agent, "POST", format!("/api/v1/cases/{withdrawn}/withdraw"), json!({ "reason": "不再经营" })).await;
    assert_eq!(status, 200, "{v:#}");
    let (_, v) = f.json(P::Head, "GET", format!("/api/v1/cases/{withdrawn}"), Value::Null).await;
    assert_eq!(v["case"]["process"]["status"], "terminated", "{v:#}");
    assert!(open_steps(&v).is_empty(), "{v:#}");

    let voided = f.submitted_food_case().await;
    accept(&f, &voided).await;
    let (status, v) = staff(&f, P::Head, &voided, json!({ "type": "voided" }), "重复申报").await;
    assert_eq!((status, v["case"]["state"].as_str()), (200, Some("voided")), "{v:#}");
    assert_eq!(v["case"]["process"]["status"], "terminated", "{v:#}");
    // A terminated process takes no more steps.
    let (status, _) = staff(&f, P::Reviewer, &voided, json!({ "type": "step_started", "step": "审查" }), "").await;
    assert_eq!(status, 409);
    let (_, v) = f.json(P::Agent, "GET", "/api/v1/me/notices".into(), Value::Null).await;
    let kinds: Vec<&str> = v["notices"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"withdrawn") && kinds.contains(&"voided"), "{kinds:?}");
}
on_both!(withdrawing_or_voiding_ends_the_process);

/// An item's process with a time limit on 审查 (a non-interrupting boundary
/// timer of 3 working days): when it passes, the worker records 超期 on the
/// case (`step_overdue`, for supervision) and the step stays open; the
/// case's state does not change.
const TIMED_REVIEW: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn"
                  id="defs" targetNamespace="https://yiwang.example/bpmn">
  <bpmn:process id="timed_review" name="限时审查" isExecutable="true">
    <bpmn:startEvent id="accepted" name="受理" />
    <bpmn:userTask id="review" name="审查" yiwang:candidateGroups="reviewer" />
    <bpmn:boundaryEvent id="review_late" name="审查超期" cancelActivity="false" attachedToRef="review">
      <bpmn:timerEventDefinition yiwang:calendar="working-days"><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="late_noted" />
    <bpmn:userTask id="decide" name="决定" yiwang:candidateGroups="department_head" yiwang:decision="true" />
    <bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="f1" sourceRef="accepted" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide" />
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="done" />
    <bpmn:sequenceFlow id="f4" sourceRef="review_late" targetRef="late_noted" />
  </bpmn:process>
</bpmn:definitions>"#;

async fn a_steps_time_limit_passing_is_recorded_on_the_case(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    item_runs_process(&f, TIMED_REVIEW, "timed_review").await;
    let no = f.submitted_food_case().await;
    let v = accept(&f, &no).await;
    assert_eq!((v["case"]["process"]["process_id"].as_str(), open_steps(&v)), (Some("timed_review"), vec!["审查".to_string()]), "{v:#}");
    let calendar = f.store.load_calendar().await.unwrap();
    let env = yiwang_workflow::engine::CalendarEnv(&calendar);
    // Not yet due tomorrow; due well after three working days.
    let tomorrow = now + jiff::SignedDuration::from_hours(24);
    assert_eq!(f.store.fire_due_timers("worker-1", tomorrow, 100, &env).await.unwrap(), 0);
    let later = now + jiff::SignedDuration::from_hours(24 * 12);
    assert_eq!(f.store.fire_due_timers("worker-1", later, 100, &env).await.unwrap(), 1);
    let (_, v) = f.json(P::Head, "GET", format!("/api/v1/cases/{no}/events"), Value::Null).await;
    let overdue: Vec<&Value> = v["events"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "step_overdue").collect();
    assert_eq!(overdue.len(), 1, "{v:#}");
    assert_eq!((overdue[0]["event"]["step"].as_str(), overdue[0]["actor"].as_str()), (Some("审查"), Some("system:worker-1")), "{v:#}");
    let (_, v) = f.json(P::Head, "GET", format!("/api/v1/cases/{no}"), Value::Null).await;
    assert_eq!((v["case"]["state"].as_str(), open_steps(&v)), (Some("accepted"), vec!["审查".to_string()]), "{v:#}");
    // Nobody records 超期 by hand.
    let (status, _) = staff(&f, P::Head, &no, json!({ "type": "step_overdue", "step": "审查", "due": "2026-01-01T00:00:00Z" }), "").await;
    assert!(status == 403 || status == 422, "{status}");
}
on_both!(a_steps_time_limit_passing_is_recorded_on_the_case);

/// A special procedure that stops the case's clock (现场核查) stops the
/// process's timers too: a step limit does not fall due while it runs, and
/// runs again once it ends.
async fn a_special_procedure_stops_the_process_timers(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    item_runs_process(&f, TIMED_REVIEW, "timed_review").await;
    let no = f.submitted_food_case().await;
    accept(&f, &no).await;
    let start = json!({ "type": "special_started", "kind": "other", "name": "现场核查" });
    let (status, v) = staff(&f, P::Reviewer, &no, start, "需现场核查经营场所").await;
    assert_eq!(status, 200, "{v:#}");
    let calendar = f.store.load_calendar().await.unwrap();
    let env = yiwang_workflow::engine::CalendarEnv(&calendar);
    let later = now + jiff::SignedDuration::from_hours(24 * 12);
    assert_eq!(f.store.fire_due_timers("worker-1", later, 100, &env).await.unwrap(), 0, "paused");
    let (status, v) = staff(&f, P::Reviewer, &no, json!({ "type": "special_ended", "result": "核查合格" }), "").await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(f.store.fire_due_timers("worker-1", later, 100, &env).await.unwrap(), 1, "running again");
}
on_both!(a_special_procedure_stops_the_process_timers);

/// The catalog console chooses an item's process from those deployed: the
/// editor's select lists them, and saving names the chosen version in the
/// draft (publishing checks it is deployed).
async fn the_catalog_console_chooses_the_process(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    let (_, version) = f.store.deploy_bpmn(TIMED_REVIEW, &yiwang_web::workflow::builtin_handlers(), "admin", now).await.unwrap();
    let code = item_code(AGENCY_A);
    let (status, html) = f.page(P::Editor, format!("/console/catalog/{code}/edit"), None).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&format!("value=\"timed_review@{version}\"")) && html.contains("节点默认流程"), "{html}");
    let doc = f.store.published_item(&code).await.unwrap().unwrap().doc;
    let form = |workflow: String| {
        vec![
            ("name", doc.name.clone()),
            ("legal_days", doc.legal_limit.amount.to_string()),
            ("promised_days", doc.promised_limit.amount.to_string()),
            ("visits", doc.visits.to_string()),
            ("workflow", workflow),
            ("doc_json", serde_json::to_string(&doc).unwrap()),
        ]
    };
    let (status, html) = f.page(P::Editor, format!("/console/catalog/{code}/edit"), Some(form("timed_review@x".into()))).await;
    assert!(status == 422 && html.contains("办理流程版本"), "{status}: {html}");
    let (status, _) = f.page(P::Editor, format!("/console/catalog/{code}/edit"), Some(form(format!("timed_review@{version}")))).await;
    assert_eq!(status, 303);
    let head = f.store.item_head(&code).await.unwrap().unwrap();
    let draft = f.store.item_version(&code, head.latest_version).await.unwrap().unwrap().doc;
    assert_eq!(draft.workflow, Some(yiwang_catalog::ProcessRef { id: "timed_review".into(), version: Some(version) }));
}
on_both!(the_catalog_console_chooses_the_process);

/// An operator sets the node up through the API and the console: halls (the
/// agencies their windows serve), data resources (a data officer for their
/// own agency only), bundles; each bad field is named.
async fn an_operator_sets_up_the_node_through_the_api_and_console(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let hall = json!({
        "id": "hz-center", "name": "杭州市民中心", "division_code": "330100", "agency_uscc": AGENCY_A,
        "address": "杭州市上城区解放东路18号", "serves": [AGENCY_B],
    });
    let (status, v) = f.json(P::Admin, "POST", "/api/v1/halls".into(), hall).await;
    assert_eq!(status, 201, "{v:#}");
    assert_eq!(v["hall"]["agencies"], json!([AGENCY_A, AGENCY_B]), "{v:#}");
    let (_, v) = f.json(P::Anon, "GET", "/api/v1/halls".into(), Value::Null).await;
    assert!(v["halls"].as_array().unwrap().iter().any(|h| h["id"] == "hz-center"), "{v:#}");
    let unknown = valid_uscc("11", "330300", "00250009");
    let bad = json!({ "id": "bad id", "name": "x", "division_code": "330100", "agency_uscc": unknown });
    let (status, v) = f.json(P::Admin, "POST", "/api/v1/halls".into(), bad).await;
    assert_eq!(status, 422, "{v:#}");
    assert_eq!(v["detail"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect::<Vec<_>>(), ["id"], "{v:#}");
    let unregistered = json!({ "id": "wz", "name": "温州", "division_code": "330300", "agency_uscc": unknown });
    let (status, v) = f.json(P::Admin, "POST", "/api/v1/halls".into(), unregistered).await;
    assert!(status == 422 && v.to_string().contains("未登记"), "{v:#}");

    let resource =
        |provider: &str| json!({ "code": format!("{provider}-hj"), "name": "户籍信息", "provider_uscc": provider, "aliases": ["户口簿"] });
    let (status, v) = f.json(P::DataOfficer, "POST", "/api/v1/data-resources".into(), resource(AGENCY_A)).await;
    assert_eq!(status, 201, "{v:#}");
    let (status, _) = f.json(P::DataOfficer, "POST", "/api/v1/data-resources".into(), resource(AGENCY_B)).await;
    assert_eq!(status, 403, "not the data officer's agency");
    let (_, v) = f.json(P::Anon, "GET", "/api/v1/data-resources".into(), Value::Null).await;
    assert!(v["resources"].as_array().unwrap().iter().any(|r| r["name"] == "户籍信息"), "{v:#}");

    // A bundle naming an item that is not published is refused with the reason.
    let bundle = json!({
        "code": "open-shop", "name": "开办小店一件事", "division_code": "330100",
        "lead_item": item_code(AGENCY_A), "items": [item_code(AGENCY_A), item_code(AGENCY_B)],
    });
    let (status, v) = f.json(P::Admin, "PUT", "/api/v1/bundles/open-shop".into(), bundle).await;
    assert!((400..500).contains(&status), "{status}: {v:#}");

    // The console shows all of it, and saves a hall from its form.
    let (status, html) = f.page(P::Admin, "/console/setup".into(), None).await;
    assert!(status == 200 && html.contains("杭州市民中心") && html.contains("户籍信息"), "{html}");
    let form = vec![
        ("id", "hz-west".to_string()),
        ("name", "西湖区行政服务中心".into()),
        ("division_code", "330106".into()),
        ("agency_uscc", AGENCY_A.into()),
        ("serves", format!("{AGENCY_B}，")),
    ];
    let (status, _) = f.page(P::Admin, "/console/setup/halls".into(), Some(form)).await;
    assert_eq!(status, 303);
    assert!(f.store.halls().await.unwrap().iter().any(|h| h.id == "hz-west" && h.agencies.len() == 2));
}
on_both!(an_operator_sets_up_the_node_through_the_api_and_console);

/// A gateway routes on what the reviewer recorded with the step: 审查 passed
/// with `site_check: true` leads to 现场核查, otherwise straight to 决定.
/// Data a gateway could be fooled by (`outcome`) or that is not a scalar is refused.
const SITE_CHECK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn"
                  id="defs" targetNamespace="https://yiwang.example/bpmn">
  <bpmn:process id="site_check" name="审查后视情现场核查" isExecutable="true">
    <bpmn:startEvent id="accepted" />
    <bpmn:userTask id="review" name="审查" yiwang:candidateGroups="reviewer" />
    <bpmn:exclusiveGateway id="need_visit" default="no_visit" />
    <bpmn:userTask id="visit" name="现场核查" yiwang:candidateGroups="reviewer" />
    <bpmn:userTask id="decide" name="决定" yiwang:candidateGroups="department_head" yiwang:decision="true" />
    <bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="f1" sourceRef="accepted" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="need_visit" />
    <bpmn:sequenceFlow id="go_visit" sourceRef="need_visit" targetRef="visit">
      <bpmn:conditionExpression>site_check == true</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no_visit" sourceRef="need_visit" targetRef="decide" />
    <bpmn:sequenceFlow id="f3" sourceRef="visit" targetRef="decide" />
    <bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>"#;

async fn a_gateway_routes_on_what_the_reviewer_recorded(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    item_runs_process(&f, SITE_CHECK, "site_check").await;
    for (site_check, next) in [(true, "现场核查"), (false, "决定")] {
        let no = f.submitted_food_case().await;
        accept(&f, &no).await;
        assert_eq!(staff(&f, P::Reviewer, &no, json!({ "type": "step_started", "step": "审查" }), "").await.0, 200);
        for bad in [json!({ "outcome": "returned" }), json!({ "site_check": { "nested": 1 } })] {
            let (status, v) = staff(&f, P::Reviewer, &no, json!({ "type": "step_passed", "step": "审查", "data": bad }), "").await;
            assert_eq!((status, v["code"].as_str()), (422, Some("case.bad_step_data")), "{v:#}");
        }
        let pass = json!({ "type": "step_passed", "step": "审查", "data": { "site_check": site_check, "score": 88 } });
        let (status, v) = staff(&f, P::Reviewer, &no, pass, "符合条件").await;
        assert_eq!(status, 200, "{v:#}");
        assert_eq!(open_steps(&v), [next], "{v:#}");
    }
}
on_both!(a_gateway_routes_on_what_the_reviewer_recorded);

/// Deploy `bpmn` and publish agency A's item naming its process `id`, through
/// the catalog API's four eyes; the deployed version.
async fn item_runs_process(f: &Fixture, bpmn: &str, id: &str) -> i64 {
    let (_, version) = f.store.deploy_bpmn(bpmn, &yiwang_web::workflow::builtin_handlers(), "admin", jiff::Timestamp::now()).await.unwrap();
    let mut doc = item_a_doc(f).await;
    doc["workflow"] = json!({ "id": id, "version": version });
    publish_doc(f, doc).await;
    version
}

/// Agency A's published item document, as JSON to edit.
async fn item_a_doc(f: &Fixture) -> Value {
    serde_json::to_value(f.store.published_item(&item_code(AGENCY_A)).await.unwrap().unwrap().doc).unwrap()
}

/// Publish `doc` as agency A's next version through the catalog API's four
/// eyes: the editor saves and submits it, the catalog reviewer publishes it.
async fn publish_doc(f: &Fixture, doc: Value) {
    let (items, code) = ("/api/v1/catalog/items", item_code(AGENCY_A));
    assert_eq!(f.json(P::Editor, "PUT", format!("{items}/{code}/draft"), doc).await.0, 200);
    assert_eq!(f.json(P::Editor, "POST", format!("{items}/{code}/submit"), json!({})).await.0, 200);
    let (status, v) = f.json(P::CatalogReviewer, "POST", format!("{items}/{code}/publish"), json!({})).await;
    assert_eq!(status, 200, "{v:#}");
}

/// 会签 as a parallel multi-instance task over the agencies the model names
/// (`yiwang:agencies`), and a gateway on their agreement: 审查 → 会签 by
/// agency B → all agreed: 决定; otherwise 补充审查 first.
fn countersign_bpmn() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn"
                  id="defs" targetNamespace="https://yiwang.example/bpmn">
  <bpmn:process id="countersigned" name="审查并会签" isExecutable="true">
    <bpmn:startEvent id="accepted" />
    <bpmn:userTask id="review" name="审查" yiwang:candidateGroups="reviewer" />
    <bpmn:userTask id="sign" name="会签" yiwang:candidateGroups="department_head" yiwang:agencies="{AGENCY_B}">
      <bpmn:multiInstanceLoopCharacteristics isSequential="false" />
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="agreed" default="rework" />
    <bpmn:userTask id="recheck" name="补充审查" yiwang:candidateGroups="reviewer" />
    <bpmn:userTask id="decide" name="决定" yiwang:candidateGroups="department_head" yiwang:decision="true" />
    <bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="f1" sourceRef="accepted" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="sign" />
    <bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="agreed" />
    <bpmn:sequenceFlow id="all_agreed" sourceRef="agreed" targetRef="decide">
      <bpmn:conditionExpression>sign_disagreed == 0</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="rework" sourceRef="agreed" targetRef="recheck" />
    <bpmn:sequenceFlow id="f4" sourceRef="recheck" targetRef="decide" />
    <bpmn:sequenceFlow id="f5" sourceRef="decide" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>"#
    )
}

async fn another_agency_countersigns_as_the_process_names(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    item_runs_process(&f, &countersign_bpmn(), "countersigned").await;
    for (agree, next) in [(false, "补充审查"), (true, "决定")] {
        let no = f.submitted_food_case().await;
        accept(&f, &no).await;
        assert_eq!(staff(&f, P::Reviewer, &no, json!({ "type": "step_started", "step": "审查" }), "").await.0, 200);
        let (status, v) = staff(&f, P::Reviewer, &no, json!({ "type": "step_passed", "step": "审查" }), "").await;
        assert_eq!(status, 200, "{v:#}");
        assert_eq!(open_steps(&v), ["会签"], "{v:#}");
        assert_eq!(v["case"]["process"]["open"][0]["agency"].as_str(), Some(AGENCY_B), "{v:#}");
        assert_eq!(staff(&f, P::Reviewer, &no, json!({ "type": "step_started", "step": "会签" }), "").await.0, 200);

        // Passing before the agencies sign, or asking others than the model names, is refused.
        let (status, v) = staff(&f, P::Reviewer, &no, json!({ "type": "step_passed", "step": "会签" }), "").await;
        assert_eq!((status, v["code"].as_str()), (409, Some("case.process_countersign_pending")), "{v:#}");
        let wrong = json!({ "type": "countersign_requested", "step": "会签", "agencies": [AGENCY_A] });
        let (status, v) = staff(&f, P::Reviewer, &no, wrong, "").await;
        assert_eq!((status, v["code"].as_str()), (409, Some("case.process_countersign_agencies")), "{v:#}");

        // A request naming no agency asks those the model names; agency B's worklist shows it.
        let ask = json!({ "type": "countersign_requested", "step": "会签", "agencies": [] });
        let (status, v) = staff(&f, P::Reviewer, &no, ask, "").await;
        assert_eq!(status, 200, "{v:#}");
        let (_, list) = f.json(P::OtherAgencyHead, "GET", "/api/v1/workbench/countersigns".into(), Value::Null).await;
        assert!(list["countersigns"].as_array().unwrap().iter().any(|c| c["case_no"] == no.as_str()), "{list:#}");

        // Agency A cannot sign for B; B's head signs, which completes B's instance and moves the process on.
        let sign = json!({ "type": "countersigned", "step": "会签", "agency": AGENCY_B, "agree": agree });
        assert_eq!(staff(&f, P::Reviewer, &no, sign.clone(), "同意").await.0, 403);
        let (status, v) = staff(&f, P::OtherAgencyHead, &no, sign, if agree { "同意" } else { "经营场所存在消防隐患，不同意" }).await;
        assert_eq!(status, 200, "{v:#}");
        let (_, v) = f.json(P::Reviewer, "GET", format!("/api/v1/cases/{no}"), Value::Null).await;
        assert_eq!(open_steps(&v), [next], "{v:#}");
        // The lead closes 会签 on the case; the decision then waits for the process.
        let (status, v) = staff(&f, P::Reviewer, &no, json!({ "type": "step_passed", "step": "会签" }), "会签意见已收齐").await;
        assert_eq!(status, 200, "{v:#}");
        if !agree {
            let (status, v) = staff(&f, P::Head, &no, json!({ "type": "decided", "decision": "approve" }), "").await;
            assert_eq!((status, v["code"].as_str()), (409, Some("case.process_not_at_decision")), "{v:#}");
            assert_eq!(staff(&f, P::Reviewer, &no, json!({ "type": "step_started", "step": "补充审查" }), "").await.0, 200);
            assert_eq!(staff(&f, P::Reviewer, &no, json!({ "type": "step_passed", "step": "补充审查" }), "隐患已整改").await.0, 200);
        }
        let (status, v) = staff(&f, P::Head, &no, json!({ "type": "decided", "decision": "approve" }), "").await;
        assert_eq!(status, 200, "{v:#}");
        assert!(v["case"]["process"]["trail"].as_array().unwrap().iter().any(|s| s == "会签"), "{v:#}");
    }
}
on_both!(another_agency_countersigns_as_the_process_names);

/// The parity corpus drives cases: each model becomes an item's process; its
/// corpus case's start data is the application form and its decisions are
/// what staff record: a task's when passing its step, a receive task's or
/// message event's as the `message_received` that delivers the message. When
/// nothing is open, the node's worker runs an hour later (timers fire,
/// handlers run); tasks the corpus holds wait until then. Every case reaches
/// 办结. A service task no worker of this node runs (`license.fetch`,
/// `credit.check`) is an external task: staff pass it with the corpus's
/// answer as its data, as a department system would record it. Nested start
/// data is a group of fields on the form.
async fn the_parity_corpus_drives_cases_end_to_end(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let dir = format!("{}/../workflow/tests/parity", env!("CARGO_MANIFEST_DIR"));
    let corpus: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/cases.json")).unwrap()).unwrap();
    let handlers = yiwang_web::workflow::builtin_handlers();
    let mut ran = std::collections::BTreeSet::new();
    let mut undeployable = std::collections::BTreeSet::new();
    let mut not_a_form = std::collections::BTreeSet::new();
    let mut external = std::collections::BTreeSet::new();
    for pc in &corpus {
        let file = pc["file"].as_str().unwrap();
        let bpmn = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let data = pc["data"].as_object().unwrap();
        // A field for each value; an object is a group of fields (申请人: 国籍, 年龄).
        fn form_kind(v: &Value, in_group: bool) -> Option<Value> {
            match v {
                Value::Bool(_) => Some(json!({ "type": "boolean" })),
                Value::Number(n) if n.is_i64() => Some(json!({ "type": "integer" })),
                Value::String(_) => Some(json!({ "type": "string", "maxLength": 200 })),
                Value::Array(a) if a.iter().all(Value::is_string) => {
                    Some(json!({ "type": "array", "items": { "type": "string", "maxLength": 40 } }))
                }
                Value::Object(o) if !in_group && !o.is_empty() => {
                    let fields: Option<serde_json::Map<String, Value>> =
                        o.iter().map(|(k, v)| form_kind(v, true).map(|p| (k.clone(), p))).collect();
                    Some(json!({ "type": "object", "properties": fields? }))
                }
                _ => None,
            }
        }
        if data.values().any(|v| form_kind(v, false).is_none()) {
            not_a_form.insert(file.to_string());
            continue;
        }
        // The item names the model, and its form carries the start data.
        let Ok((_, version)) = f.store.deploy_bpmn(&bpmn, &handlers, "admin", jiff::Timestamp::now()).await else {
            undeployable.insert(file.to_string());
            continue;
        };
        let mut doc = item_a_doc(&f).await;
        doc["workflow"] = json!({ "id": pc["process"], "version": version });
        for (k, v) in data {
            let mut p = form_kind(v, false).unwrap();
            p["title"] = json!(k);
            doc["form"]["properties"][k] = p;
        }
        publish_doc(&f, doc).await;
        let no = f.submitted_food_case_with(data.clone()).await;
        let mut v = accept(&f, &no).await;
        // A message the process does not wait for is refused, naming what it waits for.
        let stray = json!({ "type": "message_received", "message": "无此消息" });
        let (status, refused) = staff(&f, P::Reviewer, &no, stray, "").await;
        assert_eq!((status, refused["code"].as_str()), (409, Some("case.process_no_message")), "{file}: {refused:#}");

        let mut rounds: std::collections::HashMap<String, usize> = Default::default();
        let mut decision_for = |node: &str| {
            let round = rounds.entry(node.to_string()).or_default();
            let d = match &pc["decisions"][node] {
                Value::Array(list) => list.get(*round).cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            *round += 1;
            d
        };
        let mut held: Vec<String> =
            pc["hold"].as_array().map(|a| a.iter().map(|h| h.as_str().unwrap().to_string()).collect()).unwrap_or_default();
        let mut later = jiff::Timestamp::now();
        for _ in 0..80 {
            let process = &v["case"]["process"];
            if process["status"] != "running" {
                break;
            }
            let open = process["open"].as_array().cloned().unwrap_or_default();
            let next = open.iter().find(|s| !held.iter().any(|h| s["node"] == h.as_str()));
            if let Some(step) = next {
                let (node, name) = (step["node"].as_str().unwrap().to_string(), step["name"].as_str().unwrap().to_string());
                if let Some(topic) = step["service"].as_str() {
                    external.insert(topic.to_string());
                    // The workbench shows it as a task for the department system or staff.
                    let (status, page) = f.page(P::Reviewer, format!("/console/cases/{no}"), None).await;
                    assert!(status == 200 && page.contains(&format!("外部任务 {topic}")), "{file}: {topic} on the workbench");
                }
                let who = if step["candidate_groups"].to_string().contains("window_clerk") { P::Clerk } else { P::Reviewer };
                let decision = decision_for(&node);
                if step["service"] == "credit.check" {
                    // The credit system answers its external task with a GB/T 39046 record.
                    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
                    let at = yiwang_case::gbt39046::gb_time(jiff::Timestamp::now());
                    let record = json!({
                        "table": "handling", "step_name": name, "step_status": "2", "business_action": "通过",
                        "step_handler": "信用系统", "step_start": at, "step_end": at, "step_data": decision,
                    });
                    let key = format!("{no}-{node}");
                    let ((status, r), _) = f
                        .json_with(
                            P::Reviewer,
                            "POST",
                            format!("/api/v1/integration/cases/{no}/records"),
                            record,
                            &[("idempotency-key", &key)],
                        )
                        .await;
                    assert_eq!(status, 201, "{file}: {r:#}");
                    v = f.json(P::Reviewer, "GET", format!("/api/v1/cases/{no}"), Value::Null).await.1;
                    continue;
                }
                assert_eq!(staff(&f, who, &no, json!({ "type": "step_started", "step": name }), "").await.0, 200, "{file}: {name}");
                if step["service"] == "license.fetch" {
                    // Staff answer it on the workbench page, one name=value per line.
                    let lines: Vec<String> = decision.as_object().into_iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
                    let form = vec![("action", "step_passed".to_string()), ("step", name.clone()), ("data", lines.join("\n"))];
                    let (status, page) = f.page(P::Reviewer, format!("/console/cases/{no}/events"), Some(form)).await;
                    assert_eq!(status, 303, "{file}: {page}");
                    v = f.json(P::Reviewer, "GET", format!("/api/v1/cases/{no}"), Value::Null).await.1;
                    continue;
                }
                let mut pass = json!({ "type": "step_passed", "step": name });
                if decision.is_object() {
                    pass["data"] = decision;
                }
                let (status, next) = staff(&f, who, &no, pass, "依模型办理").await;
                assert_eq!(status, 200, "{file}: {name}: {next:#}");
                v = next;
            } else if let Some(m) = process["messages"].as_array().and_then(|a| a.first()).cloned() {
                let node = m["node"].as_str().unwrap();
                let mut event = json!({ "type": "message_received", "message": m["message"] });
                let decision = decision_for(node);
                if decision.is_object() {
                    event["data"] = decision;
                }
                let (status, next) = staff(&f, P::Reviewer, &no, event, "").await;
                assert_eq!(status, 200, "{file}: {m}: {next:#}");
                v = next;
            } else {
                // Nothing to do by hand: the worker, an hour on, fires the timers and runs the handlers.
                later += std::time::Duration::from_secs(3600);
                let calendar = f.store.load_calendar().await.unwrap();
                let env = yiwang_workflow::engine::CalendarEnv(&calendar);
                let fired = f.store.fire_due_timers("t", later, 100, &env).await.unwrap();
                let done = f.store.run_due_handlers("t", &handlers, later, 100, &env).await.unwrap().completed;
                if fired + done == 0 {
                    // The held tasks are done once the timers have had their turn.
                    if held.is_empty() {
                        break;
                    }
                    held.clear();
                }
                v = f.json(P::Reviewer, "GET", format!("/api/v1/cases/{no}"), Value::Null).await.1;
            }
        }
        assert_ne!(v["case"]["process"]["status"], "running", "{file}: the process ended: {v:#}");
        assert_eq!(staff(&f, P::Head, &no, json!({ "type": "decided", "decision": "approve" }), "").await.0, 200, "{file}");
        let (status, v) = staff(&f, P::Head, &no, json!({ "type": "concluded", "result": "准予许可" }), "").await;
        assert_eq!((status, v["case"]["state"].as_str()), (200, Some("concluded")), "{file}: {v:#}");
        ran.insert(file.to_string());
    }
    let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<std::collections::BTreeSet<_>>();
    let want = [
        "boundary_interrupting.bpmn",
        "boundary_noninterrupting.bpmn",
        "conditions.bpmn",
        "inclusive_multi_sub.bpmn",
        "loop_service_timer.bpmn",
        "message_catch.bpmn",
        "multi_collection.bpmn",
        "nested.bpmn",
        "nested_parallel.bpmn",
        "parallel_exclusive.bpmn",
        "service_chain.bpmn",
        "receive_task.bpmn",
        "subprocess_boundary.bpmn",
        "terminate.bpmn",
        "timers_parallel.bpmn",
        "unjoined_ends.bpmn",
    ];
    assert_eq!(ran, set(&want), "the models a case drives");
    assert!(undeployable.is_empty(), "every model deploys: {undeployable:?}");
    assert!(not_a_form.is_empty(), "every corpus case's start data is a form: {not_a_form:?}");
    // service_chain's service tasks were open steps, passed with the corpus's answers.
    assert_eq!(external, set(&["credit.check", "decide.auto", "deliver", "license.fetch"]), "external tasks met");
}
on_both!(the_parity_corpus_drives_cases_end_to_end);

/// A 一件事 is versioned and published with four eyes, like an item: an
/// admin drafts it through the API, a catalog reviewer (another person)
/// publishes it; the drafter cannot. An application records the bundle
/// version it was opened under: a republished bundle with a shorter combined
/// limit applies to new applications only.
async fn bundles_are_drafted_and_published_by_two_people(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let seal = demo_item_of("公章刻制备案", AGENCY_A, "杭州市市场监督管理局", "330100");
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&seal, true, "t", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    let food = item_code(AGENCY_A);
    let define = |days: u32| {
        json!({
            "code": "open-restaurant", "name": "开办餐饮店", "division_code": "330100",
            "lead_item": food, "items": [food, seal.implementation_code], "promised_days": days,
        })
    };
    let path = "/api/v1/bundles/open-restaurant";
    let (status, v) = f.json(P::Admin, "PUT", path.into(), define(5)).await;
    assert_eq!((status, v["version"].as_i64(), v["status"].as_str()), (200, Some(1), Some("draft")), "{v:#}");
    // A draft is not offered to applicants.
    assert_eq!(f.json(P::Anon, "GET", path.into(), Value::Null).await.0, 404);
    // The catalog reviewer publishes it; the drafter could not, had they the role.
    let (status, v) = f.json(P::CatalogReviewer, "POST", format!("{path}/publish"), Value::Null).await;
    assert_eq!((status, v["version"].as_i64()), (200, Some(1)), "{v:#}");
    let (status, v) = f.json(P::CatalogReviewer, "POST", format!("{path}/publish"), Value::Null).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("bundle.no_draft")), "{v:#}");
    let reviewer_id = f.id(P::CatalogReviewer).to_string();
    let drafted = yiwang_catalog::Bundle {
        code: "open-restaurant".into(),
        name: "开办餐饮店".into(),
        description: String::new(),
        division_code: "330100".into(),
        lead_item: food.clone(),
        items: vec![food.clone(), seal.implementation_code.clone()],
        promised_days: Some(4),
        issue_together: false,
    };
    f.store.draft_bundle(&drafted, &reviewer_id, jiff::Timestamp::now()).await.unwrap();
    let (status, v) = f.json(P::CatalogReviewer, "POST", format!("{path}/publish"), Value::Null).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("bundle.four_eyes")), "{v:#}");

    // An application under version 1 (5 working days).
    let v = apply_for_open_restaurant(&f).await;
    assert_eq!(v["bundle"]["bundle_version"], 1, "{v:#}");
    let no = v["bundle"]["bundle_no"].as_str().unwrap().to_string();

    // Version 2 with one working day, drafted by the admin and published by the reviewer.
    assert_eq!(f.json(P::Admin, "PUT", path.into(), define(1)).await.0, 200);
    let (status, v) = f.json(P::CatalogReviewer, "POST", format!("{path}/publish"), Value::Null).await;
    assert_eq!((status, v["version"].as_i64()), (200, Some(2)), "{v:#}");
    let (_, v) = f.json(P::Admin, "GET", format!("{path}/versions"), Value::Null).await;
    let statuses: Vec<&str> = v["versions"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["published", "superseded"], "{v:#}");
    // The application in hand keeps version 1 and its five working days.
    let b = f.store.bundle_case(&no).await.unwrap();
    assert_eq!(b.bundle_version, 1);
    assert_eq!(f.store.bundle_promised_days(&no).await.unwrap(), Some(5));
    let audit = f.store.audit_page(0, 10_000).await.unwrap().entries;
    assert!(audit.iter().any(|e| e.record.action == "bundle.published" && e.record.actor == reviewer_id), "published, audited");
}
on_both!(bundles_are_drafted_and_published_by_two_people);

/// The agent's application for the open-restaurant bundle, as created (201).
async fn apply_for_open_restaurant(f: &Fixture) -> Value {
    let form = json!({
        "contact_name": "王五", "contact_phone": "13800138000",
        "premises": "杭州市西湖区文三路1号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    });
    let (status, v) =
        f.json(P::Agent, "POST", "/api/v1/bundle-cases".into(), json!({ "bundle_code": "open-restaurant", "form": form })).await;
    assert_eq!(status, 201, "{v:#}");
    v
}

/// A process waiting for a message (a receive task: 缴费到账) shows it on the
/// workbench page, where a reviewer records that it arrived; the process
/// then goes on. An applicant's page has no such form, and recording it is
/// refused to them.
const AWAITS_PAYMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn"
                  id="defs" targetNamespace="https://yiwang.example/bpmn">
  <bpmn:message id="m_paid" name="缴费到账" />
  <bpmn:process id="awaits_payment" name="缴费后决定" isExecutable="true">
    <bpmn:startEvent id="accepted" />
    <bpmn:receiveTask id="paid" name="等待缴费" messageRef="m_paid" />
    <bpmn:userTask id="decide" name="决定" yiwang:candidateGroups="department_head" yiwang:decision="true" />
    <bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="f1" sourceRef="accepted" targetRef="paid" />
    <bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="decide" />
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>"#;

async fn the_workbench_records_a_message_the_process_awaits(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    item_runs_process(&f, AWAITS_PAYMENT, "awaits_payment").await;
    let no = f.submitted_food_case().await;
    accept(&f, &no).await;
    let (status, html) = f.page(P::Reviewer, format!("/console/cases/{no}"), None).await;
    assert!(status == 200 && html.contains("流程正在等待消息：“缴费到账”") && html.contains("登记收到消息"), "{html}");
    let form = vec![("action", "message_received".to_string()), ("message", "缴费到账".into()), ("reason", "到账凭证 2026-001".into())];
    let (status, _) = f.page(P::Agent, format!("/console/cases/{no}/events"), Some(form.clone())).await;
    assert_eq!(status, 403, "not the applicant's to record");
    let (status, _) = f.page(P::Reviewer, format!("/console/cases/{no}/events"), Some(form)).await;
    assert_eq!(status, 303);
    let (_, v) = f.json(P::Reviewer, "GET", format!("/api/v1/cases/{no}"), Value::Null).await;
    assert_eq!(open_steps(&v), ["决定"], "{v:#}");
    assert!(v["case"]["process"]["messages"].as_array().unwrap().is_empty(), "{v:#}");
    let (_, html) = f.page(P::Reviewer, format!("/console/cases/{no}"), None).await;
    assert!(html.contains("流程消息：缴费到账") && !html.contains("登记收到消息"), "{html}");
}
on_both!(the_workbench_records_a_message_the_process_awaits);

/// 多证同发: a bundle that asks for it issues no child's license as the child
/// concludes; the last child's conclusion (the join) issues every approved
/// child's license, each sealed and linked from its own case.
async fn a_bundle_issues_its_licenses_together_at_the_join(backend: yiwang_testkit::TestBackend) {
    let (_db, f) = fixture(backend).await;
    let now = jiff::Timestamp::now();
    let food_type = item_issues_a_license(&f, "007").await;
    // The seal filing issues its own certificate, named after the holder.
    let seal_type = license_type_of_a(&f, "008").await;
    let schema = json!({ "properties": { "holder": { "type": "string", "title": "单位名称" } }, "required": ["holder"] });
    f.store.define_license_type(&seal_type, "印章备案证明", &schema, &json!({ "fields": ["holder"] }), "t", now).await.unwrap();
    let mut seal = demo_item_of("公章刻制备案", AGENCY_A, "杭州市市场监督管理局", "330100");
    seal.results[0].license_type = Some(seal_type.clone());
    seal.results[0].license_data = [("holder".to_string(), "applicant.name".to_string())].into_iter().collect();
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&seal, true, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    let food = item_code(AGENCY_A);
    let path = "/api/v1/bundles/open-restaurant";
    let def = json!({
        "code": "open-restaurant", "name": "开办餐饮店", "division_code": "330100",
        "lead_item": food, "items": [food, seal.implementation_code], "issue_together": true,
    });
    assert_eq!(f.json(P::Admin, "PUT", path.into(), def).await.0, 200);
    let (status, v) = f.json(P::CatalogReviewer, "POST", format!("{path}/publish"), Value::Null).await;
    assert_eq!(status, 200, "{v:#}");
    let (_, v) = f.json(P::Anon, "GET", path.into(), Value::Null).await;
    assert_eq!(v["issue_together"], true, "{v:#}");
    let (status, html) = f.page(P::Anon, "/bundles/open-restaurant".into(), None).await;
    assert!(status == 200 && html.contains("多证同发"), "{html}");

    // An application, submitted, each child accepted and decided.
    let v = apply_for_open_restaurant(&f).await;
    let no = v["bundle"]["bundle_no"].as_str().unwrap().to_string();
    let bundle = format!("/api/v1/bundle-cases/{no}");
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    for m in ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件", "法定代表人居民身份证"]
    {
        let (status, v) = f.upload(P::Agent, format!("{bundle}/materials"), m, "扫描件.pdf", PDF).await;
        assert_eq!(status, 201, "{m}: {v:#}");
    }
    let commit = json!({ "material": "食品安全自查、从业人员健康管理等制度" });
    assert_eq!(f.json(P::Agent, "POST", format!("{bundle}/commitments"), commit).await.0, 201);
    let (status, v) = f.json(P::Agent, "POST", format!("{bundle}/submit"), Value::Null).await;
    assert_eq!(status, 200, "{v:#}");
    let (status, v) = f.json(P::Clerk, "POST", format!("{bundle}/accept"), Value::Null).await;
    assert_eq!(status, 200, "{v:#}");
    let children: Vec<String> =
        v["bundle"]["children"].as_array().unwrap().iter().map(|c| c["case_no"].as_str().unwrap().to_string()).collect();
    assert_eq!(children.len(), 2, "{v:#}");
    for child in &children {
        decide_accepted(&f, child, "approve").await;
    }

    // The first child concludes: no license yet.
    let (status, v) = staff(&f, P::Head, &children[0], json!({ "type": "concluded", "result": "准予许可" }), "").await;
    assert_eq!((status, v["case"]["state"].as_str()), (200, Some("concluded")), "{v:#}");
    assert!(f.store.licenses_of_case(&children[0]).await.unwrap().is_empty(), "held for the join");
    // The last child concludes: both licenses, each on its own case.
    let (status, v) = staff(&f, P::Head, &children[1], json!({ "type": "concluded", "result": "准予许可" }), "").await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(f.store.bundle_case(&no).await.unwrap().state(), yiwang_store::BundleState::Completed);
    let today = yiwang_calendar::china_today(now);
    let mut types = Vec::new();
    for child in &children {
        let issued = f.store.licenses_of_case(child).await.unwrap();
        assert_eq!(issued.len(), 1, "{child}: one license");
        let stored = f.store.license(&issued[0].id).await.unwrap();
        let verdict = f.store.verify_license(yiwang_store::Presented::Sealed(stored.sealed.clone()), today).await.unwrap();
        assert!(verdict.ok, "{child}: sealed and valid: {verdict:?}");
        assert_eq!(stored.holder.id, ENTERPRISE);
        types.push(stored.type_code.clone());
        let (_, v) = f.json(P::Agent, "GET", format!("/api/v1/cases/{child}"), Value::Null).await;
        assert_eq!(v["case"]["licenses"].as_array().map(Vec::len), Some(1), "{child}: linked from its case: {v:#}");
    }
    types.sort();
    let mut expected = vec![food_type, seal_type];
    expected.sort();
    assert_eq!(types, expected);
}
on_both!(a_bundle_issues_its_licenses_together_at_the_join);
