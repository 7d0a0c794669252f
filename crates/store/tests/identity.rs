//! Identity storage on both backends: single-use codes under concurrency, refresh
//! rotation and reuse, session expiry and revocation, the login throttle, the
//! outbox claim protocol and account uniqueness.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::{SignedDuration, Timestamp};
use yiwang_identity::{RealNameLevel, token_hash};
use yiwang_store::{
    AccountStatus, Attempt, CodeGrant, CodeUse, NewAccount, RefreshUse, RegistrationCheck, SessionPolicy, StoreError, ThrottlePolicy,
    TokenRow,
};
use yiwang_testkit::{TestDb, both_backends};

fn person(citizen_id: &str, phone: Option<&str>) -> NewAccount {
    NewAccount {
        citizen_id: citizen_id.into(),
        name: "张三".into(),
        phone: phone.map(String::from),
        email: None,
        password_hash: None,
        level: RealNameLevel::L1,
        level_source: "test".into(),
        status: AccountStatus::Active,
    }
}

async fn account_and_session(db: &TestDb) -> (String, String) {
    let now = Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    let acc = tx.create_account(&person("11010519491231002X", Some("13800000009")), "t", now).await.unwrap();
    let s = tx.create_session(&acc.id, "pwd", &SessionPolicy::default(), now).await.unwrap();
    tx.commit().await.unwrap();
    (acc.id, s.sid)
}

both_backends!(accounts_are_unique_by_id_phone_and_email, |db| {
    let now = Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    tx.create_account(&person("11010519491231002X", Some("13800000009")), "t", now).await.unwrap();
    tx.commit().await.unwrap();
    for dup in [person("11010519491231002X", None), person("110101199003074477", Some("13800000009"))] {
        let mut tx = db.store.begin().await.unwrap();
        let err = tx.create_account(&dup, "t", now).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        tx.rollback().await.unwrap();
    }
    assert_eq!(db.store.accounts_count().await.unwrap(), 1);
    assert!(db.store.account_by_login("13800000009").await.unwrap().is_some());
});

both_backends!(a_code_is_redeemed_once_even_concurrently, |db| {
    let (account, sid) = account_and_session(db).await;
    let now = Timestamp::now();
    let grant = CodeGrant {
        client_id: "c".into(),
        account_id: account,
        sid,
        redirect_uri: "http://x/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: "x".repeat(43),
        auth_time: yiwang_store::ts(now),
    };
    let mut tx = db.store.begin().await.unwrap();
    tx.create_code(&token_hash("code-1"), &grant, SignedDuration::from_mins(2), now).await.unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let used = tx.consume_code(&token_hash("code-1"), Timestamp::now()).await.unwrap();
            tx.commit().await.unwrap();
            used
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        match t.await.unwrap() {
            CodeUse::Fresh(g) => {
                fresh += 1;
                assert_eq!(g.client_id, "c");
            }
            CodeUse::Replayed => {}
            CodeUse::Unknown => panic!("a known code reported unknown"),
        }
    }
    assert_eq!(fresh, 1, "exactly one redemption wins");
    let mut tx = db.store.begin().await.unwrap();
    assert!(matches!(tx.consume_code(&token_hash("nope"), now).await.unwrap(), CodeUse::Unknown));
    tx.commit().await.unwrap();
    // Expired codes are not redeemable.
    let mut tx = db.store.begin().await.unwrap();
    tx.create_code(&token_hash("code-2"), &grant, SignedDuration::from_secs(1), now).await.unwrap();
    assert!(matches!(tx.consume_code(&token_hash("code-2"), now + SignedDuration::from_secs(5)).await.unwrap(), CodeUse::Unknown));
    tx.commit().await.unwrap();
});

both_backends!(refresh_tokens_rotate_and_reuse_revokes_the_family, |db| {
    let (account, sid) = account_and_session(db).await;
    let now = Timestamp::now();
    let row = TokenRow {
        family: "fam".into(),
        client_id: "c".into(),
        account_id: account.clone(),
        sid: sid.clone(),
        scope: "openid".into(),
        auth_time: yiwang_store::ts(now),
        expires_at: yiwang_store::ts(now + SignedDuration::from_hours(1)),
    };
    let mut tx = db.store.begin().await.unwrap();
    tx.insert_token("access", &token_hash("a1"), &row, now).await.unwrap();
    tx.insert_token("refresh", &token_hash("r1"), &row, now).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    assert!(
        matches!(tx.use_refresh_token(&token_hash("r1"), "other-client", now).await.unwrap(), RefreshUse::Invalid),
        "bound to its client"
    );
    let RefreshUse::Rotated(r) = tx.use_refresh_token(&token_hash("r1"), "c", now).await.unwrap() else { panic!("first use rotates") };
    tx.insert_token("refresh", &token_hash("r2"), &r, now).await.unwrap();
    tx.commit().await.unwrap();
    assert!(db.store.access_token(&token_hash("a1"), now).await.unwrap().is_some());
    let mut tx = db.store.begin().await.unwrap();
    assert!(matches!(tx.use_refresh_token(&token_hash("r1"), "c", now).await.unwrap(), RefreshUse::Reused));
    tx.commit().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    assert!(matches!(tx.use_refresh_token(&token_hash("r2"), "c", now).await.unwrap(), RefreshUse::Invalid), "family revoked");
    tx.commit().await.unwrap();
    assert!(db.store.access_token(&token_hash("a1"), now).await.unwrap().is_none(), "access token revoked with its family");
});

both_backends!(sessions_expire_when_idle_and_end_everywhere, |db| {
    let now = Timestamp::now();
    let policy = SessionPolicy::default();
    let mut tx = db.store.begin().await.unwrap();
    let acc = tx.create_account(&person("11010519491231002X", None), "t", now).await.unwrap();
    let s1 = tx.create_session(&acc.id, "pwd", &policy, now).await.unwrap();
    let s2 = tx.create_session(&acc.id, "pwd", &policy, now).await.unwrap();
    tx.commit().await.unwrap();
    assert!(db.store.session(&s1.token, &policy, now).await.unwrap().is_some());
    assert!(db.store.session(&s1.token, &policy, now + SignedDuration::from_mins(31)).await.unwrap().is_none(), "idle limit");
    assert!(db.store.session(&s1.token, &policy, now + SignedDuration::from_hours(13)).await.unwrap().is_none(), "absolute limit");
    assert!(db.store.session("not-a-token", &policy, now).await.unwrap().is_none());
    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(tx.revoke_all_sessions(&acc.id, &acc.id, now).await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert!(db.store.session(&s1.token, &policy, now).await.unwrap().is_none());
    assert!(db.store.session(&s2.token, &policy, now).await.unwrap().is_none());
});

/// One failed attempt, as the login does it: counted first, then the lock it earns.
async fn fail_once(store: &yiwang_store::Store, key: &str, policy: &ThrottlePolicy, now: Timestamp) -> Result<Option<u64>, u64> {
    match store.throttle_attempt(key, policy, now).await.unwrap() {
        Attempt::Go { failures } => Ok(store.throttle_failed(key, policy, failures, now).await.unwrap()),
        Attempt::Wait(w) => Err(w),
    }
}

both_backends!(throttle_backs_off_and_clears, |db| {
    let now = Timestamp::now();
    let policy = ThrottlePolicy::default();
    for _ in 0..4 {
        assert_eq!(fail_once(&db.store, "k", &policy, now).await, Ok(None));
    }
    assert_eq!(fail_once(&db.store, "k", &policy, now).await, Ok(Some(30)));
    assert_eq!(fail_once(&db.store, "k", &policy, now).await, Err(30), "locked: refused and not counted");
    // After the lock, one more try; failing it doubles the lock.
    let later = now + SignedDuration::from_secs(31);
    assert_eq!(fail_once(&db.store, "k", &policy, later).await, Ok(Some(60)), "doubles");
    db.store.throttle_clear("k").await.unwrap();
    assert_eq!(fail_once(&db.store, "k", &policy, later).await, Ok(None));
    assert_eq!(policy.lock_for(100), Some(SignedDuration::from_mins(15)), "capped");
});

// Issue 19, finding 6: the count decays, so a shared address is not locked for good.
both_backends!(throttle_counts_decay, |db| {
    let now = Timestamp::now();
    let policy = ThrottlePolicy::default();
    for _ in 0..5 {
        fail_once(&db.store, "addr", &policy, now).await.unwrap();
    }
    // Much later every failure is forgotten: the next try is the first again.
    let next_day = now + SignedDuration::from_hours(24);
    assert_eq!(db.store.throttle_attempt("addr", &policy, next_day).await.unwrap(), Attempt::Go { failures: 1 });
    // Two intervals forget two failures.
    for _ in 0..3 {
        fail_once(&db.store, "b", &policy, now).await.unwrap();
    }
    let ten_min = now + SignedDuration::from_mins(10);
    assert_eq!(db.store.throttle_attempt("b", &policy, ten_min).await.unwrap(), Attempt::Go { failures: 2 });
    // Idle counters are swept; locked ones stay.
    assert!(db.store.sweep_throttle(next_day + SignedDuration::from_hours(25)).await.unwrap() >= 1);
});

// Issue 19, finding 6: concurrent attempts are counted before any is checked,
// so a burst gets no more checks than the free attempts (plus the one that takes the lock).
both_backends!(throttle_holds_under_concurrency, |db| {
    let now = Timestamp::now();
    let policy = ThrottlePolicy::default();
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let store = db.store.clone();
        burst.spawn(async move { store.throttle_attempt("burst", &policy, now).await.unwrap() });
    }
    let results = burst.join_all().await;
    let went = results.iter().filter(|r| matches!(r, Attempt::Go { .. })).count();
    assert!(went <= usize::try_from(policy.free_attempts).unwrap() + 1, "{went} of 16 went on: {results:?}");
    assert!(went >= 1);
});

both_backends!(outbox_claims_once_and_retries_failures, |db| {
    let now = Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    let id = tx.enqueue_message("email", "a@example.cn", "s", "b", now).await.unwrap();
    tx.commit().await.unwrap();
    // A rolled-back transaction leaves no message behind.
    let mut tx = db.store.begin().await.unwrap();
    tx.enqueue_message("email", "ghost@example.cn", "s", "b", now).await.unwrap();
    tx.rollback().await.unwrap();
    let batch = db.store.claim_outbox(10, now).await.unwrap();
    assert_eq!(batch.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec![id.as_str()]);
    assert!(db.store.claim_outbox(10, now).await.unwrap().is_empty(), "claimed messages are not handed out twice");
    db.store.outbox_failed(&id, 0, "smtp down", now).await.unwrap();
    assert!(db.store.claim_outbox(10, now).await.unwrap().is_empty(), "retry waits");
    let again = db.store.claim_outbox(10, now + SignedDuration::from_secs(6)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    db.store.outbox_sent(&id, now).await.unwrap();
    assert_eq!(db.store.outbox_pending().await.unwrap(), 0);
    // A claim that lapses (dispatcher crashed) is handed out again.
    let mut tx = db.store.begin().await.unwrap();
    tx.enqueue_message("sms", "13800000000", "s", "b", now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.store.claim_outbox(10, now).await.unwrap().len(), 1);
    assert_eq!(db.store.claim_outbox(10, now + SignedDuration::from_mins(2)).await.unwrap().len(), 1);
});

// Issue 19, finding 11: the OIDC signing key is stored wrapped under the node
// master key; keys stored in the clear before are wrapped once a key is given.
both_backends!(signing_keys_are_wrapped_under_the_master_key, |db| {
    let now = Timestamp::now();
    let master = yiwang_crypto::seal::MasterKey::generate();
    let key = |kid: &str| yiwang_store::SigningKey {
        kid: kid.into(),
        alg: "ES256".into(),
        private_key: "c0ffee".repeat(10),
        public_jwk: "{}".into(),
        retired: false,
    };
    // An older node wrote one in the clear.
    let mut tx = db.store.begin().await.unwrap();
    tx.rotate_signing_key(&key("old"), SignedDuration::from_hours(48), "t", now, None).await.unwrap();
    tx.commit().await.unwrap();
    let raw = || async {
        sqlx::query_scalar::<_, String>("SELECT private_key FROM oidc_keys ORDER BY kid").fetch_all(db.store.pool()).await.unwrap()
    };
    assert_eq!(raw().await, vec!["c0ffee".repeat(10)]);
    assert_eq!(db.store.wrap_stored_secrets(&master, now).await.unwrap(), 1);
    assert_eq!(db.store.wrap_stored_secrets(&master, now).await.unwrap(), 0, "idempotent");
    let mut tx = db.store.begin().await.unwrap();
    tx.rotate_signing_key(&key("new"), SignedDuration::from_hours(48), "t", now, Some(&master)).await.unwrap();
    tx.commit().await.unwrap();
    assert!(raw().await.iter().all(|k| yiwang_store::is_wrapped(k) && !k.contains("c0ffee")), "{:?}", raw().await);
    let keys = db.store.signing_keys(now, Some(&master)).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.private_key == "c0ffee".repeat(10)));
    assert!(db.store.signing_keys(now, None).await.is_err(), "a wrapped key needs the master key");
    assert!(db.store.signing_keys(now, Some(&yiwang_crypto::seal::MasterKey::generate())).await.is_err(), "and the right one");
});

// Issue 19, finding 12: a registration holds nothing and lapses; a contact that
// has an account gets a notice instead of a code.
both_backends!(registrations_lapse_and_hold_nothing, |db| {
    let now = Timestamp::now();
    let ttl = SignedDuration::from_mins(30);
    let new = |contact: &str| yiwang_store::NewRegistration {
        citizen_id: "11010519491231002X".into(),
        name: "钱多多".into(),
        channel: "email".into(),
        contact: contact.into(),
        password_hash: "h".into(),
    };
    // Two people may wait for the same ID number at once.
    let a = db.store.start_registration(&new("a@example.cn"), "123456", ttl, now).await.unwrap();
    let b = db.store.start_registration(&new("b@example.cn"), "654321", ttl, now).await.unwrap();
    assert!(matches!(db.store.verify_registration(&a, "000000", now).await.unwrap(), RegistrationCheck::Wrong { attempts_left: 4 }));
    assert!(
        matches!(db.store.verify_registration(&a, "123456", now).await.unwrap(), RegistrationCheck::Verified(r) if r.typed.contact == "a@example.cn")
    );
    assert!(matches!(db.store.verify_registration(&a, "123456", now).await.unwrap(), RegistrationCheck::ExpiredOrMissing), "used once");
    // Lapsed: the code no longer works, and the sweep drops it.
    let later = now + ttl + SignedDuration::from_secs(1);
    assert!(matches!(db.store.verify_registration(&b, "654321", later).await.unwrap(), RegistrationCheck::ExpiredOrMissing));
    assert!(db.store.registration(&b, later).await.unwrap().is_none());
    assert_eq!(db.store.sweep_registrations(later).await.unwrap(), 1);
    // A contact with an account: no code exists for it.
    let mut tx = db.store.begin().await.unwrap();
    tx.create_account(
        &NewAccount {
            citizen_id: "110101199003074477".into(),
            name: "甲".into(),
            phone: None,
            email: Some("taken@example.cn".into()),
            password_hash: None,
            level: RealNameLevel::L1,
            level_source: "t".into(),
            status: AccountStatus::Active,
        },
        "t",
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let c = db.store.start_registration(&new("taken@example.cn"), "111111", ttl, now).await.unwrap();
    assert!(matches!(db.store.verify_registration(&c, "111111", now).await.unwrap(), RegistrationCheck::Wrong { .. }));
});
