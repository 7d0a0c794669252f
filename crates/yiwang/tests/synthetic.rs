//! `yiwang synthetic` fills a node with base data and cases in realistic
//! states, on both backends: the numbers add up, every state of a real hall
//! is there with its due dates, lists and counts see the cases, the
//! applicants are in the base data, and new applications still work.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use yiwang_case::State;
use yiwang_testkit::both_backends;
use yiwang_testkit::licenses::{issuer, publish_food_item, restaurant, seed_issuer};

both_backends!(synthetic_data_fills_a_node_in_realistic_states, |db| {
    let now = jiff::Timestamp::now();
    seed_issuer(&db.store, now).await;
    let item = publish_food_item(&db.store, false).await;
    let out = Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .args(["--database-url", &db.url, "synthetic", "--citizens", "40", "--enterprises", "30", "--cases", "900"])
        .env_remove("YIWANG_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let filled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(filled["cases"], 900);
    assert_eq!(filled["states"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>(), 900);
    for state in [
        "draft",
        "submitted",
        "correction_notice",
        "not_accepted",
        "withdrawn",
        "accepted",
        "in_process",
        "special_procedure",
        "concluded",
        "delivered",
    ] {
        assert!(filled["states"][state].as_u64().unwrap_or(0) > 0, "no {state} case: {filled}");
    }
    let agency = issuer();
    assert_eq!(db.store.count_agency_cases(&[agency.as_str()], None).await.unwrap(), 900);
    let open = db.store.count_agency_cases(&[agency.as_str()], Some(State::InProcess)).await.unwrap();
    assert!(open > 0);
    let page = db.store.agency_cases(&[agency.as_str()], Some(State::InProcess), None, 10).await.unwrap();
    assert!(page.iter().all(|c| c.promised_due.is_some() && c.legal_due.is_some() && c.case.accepted_on.is_some()), "{page:?}");
    assert!(page.windows(2).all(|w| w[0].updated_at >= w[1].updated_at), "newest first");
    // The applicants are in the base data: a case's applicant is found there.
    let applicant = &page[0].applicant;
    if applicant.id_type == "049" {
        assert!(db.store.base_enterprise(&applicant.id).await.unwrap().is_some(), "{applicant:?}");
    } else {
        assert!(db.store.base_person(&applicant.id).await.unwrap().is_some(), "{applicant:?}");
    }

    // The node takes new applications after the load.
    let shop = restaurant();
    let new = yiwang_store::NewCase {
        item_code: item.implementation_code.clone(),
        applicant: yiwang_store::Applicant { id_type: "049".into(), id: shop.id, name: shop.name },
        account_id: "acc_1".into(),
        form: serde_json::json!({}),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L2,
        assured: true,
    };
    for _ in 0..3 {
        db.store.create_case(&new, now).await.unwrap();
    }
    assert_eq!(db.store.count_agency_cases(&[agency.as_str()], None).await.unwrap(), 903);
});
