//! Our SM2 seals against Python `gmssl`, the reference peer: each side
//! verifies the other's signatures, and a tampered message or signature fails
//! on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use yiwang_crypto::seal::{SealError, SealKey, verify};

fn gmssl(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/sm2_gmssl.py");
    let out = Command::new("python3").arg(script).args(args).output().expect("python3 with gmssl (tests/requirements.txt)");
    assert!(out.status.success(), "gmssl: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn signatures_interoperate_with_gmssl_both_ways() {
    let message = "电子证照 1.2.156.3005.2.11100000000013338W03211220000013544541J2430599001F".as_bytes();
    let tampered = "电子证照 1.2.156.3005.2.11100000000013338W03211220000013544541J2430599002F".as_bytes();
    for _ in 0..5 {
        let key = SealKey::generate();
        let public = key.public_key_hex();
        let ours = hex::encode(key.sign(message));
        assert_eq!(gmssl(&["verify", &public, &hex::encode(message), &ours]), "valid");
        assert_eq!(gmssl(&["verify", &public, &hex::encode(tampered), &ours]), "invalid");

        let theirs = gmssl(&["sign", &hex::encode(key.secret_bytes()), &public, &hex::encode(message)]);
        let theirs = hex::decode(theirs).unwrap();
        assert_eq!(verify(&public, message, &theirs), Ok(()));
        assert_eq!(verify(&public, tampered, &theirs), Err(SealError::Invalid));
    }
}
