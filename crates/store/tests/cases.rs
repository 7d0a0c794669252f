//! Case persistence on both backends: a case moves through its lifecycle with
//! each event written beside its state; a refused or stale event writes
//! nothing; the due dates are stored for lists and supervision; the public
//! progress query needs the 查询码.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use yiwang_case::{Decision, Envelope, Event, SpecialKind, State};
use yiwang_store::{Applicant, CaseStoreError, NewCase, QueryCodeMatch, Store};
use yiwang_testkit::both_backends;
use yiwang_testkit::licenses::{issuer, publish_food_item, seed_issuer};

async fn published_item(store: &Store) -> String {
    seed_issuer(store, jiff::Timestamp::now()).await;
    publish_food_item(store, false).await.implementation_code
}

/// A complete 食品经营许可 form (the bound fields come from held data).
fn valid_form() -> serde_json::Value {
    serde_json::json!({
        "applicant_name": "张三餐饮店", "contact_name": "张三", "contact_phone": "13800138000",
        "premises": "杭州市西湖区文三路1号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    })
}

/// The demo restaurant's application for `item`, opened by `acc_1`.
fn restaurant_application(item: &str) -> NewCase {
    let shop = yiwang_testkit::licenses::restaurant();
    NewCase {
        item_code: item.to_string(),
        applicant: Applicant { id_type: "049".into(), id: shop.id.clone(), name: shop.name.clone() },
        account_id: "acc_1".into(),
        form: valid_form(),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L2,
        assured: true,
    }
}

fn at(day: &str, actor: &str, reason: &str, event: Event) -> Envelope {
    Envelope { at: format!("{day}T02:00:00Z").parse().unwrap(), actor: actor.into(), reason: reason.into(), event }
}

both_backends!(a_case_moves_through_its_lifecycle_event_by_event, |db| {
    let item = published_item(&db.store).await;
    let calendar = yiwang_calendar::Calendar::bundled().unwrap();
    let shop = yiwang_testkit::licenses::restaurant();
    let new = restaurant_application(&item);
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
        at(
            "2025-09-26",
            "clerk",
            "",
            Event::Accepted { promised_days: 10, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
        ),
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
        .record_case_event(
            &no,
            &at("2025-10-15", "reviewer", "", Event::StepPassed { step: "审查".into(), data: Default::default() }),
            Some(3),
            &calendar,
        )
        .await;
    assert!(matches!(stale, Err(CaseStoreError::Stale { actual: 7, .. })), "{stale:?}");
    assert_eq!(db.store.case(&no).await.unwrap().version, 7);
    assert_eq!(db.store.case_events(&no).await.unwrap().len(), 7);

    for e in [
        at("2025-10-15", "reviewer", "符合条件", Event::StepPassed { step: "审查".into(), data: Default::default() }),
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

    // The department's totals follow every state change (kept by triggers, not counted).
    let agency = issuer();
    let count = |state: Option<State>| {
        let (store, agency) = (db.store.clone(), agency.clone());
        async move { store.count_agency_cases(&[agency.as_str()], state).await.unwrap() }
    };
    assert_eq!((count(None).await, count(Some(State::Concluded)).await, count(Some(State::Draft)).await), (2, 1, 1));
    assert_eq!((count(Some(State::InProcess)).await, count(Some(State::Submitted)).await), (0, 0));

    // The applicant's list, and the public query (only with the right code).
    let mine = db.store.cases_of("049", &shop.id, None, 10).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!((mine[0].case_no.as_str(), mine[1].case_no.as_str()), (second.case_no.as_str(), no.as_str()), "newest application first");
    let wrong = db.store.case_by_query_code(&no, "00000000").await.unwrap();
    assert!(matches!(wrong, QueryCodeMatch::WrongCode) || code == "00000000", "{wrong:?}");
    assert!(matches!(db.store.case_by_query_code("none", &code).await.unwrap(), QueryCodeMatch::UnknownCase));
    let QueryCodeMatch::Case(public) = db.store.case_by_query_code(&no, &code).await.unwrap() else { panic!("the right code") };
    let shown = yiwang_store::public_progress(&public);
    assert_eq!(shown["state_zh"], "已办结");
    assert!(!shown.to_string().contains("张三") && !shown.to_string().contains(&shop.id));
    assert!(matches!(
        db.store.create_case(&NewCase { item_code: "none".into(), ..new }, jiff::Timestamp::now()).await,
        Err(CaseStoreError::NoItem(_))
    ));
});

// Events recorded at once on one case each apply to the state the others
// left. Whatever order the writers take, the stored state is the fold of the
// stored events, and the process is where those events put it.
both_backends!(concurrent_events_on_one_case_each_apply_to_the_latest_state, |db| {
    let item = published_item(&db.store).await;
    let calendar = std::sync::Arc::new(yiwang_calendar::Calendar::bundled().unwrap());
    for round in 0..4 {
        let (draft, _) = db.store.create_case(&restaurant_application(&item), "2025-09-22T02:00:00Z".parse().unwrap()).await.unwrap();
        let no = draft.case_no.clone();
        let accepted =
            Event::Accepted { promised_days: 10, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
        for e in [Event::Submitted, accepted, Event::StepStarted { step: "审查".into() }] {
            db.store.record_case_event(&no, &at("2025-09-22", "clerk", "", e), None, &calendar).await.unwrap();
        }
        // Twelve claims by one clerk (the case only), a pass of 审查 and a
        // special procedure (both move the process; whichever comes second may
        // be refused).
        let mut events: Vec<Envelope> = (0..12).map(|_| at("2025-09-23", "clerk", "", Event::Claimed)).collect();
        events.insert(5, at("2025-09-23", "clerk", "符合", Event::StepPassed { step: "审查".into(), data: Default::default() }));
        events.insert(
            if round % 2 == 0 { 2 } else { 9 },
            at(
                "2025-09-23",
                "clerk",
                "现场核查",
                Event::SpecialStarted { kind: SpecialKind::Other, name: "现场核查".into(), extension_days: 0 },
            ),
        );
        let writers = events.into_iter().map(|e| {
            let (store, calendar, no) = (db.store.clone(), calendar.clone(), no.clone());
            tokio::spawn(async move { (e.event.name(), store.record_case_event(&no, &e, None, &calendar).await.map(|r| r.version)) })
        });
        let mut versions = Vec::new();
        let mut refused = Vec::new();
        for w in writers {
            match w.await.unwrap() {
                (_, Ok(v)) => versions.push(v),
                (name, Err(e)) => refused.push((name, e.to_string())),
            }
        }
        // Only one of the two process events can be refused, and only as out of order.
        assert!(refused.len() <= 1, "{refused:?}");
        assert!(refused.iter().all(|(name, _)| *name == "step_passed" || *name == "special_started"), "{refused:?}");
        versions.sort();
        assert_eq!(versions, (4..4 + versions.len() as i64).collect::<Vec<_>>(), "each write saw the one before it");
        let stored = db.store.case_events(&no).await.unwrap();
        assert_eq!(stored.len(), 3 + versions.len());
        let row = db.store.case(&no).await.unwrap();
        assert_eq!(row.version, stored.len() as i64);
        assert_eq!(yiwang_case::Case::replay(&stored).unwrap(), row.case, "the stored state is the fold of the stored events");
        let passed = stored.iter().any(|e| matches!(e.event, Event::StepPassed { .. }));
        let open: Vec<String> = db.store.case_process(&row).await.unwrap().unwrap().open.iter().map(|s| s.step.name.clone()).collect();
        assert_eq!(open, [if passed { "决定" } else { "审查" }], "the process follows the events that were written");
    }
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
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L2,
        assured: true,
    };
    let (case, _) = db.store.create_case(&apply(&restaurant.id, &restaurant.name), now).await.unwrap();
    assert_eq!(case.materials.len(), 1, "{:?}", case.materials);
    assert_eq!((case.materials[0].material.as_str(), case.materials[0].license_id.as_str()), ("原食品经营许可证", held.id.as_str()));
    assert_eq!(db.store.case(&case.case_no).await.unwrap().materials, case.materials);
    let (other, _) = db.store.create_case(&apply("91330106MA2H00014Q", "别家"), now).await.unwrap();
    assert!(other.materials.is_empty());
});

/// A tiny valid PDF and PNG, as a scanner or phone would send them.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

// The e-form and the materials: held data fills and locks bound fields; bad
// values and wrong applicant kinds are refused with every problem and write
// nothing; uploads are judged by content and stored once per content;
// 告知承诺 only where the item allows it; submission needs a complete form
// and every required material; acceptance opens the commitment's
// verification task and a finding closes it.
both_backends!(forms_materials_and_commitments, |db| {
    let now = jiff::Timestamp::now();
    let item = published_item(&db.store).await;
    let calendar = yiwang_calendar::Calendar::bundled().unwrap();
    let shop = yiwang_testkit::licenses::restaurant();
    let mut tx = db.store.begin().await.unwrap();
    let base = yiwang_store::BaseEnterprise {
        uscc: shop.id.clone(),
        name: "张三餐饮店（登记名）".into(),
        legal_rep_name: "张三".into(),
        legal_rep_id: "33010619900101123X".into(),
        registration_status: "active".into(),
    };
    tx.upsert_base_enterprise(&base, "test", now).await.unwrap();
    tx.commit().await.unwrap();
    let applicant = Applicant { id_type: "049".into(), id: shop.id.clone(), name: shop.name.clone() };
    let new = |form: serde_json::Value| NewCase {
        item_code: item.clone(),
        applicant: applicant.clone(),
        account_id: "acc_1".into(),
        form,
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L2,
        assured: true,
    };

    // Bad values: every problem at once, in Chinese, and no case is written.
    let bad = serde_json::json!({ "contact_phone": "12345", "business_form": "网店", "staff": 0, "shoe_size": 42 });
    let Err(CaseStoreError::Form(problems)) = db.store.create_case(&new(bad), now).await else { panic!("the form is refused") };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["business_form", "contact_phone", "shoe_size", "staff"], "{problems:?}");
    assert!(problems[1].message_zh.starts_with("联系电话"), "{problems:?}");
    assert!(db.store.cases_of("049", &shop.id, None, 10).await.unwrap().is_empty());
    // A person cannot apply for an enterprise item.
    let person = NewCase {
        applicant: Applicant { id_type: "111".into(), id: "33010619900101123X".into(), name: "张三".into() },
        ..new(serde_json::json!({}))
    };
    assert!(matches!(db.store.create_case(&person, now).await, Err(CaseStoreError::ApplicantType { natural: true })));

    // Bound fields take the held values, whatever was sent.
    let mut form = valid_form();
    form["applicant_name"] = "冒名餐饮店".into();
    form["uscc"] = "91330106MA2H00014Q".into();
    let (c, _) = db.store.create_case(&new(form), now).await.unwrap();
    assert_eq!((c.form["applicant_name"].as_str(), c.form["uscc"].as_str()), (Some("张三餐饮店（登记名）"), Some(shop.id.as_str())));
    assert_eq!(c.form["legal_rep_name"], "张三");
    let no = c.case_no.clone();

    // Submitting without the materials names each missing one.
    let submit = Envelope { at: now, actor: "acc_1".into(), reason: String::new(), event: Event::Submitted };
    let Err(CaseStoreError::MaterialsMissing(missing)) = db.store.submit_case(&no, &submit, None, &calendar).await else {
        panic!("materials are missing")
    };
    assert_eq!(missing.len(), 4, "{missing:?}");
    // Uploads are judged by content: a text file called .pdf is refused.
    let upload = |material: &'static str, name: &'static str, bytes: &'static [u8]| {
        let (store, calendar, no) = (db.store.clone(), calendar.clone(), no.clone());
        let file = yiwang_store::FileUpload { material, file_name: name, bytes, quota_bytes: None };
        async move { store.upload_case_material(&no, file, "acc_1", now, &calendar).await }
    };
    assert!(matches!(upload("食品经营许可申请书", "申请书.pdf", b"not a pdf at all").await, Err(CaseStoreError::FileType)));
    assert!(matches!(upload("健康证明", "a.pdf", PDF).await, Err(CaseStoreError::NoSuchMaterial(_))));
    let row = upload("食品经营许可申请书", "C:\\扫描\\申请书.pdf", PDF).await.unwrap();
    let file = &row.case.uploads[0].file;
    assert_eq!((file.file_name.as_str(), file.content_type.as_str(), file.size), ("申请书.pdf", "application/pdf", PDF.len() as u64));
    upload("营业执照", "执照.pdf", PDF).await.unwrap();
    upload("与食品经营相适应的主要设备设施布局、操作流程等文件", "布局.png", PNG).await.unwrap();
    let (stored, bytes) = db.store.case_file(&db.store.case(&no).await.unwrap(), &file.digest).await.unwrap().unwrap();
    assert_eq!((stored.content_type.as_str(), bytes.as_slice()), ("application/pdf", PDF));
    // 告知承诺: not for the application form, once for the rules.
    assert!(matches!(
        db.store.sign_commitment(&no, "食品经营许可申请书", "acc_1", now, &calendar).await,
        Err(CaseStoreError::CommitmentNotAllowed(_))
    ));
    db.store.sign_commitment(&no, "食品安全自查、从业人员健康管理等制度", "acc_1", now, &calendar).await.unwrap();
    assert!(matches!(
        db.store.sign_commitment(&no, "食品安全自查、从业人员健康管理等制度", "acc_1", now, &calendar).await,
        Err(CaseStoreError::Case(yiwang_case::CaseError::AlreadyCommitted(_)))
    ));
    let row = db.store.submit_case(&no, &submit, None, &calendar).await.unwrap();
    assert_eq!(row.state, State::Submitted);
    let kinds: Vec<String> = db.store.case_events(&no).await.unwrap().iter().map(|e| e.event.name().to_string()).collect();
    assert_eq!(kinds, ["material_uploaded", "material_uploaded", "material_uploaded", "commitment_signed", "submitted"]);

    // Acceptance opens the verification task; the finding closes it.
    let accept =
        Event::Accepted { promised_days: 5, legal_days: 10, pending: vec![], commitment_check_days: 20, units: Default::default() };
    db.store.record_case_event(&no, &Envelope { event: accept, actor: "clerk".into(), ..submit.clone() }, None, &calendar).await.unwrap();
    let checks = db.store.open_commitment_checks(&[yiwang_testkit::licenses::issuer().as_str()], 10).await.unwrap();
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].material, "食品安全自查、从业人员健康管理等制度");
    assert!(checks[0].due.as_str() > china_day(now).as_str(), "{checks:?}");
    let finding = Envelope {
        actor: "reviewer".into(),
        reason: "现场核查，制度齐全".into(),
        event: Event::CommitmentChecked { material: checks[0].material.clone(), truthful: true },
        ..submit.clone()
    };
    db.store.record_case_event(&no, &finding, None, &calendar).await.unwrap();
    assert!(db.store.open_commitment_checks(&[yiwang_testkit::licenses::issuer().as_str()], 10).await.unwrap().is_empty());

    // The next application of the same applicant takes the premises from this one.
    let (next, _) = db.store.create_case(&new(serde_json::json!({})), now).await.unwrap();
    assert_eq!(next.form["premises"], "杭州市西湖区文三路1号");
    // A newer draft (never submitted) does not hide it.
    let (after_draft, _) = db.store.create_case(&new(serde_json::json!({})), now).await.unwrap();
    assert_eq!(after_draft.form["premises"], "杭州市西湖区文三路1号");
    // The same file for another case is stored once.
    let again = yiwang_store::FileUpload { material: "食品经营许可申请书", file_name: "again.pdf", bytes: PDF, quota_bytes: None };
    db.store.upload_case_material(&next.case_no, again, "acc_1", now, &calendar).await.unwrap();
    assert_eq!(db.store.blob_count().await.unwrap(), 2);

    // Issue 19, finding 13: a quota per account over its open applications' files...
    // (The account's open applications hold the PDF and the PNG; a file it holds costs nothing again.)
    const NEW_PNG: &[u8] = b"\x89PNG\r\n\x1a\nanother image";
    let held = (PDF.len() + PNG.len()) as i64;
    let new_png = yiwang_store::FileUpload { material: "营业执照", file_name: "b.png", bytes: NEW_PNG, quota_bytes: Some(held) };
    assert!(matches!(
        db.store.upload_case_material(&next.case_no, new_png, "acc_1", now, &calendar).await,
        Err(CaseStoreError::Quota { .. })
    ));
    let same_png = yiwang_store::FileUpload { material: "营业执照", file_name: "b.png", bytes: PNG, quota_bytes: Some(held) };
    db.store.upload_case_material(&next.case_no, same_png, "acc_1", now, &calendar).await.unwrap();
    let new_png = yiwang_store::FileUpload { quota_bytes: Some(held + NEW_PNG.len() as i64), ..new_png };
    db.store.upload_case_material(&next.case_no, new_png, "acc_1", now, &calendar).await.unwrap();
    assert_eq!(db.store.blob_count().await.unwrap(), 3);
    // ...and a file no case holds any more is deleted with its last removal.
    let (fresh, _) = db.store.create_case(&new(serde_json::json!({})), now).await.unwrap();
    const OTHER_PDF: &[u8] = b"%PDF-1.4\n% another file\n%%EOF\n";
    let own = yiwang_store::FileUpload { material: "营业执照", file_name: "c.pdf", bytes: OTHER_PDF, quota_bytes: None };
    let row = db.store.upload_case_material(&fresh.case_no, own, "acc_1", now, &calendar).await.unwrap();
    assert_eq!(db.store.blob_count().await.unwrap(), 4);
    let digest = row.case.uploads[0].file.digest.clone();
    let remove = Envelope {
        at: now,
        actor: "acc_1".into(),
        reason: String::new(),
        event: Event::MaterialRemoved { material: "营业执照".into(), digest },
    };
    db.store.record_case_event(&fresh.case_no, &remove, None, &calendar).await.unwrap();
    assert_eq!(db.store.blob_count().await.unwrap(), 3, "the removed file is gone");
    // A file still held by another case stays when one case lets it go.
    let shared = next.case.uploads.first().map(|u| u.file.digest.clone());
    let row = db.store.case(&next.case_no).await.unwrap();
    let held = row.case.uploads.iter().find(|u| u.material == "食品经营许可申请书").unwrap().file.digest.clone();
    let remove = Envelope { event: Event::MaterialRemoved { material: "食品经营许可申请书".into(), digest: held }, ..remove };
    db.store.record_case_event(&next.case_no, &remove, None, &calendar).await.unwrap();
    assert_eq!(db.store.blob_count().await.unwrap(), 3, "the first case still holds that PDF");
    let _ = shared;
    assert_eq!(db.store.maintain(now).await.unwrap().blobs, 0, "nothing orphaned");
});

fn china_day(t: jiff::Timestamp) -> String {
    yiwang_calendar::china_today(t).to_string()
}

// 一窗受理: a window clerk of the agency that runs a hall is a window clerk of
// every agency in the hall, and of no other; saving an unchanged hall writes
// (and audits) nothing.
both_backends!(a_hall_clerk_serves_the_hall_agencies, |db| {
    let now = jiff::Timestamp::now();
    let uscc = |org8: &str| {
        let org = format!("{org8}{}", yiwang_codes::org_code_check_char(org8).unwrap());
        let body = format!("11330100{org}");
        format!("{body}{}", yiwang_codes::uscc_check_char(&body).unwrap())
    };
    let (center, samr, psb, other) = (uscc("00250002"), uscc("00250003"), uscc("00250006"), uscc("00250099"));
    let mut tx = db.store.begin().await.unwrap();
    for (u, name) in [(&center, "政务服务中心"), (&samr, "市场监督管理局"), (&psb, "公安局"), (&other, "另一部门")] {
        let a = yiwang_store::Agency { uscc: u.clone(), name: name.into(), division_code: "330100".into(), level: "municipal".into() };
        tx.upsert_agency(&a, "t", now).await.unwrap();
    }
    let hall = yiwang_store::Hall {
        id: "hall-1".into(),
        name: "市民中心".into(),
        division_code: "330100".into(),
        agency_uscc: center.clone(),
        address: "解放东路18号".into(),
        agencies: vec![samr.clone(), psb.clone()],
    };
    tx.upsert_hall(&hall, "t", now).await.unwrap();
    let account = |citizen_id: &str| yiwang_store::NewAccount {
        citizen_id: citizen_id.into(),
        name: "钱一".into(),
        phone: None,
        email: None,
        password_hash: None,
        level: yiwang_identity::RealNameLevel::L2,
        level_source: "t".into(),
        status: yiwang_store::AccountStatus::Active,
    };
    let cid = |body: &str| format!("{body}{}", yiwang_codes::citizen_check_char(body).unwrap());
    let clerk = tx.create_account(&account(&cid("33010219800101001")), "t", now).await.unwrap();
    tx.grant_staff_role(&clerk.id, &center, yiwang_identity::Role::WindowClerk, "t", now).await.unwrap();
    let head = tx.create_account(&account(&cid("33010219800101002")), "t", now).await.unwrap();
    tx.grant_staff_role(&head.id, &center, yiwang_identity::Role::DepartmentHead, "t", now).await.unwrap();
    tx.commit().await.unwrap();

    let roles = db.store.staff_roles(&clerk.id).await.unwrap();
    let mut agencies: Vec<&str> = roles.iter().map(|r| r.agency.as_str()).collect();
    agencies.sort_unstable();
    let mut want = vec![center.as_str(), samr.as_str(), psb.as_str()];
    want.sort_unstable();
    assert_eq!(agencies, want, "{roles:?}");
    assert!(roles.iter().all(|r| r.role == yiwang_identity::Role::WindowClerk));
    // Only window clerks serve the hall's agencies.
    let head_roles = db.store.staff_roles(&head.id).await.unwrap();
    assert_eq!(head_roles.iter().map(|r| r.agency.as_str()).collect::<Vec<_>>(), [center.as_str()]);
    assert_eq!(db.store.halls_run_by(&[center.as_str()]).await.unwrap()[0].agencies.len(), 2);

    let audited = db.store.audit_page(0, 10_000).await.unwrap().entries.len();
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert_hall(&hall, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.store.audit_page(0, 10_000).await.unwrap().entries.len(), audited, "an unchanged hall is not written again");
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert_hall(&yiwang_store::Hall { agencies: vec![samr.clone()], ..hall.clone() }, "t", now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.store.staff_roles(&clerk.id).await.unwrap().len(), 2, "psb left the hall");
});

// 一件事一次办: one form and one material set fan out to a child case per
// item; the window accepts them at once; the bundle joins when the last child
// is concluded.
both_backends!(a_bundle_fans_out_to_child_cases_and_joins_at_completion, |db| {
    let now = jiff::Timestamp::now();
    let calendar = yiwang_calendar::Calendar::bundled().unwrap();
    let food = published_item(&db.store).await;
    let seal_doc = yiwang_testkit::licenses::demo_item("公章刻制备案");
    yiwang_testkit::licenses::publish(&db.store, &seal_doc).await;
    let seal = seal_doc.implementation_code.clone();
    let mut bundle = yiwang_catalog::Bundle {
        code: "open-restaurant".into(),
        name: "开办餐饮店".into(),
        description: String::new(),
        division_code: "330100".into(),
        lead_item: "none".into(),
        items: vec![food.clone(), seal.clone()],
        promised_days: Some(3),
        issue_together: false,
    };
    let Err(CaseStoreError::BundleInvalid(p)) = db.store.define_bundle(&bundle, "t", now).await else { panic!("the lead must be an item") };
    assert_eq!(p[0].reason, "not_in_items");
    bundle.lead_item = food.clone();
    let plan = db.store.define_bundle(&bundle, "t", now).await.unwrap();
    // One form: the shared fields once, each item's own fields too.
    let keys = plan.form.ordered_keys();
    assert_eq!(keys.iter().filter(|k| **k == "contact_phone").count(), 1);
    assert!(keys.contains(&"premises"), "{keys:?}");
    // One material set: 营业执照 is asked by both items, once.
    let licence = plan.materials.iter().find(|m| m.name == "营业执照").unwrap();
    assert_eq!(licence.items, [food.clone(), seal.clone()]);

    let shop = yiwang_testkit::licenses::restaurant();
    let applicant = Applicant { id_type: "049".into(), id: shop.id.clone(), name: shop.name.clone() };
    let new = yiwang_store::NewBundleCase {
        bundle_code: "open-restaurant".into(),
        applicant: applicant.clone(),
        account_id: "acc_1".into(),
        form: serde_json::json!({ "contact_phone": "12345" }),
        hall_id: None,
        level: yiwang_identity::RealNameLevel::L2,
        assured: true,
    };
    assert!(matches!(db.store.create_bundle_case(&new, now).await, Err(CaseStoreError::Form(_))));
    assert!(db.store.cases_of("049", &shop.id, None, 10).await.unwrap().is_empty(), "a refused form writes no child");
    let new = yiwang_store::NewBundleCase { form: valid_form(), ..new };
    let (b, code) = db.store.create_bundle_case(&new, now).await.unwrap();
    assert_eq!(b.state(), yiwang_store::BundleState::Draft);
    assert_eq!(b.children.len(), 2);
    let food_child = b.children.iter().find(|c| c.item_code == food).unwrap().case_no.clone();
    let seal_child = b.children.iter().find(|c| c.item_code == seal).unwrap().case_no.clone();
    for c in &b.children {
        assert_eq!(c.bundle_no.as_deref(), Some(b.bundle_no.as_str()));
        assert_eq!(c.form["contact_phone"], "13800138000");
        // The 查询码 of the bundle opens each child's public progress.
        assert!(matches!(db.store.case_by_query_code(&c.case_no, &code).await.unwrap(), QueryCodeMatch::Case(_)));
    }
    let seal_form = &b.children.iter().find(|c| c.item_code == seal).unwrap().form;
    assert!(seal_form.get("premises").is_none(), "each child holds its own item's fields: {seal_form}");

    // Handing in checks every child: the missing materials of both, once each.
    let Err(CaseStoreError::MaterialsMissing(missing)) = db.store.submit_bundle(&b.bundle_no, "acc_1", now, &calendar).await else {
        panic!("materials are missing")
    };
    assert_eq!(missing.iter().filter(|m| *m == "营业执照").count(), 1, "{missing:?}");
    let up = |material: &'static str| {
        let (store, calendar, no) = (db.store.clone(), calendar.clone(), b.bundle_no.clone());
        async move {
            let file = yiwang_store::FileUpload { material, file_name: "扫描件.pdf", bytes: PDF, quota_bytes: None };
            store.upload_bundle_material(&no, file, "acc_1", now, &calendar).await
        }
    };
    assert!(matches!(up("健康证明").await, Err(CaseStoreError::NoSuchMaterial(_))));
    // One upload serves every item that asks for the material.
    let after = up("营业执照").await.unwrap();
    assert!(after.children.iter().all(|c| c.case.uploads.iter().any(|u| u.material == "营业执照")));
    for m in ["食品经营许可申请书", "与食品经营相适应的主要设备设施布局、操作流程等文件", "法定代表人居民身份证"]
    {
        up(m).await.unwrap();
    }
    db.store.sign_bundle_commitment(&b.bundle_no, "食品安全自查、从业人员健康管理等制度", "acc_1", now, &calendar).await.unwrap();
    let b = db.store.submit_bundle(&b.bundle_no, "acc_1", now, &calendar).await.unwrap();
    assert_eq!(b.state(), yiwang_store::BundleState::InProgress);
    assert!(b.children.iter().all(|c| c.state == State::Submitted));

    // One acceptance for both children, in one transaction.
    let accept = |no: &str| {
        let e = Event::Accepted { promised_days: 3, legal_days: 10, pending: vec![], commitment_check_days: 20, units: Default::default() };
        (no.to_string(), Envelope { at: now, actor: "clerk".into(), reason: String::new(), event: e })
    };
    let b = db.store.record_bundle_events(&b.bundle_no, &[accept(&food_child), accept(&seal_child)], &calendar).await.unwrap();
    assert!(b.children.iter().all(|c| c.state == State::Accepted));
    // An event the state machine refuses leaves every child as it was.
    let again = db.store.record_bundle_events(&b.bundle_no, &[accept(&food_child)], &calendar).await;
    assert!(matches!(again, Err(CaseStoreError::Case(_))), "{again:?}");

    // Each department concludes its own child; the bundle joins with the last.
    let conclude = |no: String| {
        let (store, calendar) = (db.store.clone(), calendar.clone());
        async move {
            for e in [
                Event::StepStarted { step: "审查".into() },
                Event::StepPassed { step: "审查".into(), data: Default::default() },
                Event::Decided { decision: Decision::Approve },
                Event::Concluded { result: "准予".into() },
            ] {
                let envelope = Envelope { at: now, actor: "head".into(), reason: String::new(), event: e };
                store.record_case_event(&no, &envelope, None, &calendar).await.unwrap();
            }
        }
    };
    conclude(food_child.clone()).await;
    let b = db.store.bundle_case(&b.bundle_no).await.unwrap();
    assert_eq!((b.state(), b.completed_at.is_none()), (yiwang_store::BundleState::InProgress, true));
    conclude(seal_child.clone()).await;
    let b = db.store.bundle_case(&b.bundle_no).await.unwrap();
    assert_eq!(b.state(), yiwang_store::BundleState::Completed);
    assert_eq!(db.store.bundle_cases_of("049", &shop.id, None, 10).await.unwrap()[0].bundle_no, b.bundle_no);
});

// Two children concluding at the same moment still join the bundle (the
// bundle row is locked before the open children are counted).
both_backends!(children_concluding_at_once_still_join, |db| {
    let now = jiff::Timestamp::now();
    let calendar = yiwang_calendar::Calendar::bundled().unwrap();
    let food = published_item(&db.store).await;
    let seal_doc = yiwang_testkit::licenses::demo_item("公章刻制备案");
    yiwang_testkit::licenses::publish(&db.store, &seal_doc).await;
    let bundle = yiwang_catalog::Bundle {
        code: "open-restaurant".into(),
        name: "开办餐饮店".into(),
        description: String::new(),
        division_code: "330100".into(),
        lead_item: food.clone(),
        items: vec![food.clone(), seal_doc.implementation_code.clone()],
        promised_days: None,
        issue_together: false,
    };
    db.store.define_bundle(&bundle, "t", now).await.unwrap();
    let shop = yiwang_testkit::licenses::restaurant();
    for round in 0..5 {
        let new = yiwang_store::NewBundleCase {
            bundle_code: "open-restaurant".into(),
            applicant: Applicant { id_type: "049".into(), id: shop.id.clone(), name: shop.name.clone() },
            account_id: "acc_1".into(),
            form: valid_form(),
            hall_id: None,
            level: yiwang_identity::RealNameLevel::L2,
            assured: true,
        };
        let (b, _) = db.store.create_bundle_case(&new, now).await.unwrap();
        // Withdrawing a draft ends it: both children at once, concurrently.
        let tasks: Vec<_> = b
            .children
            .iter()
            .map(|c| {
                let (store, calendar, no) = (db.store.clone(), calendar.clone(), c.case_no.clone());
                tokio::spawn(async move {
                    let e = Envelope { at: now, actor: "acc_1".into(), reason: String::new(), event: Event::Withdrawn };
                    store.record_case_event(&no, &e, None, &calendar).await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let b = db.store.bundle_case(&b.bundle_no).await.unwrap();
        assert_eq!(b.state(), yiwang_store::BundleState::Completed, "round {round}");
    }
});

// The integration API's store: each exchanged event queues one delivery per
// matching subscription in its own transaction; a record's idempotency key is
// written with its events, so concurrent retries record once.
both_backends!(webhooks_are_queued_with_their_events_and_records_are_idempotent, |db| {
    let now = jiff::Timestamp::now();
    let calendar = yiwang_calendar::Calendar::bundled().unwrap();
    let item = published_item(&db.store).await;
    let agency = yiwang_testkit::licenses::issuer();
    // Secrets are kept wrapped under the node master key (issue 19, finding 11).
    let master = yiwang_crypto::seal::MasterKey::generate();
    let (all, secret) =
        db.store.create_webhook(&agency, "http://127.0.0.1:9/all", &["*".into()], "head", now, Some(&master)).await.unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    db.store.create_webhook(&agency, "http://127.0.0.1:9/acc", &["case.accepted".into()], "head", now, Some(&master)).await.unwrap();
    let (c, _) = db.store.create_case(&restaurant_application(&item), now).await.unwrap();
    let no = c.case_no.clone();
    // Internal events (a saved form) are not exchanged.
    db.store
        .record_case_event(
            &no,
            &Envelope { at: now, actor: "acc_1".into(), reason: String::new(), event: Event::FormSaved { fields: vec![] } },
            None,
            &calendar,
        )
        .await
        .unwrap();
    db.store.record_case_event(&no, &at("2026-03-02", "acc_1", "", Event::Submitted), None, &calendar).await.unwrap();
    let accept = Envelope {
        at: now,
        actor: "clerk".into(),
        reason: String::new(),
        event: Event::Accepted { promised_days: 5, legal_days: 10, pending: vec![], commitment_check_days: 0, units: Default::default() },
    };
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, calendar, no, accept) = (db.store.clone(), calendar.clone(), no.clone(), accept.clone());
            tokio::spawn(async move {
                store
                    .record_integration(
                        yiwang_store::IdempotencyKey { caller: "clerk", key: "k1", request_hash: "h1" },
                        &no,
                        &[accept],
                        &calendar,
                        None,
                    )
                    .await
            })
        })
        .collect();
    let mut new_count = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(yiwang_store::Recorded::New(v)) => {
                new_count += 1;
                assert_eq!(v["state"], "accepted");
            }
            Ok(yiwang_store::Recorded::Replayed(v)) => assert_eq!(v["state"], "accepted"),
            Err(e) => panic!("a retry must not fail: {e}"),
        }
    }
    assert_eq!(new_count, 1, "one of the concurrent retries records");
    let kinds: Vec<String> = db.store.case_events(&no).await.unwrap().iter().map(|e| e.event.name().to_string()).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "accepted").count(), 1, "{kinds:?}");
    assert!(matches!(
        db.store
            .record_integration(
                yiwang_store::IdempotencyKey { caller: "clerk", key: "k1", request_hash: "h2" },
                &no,
                std::slice::from_ref(&accept),
                &calendar,
                None
            )
            .await,
        Err(CaseStoreError::KeyReused)
    ));

    // Deliveries: submitted and accepted to `all`, accepted to the other; the form save to none.
    let due = db.store.claim_webhook_deliveries(10, now + jiff::SignedDuration::from_secs(1), Some(&master)).await.unwrap();
    assert!(due.iter().filter(|d| d.url.ends_with("/all")).all(|d| d.secret == secret), "unwrapped for signing");
    let stored: Vec<String> = sqlx::query_scalar::<_, String>("SELECT secret FROM webhooks").fetch_all(db.store.pool()).await.unwrap();
    assert!(stored.iter().all(|s| yiwang_store::is_wrapped(s) && !s.contains(&secret[6..])), "stored wrapped: {stored:?}");
    let mut urls: Vec<(String, String)> = due
        .iter()
        .map(|d| (d.url.clone(), serde_json::from_str::<serde_json::Value>(&d.payload).unwrap()["type"].as_str().unwrap().to_string()))
        .collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            ("http://127.0.0.1:9/acc".to_string(), "case.accepted".to_string()),
            ("http://127.0.0.1:9/all".to_string(), "case.accepted".to_string()),
            ("http://127.0.0.1:9/all".to_string(), "case.submitted".to_string()),
        ]
    );
    // Claimed: not handed out twice; a failure waits for its back-off; a success is done.
    assert!(db.store.claim_webhook_deliveries(10, now + jiff::SignedDuration::from_secs(2), Some(&master)).await.unwrap().is_empty());
    for d in &due {
        db.store.webhook_failed(&d.id, d.attempts, Some(503), "HTTP 503", now).await.unwrap();
    }
    assert!(db.store.claim_webhook_deliveries(10, now + jiff::SignedDuration::from_secs(2), Some(&master)).await.unwrap().is_empty());
    let retry = db.store.claim_webhook_deliveries(10, now + jiff::SignedDuration::from_mins(5), Some(&master)).await.unwrap();
    assert_eq!(retry.len(), 3);
    let done: Vec<(String, u16)> = retry.iter().map(|d| (d.id.clone(), 204)).collect();
    db.store.webhooks_delivered(&done, now).await.unwrap();
    assert!(db.store.claim_webhook_deliveries(10, now + jiff::SignedDuration::from_hours(2), Some(&master)).await.unwrap().is_empty());
    let log = db.store.webhook_deliveries(&all.id, 10).await.unwrap();
    assert!(log.iter().all(|d| d.attempts == 2 && d.sent_at.is_some() && d.last_status == Some(204)), "{log:?}");
    // A stopped subscription sends nothing more.
    db.store.deactivate_webhook(&all.id, "head", now).await.unwrap();
    db.store
        .record_case_event(
            &no,
            &Envelope { at: now, actor: "r".into(), reason: String::new(), event: Event::StepStarted { step: "审查".into() } },
            None,
            &calendar,
        )
        .await
        .unwrap();
    assert!(db.store.claim_webhook_deliveries(10, now + jiff::SignedDuration::from_hours(3), Some(&master)).await.unwrap().is_empty());
});
