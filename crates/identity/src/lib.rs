//! Unified identity (统一身份认证), the pure part: who a caller is ([`Principal`]),
//! what staff may do ([`Role`]), how sure we are of a person's real name
//! ([`RealNameLevel`]), the route policy ([`Access`]) and the secrets that back
//! logins and tokens. No IO and no clock: the store and web crates supply both.

mod error;
mod federation;
mod jws;
mod machine;
mod mask;
mod pkce;
mod policy;
mod principal;
mod secret;

pub use error::IdentityError;
pub use federation::{LinkDecision, LocalAccount, federated_level, link_decision};
pub use jws::{Es256Key, JwsError, verify_es256};
pub use machine::{
    AssertionError, ClientAuthMethod, JWT_BEARER_ASSERTION, MACHINE_ROLES, MACHINE_SCOPE, MAX_ASSERTION_SECS, check_assertion,
    check_client_jwks, machine_principal,
};
pub use mask::{mask_email, mask_name, mask_phone};
pub use pkce::{pkce_challenge_s256, validate_code_verifier, verify_pkce_s256};
pub use policy::{Access, Denial, may_act_for_enterprise};
pub use principal::{Acting, AuthVia, Principal, RealNameLevel, Role, StaffRole};
pub use secret::{
    PasswordPolicy, check_password_strength, ct_eq, hash_password, new_token, token_hash, verification_code, verify_password,
};
