//! Where a link must not send its follower: the address classes of the
//! egress deny table (`warden-egress/src/ranges.rs` and the local names of
//! its `policy.rs`), mirrored here because this crate stays pure (the
//! egress crate pulls an HTTP client in). A unit test pins the classes to
//! the same blocks; keep the two tables in step.
//!
//! Classes, worst first:
//!
//! - **metadata**: cloud instance-metadata endpoints (169.254.169.254 and
//!   friends, `fd00:ec2::254`, `metadata.google.internal`, Alibaba's
//!   100.100.100.200, Oracle's 192.0.0.192, Azure's WireServer
//!   168.63.129.16), also when embedded in an IPv6 form (mapped, NAT64,
//!   6to4, Teredo) or in a wildcard-DNS name (`169.254.169.254.nip.io`);
//! - **internal**: loopback, private (RFC 1918, ULA `fc00::/7`), link-local,
//!   shared CGNAT `100.64/10`, unspecified, multicast, reserved and
//!   broadcast, the other special-purpose blocks, every IPv6 form that
//!   embeds an IPv4 address, local-only names (`localhost`, `*.localhost`,
//!   `*.local`, `*.internal`, `*.home.arpa`) and wildcard-DNS names that
//!   point at an internal address (`127.0.0.1.nip.io`, `lvh.me`);
//! - **documentation**: 192.0.2/24, 198.51.100/24, 203.0.113/24,
//!   `2001:db8::/32`, `3fff::/20`: they reach nothing, and example cards use
//!   them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    Documentation,
    Internal,
    Metadata,
}

/// What an address or name is, with the name of its block for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Danger {
    pub(crate) class: Class,
    pub(crate) what: &'static str,
}

const fn danger(class: Class, what: &'static str) -> Danger {
    Danger { class, what }
}

/// Cloud metadata endpoints (the egress `METADATA` list, plus Azure's
/// WireServer, which answers on a public address inside every VM).
const METADATA: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)), // AWS, GCP, Azure, OpenStack
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),   // AWS ECS task metadata
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 253)), // AWS VPC DNS
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)), // Alibaba Cloud
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),     // Oracle Cloud
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),   // Azure WireServer
    IpAddr::V6(v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254])), // AWS IMDS over IPv6
];

const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
];

/// IPv4 blocks, as in the egress deny table; the class says how a card
/// link there is judged.
const V4: &[(Ipv4Addr, u8, Class, &str)] = &[
    (
        Ipv4Addr::new(0, 0, 0, 0),
        8,
        Class::Internal,
        "this-network 0.0.0.0/8",
    ),
    (
        Ipv4Addr::new(10, 0, 0, 0),
        8,
        Class::Internal,
        "private 10.0.0.0/8",
    ),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        Class::Internal,
        "shared CGNAT 100.64.0.0/10",
    ),
    (
        Ipv4Addr::new(127, 0, 0, 0),
        8,
        Class::Internal,
        "loopback 127.0.0.0/8",
    ),
    (
        Ipv4Addr::new(169, 254, 0, 0),
        16,
        Class::Internal,
        "link-local 169.254.0.0/16",
    ),
    (
        Ipv4Addr::new(172, 16, 0, 0),
        12,
        Class::Internal,
        "private 172.16.0.0/12",
    ),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        Class::Internal,
        "IETF protocol assignments 192.0.0.0/24",
    ),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        Class::Documentation,
        "documentation 192.0.2.0/24",
    ),
    (
        Ipv4Addr::new(192, 31, 196, 0),
        24,
        Class::Internal,
        "AS112 192.31.196.0/24",
    ),
    (
        Ipv4Addr::new(192, 52, 193, 0),
        24,
        Class::Internal,
        "AMT 192.52.193.0/24",
    ),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        Class::Internal,
        "6to4 relay anycast 192.88.99.0/24",
    ),
    (
        Ipv4Addr::new(192, 168, 0, 0),
        16,
        Class::Internal,
        "private 192.168.0.0/16",
    ),
    (
        Ipv4Addr::new(192, 175, 48, 0),
        24,
        Class::Internal,
        "AS112 192.175.48.0/24",
    ),
    (
        Ipv4Addr::new(198, 18, 0, 0),
        15,
        Class::Internal,
        "benchmarking 198.18.0.0/15",
    ),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        Class::Documentation,
        "documentation 198.51.100.0/24",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        Class::Documentation,
        "documentation 203.0.113.0/24",
    ),
    (
        Ipv4Addr::new(224, 0, 0, 0),
        4,
        Class::Internal,
        "multicast 224.0.0.0/4",
    ),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        Class::Internal,
        "reserved 240.0.0.0/4 (and broadcast)",
    ),
];

/// IPv6 blocks. Anything outside global unicast `2000::/3` is internal too.
/// The forms that embed an IPv4 address are judged by that address first.
const V6: &[(Ipv6Addr, u8, Class, &str)] = &[
    (
        Ipv6Addr::UNSPECIFIED,
        128,
        Class::Internal,
        "unspecified ::/128",
    ),
    (
        Ipv6Addr::LOCALHOST,
        128,
        Class::Internal,
        "loopback ::1/128",
    ),
    (
        v6([0, 0, 0, 0, 0, 0xffff, 0, 0]),
        96,
        Class::Internal,
        "IPv4-mapped ::ffff:0:0/96",
    ),
    (
        v6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        96,
        Class::Internal,
        "IPv4-translated ::ffff:0:0:0/96",
    ),
    (
        Ipv6Addr::UNSPECIFIED,
        96,
        Class::Internal,
        "IPv4-compatible ::/96",
    ),
    (
        v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]),
        96,
        Class::Internal,
        "NAT64 64:ff9b::/96",
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        Class::Internal,
        "local NAT64 64:ff9b:1::/48",
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        64,
        Class::Internal,
        "discard-only 100::/64",
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        32,
        Class::Internal,
        "Teredo 2001::/32",
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        Class::Documentation,
        "documentation 2001:db8::/32",
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        Class::Internal,
        "IETF protocol assignments 2001::/23",
    ),
    (
        v6([0x2002, 0, 0, 0, 0, 0, 0, 0]),
        16,
        Class::Internal,
        "6to4 2002::/16",
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        Class::Documentation,
        "documentation 3fff::/20",
    ),
    (
        v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]),
        16,
        Class::Internal,
        "SRv6 SIDs 5f00::/16",
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        Class::Internal,
        "unique-local fc00::/7",
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        Class::Internal,
        "link-local fe80::/10",
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        Class::Internal,
        "site-local fec0::/10",
    ),
    (
        v6([0xff00, 0, 0, 0, 0, 0, 0, 0]),
        8,
        Class::Internal,
        "multicast ff00::/8",
    ),
];

/// Public wildcard-DNS services: `<ip>.nip.io` resolves to `<ip>`, so the
/// name is the address. The fixed ones always answer 127.0.0.1.
const WILDCARD_DNS: &[&str] = &["nip.io", "sslip.io", "xip.io", "traefik.me", "backname.io"];
const LOOPBACK_NAMES: &[&str] = &[
    "localtest.me",
    "lvh.me",
    "vcap.me",
    "lacolhost.com",
    "localho.st",
];

/// Ports of admin and data services that should never be an agent's
/// interface (container and cluster APIs, databases, caches, secret stores,
/// proxy admin): an internal address with one of these is not a
/// development card, it is a request aimed at the follower's own network.
pub(crate) const ADMIN_PORTS: &[(u16, &str)] = &[
    (2375, "Docker API"),
    (2376, "Docker API"),
    (2379, "etcd"),
    (2019, "Caddy admin"),
    (4646, "Nomad"),
    (5984, "CouchDB"),
    (6379, "Redis"),
    (6443, "Kubernetes API"),
    (8001, "kubectl proxy"),
    (8200, "Vault"),
    (8500, "Consul"),
    (9200, "Elasticsearch"),
    (9901, "Envoy admin"),
    (10250, "kubelet"),
    (10255, "kubelet"),
    (11211, "memcached"),
    (15000, "Envoy admin"),
    (15672, "RabbitMQ management"),
    (27017, "MongoDB"),
];

const fn v6(s: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// The class of an address, or `None` for a public one.
pub(crate) fn classify_ip(ip: IpAddr) -> Option<Danger> {
    if METADATA.contains(&ip) {
        return Some(danger(Class::Metadata, "cloud metadata endpoint"));
    }
    match ip {
        IpAddr::V4(a) => V4
            .iter()
            .find(|(net, len, _, _)| in_v4(a, *net, *len))
            .map(|&(_, _, class, what)| danger(class, what)),
        IpAddr::V6(a) => {
            if let Some(inner) = embedded_v4(a)
                && let Some(d) = classify_ip(IpAddr::V4(inner))
                && d.class == Class::Metadata
            {
                return Some(danger(
                    Class::Metadata,
                    "cloud metadata endpoint embedded in IPv6",
                ));
            }
            V6.iter()
                .find(|(net, len, _, _)| in_v6(a, *net, *len))
                .map(|&(_, _, class, what)| danger(class, what))
                .or_else(|| {
                    (!in_v6(a, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3))
                        .then_some(danger(Class::Internal, "outside global unicast 2000::/3"))
                })
        }
    }
}

/// The IPv4 address an IPv6 form carries: mapped, translated, compatible,
/// NAT64, 6to4 (bits 16–48), Teredo (the client, bits 96–128 inverted).
pub(crate) fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(a);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let s = a.segments();
    if in_v6(a, v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96)
        || in_v6(a, v6([0, 0, 0, 0, 0xffff, 0, 0, 0]), 96)
        || in_v6(a, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96)
        || (in_v6(a, Ipv6Addr::UNSPECIFIED, 96) && u32::from(low) > 1)
    {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some(Ipv4Addr::from(!((bits & 0xffff_ffff) as u32)));
    }
    None
}

/// The class of a DNS name (ASCII, lower case, no trailing dot).
pub(crate) fn classify_name(name: &str) -> Option<Danger> {
    if METADATA_NAMES.contains(&name) {
        return Some(danger(Class::Metadata, "cloud metadata name"));
    }
    if LOOPBACK_NAMES
        .iter()
        .any(|n| name == *n || name.ends_with(&format!(".{n}")))
    {
        return Some(danger(
            Class::Internal,
            "a public name that resolves to loopback",
        ));
    }
    if let Some(ip) = wildcard_dns_address(name) {
        return classify_ip(IpAddr::V4(ip)).map(|d| match d.class {
            Class::Metadata => danger(
                Class::Metadata,
                "wildcard-DNS name for a cloud metadata endpoint",
            ),
            _ => danger(Class::Internal, "wildcard-DNS name for an internal address"),
        });
    }
    let local = name == "localhost"
        || name.ends_with(".localhost")
        || name == "local"
        || name.ends_with(".local")
        || name == "internal"
        || name.ends_with(".internal")
        || name == "home.arpa"
        || name.ends_with(".home.arpa")
        || name == "localdomain"
        || name.ends_with(".localdomain");
    local.then_some(danger(Class::Internal, "a local-only name"))
}

/// The address a wildcard-DNS name stands for: `10.0.0.1.nip.io`,
/// `app-10-0-0-1.sslip.io`, `0a000001.nip.io`.
fn wildcard_dns_address(name: &str) -> Option<Ipv4Addr> {
    let suffix = WILDCARD_DNS
        .iter()
        .find(|s| name.ends_with(&format!(".{s}")))?;
    let head = &name[..name.len() - suffix.len() - 1];
    let labels: Vec<&str> = head.split('.').collect();
    if labels.len() >= 4 {
        let quad = labels[labels.len() - 4..].join(".");
        if let Ok(ip) = quad.parse() {
            return Some(ip);
        }
    }
    let last = labels.last()?;
    let parts: Vec<&str> = last.split('-').collect();
    if parts.len() >= 4
        && let Ok(ip) = parts[parts.len() - 4..].join(".").parse()
    {
        return Some(ip);
    }
    let hex = parts.last()?;
    (hex.len() == 8)
        .then(|| u32::from_str_radix(hex, 16).ok())
        .flatten()
        .map(Ipv4Addr::from)
}

/// The admin service usually on `port`.
pub(crate) fn admin_port(port: u16) -> Option<&'static str> {
    ADMIN_PORTS
        .iter()
        .find(|(p, _)| *p == port)
        .map(|&(_, what)| what)
}

fn in_v4(a: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(a) & mask == u32::from(net) & mask
}

fn in_v6(a: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(a) & mask == u128::from(net) & mask
}

#[cfg(test)]
mod tests;
