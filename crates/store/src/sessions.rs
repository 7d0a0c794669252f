//! Login sessions, failed-login back-off, one-time verification codes and the
//! message outbox. All of it lives in the database so several yiwang processes
//! on one PostgreSQL share it.

use crate::db::RowLike;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use yiwang_identity::{new_token, token_hash};

use crate::accounts::{audit_rec, new_id};
use crate::{Result, Store, StoreError, Tx, ts};

/// A session just created: the cookie value is only ever in this struct.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub sid: String,
    pub csrf: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    pub sid: String,
    pub account_id: String,
    pub acting_for: Option<String>,
    #[serde(skip)]
    pub csrf: String,
    pub amr: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    /// The real-name level a federated login vouched for; the principal's
    /// level is no higher than this.
    pub level_cap: Option<yiwang_identity::RealNameLevel>,
}

/// How long sessions live: an absolute limit and an idle limit.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub max_age: SignedDuration,
    pub idle: SignedDuration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { max_age: SignedDuration::from_hours(12), idle: SignedDuration::from_mins(30) }
    }
}

/// Failed-login back-off: free attempts, then a lock that doubles per failure.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Attempts allowed before the back-off starts.
    pub free_attempts: i64,
    pub base_lock: SignedDuration,
    pub max_lock: SignedDuration,
    /// One counted failure is forgotten per interval.
    pub decay_every: SignedDuration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            free_attempts: 5,
            base_lock: SignedDuration::from_secs(30),
            max_lock: SignedDuration::from_mins(15),
            decay_every: SignedDuration::from_mins(5),
        }
    }
}

impl ThrottlePolicy {
    /// Lock length after `failures` failures (none within the free attempts).
    pub fn lock_for(&self, failures: i64) -> Option<SignedDuration> {
        let over = failures - self.free_attempts;
        if over < 0 {
            return None;
        }
        let factor = 1i64 << over.min(20);
        let secs = self.base_lock.as_secs().saturating_mul(factor).min(self.max_lock.as_secs());
        Some(SignedDuration::from_secs(secs))
    }
}

/// The answer to an attempt: go on and check the secret, or wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted; `failures` is the count including this attempt.
    Go { failures: i64 },
    /// Locked: try again in this many seconds (not counted).
    Wait(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Ok,
    Wrong { attempts_left: i64 },
    ExpiredOrMissing,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

fn parse_ts(s: &str) -> Result<Timestamp> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("timestamp {s:?}")))
}

impl Store {
    /// The live session for a cookie value, if any; refreshes `last_seen_at` at most once a minute.
    pub async fn session(&self, token: &str, policy: &SessionPolicy, now: Timestamp) -> Result<Option<SessionRow>> {
        let row = crate::db::query(
            "SELECT sid, account_id, acting_for, csrf, amr, created_at, last_seen_at, expires_at, level_cap FROM sessions \
             WHERE id_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash(token))
        .fetch_optional(self.read())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let s = SessionRow {
            sid: r.try_get("sid")?,
            account_id: r.try_get("account_id")?,
            acting_for: r.try_get("acting_for")?,
            csrf: r.try_get("csrf")?,
            amr: r.try_get("amr")?,
            created_at: r.try_get("created_at")?,
            last_seen_at: r.try_get("last_seen_at")?,
            expires_at: r.try_get("expires_at")?,
            level_cap: r
                .try_get::<Option<i64>, _>("level_cap")?
                .and_then(|l| u8::try_from(l).ok())
                .and_then(yiwang_identity::RealNameLevel::from_u8),
        };
        let last_seen = parse_ts(&s.last_seen_at)?;
        if parse_ts(&s.expires_at)? <= now || last_seen + policy.idle <= now {
            return Ok(None);
        }
        if now.duration_since(last_seen) > SignedDuration::from_mins(1) {
            crate::db::query("UPDATE sessions SET last_seen_at = $1 WHERE sid = $2")
                .bind(ts(now))
                .bind(&s.sid)
                .execute(self.write())
                .await?;
        }
        Ok(Some(s))
    }

    pub async fn session_by_sid(&self, sid: &str) -> Result<Option<(String, bool)>> {
        let row =
            crate::db::query("SELECT account_id, revoked_at FROM sessions WHERE sid = $1").bind(sid).fetch_optional(self.read()).await?;
        row.map(|r| Ok((r.try_get("account_id")?, r.try_get::<Option<String>, _>("revoked_at")?.is_none()))).transpose()
    }

    pub async fn set_session_acting(&self, sid: &str, acting_for: Option<&str>) -> Result<()> {
        crate::db::query("UPDATE sessions SET acting_for = $1 WHERE sid = $2").bind(acting_for).bind(sid).execute(self.write()).await?;
        Ok(())
    }

    /// Count an attempt for `key` before its secret is checked, atomically:
    /// while a lock is in force the attempt is refused and not counted;
    /// otherwise the count (less what has decayed) goes up by one, and an
    /// attempt past the free ones takes a short lock at once, so concurrent
    /// attempts behind it wait instead of all being checked.
    pub async fn throttle_attempt(&self, key: &str, policy: &ThrottlePolicy, now: Timestamp) -> Result<Attempt> {
        let now_s = now.as_second();
        let attempt = yiwang_identity::new_token();
        let decay = policy.decay_every.as_secs().max(1);
        // The decayed count: failures less one per elapsed interval, not below zero.
        let decayed = "(CASE WHEN throttle.failures - (($2 - throttle.updated_s) / $3) > 0 \
                        THEN throttle.failures - (($2 - throttle.updated_s) / $3) ELSE 0 END)";
        let locked = "(throttle.locked_until_s IS NOT NULL AND throttle.locked_until_s > $2)";
        let sql = format!(
            "INSERT INTO throttle (key, failures, locked_until_s, updated_s, attempt) VALUES ($1, 1, NULL, $2, $4) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN {locked} THEN throttle.failures ELSE {decayed} + 1 END, \
               locked_until_s = CASE WHEN {locked} THEN throttle.locked_until_s \
                                     WHEN {decayed} + 1 > $5 THEN $2 + $6 ELSE NULL END, \
               updated_s = CASE WHEN {locked} THEN throttle.updated_s ELSE $2 END, \
               attempt = CASE WHEN {locked} THEN throttle.attempt ELSE $4 END \
             RETURNING failures, locked_until_s, attempt"
        );
        // Built from the constant fragments above only.
        let row = crate::db::query(crate::safe(sql))
            .bind(key)
            .bind(now_s)
            .bind(decay)
            .bind(&attempt)
            .bind(policy.free_attempts)
            .bind(policy.base_lock.as_secs().max(1))
            .fetch_one(self.write())
            .await?;
        let counted: String = row.try_get("attempt")?;
        if counted == attempt {
            return Ok(Attempt::Go { failures: row.try_get("failures")? });
        }
        let until: Option<i64> = row.try_get("locked_until_s")?;
        Ok(Attempt::Wait(until.map_or(1, |u| (u - now_s).max(1)).unsigned_abs()))
    }

    /// After a counted attempt failed: lock `key` for the back-off its count
    /// earns (never shortening a lock in force); returns the lock, if any.
    pub async fn throttle_failed(&self, key: &str, policy: &ThrottlePolicy, failures: i64, now: Timestamp) -> Result<Option<u64>> {
        let Some(lock) = policy.lock_for(failures) else { return Ok(None) };
        let until = now.as_second() + lock.as_secs();
        crate::db::query(
            "UPDATE throttle SET locked_until_s = CASE WHEN locked_until_s IS NOT NULL AND locked_until_s > $1 THEN locked_until_s ELSE $1 END \
             WHERE key = $2",
        )
        .bind(until)
        .bind(key)
        .execute(self.write())
        .await?;
        Ok(Some(lock.as_secs().unsigned_abs()))
    }

    /// Take back a counted attempt that turned out harmless (a right 查询码, an
    /// unknown case), so ordinary use never adds up to a lock.
    pub async fn throttle_refund(&self, key: &str) -> Result<()> {
        crate::db::query("UPDATE throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0")
            .bind(key)
            .execute(self.write())
            .await?;
        Ok(())
    }

    /// Forget `key` (after a success).
    pub async fn throttle_clear(&self, key: &str) -> Result<()> {
        crate::db::query("DELETE FROM throttle WHERE key = $1").bind(key).execute(self.write()).await?;
        Ok(())
    }

    /// Drop counters idle for a day and not locked (the table stays the size of
    /// the current traffic, whatever addresses have come and gone).
    pub async fn sweep_throttle(&self, now: Timestamp) -> Result<u64> {
        let now_s = now.as_second();
        let n = crate::db::query("DELETE FROM throttle WHERE updated_s < $1 AND (locked_until_s IS NULL OR locked_until_s < $2)")
            .bind(now_s - 86_400)
            .bind(now_s)
            .execute(self.write())
            .await?;
        Ok(n.rows_affected())
    }

    /// Check a verification code; a wrong code uses up an attempt, the right one is consumed.
    pub async fn check_verification_code(&self, account_id: &str, code: &str, now: Timestamp) -> Result<CodeCheck> {
        let mut tx = self.begin().await?;
        let row = crate::db::query("SELECT code_hash, attempts, expires_at FROM verification_codes WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&mut tx)
            .await?;
        let Some(r) = row else { return Ok(CodeCheck::ExpiredOrMissing) };
        let attempts: i64 = r.try_get("attempts")?;
        if parse_ts(&r.try_get::<String, _>("expires_at")?)? <= now || attempts >= 5 {
            return Ok(CodeCheck::ExpiredOrMissing);
        }
        let hash: String = r.try_get("code_hash")?;
        if yiwang_identity::ct_eq(hash.as_bytes(), token_hash(&format!("{account_id}:{code}")).as_bytes()) {
            crate::db::query("DELETE FROM verification_codes WHERE account_id = $1").bind(account_id).execute(&mut tx).await?;
            tx.commit().await?;
            return Ok(CodeCheck::Ok);
        }
        crate::db::query("UPDATE verification_codes SET attempts = attempts + 1 WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(CodeCheck::Wrong { attempts_left: 4 - attempts })
    }

    /// Claim up to `limit` due messages for delivery; a claim lapses after a minute
    /// so a crashed dispatcher's messages are retried by another.
    pub async fn claim_outbox(&self, limit: i64, now: Timestamp) -> Result<Vec<OutboxMessage>> {
        let mut tx = self.begin().await?;
        let sql = match self.backend {
            crate::Backend::Sqlite => concat!(
                "SELECT id, channel, recipient, subject, body, attempts FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 ",
                "AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY created_at LIMIT $2"
            ),
            crate::Backend::Postgres => concat!(
                "SELECT id, channel, recipient, subject, body, attempts FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 ",
                "AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
        };
        let rows = crate::db::query(sql).bind(ts(now)).bind(limit).fetch_all(&mut tx).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let m = OutboxMessage {
                id: r.try_get("id")?,
                channel: r.try_get("channel")?,
                recipient: r.try_get("recipient")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                attempts: r.try_get("attempts")?,
            };
            crate::db::query("UPDATE outbox SET claimed_until = $1 WHERE id = $2")
                .bind(ts(now + SignedDuration::from_mins(1)))
                .bind(&m.id)
                .execute(&mut tx)
                .await?;
            out.push(m);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn outbox_sent(&self, id: &str, now: Timestamp) -> Result<()> {
        crate::db::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL WHERE id = $2")
            .bind(ts(now))
            .bind(id)
            .execute(self.write())
            .await?;
        Ok(())
    }

    /// Record a failed delivery; retry with exponential back-off (capped at an hour).
    pub async fn outbox_failed(&self, id: &str, attempts: i64, error: &str, now: Timestamp) -> Result<()> {
        let wait = crate::backoff(attempts);
        crate::db::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, claimed_until = NULL WHERE id = $3",
        )
        .bind(error)
        .bind(ts(now + wait))
        .bind(id)
        .execute(self.write())
        .await?;
        Ok(())
    }

    /// Messages not yet delivered (operators' view).
    pub async fn outbox_pending(&self) -> Result<i64> {
        Ok(crate::db::query("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL").fetch_one(&self.pool).await?.try_get("n")?)
    }
}

impl Tx {
    pub async fn create_session(&mut self, account_id: &str, amr: &str, policy: &SessionPolicy, now: Timestamp) -> Result<NewSession> {
        self.create_session_capped(account_id, amr, None, policy, now).await
    }

    /// A session whose principal's level is at most `level_cap` (federated login).
    pub async fn create_session_capped(
        &mut self,
        account_id: &str,
        amr: &str,
        level_cap: Option<yiwang_identity::RealNameLevel>,
        policy: &SessionPolicy,
        now: Timestamp,
    ) -> Result<NewSession> {
        let s = NewSession { token: new_token(), sid: new_id("ses"), csrf: new_token() };
        let at = ts(now);
        crate::db::query(
            "INSERT INTO sessions (id_hash, sid, account_id, acting_for, csrf, amr, created_at, last_seen_at, expires_at, level_cap) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $6, $7, $8)",
        )
        .bind(token_hash(&s.token))
        .bind(&s.sid)
        .bind(account_id)
        .bind(&s.csrf)
        .bind(amr)
        .bind(&at)
        .bind(ts(now + policy.max_age))
        .bind(level_cap.map(|l| i64::from(l.as_u8())))
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(
            &at,
            account_id,
            "session.created",
            "account",
            account_id,
            serde_json::json!({ "sid": s.sid, "amr": amr }),
        ))
        .await?;
        Ok(s)
    }

    /// End one session and every token issued under it.
    pub async fn revoke_session(&mut self, sid: &str, actor: &str, now: Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query("UPDATE sessions SET revoked_at = $1 WHERE sid = $2 AND revoked_at IS NULL")
            .bind(&at)
            .bind(sid)
            .execute(&mut *self)
            .await?;
        crate::db::query("UPDATE oidc_tokens SET revoked_at = $1 WHERE sid = $2 AND revoked_at IS NULL")
            .bind(&at)
            .bind(sid)
            .execute(&mut *self)
            .await?;
        self.append_audit(audit_rec(&at, actor, "session.revoked", "session", sid, serde_json::json!({}))).await?;
        Ok(())
    }

    /// Logout everywhere: every session and every token of the account.
    pub async fn revoke_all_sessions(&mut self, account_id: &str, actor: &str, now: Timestamp) -> Result<u64> {
        let at = ts(now);
        let n = crate::db::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
            .bind(&at)
            .bind(account_id)
            .execute(&mut *self)
            .await?
            .rows_affected();
        crate::db::query("UPDATE oidc_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
            .bind(&at)
            .bind(account_id)
            .execute(&mut *self)
            .await?;
        self.append_audit(audit_rec(&at, actor, "session.revoked_all", "account", account_id, serde_json::json!({ "sessions": n })))
            .await?;
        Ok(n)
    }

    /// Store a fresh verification code (replacing any earlier one) and queue its message.
    pub async fn issue_verification_code(
        &mut self,
        account_id: &str,
        channel: &str,
        recipient: &str,
        code: &str,
        ttl: SignedDuration,
        now: Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO verification_codes (account_id, channel, code_hash, attempts, expires_at, created_at) VALUES ($1, $2, $3, 0, $4, $5) \
             ON CONFLICT (account_id) DO UPDATE SET channel = excluded.channel, code_hash = excluded.code_hash, attempts = 0, \
             expires_at = excluded.expires_at, created_at = excluded.created_at",
        )
        .bind(account_id)
        .bind(channel)
        .bind(token_hash(&format!("{account_id}:{code}")))
        .bind(ts(now + ttl))
        .bind(&at)
        .execute(&mut *self)
        .await?;
        let body = format!(
            "【一网通办】您的验证码为 {code}，{} 分钟内有效。请勿告知他人。\nYour yiwang verification code is {code}, valid for {} minutes.",
            ttl.as_mins(),
            ttl.as_mins()
        );
        self.enqueue_message(channel, recipient, "一网通办 验证码 / verification code", &body, now).await?;
        Ok(())
    }

    /// Queue a message for delivery; it is sent only if this transaction commits.
    pub async fn enqueue_message(&mut self, channel: &str, recipient: &str, subject: &str, body: &str, now: Timestamp) -> Result<String> {
        let id = crate::accounts::ordered_id("msg");
        let at = ts(now);
        crate::db::query(
            "INSERT INTO outbox (id, channel, recipient, subject, body, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
        )
        .bind(&id)
        .bind(channel)
        .bind(recipient)
        .bind(subject)
        .bind(body)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        Ok(id)
    }
}
