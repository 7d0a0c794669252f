//! The tamper-evident audit chain (pure rules; the store persists it).
//!
//! Every entry commits to the previous entry's hash: `hash = SM3(encode(entry
//! fields, prev_hash))` with length-prefixed fields so no two entries encode
//! alike. Verification walks the entries in `seq` order and reports the first
//! break: a gap (deleted row), a broken link (reordered or inserted row), a
//! hash mismatch (edited row) or a head that does not match the last entry
//! (truncated tail).

use serde::Serialize;
use yiwang_crypto::Sm3Hasher;
use yiwang_errors::{Coded, ErrorKind};

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const DOMAIN_TAG: &[u8] = b"yiwang-audit-v1";

/// What a caller records; the store adds `seq`, `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC timestamp supplied by the caller (rules read no clock).
    pub at: String,
    /// Who: `system`, `cli`, `user:<id>`, `staff:<id>`…
    pub actor: String,
    /// What, as a stable dotted name: `calendar.day_set`, `node.created`…
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// Why (事由), when the action needs one.
    pub reason: String,
    /// Details as JSON text.
    pub data: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

/// Hash of an entry with sequence `seq` following `prev_hash`.
pub fn entry_hash(seq: i64, r: &AuditRecord, prev_hash: &str) -> String {
    let mut h = Sm3Hasher::new();
    let seq_s = seq.to_string();
    for part in [
        DOMAIN_TAG,
        seq_s.as_bytes(),
        r.at.as_bytes(),
        r.actor.as_bytes(),
        r.action.as_bytes(),
        r.object_type.as_bytes(),
        r.object_id.as_bytes(),
        r.reason.as_bytes(),
        r.data.as_bytes(),
        prev_hash.as_bytes(),
    ] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize_hex()
}

/// Build the next entry after `(prev_seq, prev_hash)`.
pub fn chain_next(prev_seq: i64, prev_hash: &str, record: AuditRecord) -> AuditEntry {
    let seq = prev_seq + 1;
    let hash = entry_hash(seq, &record, prev_hash);
    AuditEntry { seq, record, prev_hash: prev_hash.to_string(), hash }
}

/// The first break found in a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "break", rename_all = "snake_case")]
pub enum AuditBreak {
    #[error("entry {found}: expected sequence {expected} (an entry is missing or out of order)")]
    Gap { expected: i64, found: i64 },
    #[error("entry {seq}: prev_hash does not match the hash of entry {}", seq - 1)]
    BrokenLink { seq: i64 },
    #[error("entry {seq}: content does not match its hash (modified)")]
    Modified { seq: i64 },
    #[error("chain head says {head_seq} entries but the log ends at {last_seq} (tail removed or head altered)")]
    HeadMismatch { head_seq: i64, last_seq: i64 },
}

impl AuditBreak {
    /// The sequence number of the first bad entry.
    pub fn seq(&self) -> i64 {
        match self {
            AuditBreak::Gap { found, .. } => *found,
            AuditBreak::BrokenLink { seq } | AuditBreak::Modified { seq } => *seq,
            AuditBreak::HeadMismatch { last_seq, .. } => *last_seq + 1,
        }
    }
}

impl Coded for AuditBreak {
    fn code(&self) -> &'static str {
        match self {
            AuditBreak::Gap { .. } => "audit.gap",
            AuditBreak::BrokenLink { .. } => "audit.broken_link",
            AuditBreak::Modified { .. } => "audit.modified",
            AuditBreak::HeadMismatch { .. } => "audit.head_mismatch",
        }
    }

    fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }

    fn message_zh(&self) -> String {
        match self {
            AuditBreak::Gap { expected, found } => format!("审计日志第{found}条：应为第{expected}条（有记录缺失或顺序被改动）"),
            AuditBreak::BrokenLink { seq } => format!("审计日志第{seq}条：前序哈希与第{}条不符", seq - 1),
            AuditBreak::Modified { seq } => format!("审计日志第{seq}条：内容与哈希不符（已被篡改）"),
            AuditBreak::HeadMismatch { head_seq, last_seq } => {
                format!("审计链头记录{head_seq}条，日志仅到第{last_seq}条（尾部被删除或链头被改动）")
            }
        }
    }
}

/// Streaming verifier: feed entries in `seq` order, then `finish` with the head.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { last_seq: 0, last_hash: GENESIS_HASH.to_string() }
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, e: &AuditEntry) -> Result<(), AuditBreak> {
        let expected = self.last_seq + 1;
        if e.seq != expected {
            return Err(AuditBreak::Gap { expected, found: e.seq });
        }
        if e.prev_hash != self.last_hash {
            return Err(AuditBreak::BrokenLink { seq: e.seq });
        }
        if entry_hash(e.seq, &e.record, &e.prev_hash) != e.hash {
            return Err(AuditBreak::Modified { seq: e.seq });
        }
        self.last_seq = e.seq;
        self.last_hash.clone_from(&e.hash);
        Ok(())
    }

    /// Check the stored head `(seq, hash)` against the last entry; returns the entry count.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, AuditBreak> {
        if head_seq != self.last_seq || head_hash != self.last_hash {
            return Err(AuditBreak::HeadMismatch { head_seq, last_seq: self.last_seq });
        }
        Ok(self.last_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: i64) -> AuditRecord {
        AuditRecord {
            at: format!("2026-11-23T08:00:{i:02}Z"),
            actor: "system".into(),
            action: "test.event".into(),
            object_type: "thing".into(),
            object_id: i.to_string(),
            reason: String::new(),
            data: "{}".into(),
        }
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 1..=n {
            let (s, h) = out.last().map(|e| (e.seq, e.hash.clone())).unwrap_or((0, GENESIS_HASH.into()));
            out.push(chain_next(s, &h, rec(i)));
        }
        out
    }

    fn verify(entries: &[AuditEntry], head: (i64, &str)) -> Result<i64, AuditBreak> {
        let mut v = ChainVerifier::new();
        for e in entries {
            v.push(e)?;
        }
        v.finish(head.0, head.1)
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, (5, &c[4].hash)), Ok(5));
        assert_eq!(verify(&[], (0, GENESIS_HASH)), Ok(0));
    }

    #[test]
    fn every_tampering_is_caught() {
        let c = chain(5);
        let head = (5, c[4].hash.as_str());
        let mut edited = c.clone();
        edited[2].record.data = r#"{"x":1}"#.into();
        assert_eq!(verify(&edited, head), Err(AuditBreak::Modified { seq: 3 }));
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(verify(&deleted, head), Err(AuditBreak::Gap { expected: 2, found: 3 }));
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        (swapped[1].seq, swapped[2].seq) = (2, 3);
        assert_eq!(verify(&swapped, head), Err(AuditBreak::BrokenLink { seq: 2 }));
        assert_eq!(verify(&c[..4], head), Err(AuditBreak::HeadMismatch { head_seq: 5, last_seq: 4 }));
    }

    #[test]
    fn fields_do_not_run_together() {
        let mut a = rec(1);
        let mut b = rec(1);
        a.actor = "ab".into();
        a.action = "c".into();
        b.actor = "a".into();
        b.action = "bc".into();
        assert_ne!(entry_hash(1, &a, GENESIS_HASH), entry_hash(1, &b, GENESIS_HASH));
    }
}
