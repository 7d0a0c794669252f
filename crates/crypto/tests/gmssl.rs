//! Our SM2 seals against Python `gmssl`, the reference peer: each side
//! verifies the other's signatures, and a tampered message or signature fails
//! on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use yiwang_crypto::seal::{SealError, SealKey, verify};

/// gmssl's answer, or `None` when gmssl's own point arithmetic failed (exit 3:
/// about 1 run in 100, whatever the input; see `tests/peers/sm2_gmssl.py`).
fn gmssl(args: &[&str]) -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/sm2_gmssl.py");
    let out = Command::new("python3").arg(script).args(args).output().expect("python3 with gmssl (tests/requirements.txt)");
    if out.status.code() == Some(3) {
        return None;
    }
    assert!(out.status.success(), "gmssl: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

/// Run `attempt` (which makes a fresh signature each time) until gmssl answers; at most 5 times.
fn until_gmssl_answers<T>(attempt: impl FnMut(usize) -> Option<T>) -> T {
    (0..5).find_map(attempt).expect("gmssl failed five times in a row")
}

#[test]
fn signatures_interoperate_with_gmssl_both_ways() {
    let message = "电子证照 1.2.156.3005.2.11100000000013338W03211220000013544541J2430599001F".as_bytes();
    let tampered = "电子证照 1.2.156.3005.2.11100000000013338W03211220000013544541J2430599002F".as_bytes();
    for _ in 0..5 {
        let key = SealKey::generate();
        let public = key.public_key_hex();
        let verdicts = until_gmssl_answers(|_| {
            let ours = hex::encode(key.sign(message));
            Some((gmssl(&["verify", &public, &hex::encode(message), &ours])?, gmssl(&["verify", &public, &hex::encode(tampered), &ours])?))
        });
        assert_eq!(verdicts, ("valid".to_string(), "invalid".to_string()));

        let theirs = until_gmssl_answers(|_| gmssl(&["sign", &hex::encode(key.secret_bytes()), &public, &hex::encode(message)]));
        let theirs = hex::decode(theirs).unwrap();
        assert_eq!(verify(&public, message, &theirs), Ok(()));
        assert_eq!(verify(&public, tampered, &theirs), Err(SealError::Invalid));
    }
}
