//! Grants: a provider's permission for one consumer to read one resource, for
//! stated purposes, limited to some information items and rows, until a date.
//! Every access is decided here on the provider's side before anything is read.

use serde::{Deserialize, Serialize};
use yiwang_errors::{Coded, ErrorKind};

/// Which rows of a resource a grant reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowScope {
    All,
    /// Only subjects registered under this division code prefix (`3301` for
    /// 杭州市), e.g. a city's consumer reading its own residents.
    Division {
        prefix: String,
    },
}

impl RowScope {
    /// Whether a subject registered in `division` is in scope.
    pub fn covers(&self, division: &str) -> bool {
        match self {
            RowScope::All => true,
            RowScope::Division { prefix } => division.starts_with(prefix.as_str()),
        }
    }
}

/// A provider's grant, as kept on its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    /// The resource's code in the provider's catalog.
    pub resource: String,
    /// The consumer: a member (`CN/GOV/{USCC}`, any of its systems) or one subsystem.
    pub consumer: String,
    /// The information items it may read.
    pub fields: Vec<String>,
    /// The purposes (事项 codes or 事由) it may read them for; empty: any
    /// stated purpose.
    pub purposes: Vec<String>,
    pub row_scope: RowScope,
    pub valid_from: jiff::Timestamp,
    pub valid_until: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<jiff::Timestamp>,
}

/// One access as the consumer asks it.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub resource: &'a str,
    /// The sending member or subsystem (`from.client`).
    pub consumer: &'a str,
    pub fields: &'a [String],
    /// The stated purpose (`user.purpose`); an access without one is refused.
    pub purpose: Option<&'a str>,
    pub now: jiff::Timestamp,
}

/// What the provider will hand out: under which grant, which items, and
/// which asked-for items it withholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub grant_id: String,
    pub fields: Vec<String>,
    pub withheld: Vec<String>,
    pub row_scope: RowScope,
}

/// Why an access is refused. The consumer is told only "access denied"
/// (which grants exist is never told); the reason goes to the provider's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    NoPurpose,
    NoGrant,
    Expired,
    Purpose,
    Fields,
}

impl Denied {
    pub fn code(self) -> &'static str {
        match self {
            Denied::NoPurpose => "no_purpose",
            Denied::NoGrant => "no_grant",
            Denied::Expired => "expired",
            Denied::Purpose => "purpose",
            Denied::Fields => "fields",
        }
    }
}

/// Whether `consumer` (a member or subsystem) is the grant's consumer or one
/// of its member's systems.
fn reaches(grant_consumer: &str, consumer: &str) -> bool {
    consumer == grant_consumer || consumer.strip_prefix(grant_consumer).is_some_and(|rest| rest.starts_with('/'))
}

/// Decide one access against the provider's grants. The first grant that
/// allows it wins; among refusals, the most telling reason is kept for the log.
pub fn decide(grants: &[Grant], ask: &Ask<'_>) -> Result<Access, Denied> {
    let Some(purpose) = ask.purpose.map(str::trim).filter(|p| !p.is_empty()) else { return Err(Denied::NoPurpose) };
    let mut why = Denied::NoGrant;
    for g in grants.iter().filter(|g| g.resource == ask.resource && reaches(&g.consumer, ask.consumer)) {
        if g.revoked_at.is_some_and(|r| r <= ask.now) || ask.now < g.valid_from || ask.now >= g.valid_until {
            why = why.max_reason(Denied::Expired);
            continue;
        }
        if !g.purposes.is_empty() && !g.purposes.iter().any(|p| p == purpose) {
            why = why.max_reason(Denied::Purpose);
            continue;
        }
        let (fields, withheld): (Vec<String>, Vec<String>) = ask.fields.iter().cloned().partition(|f| g.fields.contains(f));
        if fields.is_empty() {
            why = why.max_reason(Denied::Fields);
            continue;
        }
        return Ok(Access { grant_id: g.id.clone(), fields, withheld, row_scope: g.row_scope.clone() });
    }
    Err(why)
}

impl Denied {
    /// The later reason in the order of the checks (a grant that came closer).
    fn max_reason(self, other: Denied) -> Denied {
        let rank = |d: Denied| match d {
            Denied::NoPurpose | Denied::NoGrant => 0,
            Denied::Expired => 1,
            Denied::Purpose => 2,
            Denied::Fields => 3,
        };
        if rank(other) > rank(self) { other } else { self }
    }
}

/// A grant that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharingError {
    #[error("the grant is not valid: {0}")]
    InvalidGrant(String),
    #[error("the sharing request is not valid: {0}")]
    InvalidRequest(String),
    #[error("the sharing request was already decided ({state})")]
    AlreadyDecided { state: &'static str },
}

impl Coded for SharingError {
    fn code(&self) -> &'static str {
        match self {
            SharingError::InvalidGrant(_) => "sharing.invalid_grant",
            SharingError::InvalidRequest(_) => "sharing.invalid_request",
            SharingError::AlreadyDecided { .. } => "sharing.already_decided",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            SharingError::AlreadyDecided { .. } => ErrorKind::Conflict,
            _ => ErrorKind::Unprocessable,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            SharingError::InvalidGrant(r) => format!("授权无效：{r}"),
            SharingError::InvalidRequest(r) => format!("共享申请无效：{r}"),
            SharingError::AlreadyDecided { state } => format!("该共享申请已办理（{state}）"),
        }
    }
}

impl Grant {
    /// Check a grant before it is kept: items named, a time window that
    /// opens before it closes, a division prefix of digits.
    pub fn check(&self, resource_items: &[String]) -> Result<(), SharingError> {
        let bad = |r: String| Err(SharingError::InvalidGrant(r));
        if self.fields.is_empty() {
            return bad("at least one information item must be granted".into());
        }
        if let Some(f) = self.fields.iter().find(|f| !resource_items.contains(f)) {
            return bad(format!("{f} is not an information item of resource {}", self.resource));
        }
        if self.valid_until <= self.valid_from {
            return bad("valid_until must be after valid_from".into());
        }
        if let RowScope::Division { prefix } = &self.row_scope
            && (prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit()))
        {
            return bad(format!("the division prefix {prefix:?} is not 1–6 digits"));
        }
        if self.purposes.iter().any(|p| p.trim().is_empty() || p.len() > 64) {
            return bad("a purpose is empty or longer than 64 characters".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn grant() -> Grant {
        Grant {
            id: "g1".into(),
            resource: "330000-RK-0001".into(),
            consumer: "CN/GOV/113301000025000337".into(),
            fields: vec!["name".into(), "birth_date".into()],
            purposes: vec!["330100-001".into()],
            row_scope: RowScope::Division { prefix: "33".into() },
            valid_from: at("2026-01-01T00:00:00Z"),
            valid_until: at("2027-01-01T00:00:00Z"),
            revoked_at: None,
        }
    }

    fn ask<'a>(fields: &'a [String], consumer: &'a str, purpose: Option<&'a str>, now: &str) -> Ask<'a> {
        Ask { resource: "330000-RK-0001", consumer, fields, purpose, now: at(now) }
    }

    #[test]
    fn a_grant_hands_out_only_its_items_for_its_purposes_until_it_ends() {
        let g = [grant()];
        let f: Vec<String> = vec!["name".into(), "address".into()];
        let sub = "CN/GOV/113301000025000337/window";
        let ok = decide(&g, &ask(&f, sub, Some("330100-001"), "2026-06-01T00:00:00Z")).expect("allowed");
        assert_eq!((ok.grant_id.as_str(), ok.fields, ok.withheld), ("g1", vec!["name".to_string()], vec!["address".to_string()]));
        assert_eq!(decide(&g, &ask(&f, sub, None, "2026-06-01T00:00:00Z")), Err(Denied::NoPurpose));
        assert_eq!(decide(&g, &ask(&f, sub, Some("other"), "2026-06-01T00:00:00Z")), Err(Denied::Purpose));
        assert_eq!(decide(&g, &ask(&f, sub, Some("330100-001"), "2027-01-01T00:00:00Z")), Err(Denied::Expired));
        let only_address: Vec<String> = vec!["address".into()];
        assert_eq!(decide(&g, &ask(&only_address, sub, Some("330100-001"), "2026-06-01T00:00:00Z")), Err(Denied::Fields));
        // Another member, and a member whose id merely starts the same way.
        assert_eq!(decide(&g, &ask(&f, "CN/GOV/113302000025000417", Some("330100-001"), "2026-06-01T00:00:00Z")), Err(Denied::NoGrant));
        assert_eq!(decide(&g, &ask(&f, "CN/GOV/113301000025000337X", Some("330100-001"), "2026-06-01T00:00:00Z")), Err(Denied::NoGrant));
        let mut revoked = grant();
        revoked.revoked_at = Some(at("2026-03-01T00:00:00Z"));
        assert_eq!(decide(&[revoked], &ask(&f, sub, Some("330100-001"), "2026-06-01T00:00:00Z")), Err(Denied::Expired));
        assert!(RowScope::Division { prefix: "33".into() }.covers("330106"));
        assert!(!RowScope::Division { prefix: "33".into() }.covers("440300"));
    }

    #[test]
    fn a_grant_is_checked_before_it_is_kept() {
        let items: Vec<String> = vec!["name".into(), "birth_date".into()];
        assert_eq!(grant().check(&items), Ok(()));
        let mut g = grant();
        g.fields.push("income".into());
        assert!(g.check(&items).is_err());
        let mut g = grant();
        g.valid_until = g.valid_from;
        assert!(g.check(&items).is_err());
        let mut g = grant();
        g.row_scope = RowScope::Division { prefix: "33a".into() };
        assert_eq!(g.check(&items).map_err(|e| e.code()), Err("sharing.invalid_grant"));
    }
}
