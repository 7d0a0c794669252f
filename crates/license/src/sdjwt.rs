//! The selective-disclosure export: a license as an SD-JWT VC (RFC 9901
//! SD-JWT; draft-ietf-oauth-sd-jwt-vc, `typ: dc+sd-jwt`) signed with the
//! issuer's Ed25519 key (`alg: EdDSA`), and the issuer's Token Status List
//! (draft-ietf-oauth-status-list, `typ: statuslist+jwt`) it refers to.
//!
//! Why Ed25519 and not the SM2 seal: JOSE registers no SM2 algorithm, so an
//! SM2-signed JWT is unreadable to every SD-JWT library; the SM2 seal stays
//! the license's legal seal, and this export is a second, JOSE-native form
//! of the same record (docs/license-format.md).
//!
//! Each selectively disclosable claim is a disclosure `[salt, name, value]`;
//! an object claim (the license's type-specific `data`) is disclosable member
//! by member, addressed as `data.<member>`. A holder presents a subset with
//! `present`, which keeps the issuer's signature valid.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use yiwang_crypto::ed25519::VcKey;

use crate::LicenseError;

pub const SD_JWT_TYP: &str = "dc+sd-jwt";
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";
pub const JWS_ALG: &str = "EdDSA";

/// Where a credential's status is kept: index `idx` in the list at `uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    pub idx: u64,
    pub uri: String,
}

/// What goes into a credential.
#[derive(Debug, Clone, Default)]
pub struct VcClaims {
    pub iss: String,
    pub vct: String,
    pub iat: i64,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    /// Always disclosed.
    pub visible: Map<String, Value>,
    /// Each disclosed only if the holder chooses; an object value's members
    /// are disclosable one by one.
    pub selective: Map<String, Value>,
    pub status: Option<StatusRef>,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(disclosure: &str) -> String {
    b64(Sha256::digest(disclosure.as_bytes()))
}

fn disclosure(name: &str, value: &Value) -> Result<String, LicenseError> {
    let mut salt = [0u8; 16];
    yiwang_crypto::random_bytes(&mut salt);
    let text = serde_json::to_string(&json!([b64(salt), name, value])).map_err(|e| LicenseError::NotCanonical(e.to_string()))?;
    Ok(b64(text))
}

/// A compact JWS with the given header fields, signed with `key`.
pub fn sign_jws(typ: &str, kid: &str, payload: &Value, key: &VcKey) -> Result<String, LicenseError> {
    let header = json!({ "alg": JWS_ALG, "typ": typ, "kid": kid });
    let text = |v: &Value| serde_json::to_string(v).map_err(|e| LicenseError::NotCanonical(e.to_string()));
    let input = format!("{}.{}", b64(text(&header)?), b64(text(payload)?));
    let signature = key.sign(input.as_bytes());
    Ok(format!("{input}.{}", b64(signature)))
}

/// Issue an SD-JWT VC carrying every disclosure: `<jws>~<d1>~…~<dn>~`.
pub fn issue(claims: &VcClaims, key: &VcKey, kid: &str) -> Result<String, LicenseError> {
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(claims.iss));
    payload.insert("vct".into(), json!(claims.vct));
    payload.insert("iat".into(), json!(claims.iat));
    if let Some(nbf) = claims.nbf {
        payload.insert("nbf".into(), json!(nbf));
    }
    if let Some(exp) = claims.exp {
        payload.insert("exp".into(), json!(exp));
    }
    if let Some(s) = &claims.status {
        payload.insert("status".into(), json!({ "status_list": { "idx": s.idx, "uri": s.uri } }));
    }
    for (k, v) in &claims.visible {
        payload.insert(k.clone(), v.clone());
    }
    let mut disclosures = Vec::new();
    let mut top = Vec::new();
    for (name, value) in &claims.selective {
        match value {
            Value::Object(members) => {
                let mut nested = Vec::new();
                for (member, v) in members {
                    let d = disclosure(member, v)?;
                    nested.push(digest(&d));
                    disclosures.push(d);
                }
                // Sorted digests hide the order claims were written in.
                nested.sort();
                payload.insert(name.clone(), json!({ "_sd": nested }));
            }
            v => {
                let d = disclosure(name, v)?;
                top.push(digest(&d));
                disclosures.push(d);
            }
        }
    }
    top.sort();
    payload.insert("_sd".into(), json!(top));
    payload.insert("_sd_alg".into(), json!("sha-256"));
    let jws = sign_jws(SD_JWT_TYP, kid, &Value::Object(payload), key)?;
    let mut out = jws;
    for d in &disclosures {
        out.push('~');
        out.push_str(d);
    }
    out.push('~');
    Ok(out)
}

fn bad(what: impl Into<String>) -> LicenseError {
    LicenseError::BadToken(what.into())
}

fn decode_json(part: &str) -> Result<Value, LicenseError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| bad("not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))
}

/// The disclosable claims of an SD-JWT by path (`holder_name`, `data.address`),
/// each with its disclosure.
pub fn disclosure_paths(sd_jwt: &str) -> Result<BTreeMap<String, String>, LicenseError> {
    let mut parts = sd_jwt.trim().split('~');
    let jws = parts.next().unwrap_or_default();
    let payload = decode_json(jws.split('.').nth(1).ok_or_else(|| bad("not a compact JWS"))?)?;
    // Digest → the object path that lists it.
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    let listed = |v: &Value| v.get("_sd").and_then(Value::as_array).cloned().unwrap_or_default();
    for d in listed(&payload) {
        parent.insert(d.as_str().unwrap_or_default().to_string(), String::new());
    }
    if let Some(obj) = payload.as_object() {
        for (name, v) in obj {
            for d in listed(v) {
                parent.insert(d.as_str().unwrap_or_default().to_string(), format!("{name}."));
            }
        }
    }
    let mut out = BTreeMap::new();
    for d in parts.filter(|p| !p.is_empty()) {
        let decoded = decode_json(d)?;
        let name = decoded.get(1).and_then(Value::as_str).ok_or_else(|| bad("a disclosure without a claim name"))?;
        let prefix = parent.get(&digest(d)).ok_or_else(|| bad("a disclosure the credential does not list"))?;
        out.insert(format!("{prefix}{name}"), d.to_string());
    }
    Ok(out)
}

/// A presentation that discloses only `keep` (paths as in `disclosure_paths`;
/// `data` keeps every member of `data`). A path the credential does not have
/// is an error, so a typo never silently discloses less than meant.
pub fn present(sd_jwt: &str, keep: &[String]) -> Result<String, LicenseError> {
    let paths = disclosure_paths(sd_jwt)?;
    for k in keep {
        let prefix = format!("{k}.");
        if !paths.contains_key(k) && !paths.keys().any(|p| p.starts_with(&prefix)) {
            return Err(LicenseError::UnknownClaim(k.clone()));
        }
    }
    let jws = sd_jwt.trim().split('~').next().unwrap_or_default();
    let mut out = jws.to_string();
    for (path, d) in &paths {
        let chosen = keep.iter().any(|k| k == path || path.strip_prefix(k.as_str()).is_some_and(|rest| rest.starts_with('.')));
        if chosen {
            out.push('~');
            out.push_str(d);
        }
    }
    out.push('~');
    Ok(out)
}

/// Token Status List entry values (2 bits per credential).
pub const STATUS_VALID: u8 = 0;
pub const STATUS_INVALID: u8 = 1;
pub const STATUS_SUSPENDED: u8 = 2;

/// The `lst` of a status list with 2 bits per entry: entry `i` sits in byte
/// `i / 4` at bit offset `2 * (i % 4)` (least significant first), the byte
/// array zlib-compressed and base64url-encoded.
pub fn status_list_lst(statuses: &[(u64, u8)]) -> Result<String, LicenseError> {
    use std::io::Write;
    let len = statuses.iter().map(|(i, _)| i / 4 + 1).max().unwrap_or(1);
    let len = usize::try_from(len).map_err(|_| bad("status list too long"))?;
    let mut bytes = vec![0u8; len];
    for (i, s) in statuses {
        let Ok(byte) = usize::try_from(i / 4) else { continue };
        bytes[byte] |= (s & 0b11) << (2 * (i % 4));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&bytes).map_err(|e| bad(e.to_string()))?;
    Ok(b64(z.finish().map_err(|e| bad(e.to_string()))?))
}

/// A Status List Token for the list at `uri`.
pub fn status_list_token(uri: &str, iat: i64, ttl: i64, statuses: &[(u64, u8)], key: &VcKey, kid: &str) -> Result<String, LicenseError> {
    let payload = json!({
        "sub": uri, "iat": iat, "ttl": ttl,
        "status_list": { "bits": 2, "lst": status_list_lst(statuses)? },
    });
    sign_jws(STATUS_LIST_TYP, kid, &payload, key)
}

/// An Ed25519 public key as a JWK (RFC 8037).
pub fn public_jwk(public_key_hex: &str, kid: &str) -> Result<Value, LicenseError> {
    let bytes = hex::decode(public_key_hex).map_err(|_| bad("public key is not hex"))?;
    Ok(json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(bytes), "kid": kid, "alg": JWS_ALG, "use": "sig" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VcClaims {
        let mut visible = Map::new();
        visible.insert("name".into(), json!("食品经营许可证"));
        let mut selective = Map::new();
        selective.insert("holder_name".into(), json!("某某餐饮有限公司"));
        selective.insert("number".into(), json!("JY13301060000001"));
        selective.insert("data".into(), json!({ "address": "杭州市西湖区", "scope": "热食类食品制售" }));
        VcClaims {
            iss: "http://127.0.0.1:8080/agencies/X".into(),
            vct: "urn:yiwang:license-type:X001".into(),
            iat: 1,
            visible,
            selective,
            status: Some(StatusRef { idx: 5, uri: "http://x/s".into() }),
            ..VcClaims::default()
        }
    }

    #[test]
    fn disclosures_are_listed_and_chosen() {
        let key = VcKey::generate();
        let sd = issue(&sample(), &key, "k1").unwrap_or_default();
        let paths: Vec<String> = disclosure_paths(&sd).map(|p| p.into_keys().collect()).unwrap_or_default();
        assert_eq!(paths, ["data.address", "data.scope", "holder_name", "number"]);
        let shown = present(&sd, &["number".into(), "data".into()]).unwrap_or_default();
        let kept: Vec<String> = disclosure_paths(&shown).map(|p| p.into_keys().collect()).unwrap_or_default();
        assert_eq!(kept, ["data.address", "data.scope", "number"]);
        assert_eq!(present(&sd, &["nmber".into()]), Err(LicenseError::UnknownClaim("nmber".into())));
        // The issuer's JWS is the same in every presentation.
        assert_eq!(shown.split('~').next(), sd.split('~').next());
    }

    #[test]
    fn status_list_bit_layout() {
        // The draft's example: 2-bit entries 1,2,0,3 → 0b11001001 = 0xC9.
        let lst = status_list_lst(&[(0, 1), (1, 2), (2, 0), (3, 3)]).unwrap_or_default();
        let z = URL_SAFE_NO_PAD.decode(lst).unwrap_or_default();
        let mut raw = Vec::new();
        let _ = std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&z[..]), &mut raw);
        assert_eq!(raw, [0xC9]);
    }
}
