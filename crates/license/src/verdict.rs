//! The answer to "is this license genuine and valid today?" as a member of
//! the public may see it, composed from what the verifier found: the seal's
//! check and the registry's record. The store finds them; the rules of the
//! answer are here.

use serde::{Deserialize, Serialize};

use crate::SealedLicense;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealVerdict {
    pub valid: bool,
    pub key_id: String,
    pub signer: String,
    pub alg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerdictError {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

/// The answer to "is this license genuine and valid today?". Only what a
/// member of the public may see: for a person's license, the holder's name and
/// the identifier's number segment are masked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Verdict {
    /// Genuine, and valid today.
    pub ok: bool,
    pub license_id: Option<String>,
    pub seal: Option<SealVerdict>,
    /// `valid`, `expired`, `suspended`, `revoked`, `superseded`, or `unknown`
    /// (genuine but not in this node's registry).
    pub status: Option<String>,
    pub status_zh: Option<String>,
    pub status_reason: Option<String>,
    pub status_at: Option<String>,
    pub name: Option<String>,
    pub holder: Option<String>,
    pub issuer: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub error: Option<VerdictError>,
    /// The node that checked it, when not the one asked: a license sealed
    /// elsewhere is verified by its issuer's node over the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
}

impl Verdict {
    /// A genuine seal (checked by the caller): the sealed record as a member
    /// of the public may see it (a person's name and ID number masked), its
    /// status `unknown` until the registry's record is added (`registered`).
    pub fn genuine(sealed: &SealedLicense, seal: SealVerdict) -> Verdict {
        let text = |path: &[&str]| {
            let mut v = &sealed.record;
            for p in path {
                v = &v[*p];
            }
            v.as_str().map(str::to_string)
        };
        let person = text(&["holder", "id_type"]).as_deref() == Some("111");
        let holder = match text(&["holder", "name"]) {
            Some(name) if person => Some(yiwang_identity::mask_name(&name)),
            name => name,
        };
        let id = text(&["id"]);
        Verdict {
            ok: false,
            license_id: id.as_deref().map(|i| if person { mask_identifier_number(i) } else { i.to_string() }),
            seal: Some(seal),
            status: Some("unknown".into()),
            status_zh: Some(status_zh("unknown").into()),
            status_reason: None,
            status_at: None,
            name: text(&["name"]),
            holder,
            issuer: text(&["issuer", "name"]),
            valid_from: text(&["valid_from"]),
            valid_until: text(&["valid_until"]),
            error: None,
            verified_by: None,
        }
    }

    /// The registry's record of a genuine license: its status (`valid`,
    /// `suspended`, `revoked`, `superseded`), a valid one past its validity
    /// (`expired`) being `expired`. Only a valid one is ok.
    pub fn registered(self, status: &str, expired: bool, reason: Option<String>, at: String) -> Verdict {
        let status = if status == "valid" && expired { "expired" } else { status };
        Verdict {
            ok: status == "valid",
            status: Some(status.into()),
            status_zh: Some(status_zh(status).into()),
            status_reason: reason,
            status_at: Some(at),
            ..self
        }
    }

    /// Not genuine, or not checkable: why, as a stable code and messages.
    pub fn failed(license_id: Option<String>, seal: Option<SealVerdict>, e: &dyn yiwang_errors::Coded) -> Verdict {
        Verdict {
            license_id,
            seal,
            error: Some(VerdictError { code: e.code().into(), message_zh: e.message_zh(), message_en: e.message_en() }),
            ..Verdict::default()
        }
    }
}

/// A license identifier on a public page. For a person's license the number
/// segment may be their ID number (居民身份证), so all but its first 4 and last 2
/// characters are starred.
pub fn mask_identifier_number(id: &str) -> String {
    let parts: Vec<&str> = id.split('.').collect();
    // Root (5 parts) . type . issuer . number . version . check
    if parts.len() != 10 {
        return id.to_string();
    }
    let number: Vec<char> = parts[7].chars().collect();
    let masked: String = number.iter().enumerate().map(|(i, c)| if i < 4 || i + 2 >= number.len() { *c } else { '*' }).collect();
    let mut out: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    out[7] = masked;
    out.join(".")
}

/// A status code (`valid`, `expired`…) in Chinese.
pub fn status_zh(status: &str) -> &'static str {
    match status {
        "valid" => "有效",
        "expired" => "已过有效期",
        "suspended" => "已暂停使用",
        "revoked" => "已注销/吊销",
        "superseded" => "已有新版本，本版本失效",
        _ => "本节点证照库中无此证照",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealed(id_type: &str) -> SealedLicense {
        serde_json::from_value(json!({
            "record": {
                "id": "1.2.156.3005.2.11100000000013338W001.113301000000000001.330105199001011234.001.K",
                "name": "食品经营许可证", "holder": { "id_type": id_type, "name": "张三丰" },
                "issuer": { "name": "杭州市市场监督管理局" }, "valid_from": "2026-01-01", "valid_until": "2031-01-01",
            },
            "seal": { "alg": "SM2-SM3", "key_id": "k1", "signer": "113301000000000001", "signature": "00" },
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn seal() -> SealVerdict {
        SealVerdict { valid: true, key_id: "k1".into(), signer: "113301000000000001".into(), alg: "SM2-SM3".into() }
    }

    #[test]
    fn a_persons_license_is_shown_masked_and_unknown_until_the_registry_answers() {
        let v = Verdict::genuine(&sealed("111"), seal());
        assert_eq!((v.ok, v.status.as_deref(), v.holder.as_deref()), (false, Some("unknown"), Some("张*丰")));
        assert_eq!(v.license_id.as_deref(), Some("1.2.156.3005.2.11100000000013338W001.113301000000000001.3301************34.001.K"));
        let firm = Verdict::genuine(&sealed("001"), seal());
        assert_eq!(firm.holder.as_deref(), Some("张三丰"));
    }

    #[test]
    fn only_a_valid_unexpired_license_is_ok() {
        let at = "2026-12-01T00:00:00Z".to_string();
        let v = Verdict::genuine(&sealed("111"), seal()).registered("valid", false, None, at.clone());
        assert!(v.ok && v.status_zh.as_deref() == Some("有效"));
        let v = Verdict::genuine(&sealed("111"), seal()).registered("valid", true, None, at.clone());
        assert_eq!((v.ok, v.status.as_deref()), (false, Some("expired")));
        let v = Verdict::genuine(&sealed("111"), seal()).registered("revoked", false, Some("吊销".into()), at);
        assert_eq!((v.ok, v.status_zh.as_deref(), v.status_reason.as_deref()), (false, Some("已注销/吊销"), Some("吊销")));
    }
}
