//! The network policy (SSRF guard): which addresses the server may send requests to. Loopback,
//! private, link-local (cloud metadata), CGNAT, multicast, reserved and documentation ranges are
//! refused unless an allowlist (`SWITCHBOARD_ALLOW_NETWORKS`) opens them. The server checks the
//! addresses a host name resolves to at connect time, so a DNS answer cannot slip past.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An allowlist entry: a CIDR range (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`) or a host name
/// (`jira.corp.example`) whose resolved addresses are all accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allow {
    Net { addr: IpAddr, prefix: u8 },
    Host(String),
}

/// The policy: refuse special-purpose addresses except those the allowlist opens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    allow: Vec<Allow>,
}

/// Why a destination was refused, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub address: IpAddr,
    pub range: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "blocked by the network policy: {} is a {} address (allow it with SWITCHBOARD_ALLOW_NETWORKS)",
            self.address, self.range
        )
    }
}

impl std::error::Error for Refusal {}

impl NetworkPolicy {
    /// Parses a comma- or whitespace-separated allowlist of CIDRs, addresses and host names.
    pub fn parse(allowlist: &str) -> Result<NetworkPolicy, String> {
        let mut allow = Vec::new();
        for entry in allowlist
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            allow.push(parse_entry(entry)?);
        }
        Ok(NetworkPolicy { allow })
    }

    /// Whether every address of `host` is accepted because the host name itself is listed.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.allow
            .iter()
            .any(|a| matches!(a, Allow::Host(h) if h.eq_ignore_ascii_case(host)))
    }

    /// Checks one address (an IP-literal host, or one a host name resolved to).
    pub fn check(&self, address: IpAddr) -> Result<(), Refusal> {
        let Some(range) = special_range(address) else {
            return Ok(());
        };
        let embedded = embedded_v4(address).map(IpAddr::V4);
        let listed = |ip: IpAddr| {
            self.allow.iter().any(|a| match a {
                Allow::Net { addr, prefix } => in_net(ip, *addr, *prefix),
                Allow::Host(_) => false,
            })
        };
        if listed(address) || embedded.is_some_and(listed) {
            return Ok(());
        }
        Err(Refusal { address, range })
    }
}

fn parse_entry(entry: &str) -> Result<Allow, String> {
    let bad = || {
        format!(
            "{entry:?} is not a CIDR (10.0.0.0/8), an address (127.0.0.1) or a host name (api.corp.example)"
        )
    };
    if let Some((addr, prefix)) = entry.split_once('/') {
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= max).ok_or_else(bad)?;
        return Ok(Allow::Net { addr, prefix });
    }
    if let Ok(addr) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        return Ok(Allow::Net { addr, prefix });
    }
    let host_ok = entry.len() <= 253
        && entry
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if host_ok && !entry.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        Ok(Allow::Host(entry.to_ascii_lowercase()))
    } else {
        Err(bad())
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The IPv4 address an IPv6 form carries: v4-mapped, v4-compatible, NAT64 (64:ff9b::/96) or 6to4.
fn embedded_v4(address: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = address else {
        return None;
    };
    let bits = u128::from(v6);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if bits >> 32 == 0xffff || bits >> 32 == 0xffff_0000 || (bits >> 32 == 0 && bits > 1) {
        // ::ffff:a.b.c.d, the IPv4-translated ::ffff:0:a.b.c.d and the deprecated ::a.b.c.d
        return Some(low32);
    }
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some(low32); // NAT64 well-known prefix
    }
    if v6.segments()[0] == 0x2002 {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32)); // 6to4
    }
    None
}

/// The special-purpose range an address belongs to, or `None` for a public address.
pub fn special_range(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: [([u8; 4], u8, &str); 17] = [
        ([0, 0, 0, 0], 8, "\"this network\" (unspecified)"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (shared)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "IETF protocol assignment"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved"),
        ([255, 255, 255, 255], 32, "broadcast"),
        ([192, 0, 0, 170], 31, "NAT64 discovery"),
    ];
    // Broadcast sits inside "reserved"; check the narrower ranges first.
    let mut found: Option<(u8, &'static str)> = None;
    for (net, prefix, name) in RANGES {
        if in_net(IpAddr::V4(ip), IpAddr::V4(Ipv4Addr::from(net)), prefix)
            && found.is_none_or(|(p, _)| prefix > p)
        {
            found = Some((prefix, name));
        }
    }
    found.map(|(_, name)| name)
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(IpAddr::V6(ip)) {
        // The IPv6 form is as dangerous as the address inside it.
        if let Some(range) = v4_range(v4) {
            return Some(range);
        }
    }
    const RANGES: [(u128, u8, &str); 10] = [
        (0, 128, "unspecified"),
        (1, 128, "loopback"),
        (0x0064_ff9b_0001 << 80, 48, "local-use NAT64"),
        (0x0100 << 112, 64, "discard-only"),
        (0x2001 << 112, 32, "Teredo"),
        (0x2001_0db8 << 96, 32, "documentation"),
        (0xfc00 << 112, 7, "unique local (private)"),
        (0xfe80 << 112, 10, "link-local"),
        (0xfec0 << 112, 10, "site-local (deprecated)"),
        (0xff00 << 112, 8, "multicast"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_net(IpAddr::V6(ip), IpAddr::V6(Ipv6Addr::from(*net)), *prefix))
        .map(|(_, _, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &NetworkPolicy, ip: &str) -> bool {
        policy.check(ip.parse().unwrap()).is_err()
    }

    #[test]
    fn special_addresses_are_refused_by_default() {
        let policy = NetworkPolicy::default();
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.10",
            "198.51.100.1",
            "203.0.113.9",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "2002:7f00:0001::",
            "2002:a9fe:a9fe::1",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(refused(&policy, ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        let policy = NetworkPolicy::default();
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "192.169.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::",
        ] {
            assert!(!refused(&policy, ip), "{ip} should pass");
        }
    }

    #[test]
    fn the_allowlist_opens_only_what_it_names() {
        let policy = NetworkPolicy::parse("127.0.0.1, 10.0.0.0/8 jira.corp.example").unwrap();
        assert!(!refused(&policy, "127.0.0.1"));
        assert!(!refused(&policy, "::ffff:127.0.0.1"));
        assert!(refused(&policy, "127.0.0.2"));
        assert!(!refused(&policy, "10.200.3.4"));
        assert!(refused(&policy, "192.168.0.1"));
        assert!(refused(&policy, "169.254.169.254"));
        assert!(policy.allows_host("Jira.Corp.Example."));
        assert!(!policy.allows_host("corp.example"));
    }

    #[test]
    fn refusals_name_the_range_and_the_fix() {
        let err = NetworkPolicy::default()
            .check("169.254.169.254".parse().unwrap())
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("blocked by the network policy"), "{text}");
        assert!(text.contains("link-local"), "{text}");
        assert!(text.contains("SWITCHBOARD_ALLOW_NETWORKS"), "{text}");
        assert_eq!(
            NetworkPolicy::default()
                .check("255.255.255.255".parse().unwrap())
                .unwrap_err()
                .range,
            "broadcast"
        );
    }

    #[test]
    fn bad_allowlist_entries_are_reported() {
        for bad in ["10.0.0.0/33", "not a host!", "1.2.3", "::1/129"] {
            assert!(NetworkPolicy::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(NetworkPolicy::parse("").unwrap(), NetworkPolicy::default());
    }
}
