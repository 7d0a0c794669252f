//! The integration API's persistence. Outgoing: an agency's webhooks, and the
//! webhook outbox — each exchanged case event (GB/T 39046 表5–8) becomes one
//! delivery per matching subscription in the transaction that records the
//! event, so nothing recorded is left unsent and nothing unrecorded is sent;
//! a dispatcher claims due deliveries and retries with back-off. Incoming:
//! records from a department's own system, written with their idempotency
//! key in the same transaction as their events.

use crate::db::RowLike;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use yiwang_calendar::Calendar;
use yiwang_case::gbt39046::{CaseRef, outgoing};
use yiwang_case::{Case, Envelope};

use crate::cases::{CResult, CaseStoreError, in_list};
use crate::{CaseRow, Result, Store, StoreError, Tx, safe, ts};

/// A subscription (the secret is never read back).
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: String,
    pub agency_uscc: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub created_by: String,
    pub created_at: String,
}

/// A due delivery, claimed for a minute.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub payload: String,
    pub attempts: i64,
}

/// A delivery as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryStatus {
    pub id: String,
    pub case_no: String,
    pub kind: String,
    pub created_at: String,
    pub attempts: i64,
    pub sent_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// Who sent a record, under which idempotency key, and the hash of its body.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey<'a> {
    pub caller: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
}

/// The outcome of an incoming record: newly recorded, or the stored answer to
/// the same key and body.
#[derive(Debug, Clone)]
pub enum Recorded {
    New(Value),
    Replayed(Value),
}

fn webhook_row(r: &crate::db::Row) -> Result<Webhook> {
    let events: String = r.try_get("events")?;
    Ok(Webhook {
        id: r.try_get("id")?,
        agency_uscc: r.try_get("agency_uscc")?,
        url: r.try_get("url")?,
        events: serde_json::from_str(&events).map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Tx {
    /// The stored answer to (caller, key), if the body matches; a different body is an error.
    async fn stored_integration(&mut self, caller: &str, key: &str, request_hash: &str) -> CResult<Option<Value>> {
        let row = crate::db::query("SELECT request_hash, response FROM integration_requests WHERE caller = $1 AND idem_key = $2")
            .bind(caller)
            .bind(key)
            .fetch_optional(&mut *self)
            .await
            .map_err(StoreError::from)?;
        let Some(row) = row else { return Ok(None) };
        let hash: String = row.try_get("request_hash").map_err(StoreError::from)?;
        if hash != request_hash {
            return Err(CaseStoreError::KeyReused);
        }
        let text: String = row.try_get("response").map_err(StoreError::from)?;
        Ok(Some(serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("stored integration response: {e}")))?))
    }

    /// The deliveries of one recorded event: one per active subscription of
    /// the case's agency that wants this record type.
    pub(crate) async fn enqueue_webhooks(
        &mut self,
        c: &CaseRow,
        after: &Case,
        due: (Option<String>, Option<String>),
        e: &Envelope,
        seq: i64,
    ) -> Result<()> {
        let hooks = crate::db::query("SELECT id, events FROM webhooks WHERE agency_uscc = $1 AND active = 1")
            .bind(&c.agency_uscc)
            .fetch_all(&mut *self)
            .await?;
        if hooks.is_empty() {
            return Ok(());
        }
        let case = CaseRef {
            case_no: &c.case_no,
            implementation_code: &c.item_code,
            item_name: &c.item_name,
            agency_uscc: &c.agency_uscc,
            channel: &c.channel,
            promised_due: due.0.as_deref(),
            legal_due: due.1.as_deref(),
        };
        let Some((kind, data)) = outgoing(case, e, after) else { return Ok(()) };
        for h in &hooks {
            let id: String = h.try_get("id")?;
            let events: Vec<String> = serde_json::from_str(&h.try_get::<String, _>("events")?).unwrap_or_default();
            if !events.iter().any(|x| x == "*" || x == kind) {
                continue;
            }
            // Stable per subscription and event: the receiver's deduplication key.
            let delivery = format!("{id}.{}.{seq}", c.case_no);
            let payload = json!({ "id": delivery, "type": kind, "occurred_at": ts(e.at), "seq": seq, "data": data });
            crate::db::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, case_no, seq, kind, payload, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&delivery)
            .bind(&id)
            .bind(&c.case_no)
            .bind(seq)
            .bind(kind)
            .bind(payload.to_string())
            // Queued now (an event may carry an earlier time reported by a department
            // system): the one clock read in the store, for the outbox's order.
            .bind(ts(queued_at()))
            .execute(&mut *self)
            .await?;
        }
        Ok(())
    }
}

impl Store {
    /// Subscribe `url` to the agency's case records. Returns the webhook and
    /// its signing secret, which is shown this once.
    /// The secret is stored wrapped under `master` when the node has one.
    pub async fn create_webhook(
        &self,
        agency: &str,
        url: &str,
        events: &[String],
        actor: &str,
        now: Timestamp,
        master: Option<&yiwang_crypto::seal::MasterKey>,
    ) -> Result<(Webhook, String)> {
        // Standard Webhooks: `whsec_` and 32 random bytes in base64; the bytes are the HMAC key.
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key[..]);
        let secret = format!("whsec_{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key));
        let id = format!("wh_{}", &yiwang_identity::new_token()[..16]);
        let events_text = serde_json::to_string(events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        crate::db::query(
            "INSERT INTO webhooks (id, agency_uscc, url, secret, events, active, created_by, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
        )
        .bind(&id)
        .bind(agency)
        .bind(url)
        .bind(crate::secrets::seal(master, &crate::secrets::webhook_aad(&id), &secret))
        .bind(&events_text)
        .bind(actor)
        .bind(ts(now))
        .execute(&mut tx)
        .await?;
        tx.append_audit(yiwang_audit::AuditRecord {
            at: ts(now),
            actor: actor.into(),
            action: "webhook.created".into(),
            object_type: "webhook".into(),
            object_id: id.clone(),
            reason: String::new(),
            data: json!({ "agency": agency, "url": url, "events": events }).to_string(),
        })
        .await?;
        tx.commit().await?;
        let hook = Webhook {
            id,
            agency_uscc: agency.into(),
            url: url.into(),
            events: events.to_vec(),
            active: true,
            created_by: actor.into(),
            created_at: ts(now),
        };
        Ok((hook, secret))
    }

    /// The subscriptions of these agencies.
    pub async fn webhooks_of(&self, agencies: &[&str]) -> Result<Vec<Webhook>> {
        if agencies.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, agency_uscc, url, events, active, created_by, created_at FROM webhooks WHERE agency_uscc IN ({}) ORDER BY created_at",
            in_list(1, agencies.len())
        );
        let mut q = crate::db::query(safe(sql));
        for a in agencies {
            q = q.bind(*a);
        }
        q.fetch_all(self.read()).await?.iter().map(webhook_row).collect()
    }

    pub async fn webhook(&self, id: &str) -> Result<Option<Webhook>> {
        let row = crate::db::query("SELECT id, agency_uscc, url, events, active, created_by, created_at FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(webhook_row).transpose()
    }

    /// Stop a subscription; its pending deliveries are not sent.
    pub async fn deactivate_webhook(&self, id: &str, actor: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        crate::db::query("UPDATE webhooks SET active = 0 WHERE id = $1").bind(id).execute(&mut tx).await?;
        tx.append_audit(yiwang_audit::AuditRecord {
            at: ts(now),
            actor: actor.into(),
            action: "webhook.deactivated".into(),
            object_type: "webhook".into(),
            object_id: id.into(),
            reason: String::new(),
            data: "{}".into(),
        })
        .await?;
        tx.commit().await
    }

    /// A subscription's recent deliveries, newest first.
    pub async fn webhook_deliveries(&self, webhook_id: &str, limit: i64) -> Result<Vec<DeliveryStatus>> {
        let rows = crate::db::query(
            "SELECT id, case_no, kind, created_at, attempts, sent_at, last_status, last_error FROM webhook_deliveries \
             WHERE webhook_id = $1 ORDER BY created_at DESC, case_no, seq DESC LIMIT $2",
        )
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryStatus {
                    id: r.try_get("id")?,
                    case_no: r.try_get("case_no")?,
                    kind: r.try_get("kind")?,
                    created_at: r.try_get("created_at")?,
                    attempts: r.try_get("attempts")?,
                    sent_at: r.try_get("sent_at")?,
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Claim up to `limit` due deliveries of active subscriptions, oldest
    /// first; a claim lapses after a minute so a crashed dispatcher's are retried.
    /// Secrets come unwrapped with `master`.
    pub async fn claim_webhook_deliveries(
        &self,
        limit: i64,
        now: Timestamp,
        master: Option<&yiwang_crypto::seal::MasterKey>,
    ) -> Result<Vec<WebhookDelivery>> {
        let mut tx = self.begin().await?;
        let lock = if tx.is_postgres() { " FOR UPDATE OF d SKIP LOCKED" } else { "" };
        let sql = format!(
            "SELECT d.id, h.id AS hook_id, h.url, h.secret, d.payload, d.attempts FROM webhook_deliveries d JOIN webhooks h ON h.id = d.webhook_id \
             WHERE d.sent_at IS NULL AND h.active = 1 AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
             ORDER BY d.created_at, d.case_no, d.seq LIMIT $2{lock}"
        );
        let rows = crate::db::query(safe(sql)).bind(ts(now)).bind(limit).fetch_all(&mut tx).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let hook_id: String = r.try_get("hook_id")?;
            let stored: String = r.try_get("secret")?;
            let d = WebhookDelivery {
                id: r.try_get("id")?,
                url: r.try_get("url")?,
                secret: crate::secrets::open(master, &crate::secrets::webhook_aad(&hook_id), &stored)?.to_string(),
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
            };
            crate::db::query("UPDATE webhook_deliveries SET claimed_until = $1 WHERE id = $2")
                .bind(ts(now + SignedDuration::from_mins(1)))
                .bind(&d.id)
                .execute(&mut tx)
                .await?;
            out.push(d);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Mark a batch of deliveries done in one statement per status (one commit
    /// for the batch: a crash before it means those are sent again, which the
    /// receiver's deduplication by `webhook-id` absorbs).
    pub async fn webhooks_delivered(&self, done: &[(String, u16)], now: Timestamp) -> Result<()> {
        let mut statuses: Vec<u16> = done.iter().map(|d| d.1).collect();
        statuses.sort_unstable();
        statuses.dedup();
        for status in statuses {
            let ids: Vec<&str> = done.iter().filter(|d| d.1 == status).map(|d| d.0.as_str()).collect();
            for chunk in ids.chunks(200) {
                let sql = format!(
                    "UPDATE webhook_deliveries SET sent_at = $1, attempts = attempts + 1, last_status = $2, last_error = NULL, \
                     claimed_until = NULL WHERE id IN ({})",
                    in_list(3, chunk.len())
                );
                let mut q = crate::db::query(safe(sql)).bind(ts(now)).bind(i64::from(status));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(self.write()).await?;
            }
        }
        Ok(())
    }

    /// A failed attempt: retried with exponential back-off (capped at an hour).
    pub async fn webhook_failed(&self, id: &str, attempts: i64, status: Option<u16>, error: &str, now: Timestamp) -> Result<()> {
        crate::db::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $1, last_error = $2, next_attempt_at = $3, \
             claimed_until = NULL WHERE id = $4",
        )
        .bind(status.map(i64::from))
        .bind(error)
        .bind(ts(now + crate::backoff(attempts)))
        .bind(id)
        .execute(self.write())
        .await?;
        Ok(())
    }

    /// Record an incoming record's events on a case with its idempotency key,
    /// in one transaction. The same key with the same body answers the stored
    /// response (`Replayed`); with another body, 409 `integration.key_reused`.
    pub async fn record_integration(
        &self,
        idem: IdempotencyKey<'_>,
        case_no: &str,
        envelopes: &[Envelope],
        calendar: &Calendar,
        master: Option<&yiwang_crypto::seal::MasterKey>,
    ) -> CResult<Recorded> {
        let mut raced = 0;
        loop {
            match self.record_integration_once(idem, case_no, envelopes, calendar, master).await {
                // 多证同发: a sibling ended meanwhile; prepare again for the join.
                Err(CaseStoreError::BundleJoinRaced(_)) if raced < crate::conclusion::JOIN_RETRIES => raced += 1,
                other => return other,
            }
        }
    }

    async fn record_integration_once(
        &self,
        idem: IdempotencyKey<'_>,
        case_no: &str,
        envelopes: &[Envelope],
        calendar: &Calendar,
        master: Option<&yiwang_crypto::seal::MasterKey>,
    ) -> CResult<Recorded> {
        let IdempotencyKey { caller, key, request_hash } = idem;
        // 办结 in a record issues the item's license as the staff path does; only
        // then is the case read ahead of the transaction.
        let issuing = if envelopes.iter().any(|e| matches!(e.event, yiwang_case::Event::Concluded { .. })) {
            let before = self.case(case_no).await?;
            self.licenses_to_issue(&before, envelopes, master).await?
        } else {
            None
        };
        let mut tx = self.begin().await?;
        let mut row = tx.case_for_update(case_no).await?;
        // Checked under the case's lock: a concurrent retry of the same key
        // waits here for the first, then finds its answer.
        if let Some(stored) = tx.stored_integration(caller, key, request_hash).await? {
            return Ok(Recorded::Replayed(stored));
        }
        let mut issued = Vec::new();
        for e in envelopes {
            let (next, license) = tx.write_event_issuing(row, e, None, calendar, issuing.as_ref()).await?;
            row = next;
            issued.extend(license);
        }
        let response = json!({
            "case_no": row.case_no, "state": row.state.code(), "version": row.version,
            "recorded": envelopes.iter().map(|e| e.event.name()).collect::<Vec<_>>(),
            "promised_due": row.promised_due, "legal_due": row.legal_due, "licenses": issued,
        });
        let inserted = crate::db::query(
            "INSERT INTO integration_requests (caller, idem_key, request_hash, case_no, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (caller, idem_key) DO NOTHING",
        )
        .bind(caller)
        .bind(key)
        .bind(request_hash)
        .bind(case_no)
        .bind(response.to_string())
        .bind(ts(queued_at()))
        .execute(&mut tx)
        .await
        .map_err(StoreError::from)?
        .rows_affected();
        if inserted == 0 {
            // The same key won a race: this attempt is dropped (rolled back) and
            // the winner's answer stands.
            drop(tx);
            let mut tx = self.begin().await?;
            return match tx.stored_integration(caller, key, request_hash).await? {
                Some(stored) => Ok(Recorded::Replayed(stored)),
                None => Err(CaseStoreError::KeyReused),
            };
        }
        tx.commit().await?;
        Ok(Recorded::New(response))
    }
}

/// When a row is queued: the store's only wall-clock read (clippy.toml forbids
/// the others), for outbox rows whose events may carry a department system's
/// earlier time, and for the time half of `ordered_id` (key order, not a rule).
#[allow(clippy::disallowed_methods)]
pub(crate) fn queued_at() -> Timestamp {
    Timestamp::now()
}
