//! Case persistence on both backends: a case moves through its lifecycle with
//! each event written beside its state; a refused or stale event writes
//! nothing; the due dates are stored for lists and supervision; the public
//! progress query needs the 查询码.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use yiwang_case::{Decision, Envelope, Event, SpecialKind, State};
use yiwang_store::{Applicant, CaseStoreError, NewCase, QueryCodeMatch, Store};
use yiwang_testkit::both_backends;
use yiwang_testkit::licenses::{issuer, publish_food_item, seed_issuer};

async fn published_item(store: &Store) -> String {
    seed_issuer(store, jiff::Timestamp::now()).await;
    publish_food_item(store, false).await.implementation_code
}

fn at(day: &str, actor: &str, reason: &str, event: Event) -> Envelope {
    Envelope { at: format!("{day}T02:00:00Z").parse().unwrap(), actor: actor.into(), reason: reason.into(), event }
}

both_backends!(a_case_moves_through_its_lifecycle_event_by_event, |db| {
    let item = published_item(&db.store).await;
    let calendar = yiwang_calendar::Calendar::bundled().unwrap();
    let new = NewCase {
        item_code: item.clone(),
        applicant: Applicant { id_type: "111".into(), id: "33010619900101123X".into(), name: "张三".into() },
        account_id: "acc_1".into(),
        form: serde_json::json!({ "shop_name": "一网小馆" }),
    };
    let (draft, code) = db.store.create_case(&new, "2025-09-22T02:00:00Z".parse().unwrap()).await.unwrap();
    assert_eq!((draft.state, draft.version, draft.item_code.as_str()), (State::Draft, 0, item.as_str()));
    assert!(draft.case_no.starts_with(&format!("{}20250922", issuer())), "{}", draft.case_no);
    assert_eq!(code.len(), 8);
    let (second, _) = db.store.create_case(&new, "2025-09-22T03:00:00Z".parse().unwrap()).await.unwrap();
    assert_ne!(second.case_no, draft.case_no, "one number per case");

    let no = draft.case_no.clone();
    let steps = [
        at("2025-09-22", "acc_1", "", Event::Submitted),
        at("2025-09-23", "clerk", "", Event::CorrectionNotified { items: vec!["场所平面图".into()] }),
        at("2025-09-24", "acc_1", "", Event::CorrectionSubmitted),
        at("2025-09-26", "clerk", "", Event::Accepted { promised_days: 10, legal_days: 20, pending: vec![] }),
        at("2025-09-29", "reviewer", "", Event::StepStarted { step: "审查".into() }),
        at(
            "2025-10-09",
            "reviewer",
            "需现场核查",
            Event::SpecialStarted { kind: SpecialKind::Other, name: "现场核查".into(), extension_days: 0 },
        ),
        at("2025-10-14", "reviewer", "", Event::SpecialEnded { result: "与申报一致".into() }),
    ];
    for (i, e) in steps.iter().enumerate() {
        let row = db.store.record_case_event(&no, e, Some(i as i64), &calendar).await.unwrap();
        assert_eq!(row.version, i as i64 + 1);
    }
    let row = db.store.case(&no).await.unwrap();
    assert_eq!(row.state, State::InProcess);
    // The stored due dates count the stopped days out (domain.md §7.5 calendar).
    assert_eq!((row.promised_due.as_deref(), row.legal_due.as_deref()), (Some("2025-10-23"), Some("2025-11-06")));

    // A refused event (a second notice after acceptance) and a stale writer change nothing.
    let refused = db
        .store
        .record_case_event(&no, &at("2025-10-15", "clerk", "", Event::CorrectionNotified { items: vec!["x".into()] }), None, &calendar)
        .await;
    assert!(matches!(refused, Err(CaseStoreError::Case(yiwang_case::CaseError::Transition { .. }))), "{refused:?}");
    let stale = db
        .store
        .record_case_event(&no, &at("2025-10-15", "reviewer", "", Event::StepPassed { step: "审查".into() }), Some(3), &calendar)
        .await;
    assert!(matches!(stale, Err(CaseStoreError::Stale { actual: 7, .. })), "{stale:?}");
    assert_eq!(db.store.case(&no).await.unwrap().version, 7);
    assert_eq!(db.store.case_events(&no).await.unwrap().len(), 7);

    for e in [
        at("2025-10-15", "reviewer", "符合条件", Event::StepPassed { step: "审查".into() }),
        at("2025-10-16", "head", "", Event::Decided { decision: Decision::Approve }),
        at("2025-10-16", "head", "", Event::Concluded { result: "准予许可".into() }),
    ] {
        db.store.record_case_event(&no, &e, None, &calendar).await.unwrap();
    }
    let events = db.store.case_events(&no).await.unwrap();
    assert_eq!(events.len(), 10);
    assert_eq!(events[5].reason, "需现场核查");
    let replayed = yiwang_case::Case::replay(&events).unwrap();
    let row = db.store.case(&no).await.unwrap();
    assert_eq!((row.state, replayed), (State::Concluded, row.case.clone()), "the stored state is the fold of the stored events");

    // The applicant's list, and the public query (only with the right code).
    let mine = db.store.cases_of("111", "33010619900101123X", 10).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].case_no, no, "most recently changed first");
    let wrong = db.store.case_by_query_code(&no, "00000000").await.unwrap();
    assert!(matches!(wrong, QueryCodeMatch::WrongCode) || code == "00000000", "{wrong:?}");
    assert!(matches!(db.store.case_by_query_code("none", &code).await.unwrap(), QueryCodeMatch::UnknownCase));
    let QueryCodeMatch::Case(public) = db.store.case_by_query_code(&no, &code).await.unwrap() else { panic!("the right code") };
    let shown = yiwang_store::public_progress(&public);
    assert_eq!(shown["state_zh"], "已办结");
    assert!(!shown.to_string().contains("张三") && !shown.to_string().contains("33010619900101123X"));
    assert!(matches!(
        db.store.create_case(&NewCase { item_code: "none".into(), ..new }, jiff::Timestamp::now()).await,
        Err(CaseStoreError::NoItem(_))
    ));
});

// 免提交: at application, a material the item accepts as an e-license is
// attached by reference when the applicant holds a valid license of that type.
both_backends!(an_application_attaches_the_licenses_the_applicant_holds, |db| {
    let now = jiff::Timestamp::now();
    seed_issuer(&db.store, now).await;
    let doc = publish_food_item(&db.store, true).await;
    let restaurant = yiwang_testkit::licenses::restaurant();
    let held = db
        .store
        .issue_license(
            &yiwang_testkit::licenses::new_license("JY13301020000041", restaurant.clone()),
            &yiwang_crypto::seal::MasterKey::generate(),
            "staff:1",
            now,
        )
        .await
        .unwrap();
    let apply = |id: &str, name: &str| NewCase {
        item_code: doc.implementation_code.clone(),
        applicant: Applicant { id_type: "049".into(), id: id.into(), name: name.into() },
        account_id: "acc_1".into(),
        form: serde_json::json!({}),
    };
    let (case, _) = db.store.create_case(&apply(&restaurant.id, &restaurant.name), now).await.unwrap();
    assert_eq!(case.materials.len(), 1, "{:?}", case.materials);
    assert_eq!((case.materials[0].material.as_str(), case.materials[0].license_id.as_str()), ("原食品经营许可证", held.id.as_str()));
    assert_eq!(db.store.case(&case.case_no).await.unwrap().materials, case.materials);
    let (other, _) = db.store.create_case(&apply("91330106MA2H0001XX", "别家"), now).await.unwrap();
    assert!(other.materials.is_empty());
});
