//! Notices to applicants: the in-app 消息 list and its email and SMS copies.
//! A case event's notice (`yiwang_case::notice`) is written in the event's own
//! transaction: the in-app row, and one outbox message per channel the person
//! wants and has a verified contact for, so nothing is sent for an event that
//! did not commit and nothing committed goes unsent.

use jiff::Timestamp;
use serde::Serialize;

use crate::accounts::ordered_id;
use crate::db::RowLike;
use crate::{CaseRow, Result, Store, Tx, ts};

/// The kind of the notices a 督办单 sends to staff.
pub const SUPERVISION_ORDER_NOTICE: &str = "supervision_order";
/// The kind of the notice that tells a rater how their 差评 was rectified.
pub const RATING_FEEDBACK_NOTICE: &str = "rating_feedback";

/// One notice in a person's 消息 list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeRow {
    pub id: String,
    pub case_no: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// A page of a person's notices, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct NoticePage {
    pub notices: Vec<NoticeRow>,
    pub total: i64,
    pub unread: i64,
}

/// The channels a person wants besides the in-app list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NoticePreferences {
    pub email: bool,
    pub sms: bool,
}

impl Default for NoticePreferences {
    fn default() -> Self {
        NoticePreferences { email: true, sms: true }
    }
}

impl Tx {
    /// Queue one SMS to a phone number that is not an account's (a rater
    /// without an account, an invitation to rate).
    pub(crate) async fn queue_sms(&mut self, phone: &str, subject: &str, text: &str, at: &str) -> Result<()> {
        crate::db::query(
            "INSERT INTO outbox (id, channel, recipient, subject, body, created_at, attempts, next_attempt_at) \
             VALUES ($1, 'sms', $2, $3, $4, $5, 0, $5)",
        )
        .bind(ordered_id("msg"))
        .bind(phone)
        .bind(format!("一网通办 · {subject}"))
        .bind(text)
        .bind(at)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Tell the case's applicant about `event`, if it is one they are told of:
    /// to the account the case is filed under (none for a window case of a
    /// person without an account), in-app always, and by email and SMS as
    /// they prefer. Called after the event (and any license it issued) is written.
    pub(crate) async fn notify_case(&mut self, case: &CaseRow, next: &yiwang_case::Case, event: &yiwang_case::Envelope) -> Result<()> {
        // Only 办结 names licenses, so only it reads them.
        let licenses: Vec<String> = if matches!(event.event, yiwang_case::Event::Concluded { .. }) {
            crate::db::query(
                "SELECT t.name FROM licenses l JOIN license_types t ON t.code = l.type_code WHERE l.case_no = $1 AND l.status = 'valid' ORDER BY t.name",
            )
            .bind(&case.case_no)
            .fetch_all(&mut *self)
            .await?
            .iter()
            .map(|r| r.try_get("name"))
            .collect::<std::result::Result<_, _>>()?
        } else {
            Vec::new()
        };
        let facts = yiwang_case::notice::Facts {
            case_no: &case.case_no,
            item_name: &case.item_name,
            reason: event.reason.trim(),
            decision: next.decision,
            licenses: &licenses,
        };
        // Most events notify nobody: nothing more is read or written for them.
        let Some(n) = yiwang_case::notice::for_event(&event.event, &facts) else {
            return Ok(());
        };
        let id = ordered_id("ntc");
        let at = ts(event.at);
        // Two statements, whatever the channels: the notice, for an active
        // account only; then its email and SMS, each to a verified contact the
        // person did not switch off (no preferences row: both on).
        let written = crate::db::query(
            "INSERT INTO notices (id, account_id, case_no, kind, title, body, created_at) \
             SELECT $1, a.id, $3, $4, $5, $6, $7 FROM accounts a WHERE a.id = $2 AND a.status = 'active'",
        )
        .bind(&id)
        .bind(&case.account_id)
        .bind(&case.case_no)
        .bind(n.kind)
        .bind(&n.title)
        .bind(&n.body)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        if written.rows_affected() == 0 {
            return Ok(());
        }
        self.queue_notice_copies(&id, &case.account_id, &n.title, &n.body, &n.sms, &at).await
    }

    /// A notice's email and SMS copies: one outbox message per channel the
    /// person did not switch off and holds a verified contact for (no
    /// preferences row: both on). One statement, whatever the channels.
    pub(crate) async fn queue_notice_copies(
        &mut self,
        notice_id: &str,
        account_id: &str,
        title: &str,
        body: &str,
        sms: &str,
        at: &str,
    ) -> Result<()> {
        crate::db::query(
            "INSERT INTO outbox (id, channel, recipient, subject, body, created_at, attempts, next_attempt_at, notice_id) \
             SELECT $1, 'email', a.email, $3, $4, $6, 0, $6, $7 FROM accounts a LEFT JOIN notice_preferences p ON p.account_id = a.id \
             WHERE a.id = $8 AND a.email IS NOT NULL AND COALESCE(p.email, 1) <> 0 \
             UNION ALL \
             SELECT $2, 'sms', a.phone, $3, $5, $6, 0, $6, $7 FROM accounts a LEFT JOIN notice_preferences p ON p.account_id = a.id \
             WHERE a.id = $8 AND a.phone IS NOT NULL AND COALESCE(p.sms, 1) <> 0",
        )
        .bind(ordered_id("msg"))
        .bind(ordered_id("msg"))
        .bind(format!("一网通办 · {title}"))
        .bind(body)
        .bind(sms)
        .bind(at)
        .bind(notice_id)
        .bind(account_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}

fn notice_row(r: &impl RowLike) -> Result<NoticeRow> {
    Ok(NoticeRow {
        id: r.try_get("id")?,
        case_no: r.try_get("case_no")?,
        kind: r.try_get("kind")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        created_at: r.try_get("created_at")?,
        read_at: r.try_get("read_at")?,
    })
}

impl Store {
    /// A person's notices, newest first, with how many there are and how many are unread.
    pub async fn notices(&self, account_id: &str, offset: i64, limit: i64) -> Result<NoticePage> {
        let rows = crate::db::query(
            "SELECT id, case_no, kind, title, body, created_at, read_at FROM notices WHERE account_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(account_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.read())
        .await?;
        let counts = crate::db::query(
            "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0) AS unread FROM notices WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_one(self.read())
        .await?;
        Ok(NoticePage {
            notices: rows.iter().map(notice_row).collect::<Result<_>>()?,
            total: counts.try_get("total")?,
            unread: counts.try_get("unread")?,
        })
    }

    /// Mark one of the person's notices read; `false` when they have none by that id.
    pub async fn mark_notice_read(&self, account_id: &str, id: &str, now: Timestamp) -> Result<bool> {
        let done = crate::db::query("UPDATE notices SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND account_id = $3")
            .bind(ts(now))
            .bind(id)
            .bind(account_id)
            .execute(self.write())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Mark all of the person's notices read; how many were unread.
    pub async fn mark_all_notices_read(&self, account_id: &str, now: Timestamp) -> Result<u64> {
        let done = crate::db::query("UPDATE notices SET read_at = $1 WHERE account_id = $2 AND read_at IS NULL")
            .bind(ts(now))
            .bind(account_id)
            .execute(self.write())
            .await?;
        Ok(done.rows_affected())
    }

    /// The channels the person wants (both by default).
    pub async fn notice_preferences(&self, account_id: &str) -> Result<NoticePreferences> {
        let row = crate::db::query("SELECT email, sms FROM notice_preferences WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.read())
            .await?;
        match row {
            Some(r) => Ok(NoticePreferences { email: r.try_get::<i64, _>("email")? != 0, sms: r.try_get::<i64, _>("sms")? != 0 }),
            None => Ok(NoticePreferences::default()),
        }
    }

    /// Set the channels the person wants.
    pub async fn set_notice_preferences(&self, account_id: &str, p: NoticePreferences, now: Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO notice_preferences (account_id, email, sms, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, sms = excluded.sms, updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(i64::from(p.email))
        .bind(i64::from(p.sms))
        .bind(ts(now))
        .execute(self.write())
        .await?;
        Ok(())
    }
}
