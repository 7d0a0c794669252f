//! Our SM2 seals against Python `gmssl`, the reference peer: each side
//! verifies the other's signatures, and a tampered message or signature fails
//! on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use yiwang_crypto::seal::{SealError, SealKey, verify};

/// gmssl's answer. Any failure of gmssl's own fails the test: its one known
/// fault (a public key whose x starts with "04") is worked around in
/// `tests/peers/sm2_gmssl.py`, and keys of that kind are tested on purpose.
fn gmssl(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/sm2_gmssl.py");
    let out = Command::new("python3").arg(script).args(args).output().expect("python3 with gmssl (tests/requirements.txt)");
    assert!(out.status.success(), "gmssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A fresh key whose public x coordinate starts with the byte 0x04, the
/// bytes that gmssl's constructor strips when it is given `04 || x || y`.
fn key_whose_x_starts_with_04() -> SealKey {
    std::iter::repeat_with(SealKey::generate).find(|k| k.public_key_hex()[2..4] == *"04").unwrap()
}

#[test]
fn signatures_interoperate_with_gmssl_both_ways() {
    let message = "电子证照 1.2.156.3005.2.11100000000013338W03211220000013544541J2430599001F".as_bytes();
    let tampered = "电子证照 1.2.156.3005.2.11100000000013338W03211220000013544541J2430599002F".as_bytes();
    let keys = std::iter::repeat_with(SealKey::generate).take(5).chain([key_whose_x_starts_with_04()]);
    for key in keys {
        let public = key.public_key_hex();
        let ours = hex::encode(key.sign(message));
        let verdicts =
            (gmssl(&["verify", &public, &hex::encode(message), &ours]), gmssl(&["verify", &public, &hex::encode(tampered), &ours]));
        assert_eq!(verdicts, ("valid".to_string(), "invalid".to_string()), "key {public}");

        let theirs = hex::decode(gmssl(&["sign", &hex::encode(key.secret_bytes()), &public, &hex::encode(message)])).unwrap();
        assert_eq!(verify(&public, message, &theirs), Ok(()), "key {public}");
        assert_eq!(verify(&public, tampered, &theirs), Err(SealError::Invalid));
    }
}
