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
