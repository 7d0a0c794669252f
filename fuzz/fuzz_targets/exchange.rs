//! The exchange's receiving side, as peer nodes send it: a `gx/1` envelope
//! line, a signature line and a body (split at the first two newlines); a node
//! registry (the body, under the same signature line); and the header JSON and
//! identifiers on their own (a forged signature stops `open` before the header
//! is read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yiwang_exchange::{Anchor, ClientId, Header, NodeId, Policy, SignerKey, accept_directory, msg_id_millis, open};

/// A real SM2 key and node: the signature check runs to the end and must fail cleanly.
fn signer() -> &'static SignerKey {
    static KEY: std::sync::OnceLock<SignerKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| SignerKey {
        public_key_hex: yiwang_crypto::seal::SealKey::generate().public_key_hex(),
        node: NodeId::parse("CN/NODE/440300").unwrap_or_else(|e| panic!("{e}")),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let (Some(envelope), Some(line)) = (parts.next(), parts.next()) else { return };
    let body = parts.next().unwrap_or_default();
    let (Ok(envelope), Ok(line)) = (std::str::from_utf8(envelope), std::str::from_utf8(line)) else { return };
    let now = jiff::Timestamp::UNIX_EPOCH;
    let _ = open(envelope, line, body, &|_| Some(signer().clone()), now, &Policy::default());
    // A fetched node registry: the body as its bytes, under the same signature line.
    let anchor = Anchor { instance: "CN".into(), keys: vec![signer().public_key_hex.clone()] };
    let _ = accept_directory(&anchor, body, line, None, now);
    if let Ok(header) = serde_json::from_slice::<Header>(data) {
        let _ = msg_id_millis(&header.msg_id);
    }
    let _ = NodeId::parse(envelope);
    let _ = ClientId::parse(line);
    let _ = yiwang_exchange::ServiceId::parse(line);
    let _ = msg_id_millis(envelope);
});
