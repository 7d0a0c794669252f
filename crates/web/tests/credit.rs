//! Issue 21, the 信用信息库: a 告知承诺 found untruthful becomes a credit record
//! in the finding's transaction, and with a record in force (that, or a 失信
//! flag imported from the credit platform) the subject is not offered 告知承诺
//! again: the page does not offer it and the API refuses it. Both backends.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use serde_json::json;
use yiwang_testkit::TestBackend;

const COMMITTED: &str = "食品安全自查、从业人员健康管理等制度";

async fn untruthful_commitments_take_commitments_away(backend: TestBackend) {
    let (_db, f) = fixture(backend).await;
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    assert!(f.store.credit_standing("049", ENTERPRISE, today).await.unwrap().commitment_offered());
    // Accepted with the commitment signed; verified and found untruthful.
    let no = f.submitted_food_case().await;
    let events = format!("/api/v1/cases/{no}/events");
    let accept = json!({ "event": { "type": "accepted", "promised_days": 0, "legal_days": 0 }, "reason": "" });
    let (status, v) = f.json(P::Clerk, "POST", events.clone(), accept).await;
    assert_eq!(status, 200, "{v:#}");
    let check = json!({ "event": { "type": "commitment_checked", "material": COMMITTED, "truthful": false }, "reason": "现场核查未见健康管理制度" });
    let (status, v) = f.json(P::Reviewer, "POST", events, check).await;
    assert_eq!(status, 200, "{v:#}");
    let standing = f.store.credit_standing("049", ENTERPRISE, today).await.unwrap();
    assert_eq!((standing.dishonest, standing.commitment_violations), (false, 1));
    assert_eq!(standing.records[0].case_no.as_deref(), Some(no.as_str()));
    assert!(standing.records[0].until_on.is_some(), "a finding lapses");

    // The next application: no commitment offered, and none taken.
    let form = json!({
        "contact_name": "王五", "contact_phone": "13800138000",
        "premises": "杭州市西湖区文三路1号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    });
    let (status, v) = f.json(P::Agent, "POST", "/api/v1/cases".into(), json!({ "item_code": item_code(AGENCY_A), "form": form })).await;
    assert_eq!(status, 201, "{v:#}");
    let next = v["case"]["case_no"].as_str().unwrap().to_string();
    let (status, v) = f.json(P::Agent, "POST", format!("/api/v1/cases/{next}/commitments"), json!({ "material": COMMITTED })).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.commitment_not_offered")), "{v:#}");
    let (status, page) = f.page(P::Agent, format!("/me/cases/{next}"), None).await;
    assert_eq!(status, 200);
    assert!(!page.contains("以告知承诺代替此材料"), "not offered on the page");

    // 失信 flags from the credit platform: all rows or none.
    let person = f.citizen_id(P::Citizen).to_string();
    let flag = |id: &str| yiwang_store::CreditRecord {
        subject_type: "111".into(),
        subject_id: id.into(),
        kind: yiwang_store::DISHONEST.into(),
        source: "信用中国".into(),
        case_no: None,
        reason: "失信被执行人".into(),
        until_on: None,
    };
    let now = jiff::Timestamp::now();
    let refused = f.store.import_credit(&[flag(&person), flag("110105194912310021")], "t", now).await.unwrap();
    assert_eq!(refused.map_err(|p| p.iter().map(|x| x.line).collect::<Vec<_>>()), Err(vec![2]));
    assert!(f.store.credit_standing("111", &person, today).await.unwrap().commitment_offered(), "nothing imported");
    assert_eq!(f.store.import_credit(&[flag(&person)], "t", now).await.unwrap(), Ok(1));
    let standing = f.store.credit_standing("111", &person, today).await.unwrap();
    assert!(standing.dishonest && !standing.commitment_offered());
}
on_both!(untruthful_commitments_take_commitments_away);
