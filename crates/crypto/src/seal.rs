//! SM2 seals (GM/T 0003, signatures over SM3 with the signer's distinguishing
//! identifier) and SM4 key wrapping, as the e-license library uses them.
//!
//! - A seal key is an SM2 key pair. Its public key is published as the
//!   uncompressed SEC1 point in hex (`04 || x || y`, 130 hex characters).
//! - A signature is raw `r || s` (64 bytes, 128 hex characters) over the message
//!   with the default user ID `1234567812345678`: the form Python `gmssl`
//!   (`CryptSM2.sign_with_sm3` / `verify_with_sm3`) reads and writes. DER
//!   signatures are accepted when verifying.
//! - A private key at rest is wrapped under the node master key with SM4-GCM
//!   (a random 96-bit nonce per wrap; the key id is bound as associated data, so
//!   a wrapped key cannot be swapped onto another key id).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// The default SM2 distinguishing identifier (GM/T 0009).
pub const DEFAULT_USER_ID: &str = "1234567812345678";

type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("not a valid SM2 private key")]
    BadPrivateKey,
    #[error("not a valid SM2 public key (expected 04 || x || y in hex)")]
    BadPublicKey,
    #[error("not a valid SM2 signature encoding")]
    BadSignatureEncoding,
    #[error("the signature does not verify")]
    Invalid,
    #[error("the wrapped key cannot be unwrapped (wrong master key, or tampered)")]
    Unwrap,
    #[error("the master key must be 16 bytes (32 hex characters)")]
    BadMasterKey,
}

/// An SM2 signing key (a seal's private half).
pub struct SealKey {
    signing: SigningKey,
}

impl SealKey {
    /// A new random key pair from the operating system's generator.
    pub fn generate() -> Self {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            if fill_random(bytes.as_mut()).is_err() {
                continue;
            }
            if let Ok(k) = Self::from_secret_bytes(bytes.as_ref()) {
                return k;
            }
        }
    }

    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let secret = sm2::SecretKey::from_slice(bytes).map_err(|_| SealError::BadPrivateKey)?;
        let signing = SigningKey::new(DEFAULT_USER_ID, &secret).map_err(|_| SealError::BadPrivateKey)?;
        Ok(SealKey { signing })
    }

    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.signing.to_bytes().to_vec())
    }

    /// The public key as uncompressed SEC1 hex (`04…`, 130 characters).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().to_sec1_bytes())
    }

    /// Sign with SM2/SM3 under the default user ID, DER-encoded
    /// (`SEQUENCE { r INTEGER, s INTEGER }`, what OpenSSL writes and reads).
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        let sig: Signature = self.signing.sign(message);
        sig.to_der().to_vec()
    }

    /// Sign with SM2/SM3 under the default user ID: raw `r || s`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let sig: Signature = self.signing.sign(message);
        sig.to_bytes().into()
    }
}

/// Verify an SM2/SM3 signature (raw 64 bytes, or DER) under the default user ID.
pub fn verify(public_key_hex: &str, message: &[u8], signature: &[u8]) -> Result<(), SealError> {
    let point = hex::decode(public_key_hex.trim()).map_err(|_| SealError::BadPublicKey)?;
    let key = VerifyingKey::from_sec1_bytes(DEFAULT_USER_ID, &point).map_err(|_| SealError::BadPublicKey)?;
    let sig = match signature.len() {
        64 => Signature::from_slice(signature),
        _ => Signature::from_der(signature),
    }
    .map_err(|_| SealError::BadSignatureEncoding)?;
    key.verify(message, &sig).map_err(|_| SealError::Invalid)
}

/// The node master key: an SM4 key that wraps seal private keys at rest.
/// (Clone: the OIDC runtime and the webhook dispatcher hold their own copy; each zeroizes on drop.)
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 16]>);

/// Never the key itself: only its fingerprint.
impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint())
    }
}

impl MasterKey {
    pub fn from_hex(text: &str) -> Result<Self, SealError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| SealError::BadMasterKey)?);
        let key: [u8; 16] = bytes.as_slice().try_into().map_err(|_| SealError::BadMasterKey)?;
        Ok(MasterKey(Zeroizing::new(key)))
    }

    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 16]);
        while fill_random(key.as_mut()).is_err() {}
        MasterKey(key)
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// A short public fingerprint (SM3 of the key, first 8 bytes), to tell which
    /// master key wrapped a stored key without revealing it.
    pub fn fingerprint(&self) -> String {
        hex::encode(&crate::sm3(self.0.as_ref())[..8])
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new(&(*self.0).into())
    }

    /// Wrap secret bytes: `nonce (12) || ciphertext+tag`, in hex.
    pub fn wrap(&self, key_id: &str, secret: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        while fill_random(&mut nonce).is_err() {}
        // Encryption with a valid key and nonce cannot fail for inputs this small.
        let sealed = self.cipher().encrypt((&nonce).into(), Payload { msg: secret, aad: key_id.as_bytes() }).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    pub fn unwrap(&self, key_id: &str, wrapped_hex: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let bytes = hex::decode(wrapped_hex.trim()).map_err(|_| SealError::Unwrap)?;
        if bytes.len() < 12 + 16 {
            return Err(SealError::Unwrap);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError::Unwrap)?;
        self.cipher()
            .decrypt((&nonce).into(), Payload { msg: sealed, aad: key_id.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| SealError::Unwrap)
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), ()> {
    use rand::TryRngCore;
    rand::rngs::OsRng.try_fill_bytes(buf).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let key = SealKey::generate();
        let public = key.public_key_hex();
        assert_eq!((public.len(), &public[..2]), (130, "04"));
        let sig = key.sign(b"license");
        assert_eq!(verify(&public, b"license", &sig), Ok(()));
        assert_eq!(verify(&public, b"licensf", &sig), Err(SealError::Invalid));
        let mut bad = sig;
        bad[10] ^= 1;
        assert_eq!(verify(&public, b"license", &bad), Err(SealError::Invalid));
        assert_eq!(verify("04ab", b"license", &sig), Err(SealError::BadPublicKey));
        // The key round-trips through its secret bytes.
        let again = SealKey::from_secret_bytes(&key.secret_bytes()).map(|k| k.public_key_hex());
        assert_eq!(again, Ok(public));
    }

    #[test]
    fn wrap_unwrap_bound_to_key_id() {
        let master = MasterKey::generate();
        let wrapped = master.wrap("seal-1", b"secret bytes");
        assert_eq!(master.unwrap("seal-1", &wrapped).map(|s| s.to_vec()), Ok(b"secret bytes".to_vec()));
        assert_eq!(master.unwrap("seal-2", &wrapped).map(|s| s.to_vec()), Err(SealError::Unwrap));
        assert_eq!(MasterKey::generate().unwrap("seal-1", &wrapped).map(|s| s.to_vec()), Err(SealError::Unwrap));
        assert!(MasterKey::from_hex("00").is_err());
        let same = MasterKey::from_hex(&master.to_hex()).map(|m| m.fingerprint());
        assert_eq!(same, Ok(master.fingerprint()));
    }
}
