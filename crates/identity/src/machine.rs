//! Machine clients (issue 20): department systems that call the integration
//! API as themselves, through the OAuth 2.0 client credentials grant (RFC 6749
//! §4.4), authenticated by `client_secret_basic` or by `private_key_jwt`
//! (RFC 7523 §2.2, an ES256 assertion signed with a key the client
//! registered). A client belongs to one agency; its token reaches only the
//! routes marked for machines, with the handling roles of that agency.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Acting, AuthVia, Principal, RealNameLevel, Role, StaffRole};

/// The one scope a machine token carries.
pub const MACHINE_SCOPE: &str = "integration";

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may be valid for (its `exp` from now): an hour
/// (what common client libraries such as Authlib set) and a minute of clock
/// skew. Its `jti` is kept that long, so it is used once.
pub const MAX_ASSERTION_SECS: i64 = 3660;

/// The roles a machine client holds in its agency: those that record the
/// GB/T 39046 handling records.
pub const MACHINE_ROLES: &[Role] = &[Role::WindowClerk, Role::Reviewer, Role::DepartmentHead];

/// How a machine client proves who it is at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub fn code(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<ClientAuthMethod> {
        [ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::PrivateKeyJwt].into_iter().find(|m| m.code() == s.trim())
    }
}

/// Why a client assertion is refused (the token endpoint answers `invalid_client`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("iss and sub must both be the client id")]
    WrongClient,
    #[error("aud must name this token endpoint")]
    WrongAudience,
    #[error("the assertion has expired")]
    Expired,
    #[error("exp is more than {MAX_ASSERTION_SECS} seconds away")]
    TooLong,
    #[error("the assertion is not valid yet (nbf or iat in the future)")]
    NotYetValid,
    #[error("jti is missing or longer than 200 characters")]
    BadJti,
}

/// Check the claims of a client assertion whose signature has been verified:
/// `iss` = `sub` = the client, `aud` names one of `audiences`, `exp` in the
/// next [`MAX_ASSERTION_SECS`], a `jti` for the replay check. Returns (jti, exp).
pub fn check_assertion(claims: &Value, client_id: &str, audiences: &[&str], now: i64) -> Result<(String, i64), AssertionError> {
    if claims["iss"].as_str() != Some(client_id) || claims["sub"].as_str() != Some(client_id) {
        return Err(AssertionError::WrongClient);
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => audiences.contains(&a.as_str()),
        Value::Array(list) => list.iter().filter_map(Value::as_str).any(|a| audiences.contains(&a)),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::WrongAudience);
    }
    let exp = claims["exp"].as_i64().ok_or(AssertionError::Expired)?;
    if exp <= now {
        return Err(AssertionError::Expired);
    }
    if exp - now > MAX_ASSERTION_SECS {
        return Err(AssertionError::TooLong);
    }
    // A minute of clock skew between the department system and the node.
    if ["nbf", "iat"].iter().any(|k| claims[*k].as_i64().is_some_and(|t| t > now + 60)) {
        return Err(AssertionError::NotYetValid);
    }
    let jti = claims["jti"].as_str().filter(|j| !j.is_empty() && j.len() <= 200).ok_or(AssertionError::BadJti)?;
    Ok((jti.to_string(), exp))
}

/// The public keys a client registers for `private_key_jwt`: a JWK Set of one
/// to five EC P-256 keys, each with a distinct `kid` and no private part.
/// Returns the keys as they are kept.
pub fn check_client_jwks(jwks: &Value) -> Result<Vec<Value>, String> {
    let keys = jwks["keys"].as_array().ok_or("jwks must be a JWK Set: {\"keys\": […]}")?;
    if keys.is_empty() || keys.len() > 5 {
        return Err("jwks holds one to five keys".into());
    }
    let mut kids = Vec::new();
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let kid = k["kid"].as_str().filter(|s| !s.is_empty() && s.len() <= 100).ok_or("each key needs a kid (1–100 characters)")?;
        if kids.contains(&kid) {
            return Err(format!("kid {kid} is repeated"));
        }
        kids.push(kid);
        if k["kty"] != "EC" || k["crv"] != "P-256" || !k["x"].is_string() || !k["y"].is_string() {
            return Err(format!("key {kid} is not an EC P-256 public key (ES256)"));
        }
        if k.get("d").is_some() {
            return Err(format!("key {kid} holds its private part: register the public key only"));
        }
        out.push(serde_json::json!({ "kty": "EC", "crv": "P-256", "kid": kid, "x": k["x"], "y": k["y"] }));
    }
    Ok(out)
}

/// The caller a machine token stands for: the client, with the handling roles
/// of its agency. `account_id` is `client:<id>`, which is how its records name
/// their actor.
pub fn machine_principal(client_id: &str, name: &str, agency: &str, agency_name: &str) -> Principal {
    Principal {
        account_id: format!("client:{client_id}"),
        subject: format!("client:{client_id}"),
        name: name.to_string(),
        citizen_id: String::new(),
        level: RealNameLevel::L1,
        acting: Acting::Own,
        staff: MACHINE_ROLES
            .iter()
            .map(|r| StaffRole { agency: agency.to_string(), agency_name: agency_name.to_string(), role: *r })
            .collect(),
        via: AuthVia::Client { client_id: client_id.to_string() },
        assured: false,
        support: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUD: &str = "https://node.example/oidc/token";

    fn claims(exp: i64) -> Value {
        json!({ "iss": "c1", "sub": "c1", "aud": AUD, "exp": exp, "iat": 1000, "jti": "j1" })
    }

    #[test]
    fn an_assertion_names_the_client_the_endpoint_and_a_short_life() {
        assert_eq!(check_assertion(&claims(1100), "c1", &[AUD], 1000), Ok(("j1".into(), 1100)));
        let mut listed = claims(1100);
        listed["aud"] = json!(["other", AUD]);
        assert!(check_assertion(&listed, "c1", &[AUD], 1000).is_ok());
        assert_eq!(check_assertion(&claims(1100), "c2", &[AUD], 1000), Err(AssertionError::WrongClient));
        assert_eq!(check_assertion(&claims(1100), "c1", &["elsewhere"], 1000), Err(AssertionError::WrongAudience));
        assert_eq!(check_assertion(&claims(1000), "c1", &[AUD], 1000), Err(AssertionError::Expired));
        assert_eq!(check_assertion(&claims(1000 + MAX_ASSERTION_SECS + 1), "c1", &[AUD], 1000), Err(AssertionError::TooLong));
        let mut future = claims(1100);
        future["iat"] = json!(1100);
        assert_eq!(check_assertion(&future, "c1", &[AUD], 1000), Err(AssertionError::NotYetValid));
        let mut no_jti = claims(1100);
        no_jti["jti"] = json!("");
        assert_eq!(check_assertion(&no_jti, "c1", &[AUD], 1000), Err(AssertionError::BadJti));
    }

    #[test]
    fn a_client_registers_public_p256_keys_only() {
        let key = crate::Es256Key::generate().public_jwk();
        assert_eq!(check_client_jwks(&json!({ "keys": [key.clone()] })).map(|k| k.len()), Ok(1));
        assert!(check_client_jwks(&json!({ "keys": [] })).is_err());
        assert!(check_client_jwks(&json!({ "keys": [key.clone(), key.clone()] })).unwrap_err().contains("repeated"));
        let mut private = key.clone();
        private["d"] = json!("secret");
        assert!(check_client_jwks(&json!({ "keys": [private] })).unwrap_err().contains("private"));
        let mut rsa = key;
        rsa["kty"] = json!("RSA");
        assert!(check_client_jwks(&json!({ "keys": [rsa] })).is_err());
    }

    #[test]
    fn a_machine_holds_the_handling_roles_of_its_agency_only() {
        let p = machine_principal("c1", "审批系统", "A", "部门A");
        assert!(p.has_role_in("A", &[Role::Reviewer]) && !p.has_role_in("B", &[Role::Reviewer]));
        assert!(!p.has_role(Role::Admin) && p.is_machine());
        assert_eq!(p.account_id, "client:c1");
    }
}
