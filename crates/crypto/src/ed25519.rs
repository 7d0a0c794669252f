//! Ed25519 keys for the one export that cannot use SM2: SD-JWT verifiable
//! credentials (`dc+sd-jwt`) and their status lists. JOSE has no registered
//! algorithm for SM2, so a wallet or verifier outside China's GM/T stack could
//! not check an SM2-signed JWT; `EdDSA` (RFC 8037) is one every JOSE library
//! reads. The private half is wrapped under the node master key like a seal.

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use zeroize::Zeroizing;

use crate::seal::SealError;

/// An Ed25519 signing key.
pub struct VcKey {
    signing: SigningKey,
}

impl VcKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        while crate::seal::fill_random(bytes.as_mut()).is_err() {}
        VcKey { signing: SigningKey::from_bytes(&bytes) }
    }

    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadPrivateKey)?;
        Ok(VcKey { signing: SigningKey::from_bytes(&bytes) })
    }

    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.signing.to_bytes().to_vec())
    }

    /// The 32-byte public key in hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// Verify an Ed25519 signature with a public key given in hex.
pub fn verify(public_key_hex: &str, message: &[u8], signature: &[u8]) -> Result<(), SealError> {
    let bytes: [u8; 32] = hex::decode(public_key_hex.trim()).ok().and_then(|b| b.try_into().ok()).ok_or(SealError::BadPublicKey)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| SealError::BadPublicKey)?;
    let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| SealError::BadSignatureEncoding)?;
    key.verify(message, &sig).map_err(|_| SealError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let secret = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap_or_default();
        let key = VcKey::from_secret_bytes(&secret).map_err(|e| e.to_string());
        let Ok(key) = key else { panic!("key") };
        assert_eq!(key.public_key_hex(), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let sig = key.sign(b"");
        assert_eq!(
            hex::encode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert_eq!(verify(&key.public_key_hex(), b"", &sig), Ok(()));
        assert_eq!(verify(&key.public_key_hex(), b"x", &sig), Err(SealError::Invalid));
        let again = VcKey::from_secret_bytes(&VcKey::generate().secret_bytes()).map(|k| k.public_key_hex().len());
        assert_eq!(again, Ok(64));
    }
}
