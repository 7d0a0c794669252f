//! Sealing and opening one `gx/1` envelope (SM2 sign, SM2 verify with the
//! header's checks), the per-message crypto cost of the exchange.

#![allow(clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use yiwang_crypto::seal::SealKey;
use yiwang_exchange::{BodyRef, ClientId, Header, Kind, NodeId, Policy, Recipient, Sender, SignerKey, key_id, open, seal};

fn envelope(c: &mut Criterion) {
    let key = SealKey::generate();
    let member = "CN/GOV/91350100M000100Y43";
    let body = vec![b'x'; 1024];
    let now: jiff::Timestamp = "2026-12-07T06:00:00Z".parse().expect("a time");
    let header = Header::new(
        Kind::Request,
        Sender {
            node: NodeId::parse("CN/NODE/440300").expect("node"),
            client: ClientId::parse(&format!("{member}/window")).expect("client"),
            on_behalf_of: None,
        },
        Recipient { node: NodeId::parse("CN/NODE/110000").expect("node"), service: format!("{member}/population-db/person/v1") },
        BodyRef::of("application/json", &body),
        now,
        jiff::SignedDuration::from_secs(60),
        [3; 10],
    );
    let sealed = seal(&header, &key).expect("sealed");
    let (env, line) = (sealed.envelope(), sealed.signature_line());
    let public = key.public_key_hex();
    let kid = key_id(&public).expect("kid");
    let signer = SignerKey { public_key_hex: public, node: NodeId::parse("CN/NODE/440300").expect("node") };
    let keys = move |k: &str| (k == kid).then(|| signer.clone());
    c.bench_function("gx/1 seal (SM2 sign of the header bytes)", |b| b.iter(|| seal(&header, &key)));
    c.bench_function("gx/1 open (SM2 verify, 1 KiB body SM3, the checks)", |b| {
        b.iter(|| open(&env, &line, &body, &keys, now, &Policy::default()))
    });
}

criterion_group!(benches, envelope);
criterion_main!(benches);
