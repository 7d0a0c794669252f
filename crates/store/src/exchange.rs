//! The exchange's message log and replay store (`exchange_log`): every gx/1
//! envelope this node sent or received, hash-chained (`yiwang_exchange::log`),
//! and each received message kept once per (sender node, msg_id).

use yiwang_exchange::{Direction, LogEntry, LogRecord, LogVerifier, log_next};

use crate::db::RowLike;
use crate::{Result, Store, StoreError, Tx};

const COLUMNS: &str = "seq, direction, peer_node, msg_id, env_sm3, header, signature, body_sm3, logged_at, prev_hash, hash";

/// What logging an envelope did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logged {
    /// Appended to the log.
    Appended(Box<LogEntry>),
    /// This (direction, peer, msg_id) is already logged, with this `env_sm3`:
    /// the same bytes are a retry, other bytes an id conflict
    /// (`yiwang_exchange::replay` decides).
    Seen { env_sm3: String },
}

/// How the log stands after a walk over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogReport {
    Intact {
        entries: i64,
    },
    /// The first entry whose link does not follow, or the head when the log
    /// ends before it (a removed tail).
    Broken {
        seq: i64,
    },
}

fn entry(r: &crate::db::Row) -> Result<LogEntry> {
    let direction: String = r.try_get("direction")?;
    Ok(LogEntry {
        seq: r.try_get("seq")?,
        record: LogRecord {
            direction: Direction::parse(&direction).ok_or_else(|| StoreError::Corrupt(format!("exchange log direction {direction:?}")))?,
            peer: r.try_get("peer_node")?,
            msg_id: r.try_get("msg_id")?,
            env_sm3: r.try_get("env_sm3")?,
            header: r.try_get("header")?,
            signature: r.try_get("signature")?,
            body_sm3: r.try_get("body_sm3")?,
            logged_at: r.try_get("logged_at")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

impl Tx {
    /// Log an envelope in this transaction (the one that acts on it, so a
    /// message is never acted on unlogged), unless it is already logged.
    pub async fn log_exchange(&mut self, record: LogRecord) -> Result<Logged> {
        // Lock the head first (without moving it): appenders queue here, so the
        // look-up below sees any twin that committed meanwhile.
        let head =
            crate::db::query("UPDATE exchange_log_head SET seq = seq WHERE id = 1 RETURNING seq, hash").fetch_one(&mut *self).await?;
        let seen = crate::db::query("SELECT env_sm3 FROM exchange_log WHERE direction = $1 AND peer_node = $2 AND msg_id = $3")
            .bind(record.direction.code())
            .bind(&record.peer)
            .bind(&record.msg_id)
            .fetch_optional(&mut *self)
            .await?;
        if let Some(row) = seen {
            return Ok(Logged::Seen { env_sm3: row.try_get("env_sm3")? });
        }
        let (seq, hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
        let e = log_next(seq, &hash, record);
        crate::db::query(
            "INSERT INTO exchange_log (seq, direction, peer_node, msg_id, env_sm3, header, signature, body_sm3, logged_at, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(e.seq)
        .bind(e.record.direction.code())
        .bind(&e.record.peer)
        .bind(&e.record.msg_id)
        .bind(&e.record.env_sm3)
        .bind(&e.record.header)
        .bind(&e.record.signature)
        .bind(&e.record.body_sm3)
        .bind(&e.record.logged_at)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut *self)
        .await?;
        crate::db::query("UPDATE exchange_log_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(e.seq)
            .bind(&e.hash)
            .execute(&mut *self)
            .await?;
        Ok(Logged::Appended(Box::new(e)))
    }
}

impl Store {
    /// Log one envelope in a transaction of its own.
    pub async fn log_exchange(&self, record: LogRecord) -> Result<Logged> {
        let mut tx = self.begin().await?;
        let logged = tx.log_exchange(record).await?;
        tx.commit().await?;
        Ok(logged)
    }

    /// Entries with `seq > after`, oldest first, at most `limit` (1–1,000).
    pub async fn exchange_log_page(&self, after: i64, limit: i64) -> Result<Vec<LogEntry>> {
        let rows = crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM exchange_log WHERE seq > $1 ORDER BY seq LIMIT $2")))
            .bind(after)
            .bind(limit.clamp(1, 1000))
            .fetch_all(self.read())
            .await?;
        rows.iter().map(entry).collect()
    }

    /// The log head's sequence number (0 for an empty log).
    pub async fn exchange_log_head_seq(&self) -> Result<i64> {
        let row = crate::db::query("SELECT seq FROM exchange_log_head WHERE id = 1").fetch_one(self.read()).await?;
        Ok(row.try_get("seq")?)
    }

    /// Walk the whole log and check every link and the head.
    pub async fn exchange_log_verify(&self) -> Result<LogReport> {
        const PAGE: i64 = 1000;
        let mut verifier = LogVerifier::new();
        // By row position, so a row whose seq was rewritten is still met where the order puts it.
        let mut offset = 0i64;
        loop {
            let rows = crate::db::query(crate::safe(format!("SELECT {COLUMNS} FROM exchange_log ORDER BY seq LIMIT $1 OFFSET $2")))
                .bind(PAGE)
                .bind(offset)
                .fetch_all(self.read())
                .await?;
            for r in &rows {
                if let Err(seq) = verifier.push(&entry(r)?) {
                    return Ok(LogReport::Broken { seq });
                }
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
            offset += PAGE;
        }
        let head = crate::db::query("SELECT seq, hash FROM exchange_log_head WHERE id = 1").fetch_one(self.read()).await?;
        let (seq, hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
        let (last, last_hash) = verifier.head();
        if (seq, hash.as_str()) != (last, last_hash) {
            return Ok(LogReport::Broken { seq: last + 1 });
        }
        Ok(LogReport::Intact { entries: last })
    }
}

/// One of the node's message-signing keys, its private half unwrapped.
#[derive(Clone)]
pub struct ExchangeKey {
    pub kid: String,
    pub public_key: String,
    pub created_at: String,
    pub key: std::sync::Arc<yiwang_crypto::seal::SealKey>,
}

/// A reply as it went out: what a retry of its request gets again, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    pub status: u16,
    pub envelope: String,
    pub signature: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The registry in hand: its exact bytes and signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRegistry {
    pub serial: i64,
    pub document: Vec<u8>,
    pub signature: String,
    pub stored_at: String,
}

impl Tx {
    /// Keep the reply to (peer, request id), in the transaction that logged the request.
    pub async fn put_exchange_reply(&mut self, peer: &str, request_msg_id: &str, reply: &StoredReply, now: jiff::Timestamp) -> Result<()> {
        use base64::Engine;
        crate::db::query(
            "INSERT INTO exchange_replies (peer_node, request_msg_id, status, envelope, signature, content_type, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(peer)
        .bind(request_msg_id)
        .bind(i64::from(reply.status))
        .bind(&reply.envelope)
        .bind(&reply.signature)
        .bind(&reply.content_type)
        .bind(base64::engine::general_purpose::STANDARD.encode(&reply.body))
        .bind(crate::ts(now))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// The reply kept for (peer, request id), if any.
    pub async fn exchange_reply(&mut self, peer: &str, request_msg_id: &str) -> Result<Option<StoredReply>> {
        use base64::Engine;
        let row = crate::db::query(
            "SELECT status, envelope, signature, content_type, body FROM exchange_replies WHERE peer_node = $1 AND request_msg_id = $2",
        )
        .bind(peer)
        .bind(request_msg_id)
        .fetch_optional(&mut *self)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let status: i64 = r.try_get("status")?;
        let body: String = r.try_get("body")?;
        Ok(Some(StoredReply {
            status: u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("exchange reply status {status}")))?,
            envelope: r.try_get("envelope")?,
            signature: r.try_get("signature")?,
            content_type: r.try_get("content_type")?,
            body: base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| StoreError::Corrupt("exchange reply body is not base64".into()))?,
        }))
    }
}

impl Store {
    /// Make a new message-signing key for this node, wrapped under the master
    /// key; its id and public half go to the national node for the registry.
    pub async fn create_exchange_key(&self, master: &yiwang_crypto::seal::MasterKey, now: jiff::Timestamp) -> Result<(String, String)> {
        let key = yiwang_crypto::seal::SealKey::generate();
        let public = key.public_key_hex();
        let kid = yiwang_exchange::key_id(&public).ok_or_else(|| StoreError::Corrupt("a fresh SM2 key has no key id".into()))?;
        let at = crate::ts(now);
        let mut tx = self.begin().await?;
        crate::db::query(
            "INSERT INTO exchange_keys (kid, public_key, wrapped_private, master_fingerprint, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&kid)
        .bind(&public)
        .bind(master.wrap(&kid, &key.secret_bytes()))
        .bind(master.fingerprint())
        .bind(&at)
        .execute(&mut tx)
        .await?;
        tx.append_audit(crate::accounts::audit_rec(&at, "system", "exchange.key_created", "exchange_key", &kid, serde_json::json!({})))
            .await?;
        tx.commit().await?;
        Ok((kid, public))
    }

    /// The node's keys not retired, newest first, unwrapped.
    pub async fn exchange_keys(&self, master: &yiwang_crypto::seal::MasterKey) -> Result<Vec<ExchangeKey>> {
        let rows = crate::db::query(
            "SELECT kid, public_key, wrapped_private, created_at FROM exchange_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid",
        )
        .fetch_all(self.read())
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for r in &rows {
            let kid: String = r.try_get("kid")?;
            let wrapped: String = r.try_get("wrapped_private")?;
            let secret = master.unwrap(&kid, &wrapped).map_err(|e| StoreError::Corrupt(format!("exchange key {kid}: {e}")))?;
            let key = yiwang_crypto::seal::SealKey::from_secret_bytes(&secret)
                .map_err(|e| StoreError::Corrupt(format!("exchange key {kid}: {e}")))?;
            keys.push(ExchangeKey { kid, public_key: r.try_get("public_key")?, created_at: r.try_get("created_at")?, key: key.into() });
        }
        Ok(keys)
    }

    /// Keep a registry that `accept_directory` took. A serial below the one
    /// stored is never written (a second check against rollback, for several
    /// processes sharing the database).
    pub async fn put_exchange_registry(&self, serial: u64, document: &[u8], signature: &str, now: jiff::Timestamp) -> Result<bool> {
        let serial = i64::try_from(serial).map_err(|_| StoreError::Corrupt(format!("registry serial {serial}")))?;
        let document = std::str::from_utf8(document).map_err(|_| StoreError::Corrupt("the registry is not UTF-8".into()))?;
        let done = crate::db::query(
            "INSERT INTO exchange_registry (id, serial, document, signature, stored_at) VALUES (1, $1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET serial = excluded.serial, document = excluded.document, signature = excluded.signature, \
             stored_at = excluded.stored_at WHERE exchange_registry.serial <= excluded.serial",
        )
        .bind(serial)
        .bind(document)
        .bind(signature)
        .bind(crate::ts(now))
        .execute(self.write())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The registry in hand, if any.
    pub async fn exchange_registry(&self) -> Result<Option<StoredRegistry>> {
        let row = crate::db::query("SELECT serial, document, signature, stored_at FROM exchange_registry WHERE id = 1")
            .fetch_optional(self.read())
            .await?;
        let Some(r) = row else { return Ok(None) };
        let document: String = r.try_get("document")?;
        Ok(Some(StoredRegistry {
            serial: r.try_get("serial")?,
            document: document.into_bytes(),
            signature: r.try_get("signature")?,
            stored_at: r.try_get("stored_at")?,
        }))
    }
}
