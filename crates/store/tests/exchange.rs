//! The exchange's message log on both backends: envelopes sealed and opened
//! for real are logged in a chain that verifies; a received message is kept
//! once, however many copies race in; a changed or removed entry is found.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use yiwang_crypto::seal::SealKey;
use yiwang_exchange::{BodyRef, ClientId, Direction, Header, Kind, LogRecord, NodeId, Recipient, Replay, Sealed, Sender, replay, seal};
use yiwang_store::{LogReport, Logged};
use yiwang_testkit::both_backends;

const MEMBER: &str = "CN/GOV/91350100M000100Y43";

fn sealed(key: &SealKey, i: u8) -> Sealed {
    let now: jiff::Timestamp = "2026-12-07T06:10:00Z".parse().unwrap();
    let body = format!("{{\"n\":{i}}}");
    let header = Header::new(
        Kind::Event,
        Sender {
            node: NodeId::parse("CN/NODE/440300").unwrap(),
            client: ClientId::parse(&format!("{MEMBER}/aggregate")).unwrap(),
            on_behalf_of: None,
        },
        Recipient { node: NodeId::parse("CN/NODE/440000").unwrap(), service: format!("{MEMBER}/aggregate/cases/v1") },
        BodyRef::of("application/json", body.as_bytes()),
        now,
        jiff::SignedDuration::from_secs(60),
        [i; 10],
    );
    seal(&header, key).unwrap()
}

fn record(s: &Sealed, direction: Direction, peer: &str) -> LogRecord {
    let header: Header = serde_json::from_slice(&s.header_bytes).unwrap();
    LogRecord {
        direction,
        peer: peer.into(),
        msg_id: header.msg_id,
        env_sm3: s.env_sm3(),
        header: String::from_utf8(s.header_bytes.clone()).unwrap(),
        signature: s.signature_line(),
        body_sm3: header.body.sm3,
        logged_at: "2026-12-07T06:10:00.5Z".into(),
    }
}

async fn exec(db: &yiwang_testkit::TestDb, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(db.store.pool()).await.unwrap();
}

both_backends!(sent_and_received_envelopes_form_a_chain_that_verifies, |db| {
    let key = SealKey::generate();
    assert_eq!(db.store.exchange_log_verify().await.unwrap(), LogReport::Intact { entries: 0 });
    for i in 0..5u8 {
        let s = sealed(&key, i);
        let direction = if i.is_multiple_of(2) { Direction::Out } else { Direction::In };
        assert!(matches!(db.store.log_exchange(record(&s, direction, "CN/NODE/440000")).await.unwrap(), Logged::Appended(_)));
    }
    assert_eq!(db.store.exchange_log_verify().await.unwrap(), LogReport::Intact { entries: 5 });
    let page = db.store.exchange_log_page(2, 10).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
    // A logged entry verifies on its own, from its header and signature line.
    let e = &page[0];
    assert_eq!(e.record.env_sm3, hex::encode(yiwang_crypto::sm3(e.record.header.as_bytes())));
});

both_backends!(a_received_message_is_kept_once_however_many_copies_race_in, |db| {
    let key = SealKey::generate();
    let s = sealed(&key, 9);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, r) = (db.store.clone(), record(&s, Direction::In, "CN/NODE/440300"));
        tasks.push(tokio::spawn(async move { store.log_exchange(r).await }));
    }
    let mut appended = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Logged::Appended(_) => appended += 1,
            Logged::Seen { env_sm3 } => assert_eq!(env_sm3, s.env_sm3()),
        }
    }
    assert_eq!(appended, 1);
    assert_eq!(db.store.exchange_log_verify().await.unwrap(), LogReport::Intact { entries: 1 });
    // The replay decision from what the store holds: the same bytes are a retry;
    // other bytes under the same id are a conflict.
    let opened = yiwang_exchange::Opened {
        header: serde_json::from_slice(&s.header_bytes).unwrap(),
        header_bytes: s.header_bytes.clone(),
        env_sm3: s.env_sm3(),
    };
    let Logged::Seen { env_sm3 } = db.store.log_exchange(record(&s, Direction::In, "CN/NODE/440300")).await.unwrap() else {
        panic!("seen")
    };
    assert_eq!(replay(Some(&env_sm3), &opened), Ok(Replay::Retry));
    let mut twin = record(&sealed(&key, 10), Direction::In, "CN/NODE/440300");
    twin.msg_id = opened.header.msg_id.clone();
    let Logged::Seen { env_sm3 } = db.store.log_exchange(twin).await.unwrap() else { panic!("seen") };
    let mut other = opened.clone();
    other.env_sm3 = "0".repeat(64);
    assert!(replay(Some(&env_sm3), &other).is_err());
    // The same id from another node, or sent rather than received, is another message.
    assert!(matches!(db.store.log_exchange(record(&s, Direction::In, "CN/NODE/110000")).await.unwrap(), Logged::Appended(_)));
    assert!(matches!(db.store.log_exchange(record(&s, Direction::Out, "CN/NODE/440300")).await.unwrap(), Logged::Appended(_)));
});

both_backends!(a_changed_or_removed_entry_is_found, |db| {
    let key = SealKey::generate();
    for i in 0..4u8 {
        db.store.log_exchange(record(&sealed(&key, i), Direction::Out, "CN/NODE/440000")).await.unwrap();
    }
    // The log refuses changes; with its guards removed (an attacker with the
    // database), a change is still found.
    assert!(sqlx::raw_sql("UPDATE exchange_log SET peer_node = 'x' WHERE seq = 2").execute(db.store.pool()).await.is_err());
    assert!(sqlx::raw_sql("DELETE FROM exchange_log WHERE seq = 4").execute(db.store.pool()).await.is_err());
    db.drop_exchange_log_guards().await;
    exec(db, "UPDATE exchange_log SET peer_node = 'CN/NODE/110000' WHERE seq = 2").await;
    assert_eq!(db.store.exchange_log_verify().await.unwrap(), LogReport::Broken { seq: 2 });
    exec(db, "UPDATE exchange_log SET peer_node = 'CN/NODE/440000' WHERE seq = 2").await;
    assert_eq!(db.store.exchange_log_verify().await.unwrap(), LogReport::Intact { entries: 4 });
    exec(db, "DELETE FROM exchange_log WHERE seq = 4").await;
    assert_eq!(db.store.exchange_log_verify().await.unwrap(), LogReport::Broken { seq: 4 }, "the head names the lost tail");
});
