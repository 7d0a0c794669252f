//! 好差评's store (issue 22): a rating is written once per case and stage,
//! with the loop a 差评 opens; a loop event is written only at the version
//! the caller folded (`yiwang_supervision::ratings::Loop::apply` decides what
//! is allowed), with the notice it causes, in one transaction.

use serde::Serialize;
use yiwang_supervision::ratings::{Loop, LoopEvent, Rating};

use crate::accounts::ordered_id;
use crate::db::RowLike;
use crate::{Result, Store, StoreError, ts};

/// A rating as kept, with its loop.
#[derive(Debug, Clone, Serialize)]
pub struct RatingRow {
    pub id: String,
    pub rating: Rating,
    pub rater_account: String,
    pub agency_uscc: String,
    pub item_code: String,
    /// The official whose step was rated (who accepted, or who concluded).
    pub handler: String,
    /// Who took the rating down for the rater (a phone rating).
    pub recorded_by: Option<String>,
    #[serde(rename = "loop")]
    pub bad_loop: Option<Loop>,
    pub version: i64,
}

/// A loop event as kept, with the actor's name.
pub type StoredLoopEvent = crate::supervision_orders::ActedEvent<LoopEvent>;

/// What a new rating rates besides itself.
#[derive(Debug, Clone)]
pub struct RatedCase<'a> {
    pub rater_account: &'a str,
    pub agency_uscc: &'a str,
    pub item_code: &'a str,
    pub handler: &'a str,
    /// The staff member who took the rating down (by phone), if any.
    pub recorded_by: Option<&'a str>,
}

/// A notice a loop event sends to the rater.
#[derive(Debug, Clone)]
pub struct RaterNotice {
    pub title: String,
    pub body: String,
    /// Where an SMS goes when the rater has no account (a rating at the
    /// window's tablet, by an SMS link or by phone): the case's contact phone.
    pub phone: Option<String>,
}

/// An invitation to rate one case at one stage on one channel (the window's
/// tablet, an SMS link, a phone rating).
#[derive(Debug, Clone, Serialize)]
pub struct RatingInvitation {
    pub case_no: String,
    pub stage: yiwang_supervision::ratings::Stage,
    pub channel: yiwang_supervision::ratings::Channel,
    pub created_by: String,
    pub expires_at: String,
    pub used_at: Option<String>,
}

const COLUMNS: &str = "id, case_no, stage, channel, level, reasons, comment, rater_account, agency_uscc, item_code, handler, \
     content_version, at, loop, version, recorded_by";

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn rating_row(r: &impl RowLike) -> Result<RatingRow> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("rating: {e}"));
    let text = |c: &str| -> Result<String> { Ok(r.try_get(c)?) };
    let code = |c: &str| -> Result<serde_json::Value> { Ok(serde_json::Value::String(text(c)?)) };
    let level: i64 = r.try_get("level")?;
    let at: String = r.try_get("at")?;
    let rating = Rating {
        case_no: text("case_no")?,
        stage: serde_json::from_value(code("stage")?).map_err(corrupt)?,
        channel: serde_json::from_value(code("channel")?).map_err(corrupt)?,
        level: serde_json::from_value(serde_json::json!(level)).map_err(corrupt)?,
        reasons: serde_json::from_str(&text("reasons")?).map_err(corrupt)?,
        comment: text("comment")?,
        at: at.parse().map_err(|e| StoreError::Corrupt(format!("rating time: {e}")))?,
        content_version: u32::try_from(r.try_get::<i64, _>("content_version")?).unwrap_or_default(),
    };
    let bad_loop: Option<String> = r.try_get("loop")?;
    Ok(RatingRow {
        id: text("id")?,
        rating,
        rater_account: text("rater_account")?,
        agency_uscc: text("agency_uscc")?,
        item_code: text("item_code")?,
        handler: text("handler")?,
        recorded_by: r.try_get("recorded_by")?,
        bad_loop: bad_loop.map(|l| serde_json::from_str(&l)).transpose().map_err(corrupt)?,
        version: r.try_get("version")?,
    })
}

impl Store {
    /// Invite a rating of `case_no` at `stage` on `channel`, valid for
    /// `minutes`; with `sms` (phone, text with `{link}` where the token goes),
    /// the SMS is queued in the same transaction. Returns the token.
    #[allow(clippy::too_many_arguments)]
    pub async fn invite_rating(
        &self,
        case_no: &str,
        stage: yiwang_supervision::ratings::Stage,
        channel: yiwang_supervision::ratings::Channel,
        actor: &str,
        minutes: i64,
        sms: Option<(&str, &str)>,
        now: jiff::Timestamp,
    ) -> Result<String> {
        let token = yiwang_identity::new_token();
        let at = ts(now);
        let expires = ts(now.checked_add(jiff::SignedDuration::from_mins(minutes)).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        let mut tx = self.begin().await?;
        crate::db::query(
            "INSERT INTO rating_invitations (token_hash, case_no, stage, channel, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(yiwang_identity::token_hash(&token))
        .bind(case_no)
        .bind(crate::code_text(&stage)?)
        .bind(crate::code_text(&channel)?)
        .bind(actor)
        .bind(&at)
        .bind(&expires)
        .execute(&mut tx)
        .await?;
        if let Some((phone, text)) = sms {
            tx.queue_sms(phone, "好差评邀请", &text.replace("{link}", &token), &at).await?;
        }
        tx.commit().await?;
        Ok(token)
    }

    /// The invitation a token opens, used or not (none: no such token).
    pub async fn rating_invitation(&self, token: &str) -> Result<Option<RatingInvitation>> {
        let Some(r) = crate::db::query(
            "SELECT case_no, stage, channel, created_by, expires_at, used_at FROM rating_invitations WHERE token_hash = $1",
        )
        .bind(yiwang_identity::token_hash(token.trim()))
        .fetch_optional(self.read())
        .await?
        else {
            return Ok(None);
        };
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("rating invitation: {e}"));
        Ok(Some(RatingInvitation {
            case_no: r.try_get("case_no")?,
            stage: serde_json::from_value(serde_json::Value::String(r.try_get("stage")?)).map_err(corrupt)?,
            channel: serde_json::from_value(serde_json::Value::String(r.try_get("channel")?)).map_err(corrupt)?,
            created_by: r.try_get("created_by")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
        }))
    }

    /// How many ratings a case has.
    pub async fn case_rating_count(&self, case_no: &str) -> Result<i64> {
        let row = crate::db::query("SELECT COUNT(*) AS n FROM ratings WHERE case_no = $1").bind(case_no).fetch_one(self.read()).await?;
        Ok(row.try_get("n")?)
    }

    /// Keep a rating (once per case and stage: `Conflict` for a second) with
    /// the loop it opens, if any, and queue its GB/T 39046 表9 record in the
    /// same transaction when records go up.
    pub async fn add_rating(
        &self,
        rating: &Rating,
        rated: &RatedCase<'_>,
        opened: Option<&Loop>,
        record: &crate::UpwardRecord,
        invitation: Option<&str>,
    ) -> Result<RatingRow> {
        let id = ordered_id("rat");
        let mut tx = self.begin().await?;
        if let Some(token) = invitation {
            // Used once, before it expires, with the rating or not at all.
            let used = crate::db::query(
                "UPDATE rating_invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(yiwang_identity::token_hash(token.trim()))
            .bind(ts(rating.at))
            .execute(&mut tx)
            .await?;
            if used.rows_affected() == 0 {
                return Err(StoreError::Conflict("评价邀请已使用或已过期 / the invitation was used or has expired".into()));
            }
        }
        let done = crate::db::query(
            "INSERT INTO ratings (id, case_no, stage, channel, level, reasons, comment, rater_account, agency_uscc, item_code, handler, \
             content_version, at, loop_state, loop_due, loop, version, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17) ON CONFLICT (case_no, stage) DO NOTHING",
        )
        .bind(&id)
        .bind(&rating.case_no)
        .bind(crate::code_text(&rating.stage)?)
        .bind(crate::code_text(&rating.channel)?)
        .bind(i64::from(rating.level.code()))
        .bind(json(&rating.reasons)?)
        .bind(&rating.comment)
        .bind(rated.rater_account)
        .bind(rated.agency_uscc)
        .bind(rated.item_code)
        .bind(rated.handler)
        .bind(i64::from(rating.content_version))
        .bind(ts(rating.at))
        .bind(opened.map(|l| crate::code_text(&l.state)).transpose()?)
        .bind(opened.map(|l| l.due.to_string()))
        .bind(opened.map(json).transpose()?)
        .bind(rated.recorded_by)
        .execute(&mut tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("该办件此环节已评价 / this case was already rated at this stage".into()));
        }
        if tx.aggregating_upward().await? {
            tx.queue_upward(std::slice::from_ref(record), crate::integration::queued_at()).await?;
        }
        let row =
            crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM ratings WHERE id = $1"))).bind(&id).fetch_one(&mut tx).await?;
        let row = rating_row(&row)?;
        tx.commit().await?;
        Ok(row)
    }

    /// A rating and its loop's events.
    pub async fn rating(&self, id: &str) -> Result<Option<(RatingRow, Vec<StoredLoopEvent>)>> {
        let Some(row) = crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM ratings WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.read())
            .await?
        else {
            return Ok(None);
        };
        let events = self.acted_events("rating_loop_events", "rating_id", id).await?;
        Ok(Some((rating_row(&row)?, events)))
    }

    /// The ratings of a case.
    pub async fn case_ratings(&self, case_no: &str) -> Result<Vec<RatingRow>> {
        let rows = crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM ratings WHERE case_no = $1 ORDER BY at")))
            .bind(case_no)
            .fetch_all(self.read())
            .await?;
        rows.iter().map(rating_row).collect()
    }

    /// Ratings newest first, of some agencies or all; only 差评 if asked.
    pub async fn ratings(&self, agencies: Option<&[String]>, bad_only: bool, limit: i64) -> Result<Vec<RatingRow>> {
        let limit = limit.clamp(1, 1000);
        let bad = if bad_only { " AND level >= 4" } else { "" };
        let Some(list) = agencies else {
            let rows =
                crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM ratings WHERE 1 = 1{bad} ORDER BY at DESC, id LIMIT $1")))
                    .bind(limit)
                    .fetch_all(self.read())
                    .await?;
            return rows.iter().map(rating_row).collect();
        };
        let mut out = Vec::new();
        for a in list {
            let rows = crate::db::query(crate::safe(format!(
                "SELECT {COLUMNS} FROM ratings WHERE agency_uscc = $2{bad} ORDER BY at DESC, id LIMIT $1"
            )))
            .bind(limit)
            .bind(a.as_str())
            .fetch_all(self.read())
            .await?;
            out.extend(rows.iter().map(rating_row).collect::<Result<Vec<_>>>()?);
        }
        out.sort_by(|a, b| b.rating.at.cmp(&a.rating.at).then_with(|| a.id.cmp(&b.id)));
        out.truncate(usize::try_from(limit).unwrap_or(1000));
        Ok(out)
    }

    /// Counts of ratings per (key, level, loop state), of some agencies or
    /// all; the key is the agency, the item, the channel or the handler.
    pub async fn rating_counts(
        &self,
        agencies: Option<&[String]>,
        by: &str,
    ) -> Result<Vec<(String, yiwang_supervision::ratings::Satisfaction, Option<yiwang_supervision::ratings::LoopState>, i64)>> {
        let key = match by {
            "item" => "item_code",
            "channel" => "channel",
            "handler" => "handler",
            _ => "agency_uscc",
        };
        let sql = |filter: &str| {
            crate::safe(format!(
                "SELECT {key} AS k, level, loop_state, COUNT(*) AS n FROM ratings{filter} GROUP BY {key}, level, loop_state"
            ))
        };
        let rows = match agencies {
            None => crate::db::query(sql("")).fetch_all(self.read()).await?,
            Some(list) => {
                let mut rows = Vec::new();
                for a in list {
                    rows.extend(crate::db::query(sql(" WHERE agency_uscc = $1")).bind(a.as_str()).fetch_all(self.read()).await?);
                }
                rows
            }
        };
        rows.iter()
            .map(|r| {
                let level: i64 = r.try_get("level")?;
                let level = u8::try_from(level)
                    .ok()
                    .and_then(yiwang_supervision::ratings::Satisfaction::new)
                    .ok_or_else(|| StoreError::Corrupt(format!("rating level {level}")))?;
                let state: Option<String> = r.try_get("loop_state")?;
                let state = state
                    .map(|s| serde_json::from_value(serde_json::Value::String(s)))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("loop state: {e}")))?;
                Ok((r.try_get("k")?, level, state, r.try_get("n")?))
            })
            .collect()
    }

    /// Write a loop event at `expected_version`, the loop as it leaves it, and
    /// the rater's notice; `Conflict` when another event came first.
    pub async fn write_loop_event(
        &self,
        row: &RatingRow,
        actor_name: &str,
        event: &LoopEvent,
        after: &Loop,
        notice: Option<&RaterNotice>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let at = ts(event.at);
        let next = row.version + 1;
        let done = crate::db::query("UPDATE ratings SET loop_state = $3, loop = $4, version = $5 WHERE id = $1 AND version = $2")
            .bind(&row.id)
            .bind(row.version)
            .bind(crate::code_text(&after.state)?)
            .bind(json(after)?)
            .bind(next)
            .execute(&mut tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("该差评已被他人处理，请刷新后重试 / the rating changed meanwhile; reload".into()));
        }
        crate::db::query("INSERT INTO rating_loop_events (rating_id, seq, at, actor, actor_name, event) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&row.id)
            .bind(next)
            .bind(&at)
            .bind(&event.actor)
            .bind(actor_name)
            .bind(json(event)?)
            .execute(&mut tx)
            .await?;
        if let Some(n) = notice {
            let id = ordered_id("ntc");
            let written = crate::db::query(
                "INSERT INTO notices (id, account_id, case_no, kind, title, body, created_at) \
                 SELECT $1, a.id, $3, $7, $4, $5, $6 FROM accounts a WHERE a.id = $2 AND a.status = 'active'",
            )
            .bind(&id)
            .bind(&row.rater_account)
            .bind(&row.rating.case_no)
            .bind(&n.title)
            .bind(&n.body)
            .bind(&at)
            .bind(crate::RATING_FEEDBACK_NOTICE)
            .execute(&mut tx)
            .await?;
            if written.rows_affected() > 0 {
                let sms = format!("【一网通办】{}：办件 {}，请登录查看。", n.title, row.rating.case_no);
                tx.queue_notice_copies(&id, &row.rater_account, &n.title, &n.body, &sms, &at).await?;
            } else if let Some(phone) = n.phone.as_deref().filter(|p| !p.trim().is_empty()) {
                // No account to tell: the body itself goes by SMS to the case's contact phone.
                let sms = format!("【一网通办】{}：办件 {}。{}", n.title, row.rating.case_no, n.body);
                tx.queue_sms(phone.trim(), &n.title, &sms, &at).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
