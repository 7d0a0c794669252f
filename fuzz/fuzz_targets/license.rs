//! Sealed licenses (the JSON a holder downloads and anyone may present), QR
//! tokens (YL1.…) and SD-JWT presentations.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A real SM2 public key: the seal check runs to the end and must fail cleanly.
fn key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| yiwang_crypto::seal::SealKey::generate().public_key_hex())
}

fuzz_target!(|data: &[u8]| {
    let key = key();
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sealed) = serde_json::from_str::<yiwang_license::SealedLicense>(text) {
        let _ = yiwang_license::verify_sealed(&sealed, key);
        let _ = yiwang_license::record_digest(&sealed.record);
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = yiwang_license::canonical_json(&v);
    }
    let token = yiwang_license::token_in(text);
    let _ = yiwang_license::read_token(&token);
    let _ = yiwang_license::verify_token(&token, key);
    let _ = yiwang_license::sdjwt::disclosure_paths(text);
    let _ = yiwang_license::sdjwt::present(text, &["holder_name".to_string(), "data.scope".to_string()]);
});
