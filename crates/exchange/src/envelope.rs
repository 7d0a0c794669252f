//! The `gx/1` envelope: header bytes signed with SM2/SM3, carried as two HTTP
//! header lines (`Gx-Envelope`, `Gx-Signature`) beside the raw body.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use yiwang_crypto::seal::{SealKey, verify};

use crate::{ClientId, ExchangeError, NodeId, msg_id_millis};

/// The protocol this crate speaks, the header's `v`.
pub const PROTOCOL: &str = "gx/1";

/// The largest header a receiver accepts, in bytes (before base64url).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Request,
    Response,
    /// One-way, delivered through the sender's outbox until a receipt comes back.
    Event,
    Receipt,
    Error,
}

/// The sending side: its node, the member or subsystem that sends, and the
/// party it acts for, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub node: NodeId,
    pub client: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
}

/// The receiving node and the service asked for
/// (`CN/GOV/{USCC}/{subsystem}/{service}/{version}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub node: NodeId,
    pub service: String,
}

/// The person or system behind the request, and why: the provider logs and
/// checks these against its grants; they are claims, never authorisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// An opaque or pseudonymous operator id (never an ID number).
    pub id: String,
    /// The purpose: the 事项 or 事由 code, the legal basis.
    pub purpose: String,
    /// The case the request serves, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

/// The body, by digest: the signature over the header covers it through these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyRef {
    pub content_type: String,
    pub length: u64,
    /// SM3 of the body, lower-case hex.
    pub sm3: String,
}

impl BodyRef {
    pub fn of(content_type: &str, body: &[u8]) -> BodyRef {
        BodyRef { content_type: content_type.to_string(), length: body.len() as u64, sm3: hex::encode(yiwang_crypto::sm3(body)) }
    }
}

/// The node registry snapshot the sender used (for diagnosing staleness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRef {
    pub serial: u64,
    pub digest: String,
}

/// What a response, receipt or error answers: the request's id and the SM3 of
/// its exact header bytes, so a log proves which request it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InReplyTo {
    pub msg_id: String,
    pub env_sm3: String,
}

/// A `gx/1` header. The sender serialises it once; those bytes are what is
/// signed, sent and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub v: String,
    pub kind: Kind,
    /// A UUIDv7 drawn by the sending node.
    pub msg_id: String,
    /// The business conversation the message belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv_id: Option<String>,
    /// `msg_id` of the first send; the same on every retry.
    pub idem_key: String,
    pub created_at: jiff::Timestamp,
    pub expires_at: jiff::Timestamp,
    pub from: Sender,
    pub to: Recipient,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The provider's grant the sender means to use (a hint; the provider decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_ref: Option<String>,
    pub body: BodyRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<InReplyTo>,
}

impl Header {
    /// A new message's header: `gx/1`, a fresh UUIDv7 id drawn from `now` and
    /// `random` (also its `idem_key`, kept on retries), valid for `ttl`; the
    /// optional fields empty.
    pub fn new(
        kind: Kind,
        from: Sender,
        to: Recipient,
        body: BodyRef,
        now: jiff::Timestamp,
        ttl: jiff::SignedDuration,
        random: [u8; 10],
    ) -> Header {
        let msg_id = crate::msg_id_v7(now, random);
        Header {
            v: PROTOCOL.into(),
            kind,
            idem_key: msg_id.clone(),
            msg_id,
            conv_id: None,
            created_at: now,
            expires_at: now + ttl,
            from,
            to,
            user: None,
            grant_ref: None,
            body,
            registry: None,
            in_reply_to: None,
        }
    }
}

/// A signed envelope as it goes on the wire and into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The exact header bytes (UTF-8 JSON) that were signed.
    pub header_bytes: Vec<u8>,
    /// SM2 over SM3 with the default distinguishing id, DER.
    pub signature: Vec<u8>,
    /// The signer's key id (`key_id`).
    pub kid: String,
}

impl Sealed {
    /// The `Gx-Envelope` header line's value: base64url of the header bytes, unpadded.
    pub fn envelope(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.header_bytes)
    }

    /// The `Gx-Signature` header line's value: `sm2-sm3;kid=…;sig=<base64 DER>`.
    pub fn signature_line(&self) -> String {
        format_signature_line(&self.kid, &self.signature)
    }

    /// SM3 of the header bytes, hex: what a reply's `in_reply_to.env_sm3` names
    /// and what the receiver's replay store keeps.
    pub fn env_sm3(&self) -> String {
        hex::encode(yiwang_crypto::sm3(&self.header_bytes))
    }
}

/// A key id: the SM3 of the signer's public key (uncompressed SEC1 bytes), hex.
/// (The exchange design names the signing certificate's fingerprint; until
/// nodes carry certificates, the key itself is what the registry lists.)
pub fn key_id(public_key_hex: &str) -> Option<String> {
    hex::decode(public_key_hex.trim()).ok().map(|point| hex::encode(yiwang_crypto::sm3(&point)))
}

/// Serialise `header` and sign its bytes with `key`. The header must already
/// name the body (`BodyRef::of`).
pub fn seal(header: &Header, key: &SealKey) -> Result<Sealed, ExchangeError> {
    let header_bytes = serde_json::to_vec(header).map_err(|e| ExchangeError::BadHeader { reason: e.to_string() })?;
    if header_bytes.len() > MAX_HEADER_BYTES {
        return Err(ExchangeError::Encoding { max: MAX_HEADER_BYTES });
    }
    let (kid, signature) = sign_bytes(key, &header_bytes)?;
    Ok(Sealed { header_bytes, signature, kid })
}

/// The signer's key id and its DER signature over `bytes`.
fn sign_bytes(key: &SealKey, bytes: &[u8]) -> Result<(String, Vec<u8>), ExchangeError> {
    let kid = key_id(&key.public_key_hex()).ok_or(ExchangeError::SignatureLine)?;
    Ok((kid, key.sign_der(bytes)))
}

fn format_signature_line(kid: &str, signature: &[u8]) -> String {
    format!("sm2-sm3;kid={kid};sig={}", STANDARD.encode(signature))
}

/// A key the receiver trusts, and the node it belongs to (from the node
/// registry). A node signs for the members it hosts, as a security server
/// does; that the sending member is hosted there is the registry's to say
/// (`Directory::hosts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerKey {
    /// Uncompressed SEC1, hex (`04…`).
    pub public_key_hex: String,
    /// The node whose messages this key signs.
    pub node: NodeId,
}

/// The receiver's limits (the registry's policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How far `created_at` may be from the receiver's clock, in seconds.
    pub max_skew_seconds: i64,
    /// How long after `created_at` a message may stay valid, in seconds.
    pub max_ttl_seconds: i64,
}

impl Default for Policy {
    /// 5 minutes of skew; a day of validity (outbox retries across an outage).
    fn default() -> Self {
        Policy { max_skew_seconds: 300, max_ttl_seconds: 86_400 }
    }
}

/// An envelope that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub header: Header,
    pub header_bytes: Vec<u8>,
    /// SM3 of the header bytes, hex.
    pub env_sm3: String,
}

/// Check a received envelope, in this order: its encoding and size, the
/// signature line, the key (known, and the sender's), the signature over the
/// exact bytes, only then the header's content, the body against its digest,
/// the message id, the clock and the validity. Replays are the caller's
/// (`replay`, against its store).
pub fn open(
    envelope: &str,
    signature_line: &str,
    body: &[u8],
    keys: &dyn Fn(&str) -> Option<SignerKey>,
    now: jiff::Timestamp,
    policy: &Policy,
) -> Result<Opened, ExchangeError> {
    let encoding = || ExchangeError::Encoding { max: MAX_HEADER_BYTES };
    // Bound the work before decoding: base64 is 4 characters per 3 bytes.
    if envelope.len() > MAX_HEADER_BYTES.div_ceil(3) * 4 {
        return Err(encoding());
    }
    let header_bytes = URL_SAFE_NO_PAD.decode(envelope.trim()).map_err(|_| encoding())?;
    if header_bytes.len() > MAX_HEADER_BYTES {
        return Err(encoding());
    }
    let (kid, signature) = parse_signature_line(signature_line)?;
    let key = keys(kid).ok_or_else(|| ExchangeError::UnknownKey { kid: kid.to_string() })?;
    verify(&key.public_key_hex, &header_bytes, &signature).map_err(|_| ExchangeError::BadSignature)?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|e| ExchangeError::BadHeader { reason: e.to_string() })?;
    if header.v != PROTOCOL {
        return Err(ExchangeError::BadHeader { reason: format!("v is {:?}, not {PROTOCOL:?}", header.v) });
    }
    if header.idem_key.trim().is_empty() || header.to.service.trim().is_empty() {
        return Err(ExchangeError::BadHeader { reason: "idem_key and to.service must not be empty".into() });
    }
    if header.from.node != key.node {
        return Err(ExchangeError::SignerMismatch { kid: kid.to_string() });
    }
    if header.body.length != body.len() as u64 || header.body.sm3 != hex::encode(yiwang_crypto::sm3(body)) {
        return Err(ExchangeError::BodyDigest);
    }
    let created = header.created_at.as_millisecond();
    let max_skew_ms = policy.max_skew_seconds.saturating_mul(1000);
    match msg_id_millis(&header.msg_id) {
        Some(ms) if (ms - created).abs() <= max_skew_ms => {}
        _ => return Err(ExchangeError::MessageId),
    }
    // Made in the future beyond the skew: a clock is wrong. Made in the past:
    // held to its expiry only, so an outbox may resend identical bytes across
    // an outage (the replay store refuses a second delivery).
    let skew_ms = created - now.as_millisecond();
    if skew_ms > max_skew_ms {
        return Err(ExchangeError::ClockSkew { seconds: skew_ms / 1000, max: policy.max_skew_seconds });
    }
    if header.expires_at.as_millisecond() - created > policy.max_ttl_seconds.saturating_mul(1000) {
        return Err(ExchangeError::TooLong { max: policy.max_ttl_seconds });
    }
    if now > header.expires_at {
        return Err(ExchangeError::Expired { at: header.expires_at.to_string() });
    }
    let env_sm3 = hex::encode(yiwang_crypto::sm3(&header_bytes));
    Ok(Opened { header, header_bytes, env_sm3 })
}

/// Sign `bytes` and give the signature line `sm2-sm3;kid=…;sig=…`.
pub(crate) fn sign_line(key: &SealKey, bytes: &[u8]) -> Result<String, ExchangeError> {
    let (kid, signature) = sign_bytes(key, bytes)?;
    Ok(format_signature_line(&kid, &signature))
}

/// `sm2-sm3;kid=<hex>;sig=<base64 DER>` → (kid, signature bytes).
pub(crate) fn parse_signature_line(line: &str) -> Result<(&str, Vec<u8>), ExchangeError> {
    let mut parts = line.trim().split(';');
    let (Some("sm2-sm3"), Some(kid), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ExchangeError::SignatureLine);
    };
    let kid = kid.strip_prefix("kid=").filter(|k| k.len() == 64 && k.chars().all(|c| c.is_ascii_hexdigit()));
    let sig = sig.strip_prefix("sig=").filter(|s| s.len() <= 200).and_then(|s| STANDARD.decode(s).ok());
    match (kid, sig) {
        (Some(kid), Some(sig)) => Ok((kid, sig)),
        _ => Err(ExchangeError::SignatureLine),
    }
}

/// What the receiver's replay store says about an opened envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Not seen from this sender: process it.
    New,
    /// The same bytes again (a retry): answer with the stored response, byte for byte.
    Retry,
}

/// Decide on a message given the `env_sm3` stored for (sender node, msg_id),
/// if any: the same id with other bytes is refused (`gx.id_conflict`).
pub fn replay(seen_env_sm3: Option<&str>, opened: &Opened) -> Result<Replay, ExchangeError> {
    match seen_env_sm3 {
        None => Ok(Replay::New),
        Some(seen) if seen == opened.env_sm3 => Ok(Replay::Retry),
        Some(_) => Err(ExchangeError::IdConflict { msg_id: opened.header.msg_id.clone() }),
    }
}
