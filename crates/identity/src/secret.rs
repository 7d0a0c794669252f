//! Passwords (argon2id), opaque tokens and one-time codes.
//!
//! Tokens and session ids are 256-bit random values; only their SHA-256 is
//! stored, so a database leak yields no usable token. A slow hash is not needed
//! for them (they are not guessable), which keeps token exchange fast.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::IdentityError;

/// argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Hash a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, IdentityError> {
    let salt: [u8; 16] = rand::rng().random();
    hasher().hash_password_with_salt(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| IdentityError::Hashing)
}

/// Check a password against a stored PHC string; a malformed stored hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    hasher().verify_password(password.as_bytes(), phc).is_ok()
}

#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    pub min_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { min_len: 8 }
    }
}

/// Minimum length and at least two character classes (letters, digits, others).
pub fn check_password_strength(password: &str, policy: PasswordPolicy) -> Result<(), IdentityError> {
    let n = password.chars().count();
    if n < policy.min_len {
        return Err(IdentityError::WeakPassword(format!("至少 {} 个字符 / at least {} characters", policy.min_len, policy.min_len)));
    }
    if n > 256 {
        return Err(IdentityError::WeakPassword("不超过 256 个字符 / at most 256 characters".into()));
    }
    let classes = [
        password.chars().any(|c| c.is_alphabetic()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|x| **x).count() < 2 {
        return Err(IdentityError::WeakPassword("须包含字母、数字、符号中的至少两类 / use two of letters, digits, symbols".into()));
    }
    Ok(())
}

/// A fresh 256-bit random token, base64url.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A six-digit one-time code for phone or email verification.
pub fn verification_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Constant-time equality.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_params() {
        let h = hash_password("Correct-Horse-9").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("Correct-Horse-9", &h));
        assert!(!verify_password("correct-horse-9", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("Correct-Horse-9").unwrap(), "salted");
    }

    #[test]
    fn strength() {
        let p = PasswordPolicy::default();
        assert!(check_password_strength("abc12345", p).is_ok());
        assert!(check_password_strength("abcdefgh", p).is_err());
        assert!(check_password_strength("a1", p).is_err());
        assert!(check_password_strength("密码密码密码12", p).is_ok());
    }

    #[test]
    fn tokens() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, new_token());
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(verification_code().len(), 6);
        assert!(ct_eq(b"ab", b"ab") && !ct_eq(b"ab", b"ac") && !ct_eq(b"ab", b"abc"));
    }
}
