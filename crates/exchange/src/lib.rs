//! The node-to-node exchange's message format (`gx/1`): identifiers, the signed
//! envelope, the receiver's checks and the signed node registry, as pure
//! functions of their inputs (the caller passes the clock, the randomness and
//! the keys it trusts).
//!
//! The design follows `../shared/docs/exchange.md` (drawn from X-Road's message
//! protocol): the sender signs the exact header bytes it sends, and the header
//! commits to the body by its SM3 digest, so nothing is ever canonicalised and a
//! logged message verifies with OpenSSL alone (`docs/exchange.md`).

mod envelope;
mod error;
mod ids;
mod log;
mod registry;

pub use envelope::{
    BodyRef, Header, InReplyTo, Kind, MAX_HEADER_BYTES, Opened, PROTOCOL, Policy, Recipient, RegistryRef, Replay, Sealed, Sender,
    SignerKey, User, key_id, open, replay, seal,
};
pub use error::ExchangeError;
pub use ids::{ClientId, NodeId, ServiceId, msg_id_millis, msg_id_v7};
pub use log::{Direction, GENESIS, LogEntry, LogRecord, LogVerifier, entry_digest, link, log_next};
pub use registry::{
    Anchor, Directory, Fetched, Keyring, MAX_REGISTRY_BYTES, MemberEntry, NodeEntry, RegistryPolicy, SignedDirectory, Tier, Validity,
    accept_directory, sign_directory,
};
