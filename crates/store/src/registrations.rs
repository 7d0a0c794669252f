//! Self-registration that reveals nothing and squats nothing (issue 19): a
//! registration is a row of its own until its code is verified, holding no
//! identifier, so any number of registrations may wait for the same ID or
//! contact and each lapses by itself. Starting one answers the same whether
//! or not the ID or contact is known; a contact that already has an account
//! gets a notice instead of a code.

use jiff::{SignedDuration, Timestamp};
use yiwang_identity::{ct_eq, token_hash};

use crate::accounts::{audit_rec, new_id};
use crate::db::RowLike;
use crate::{Result, Store, ts};

/// A registration as the person typed it (the password already hashed).
#[derive(Debug, Clone)]
pub struct NewRegistration {
    pub citizen_id: String,
    pub name: String,
    /// `sms` or `email`.
    pub channel: String,
    pub contact: String,
    pub password_hash: String,
}

/// A live registration: its id and what was typed.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: String,
    pub typed: NewRegistration,
}

/// The outcome of a code typed for a registration.
#[derive(Debug, Clone)]
pub enum RegistrationCheck {
    /// Right: the registration is consumed; make the account.
    Verified(Registration),
    Wrong {
        attempts_left: i64,
    },
    ExpiredOrMissing,
}

const COLUMNS: &str = "id, citizen_id, name, channel, contact, password_hash";

fn reg_row(r: &crate::db::Row) -> Result<Registration> {
    Ok(Registration {
        id: r.try_get("id")?,
        typed: NewRegistration {
            citizen_id: r.try_get("citizen_id")?,
            name: r.try_get("name")?,
            channel: r.try_get("channel")?,
            contact: r.try_get("contact")?,
            password_hash: r.try_get("password_hash")?,
        },
    })
}

impl Store {
    /// Start a registration with `code`; returns its id. The code goes to the
    /// contact through the outbox, unless the contact already belongs to an
    /// account: then the contact's owner is told someone tried, and no code
    /// exists (so this registration can never complete). The answer is the
    /// same either way.
    pub async fn start_registration(&self, new: &NewRegistration, code: &str, ttl: SignedDuration, now: Timestamp) -> Result<String> {
        let id = new_id("reg");
        let taken = self.account_by_login(&new.contact).await?.is_some();
        let mut tx = self.begin().await?;
        crate::db::query(crate::safe(format!(
            "INSERT INTO registrations ({COLUMNS}, code_hash, attempts, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)"
        )))
        .bind(&id)
        .bind(&new.citizen_id)
        .bind(&new.name)
        .bind(&new.channel)
        .bind(&new.contact)
        .bind(&new.password_hash)
        // A contact that has an account gets no code: an impossible hash.
        .bind(if taken { String::from("-") } else { token_hash(&format!("{id}:{code}")) })
        .bind(ts(now))
        .bind(ts(now + ttl))
        .execute(&mut tx)
        .await?;
        let body = if taken {
            "【一网通办】有人尝试用本联系方式注册新账号。如是您本人，请直接登录；如非本人操作，请忽略本消息。\n\
             Someone tried to register a new yiwang account with this contact. If it was you, just log in."
                .to_string()
        } else {
            format!(
                "【一网通办】您的验证码为 {code}，{} 分钟内有效。请勿告知他人。\nYour yiwang verification code is {code}, valid for {} minutes.",
                ttl.as_mins(),
                ttl.as_mins()
            )
        };
        tx.enqueue_message(&new.channel, &new.contact, "一网通办 注册 / registration", &body, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A live registration (for its verification page).
    pub async fn registration(&self, id: &str, now: Timestamp) -> Result<Option<Registration>> {
        let row = crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM registrations WHERE id = $1 AND expires_at > $2")))
            .bind(id)
            .bind(ts(now))
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(reg_row).transpose()
    }

    /// Check a code: five tries, then the registration is spent.
    pub async fn verify_registration(&self, id: &str, code: &str, now: Timestamp) -> Result<RegistrationCheck> {
        let mut tx = self.begin().await?;
        let row = crate::db::query(crate::safe(format!(
            "SELECT {COLUMNS}, code_hash, attempts FROM registrations WHERE id = $1 AND expires_at > $2"
        )))
        .bind(id)
        .bind(ts(now))
        .fetch_optional(&mut tx)
        .await?;
        let Some(r) = row else { return Ok(RegistrationCheck::ExpiredOrMissing) };
        let attempts: i64 = r.try_get("attempts")?;
        if attempts >= 5 {
            return Ok(RegistrationCheck::ExpiredOrMissing);
        }
        let hash: String = r.try_get("code_hash")?;
        if ct_eq(hash.as_bytes(), token_hash(&format!("{id}:{code}")).as_bytes()) {
            crate::db::query("DELETE FROM registrations WHERE id = $1").bind(id).execute(&mut tx).await?;
            tx.commit().await?;
            return Ok(RegistrationCheck::Verified(reg_row(&r)?));
        }
        crate::db::query("UPDATE registrations SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(RegistrationCheck::Wrong { attempts_left: 4 - attempts })
    }

    /// Drop lapsed registrations (they hold nothing, but need not stay).
    pub async fn sweep_registrations(&self, now: Timestamp) -> Result<u64> {
        let n = crate::db::query("DELETE FROM registrations WHERE expires_at <= $1").bind(ts(now)).execute(self.write()).await?;
        Ok(n.rows_affected())
    }
}

impl crate::Tx {
    /// Tell an account's owner that someone registered, or tried to, with its ID number.
    pub async fn notify_registration_attempt(&mut self, account: &crate::Account, now: Timestamp) -> Result<()> {
        let (channel, to) = match (&account.phone, &account.email) {
            (Some(p), _) => ("sms", p.clone()),
            (None, Some(e)) => ("email", e.clone()),
            (None, None) => return Ok(()),
        };
        self.enqueue_message(
            channel,
            &to,
            "一网通办 注册提醒 / registration notice",
            "【一网通办】有人尝试用您的身份证号注册新账号，未能成功。如非本人操作，请留意账号安全；如需处理，请携带身份证到政务服务大厅窗口。\n\
             Someone tried to register a yiwang account with your ID number; it did not succeed.",
            now,
        )
        .await?;
        self.append_audit(audit_rec(&ts(now), "system", "account.registration_conflict", "account", &account.id, serde_json::json!({})))
            .await?;
        Ok(())
    }
}
