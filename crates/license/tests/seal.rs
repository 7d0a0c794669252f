//! Sealed licenses: canonical form, seal and token, checked by Python gmssl
//! from the written format alone; tampering fails on both sides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::json;
use yiwang_crypto::seal::SealKey;
use yiwang_license::*;

fn record() -> serde_json::Value {
    json!({
        "id": "1.2.156.3005.2.11100000000013338W03211220000013544541J2430599.001.F",
        "type_code": "11100000000013338W032",
        "name": "食品经营许可证",
        "number": "JY13301020000001",
        "version": 1,
        "issuer": { "uscc": "11220000013544541J", "name": "某市市场监督管理局" },
        "holder": { "name": "张三餐饮店", "id_type": "049", "id": "92330102MA2H000000" },
        "valid_from": "2026-11-23",
        "valid_until": "2031-11-22",
        "data": { "主体业态": "餐饮服务经营者", "items": ["热食类食品制售", "冷食类\"食品\"制售"], "note": "line\nbreak", "area_m2": 120 }
    })
}

/// gmssl's verdict; any failure of gmssl's own fails the test (its known fault
/// with some public keys is worked around in `tests/peers/license_gmssl.py`).
fn gmssl(sealed: &SealedLicense, public: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealed.json");
    std::fs::write(&file, serde_json::to_vec_pretty(sealed).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/license_gmssl.py");
    let out = Command::new("python3").arg(script).arg(&file).arg(public).output().expect("python3 with gmssl");
    assert!(out.status.success(), "gmssl, key {public}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_sealed_license_verifies_in_gmssl_and_tampering_fails_on_both_sides() {
    let key = SealKey::generate();
    let public = key.public_key_hex();
    // Non-ASCII data keys are refused (sort orders would differ between readers).
    assert!(matches!(seal_record(record(), &key, "k1", "11220000013544541J"), Err(LicenseError::NotCanonical(_))));
    let mut rec = record();
    rec["data"] = json!({ "business_form": "餐饮服务经营者", "items": ["热食类食品制售", "冷食类\"食品\"制售"], "note": "line\nbreak", "area_m2": 120 });
    let sealed = seal_record(rec.clone(), &key, "k1", "11220000013544541J").unwrap();
    let mut tampered = sealed.clone();
    tampered.record["holder"]["name"] = json!("李四餐饮店");
    assert_eq!((gmssl(&sealed, &public), gmssl(&tampered, &public)), ("valid".to_string(), "invalid".to_string()));
    // A key whose x coordinate starts with 0x04, which gmssl's constructor mangles.
    let odd = std::iter::repeat_with(SealKey::generate).find(|k| k.public_key_hex()[2..4] == *"04").unwrap();
    let odd_sealed = seal_record(rec.clone(), &odd, "k2", "11220000013544541J").unwrap();
    assert_eq!(gmssl(&odd_sealed, &odd.public_key_hex()), "valid");
    assert_eq!(verify_sealed(&sealed, &public), Ok(()));
    let mut tampered = sealed.clone();
    tampered.record["holder"]["name"] = json!("李四餐饮店");
    assert_eq!(verify_sealed(&tampered, &public), Err(LicenseError::BadSeal));

    // Another agency's key does not verify it either.
    assert_eq!(verify_sealed(&sealed, &SealKey::generate().public_key_hex()), Err(LicenseError::BadSeal));
}

#[test]
fn canonical_json_is_sorted_compact_and_integer_only() {
    assert_eq!(
        canonical_json(&json!({ "b": 1, "a": [true, null, "x\"y"], "c": { "z": "中", "y": -2 } })).unwrap(),
        r#"{"a":[true,null,"x\"y"],"b":1,"c":{"y":-2,"z":"中"}}"#
    );
    assert!(matches!(canonical_json(&json!({ "a": 1.5 })), Err(LicenseError::NotCanonical(m)) if m.contains("$.a")));
}

#[test]
fn a_token_binds_the_license_content() {
    let key = SealKey::generate();
    let sealed = seal_record(json!({ "id": "L1", "version": 1 }), &key, "k1", "S").unwrap();
    let claims = TokenClaims { id: "L1".into(), digest: record_digest(&sealed.record).unwrap(), key_id: "k1".into(), signer: "S".into() };
    let token = make_token(&claims, &key).unwrap();
    assert!(token.starts_with("YL1.") && token.len() < 400, "{token}");
    assert_eq!(verify_token(&token, &key.public_key_hex()), Ok(claims.clone()));
    assert_eq!(verify_token(&token, &SealKey::generate().public_key_hex()), Err(LicenseError::BadSeal));
    // A token whose payload was edited fails; a garbled one is refused as malformed.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let forged = TokenClaims { digest: "00".repeat(32), ..claims };
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        canonical_json(&serde_json::to_value(&forged).unwrap()).unwrap(),
    );
    assert_eq!(verify_token(&parts.join("."), &key.public_key_hex()), Err(LicenseError::BadSeal));
    assert!(matches!(verify_token("YL1.@@.x", &key.public_key_hex()), Err(LicenseError::BadToken(_))));
    assert!(matches!(read_token("nonsense"), Err(LicenseError::BadToken(_))));
}
