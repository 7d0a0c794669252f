//! One-way messages between nodes (issue 21, docs/exchange.md §5) and the
//! upward aggregation they carry. An event is sealed and logged in the
//! business transaction that makes it and kept in the exchange outbox; the
//! dispatcher sends the identical bytes, each target's events in order, until
//! the receiver's signed receipt comes back. The receiver logs the event and
//! acts on it in one transaction, and keeps its receipt, so a resend is
//! answered with the same receipt and acted on once.
//!
//! 汇聚: with `[exchange] aggregate_upward`, each exchanged case event's GB/T
//! 39046 record is queued in the event's transaction (`upward_records`), and
//! sent to the parent in batches (`stats/records/v1`). The parent keeps each
//! record once by (source node, record id) and, aggregating upward itself,
//! queues what was new for its own parent.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use yiwang_exchange::{BodyRef, ClientId, Direction, ExchangeError, Header, Kind, NodeId, Opened, Recipient, Sender};
use yiwang_store::{Logged, NewOutboxEvent, OutboxEvent, Store, Tx, UpwardRecord};

use crate::AppState;
use crate::exchange::{CallError, ExchangeRuntime, Outcome, Registry, at_or_below, json_outcome, parse_body, record, reply_replay};

/// A one-way event for another node.
pub struct EventOut<'a> {
    pub from: &'a ClientId,
    pub to: &'a NodeId,
    /// `{member}/{subsystem}/{code}/{version}` at the receiving node.
    pub service: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// What the receiver says in its signed receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptBody {
    /// `accepted`.
    pub status: String,
    pub received_at: String,
    /// The event's entry in the receiver's message log.
    pub log_seq: i64,
    /// What the service made of it.
    #[serde(default)]
    pub result: serde_json::Value,
}

/// How many records go up in one message.
pub const RECORDS_PER_MESSAGE: usize = 1000;

/// How many of a target's events are in flight at once. They leave in order;
/// the receiver may log those in flight together in another order.
pub const WINDOW: usize = 32;

/// How many windows' worth of events one round of the dispatcher reads per target.
const WINDOWS_PER_ROUND: usize = 4;

/// Deliveries under way, each giving its event and how it went.
type InFlight<'a> = Vec<std::pin::Pin<Box<dyn std::future::Future<Output = (&'a OutboxEvent, Delivery)> + Send + 'a>>>;

/// The first delivery under way to be answered, taken out of `in_flight`
/// (which must not be empty).
async fn next_answered<'a>(in_flight: &mut InFlight<'a>) -> (&'a OutboxEvent, Delivery) {
    std::future::poll_fn(|cx| {
        for i in 0..in_flight.len() {
            if let std::task::Poll::Ready(out) = in_flight[i].as_mut().poll(cx) {
                drop(in_flight.swap_remove(i));
                return std::task::Poll::Ready(out);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

impl ExchangeRuntime {
    /// Seal a one-way event, log it as sent and keep it in the outbox, all in
    /// `tx` (the business transaction that makes it): nothing acknowledged is
    /// lost, and nothing unacknowledged is sent. Valid for the registry's
    /// longest validity, so it outlives a receiver's outage. Its message id.
    pub async fn enqueue_event(&self, tx: &mut Tx, e: EventOut<'_>) -> Result<String, CallError> {
        let now = jiff::Timestamp::now();
        let registry = self.current(now)?;
        registry.directory.node(e.to).ok_or_else(|| ExchangeError::UnknownNode { node: e.to.to_string() })?;
        if !registry.directory.hosts(self.node(), e.from) {
            return Err(ExchangeError::BadHeader { reason: format!("{} is not hosted at this node", e.from) }.into());
        }
        let ttl = jiff::SignedDuration::from_secs(registry.directory.policy.max_ttl_seconds.max(60));
        let body_ref = BodyRef::of(e.content_type, e.body);
        let body_sm3 = body_ref.sm3.clone();
        let header = Header::new(
            Kind::Event,
            Sender { node: self.node().clone(), client: e.from.clone(), on_behalf_of: None },
            Recipient { node: e.to.clone(), service: e.service.to_string() },
            body_ref,
            now,
            ttl,
            rand::random(),
        );
        let (msg_id, expires_at) = (header.msg_id.clone(), header.expires_at);
        let sealed = self.seal_header(&registry, header)?;
        let env_sm3 = sealed.env_sm3();
        tx.log_exchange(record(Direction::Out, e.to.as_str(), &msg_id, &env_sm3, &sealed, &body_sm3, now)).await?;
        let kept = NewOutboxEvent {
            msg_id: &msg_id,
            to_node: e.to.as_str(),
            service: e.service,
            envelope: &sealed.envelope(),
            env_sm3: &env_sm3,
            signature: &sealed.signature_line(),
            content_type: e.content_type,
            body: e.body,
            expires_at,
        };
        tx.enqueue_exchange_event(&kept, now).await?;
        Ok(msg_id)
    }

    /// Send what is due in the outbox, once: each target's events leave in
    /// the order they were made, up to `WINDOWS_PER_ROUND` × `WINDOW` of them,
    /// with `WINDOW` in flight (a new one as soon as one is answered), and
    /// the answers are logged and settled in batches while the rest are out.
    /// A target whose oldest event failed sends only that one until it goes,
    /// is refused for good, or expires. Returns how many were delivered.
    pub async fn dispatch_once(&self, store: &Store) -> Result<usize, CallError> {
        let now = jiff::Timestamp::now();
        let pending = store.pending_exchange_events((WINDOW * WINDOWS_PER_ROUND) as i64).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let registry = self.current(now)?;
        let now_ts = crate::ts(now);
        // Each target's due events, oldest first (a target whose oldest is
        // not due yet waits whole).
        let mut targets: Vec<Vec<OutboxEvent>> = Vec::new();
        let mut waiting: HashSet<String> = HashSet::new();
        for e in pending {
            if waiting.contains(&e.to_node) {
                continue;
            }
            if e.expires_at < now_ts {
                tracing::warn!(msg_id = %e.msg_id, to = %e.to_node, "an event expired undelivered (gx.undelivered)");
                let mut tx = store.begin().await?;
                tx.exchange_event_failed(&e, "gx.undelivered", Some("expired"), now).await?;
                tx.commit().await?;
                continue;
            }
            if e.next_at > now_ts {
                waiting.insert(e.to_node.clone());
                continue;
            }
            match targets.iter_mut().find(|r| r.first().is_some_and(|f| f.to_node == e.to_node)) {
                // After a failure the oldest goes alone (a probe), then the window opens.
                Some(r) if r[0].attempts > 0 => {}
                Some(r) => r.push(e),
                None => targets.push(vec![e]),
            }
        }
        let mut delivered = 0;
        for target in &targets {
            // A sliding window: a new event leaves as soon as one is answered, and
            // the answers are settled in batches while the rest are out.
            let mut queue = target.iter();
            let mut in_flight: InFlight<'_> = Vec::new();
            let mut answered: Vec<(&OutboxEvent, Delivery)> = Vec::new();
            loop {
                while in_flight.len() < WINDOW {
                    let Some(e) = queue.next() else { break };
                    let registry = &registry;
                    in_flight.push(Box::pin(async move { (e, self.deliver(registry, e).await) }));
                }
                if in_flight.is_empty() {
                    break;
                }
                if answered.len() >= WINDOW / 2 {
                    let batch = std::mem::take(&mut answered);
                    let (settled, next) = tokio::join!(settle(store, batch), next_answered(&mut in_flight));
                    delivered += settled?;
                    answered.push(next);
                } else {
                    answered.push(next_answered(&mut in_flight).await);
                }
            }
            delivered += settle(store, answered).await?;
        }
        Ok(delivered)
    }

    /// Post one event's exact bytes to its target's endpoints in turn; the
    /// first signed answer, checked and ready to log.
    async fn deliver(&self, registry: &Registry, e: &OutboxEvent) -> Delivery {
        let Ok(to) = NodeId::parse(&e.to_node) else { return Delivery::Unanswered("gx.unknown_node".into()) };
        let Some(target) = registry.directory.node(&to) else { return Delivery::Unanswered("gx.unknown_node".into()) };
        for endpoint in &target.endpoints {
            let url = format!("{}/gx/1/exchange", endpoint.trim_end_matches('/'));
            let sent = self
                .http()
                .post(&url)
                .header(crate::exchange::ENVELOPE_HEADER, &e.envelope)
                .header(crate::exchange::SIGNATURE_HEADER, &e.signature)
                .header(axum::http::header::CONTENT_TYPE, &e.content_type)
                .body(e.body.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(err) => {
                    tracing::debug!(%url, error = %err, "exchange endpoint did not answer");
                    continue;
                }
            };
            return match self.open_reply(registry, &to, &e.msg_id, &e.env_sm3, resp, Kind::Receipt).await {
                Ok(answer) => Delivery::Answered(Box::new(answer)),
                // Refused before it was opened (a registry behind, a restart): try again.
                Err(CallError::Refused { code, .. }) => Delivery::Unanswered(code),
                Err(err) => Delivery::Unanswered(err.to_string()),
            };
        }
        Delivery::Unanswered(format!("gx.node_unreachable ({} endpoints)", target.endpoints.len()))
    }

    /// 汇聚: seal the queued records into events for the parent, up to
    /// `max_messages` of `RECORDS_PER_MESSAGE`, each in the transaction that
    /// takes its records off the queue. Returns how many records were sealed.
    pub async fn seal_upward(&self, store: &Store, max_messages: usize) -> Result<usize, CallError> {
        if !self.settings().aggregate_upward {
            return Ok(0);
        }
        let registry = self.current(jiff::Timestamp::now())?;
        let Some((parent, parent_member)) = self.parent_of(&registry)? else { return Ok(0) };
        let service = format!("{}/stats/records/v1", parent_member.member());
        let mut sealed = 0;
        for _ in 0..max_messages {
            let mut tx = store.begin().await?;
            let queued = tx.upward_batch(RECORDS_PER_MESSAGE as i64).await?;
            if queued.is_empty() {
                tx.rollback().await?;
                break;
            }
            let own = self.node().to_string();
            let records: Vec<UpwardRecord> = queued
                .iter()
                .cloned()
                .map(|mut r| {
                    if r.source_node.is_empty() {
                        r.source_node.clone_from(&own);
                    }
                    r
                })
                .collect();
            let body = serde_json::to_vec(&serde_json::json!({ "records": records }))
                .map_err(|e| ExchangeError::BadBody { reason: e.to_string() })?;
            let out = EventOut { from: self.member(), to: &parent, service: &service, content_type: "application/json", body: &body };
            self.enqueue_event(&mut tx, out).await?;
            tx.unqueue_upward(&queued).await?;
            tx.commit().await?;
            sealed += queued.len();
        }
        Ok(sealed)
    }
}

/// Log a batch of answers and settle their events, in one transaction: how
/// many were delivered.
async fn settle(store: &Store, answered: Vec<(&OutboxEvent, Delivery)>) -> Result<usize, CallError> {
    if answered.is_empty() {
        return Ok(0);
    }
    let at = jiff::Timestamp::now();
    let mut delivered = 0;
    let mut tx = store.begin().await?;
    for (e, outcome) in answered {
        let (reply, record) = match outcome {
            Delivery::Answered(answer) => *answer,
            Delivery::Unanswered(why) => {
                tracing::debug!(msg_id = %e.msg_id, to = %e.to_node, %why, "an event waits for its receiver");
                tx.exchange_event_failed(e, &why, None, at).await?;
                continue;
            }
        };
        let to = NodeId::parse(&e.to_node).map_err(CallError::Local)?;
        if let Logged::Seen { env_sm3 } = tx.log_exchange(record).await?
            && let Err(err) = reply_replay(&to, &env_sm3, &reply)
        {
            tx.exchange_event_failed(e, &err.to_string(), None, at).await?;
            continue;
        }
        match reply.status {
            200 if reply.header.kind == Kind::Receipt => {
                tx.exchange_event_delivered(&e.msg_id, &reply.header.msg_id, at).await?;
                delivered += 1;
            }
            // Opened and refused: for good, unless the receiver failed on its side.
            status if status < 500 => {
                let code = reply.error_code().unwrap_or_else(|| "unknown".into());
                tracing::warn!(msg_id = %e.msg_id, to = %e.to_node, %code, "an event was refused by its receiver");
                tx.exchange_event_failed(e, &code, Some("rejected"), at).await?;
            }
            status => {
                let why = reply.error_code().unwrap_or_else(|| format!("status {status}"));
                tx.exchange_event_failed(e, &why, None, at).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(delivered)
}

/// How one delivery attempt ended.
enum Delivery {
    /// A signed answer (a receipt, or an error), with its log record.
    Answered(Box<(crate::exchange::Reply, yiwang_exchange::LogRecord)>),
    /// No signed answer: try again later.
    Unanswered(String),
}

/// Seal the aggregation queue and send the outbox, every half second while
/// there is work (and at once again while a round delivered something).
pub async fn run_outbox(state: AppState) {
    let Some(rt) = state.exchange() else { return };
    let mut upward_on: Option<bool> = None;
    let anchor_every = Duration::from_secs(rt.settings().anchor_secs.clamp(1, 86_400));
    let mut last_anchor = std::time::Instant::now();
    loop {
        let mut busy = false;
        // Case records are queued for the parent while the setting asks for it and
        // the registry gives this node a parent (the national node queues nothing).
        let want = rt.settings().aggregate_upward && rt.registry().is_some_and(|r| matches!(rt.parent_of(&r), Ok(Some(_))));
        if upward_on != Some(want) {
            match state.store().set_upward_aggregation(want).await {
                Ok(()) => upward_on = Some(want),
                Err(e) => tracing::warn!(error = %e, "the upward aggregation switch could not be set"),
            }
        }
        // The log head to the parent, to be countersigned (its receipt).
        if last_anchor.elapsed() >= anchor_every {
            last_anchor = std::time::Instant::now();
            match rt.anchor_head(state.store()).await {
                Ok(Some(seq)) => tracing::debug!(seq, "log head sent to the parent node"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "the log head could not be sent to the parent node"),
            }
        }
        match rt.seal_upward(state.store(), 20).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(records = n, "records sealed for the parent node");
                busy = true;
            }
            Err(e) => tracing::warn!(error = %e, "records for the parent node could not be sealed"),
        }
        match rt.dispatch_once(state.store()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(delivered = n, "exchange events delivered");
                busy = true;
            }
            Err(e) => tracing::warn!(error = %e, "the exchange outbox could not be sent"),
        }
        if !busy {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The most records one `stats/records/v1` message may carry.
const MAX_RECORDS: usize = 5000;

/// `stats/records/v1` (an event from a child node): GB/T 39046 records from
/// the child and the nodes below it, each kept once; what was new goes on up
/// when this node aggregates upward itself.
pub(crate) async fn records_from_below(rt: &ExchangeRuntime, registry: &Registry, opened: &Opened, body: &[u8], tx: &mut Tx) -> Outcome {
    let h = &opened.header;
    let sender = &h.from.node;
    let d = &registry.directory;
    if h.kind != Kind::Event {
        return Err(ExchangeError::BadHeader { reason: "stats/records/v1 takes events".into() });
    }
    if !d.is_child(sender, rt.node()) {
        return Err(ExchangeError::AccessDenied);
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch {
        records: Vec<UpwardRecord>,
    }
    let batch: Batch = parse_body(body)?;
    if batch.records.len() > MAX_RECORDS {
        return Err(ExchangeError::BadBody { reason: format!("at most {MAX_RECORDS} records") });
    }
    for r in &batch.records {
        if NodeId::parse(&r.source_node).is_err() || !at_or_below(d, &r.source_node, sender) {
            return Err(ExchangeError::BadBody { reason: format!("{} is not a node at or below {sender}", r.source_node) });
        }
        if r.record_id.is_empty() || r.record_id.len() > 200 || r.kind.is_empty() || r.kind.len() > 64 || r.agency_uscc.len() > 64 {
            return Err(ExchangeError::BadBody {
                reason: format!("record {:?}: an id of 1–200 and a kind of 1–64 characters", r.record_id),
            });
        }
    }
    let now = jiff::Timestamp::now();
    let provider = |e: yiwang_store::StoreError| ExchangeError::Provider { reason: e.to_string() };
    let fresh = tx.hold_aggregated(sender.as_str(), &h.msg_id, &batch.records, now).await.map_err(provider)?;
    let mut forwarded = 0;
    if rt.settings().aggregate_upward && rt.parent_of(registry)?.is_some() {
        tx.queue_upward(&fresh, now).await.map_err(provider)?;
        forwarded = fresh.len();
    }
    json_outcome(&serde_json::json!({ "received": batch.records.len(), "new": fresh.len(), "forwarded": forwarded }))
}

/// `GET /api/v1/exchange/outbox` (admins): how many events wait and since
/// when, and the latest 100, newest first (their bytes are not shown).
pub async fn outbox_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: crate::auth::Auth,
) -> Result<axum::Json<serde_json::Value>, crate::ApiError> {
    let _ = auth.require()?;
    let (pending, oldest) = state.store().exchange_outbox_depth().await?;
    let events = state.store().exchange_outbox(100).await?;
    let queued = state.store().upward_queue_len().await?;
    Ok(axum::Json(serde_json::json!({ "pending": pending, "oldest_pending": oldest, "upward_queue": queued, "events": events })))
}

/// `GET /api/v1/exchange/aggregates` (admins, data officers, supervisors):
/// the GB/T 39046 records held from the nodes below, counted per source node
/// and record type: the cross-region statistics, with no personal data.
pub async fn aggregates_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: crate::auth::Auth,
) -> Result<axum::Json<serde_json::Value>, crate::ApiError> {
    let _ = auth.require()?;
    let counts = state.store().aggregate_counts().await?;
    let total: i64 = counts.iter().map(|c| c.records).sum();
    Ok(axum::Json(serde_json::json!({ "total": total, "counts": counts })))
}

/// A log head as a node sends it to its parent (`log/anchor/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorBody {
    pub node: String,
    pub seq: i64,
    /// The chain hash at `seq`, hex.
    pub hash: String,
    pub at: String,
}

impl ExchangeRuntime {
    /// Send this node's log head to its parent to be countersigned (its
    /// receipt), when the log moved since the last head sent by more than that
    /// anchoring's own two entries. The head sent, if any.
    pub async fn anchor_head(&self, store: &Store) -> Result<Option<i64>, CallError> {
        let registry = self.current(jiff::Timestamp::now())?;
        let Some((parent, parent_member)) = self.parent_of(&registry)? else { return Ok(None) };
        let (seq, hash) = store.exchange_log_head().await?;
        let last = store.last_anchor_sent().await?.map_or(0, |(s, _)| s);
        if seq == 0 || seq <= last + 2 {
            return Ok(None);
        }
        let now = jiff::Timestamp::now();
        let body = AnchorBody { node: self.node().to_string(), seq, hash: hash.clone(), at: crate::ts(now) };
        let body = serde_json::to_vec(&body).map_err(|e| ExchangeError::BadBody { reason: e.to_string() })?;
        let service = format!("{}/log/anchor/v1", parent_member.member());
        let mut tx = store.begin().await?;
        let out = EventOut { from: self.member(), to: &parent, service: &service, content_type: "application/json", body: &body };
        let msg_id = self.enqueue_event(&mut tx, out).await?;
        tx.record_anchor_sent(seq, &hash, &msg_id, now).await?;
        tx.commit().await?;
        Ok(Some(seq))
    }
}

/// `log/anchor/v1` (an event from a child node): its log head, kept once per
/// seq; the receipt is the countersignature. A different hash at a seq held
/// before is refused (`gx.anchor_conflict`) and raised as an alarm: the
/// child's history was rewritten.
pub(crate) async fn anchor_from_below(rt: &ExchangeRuntime, registry: &Registry, opened: &Opened, body: &[u8], tx: &mut Tx) -> Outcome {
    let h = &opened.header;
    let sender = &h.from.node;
    if !registry.directory.is_child(sender, rt.node()) {
        return Err(ExchangeError::AccessDenied);
    }
    let head: AnchorBody = parse_body(body)?;
    let hex = head.hash.len() == 64 && head.hash.chars().all(|c| c.is_ascii_hexdigit());
    if head.node != sender.as_str() || head.seq < 1 || !hex {
        return Err(ExchangeError::BadBody { reason: "the sender's own head: a seq of at least 1 and a 64-digit hex hash".into() });
    }
    let provider = |e: yiwang_store::StoreError| ExchangeError::Provider { reason: e.to_string() };
    match tx.hold_anchor(sender.as_str(), head.seq, &head.hash, &h.msg_id, jiff::Timestamp::now()).await.map_err(provider)? {
        yiwang_store::AnchorCheck::New | yiwang_store::AnchorCheck::Same => {
            json_outcome(&serde_json::json!({ "anchored": head.seq, "hash": head.hash }))
        }
        yiwang_store::AnchorCheck::Conflict { held_seq, held_hash } => {
            tracing::error!(node = %sender, seq = held_seq, held = %held_hash, sent = %head.hash, "a child's log head contradicts the one anchored here");
            Err(ExchangeError::AnchorConflict { node: sender.to_string(), seq: held_seq })
        }
    }
}
