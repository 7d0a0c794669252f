//! Asynchronous delivery between nodes, upward aggregation and log-head
//! anchoring (issue 21, docs/exchange.md): the exchange outbox (sealed events
//! sent until a signed receipt comes back), the queue of GB/T 39046 records
//! for the parent node, the records held from the nodes below, and the log
//! heads sent up and held from below. The rules (what is sealed, who
//! may push what) are the web crate's; this holds the SQL.

use base64::Engine;
use serde::Serialize;

use crate::db::RowLike;
use crate::{Result, Store, StoreError, Tx, ts};

/// A sealed event waiting in the outbox (or done with).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEvent {
    pub msg_id: String,
    pub to_node: String,
    pub service: String,
    #[serde(skip)]
    pub envelope: String,
    /// SM3 of the header bytes: what the receipt's `in_reply_to` names.
    pub env_sm3: String,
    #[serde(skip)]
    pub signature: String,
    pub content_type: String,
    #[serde(skip)]
    pub body: Vec<u8>,
    pub created_at: String,
    pub expires_at: String,
    /// `pending`, `delivered`, `rejected` or `expired`.
    pub state: String,
    pub attempts: i64,
    pub next_at: String,
    pub last_error: Option<String>,
    pub receipt_msg_id: Option<String>,
    pub done_at: Option<String>,
}

/// A new event, sealed, for `Tx::enqueue_exchange_event`.
pub struct NewOutboxEvent<'a> {
    pub msg_id: &'a str,
    pub to_node: &'a str,
    pub service: &'a str,
    pub envelope: &'a str,
    pub env_sm3: &'a str,
    pub signature: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
    pub expires_at: jiff::Timestamp,
}

/// Rows per multi-row statement (well under both dialects' limits on bound values).
const ROWS_PER_STATEMENT: usize = 500;

/// `($1, $2, …), (…)`: `rows` groups of `columns` placeholders.
fn values(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=columns).map(|c| format!("${}", r * columns + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

const OUTBOX_COLUMNS: &str = "msg_id, to_node, service, envelope, env_sm3, signature, content_type, body, created_at, expires_at, state, \
                              attempts, next_at, last_error, receipt_msg_id, done_at";

fn outbox_row(r: &crate::db::Row) -> Result<OutboxEvent> {
    let body: String = r.try_get("body")?;
    Ok(OutboxEvent {
        msg_id: r.try_get("msg_id")?,
        to_node: r.try_get("to_node")?,
        service: r.try_get("service")?,
        envelope: r.try_get("envelope")?,
        env_sm3: r.try_get("env_sm3")?,
        signature: r.try_get("signature")?,
        content_type: r.try_get("content_type")?,
        body: base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| StoreError::Corrupt(format!("outbox body: {e}")))?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_at: r.try_get("next_at")?,
        last_error: r.try_get("last_error")?,
        receipt_msg_id: r.try_get("receipt_msg_id")?,
        done_at: r.try_get("done_at")?,
    })
}

/// One GB/T 39046 record on its way up, or held from below.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct UpwardRecord {
    /// The node it was made at (empty in this node's own queue: this node).
    #[serde(default)]
    pub source_node: String,
    /// Unique at its source node (`{case_no}.{event seq}`).
    pub record_id: String,
    /// The record type (`case.accepted`…).
    pub kind: String,
    pub agency_uscc: String,
    pub occurred_at: String,
    pub data: serde_json::Value,
}

/// How many records of one kind a source node has sent up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AggregateCount {
    pub source_node: String,
    pub kind: String,
    pub records: i64,
    pub last_at: String,
}

impl Tx {
    /// An event was delivered: its receipt's id; the receipt is in the log.
    pub async fn exchange_event_delivered(&mut self, msg_id: &str, receipt_msg_id: &str, now: jiff::Timestamp) -> Result<()> {
        crate::db::query(
            "UPDATE exchange_outbox SET state = 'delivered', receipt_msg_id = $1, done_at = $2, attempts = attempts + 1, last_error = NULL \
             WHERE msg_id = $3 AND state = 'pending'",
        )
        .bind(receipt_msg_id)
        .bind(ts(now))
        .bind(msg_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// A failed attempt at `e` (as the dispatcher read it): try again after a
    /// back-off; past its expiry (or refused for good, `final_state`), it is
    /// done with.
    pub async fn exchange_event_failed(
        &mut self,
        e: &OutboxEvent,
        error: &str,
        final_state: Option<&str>,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let msg_id = e.msg_id.as_str();
        // Quick at first (a node restarting), then backing off to a minute.
        let wait = jiff::SignedDuration::from_millis((250i64 << e.attempts.clamp(0, 8)).min(60_000));
        let next = now + wait;
        let state = final_state.or((ts(next) > e.expires_at).then_some("expired"));
        crate::db::query(
            "UPDATE exchange_outbox SET attempts = attempts + 1, last_error = $1, next_at = $2, state = COALESCE($3, state), \
             done_at = CASE WHEN $3 IS NULL THEN NULL ELSE $4 END WHERE msg_id = $5 AND state = 'pending'",
        )
        .bind(error.chars().take(500).collect::<String>())
        .bind(ts(next))
        .bind(state)
        .bind(ts(now))
        .bind(msg_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Keep a sealed event for the dispatcher, in the transaction that made it.
    pub async fn enqueue_exchange_event(&mut self, e: &NewOutboxEvent<'_>, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO exchange_outbox (msg_id, to_node, service, envelope, env_sm3, signature, content_type, body, created_at, \
             expires_at, state, attempts, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $9)",
        )
        .bind(e.msg_id)
        .bind(e.to_node)
        .bind(e.service)
        .bind(e.envelope)
        .bind(e.env_sm3)
        .bind(e.signature)
        .bind(e.content_type)
        .bind(base64::engine::general_purpose::STANDARD.encode(e.body))
        .bind(&at)
        .bind(ts(e.expires_at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Queue records for the parent (this node's own have an empty source
    /// node); one already queued is left as it is. Many rows per statement.
    pub async fn queue_upward(&mut self, records: &[UpwardRecord], now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO upward_records (source_node, record_id, queued_at, kind, agency_uscc, occurred_at, data) VALUES {} \
                 ON CONFLICT (source_node, record_id) DO NOTHING",
                values(chunk.len(), 7)
            );
            let mut q = crate::db::query(crate::safe(sql));
            for r in chunk {
                q = q
                    .bind(&r.source_node)
                    .bind(&r.record_id)
                    .bind(&at)
                    .bind(&r.kind)
                    .bind(&r.agency_uscc)
                    .bind(&r.occurred_at)
                    .bind(r.data.to_string());
            }
            q.execute(&mut *self).await?;
        }
        Ok(())
    }

    /// The oldest `limit` queued records, in order.
    pub async fn upward_batch(&mut self, limit: i64) -> Result<Vec<UpwardRecord>> {
        let rows = crate::db::query(
            "SELECT source_node, record_id, kind, agency_uscc, occurred_at, data FROM upward_records \
             ORDER BY queued_at, source_node, record_id LIMIT $1",
        )
        .bind(limit.clamp(1, 100_000))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(upward_row).collect()
    }

    /// Drop records once they are sealed into the outbox.
    pub async fn unqueue_upward(&mut self, records: &[UpwardRecord]) -> Result<()> {
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let sql = format!("DELETE FROM upward_records WHERE (source_node, record_id) IN ({})", values(chunk.len(), 2));
            let mut q = crate::db::query(crate::safe(sql));
            for r in chunk {
                q = q.bind(&r.source_node).bind(&r.record_id);
            }
            q.execute(&mut *self).await?;
        }
        Ok(())
    }

    /// Keep records pushed from below, each once; returns those that were new
    /// (a resend, or a record that came by another path, adds nothing).
    pub async fn hold_aggregated(
        &mut self,
        via_node: &str,
        msg_id: &str,
        records: &[UpwardRecord],
        now: jiff::Timestamp,
    ) -> Result<Vec<UpwardRecord>> {
        let at = ts(now);
        let mut fresh = Vec::new();
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO aggregated_records (source_node, record_id, via_node, kind, agency_uscc, occurred_at, data, received_at, msg_id) \
                 VALUES {} ON CONFLICT (source_node, record_id) DO NOTHING RETURNING source_node, record_id",
                values(chunk.len(), 9)
            );
            let mut q = crate::db::query(crate::safe(sql));
            for r in chunk {
                q = q
                    .bind(&r.source_node)
                    .bind(&r.record_id)
                    .bind(via_node)
                    .bind(&r.kind)
                    .bind(&r.agency_uscc)
                    .bind(&r.occurred_at)
                    .bind(r.data.to_string())
                    .bind(&at)
                    .bind(msg_id);
            }
            let inserted = q.fetch_all(&mut *self).await?;
            let mut new: std::collections::HashSet<(String, String)> = std::collections::HashSet::with_capacity(inserted.len());
            for row in &inserted {
                new.insert((row.try_get("source_node")?, row.try_get("record_id")?));
            }
            // In the order they came.
            fresh.extend(chunk.iter().filter(|r| new.contains(&(r.source_node.clone(), r.record_id.clone()))).cloned());
        }
        Ok(fresh)
    }
}

fn upward_row(r: &crate::db::Row) -> Result<UpwardRecord> {
    let data: String = r.try_get("data")?;
    Ok(UpwardRecord {
        source_node: r.try_get("source_node")?,
        record_id: r.try_get("record_id")?,
        kind: r.try_get("kind")?,
        agency_uscc: r.try_get("agency_uscc")?,
        occurred_at: r.try_get("occurred_at")?,
        data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(format!("upward record: {e}")))?,
    })
}

impl Store {
    /// Each target's oldest `per_target` pending events, in order (created,
    /// then id): what the dispatcher walks.
    pub async fn pending_exchange_events(&self, per_target: i64) -> Result<Vec<OutboxEvent>> {
        // The oldest `per_target` of each target, so one target's backlog holds up no other.
        let rows = crate::db::query(crate::safe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox WHERE msg_id IN (SELECT msg_id FROM (SELECT msg_id, \
             ROW_NUMBER() OVER (PARTITION BY to_node ORDER BY created_at, msg_id) AS n FROM exchange_outbox WHERE state = 'pending') p \
             WHERE n <= $1) ORDER BY to_node, created_at, msg_id LIMIT 10000"
        )))
        .bind(per_target.clamp(1, 1000))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// The outbox, newest first (operators' view).
    pub async fn exchange_outbox(&self, limit: i64) -> Result<Vec<OutboxEvent>> {
        let rows = crate::db::query(crate::safe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox ORDER BY created_at DESC, msg_id DESC LIMIT $1"
        )))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// How many events wait, and the oldest one's creation time.
    pub async fn exchange_outbox_depth(&self) -> Result<(i64, Option<String>)> {
        let r = crate::db::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM exchange_outbox WHERE state = 'pending'")
            .fetch_one(self.read())
            .await?;
        Ok((r.try_get("n")?, r.try_get("oldest")?))
    }

    /// Whether this node queues its case events for its parent (read with
    /// each case event's write).
    pub async fn set_upward_aggregation(&self, enabled: bool) -> Result<()> {
        crate::db::query("UPDATE upward_aggregation SET enabled = $1 WHERE id = 1").bind(i64::from(enabled)).execute(self.write()).await?;
        Ok(())
    }

    /// How many records wait to go up.
    pub async fn upward_queue_len(&self) -> Result<i64> {
        Ok(crate::db::query("SELECT COUNT(*) AS n FROM upward_records").fetch_one(self.read()).await?.try_get("n")?)
    }

    /// The records held from below, counted per source node and kind.
    pub async fn aggregate_counts(&self) -> Result<Vec<AggregateCount>> {
        let rows = crate::db::query(
            "SELECT source_node, kind, COUNT(*) AS n, MAX(occurred_at) AS last_at FROM aggregated_records \
             GROUP BY source_node, kind ORDER BY source_node, kind LIMIT 10000",
        )
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AggregateCount {
                    source_node: r.try_get("source_node")?,
                    kind: r.try_get("kind")?,
                    records: r.try_get("n")?,
                    last_at: r.try_get::<Option<String>, _>("last_at")?.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// How many records are held from below, and how many distinct (source, id): equal, always.
    pub async fn aggregated_totals(&self) -> Result<i64> {
        Ok(crate::db::query("SELECT COUNT(*) AS n FROM aggregated_records").fetch_one(self.read()).await?.try_get("n")?)
    }
}

impl Tx {
    /// Whether this node sends records up (`[exchange] aggregate_upward`).
    pub(crate) async fn aggregating_upward(&mut self) -> Result<bool> {
        let upward: Option<i64> = crate::db::query("SELECT enabled FROM upward_aggregation WHERE id = 1")
            .fetch_optional(&mut *self)
            .await?
            .map(|r| r.try_get("enabled"))
            .transpose()?;
        Ok(upward == Some(1))
    }

    /// 汇聚: the GB/T 39046 事项 record of a version just published, queued
    /// for the parent node in the publication's transaction when records go up.
    pub(crate) async fn queue_item_record(&mut self, doc: &yiwang_catalog::ItemDoc, version: i64, at: &str) -> Result<()> {
        if !self.aggregating_upward().await? {
            return Ok(());
        }
        let record = UpwardRecord {
            source_node: String::new(),
            record_id: format!("{}.v{version}", doc.implementation_code),
            kind: yiwang_catalog::gbt39046::ITEM_PUBLISHED.to_string(),
            agency_uscc: doc.agency.uscc.clone(),
            occurred_at: at.to_string(),
            data: yiwang_catalog::gbt39046::item_record(doc, version),
        };
        self.queue_upward(std::slice::from_ref(&record), crate::integration::queued_at()).await
    }

    /// 汇聚: the GB/T 39046 record of a case event, queued for the parent node
    /// in the event's transaction (events not exchanged make none).
    pub(crate) async fn queue_case_record(
        &mut self,
        c: &crate::CaseRow,
        after: &yiwang_case::Case,
        due: (Option<String>, Option<String>),
        e: &yiwang_case::Envelope,
        seq: i64,
    ) -> Result<()> {
        let case = yiwang_case::gbt39046::CaseRef {
            case_no: &c.case_no,
            implementation_code: &c.item_code,
            item_name: &c.item_name,
            agency_uscc: &c.agency_uscc,
            channel: &c.channel,
            promised_due: due.0.as_deref(),
            legal_due: due.1.as_deref(),
        };
        let Some((kind, data)) = yiwang_case::gbt39046::outgoing(case, e, after) else { return Ok(()) };
        let record = UpwardRecord {
            source_node: String::new(),
            record_id: format!("{}.{seq}", c.case_no),
            kind: kind.to_string(),
            agency_uscc: c.agency_uscc.clone(),
            occurred_at: ts(e.at),
            data,
        };
        // Queued now (an event may carry an earlier time): the order records go up in.
        self.queue_upward(std::slice::from_ref(&record), crate::integration::queued_at()).await
    }
}

/// A child's head as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldAnchor {
    pub child_node: String,
    pub seq: i64,
    pub hash: String,
    pub msg_id: String,
    pub anchored_at: String,
}

/// What a child's head is, against those held before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorCheck {
    New,
    /// The same head again (a resend).
    Same,
    /// Another hash at a held seq: the child's history was rewritten.
    Conflict {
        held_seq: i64,
        held_hash: String,
    },
}

/// An anchored head whose entry in this node's log no longer has the hash the
/// parent countersigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorMismatch {
    pub seq: i64,
    pub anchored: String,
    pub now: Option<String>,
}

impl Tx {
    /// Keep a head this node sent up, with the event that carries it.
    pub async fn record_anchor_sent(&mut self, seq: i64, hash: &str, msg_id: &str, now: jiff::Timestamp) -> Result<()> {
        crate::db::query("INSERT INTO exchange_anchors_sent (seq, hash, msg_id, made_at) VALUES ($1, $2, $3, $4)")
            .bind(seq)
            .bind(hash)
            .bind(msg_id)
            .bind(ts(now))
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Hold a child's head unless it contradicts the one held at that seq.
    pub async fn hold_anchor(&mut self, child: &str, seq: i64, hash: &str, msg_id: &str, now: jiff::Timestamp) -> Result<AnchorCheck> {
        let held = crate::db::query("SELECT hash FROM exchange_anchors_held WHERE child_node = $1 AND seq = $2")
            .bind(child)
            .bind(seq)
            .fetch_optional(&mut *self)
            .await?;
        if let Some(r) = held {
            let held_hash: String = r.try_get("hash")?;
            return Ok(if held_hash == hash { AnchorCheck::Same } else { AnchorCheck::Conflict { held_seq: seq, held_hash } });
        }
        crate::db::query("INSERT INTO exchange_anchors_held (child_node, seq, hash, msg_id, anchored_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(child)
            .bind(seq)
            .bind(hash)
            .bind(msg_id)
            .bind(ts(now))
            .execute(&mut *self)
            .await?;
        Ok(AnchorCheck::New)
    }
}

impl Store {
    /// The log head: its sequence number and hash.
    pub async fn exchange_log_head(&self) -> Result<(i64, String)> {
        let r = crate::db::query("SELECT seq, hash FROM exchange_log_head WHERE id = 1").fetch_one(self.read()).await?;
        Ok((r.try_get("seq")?, r.try_get("hash")?))
    }

    /// The last head this node sent up.
    pub async fn last_anchor_sent(&self) -> Result<Option<(i64, String)>> {
        let r =
            crate::db::query("SELECT seq, hash FROM exchange_anchors_sent ORDER BY seq DESC LIMIT 1").fetch_optional(self.read()).await?;
        r.map(|r| Ok((r.try_get("seq")?, r.try_get("hash")?))).transpose()
    }

    /// The heads children sent, newest first.
    pub async fn anchors_held(&self, limit: i64) -> Result<Vec<HeldAnchor>> {
        let rows = crate::db::query(
            "SELECT child_node, seq, hash, msg_id, anchored_at FROM exchange_anchors_held ORDER BY anchored_at DESC, child_node LIMIT $1",
        )
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HeldAnchor {
                    child_node: r.try_get("child_node")?,
                    seq: r.try_get("seq")?,
                    hash: r.try_get("hash")?,
                    msg_id: r.try_get("msg_id")?,
                    anchored_at: r.try_get("anchored_at")?,
                })
            })
            .collect()
    }

    /// The heads this node's parent countersigned (their events delivered)
    /// whose log entry no longer has that hash: history rewritten after it
    /// was anchored. Empty when the log agrees with every anchor.
    pub async fn anchor_mismatches(&self) -> Result<(usize, Vec<AnchorMismatch>)> {
        let rows = crate::db::query(
            "SELECT a.seq, a.hash, l.hash AS now FROM exchange_anchors_sent a \
             JOIN exchange_outbox o ON o.msg_id = a.msg_id AND o.state = 'delivered' \
             LEFT JOIN exchange_log l ON l.seq = a.seq ORDER BY a.seq",
        )
        .fetch_all(self.read())
        .await?;
        let mut bad = Vec::new();
        for r in &rows {
            let (seq, anchored, now): (i64, String, Option<String>) = (r.try_get("seq")?, r.try_get("hash")?, r.try_get("now")?);
            if now.as_deref() != Some(anchored.as_str()) {
                bad.push(AnchorMismatch { seq, anchored, now });
            }
        }
        Ok((rows.len(), bad))
    }
}
