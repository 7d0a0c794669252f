//! The node's message log: one entry per envelope sent or received, each
//! chained to the one before, `h_i = SM3(h_{i-1} || SM3(entry_i))`, so a
//! changed, removed or reordered entry breaks every link after it.

use serde::{Deserialize, Serialize};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Which way an envelope went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn code(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }
}

/// What is logged of an envelope: its exact header and signature (so it
/// verifies later on its own), and its body by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    pub direction: Direction,
    /// The other node: the sender of what came in, the receiver of what went out.
    pub peer: String,
    pub msg_id: String,
    /// SM3 of the header bytes, hex (the replay store's fingerprint).
    pub env_sm3: String,
    /// The header bytes as received or sent (UTF-8 JSON).
    pub header: String,
    /// The `Gx-Signature` line.
    pub signature: String,
    pub body_sm3: String,
    /// When this node logged it (RFC 3339).
    pub logged_at: String,
}

/// A logged record with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub record: LogRecord,
    pub prev_hash: String,
    pub hash: String,
}

/// SM3 of the entry: each field as a 4-byte big-endian length and its UTF-8
/// bytes, in this order: seq (decimal), direction, peer, msg_id, env_sm3,
/// header, signature, body_sm3, logged_at. Lengths make it unambiguous.
pub fn entry_digest(seq: i64, r: &LogRecord) -> [u8; 32] {
    let seq = seq.to_string();
    let fields: [&str; 9] = [&seq, r.direction.code(), &r.peer, &r.msg_id, &r.env_sm3, &r.header, &r.signature, &r.body_sm3, &r.logged_at];
    let mut bytes = Vec::with_capacity(fields.iter().map(|f| f.len() + 4).sum());
    for f in fields {
        bytes.extend_from_slice(&u32::try_from(f.len()).unwrap_or(u32::MAX).to_be_bytes());
        bytes.extend_from_slice(f.as_bytes());
    }
    yiwang_crypto::sm3(&bytes)
}

/// The hash that follows `prev_hash` (hex) with entry `seq`.
pub fn link(prev_hash: &str, seq: i64, r: &LogRecord) -> String {
    let prev = hex::decode(prev_hash).unwrap_or_default();
    let mut h = yiwang_crypto::Sm3Hasher::new();
    h.update(&prev);
    h.update(&entry_digest(seq, r));
    h.finalize_hex()
}

/// The entry after (`seq`, `hash`), the log's head.
pub fn log_next(head_seq: i64, head_hash: &str, record: LogRecord) -> LogEntry {
    let seq = head_seq + 1;
    let hash = link(head_hash, seq, &record);
    LogEntry { seq, record, prev_hash: head_hash.to_string(), hash }
}

/// Walks entries in order, from a known starting point (`GENESIS` and 0 for the
/// whole log), and says where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogVerifier {
    seq: i64,
    hash: String,
}

impl LogVerifier {
    pub fn new() -> LogVerifier {
        LogVerifier { seq: 0, hash: GENESIS.to_string() }
    }

    /// The next entry; `Err(seq)` at the first one out of order or whose hash
    /// does not follow.
    pub fn push(&mut self, e: &LogEntry) -> Result<(), i64> {
        if e.seq != self.seq + 1 || e.prev_hash != self.hash || e.hash != link(&self.hash, e.seq, &e.record) {
            return Err(e.seq);
        }
        self.seq = e.seq;
        self.hash = e.hash.clone();
        Ok(())
    }

    /// The last verified (seq, hash): compare with the head the node keeps.
    pub fn head(&self) -> (i64, &str) {
        (self.seq, &self.hash)
    }
}

impl Default for LogVerifier {
    fn default() -> Self {
        LogVerifier::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u8) -> LogRecord {
        LogRecord {
            direction: if i.is_multiple_of(2) { Direction::In } else { Direction::Out },
            peer: "CN/NODE/440300".into(),
            msg_id: format!("id-{i}"),
            env_sm3: hex::encode([i; 32]),
            header: format!("{{\"n\":{i}}}"),
            signature: "sm2-sm3;kid=00;sig=AA==".into(),
            body_sm3: hex::encode([i; 32]),
            logged_at: "2026-12-07T06:00:00Z".into(),
        }
    }

    fn chain(n: u8) -> Vec<LogEntry> {
        let mut out: Vec<LogEntry> = Vec::new();
        for i in 1..=n {
            let (seq, hash) = out.last().map(|e| (e.seq, e.hash.clone())).unwrap_or((0, GENESIS.into()));
            out.push(log_next(seq, &hash, record(i)));
        }
        out
    }

    fn first_break(entries: &[LogEntry]) -> Option<i64> {
        let mut v = LogVerifier::new();
        entries.iter().find_map(|e| v.push(e).err())
    }

    #[test]
    fn an_intact_chain_verifies_and_ends_at_its_head() {
        let entries = chain(5);
        let mut v = LogVerifier::new();
        assert!(entries.iter().all(|e| v.push(e).is_ok()));
        assert_eq!(v.head(), (5, entries[4].hash.as_str()));
    }

    #[test]
    fn a_changed_removed_or_swapped_entry_breaks_the_chain() {
        let mut changed = chain(5);
        changed[2].record.header = "{\"n\":99}".into();
        assert_eq!(first_break(&changed), Some(3));
        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(first_break(&removed), Some(3));
        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert_eq!(first_break(&swapped), Some(3));
        // Re-hashing the changed entry itself still breaks the next link.
        let mut rehashed = chain(5);
        rehashed[2].record.peer = "CN/NODE/110000".into();
        rehashed[2].hash = link(&rehashed[2].prev_hash, 3, &rehashed[2].record);
        assert_eq!(first_break(&rehashed), Some(4));
    }

    #[test]
    fn fields_cannot_trade_bytes() {
        let mut a = record(1);
        let mut b = record(1);
        a.peer = "ab".into();
        a.msg_id = "c".into();
        b.peer = "a".into();
        b.msg_id = "bc".into();
        assert_ne!(entry_digest(1, &a), entry_digest(1, &b));
    }
}
