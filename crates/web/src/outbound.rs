//! Outgoing requests to addresses a caller chose (webhook subscriptions today;
//! every later adapter that dials a URL from the database goes through here).
//! A caller must not be able to make the node reach into its own network: the
//! target is resolved and refused if any address is loopback, private,
//! link-local (with the cloud metadata address), CGNAT, multicast, reserved or
//! unspecified, in IPv4 or IPv6 (mapped, NAT64, 6to4 and Teredo forms carry an
//! IPv4 address and are judged by it). Numeric host spellings (`2130706433`,
//! `0x7f.1`) are parsed by the URL parser into the address they mean first.
//! The check runs when a URL is subscribed and again at every connection, in the
//! client's resolver, so a name that resolves differently later (DNS rebinding)
//! is still refused. Redirects are never followed. An operator names internal
//! department systems that may be reached anyway (`[security] outbound_allow`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::{Host, Url};

/// The operator's exceptions: host names (exact, case-insensitive) and address
/// ranges that outgoing requests may reach although they are internal.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

/// Why a target is refused, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("the host {0} is an internal address (loopback, private, link-local, metadata, multicast or reserved)")]
    Internal(String),
    #[error("the host name could not be resolved")]
    Unresolvable,
}

impl yiwang_errors::Coded for Refused {
    fn code(&self) -> &'static str {
        match self {
            Refused::Scheme | Refused::NoHost => "outbound.bad_url",
            Refused::Internal(_) => "outbound.internal_target",
            Refused::Unresolvable => "outbound.unresolvable",
        }
    }

    fn kind(&self) -> yiwang_errors::ErrorKind {
        yiwang_errors::ErrorKind::Unprocessable
    }

    fn message_zh(&self) -> String {
        match self {
            Refused::Scheme => "只允许 http 或 https 地址".into(),
            Refused::NoHost => "地址缺少主机名".into(),
            Refused::Internal(_) => "不允许向内部网络地址（本机、内网、链路本地、元数据、组播或保留地址）发送请求".into(),
            Refused::Unresolvable => "无法解析该主机名".into(),
        }
    }
}

impl OutboundPolicy {
    /// From the configured entries: each a host name, an address, or a CIDR range.
    pub fn new(entries: &[String]) -> Result<OutboundPolicy, String> {
        let mut p = OutboundPolicy::default();
        for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if let Ok(net) = e.parse::<IpNet>() {
                p.nets.push(net);
            } else if let Ok(ip) = e.parse::<IpAddr>() {
                p.nets.push(IpNet::from(ip));
            } else if e.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') && e.contains(|c: char| c.is_ascii_alphabetic())
            {
                p.hosts.push(e.to_ascii_lowercase());
            } else {
                return Err(format!("outbound_allow: {e:?} is neither a host name, an address nor a CIDR range"));
            }
        }
        Ok(p)
    }

    /// Allow loopback (tests and benchmarks that run their receivers on 127.0.0.1).
    pub fn allowing_loopback() -> OutboundPolicy {
        let loopback_v4 = IpNet::V4(ipnet::Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8));
        OutboundPolicy { hosts: vec!["localhost".into()], nets: vec![loopback_v4, IpNet::from(IpAddr::V6(Ipv6Addr::LOCALHOST))] }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&h)
    }

    fn ip_allowed(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Check a URL's shape and its host as written (an address literal), without DNS.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme);
        }
        match url.host() {
            None => Err(Refused::NoHost),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(_)) => Ok(()),
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.ip_allowed(ip) { Ok(()) } else { Err(Refused::Internal(ip.to_string())) }
    }

    /// Check a URL and, for a host name, every address it resolves to now.
    pub async fn check_resolved(&self, url: &Url) -> Result<(), Refused> {
        self.check_url(url)?;
        if let Some(Host::Domain(name)) = url.host() {
            self.resolve(name).await?;
        }
        Ok(())
    }

    /// Resolve a host name and refuse it if any address is internal (unless the
    /// name or the address is allowed).
    async fn resolve(&self, name: &str) -> Result<Vec<SocketAddr>, Refused> {
        let addrs: Vec<SocketAddr> = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((name, 0)))
            .await
            .map_err(|_| Refused::Unresolvable)?
            .map_err(|_| Refused::Unresolvable)?
            .collect();
        if addrs.is_empty() {
            return Err(Refused::Unresolvable);
        }
        if !self.host_allowed(name)
            && let Some(bad) = addrs.iter().find(|a| !self.ip_allowed(a.ip()))
        {
            return Err(Refused::Internal(format!("{name} ({})", bad.ip())));
        }
        Ok(addrs)
    }

    /// An HTTP client for caller-chosen URLs: this policy in its resolver, no
    /// redirects, no proxy from the environment, bounded time.
    pub fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(self.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .build()
    }

    /// Send a request built by `client` to `url`, refusing internal targets
    /// first (address literals never reach the resolver).
    pub fn preflight(&self, url: &str) -> Result<Url, Refused> {
        let u = Url::parse(url).map_err(|_| Refused::NoHost)?;
        self.check_url(&u)?;
        Ok(u)
    }
}

/// reqwest's resolver with the policy applied at every connection.
struct GuardedResolver(OutboundPolicy);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let addrs = policy.resolve(name.as_str()).await.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What went wrong with a delivery, as a class the subscriber can act on; the
/// raw error text (which could map the node's network) is never shown.
pub fn failure_class(e: &reqwest::Error) -> &'static str {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return match r {
                Refused::Internal(_) => "blocked",
                Refused::Unresolvable => "dns",
                _ => "blocked",
            };
        }
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
            return "tls";
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "refused"
    } else {
        "network"
    }
}

/// Whether an address is internal: not a public unicast address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback() // 127/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16, with the metadata address 169.254.169.254
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18/15
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || ip.is_multicast() // 224/4
        || a >= 240 // reserved 240/4 and broadcast
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return internal_v4(v4);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only 100::/64
        || s[0] == 0 // the rest of ::/16 (IPv4-compatible and reserved forms)
}

/// The IPv4 address an IPv6 form carries: mapped (::ffff:a.b.c.d), IPv4-compatible
/// (::a.b.c.d), NAT64 (64:ff9b::/96 and 64:ff9b:1::/48), 6to4 (2002::/16) and
/// Teredo (2001:0::/32, the client address inverted).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(from(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0, 0, 0, 0] || s[2] == 1) {
        return Some(from(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(from(s[1], s[2]));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some(from(!s[6], !s[7]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(u: &str) -> bool {
        let url = Url::parse(u).unwrap_or_else(|e| panic!("{u}: {e}"));
        OutboundPolicy::default().check_url(&url).is_err()
    }

    #[test]
    fn internal_targets_in_every_spelling_are_refused() {
        for u in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://0.0.0.0/",
            "http://0/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            "http://[2001:0:0:0:0:0:80ff:fefe]/",
            "ftp://example.org/",
            "file:///etc/passwd",
        ] {
            assert!(refused(u), "{u} must be refused");
        }
        for u in ["https://example.org/hook", "http://93.184.216.34/", "http://[2606:4700::1111]/", "http://172.32.0.1/"] {
            assert!(!refused(u), "{u} is public");
        }
    }

    #[test]
    fn the_operator_allows_named_internal_systems() {
        let p = OutboundPolicy::new(&["10.8.0.0/16".into(), "dept.internal".into(), "127.0.0.1".into()]).unwrap();
        assert!(p.check_url(&Url::parse("http://10.8.3.4/").unwrap()).is_ok());
        assert!(p.check_url(&Url::parse("http://127.0.0.1:9/").unwrap()).is_ok());
        assert!(p.check_url(&Url::parse("http://10.9.3.4/").unwrap()).is_err());
        assert!(p.host_allowed("DEPT.internal."));
        assert!(OutboundPolicy::new(&["not a host!".into()]).is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused() {
        let p = OutboundPolicy::default();
        let err = p.check_resolved(&Url::parse("http://localhost:9/").unwrap()).await.unwrap_err();
        assert!(matches!(err, Refused::Internal(_)), "{err:?}");
        assert!(OutboundPolicy::allowing_loopback().check_resolved(&Url::parse("http://localhost:9/").unwrap()).await.is_ok());
    }
}
