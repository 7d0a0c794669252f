//! ES256 (ECDSA P-256 / SHA-256) JSON Web Signatures for ID tokens, and the
//! matching JWK. ES256 rather than RS256: a P-256 signature costs tens of
//! microseconds where an RSA-2048 one costs milliseconds, and the token endpoint
//! must sustain thousands of exchanges per second on two cores.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand::Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A private signing key with its key id.
#[derive(Clone)]
pub struct Es256Key {
    pub kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Es256Key").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown key id")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("bad key material")]
    BadKey,
}

fn kid_of(vk: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(vk.to_encoded_point(false).as_bytes())[..8])
}

impl Es256Key {
    pub fn generate() -> Es256Key {
        loop {
            let bytes: [u8; 32] = rand::rng().random();
            // Fails only for zero or ≥ the group order: astronomically rare; draw again.
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                return Es256Key { kid: kid_of(key.verifying_key()), key };
            }
        }
    }

    /// The private scalar, hex: how the store keeps it.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    pub fn from_secret_hex(kid: &str, secret: &str) -> Result<Es256Key, JwsError> {
        let bytes = hex::decode(secret).map_err(|_| JwsError::BadKey)?;
        let key = SigningKey::from_slice(&bytes).map_err(|_| JwsError::BadKey)?;
        Ok(Es256Key { kid: kid.to_string(), key })
    }

    pub fn public_jwk(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().map(|x| URL_SAFE_NO_PAD.encode(x)), point.y().map(|y| URL_SAFE_NO_PAD.encode(y)));
        json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "sig", "alg": "ES256", "kid": self.kid })
    }

    /// Compact JWS over `claims` with header {alg: ES256, typ, kid}.
    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        let header = json!({ "alg": "ES256", "typ": typ, "kid": self.kid });
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

/// Verify a compact ES256 JWS against published JWKs; returns the claims.
/// Time-based claims are the caller's business.
pub fn verify_es256(token: &str, jwks: &[Value]) -> Result<Value, JwsError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Malformed);
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| JwsError::Malformed)?).map_err(|_| JwsError::Malformed)?;
    if header["alg"] != "ES256" {
        return Err(JwsError::Malformed);
    }
    // The key its `kid` names; with no `kid` (optional in RFC 7515), a set of one key.
    let jwk = match &header["kid"] {
        Value::Null if jwks.len() == 1 => &jwks[0],
        kid => jwks.iter().find(|k| &k["kid"] == kid).ok_or(JwsError::UnknownKey)?,
    };
    let coord = |name: &str| -> Result<Vec<u8>, JwsError> {
        URL_SAFE_NO_PAD.decode(jwk[name].as_str().ok_or(JwsError::BadKey)?).map_err(|_| JwsError::BadKey)
    };
    let mut sec1 = vec![4u8];
    sec1.extend(coord("x")?);
    sec1.extend(coord("y")?);
    let vk = VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| JwsError::BadKey)?;
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(s).map_err(|_| JwsError::Malformed)?).map_err(|_| JwsError::BadSignature)?;
    vk.verify(format!("{h}.{p}").as_bytes(), &sig).map_err(|_| JwsError::BadSignature)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| JwsError::Malformed)?).map_err(|_| JwsError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let key = Es256Key::generate();
        let again = Es256Key::from_secret_hex(&key.kid, &key.secret_hex()).unwrap();
        let jwk = again.public_jwk();
        let token = key.sign("JWT", &json!({ "sub": "s1", "aud": "c" }));
        assert_eq!(verify_es256(&token, std::slice::from_ref(&jwk)).unwrap()["sub"], "s1");
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(json!({ "sub": "s2", "aud": "c" }).to_string());
        assert_eq!(verify_es256(&parts.join("."), std::slice::from_ref(&jwk)), Err(JwsError::BadSignature));
        let other = Es256Key::generate().public_jwk();
        assert_eq!(verify_es256(&token, &[other]), Err(JwsError::UnknownKey));
        assert_eq!(verify_es256("a.b", &[jwk]), Err(JwsError::Malformed));
    }
}
