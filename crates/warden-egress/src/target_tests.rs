use super::*;

fn host(raw: &str) -> Host {
    parse(raw).expect(raw).host
}

#[test]
fn odd_ipv4_spellings_become_the_address_they_mean() {
    for raw in [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0x7f000001/",
        "http://127.0.0.1./",
        "http://017700000001/",
    ] {
        assert_eq!(
            host(raw),
            Host::Ip("127.0.0.1".parse().expect("ip")),
            "{raw}"
        );
    }
}

#[test]
fn names_are_lowercased_punycoded_and_lose_a_trailing_dot() {
    assert_eq!(
        host("https://Example.COM./x"),
        Host::Name("example.com".into())
    );
    assert_eq!(
        parse("https://example.com./x").expect("url").url.as_str(),
        "https://example.com/x"
    );
    assert_eq!(
        host("https://bücher.example/"),
        Host::Name("xn--bcher-kva.example".into())
    );
    assert_eq!(
        host("https://[::1]:8443/"),
        Host::Ip("::1".parse().expect("ip"))
    );
}

#[test]
fn ambiguous_text_is_refused_before_parsing() {
    for raw in [
        "https://user:pw@example.com/",
        "https://user@example.com/",
        "https://example.com@127.0.0.1/",
        "https://%31%32%37.0.0.1/",
        "https://exa%6dple.com/",
        "https://exa\tmple.com/",
        "https://example.com\\@127.0.0.1/",
        " https://example.com/",
        "https://example.com/\n",
        "https://a..b/",
        "https://example.123/",
        "https://exa_mple.com@evil/",
    ] {
        assert!(parse(raw).is_err(), "{raw:?} should be refused");
    }
}

#[test]
fn other_schemes_are_refused() {
    for raw in [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "ftp://example.com/",
        "ws://example.com/",
        "data:text/plain,hi",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/",
    ] {
        assert!(
            matches!(
                parse(raw),
                Err(EgressError::Scheme(_) | EgressError::BadUrl(_))
            ),
            "{raw}"
        );
    }
}

#[test]
fn ports_default_by_scheme_and_fragments_are_dropped() {
    let t = parse("https://example.com/a#frag").expect("url");
    assert_eq!(t.port, 443);
    assert_eq!(t.url.fragment(), None);
    assert_eq!(parse("http://example.com/").expect("url").port, 80);
    assert_eq!(parse("https://example.com:8443/").expect("url").port, 8443);
    assert!(parse("https://example.com:0/").is_err());
    assert!(parse("https://example.com:65536/").is_err());
}

#[test]
fn oversize_urls_are_refused() {
    let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
    assert!(matches!(parse(&long), Err(EgressError::BadUrl(_))));
}
