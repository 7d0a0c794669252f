//! Checking a presented license: the seal, a token's digest, the registry's status.

use super::*;

/// What a verifier presents: a sealed license (the downloaded JSON) or the
/// token from its QR code.
#[derive(Debug, Clone)]
pub enum Presented {
    Sealed(SealedLicense),
    Token(String),
}

impl Store {
    /// Check a presented license: the seal against the signer's published key,
    /// a token against the registry's record, then the current status.
    /// Database failures are errors; everything about the license is in the verdict.
    pub async fn verify_license(&self, presented: Presented, today: Date) -> Result<Verdict> {
        let (sealed, claims) = match presented {
            Presented::Sealed(s) => (s, None),
            Presented::Token(token) => {
                let claims = match yiwang_license::read_token(&token) {
                    Ok((c, _, _)) => c,
                    Err(e) => return Ok(Verdict::failed(None, None, &e)),
                };
                let key = match self.seal_key(&claims.key_id).await {
                    Ok(k) => k,
                    Err(StoreError::NotFound(_)) => {
                        return Ok(Verdict::failed(Some(claims.id), None, &LicenseError::UnknownKey(claims.key_id)));
                    }
                    Err(e) => return Err(e),
                };
                if let Err(e) = yiwang_license::verify_token(&token, &key.public_key) {
                    return Ok(Verdict::failed(Some(claims.id), None, &e));
                }
                match self.license(&claims.id).await {
                    Ok(l) => (l.sealed, Some(claims)),
                    Err(StoreError::NotFound(what)) => return Ok(Verdict::failed(Some(claims.id), None, &StoreError::NotFound(what))),
                    Err(e) => return Err(e),
                }
            }
        };
        let id = sealed.record.get("id").and_then(Value::as_str).map(str::to_string);
        let key = match self.seal_key(&sealed.seal.key_id).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(Verdict::failed(id, None, &LicenseError::UnknownKey(sealed.seal.key_id.clone()))),
            Err(e) => return Err(e),
        };
        let checked = if key.agency_uscc != sealed.seal.signer {
            Err(LicenseError::BadSeal)
        } else {
            yiwang_license::verify_sealed(&sealed, &key.public_key)
        };
        if let Err(e) = checked {
            return Ok(Verdict::failed(id, None, &e));
        }
        if let Some(c) = &claims
            && yiwang_license::record_digest(&sealed.record).ok().as_deref() != Some(c.digest.as_str())
        {
            return Ok(Verdict::failed(id, None, &LicenseError::TokenMismatch));
        }
        let seal = SealVerdict { valid: true, key_id: key.key_id, signer: key.agency_uscc, alg: sealed.seal.alg.clone() };
        let verdict = Verdict::genuine(&sealed, seal);
        let Some(id) = id else { return Ok(verdict) };
        let verdict = match self.license(&id).await {
            Ok(stored) => {
                let expired = stored.expired_on(today);
                verdict.registered(stored.status.code(), expired, stored.status_reason, stored.status_at)
            }
            Err(StoreError::NotFound(_)) => verdict,
            Err(e) => return Err(e),
        };
        Ok(verdict)
    }
}
