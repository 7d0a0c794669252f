//! Who talks in the exchange: nodes by division code, members and their
//! subsystems by unified social credit code, and messages by UUIDv7.

use serde::{Deserialize, Serialize};

use crate::ExchangeError;

/// The instances a node may belong to: production and test never mix.
const INSTANCES: [&str; 2] = ["CN", "CN-TEST"];

/// A node: `CN/NODE/{GB/T 2260 division code}`, `CN/NODE/000000` for the
/// national node (`CN-TEST/…` on a test network).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

impl NodeId {
    pub fn parse(s: &str) -> Result<NodeId, ExchangeError> {
        let bad = || ExchangeError::NodeId(s.to_string());
        let mut parts = s.split('/');
        let (Some(instance), Some("NODE"), Some(division), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if !INSTANCES.contains(&instance) || division.len() != 6 {
            return Err(bad());
        }
        if division != "000000" {
            yiwang_codes::DivisionCode::parse(division).map_err(|_| bad())?;
        }
        Ok(NodeId(s.to_string()))
    }

    /// The node's six-digit division code (`000000` for the national node).
    pub fn division(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }

    /// The instance it belongs to (`CN` or `CN-TEST`).
    pub fn instance(&self) -> &str {
        self.0.split('/').next().unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeId {
    type Error = ExchangeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        NodeId::parse(&s)
    }
}

impl From<NodeId> for String {
    fn from(n: NodeId) -> String {
        n.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The classes of member: 党政机关, 事业单位, enterprises.
const CLASSES: [&str; 3] = ["GOV", "PUB", "ENT"];

/// A member, `CN/{GOV|PUB|ENT}/{USCC}`, or one of its information systems,
/// `CN/GOV/{USCC}/{subsystem}` (subsystem: letters, digits, `-` and `_`, at
/// most 64).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(s: &str) -> Result<ClientId, ExchangeError> {
        let bad = || ExchangeError::ClientId(s.to_string());
        let parts: Vec<&str> = s.split('/').collect();
        let (instance, class, uscc, subsystem) = match parts.as_slice() {
            [i, c, u] => (*i, *c, *u, None),
            [i, c, u, sub] => (*i, *c, *u, Some(*sub)),
            _ => return Err(bad()),
        };
        if !INSTANCES.contains(&instance) || !CLASSES.contains(&class) {
            return Err(bad());
        }
        yiwang_codes::Uscc::parse(uscc).map_err(|_| bad())?;
        if let Some(sub) = subsystem
            && (sub.is_empty() || sub.len() > 64 || !sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(bad());
        }
        Ok(ClientId(s.to_string()))
    }

    /// The member this id names (itself, for a member; the owner, for a subsystem).
    pub fn member(&self) -> &str {
        match self.0.match_indices('/').nth(2) {
            Some((end, _)) => &self.0[..end],
            None => &self.0,
        }
    }

    /// The member's unified social credit code.
    pub fn uscc(&self) -> &str {
        self.member().rsplit('/').next().unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = ExchangeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ClientId::parse(&s)
    }
}

impl From<ClientId> for String {
    fn from(c: ClientId) -> String {
        c.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A service, `{subsystem}/{code}/{version}`: what a request's `to.service`
/// names, e.g. `CN/GOV/{USCC}/population-db/person/v1` (code: letters, digits,
/// `-` and `_`, at most 64; version `v` and digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceId {
    pub subsystem: ClientId,
    pub code: String,
    pub version: String,
}

impl ServiceId {
    pub fn parse(s: &str) -> Result<ServiceId, ExchangeError> {
        let bad = || ExchangeError::ServiceId(s.to_string());
        let mut parts = s.rsplitn(3, '/');
        let (Some(version), Some(code), Some(subsystem)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let subsystem = ClientId::parse(subsystem).map_err(|_| bad())?;
        let code_ok = !code.is_empty() && code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let version_ok =
            version.len() <= 8 && version.strip_prefix('v').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if subsystem.member() == subsystem.as_str() || !code_ok || !version_ok {
            return Err(bad());
        }
        Ok(ServiceId { subsystem, code: code.to_string(), version: version.to_string() })
    }

    /// The subsystem's name within its member (`population-db`).
    pub fn subsystem_name(&self) -> &str {
        &self.subsystem.as_str()[self.subsystem.member().len() + 1..]
    }
}

impl std::fmt::Display for ServiceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.subsystem, self.code, self.version)
    }
}

/// A message id: a UUIDv7 (RFC 9562) whose first 48 bits are `now` in Unix
/// milliseconds and whose other 74 bits come from `random` (the sending node
/// draws them; ids are never taken from a caller).
pub fn msg_id_v7(now: jiff::Timestamp, random: [u8; 10]) -> String {
    let millis = u64::try_from(now.as_millisecond()).unwrap_or_default() & 0xFFFF_FFFF_FFFF;
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random);
    b[6] = 0x70 | (b[6] & 0x0F);
    b[8] = 0x80 | (b[8] & 0x3F);
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The Unix milliseconds a UUIDv7 carries, or `None` if `id` is not a
/// lower-case UUIDv7 in its canonical form.
pub fn msg_id_millis(id: &str) -> Option<i64> {
    let b = id.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: String = id.chars().filter(|&c| c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return None;
    }
    let version = &hex[12..13];
    let variant = u8::from_str_radix(&hex[16..17], 16).ok()?;
    if version != "7" || variant & 0b1100 != 0b1000 {
        return None;
    }
    i64::from_str_radix(&hex[..12], 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_an_instance_and_a_division() {
        assert_eq!(NodeId::parse("CN/NODE/440300").map(|n| n.division().to_string()), Ok("440300".into()));
        assert_eq!(NodeId::parse("CN-TEST/NODE/440300").map(|n| n.instance().to_string()), Ok("CN-TEST".into()));
        assert!(NodeId::parse("CN/NODE/000000").is_ok());
        assert!(NodeId::parse("CN-TEST/NODE/110000").is_ok());
        for bad in ["CN/NODE/990000", "CN/NODE/4403", "XX/NODE/440300", "CN/NODES/440300", "CN/NODE/440300/x", ""] {
            assert_eq!(NodeId::parse(bad).map_err(|e| yiwang_errors::Coded::code(&e)), Err("gx.node_id"), "{bad}");
        }
    }

    #[test]
    fn client_ids_name_a_member_by_its_credit_code() {
        let sub = ClientId::parse("CN/GOV/91350100M000100Y43/population-db").expect("a subsystem");
        assert_eq!(sub.member(), "CN/GOV/91350100M000100Y43");
        assert_eq!(sub.uscc(), "91350100M000100Y43");
        let member = ClientId::parse("CN/PUB/91350100M000100Y43").expect("a member");
        assert_eq!(member.member(), member.as_str());
        for bad in ["CN/GOV/91350100M000100Y44", "CN/ABC/91350100M000100Y43", "CN/GOV/91350100M000100Y43/a b", "CN/GOV"] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_ids_are_a_subsystem_a_code_and_a_version() {
        let s = ServiceId::parse("CN/GOV/91350100M000100Y43/population-db/person/v1").expect("a service");
        assert_eq!(
            (s.subsystem.member(), s.subsystem_name(), s.code.as_str(), s.version.as_str()),
            ("CN/GOV/91350100M000100Y43", "population-db", "person", "v1")
        );
        assert_eq!(s.to_string(), "CN/GOV/91350100M000100Y43/population-db/person/v1");
        for bad in [
            "CN/GOV/91350100M000100Y43/person/v1",
            "CN/GOV/91350100M000100Y43/population-db/person/1",
            "CN/GOV/91350100M000100Y43/population-db/per son/v1",
            "CN/GOV/91350100M000100Y43/population-db/person/v",
            "CN/GOV/91350100M000100Y44/population-db/person/v1",
            "person/v1",
        ] {
            assert_eq!(ServiceId::parse(bad).map_err(|e| yiwang_errors::Coded::code(&e)), Err("gx.service_id"), "{bad}");
        }
    }

    #[test]
    fn message_ids_are_uuid_v7_carrying_their_time() {
        let now: jiff::Timestamp = "2026-12-07T05:30:00.123Z".parse().expect("a time");
        let id = msg_id_v7(now, [0xFF; 10]);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "7");
        assert_eq!(msg_id_millis(&id), Some(now.as_millisecond()));
        assert_eq!(msg_id_millis(&id.to_uppercase()), None);
        assert_eq!(msg_id_millis("0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b"), None, "a UUIDv4 is refused");
        assert_eq!(msg_id_millis(&"-".repeat(36)), None, "dashes only");
        assert_eq!(msg_id_millis("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2-"), None, "a dash in place of a digit");
        assert_eq!(msg_id_millis("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1aé"), None, "not ASCII");
    }
}
