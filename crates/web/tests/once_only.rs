//! Issue 21, 免提交 made real, through the HTTP edge on both backends: a
//! material its item sources from a data resource on this node is fetched
//! under a grant when the application is opened; without a grant the
//! applicant is told why and uploads it; the reviewer sees what came, with
//! its provenance, and can fetch again; the once-only analyzer counts the
//! resource only for an agency holding a grant.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use serde_json::json;
use yiwang_testkit::TestBackend;

const RESOURCE: &str = "330000-RK-0009";
const MATERIAL: &str = "户籍信息";

/// The 人口库 described for sharing on this node (provided by agency B), and
/// agency A's 城乡居民医保参保登记 sourcing 户籍信息 from it: the item's code.
async fn setup(f: &Fixture) -> String {
    let now = jiff::Timestamp::now();
    let sharing: yiwang_sharing::ResourceSharing = serde_json::from_value(json!({
        "share_type": "conditional",
        "legal_basis": "《政务信息资源共享管理暂行办法》第九条",
        "items": [
            { "name": "name", "label": "姓名", "data_type": "string" },
            { "name": "citizen_id", "label": "公民身份号码", "data_type": "string" },
            { "name": "birth_date", "label": "出生日期", "data_type": "date" },
        ],
        "service": "base-data/person/v1",
    }))
    .unwrap();
    let resource = yiwang_catalog::setup::ResourceInput {
        code: RESOURCE.into(),
        name: "人口基本信息".into(),
        provider_uscc: AGENCY_B.into(),
        aliases: vec!["户籍证明".into()],
        sharing: Some(sharing),
    };
    f.store.register_data_resource(&resource, "t", now).await.unwrap().unwrap();
    let mut doc = demo_item_of("城乡居民基本医疗保险参保登记", AGENCY_A, "杭州市市场监督管理局", "330100");
    for m in &mut doc.materials {
        if m.name == MATERIAL {
            m.source = yiwang_catalog::MaterialSource::Shared { resource: RESOURCE.into() };
        }
    }
    let mut tx = f.store.begin().await.unwrap();
    tx.import_item(&doc, true, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    doc.implementation_code
}

async fn open(f: &Fixture, item: &str) -> serde_json::Value {
    let (status, v) =
        f.json(P::Citizen, "POST", "/api/v1/cases".into(), json!({ "item_code": item, "form": { "contact_phone": "13800138000" } })).await;
    assert_eq!(status, 201, "{v:#}");
    v["case"].clone()
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

async fn shared_materials_are_fetched_under_a_grant(backend: TestBackend) {
    let (_db, f) = fixture(backend).await;
    let item = setup(&f).await;
    let analysis = |f: &Fixture| {
        let store = f.store.clone();
        let item = item.clone();
        async move {
            let r = yiwang_web::catalog::analysis(&store).await.unwrap();
            r.items.into_iter().find(|i| i.implementation_code == item).unwrap()
        }
    };
    let before = analysis(&f).await;
    assert!(before.findings.iter().any(|x| x.kind == yiwang_catalog::FindingKind::NoGrant && x.material == MATERIAL), "{before:?}");

    // No grant: the provider refuses (default deny), the case says why, and the applicant uploads.
    let case = open(&f, &item).await;
    let no = case["case_no"].as_str().unwrap().to_string();
    assert_eq!(case["shared"][0]["unavailable"], "access_denied", "{case:#}");
    let (_, page) = f.page(P::Citizen, format!("/me/cases/{no}"), None).await;
    assert!(page.contains("数据提供部门未授权本次调取，请上传该材料"), "{page}");
    let (status, v) = f.upload(P::Citizen, format!("/api/v1/cases/{no}/materials"), MATERIAL, "户籍证明.pdf", PDF).await;
    assert_eq!(status, 201, "a shared material that did not come is uploaded: {v:#}");
    let sm3 = hex::encode(yiwang_crypto::sm3(f.citizen_id(P::Citizen).as_bytes()));
    let logged = f.store.data_accesses_of(&sm3, 10).await.unwrap();
    assert_eq!(logged.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), vec!["denied:no_grant"]);

    // A grant for agency A, for this item, names and birth dates only.
    let now = jiff::Timestamp::now();
    let grant = yiwang_sharing::Grant {
        id: String::new(),
        resource: RESOURCE.into(),
        consumer: format!("CN/GOV/{AGENCY_A}"),
        fields: vec!["name".into(), "birth_date".into()],
        purposes: vec![item.clone()],
        row_scope: yiwang_sharing::RowScope::All,
        valid_from: now,
        valid_until: now + jiff::SignedDuration::from_hours(24),
        revoked_at: None,
    };
    let grant = f.store.create_grant(grant, "t", "批复1号", now).await.unwrap().unwrap();
    let after = analysis(&f).await;
    assert!(after.findings.iter().all(|x| x.kind != yiwang_catalog::FindingKind::NoGrant), "{after:?}");
    assert_eq!(after.exempt, before.exempt + 1);

    let case = open(&f, &item).await;
    let no = case["case_no"].as_str().unwrap().to_string();
    let shared = &case["shared"][0];
    assert_eq!((shared["material"].as_str(), shared["grant"].as_str()), (Some(MATERIAL), Some(grant.id.as_str())), "{case:#}");
    assert_eq!(shared["data"], json!({ "name": "张三", "birth_date": "1990-01-01" }), "only what the grant allows");
    assert!(shared.get("unavailable").is_none());
    // Nothing to upload for it now; the page says where it came from.
    let (status, v) = f.upload(P::Citizen, format!("/api/v1/cases/{no}/materials"), MATERIAL, "户籍证明.pdf", PDF).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("case.shared_provided")), "{v:#}");
    let (_, page) = f.page(P::Citizen, format!("/me/cases/{no}"), None).await;
    assert!(page.contains("数据共享免提交") && page.contains("宁波市市场监督管理局提供") && page.contains("1990-01-01"), "{page}");
    // The person sees the access to their own data, with the case.
    let logged = f.store.data_accesses_of(&sm3, 10).await.unwrap();
    let allowed = logged.iter().find(|a| a.outcome == "allowed").expect("the allowed read is logged");
    assert_eq!((allowed.issue.as_deref(), allowed.purpose.as_str()), (Some(no.as_str()), item.as_str()));
    let (_, mine) = f.page(P::Citizen, "/me/data-accesses".into(), None).await;
    assert!(mine.contains(RESOURCE) || mine.contains("人口基本信息"), "{mine}");

    // Handed in with the ID card uploaded: the shared material needs nothing more.
    let (status, v) = f.upload(P::Citizen, format!("/api/v1/cases/{no}/materials"), "居民身份证", "身份证.pdf", PDF).await;
    assert_eq!(status, 201, "{v:#}");
    let (status, v) = f.json(P::Citizen, "POST", format!("/api/v1/cases/{no}/submit"), json!({})).await;
    assert_eq!(status, 200, "{v:#}");

    // The reviewer sees what came and from where, and fetches again; a supervisor may not.
    let (status, page) = f.page(P::Reviewer, format!("/console/cases/{no}"), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("共享数据（免提交）") && page.contains(&grant.id) && page.contains("本节点直接读取"), "{page}");
    assert!(page.contains("重新调取共享数据"));
    let (status, _) = f.json(P::Supervisor, "POST", format!("/api/v1/cases/{no}/shared-data"), json!({})).await;
    assert_eq!(status, 403);
    assert!(f.store.revoke_grant(&grant.id, "t", jiff::Timestamp::now()).await.unwrap());
    let (status, v) = f.json(P::Reviewer, "POST", format!("/api/v1/cases/{no}/shared-data"), json!({})).await;
    assert_eq!((status, v["recorded"].as_u64()), (200, Some(1)), "{v:#}");
    assert_eq!(v["shared"][0]["grant"], grant.id.as_str(), "what came stays: a revoked grant does not undo it");
    let events = f.store.case_events(&no).await.unwrap();
    assert!(matches!(
        &events.last().unwrap().event,
        yiwang_case::Event::SharedDataFetched { unavailable: Some(u), .. } if u == "access_denied"
    ));
    let (_, page) = f.page(P::Reviewer, format!("/console/cases/{no}"), None).await;
    assert!(page.contains("数据共享未能获取：户籍信息（数据提供部门未授权本次调取）"), "the timeline says so");
    // The page form as well.
    let (status, _) = f.page(P::Reviewer, format!("/console/cases/{no}/shared-data"), Some(vec![])).await;
    assert_eq!(status, 303);
}
on_both!(shared_materials_are_fetched_under_a_grant);
