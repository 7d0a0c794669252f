//! The e-license library on both backends: issue with a sealed record whose
//! identifier carries the MOD 37,36 check, new versions linking the previous,
//! status changes, seal-key rotation keeping old licenses verifiable, and a
//! master key that does not match refusing to seal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use yiwang_crypto::seal::MasterKey;
use yiwang_store::{LicenseStatus, LicenseStoreError, NewLicense, Store, StoreError};
use yiwang_testkit::both_backends;
use yiwang_testkit::licenses::{self, issuer, restaurant, seed_issuer, type_code};

fn now() -> jiff::Timestamp {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

async fn setup(store: &Store) {
    seed_issuer(store, now()).await;
}

fn new_license(number: &str) -> NewLicense {
    NewLicense {
        valid_from: "2026-11-23".parse().unwrap(),
        valid_until: Some("2031-11-22".parse().unwrap()),
        data: json!({ "business_form": "餐饮服务经营者", "items": ["热食类食品制售"] }),
        ..licenses::new_license(number, restaurant())
    }
}

both_backends!(licenses_are_issued_sealed_versioned_and_revoked, |db| {
    setup(&db.store).await;
    let master = MasterKey::generate();
    let first = db.store.issue_license(&new_license("JY13301020000001"), &master, "staff:1", now()).await.unwrap();
    assert_eq!(first.version, 1);
    assert!(first.id.starts_with(&format!("1.2.156.3005.2.{}.{}.JY13301020000001.001.", type_code(), issuer())), "{}", first.id);
    yiwang_codes::license::LicenseId::parse(&first.id).unwrap();
    let keys = db.store.seal_keys().await.unwrap();
    assert_eq!(keys.len(), 1, "the issuer's key is created on first use");
    yiwang_license::verify_sealed(&first.sealed, &keys[0].public_key).unwrap();
    assert_eq!(first.sealed.record["holder"]["name"], "张三餐饮店");

    // A change mints version 2, linked to version 1, which is superseded.
    let second = db.store.issue_license(&new_license("JY13301020000001"), &master, "staff:1", now()).await.unwrap();
    assert_eq!((second.version, second.previous_id.as_deref()), (2, Some(first.id.as_str())));
    assert_eq!(db.store.license(&first.id).await.unwrap().status, LicenseStatus::Superseded);
    // A number with Chinese characters gets a derived identifier segment.
    let other = db.store.issue_license(&new_license("浙A042012000939"), &master, "staff:1", now()).await.unwrap();
    yiwang_codes::license::LicenseId::parse(&other.id).unwrap();
    assert_eq!(db.store.licenses_of("049", "92330102MA2H3XYW0E").await.unwrap().len(), 3);

    // Rotation: new licenses use the new key; the old ones still verify with theirs.
    let rotated = db.store.rotate_seal_key(&issuer(), &master, "admin", now()).await.unwrap();
    let third = db.store.issue_license(&new_license("JY13301020000002"), &master, "staff:1", now()).await.unwrap();
    assert_eq!(third.key_id, rotated.key_id);
    let old_key = db.store.seal_key(&second.key_id).await.unwrap();
    assert!(old_key.retired_at.is_some());
    yiwang_license::verify_sealed(&second.sealed, &old_key.public_key).unwrap();
    yiwang_license::verify_sealed(&third.sealed, &rotated.public_key).unwrap();

    // Suspend, resume, revoke; revoked is final; a reason is required.
    let s = db.store.set_license_status(&second.id, LicenseStatus::Suspended, "整改期间", "staff:1", now()).await.unwrap();
    assert_eq!(s.status, LicenseStatus::Suspended);
    db.store.set_license_status(&second.id, LicenseStatus::Valid, "整改完成", "staff:1", now()).await.unwrap();
    let r = db.store.set_license_status(&second.id, LicenseStatus::Revoked, "依法吊销", "staff:1", now()).await.unwrap();
    assert_eq!((r.status, r.status_reason.as_deref()), (LicenseStatus::Revoked, Some("依法吊销")));
    assert!(matches!(
        db.store.set_license_status(&second.id, LicenseStatus::Valid, "误操作", "staff:1", now()).await,
        Err(LicenseStoreError::Store(StoreError::Conflict(_)))
    ));
    assert!(matches!(
        db.store.set_license_status(&third.id, LicenseStatus::Revoked, " ", "staff:1", now()).await,
        Err(LicenseStoreError::Invalid { field: "reason", .. })
    ));

    // Every agency read is logged with its reason, for the holder to see.
    let used =
        db.store.use_license(&third.id, &issuer(), "staff:2", "办理食品经营许可变更", Some("330100-2026-000001"), now()).await.unwrap();
    assert_eq!(used.id, third.id);
    assert!(matches!(
        db.store.use_license(&third.id, &issuer(), "staff:2", " ", None, now()).await,
        Err(LicenseStoreError::Invalid { field: "reason", .. })
    ));
    let uses = db.store.license_uses(&third.id).await.unwrap();
    assert_eq!(uses.len(), 1, "a refused read is not a use");
    assert_eq!(
        (uses[0].reason.as_str(), uses[0].agency_name.as_deref(), uses[0].case_no.as_deref()),
        ("办理食品经营许可变更", Some("杭州市市场监督管理局"), Some("330100-2026-000001"))
    );

    // Bad input changes nothing.
    let mut bad = new_license("JY1");
    bad.type_code = format!("{}999", issuer());
    assert!(matches!(
        db.store.issue_license(&bad, &master, "staff:1", now()).await,
        Err(LicenseStoreError::Invalid { field: "type_code", .. })
    ));
    let mut bad = new_license("JY1");
    bad.data = json!({ "amount": 1.5 });
    assert!(matches!(db.store.issue_license(&bad, &master, "staff:1", now()).await, Err(LicenseStoreError::License(_))));
    // A node started with another master key cannot seal with the stored keys.
    let wrong = MasterKey::generate();
    assert!(matches!(db.store.issue_license(&new_license("JY2"), &wrong, "staff:1", now()).await, Err(LicenseStoreError::Seal(_))));
    assert_eq!(db.store.licenses_of("049", "92330102MA2H3XYW0E").await.unwrap().len(), 4);
});

both_backends!(concurrent_issues_of_one_number_yield_versions_or_conflicts, |db| {
    setup(&db.store).await;
    let master = std::sync::Arc::new(MasterKey::generate());
    db.store.issue_license(&new_license("JY13301020000007"), &master, "staff:1", now()).await.unwrap();
    // Six issuers race on the same number, each with its own pool as separate processes would.
    let mut racers = Vec::new();
    for _ in 0..6 {
        let (url, master) = (db.url.clone(), master.clone());
        racers.push(tokio::spawn(async move {
            let store = Store::open(&url, &yiwang_store::StoreOptions::default(), now()).await.unwrap();
            let r = store.issue_license(&new_license("JY13301020000007"), &master, "staff:1", now()).await;
            store.close().await;
            r.map(|l| l.version)
        }));
    }
    let mut versions = Vec::new();
    for r in racers {
        match r.await.unwrap() {
            Ok(v) => versions.push(v),
            Err(LicenseStoreError::Store(StoreError::Conflict(_))) => {}
            Err(e) => panic!("a race must end in a version or a conflict, not {e:?}"),
        }
    }
    versions.sort_unstable();
    versions.dedup();
    assert!(!versions.is_empty());
    // Exactly one valid version remains; the rest are superseded.
    let all = db.store.licenses_of("049", "92330102MA2H3XYW0E").await.unwrap();
    assert_eq!(
        all.iter().filter(|l| l.status == LicenseStatus::Valid).count(),
        1,
        "{:?}",
        all.iter().map(|l| (l.version, l.status)).collect::<Vec<_>>()
    );
});

// At application, an item's materials that a license type satisfies are
// matched to the applicant's current licenses (attached by reference, not
// uploaded); another holder's, a revoked or an expired license does not count.
both_backends!(an_items_license_materials_are_matched_to_the_holders_licenses, |db| {
    setup(&db.store).await;
    let doc = licenses::publish_food_item(&db.store, true).await;
    let master = MasterKey::generate();
    let held = db.store.issue_license(&new_license("JY13301020000031"), &master, "staff:1", now()).await.unwrap();
    let today = jiff::civil::date(2026, 12, 1);
    let code = doc.implementation_code.clone();

    let found = db.store.license_materials(&code, ("049", &restaurant().id), today).await.unwrap();
    let ours: Vec<_> = found.iter().filter(|m| m.license_type == type_code()).collect();
    assert_eq!(ours.len(), 1, "{found:?}");
    assert_eq!((ours[0].material.as_str(), ours[0].license.as_ref().map(|l| l.id.as_str())), ("原食品经营许可证", Some(held.id.as_str())));
    let others = db.store.license_materials(&code, ("049", "91330106MA2H0001XX"), today).await.unwrap();
    assert!(others.iter().all(|m| m.license.is_none()), "{others:?}");
    // Past its validity (2031-11-22) it no longer counts.
    let later = db.store.license_materials(&code, ("049", &restaurant().id), jiff::civil::date(2032, 1, 1)).await.unwrap();
    assert!(later.iter().all(|m| m.license.is_none()));
    db.store.set_license_status(&held.id, LicenseStatus::Revoked, "依法吊销", "staff:1", now()).await.unwrap();
    let revoked = db.store.license_materials(&code, ("049", &restaurant().id), today).await.unwrap();
    assert!(revoked.iter().all(|m| m.license.is_none()));
    assert!(matches!(db.store.license_materials("none", ("049", "x"), today).await, Err(StoreError::NotFound(_))));
});
