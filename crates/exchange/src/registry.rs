//! The node registry: who is in the network (nodes, members, their keys) and
//! its policy, signed by the national node. Nodes fetch it, check it against
//! the anchor pinned at install, refuse a rollback, and keep using the last
//! good one while the national node is down, until its hard expiry.

use serde::{Deserialize, Serialize};
use yiwang_crypto::seal::{SealKey, verify};

use crate::envelope::{parse_signature_line, sign_line};
use crate::{ClientId, ExchangeError, NodeId, Policy, SignerKey, key_id};

/// The largest registry a node accepts, in bytes.
pub const MAX_REGISTRY_BYTES: usize = 4 * 1024 * 1024;

/// A node's place in the three tiers (national, provincial, municipal) and below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    National,
    Provincial,
    Municipal,
    County,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    pub id: NodeId,
    pub tier: Tier,
    /// The node one tier up; none for the national node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<NodeId>,
    /// Base URLs, several for availability.
    pub endpoints: Vec<String>,
    /// Its message-signing keys (uncompressed SEC1 hex), current and next.
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    /// A member (`CN/GOV/{USCC}`), not a subsystem.
    pub id: ClientId,
    /// The node that hosts it and signs its messages.
    pub home: NodeId,
}

/// The registry's policy for every exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryPolicy {
    pub max_skew_seconds: i64,
    pub max_ttl_seconds: i64,
}

/// The registry document, as the national node signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// `CN` or `CN-TEST`: every id in it belongs to this instance.
    pub instance: String,
    /// Strictly increasing with each issue; a node never goes back.
    pub serial: u64,
    pub issued_at: jiff::Timestamp,
    /// After this, nodes warn that their copy is old.
    pub soft_expires_at: jiff::Timestamp,
    /// After this, nodes refuse traffic (`gx.registry_outdated`).
    pub hard_expires_at: jiff::Timestamp,
    pub nodes: Vec<NodeEntry>,
    pub members: Vec<MemberEntry>,
    pub policy: RegistryPolicy,
    /// Key ids (`key_id`) withdrawn before their member's entry changes.
    #[serde(default)]
    pub revoked: Vec<String>,
}

/// What a node pins at install, out of band: its instance and the keys that
/// may sign the registry (several, so they can roll over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub instance: String,
    pub keys: Vec<String>,
}

/// How current a registry copy is at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Fresh,
    /// Past its soft expiry: still used, with a warning.
    Stale,
    /// Past its hard expiry: no traffic until a newer one arrives.
    Expired,
}

/// The outcome of a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// A newer registry, checked: swap it in.
    Newer(Box<Directory>),
    /// The same serial and bytes as the copy in hand.
    Unchanged,
}

impl Validity {
    /// `fresh`, `stale` or `expired`.
    pub fn code(self) -> &'static str {
        match self {
            Validity::Fresh => "fresh",
            Validity::Stale => "stale",
            Validity::Expired => "expired",
        }
    }
}

impl Directory {
    pub fn validity(&self, now: jiff::Timestamp) -> Validity {
        if now >= self.hard_expires_at {
            Validity::Expired
        } else if now >= self.soft_expires_at {
            Validity::Stale
        } else {
            Validity::Fresh
        }
    }

    pub fn node(&self, id: &NodeId) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| &n.id == id)
    }

    /// Whether `parent` is `node`'s parent: who may push up to `parent`.
    pub fn is_child(&self, node: &NodeId, parent: &NodeId) -> bool {
        self.node(node).and_then(|n| n.parent.as_ref()) == Some(parent)
    }

    /// Whether `node` hosts the member of `client` (and so may sign for it).
    pub fn hosts(&self, node: &NodeId, client: &ClientId) -> bool {
        self.members.iter().any(|m| m.id.as_str() == client.member() && &m.home == node)
    }

    /// The nodes' keys by key id, revoked ones left out: what `open` trusts.
    /// Built once per registry, so opening a message is one look-up, not an
    /// SM3 of every key in the network.
    pub fn keyring(&self) -> Keyring {
        let keys = self
            .nodes
            .iter()
            .flat_map(|n| n.keys.iter().map(move |k| (k, n)))
            .filter_map(|(k, n)| key_id(k).map(|kid| (kid, SignerKey { public_key_hex: k.clone(), node: n.id.clone() })))
            .filter(|(kid, _)| !self.revoked.contains(kid))
            .collect();
        Keyring { keys }
    }

    pub fn policy(&self) -> Policy {
        Policy { max_skew_seconds: self.policy.max_skew_seconds, max_ttl_seconds: self.policy.max_ttl_seconds }
    }

    /// Why this document cannot be a registry, if it cannot.
    fn problem(&self) -> Option<String> {
        let prefix = format!("{}/", self.instance);
        if !(self.issued_at <= self.soft_expires_at && self.soft_expires_at <= self.hard_expires_at) {
            return Some("issued_at ≤ soft_expires_at ≤ hard_expires_at does not hold".into());
        }
        if self.policy.max_skew_seconds <= 0 || self.policy.max_ttl_seconds <= 0 {
            return Some("the policy's limits must be positive".into());
        }
        let mut seen = std::collections::HashSet::new();
        for n in &self.nodes {
            if !n.id.as_str().starts_with(&prefix) {
                return Some(format!("node {} is not of instance {}", n.id, self.instance));
            }
            if !seen.insert(n.id.as_str()) {
                return Some(format!("node {} is listed twice", n.id));
            }
            if let Some(k) = n.keys.iter().find(|k| k.len() != 130 || !k.starts_with("04") || hex::decode(k).is_err()) {
                return Some(format!("node {} has a key that is not an uncompressed SM2 point: {k}", n.id));
            }
            let parent = n.parent.as_ref().map(|p| self.node(p).map(|e| e.tier));
            match (n.tier, parent) {
                (Tier::National, None) => {}
                (Tier::National, Some(_)) => return Some(format!("the national node {} has a parent", n.id)),
                (_, None) => return Some(format!("node {} has no parent", n.id)),
                (_, Some(None)) => return Some(format!("node {}'s parent is not listed", n.id)),
                (tier, Some(Some(up))) if up >= tier => return Some(format!("node {}'s parent is not a tier above it", n.id)),
                _ => {}
            }
        }
        let mut members = std::collections::HashSet::new();
        for m in &self.members {
            if !m.id.as_str().starts_with(&prefix) || m.id.member() != m.id.as_str() {
                return Some(format!("{} is not a member of instance {}", m.id, self.instance));
            }
            if !members.insert(m.id.as_str()) {
                return Some(format!("member {} is listed twice", m.id));
            }
            if self.node(&m.home).is_none() {
                return Some(format!("member {}'s home node {} is not listed", m.id, m.home));
            }
        }
        None
    }
}

/// A registry's member keys, by key id (`Directory::keyring`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring {
    keys: std::collections::HashMap<String, SignerKey>,
}

impl Keyring {
    /// The key with this id, if the registry trusts it.
    pub fn signer(&self, kid: &str) -> Option<SignerKey> {
        self.keys.get(kid).cloned()
    }
}

/// A registry as the national node publishes it: the exact bytes and the
/// signature line over them (`sm2-sm3;kid=…;sig=…`, as for envelopes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDirectory {
    pub bytes: Vec<u8>,
    pub signature_line: String,
}

/// Serialise and sign a registry with a registry key.
pub fn sign_directory(directory: &Directory, key: &SealKey) -> Result<SignedDirectory, ExchangeError> {
    if let Some(reason) = directory.problem() {
        return Err(ExchangeError::RegistryInvalid { reason });
    }
    let bytes = serde_json::to_vec(directory).map_err(|e| ExchangeError::RegistryInvalid { reason: e.to_string() })?;
    let signature_line = sign_line(key, &bytes)?;
    Ok(SignedDirectory { bytes, signature_line })
}

/// Check a fetched registry against the anchor and the copy in hand: signed
/// by an anchor key, of the anchor's instance, consistent, not expired, not
/// issued in the future, and never older than the copy (anti-rollback). The
/// same serial is accepted only with the same bytes.
pub fn accept_directory(
    anchor: &Anchor,
    bytes: &[u8],
    signature_line: &str,
    cached: Option<&Directory>,
    now: jiff::Timestamp,
) -> Result<Fetched, ExchangeError> {
    if bytes.len() > MAX_REGISTRY_BYTES {
        return Err(ExchangeError::RegistryInvalid { reason: format!("larger than {MAX_REGISTRY_BYTES} bytes") });
    }
    let (kid, signature) = parse_signature_line(signature_line)?;
    let key = anchor.keys.iter().find(|k| key_id(k).as_deref() == Some(kid)).ok_or(ExchangeError::RegistrySignature)?;
    verify(key, bytes, &signature).map_err(|_| ExchangeError::RegistrySignature)?;
    let directory: Directory = serde_json::from_slice(bytes).map_err(|e| ExchangeError::RegistryInvalid { reason: e.to_string() })?;
    if directory.instance != anchor.instance {
        return Err(ExchangeError::RegistryInvalid {
            reason: format!("instance {} is not the anchor's {}", directory.instance, anchor.instance),
        });
    }
    if let Some(reason) = directory.problem() {
        return Err(ExchangeError::RegistryInvalid { reason });
    }
    if let Some(cached) = cached {
        if directory.serial < cached.serial {
            return Err(ExchangeError::RegistryRollback { cached: cached.serial, offered: directory.serial });
        }
        if directory.serial == cached.serial {
            return match &directory == cached {
                true => Ok(Fetched::Unchanged),
                false => {
                    Err(ExchangeError::RegistryInvalid { reason: format!("serial {} was issued with other content", directory.serial) })
                }
            };
        }
    }
    let skew = jiff::SignedDuration::from_secs(directory.policy.max_skew_seconds);
    if directory.issued_at > now + skew {
        return Err(ExchangeError::RegistryInvalid { reason: format!("issued in the future ({})", directory.issued_at) });
    }
    if directory.validity(now) == Validity::Expired {
        return Err(ExchangeError::RegistryOutdated { at: directory.hard_expires_at.to_string() });
    }
    Ok(Fetched::Newer(Box::new(directory)))
}
