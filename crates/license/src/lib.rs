//! Sealed e-licenses (电子证照): the record an agency issues, its canonical
//! form, the SM2/SM3 seal over it, and the compact token a QR code carries.
//! Pure: keys come in, signatures and verdicts come out; the registry, status
//! and key publication live in the store and the web layer.
//!
//! The formats are specified in `docs/license-format.md` so that any party can
//! verify a license without yiwang.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use yiwang_crypto::seal::{SealError, SealKey};

pub mod schema;
pub mod sdjwt;
pub mod verdict;

/// Domain separation: what a record signature covers starts with this line.
pub const RECORD_CONTEXT: &[u8] = b"yiwang-license-v1\n";
/// What a token signature covers starts with this line.
pub const TOKEN_CONTEXT: &[u8] = b"yiwang-license-token-v1\n";
/// Token prefix (format version).
pub const TOKEN_PREFIX: &str = "YL1";
/// The only seal algorithm: SM2 signature over SM3, user ID 1234567812345678.
pub const ALGORITHM: &str = "SM2-SM3";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    #[error("license data is not canonicalisable: {0}")]
    NotCanonical(String),
    #[error("the seal does not verify")]
    BadSeal,
    #[error("unknown seal key {0}")]
    UnknownKey(String),
    #[error("not a license token: {0}")]
    BadToken(String),
    #[error("the token does not match this license (digest differs)")]
    TokenMismatch,
    #[error("unsupported seal algorithm {0}")]
    Algorithm(String),
    #[error("the credential has no claim {0}")]
    UnknownClaim(String),
}

impl yiwang_errors::Coded for LicenseError {
    fn code(&self) -> &'static str {
        match self {
            LicenseError::NotCanonical(_) => "license.not_canonical",
            LicenseError::BadSeal => "license.bad_seal",
            LicenseError::UnknownKey(_) => "license.unknown_key",
            LicenseError::BadToken(_) => "license.bad_token",
            LicenseError::TokenMismatch => "license.token_mismatch",
            LicenseError::Algorithm(_) => "license.algorithm",
            LicenseError::UnknownClaim(_) => "license.unknown_claim",
        }
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        match self {
            LicenseError::UnknownKey(_) => yiwang_errors::ErrorKind::NotFound,
            LicenseError::BadToken(_) => yiwang_errors::ErrorKind::BadRequest,
            _ => yiwang_errors::ErrorKind::Unprocessable,
        }
    }
    fn message_zh(&self) -> String {
        match self {
            LicenseError::NotCanonical(d) => format!("证照数据不能规范化：{d}"),
            LicenseError::BadSeal => "签章验证失败：证照内容被篡改或签章无效".into(),
            LicenseError::UnknownKey(k) => format!("未知的签章密钥：{k}"),
            LicenseError::BadToken(d) => format!("不是有效的证照二维码令牌：{d}"),
            LicenseError::TokenMismatch => "二维码与证照内容不符".into(),
            LicenseError::Algorithm(a) => format!("不支持的签章算法：{a}"),
            LicenseError::UnknownClaim(c) => format!("证照中没有可披露的项目：{c}"),
        }
    }
}

/// The canonical text of a JSON value: object keys sorted, no insignificant
/// whitespace, strings as JSON escapes them minimally (UTF-8 kept), integers
/// only. Keys must be ASCII letters, digits and `_`, so every sort order
/// agrees; this is what Python's `json.dumps(v, sort_keys=True,
/// separators=(",", ":"), ensure_ascii=False)` prints.
pub fn canonical_json(v: &Value) -> Result<String, LicenseError> {
    let mut out = String::new();
    write_canonical(v, "$", &mut out)?;
    Ok(out)
}

// Written out by hand rather than through serde_json's map, whose order
// depends on a crate feature some other dependency may switch on.
fn write_canonical(v: &Value, path: &str, out: &mut String) -> Result<(), LicenseError> {
    let quoted = |s: &str| serde_json::to_string(s).map_err(|e| LicenseError::NotCanonical(e.to_string()));
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            return Err(LicenseError::NotCanonical(format!("{path}: only integers are allowed (write decimals as strings)")));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, &format!("{path}[{i}]"), out)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(LicenseError::NotCanonical(format!("{path}: key {k:?} must be ASCII letters, digits or _")));
                }
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quoted(k)?);
                out.push(':');
                write_canonical(&m[k], &format!("{path}.{k}"), out)?;
            }
            out.push('}');
        }
        Value::String(s) => out.push_str(&quoted(s)?),
        other => out.push_str(&other.to_string()),
    }
    Ok(())
}

/// The seal on a license record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    pub alg: String,
    /// The seal key's id, as published at `GET /api/v1/seals`.
    pub key_id: String,
    /// USCC of the sealing agency.
    pub signer: String,
    /// Raw `r || s` in hex.
    pub signature: String,
}

/// A license record and its seal, as stored, exported and downloaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedLicense {
    pub record: Value,
    pub seal: Seal,
}

/// The bytes a record seal covers.
pub fn record_signing_input(record: &Value) -> Result<Vec<u8>, LicenseError> {
    let mut out = RECORD_CONTEXT.to_vec();
    out.extend_from_slice(canonical_json(record)?.as_bytes());
    Ok(out)
}

/// SM3 of the record's signing input, hex: what a token binds to.
pub fn record_digest(record: &Value) -> Result<String, LicenseError> {
    Ok(hex::encode(yiwang_crypto::sm3(&record_signing_input(record)?)))
}

pub fn seal_record(record: Value, key: &SealKey, key_id: &str, signer: &str) -> Result<SealedLicense, LicenseError> {
    let signature = hex::encode(key.sign(&record_signing_input(&record)?));
    Ok(SealedLicense { record, seal: Seal { alg: ALGORITHM.into(), key_id: key_id.into(), signer: signer.into(), signature } })
}

/// Verify a sealed record with the public key (uncompressed SEC1 hex) of its
/// `seal.key_id`.
pub fn verify_sealed(sealed: &SealedLicense, public_key_hex: &str) -> Result<(), LicenseError> {
    if sealed.seal.alg != ALGORITHM {
        return Err(LicenseError::Algorithm(sealed.seal.alg.clone()));
    }
    let signature = hex::decode(&sealed.seal.signature).map_err(|_| LicenseError::BadSeal)?;
    yiwang_crypto::seal::verify(public_key_hex, &record_signing_input(&sealed.record)?, &signature).map_err(|e| match e {
        SealError::BadPublicKey => LicenseError::UnknownKey(sealed.seal.key_id.clone()),
        _ => LicenseError::BadSeal,
    })
}

/// What a QR token says: which license, which content (digest), sealed by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The license identifier (GB/T 36904).
    pub id: String,
    /// `record_digest` of the sealed record.
    pub digest: String,
    pub key_id: String,
    pub signer: String,
}

/// `YL1.<base64url(canonical claims)>.<base64url(r || s)>`.
pub fn make_token(claims: &TokenClaims, key: &SealKey) -> Result<String, LicenseError> {
    let payload = canonical_json(&serde_json::to_value(claims).map_err(|e| LicenseError::NotCanonical(e.to_string()))?)?;
    let mut input = TOKEN_CONTEXT.to_vec();
    input.extend_from_slice(payload.as_bytes());
    let signature = key.sign(&input);
    Ok(format!("{TOKEN_PREFIX}.{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(signature)))
}

/// The token in what a verifier pasted or scanned: the token itself, or the
/// verification URL the printed QR code carries (`…/licenses/verify?token=YL1.…`).
pub fn token_in(text: &str) -> String {
    let text = text.trim();
    match text.split_once("token=") {
        Some((_, rest)) => rest.split('&').next().unwrap_or_default().to_string(),
        None => text.to_string(),
    }
}

/// Parse a token without checking its signature (to find the key to check it with).
pub fn read_token(token: &str) -> Result<(TokenClaims, Vec<u8>, Vec<u8>), LicenseError> {
    let mut parts = token.trim().split('.');
    let (Some(prefix), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(LicenseError::BadToken("expected three dot-separated parts".into()));
    };
    if prefix != TOKEN_PREFIX {
        return Err(LicenseError::BadToken(format!("unknown prefix {prefix:?}")));
    }
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| LicenseError::BadToken("payload is not base64url".into()))?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| LicenseError::BadToken("signature is not base64url".into()))?;
    let claims: TokenClaims = serde_json::from_slice(&payload).map_err(|e| LicenseError::BadToken(e.to_string()))?;
    let mut input = TOKEN_CONTEXT.to_vec();
    input.extend_from_slice(&payload);
    Ok((claims, input, sig))
}

/// Verify a token's signature with the public key of its `key_id`.
pub fn verify_token(token: &str, public_key_hex: &str) -> Result<TokenClaims, LicenseError> {
    let (claims, input, sig) = read_token(token)?;
    yiwang_crypto::seal::verify(public_key_hex, &input, &sig).map_err(|_| LicenseError::BadSeal)?;
    Ok(claims)
}
