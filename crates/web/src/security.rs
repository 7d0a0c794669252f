//! The `[security]` settings of a node and what the edge derives from them:
//! the real-name level a person's held data needs, the proxies whose
//! `X-Forwarded-For` is believed, who may read `/metrics`, which internal
//! systems outgoing requests may reach, upload quotas, how long a registration
//! waits for its code, and how long support access to an agency may last.
//! `docs/security.md` says what each protects.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use yiwang_identity::RealNameLevel;

use crate::outbound::OutboundPolicy;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// The real-name level (2 or 3) a person needs to reach what the government
    /// holds about them: cases others opened for them, licenses, the wallet,
    /// prefilled base data and previous applications.
    pub personal_data_level: u8,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names
    /// the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// With a token, `/metrics` on the public listener answers to
    /// `Authorization: Bearer <token>`; without one it is not served there.
    pub metrics_token: Option<String>,
    /// A separate address serving `/metrics` alone, without a token (bind it to
    /// a management network or loopback), e.g. `127.0.0.1:9100`.
    pub metrics_listen: Option<String>,
    /// Internal systems that outgoing requests (webhooks) may reach although
    /// they are on private addresses: host names, addresses or CIDR ranges.
    pub outbound_allow: Vec<String>,
    /// Upload quota per account, in MiB, over the files of its open applications.
    pub upload_quota_mb: u64,
    /// How long a registration waits for its verification code before it lapses
    /// and stops holding the ID number, phone or email.
    pub pending_registration_minutes: i64,
    /// The longest support access to an agency's cases an admin may be granted.
    pub support_access_max_hours: i64,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            personal_data_level: 2,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            metrics_listen: None,
            outbound_allow: Vec::new(),
            upload_quota_mb: 200,
            pending_registration_minutes: 30,
            support_access_max_hours: 72,
        }
    }
}

impl SecuritySettings {
    /// The settings with secrets replaced, for `check-config` and logs.
    pub fn redacted(&self) -> SecuritySettings {
        let mut s = self.clone();
        if s.metrics_token.is_some() {
            s.metrics_token = Some("REDACTED".into());
        }
        s
    }
}

/// What the handlers use.
#[derive(Debug, Clone)]
pub struct SecurityRuntime {
    pub personal_data_level: RealNameLevel,
    proxies: Vec<IpNet>,
    pub metrics_token: Option<String>,
    pub outbound: OutboundPolicy,
    pub upload_quota_bytes: i64,
    pub pending_registration: SignedDuration,
    pub support_access_max: SignedDuration,
}

impl Default for SecurityRuntime {
    fn default() -> Self {
        // The defaults are valid by construction.
        SecurityRuntime::new(&SecuritySettings::default()).unwrap_or(SecurityRuntime {
            personal_data_level: RealNameLevel::L2,
            proxies: Vec::new(),
            metrics_token: None,
            outbound: OutboundPolicy::default(),
            upload_quota_bytes: 200 << 20,
            pending_registration: SignedDuration::from_mins(30),
            support_access_max: SignedDuration::from_hours(72),
        })
    }
}

impl SecurityRuntime {
    /// Checked settings; a bad value is a configuration error naming the key.
    pub fn new(s: &SecuritySettings) -> Result<SecurityRuntime, String> {
        let personal_data_level = match s.personal_data_level {
            2 => RealNameLevel::L2,
            3 => RealNameLevel::L3,
            n => return Err(format!("security.personal_data_level must be 2 or 3, not {n}")),
        };
        let proxies = s
            .trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("security.trusted_proxies: {p:?} is not an address or CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if s.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err("security.metrics_token must be at least 16 characters".into());
        }
        if !(1..=1_048_576).contains(&s.upload_quota_mb) {
            return Err("security.upload_quota_mb must be between 1 and 1048576".into());
        }
        if !(1..=24 * 60).contains(&s.pending_registration_minutes) {
            return Err("security.pending_registration_minutes must be between 1 and 1440".into());
        }
        if !(1..=24 * 30).contains(&s.support_access_max_hours) {
            return Err("security.support_access_max_hours must be between 1 and 720".into());
        }
        Ok(SecurityRuntime {
            personal_data_level,
            proxies,
            metrics_token: s.metrics_token.clone().filter(|t| !t.is_empty()),
            outbound: OutboundPolicy::new(&s.outbound_allow)?,
            upload_quota_bytes: i64::try_from(s.upload_quota_mb).unwrap_or(200).saturating_mul(1 << 20),
            pending_registration: SignedDuration::from_mins(s.pending_registration_minutes),
            support_access_max: SignedDuration::from_hours(s.support_access_max_hours),
        })
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the
    /// nearest address in `X-Forwarded-For` that is not a trusted proxy itself.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.is_proxy(peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .map(|h| h.parse::<IpAddr>().ok())
            .collect::<Option<Vec<_>>>()
            // A malformed chain is not believed at all: the proxy is the client.
            .unwrap_or_default();
        Some(hops.into_iter().rev().find(|ip| !self.is_proxy(*ip)).unwrap_or(peer))
    }

    fn is_proxy(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.proxies.iter().any(|n| n.contains(&ip))
    }
}

/// The client as throttles count it: an IPv4 address, or the /64 of an IPv6
/// one (a single subscriber holds a whole /64 and could rotate through it).
pub fn throttle_client(addr: &str) -> String {
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or_else(|| addr.to_string(), |v4| v4.to_string()),
        _ => addr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let rt = SecurityRuntime::new(&SecuritySettings { trusted_proxies: vec!["10.0.0.0/8".into()], ..Default::default() }).unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.5".parse().unwrap());
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // From a trusted proxy: the nearest untrusted hop.
        assert_eq!(rt.client_ip(ip("10.1.1.1"), &h), ip("198.51.100.7"));
        // From anyone else: the header is theirs to forge.
        assert_eq!(rt.client_ip(ip("198.51.100.99"), &h), ip("198.51.100.99"));
        // A garbled chain from a proxy: the proxy itself.
        h.insert("x-forwarded-for", "junk, 1.2.3.4".parse().unwrap());
        assert_eq!(rt.client_ip(ip("10.1.1.1"), &h), ip("10.1.1.1"));
        assert!(SecurityRuntime::new(&SecuritySettings { personal_data_level: 1, ..Default::default() }).is_err());
        // An IPv6 subscriber's whole /64 counts as one client; mapped IPv4 as the IPv4.
        assert_eq!(throttle_client("2001:db8:1:2:aaaa::1"), throttle_client("2001:db8:1:2:bbbb::9"));
        assert_ne!(throttle_client("2001:db8:1:2::1"), throttle_client("2001:db8:1:3::1"));
        assert_eq!(throttle_client("::ffff:203.0.113.5"), "203.0.113.5");
        assert_eq!(throttle_client("203.0.113.5"), "203.0.113.5");
        assert!(SecurityRuntime::new(&SecuritySettings { trusted_proxies: vec!["nope".into()], ..Default::default() }).is_err());
    }
}
