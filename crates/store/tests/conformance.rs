//! The store conformance suite: every test runs on SQLite and on PostgreSQL.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::civil::date;
use yiwang_audit::AuditBreak;
use yiwang_calendar::SpecialDay;
use yiwang_store::{AuditReport, NodeInfo, NodeRegion, StoreError};
use yiwang_testkit::{TestDb, audit_record, both_backends};

async fn exec(db: &TestDb, sql: &'static str) {
    sqlx::raw_sql(sql).execute(db.store.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn broken(report: AuditReport) -> AuditBreak {
    match report {
        AuditReport::Broken { first_break, .. } => first_break,
        AuditReport::Intact { .. } => panic!("tampering was not detected"),
    }
}

both_backends!(migrate_is_idempotent_and_ready, |db| {
    db.store.ping().await.unwrap();
    db.store.migrate(jiff::Timestamp::now()).await.unwrap();
    db.store.migrate(jiff::Timestamp::now()).await.unwrap();
    assert!(matches!(db.store.audit_verify().await.unwrap(), AuditReport::Intact { entries: 0, .. }));
});

both_backends!(calendar_seeded_and_editable, |db| {
    let cal = db.store.load_calendar().await.unwrap();
    assert_eq!(cal.add_workdays(date(2025, 9, 26), 20).unwrap().value, date(2025, 10, 30));
    assert_eq!(db.store.calendar_days(2025).await.unwrap().len(), (1 + 8 + 3 + 5 + 3 + 8) + 5);

    // An admin marks a 2027 day and declares 2027 complete.
    let mut tx = db.store.begin().await.unwrap();
    tx.set_calendar_day(date(2027, 10, 1), Some(SpecialDay::Holiday), "国庆节", "admin", jiff::Timestamp::now()).await.unwrap();
    tx.set_calendar_year_covered(2027, true, "admin", jiff::Timestamp::now()).await.unwrap();
    // And overrides a bundled day.
    tx.set_calendar_day(date(2025, 10, 8), None, "", "admin", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();

    // Re-seeding on upgrade must not undo the admin's edits.
    db.store.migrate(jiff::Timestamp::now()).await.unwrap();
    let cal = db.store.load_calendar().await.unwrap();
    assert!(!cal.is_workday(date(2027, 10, 1)).value);
    assert!(!cal.is_workday(date(2027, 10, 1)).provisional);
    assert!(cal.is_workday(date(2025, 10, 8)).value, "bundled holiday removed by admin");
    let days = db.store.calendar_days(2027).await.unwrap();
    assert_eq!(days[0].source, "admin");
    // Every edit is in the audit log.
    let page = db.store.audit_page(0, 100).await.unwrap();
    let actions: Vec<_> = page.entries.iter().map(|e| e.record.action.as_str()).collect();
    assert_eq!(actions, ["calendar.day_set", "calendar.year_covered", "calendar.day_set"]);
});

both_backends!(audit_commits_with_the_change_or_not_at_all, |db| {
    let node =
        NodeInfo { division_code: "650000000000".into(), name: "示例".into(), tier: "provincial".into(), created_at: String::new() };
    let mut tx = db.store.begin().await.unwrap();
    tx.create_node(&node, &[], "test", jiff::Timestamp::now()).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(db.store.node_info().await.unwrap().is_none());
    assert!(db.store.audit_page(0, 10).await.unwrap().entries.is_empty(), "rolled back audit entry survived");

    let regions = [NodeRegion {
        code: "650100000000".into(),
        name: "乌鲁木齐市".into(),
        level: "prefecture".into(),
        parent_code: Some("650000000000".into()),
    }];
    let mut tx = db.store.begin().await.unwrap();
    tx.create_node(&node, &regions, "test", jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.store.node_info().await.unwrap().unwrap().name, "示例");
    assert_eq!(db.store.node_regions().await.unwrap().len(), 1);
    let mut tx = db.store.begin().await.unwrap();
    assert!(matches!(tx.create_node(&node, &[], "test", jiff::Timestamp::now()).await, Err(StoreError::Conflict(_))));
    drop(tx);
    assert!(matches!(db.store.audit_verify().await.unwrap(), AuditReport::Intact { entries: 1, .. }));
});

both_backends!(audit_log_refuses_update_and_delete, |db| {
    db.append_audit_records(2).await;
    assert!(sqlx::raw_sql("UPDATE audit_log SET actor = 'x' WHERE seq = 1").execute(db.store.pool()).await.is_err());
    assert!(sqlx::raw_sql("DELETE FROM audit_log WHERE seq = 2").execute(db.store.pool()).await.is_err());
    assert!(matches!(db.store.audit_verify().await.unwrap(), AuditReport::Intact { entries: 2, .. }));
});

both_backends!(audit_detects_modified_row, |db| {
    db.append_audit_records(5).await;
    db.drop_audit_guards().await;
    exec(db, "UPDATE audit_log SET data = '{\"i\":99}' WHERE seq = 3").await;
    assert_eq!(broken(db.store.audit_verify().await.unwrap()), AuditBreak::Modified { seq: 3 });
});

both_backends!(audit_detects_rehashed_row, |db| {
    // An attacker who recomputes the edited row's own hash still breaks the next link.
    db.append_audit_records(5).await;
    db.drop_audit_guards().await;
    exec(db, "UPDATE audit_log SET hash = 'ffff' WHERE seq = 3").await;
    let b = broken(db.store.audit_verify().await.unwrap());
    assert_eq!(b.seq(), 3);
});

both_backends!(audit_detects_deleted_row, |db| {
    db.append_audit_records(5).await;
    db.drop_audit_guards().await;
    exec(db, "DELETE FROM audit_log WHERE seq = 2").await;
    assert_eq!(broken(db.store.audit_verify().await.unwrap()), AuditBreak::Gap { expected: 2, found: 3 });
});

both_backends!(audit_detects_deleted_tail, |db| {
    db.append_audit_records(5).await;
    db.drop_audit_guards().await;
    exec(db, "DELETE FROM audit_log WHERE seq = 5").await;
    assert_eq!(broken(db.store.audit_verify().await.unwrap()), AuditBreak::HeadMismatch { head_seq: 5, last_seq: 4 });
});

both_backends!(audit_detects_reordered_rows, |db| {
    db.append_audit_records(5).await;
    db.drop_audit_guards().await;
    exec(db, "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = -1").await;
    assert_eq!(broken(db.store.audit_verify().await.unwrap()), AuditBreak::BrokenLink { seq: 2 });
});

both_backends!(audit_concurrent_appends_keep_one_chain, |db| {
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                store.audit(audit_record(t * 100 + i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    match db.store.audit_verify().await.unwrap() {
        AuditReport::Intact { entries, .. } => assert_eq!(entries, 200),
        other => panic!("{other:?}"),
    }
});

both_backends!(concurrent_node_creation_gives_one_winner_and_clean_conflicts, |db| {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let node = NodeInfo {
                division_code: "330000000000".into(),
                name: format!("n{i}"),
                tier: "provincial".into(),
                created_at: String::new(),
            };
            let mut tx = store.begin().await?;
            tx.create_node(&node, &[], "test", jiff::Timestamp::now()).await?;
            tx.commit().await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("expected a clean conflict, got {other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert!(matches!(db.store.audit_verify().await.unwrap(), AuditReport::Intact { entries: 1, .. }));
});
