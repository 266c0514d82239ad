use super::*;

fn class(ip: &str) -> Option<Class> {
    classify_ip(ip.parse().expect("test address")).map(|d| d.class)
}

#[test]
fn egress_blocks_are_all_classed() {
    // One address inside each block of the egress deny table.
    for ip in [
        "0.1.2.3",
        "10.9.8.7",
        "100.64.0.1",
        "127.0.0.1",
        "169.254.1.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.31.196.1",
        "192.52.193.1",
        "192.88.99.1",
        "192.168.1.1",
        "192.175.48.1",
        "198.18.0.1",
        "198.19.255.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:10.0.0.1",
        "::ffff:0:10.0.0.1",
        "::10.0.0.1",
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::1",
        "100::1",
        "2001::1",
        "2001:10::1",
        "2002:0a00:0001::",
        "5f00::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "4000::1",
    ] {
        assert_eq!(class(ip), Some(Class::Internal), "{ip}");
    }
    for ip in [
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "2001:db8::1",
        "3fff::1",
    ] {
        assert_eq!(class(ip), Some(Class::Documentation), "{ip}");
    }
    for ip in [
        "8.8.8.8",
        "1.1.1.1",
        "100.128.0.1",
        "172.32.0.1",
        "2606:4700::1111",
    ] {
        assert_eq!(class(ip), None, "{ip}");
    }
}

#[test]
fn metadata_in_every_spelling() {
    for ip in [
        "169.254.169.254",
        "169.254.170.2",
        "100.100.100.200",
        "192.0.0.192",
        "168.63.129.16",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "::ffff:0:169.254.169.254",
        "::169.254.169.254",
        "64:ff9b::169.254.169.254",
        "2002:a9fe:a9fe::1",
        // Teredo: client 169.254.169.254 stored inverted.
        "2001:0:4136:e378:8000:63bf:5601:5601",
    ] {
        assert_eq!(class(ip), Some(Class::Metadata), "{ip}");
    }
}

#[test]
fn names() {
    let class = |n: &str| classify_name(n).map(|d| d.class);
    for n in [
        "metadata.google.internal",
        "metadata.goog",
        "169.254.169.254.nip.io",
        "a9fea9fe.nip.io",
        "x-169-254-169-254.sslip.io",
    ] {
        assert_eq!(class(n), Some(Class::Metadata), "{n}");
    }
    for n in [
        "localhost",
        "api.localhost",
        "printer.local",
        "wiki.corp.internal",
        "nas.home.arpa",
        "127.0.0.1.nip.io",
        "lvh.me",
        "app.localtest.me",
        "10-0-0-1.sslip.io",
    ] {
        assert_eq!(class(n), Some(Class::Internal), "{n}");
    }
    for n in [
        "example.com",
        "localhost.example.com",
        "internal.example.com",
        "8.8.8.8.nip.io",
        "nip.io",
        "mylocal",
        "locale.fr",
    ] {
        assert_eq!(class(n), None, "{n}");
    }
}
