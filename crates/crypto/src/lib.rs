//! National (GM/T) cryptography used by yiwang: SM3 digests, SM2 seals and
//! SM4 key wrapping (`seal`); Ed25519 for the SD-JWT export only (`ed25519`).

pub mod ed25519;
pub mod seal;

use sm3::{Digest, Sm3};

/// Fill `buf` from the operating system's generator.
pub fn random_bytes(buf: &mut [u8]) {
    while seal::fill_random(buf).is_err() {}
}

/// SM3 digest (GB/T 32905).
pub fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// Incremental SM3 over several parts.
#[derive(Clone, Default)]
pub struct Sm3Hasher(Sm3);

impl Sm3Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.0.update(data);
        self
    }

    pub fn finalize_hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbt_32905_vector() {
        // GB/T 32905-2016 Appendix A example 1.
        assert_eq!(hex::encode(sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
        let mut h = Sm3Hasher::new();
        h.update(b"a").update(b"bc");
        assert_eq!(h.finalize_hex(), hex::encode(sm3(b"abc")));
    }
}
