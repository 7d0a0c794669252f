//! The receiver's checks, each refusing what it should and nothing else; and a
//! sealed envelope verified by OpenSSL alone, as a third party would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use base64::Engine;
use yiwang_crypto::seal::SealKey;
use yiwang_errors::Coded;
use yiwang_exchange::{
    BodyRef, ClientId, Header, Kind, NodeId, Policy, Recipient, Replay, Sealed, Sender, SignerKey, User, key_id, msg_id_v7, open, replay,
    seal,
};

const MEMBER: &str = "CN/GOV/91350100M000100Y43";
const SENDER_NODE: &str = "CN/NODE/440300";
const BODY: &[u8] = "{\"citizen\":\"张三\",\"fields\":[\"name\",\"household\"]}".as_bytes();

fn at(s: &str) -> jiff::Timestamp {
    s.parse().expect("a time")
}

fn header(now: jiff::Timestamp, body: &[u8]) -> Header {
    let mut h = Header::new(
        Kind::Request,
        Sender {
            node: NodeId::parse(SENDER_NODE).expect("node"),
            client: ClientId::parse(&format!("{MEMBER}/window")).expect("client"),
            on_behalf_of: None,
        },
        Recipient { node: NodeId::parse("CN/NODE/110000").expect("node"), service: format!("{MEMBER}/population-db/person/v1") },
        BodyRef::of("application/json", body),
        now,
        jiff::SignedDuration::from_secs(60),
        [7; 10],
    );
    h.conv_id = Some("conv-1".into());
    h.user = Some(User { id: "staff-7f3a".into(), purpose: "11440300MB2D12345X4440330010001".into(), issue: None });
    h
}

/// The receiver's trusted keys, by key id.
type Keys = Box<dyn Fn(&str) -> Option<SignerKey>>;

struct Fixture {
    key: SealKey,
    sealed: Sealed,
    now: jiff::Timestamp,
}

fn fixture() -> Fixture {
    let key = SealKey::generate();
    let now = at("2026-12-07T05:40:00.250Z");
    let sealed = seal(&header(now, BODY), &key).expect("sealed");
    Fixture { key, sealed, now }
}

impl Fixture {
    fn keys(&self) -> Keys {
        let public = self.key.public_key_hex();
        let kid = key_id(&public).expect("kid");
        Box::new(move |k: &str| {
            (k == kid).then(|| SignerKey { public_key_hex: public.clone(), node: NodeId::parse(SENDER_NODE).expect("node") })
        })
    }

    fn open_with(&self, envelope: &str, line: &str, body: &[u8], now: jiff::Timestamp) -> Result<yiwang_exchange::Opened, String> {
        open(envelope, line, body, &*self.keys(), now, &Policy::default()).map_err(|e| e.code().to_string())
    }
}

#[test]
fn a_sealed_envelope_opens_and_its_retry_is_recognised() {
    let f = fixture();
    let opened = f.open_with(&f.sealed.envelope(), &f.sealed.signature_line(), BODY, f.now).expect("opens");
    assert_eq!(opened.header, header(f.now, BODY));
    assert_eq!(opened.env_sm3, f.sealed.env_sm3());
    assert_eq!(replay(None, &opened), Ok(Replay::New));
    assert_eq!(replay(Some(&opened.env_sm3), &opened), Ok(Replay::Retry));
    let other = "0".repeat(64);
    assert_eq!(replay(Some(&other), &opened).map_err(|e| e.code()), Err("gx.id_conflict"));
}

#[test]
fn a_changed_byte_anywhere_is_refused() {
    let f = fixture();
    let line = f.sealed.signature_line();
    // One byte of the header changed (its priority among the checks: the signature).
    let mut bytes = f.sealed.header_bytes.clone();
    let i = bytes.iter().position(|&b| b == b'4').expect("a digit of the node id");
    bytes[i] = b'5';
    let tampered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    assert_eq!(f.open_with(&tampered, &line, BODY, f.now).err().as_deref(), Some("gx.bad_signature"));
    // The body changed: the header's digest no longer matches.
    let mut body = BODY.to_vec();
    body[2] ^= 1;
    assert_eq!(f.open_with(&f.sealed.envelope(), &line, &body, f.now).err().as_deref(), Some("gx.body_digest"));
    // A signature of other bytes.
    let other = seal(&header(f.now, b"{}"), &f.key).expect("sealed");
    assert_eq!(f.open_with(&f.sealed.envelope(), &other.signature_line(), BODY, f.now).err().as_deref(), Some("gx.bad_signature"));
}

#[test]
fn keys_must_be_known_and_the_senders() {
    let f = fixture();
    let stranger = SealKey::generate();
    let foreign = seal(&header(f.now, BODY), &stranger).expect("sealed");
    assert_eq!(f.open_with(&foreign.envelope(), &foreign.signature_line(), BODY, f.now).err().as_deref(), Some("gx.unknown_key"));
    // A trusted key of another node signing in this node's name.
    let public = f.key.public_key_hex();
    let kid = key_id(&public).expect("kid");
    let other_node = move |k: &str| {
        (k == kid).then(|| SignerKey { public_key_hex: public.clone(), node: NodeId::parse("CN/NODE/330100").expect("node") })
    };
    let got = open(&f.sealed.envelope(), &f.sealed.signature_line(), BODY, &other_node, f.now, &Policy::default());
    assert_eq!(got.map_err(|e| e.code()).err(), Some("gx.signer_mismatch"));
}

#[test]
fn time_bounds_hold() {
    let f = fixture();
    let (env, line) = (f.sealed.envelope(), f.sealed.signature_line());
    let later = |s: i64| f.now + jiff::SignedDuration::from_secs(s);
    assert!(f.open_with(&env, &line, BODY, later(59)).is_ok(), "within validity and skew");
    assert_eq!(f.open_with(&env, &line, BODY, later(61)).err().as_deref(), Some("gx.expired"));
    assert_eq!(f.open_with(&env, &line, BODY, later(-301)).err().as_deref(), Some("gx.clock_skew"));
    // Valid for longer than the policy allows.
    let mut h = header(f.now, BODY);
    h.expires_at = f.now + jiff::SignedDuration::from_hours(25);
    let long = seal(&h, &f.key).expect("sealed");
    assert_eq!(f.open_with(&long.envelope(), &long.signature_line(), BODY, f.now).err().as_deref(), Some("gx.ttl"));
    // An outbox's message resent an hour after it was made, within its day of validity.
    let mut h = header(f.now, BODY);
    h.expires_at = f.now + jiff::SignedDuration::from_hours(24);
    let queued = seal(&h, &f.key).expect("sealed");
    assert!(f.open_with(&queued.envelope(), &queued.signature_line(), BODY, later(3600)).is_ok(), "past creation is bounded by expiry");
    // An id whose time is not the message's.
    let mut h = header(f.now, BODY);
    h.msg_id = msg_id_v7(later(-3600), [1; 10]);
    let old_id = seal(&h, &f.key).expect("sealed");
    assert_eq!(f.open_with(&old_id.envelope(), &old_id.signature_line(), BODY, f.now).err().as_deref(), Some("gx.msg_id"));
}

#[test]
fn malformed_input_is_refused_before_any_work() {
    let f = fixture();
    let line = f.sealed.signature_line();
    let huge = "A".repeat(20_000);
    assert_eq!(f.open_with(&huge, &line, BODY, f.now).err().as_deref(), Some("gx.encoding"));
    assert_eq!(f.open_with("not base64!", &line, BODY, f.now).err().as_deref(), Some("gx.encoding"));
    for bad in ["", "rsa;kid=00;sig=AA==", "sm2-sm3;kid=zz;sig=AA==", "sm2-sm3;sig=AA==;kid=00", "sm2-sm3;kid=00"] {
        assert_eq!(f.open_with(&f.sealed.envelope(), bad, BODY, f.now).err().as_deref(), Some("gx.signature_line"), "{bad}");
    }
    // Signed, but not a gx/1 header.
    let mut h = header(f.now, BODY);
    h.v = "gx/2".into();
    let v2 = seal(&h, &f.key).expect("sealed");
    assert_eq!(f.open_with(&v2.envelope(), &v2.signature_line(), BODY, f.now).err().as_deref(), Some("gx.bad_header"));
}

fn openssl(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl").current_dir(dir).args(args).output().expect("openssl runs (apt: openssl)")
}

/// What docs/exchange.md tells a third party: the header bytes are the
/// base64url of `Gx-Envelope`, the signature the base64 of `sig=`, the key the
/// registry's SEC1 point in an SM2 SubjectPublicKeyInfo; OpenSSL verifies SM2
/// over SM3 with the distinguishing id 1234567812345678, and the body's SM3
/// matches the header's `body.sm3`.
#[test]
fn openssl_alone_verifies_a_logged_envelope() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let header_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(f.sealed.envelope()).expect("the envelope line decodes");
    std::fs::write(dir.path().join("header.json"), &header_bytes).expect("write");
    let sig = f.sealed.signature_line();
    let sig = sig.rsplit("sig=").next().expect("a sig= part");
    std::fs::write(dir.path().join("sig.der"), base64::engine::general_purpose::STANDARD.decode(sig).expect("base64")).expect("write");
    let spki = format!("{SPKI_PREFIX}{}", f.key.public_key_hex());
    std::fs::write(dir.path().join("key.der"), hex::decode(spki).expect("hex")).expect("write");
    std::fs::write(dir.path().join("body.bin"), BODY).expect("write");
    let verify = |file: &str| {
        openssl(
            dir.path(),
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-keyform",
                "DER",
                "-inkey",
                "key.der",
                "-rawin",
                "-digest",
                "sm3",
                "-in",
                file,
                "-sigfile",
                "sig.der",
                "-pkeyopt",
                "distid:1234567812345678",
            ],
        )
    };
    let ok = verify("header.json");
    assert!(ok.status.success(), "openssl refused: {}{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
    let digest = openssl(dir.path(), &["dgst", "-sm3", "-r", "body.bin"]);
    let digest = String::from_utf8_lossy(&digest.stdout);
    let header: serde_json::Value = serde_json::from_slice(&header_bytes).expect("json");
    assert_eq!(digest.split_whitespace().next(), header["body"]["sm3"].as_str());
    // And OpenSSL refuses a changed header.
    let mut changed = header_bytes.clone();
    changed[10] ^= 1;
    std::fs::write(dir.path().join("changed.json"), &changed).expect("write");
    assert!(!verify("changed.json").status.success(), "openssl accepted a changed header");
}

/// DER of `SubjectPublicKeyInfo { id-ecPublicKey, SM2 (1.2.156.10197.1.301) }`
/// up to the 65-byte point, as docs/exchange.md gives it.
const SPKI_PREFIX: &str = "3059301306072a8648ce3d020106082a811ccf5501822d034200";
