//! Catalog storage on both backends: the version lifecycle, publishing racing
//! reviewers, old versions staying readable, imports, and the audit trail.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use yiwang_catalog::code_lists::{ResultType, ServiceObject};
use yiwang_catalog::samples::{Place, Spec, Src, build};
use yiwang_catalog::{AgencyRef, ItemDoc, ItemStatus, TaskType, VersionState};
use yiwang_codes::UseLevel;
use yiwang_store::{Agency, ImportOutcome, ItemFilter, StoreError};
use yiwang_testkit::{TestDb, both_backends};

const SPEC: Spec = Spec {
    basic_code: "000104002000",
    name: "食品经营许可",
    aliases: &["餐饮许可"],
    task_type: TaskType::License,
    objects: &[ServiceObject::EnterpriseLegalPerson],
    themes: &["餐饮"],
    by_law: "《中华人民共和国食品安全法》第三十五条",
    conditions: "具有与经营的食品品种、数量相适应的经营场所",
    materials: &[("食品经营许可申请书", Src::Applicant), ("营业执照", Src::License("LT-BL"))],
    legal_days: 20,
    promised_days: 5,
    visits: 0,
    fully_online: true,
    fee: None,
    result: ("食品经营许可证", ResultType::License, None),
};

async fn agency(db: &TestDb) -> AgencyRef {
    let uscc = valid_uscc();
    let a = Agency {
        uscc: uscc.clone(), name: "杭州市市场监督管理局".into(), division_code: "330100".into(), level: "municipal".into()
    };
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert_agency(&a, "t", Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    AgencyRef { uscc, name: a.name, division_code: a.division_code }
}

fn valid_uscc() -> String {
    let org = "00250003";
    let org_check = yiwang_codes::org_code_check_char(org).unwrap();
    let body = format!("11330100{org}{org_check}");
    format!("{body}{}", yiwang_codes::uscc_check_char(&body).unwrap())
}

async fn sample(db: &TestDb) -> ItemDoc {
    let a = agency(db).await;
    build(&SPEC, &Place { agency: a, level: UseLevel::Municipal, hall: "杭州市民中心".into(), phone: "0571-12345".into() }, &|k| {
        k.to_string()
    })
    .unwrap()
}

both_backends!(versions_move_draft_submitted_published_and_stay_readable, |db| {
    let doc = sample(db).await;
    assert!(yiwang_catalog::publishable(&doc).is_empty(), "{:?}", yiwang_catalog::publishable(&doc));
    let code = doc.implementation_code.clone();
    let now = Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    tx.create_item(&doc, "editor", now).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    assert!(matches!(tx.create_item(&doc, "editor", now).await, Err(StoreError::Conflict(_))));
    tx.rollback().await.unwrap();

    let mut tx = db.store.begin().await.unwrap();
    tx.move_version(&code, 1, (VersionState::Draft, VersionState::Submitted), "editor", None, now).await.unwrap();
    tx.move_version(&code, 1, (VersionState::Submitted, VersionState::Published), "reviewer", Some("同意"), now).await.unwrap();
    tx.commit().await.unwrap();
    let gen1 = db.store.catalog_generation().await.unwrap();
    assert!(gen1 >= 1);

    // A change opens version 2 as a draft; version 1 stays published meanwhile.
    let mut changed = doc.clone();
    changed.promised_limit.amount = 3;
    let head = db.store.item_head(&code).await.unwrap().unwrap();
    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(tx.save_draft(&head, &changed, "editor", now).await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(db.store.published_item(&code).await.unwrap().unwrap().version, 1);
    let mut tx = db.store.begin().await.unwrap();
    tx.move_version(&code, 2, (VersionState::Draft, VersionState::Submitted), "editor", None, now).await.unwrap();
    tx.move_version(&code, 2, (VersionState::Submitted, VersionState::Published), "reviewer", None, now).await.unwrap();
    tx.commit().await.unwrap();

    let published = db.store.published_item(&code).await.unwrap().unwrap();
    assert_eq!((published.version, published.doc.promised_limit.amount), (2, 3));
    let v1 = db.store.item_version(&code, 1).await.unwrap().unwrap();
    assert_eq!((v1.meta.state, v1.doc.promised_limit.amount), (VersionState::Superseded, 5));
    let versions = db.store.item_versions(&code).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(versions[0].reviewed_by.as_deref(), Some("reviewer"));
    assert!(db.store.catalog_generation().await.unwrap() > gen1);

    // Suspend and cancel: cancelled items leave the published list but stay readable.
    let mut tx = db.store.begin().await.unwrap();
    tx.set_item_status(&code, ItemStatus::Active, ItemStatus::Suspended, "reviewer", "政策调整", now).await.unwrap();
    assert!(matches!(
        tx.set_item_status(&code, ItemStatus::Active, ItemStatus::Cancelled, "reviewer", "x", now).await,
        Err(StoreError::Conflict(_))
    ));
    tx.commit().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    tx.set_item_status(&code, ItemStatus::Suspended, ItemStatus::Cancelled, "reviewer", "事项取消", now).await.unwrap();
    tx.commit().await.unwrap();
    assert!(db.store.published_items().await.unwrap().is_empty());
    assert!(db.store.item_version(&code, 2).await.unwrap().is_some());

    // Every step is in the audit chain, which verifies.
    let report = db.store.audit_verify().await.unwrap();
    assert!(matches!(report, yiwang_store::AuditReport::Intact { .. }), "{report:?}");
    let page = db.store.audit_page(0, 100).await.unwrap();
    let actions: Vec<&str> = page.entries.iter().filter(|e| e.record.object_id == code).map(|e| e.record.action.as_str()).collect();
    for a in [
        "catalog.item.created",
        "catalog.item.submitted",
        "catalog.item.published",
        "catalog.item.draft_saved",
        "catalog.item.suspended",
        "catalog.item.cancelled",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
});

both_backends!(two_reviewers_racing_publish_once, |db| {
    let doc = sample(db).await;
    let code = doc.implementation_code.clone();
    let now = Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    tx.create_item(&doc, "editor", now).await.unwrap();
    tx.move_version(&code, 1, (VersionState::Draft, VersionState::Submitted), "editor", None, now).await.unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = db.store.clone();
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            match tx
                .move_version(&code, 1, (VersionState::Submitted, VersionState::Published), &format!("r{i}"), None, Timestamp::now())
                .await
            {
                Ok(()) => {
                    tx.commit().await.unwrap();
                    true
                }
                Err(StoreError::Conflict(_)) => false,
                Err(e) => panic!("{e}"),
            }
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap() as usize;
    }
    assert_eq!(wins, 1);
});

both_backends!(imports_create_update_or_leave_unchanged, |db| {
    let doc = sample(db).await;
    let now = Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(tx.import_item(&doc, true, "import", now).await.unwrap(), ImportOutcome::Created);
    tx.commit().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(tx.import_item(&doc, true, "import", now).await.unwrap(), ImportOutcome::Unchanged);
    let mut changed = doc.clone();
    changed.hours = "全天".into();
    assert_eq!(tx.import_item(&changed, true, "import", now).await.unwrap(), ImportOutcome::Updated);
    tx.commit().await.unwrap();
    let p = db.store.published_item(&doc.implementation_code).await.unwrap().unwrap();
    assert_eq!((p.version, p.doc.hours.as_str()), (2, "全天"));
    let (list, total) =
        db.store.list_items(&ItemFilter { agencies: Some(vec![doc.agency.uscc.clone()]), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!((list.len(), total), (1, 1));
    let (_, none) =
        db.store.list_items(&ItemFilter { agencies: Some(vec!["other".into()]), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(none, 0);
});
