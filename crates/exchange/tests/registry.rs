//! The signed node registry: accepted only from the anchor's keys, never rolled
//! back, used while the national node is down until its hard expiry, and the
//! source of the keys an envelope is opened with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use yiwang_crypto::seal::SealKey;
use yiwang_errors::Coded;
use yiwang_exchange::{
    Anchor, BodyRef, ClientId, Directory, Fetched, Header, Kind, MemberEntry, NodeEntry, NodeId, Recipient, RegistryPolicy, Sender, Tier,
    Validity, accept_directory, key_id, open, seal, sign_directory,
};

const MEMBER: &str = "CN/GOV/91350100M000100Y43";

fn at(s: &str) -> jiff::Timestamp {
    s.parse().expect("a time")
}

fn node(id: &str, tier: Tier, parent: Option<&str>, keys: Vec<String>) -> NodeEntry {
    NodeEntry {
        id: NodeId::parse(id).expect("node"),
        tier,
        parent: parent.map(|p| NodeId::parse(p).expect("node")),
        endpoints: vec![format!("https://{}.example.cn", id.replace('/', "-"))],
        keys,
    }
}

/// National, one province, one of its cities (signing with `node_key`); one member at the city.
fn directory(serial: u64, issued: jiff::Timestamp, node_key: &SealKey) -> Directory {
    Directory {
        instance: "CN".into(),
        serial,
        issued_at: issued,
        soft_expires_at: issued + jiff::SignedDuration::from_hours(1),
        hard_expires_at: issued + jiff::SignedDuration::from_hours(72),
        nodes: vec![
            node("CN/NODE/000000", Tier::National, None, vec![]),
            node("CN/NODE/440000", Tier::Provincial, Some("CN/NODE/000000"), vec![]),
            node("CN/NODE/440300", Tier::Municipal, Some("CN/NODE/440000"), vec![node_key.public_key_hex()]),
        ],
        members: vec![MemberEntry { id: ClientId::parse(MEMBER).expect("member"), home: NodeId::parse("CN/NODE/440300").expect("node") }],
        policy: RegistryPolicy { max_skew_seconds: 300, max_ttl_seconds: 86_400 },
        revoked: vec![],
    }
}

struct Net {
    registry_key: SealKey,
    node_key: SealKey,
    anchor: Anchor,
    t0: jiff::Timestamp,
}

fn net() -> Net {
    let registry_key = SealKey::generate();
    let anchor = Anchor { instance: "CN".into(), keys: vec![SealKey::generate().public_key_hex(), registry_key.public_key_hex()] };
    Net { registry_key, node_key: SealKey::generate(), anchor, t0: at("2026-12-07T06:00:00Z") }
}

fn code<T: std::fmt::Debug>(r: Result<T, yiwang_exchange::ExchangeError>) -> String {
    r.map_err(|e| e.code().to_string()).expect_err("refused")
}

#[test]
fn a_node_takes_newer_registries_and_never_goes_back() {
    let n = net();
    let v1 = sign_directory(&directory(1, n.t0, &n.node_key), &n.registry_key).unwrap();
    let Fetched::Newer(first) = accept_directory(&n.anchor, &v1.bytes, &v1.signature_line, None, n.t0).unwrap() else {
        panic!("the first registry is taken")
    };
    assert_eq!(first.serial, 1);
    // The same again: nothing to swap.
    assert_eq!(accept_directory(&n.anchor, &v1.bytes, &v1.signature_line, Some(&first), n.t0).unwrap(), Fetched::Unchanged);
    let later = n.t0 + jiff::SignedDuration::from_mins(10);
    let v2 = sign_directory(&directory(2, later, &n.node_key), &n.registry_key).unwrap();
    let Fetched::Newer(second) = accept_directory(&n.anchor, &v2.bytes, &v2.signature_line, Some(&first), later).unwrap() else {
        panic!("a newer serial is taken")
    };
    // An old (validly signed) registry replayed at the node: refused.
    assert_eq!(code(accept_directory(&n.anchor, &v1.bytes, &v1.signature_line, Some(&second), later)), "gx.registry_rollback");
    // The same serial with other content: refused.
    let mut other = directory(2, later, &n.node_key);
    other.members.clear();
    let other = sign_directory(&other, &n.registry_key).unwrap();
    assert_eq!(code(accept_directory(&n.anchor, &other.bytes, &other.signature_line, Some(&second), later)), "gx.registry_invalid");
}

#[test]
fn only_the_anchor_signs_and_every_byte_counts() {
    let n = net();
    let forged = sign_directory(&directory(1, n.t0, &n.node_key), &SealKey::generate()).unwrap();
    assert_eq!(code(accept_directory(&n.anchor, &forged.bytes, &forged.signature_line, None, n.t0)), "gx.registry_signature");
    let good = sign_directory(&directory(1, n.t0, &n.node_key), &n.registry_key).unwrap();
    let mut bytes = good.bytes.clone();
    let i = bytes.iter().position(|&b| b == b'3').expect("a digit");
    bytes[i] = b'4';
    assert_eq!(code(accept_directory(&n.anchor, &bytes, &good.signature_line, None, n.t0)), "gx.registry_signature");
    // A test network's registry is not production's, even signed by the same key.
    let mut test_net = directory(1, n.t0, &n.node_key);
    test_net.instance = "CN-TEST".into();
    let signed = sign_directory(&test_net, &n.registry_key);
    assert_eq!(code(signed), "gx.registry_invalid", "its node ids are of instance CN");
}

#[test]
fn an_inconsistent_registry_is_not_signed_and_not_taken() {
    let n = net();
    let mut orphan = directory(1, n.t0, &n.node_key);
    orphan.members[0].home = NodeId::parse("CN/NODE/110000").unwrap();
    assert_eq!(code(sign_directory(&orphan, &n.registry_key)), "gx.registry_invalid");
    let mut upside_down = directory(1, n.t0, &n.node_key);
    upside_down.nodes[1].parent = Some(NodeId::parse("CN/NODE/440300").unwrap());
    assert_eq!(code(sign_directory(&upside_down, &n.registry_key)), "gx.registry_invalid");
    let mut subsystem = directory(1, n.t0, &n.node_key);
    subsystem.members[0].id = ClientId::parse(&format!("{MEMBER}/window")).unwrap();
    assert_eq!(code(sign_directory(&subsystem, &n.registry_key)), "gx.registry_invalid");
    // Signed as bytes by the national node's key, bypassing `sign_directory`: still refused.
    let bytes = serde_json::to_vec(&orphan).unwrap();
    let line = format!(
        "sm2-sm3;kid={};sig={}",
        key_id(&n.registry_key.public_key_hex()).unwrap(),
        base64::engine::general_purpose::STANDARD.encode(n.registry_key.sign_der(&bytes))
    );
    assert_eq!(code(accept_directory(&n.anchor, &bytes, &line, None, n.t0)), "gx.registry_invalid");
}

#[test]
fn a_copy_serves_through_an_outage_until_its_hard_expiry() {
    let n = net();
    let dir = directory(1, n.t0, &n.node_key);
    assert_eq!(dir.validity(n.t0), Validity::Fresh);
    assert_eq!(dir.validity(n.t0 + jiff::SignedDuration::from_hours(2)), Validity::Stale);
    assert_eq!(dir.validity(n.t0 + jiff::SignedDuration::from_hours(72)), Validity::Expired);
    // An expired registry is not taken, nor one issued in the future.
    let signed = sign_directory(&dir, &n.registry_key).unwrap();
    let after = n.t0 + jiff::SignedDuration::from_hours(73);
    assert_eq!(code(accept_directory(&n.anchor, &signed.bytes, &signed.signature_line, None, after)), "gx.registry_outdated");
    let before = n.t0 - jiff::SignedDuration::from_mins(30);
    assert_eq!(code(accept_directory(&n.anchor, &signed.bytes, &signed.signature_line, None, before)), "gx.registry_invalid");
}

#[test]
fn envelopes_open_with_the_registrys_keys_and_a_revoked_key_is_refused() {
    let n = net();
    let mut dir = directory(1, n.t0, &n.node_key);
    let body = b"{}";
    let header = Header::new(
        Kind::Event,
        Sender {
            node: NodeId::parse("CN/NODE/440300").unwrap(),
            client: ClientId::parse(&format!("{MEMBER}/window")).unwrap(),
            on_behalf_of: None,
        },
        Recipient { node: NodeId::parse("CN/NODE/440000").unwrap(), service: format!("{MEMBER}/aggregate/cases/v1") },
        BodyRef::of("application/json", body),
        n.t0,
        jiff::SignedDuration::from_secs(60),
        [5; 10],
    );
    let sealed = seal(&header, &n.node_key).unwrap();
    let keys = dir.keyring();
    let opened = open(&sealed.envelope(), &sealed.signature_line(), body, &|kid| keys.signer(kid), n.t0, &dir.policy());
    assert_eq!(opened.map(|o| o.header), Ok(header.clone()));
    assert!(dir.hosts(&header.from.node, &header.from.client), "the city hosts the member, so it signs for its subsystem");
    assert!(!dir.hosts(&NodeId::parse("CN/NODE/440000").unwrap(), &header.from.client), "the province does not");
    dir.revoked.push(sealed.kid.clone());
    let keys = dir.keyring();
    let refused = open(&sealed.envelope(), &sealed.signature_line(), body, &|kid| keys.signer(kid), n.t0, &dir.policy());
    assert_eq!(code(refused), "gx.unknown_key");
}
