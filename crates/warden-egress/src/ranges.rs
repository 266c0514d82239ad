//! The deny table: every special-purpose address range an outbound call
//! must never reach, for IPv4 and IPv6.
//!
//! IPv6 is allowed only inside global unicast (`2000::/3`), minus the
//! special blocks listed below; everything else (loopback, ULA, link-local,
//! multicast, and every form that embeds an IPv4 address — mapped,
//! compatible, NAT64, 6to4, Teredo) is denied whole. A public service is
//! reachable at its plain address; the embedding forms are only useful for
//! smuggling a private IPv4 address past a filter that checks the v6 form.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// IANA special-purpose IPv4 blocks (RFC 6890 and successors) plus the
/// private, shared (CGNAT) and multicast space.
const DENY_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this-network 0.0.0.0/8"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private 10.0.0.0/8"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared CGNAT 100.64.0.0/10",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback 127.0.0.0/8"),
    (
        Ipv4Addr::new(169, 254, 0, 0),
        16,
        "link-local 169.254.0.0/16",
    ),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private 172.16.0.0/12"),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "IETF protocol assignments 192.0.0.0/24",
    ),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        "documentation 192.0.2.0/24",
    ),
    (Ipv4Addr::new(192, 31, 196, 0), 24, "AS112 192.31.196.0/24"),
    (Ipv4Addr::new(192, 52, 193, 0), 24, "AMT 192.52.193.0/24"),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "6to4 relay anycast 192.88.99.0/24",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private 192.168.0.0/16"),
    (Ipv4Addr::new(192, 175, 48, 0), 24, "AS112 192.175.48.0/24"),
    (
        Ipv4Addr::new(198, 18, 0, 0),
        15,
        "benchmarking 198.18.0.0/15",
    ),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation 198.51.100.0/24",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation 203.0.113.0/24",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast 224.0.0.0/4"),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "reserved 240.0.0.0/4 (and broadcast)",
    ),
];

/// Special blocks inside `2000::/3`, and the named blocks outside it (named
/// for a clearer refusal; anything else outside `2000::/3` is denied too).
const DENY_V6: &[(Ipv6Addr, u8, &str)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, "unspecified ::/128"),
    (Ipv6Addr::LOCALHOST, 128, "loopback ::1/128"),
    (
        v6([0, 0, 0, 0, 0, 0xffff, 0, 0]),
        96,
        "IPv4-mapped ::ffff:0:0/96",
    ),
    (
        v6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        96,
        "IPv4-translated ::ffff:0:0:0/96",
    ),
    (Ipv6Addr::UNSPECIFIED, 96, "IPv4-compatible ::/96"),
    (
        v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]),
        96,
        "NAT64 64:ff9b::/96",
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        "local NAT64 64:ff9b:1::/48",
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        64,
        "discard-only 100::/64",
    ),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, "Teredo 2001::/32"),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        "IETF protocol assignments 2001::/23",
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        "documentation 2001:db8::/32",
    ),
    (v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16, "6to4 2002::/16"),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        "documentation 3fff::/20",
    ),
    (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]), 16, "SRv6 SIDs 5f00::/16"),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        "unique-local fc00::/7",
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        "link-local fe80::/10",
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        "site-local fec0::/10",
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "multicast ff00::/8"),
];

/// Cloud metadata endpoints. Denied even when an operator's `allow_cidrs`
/// covers their range: only `insecure_local_egress` lifts this.
const METADATA: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)), // AWS, GCP, Azure, OpenStack
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),   // AWS ECS task metadata
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 253)), // AWS VPC DNS
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)), // Alibaba Cloud
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),     // Oracle Cloud
    // Azure WireServer: a public address that answers only inside Azure,
    // with the host's agent and extension channel behind it.
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    IpAddr::V6(v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254])), // AWS IMDS over IPv6
];

const fn v6(s: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// Why an address may not be reached: the name of its range.
pub fn denied_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => DENY_V4
            .iter()
            .find(|(net, len, _)| in_v4(a, *net, *len))
            .map(|(_, _, name)| *name),
        IpAddr::V6(a) => DENY_V6
            .iter()
            .find(|(net, len, _)| in_v6(a, *net, *len))
            .map(|(_, _, name)| *name)
            .or_else(|| {
                (!in_v6(a, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3))
                    .then_some("outside global unicast 2000::/3")
            }),
    }
}

/// Whether `ip` is a cloud metadata endpoint.
pub fn is_metadata(ip: IpAddr) -> bool {
    METADATA.contains(&ip)
}

/// The part of the deny table no host is trusted with, not even one an
/// operator configured as an upstream (`Rules::trusting`): everything in
/// the table but the blocks below, so this-network and unspecified,
/// multicast, reserved and broadcast, documentation, the IETF and anycast
/// assignments, unassigned IPv6, and every IPv6 form that embeds an IPv4
/// address (mapped, compatible, translated, NAT64, 6to4, Teredo), which
/// only serves to smuggle an address past a filter. Metadata addresses are
/// judged apart ([`is_metadata`]).
pub fn never_legitimate(ip: IpAddr) -> Option<&'static str> {
    let range = denied_range(ip)?;
    let trustable = match ip {
        IpAddr::V4(a) => TRUSTABLE_V4.iter().any(|(n, l)| in_v4(a, *n, *l)),
        IpAddr::V6(a) => TRUSTABLE_V6.iter().any(|(n, l)| in_v6(a, *n, *l)),
    };
    (!trustable).then_some(range)
}

/// Denied blocks where an operator's own agents commonly live: private,
/// shared (CGNAT), loopback, link-local, and benchmarking (lab networks).
const TRUSTABLE_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
];

/// The same for IPv6: loopback, unique-local, link-local, site-local.
const TRUSTABLE_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::LOCALHOST, 128),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10),
];

fn in_v4(a: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(a) & mask == u32::from(net) & mask
}

fn in_v6(a: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(a) & mask == u128::from(net) & mask
}

/// An address block written `addr/len`, for operator exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    len: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => in_v4(a, n, self.len),
            (IpAddr::V6(n), IpAddr::V6(a)) => in_v6(a, n, self.len),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address block (want addr/len, e.g. 10.1.2.0/24)")]
pub struct CidrError(String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CidrError(s.to_string());
        let (addr, len) = s.split_once('/').ok_or_else(bad)?;
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let len: u8 = len.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(bad());
        }
        Ok(Self { net, len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.len)
    }
}

#[cfg(test)]
mod tests;
