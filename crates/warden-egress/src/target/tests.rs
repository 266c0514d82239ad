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

#[test]
fn a_base_url_refuses_a_fragment_or_a_query() {
    for raw in [
        "http://127.0.0.1:9000#@example.com/",
        "http://127.0.0.1:9000/#",
        "http://127.0.0.1:9000/?x#",
        "http://127.0.0.1:9000/agents/a?key=1",
        "http://127.0.0.1:9000/?",
    ] {
        assert!(
            matches!(parse_base(raw), Err(EgressError::BadUrl(_))),
            "{raw}"
        );
    }
    let t = parse_base("http://127.0.0.1:9000/agents/a/").expect("base");
    assert_eq!(t.url.as_str(), "http://127.0.0.1:9000/agents/a/");
}

#[test]
fn join_path_appends_to_the_parsed_path() {
    let card = "/.well-known/agent-card.json";
    for (base, want) in [
        (
            "http://127.0.0.1:9000",
            "http://127.0.0.1:9000/.well-known/agent-card.json",
        ),
        (
            "http://127.0.0.1:9000/",
            "http://127.0.0.1:9000/.well-known/agent-card.json",
        ),
        (
            "https://gw.example/agents/echo/",
            "https://gw.example/agents/echo/.well-known/agent-card.json",
        ),
        // Percent-encoding in the base is kept, neither decoded nor doubled.
        (
            "http://127.0.0.1:9000/agents%2Fecho",
            "http://127.0.0.1:9000/agents%2Fecho/.well-known/agent-card.json",
        ),
        // Dot segments in the base are resolved first, as `url` reads them.
        (
            "http://127.0.0.1:9000/agents/../x",
            "http://127.0.0.1:9000/x/.well-known/agent-card.json",
        ),
        (
            "HTTP://Gw.Example./a",
            "http://gw.example/a/.well-known/agent-card.json",
        ),
    ] {
        assert_eq!(join_path(base, card).as_deref(), Ok(want), "{base}");
    }
    assert_eq!(
        join_path("http://h.example/a2a/rest", "/tasks/t%2F1:cancel").as_deref(),
        Ok("http://h.example/a2a/rest/tasks/t%2F1:cancel")
    );
    assert_eq!(
        join_path("http://h.example/a2a/", "").as_deref(),
        Ok("http://h.example/a2a/")
    );
    assert_eq!(
        join_path("http://h.example", "").as_deref(),
        Ok("http://h.example/")
    );
}

#[test]
fn join_path_refuses_a_base_or_path_that_would_go_elsewhere() {
    for base in [
        "http://127.0.0.1:9000#@example.com/",
        "http://127.0.0.1:9000/?x#",
        "http://u@127.0.0.1:9000/",
        "http://%31%32%37.0.0.1:9000/",
        "file:///etc/passwd",
    ] {
        assert!(join_path(base, "/x").is_err(), "{base}");
    }
    for path in [
        "x",
        "/a?b",
        "/a#b",
        "/a\\b",
        "/a b",
        "/..",
        "/a/../../b",
        "/%2e%2e/b",
        "/%2E./b",
        "/./b",
    ] {
        assert!(join_path("http://h.example/base", path).is_err(), "{path}");
    }
}

#[test]
fn join_segments_encodes_each_segment_whole() {
    assert_eq!(
        join_segments("http://h.example/rest/", &["t/../x?#%", "message:send"]).as_deref(),
        Ok("http://h.example/rest/t%2F..%2Fx%3F%23%25/message:send")
    );
    assert_eq!(
        join_segments("http://h.example", &["message:send"]).as_deref(),
        Ok("http://h.example/message:send")
    );
    for seg in ["", ".", ".."] {
        assert!(
            join_segments("http://h.example/", &[seg]).is_err(),
            "{seg:?}"
        );
    }
    assert!(join_segments("http://h.example/#x", &["a"]).is_err());
}

/// `join_on` is `join_path` and then `parse` of the whole text, query and
/// all: the same URL, host and port, and the same refusal, without the
/// base read twice.
#[test]
fn join_on_reads_what_join_path_and_parse_read() {
    let bases = [
        "http://127.0.0.1:9000",
        "http://127.0.0.1:9000/",
        "http://h.example/a2a/rest/",
        "https://Bücher.Example.:8443/v1",
        "http://[::1]:80/x",
    ];
    let paths = [
        "",
        "/message:send",
        "/tasks/t%2F1:cancel",
        "//other.example/x",
        "/a/../b",
        "/a/%2E%2e/b",
        "/x?y",
        "/x#y",
        "x",
        "/sp ace",
        "/é",
    ];
    let long = format!("a={}", "b".repeat(MAX_URL_LEN));
    let queries = [
        None,
        Some(""),
        Some("a=1&b=two"),
        Some("a=%20b"),
        Some("q=x#frag"),
        Some("q=#"),
        Some("a b"),
        Some("a\tb"),
        Some("a\\b"),
        Some("a=é&'<>\"`{}|^"),
        Some("?x"),
        Some(long.as_str()),
    ];
    for base in bases {
        let parsed = parse_base(base).expect(base);
        for path in paths {
            for query in queries {
                let got = join_on(&parsed, path, query);
                let want = join_path(base, path).map(|text| match query {
                    Some(q) => parse(&format!("{text}?{q}")),
                    None => parse(&text),
                });
                assert_eq!(got, want, "{base} + {path:?} + {query:?}");
            }
        }
    }
}
