use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn special_purpose_v4_is_denied() {
    for a in [
        "0.0.0.0",
        "10.1.2.3",
        "100.64.0.1",
        "100.127.255.255",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.192",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
    ] {
        assert!(denied_range(ip(a)).is_some(), "{a} should be denied");
    }
}

#[test]
fn public_v4_is_allowed_including_range_edges() {
    for a in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
    ] {
        assert_eq!(denied_range(ip(a)), None, "{a} should be allowed");
    }
}

#[test]
fn special_purpose_v6_and_embedded_v4_forms_are_denied() {
    for a in [
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
        "::127.0.0.1",
        "::ffff:0:7f00:1",
        "64:ff9b::7f00:1",
        "64:ff9b:1::1",
        "100::1",
        "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:db8::1",
        "2002:7f00:1::1",
        "3fff::1",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "1::1",
        "4000::1",
    ] {
        assert!(denied_range(ip(a)).is_some(), "{a} should be denied");
    }
}

#[test]
fn global_unicast_v6_is_allowed() {
    for a in [
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "2001:4860:4860::8888",
    ] {
        assert_eq!(denied_range(ip(a)), None, "{a} should be allowed");
    }
}

#[test]
fn the_most_specific_name_is_reported() {
    assert_eq!(denied_range(ip("2001::1")), Some("Teredo 2001::/32"));
    assert_eq!(
        denied_range(ip("::ffff:10.0.0.1")),
        Some("IPv4-mapped ::ffff:0:0/96")
    );
}

#[test]
fn metadata_endpoints_are_known() {
    assert!(is_metadata(ip("169.254.169.254")));
    assert!(is_metadata(ip("fd00:ec2::254")));
    assert!(is_metadata(ip("168.63.129.16")), "Azure WireServer");
    assert!(!is_metadata(ip("169.254.1.1")));
}

#[test]
fn cidr_parses_and_matches() {
    let c: Cidr = "10.1.2.0/24".parse().expect("cidr");
    assert!(c.contains(ip("10.1.2.200")));
    assert!(!c.contains(ip("10.1.3.1")));
    assert!(!c.contains(ip("::1")));
    let all: Cidr = "0.0.0.0/0".parse().expect("cidr");
    assert!(all.contains(ip("127.0.0.1")));
    let one: Cidr = "fd00::5/128".parse().expect("cidr");
    assert!(one.contains(ip("fd00::5")));
    for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "::/129", "10.0.0.0/-1"] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad}");
    }
    assert_eq!(c.to_string(), "10.1.2.0/24");
}

#[test]
fn never_legitimate_is_the_table_minus_where_own_agents_live() {
    for a in [
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "192.0.0.192",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::10.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
        "2001::1",
        "2001:db8::1",
        "ff02::1",
        "4000::1",
    ] {
        assert!(never_legitimate(ip(a)).is_some(), "{a}");
    }
    for a in [
        "10.0.0.5",
        "127.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.1.1",
        "198.18.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "8.8.8.8",
        "2606:4700::1111",
    ] {
        assert_eq!(never_legitimate(ip(a)), None, "{a}");
    }
}
