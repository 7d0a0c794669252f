//! `yiwang license verify FILE|TOKEN`.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};
use yiwang_license::{LicenseError, SealedLicense, read_token, record_digest, verify_sealed, verify_token};
use yiwang_store::{LicenseStatus, Store, StoreError};

#[derive(Subcommand)]
pub enum LicenseCmd {
    /// Check a sealed license (a JSON file as downloaded) or a QR token
    /// (`YL1.…`): the SM2 seal against the published key of its signer, and the
    /// license's current status in this node's registry. Exit 0 only for a
    /// license that verifies and is valid today.
    Verify { what: String },
}

/// The verdict printed as JSON.
fn verdict(ok: bool, v: Value) -> anyhow::Result<ExitCode> {
    let mut v = v;
    v["ok"] = ok.into();
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn failure(e: &LicenseError) -> Value {
    json!({ "code": yiwang_errors::Coded::code(e), "message_zh": yiwang_errors::Coded::message_zh(e), "message_en": e.to_string() })
}

pub async fn run(cmd: LicenseCmd, store: &Store) -> anyhow::Result<ExitCode> {
    let LicenseCmd::Verify { what } = cmd;
    let path = std::path::Path::new(&what);
    let (sealed, token_claims) = if path.is_file() {
        let text = std::fs::read_to_string(path)?;
        match serde_json::from_str::<SealedLicense>(&text) {
            Ok(s) => (s, None),
            Err(e) => {
                return verdict(false, json!({ "error": failure(&LicenseError::BadToken(format!("not a sealed license file: {e}"))) }));
            }
        }
    } else {
        let (claims, _, _) = match read_token(&what) {
            Ok(t) => t,
            Err(e) => return verdict(false, json!({ "error": failure(&e) })),
        };
        let key = match store.seal_key(&claims.key_id).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return verdict(false, json!({ "error": failure(&LicenseError::UnknownKey(claims.key_id)) })),
            Err(e) => return Err(e.into()),
        };
        if let Err(e) = verify_token(&what, &key.public_key) {
            return verdict(false, json!({ "error": failure(&e) }));
        }
        match store.license(&claims.id).await {
            Ok(l) => (l.sealed, Some(claims)),
            Err(StoreError::NotFound(_)) => {
                return verdict(
                    false,
                    json!({ "license_id": claims.id, "error": { "code": "license.not_found", "message_zh": "本节点的证照库中没有该证照", "message_en": "this node's registry has no such license" } }),
                );
            }
            Err(e) => return Err(e.into()),
        }
    };
    let key = match store.seal_key(&sealed.seal.key_id).await {
        Ok(k) => k,
        Err(StoreError::NotFound(_)) => {
            return verdict(false, json!({ "error": failure(&LicenseError::UnknownKey(sealed.seal.key_id.clone())) }));
        }
        Err(e) => return Err(e.into()),
    };
    let id = sealed.record.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    if key.agency_uscc != sealed.seal.signer {
        return verdict(false, json!({ "license_id": id, "error": failure(&LicenseError::BadSeal) }));
    }
    if let Err(e) = verify_sealed(&sealed, &key.public_key) {
        return verdict(false, json!({ "license_id": id, "error": failure(&e) }));
    }
    if let Some(claims) = &token_claims
        && record_digest(&sealed.record).ok().as_deref() != Some(claims.digest.as_str())
    {
        return verdict(false, json!({ "license_id": id, "error": failure(&LicenseError::TokenMismatch) }));
    }
    let seal = json!({ "valid": true, "key_id": key.key_id, "signer": key.agency_uscc, "alg": sealed.seal.alg });
    let stored = match store.license(&id).await {
        Ok(l) => l,
        Err(StoreError::NotFound(_)) => {
            return verdict(
                false,
                json!({ "license_id": id, "seal": seal, "status": "unknown", "message_zh": "签章有效，但本节点的证照库中没有该证照" }),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    let status = if stored.status == LicenseStatus::Valid && stored.expired_on(today) { "expired" } else { stored.status.code() };
    let message_zh = match status {
        "valid" => "证照有效",
        "expired" => "证照已过有效期",
        "suspended" => "证照已暂停使用",
        "revoked" => "证照已注销/吊销",
        _ => "证照已有新版本，本版本失效",
    };
    verdict(
        status == "valid",
        json!({ "license_id": id, "seal": seal, "status": status, "status_reason": stored.status_reason, "status_at": stored.status_at,
                "name": stored.sealed.record["name"], "valid_until": stored.valid_until, "message_zh": message_zh }),
    )
}
