use std::path::Path;

use super::*;

fn parse(s: &str) -> Result<Config, ConfigError> {
    Config::parse(s, Path::new("warden.toml"))
}

#[test]
fn defaults_are_loopback_and_safe() {
    let c = parse("").expect("empty config is valid");
    assert!(c.gateway.listen.ip().is_loopback());
    assert!(c.admin.listen.ip().is_loopback());
    assert!(c.gateway.trusted_proxies.is_empty());
    assert_eq!(c.public_url(), "http://127.0.0.1:8080");
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let err = parse("[gateway]\nlisten = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n")
        .expect_err("unknown key");
    let text = err.to_string();
    assert!(text.contains("listen_addr"), "{text}");
    assert!(text.contains("line 3"), "{text}");
}

#[test]
fn agents_are_checked() {
    assert!(parse("[[agents]]\nname = \"a b\"\nurl = \"http://x\"\n").is_err());
    assert!(parse("[[agents]]\nname = \"a\"\nurl = \"ftp://x\"\n").is_err());
    assert!(parse("[[agents]]\nname = \"a\"\nurl = \"http://u:p@x\"\n").is_err());
    let dup = "[[agents]]\nname = \"a\"\nurl = \"http://x\"\n[[agents]]\nname = \"a\"\nurl = \"http://y\"\n";
    assert!(parse(dup).expect_err("dup").to_string().contains("twice"));
    let ok = parse("[[agents]]\nname = \"echo\"\nurl = \"http://127.0.0.1:9\"\n").expect("ok");
    assert_eq!(ok.agents[0].name, "echo");
}

#[test]
fn card_keys_are_checked() {
    let agent = "[[agents]]\nname = \"a\"\nurl = \"http://x\"\n";
    let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    let ok = parse(&format!(
        "{agent}card_jwks = '{jwks}'\ncard_jku_hosts = [\"keys.example\"]\n"
    ))
    .expect("inline keys");
    assert_eq!(ok.agents[0].card_keys().expect("keys").len(), 1);
    assert!(
        !ok.agents[0].insecure_unsigned_card,
        "signatures are required by default"
    );
    let both = format!("{agent}card_jwks = '{jwks}'\ncard_jwks_file = \"k.json\"\n");
    assert!(
        parse(&both)
            .expect_err("both")
            .to_string()
            .contains("not both")
    );
    assert!(parse(&format!("{agent}card_jwks = 'nope'\n")).is_err());
    assert!(
        parse(&format!(
            "{agent}card_jwks_file = \"/nonexistent/k.json\"\n"
        ))
        .is_err()
    );
    let private = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#;
    assert!(parse(&format!("{agent}card_jwks = '{private}'\n")).is_err());
    assert!(parse(&format!("{agent}card_jku_hosts = [\"a/b\"]\n")).is_err());
}

/// `[[agents]]` URLs are judged as the gateway will reach them: the
/// configured host trusted (loopback, private), but never metadata,
/// never-legitimate addresses or ambiguous spellings.
#[test]
fn agent_urls_get_the_upstream_egress_rules() {
    let agent = |url: &str| format!("[[agents]]\nname = \"a\"\nurl = \"{url}\"\n");
    let refused = [
        ("http://169.254.169.254/", "denied_address"),
        ("http://2852039166/", "denied_address"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "denied_address"),
        ("http://0251.0376.0251.0376/", "denied_address"),
        ("http://169.254.43518/", "denied_address"),
        ("http://[::ffff:169.254.169.254]/", "denied_address"),
        ("http://[::ffff:127.0.0.1]:9000/", "denied_address"),
        ("http://metadata.google.internal/", "bad_host"),
        ("http://224.0.0.1:9000/", "denied_address"),
        ("http://0.0.0.0:9000/", "denied_address"),
        ("http://[::]:9000/", "denied_address"),
        ("http://255.255.255.255:9000/", "denied_address"),
        ("http://%31%32%37.0.0.1:9000/", "bad_host"),
        ("http://127.0.0.1:9000/#frag", "bad_url"),
        ("http://127.0.0.1:9000#@example.com/", "bad_url"),
        ("http://127.0.0.1:9000/?x", "bad_url"),
        ("http://u:p@127.0.0.1:9000/", "userinfo"),
        ("ftp://127.0.0.1/", "scheme"),
    ];
    for (url, reason) in refused {
        let err = parse(&agent(url)).expect_err(url).to_string();
        assert!(
            err.contains("agents[0].url") && err.contains(&format!("[{reason}]")),
            "{url}: {err}"
        );
    }
    for url in [
        "http://10.0.0.5:9000",
        "http://127.0.0.1:9000/a2a/",
        "http://[::1]:9000",
        "http://localhost:9000",
        "https://agents.internal",
    ] {
        parse(&agent(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    let endpoints = |rpc: &str, rest: &str| {
        format!(
            "{}jsonrpc_url = \"{rpc}\"\nrest_url = \"{rest}\"\n",
            agent("http://127.0.0.1:9000")
        )
    };
    parse(&endpoints(
        "http://127.0.0.1:9000/rpc?v=1",
        "http://127.0.0.1:9000/rest",
    ))
    .expect("a query on the JSON-RPC endpoint is kept");
    for (rpc, rest, key) in [
        (
            "http://127.0.0.1:9000/rpc#x",
            "http://127.0.0.1:9000/rest",
            "jsonrpc_url",
        ),
        (
            "http://127.0.0.1:9000/rpc",
            "http://127.0.0.1:9000/rest?v=1",
            "rest_url",
        ),
        (
            "http://169.254.169.254/",
            "http://127.0.0.1:9000/rest",
            "jsonrpc_url",
        ),
    ] {
        let err = parse(&endpoints(rpc, rest)).expect_err(key).to_string();
        assert!(err.contains(&format!("agents[0].{key}")), "{err}");
    }
    let err = parse("[gateway]\npublic_url = \"https://gw.example/#x\"\n")
        .expect_err("fragment")
        .to_string();
    assert!(err.contains("gateway.public_url"), "{err}");
}

const TLS: &str = "[gateway.tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";

#[test]
fn tls_defaults_and_https_public_url() {
    let c = parse(TLS).expect("tls config");
    let t = c.gateway.tls.as_ref().expect("tls");
    assert_eq!(t.client_auth, ClientAuth::Off);
    assert_eq!(t.handshake_timeout, std::time::Duration::from_secs(10));
    assert_eq!(t.reload_interval, std::time::Duration::from_secs(5));
    assert!(t.client_ca_files.is_empty());
    assert!(c.admin.tls.is_none());
    assert_eq!(c.public_url(), "https://127.0.0.1:8080");
    assert_eq!(c.admin_scheme(), "http");
    let c = parse(&format!("{TLS}[admin.tls]\ncert_file = \"a.pem\"\nkey_file = \"b.pem\"\nclient_auth = \"required\"\nclient_ca_files = [\"ca.pem\"]\n"))
        .expect("admin tls");
    let a = c.admin.tls.as_ref().expect("admin tls");
    assert_eq!(a.client_auth, ClientAuth::Required);
    assert_eq!(c.admin_scheme(), "https");
}

#[test]
fn tls_is_checked() {
    let err = |extra: &str| {
        parse(&format!("{TLS}{extra}"))
            .expect_err(extra)
            .to_string()
    };
    assert!(err("client_auth = \"required\"\n").contains("needs gateway.tls.client_ca_files"));
    assert!(err("client_auth = \"optional\"\n").contains("client_ca_files"));
    assert!(err("client_ca_files = [\"ca.pem\"]\n").contains("client_auth is \"off\""));
    let e = err("client_auth = \"sometimes\"\n");
    assert!(e.contains("sometimes") && e.contains("line 4"), "{e}");
    assert!(err("handshake_timeout_ms = 0\n").contains("handshake_timeout_ms"));
    assert!(err("reload_interval_ms = 5\n").contains("reload_interval_ms"));
    assert!(err("ciphers = [\"RC4\"]\n").contains("ciphers"));
    let missing = parse("[gateway.tls]\ncert_file = \"c.pem\"\n").expect_err("no key");
    assert!(missing.to_string().contains("key_file"), "{missing}");
    let empty = parse("[admin.tls]\ncert_file = \"\"\nkey_file = \"k\"\n").expect_err("empty");
    assert!(empty.to_string().contains("admin.tls.cert_file"), "{empty}");
    let ok = parse(&format!("{TLS}client_auth = \"optional\"\nclient_ca_files = [\"a.pem\", \"b.pem\"]\nreload_interval_ms = 0\n")).expect("ok");
    assert_eq!(ok.gateway.tls.expect("tls").client_ca_files.len(), 2);
}

/// Every insecure opt-in is spelled `insecure…`; each old spelling still
/// loads, means the same, and is reported with its new spelling.
mod old_spellings {
    use super::*;

    const AGENT: &str = "[[agents]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\n";
    const REMOTE: &str = "[[remote_agents]]\nname = \"r\"\nurl = \"https://r.example.com\"\n";

    /// The configuration from `old` and from `new` (which must not warn),
    /// and the one deprecation `old` gives.
    fn both(old: &str, new: &str) -> (Config, Config, String) {
        let o = parse(old).unwrap_or_else(|e| panic!("{old}: {e}"));
        let n = parse(new).unwrap_or_else(|e| panic!("{new}: {e}"));
        assert!(n.deprecations.is_empty(), "{:?}", n.deprecations);
        assert_eq!(o.deprecations.len(), 1, "{:?}", o.deprecations);
        let warning = o.deprecations[0].clone();
        (o, n, warning)
    }

    #[test]
    fn auth_mode_off_insecure() {
        let (o, n, w) = both(
            "[auth]\nmode = \"off-insecure\"\n",
            "[auth]\nmode = \"insecure-off\"\n",
        );
        assert_eq!(o.auth.mode, AuthMode::InsecureOff);
        assert_eq!(o.auth.mode, n.auth.mode);
        assert!(
            w.contains("\"off-insecure\"") && w.contains("mode = \"insecure-off\""),
            "{w}"
        );
    }

    #[test]
    fn egress_allow_insecure_local() {
        let (o, n, w) = both(
            "[egress]\nallow_insecure_local = true\n",
            "[egress]\ninsecure_local_egress = true\n",
        );
        assert!(o.egress.insecure_local_egress);
        assert_eq!(o.egress, n.egress);
        assert!(
            w.contains("egress.allow_insecure_local") && w.contains("insecure_local_egress = true"),
            "{w}"
        );
    }

    #[test]
    fn agents_allow_unsigned_card() {
        let (o, n, w) = both(
            &format!("{AGENT}allow_unsigned_card = true\n"),
            &format!("{AGENT}insecure_unsigned_card = true\n"),
        );
        assert!(o.agents[0].insecure_unsigned_card);
        assert_eq!(
            o.agents[0].insecure_unsigned_card,
            n.agents[0].insecure_unsigned_card
        );
        assert!(
            w.contains("agents[0].allow_unsigned_card")
                && w.contains("insecure_unsigned_card = true"),
            "{w}"
        );
    }

    #[test]
    fn remote_agents_allow_unsigned() {
        let (o, n, w) = both(
            &format!("{REMOTE}allow_unsigned = true\n"),
            &format!("{REMOTE}insecure_unsigned_card = true\n"),
        );
        assert!(o.remote_agents[0].insecure_unsigned_card);
        assert_eq!(
            o.remote_agents[0].insecure_unsigned_card,
            n.remote_agents[0].insecure_unsigned_card
        );
        assert!(
            w.contains("remote_agents[0].allow_unsigned")
                && w.contains("insecure_unsigned_card = true"),
            "{w}"
        );
        // Without either, the unsigned card is still refused by default.
        let err = parse(REMOTE).expect_err("unsigned").to_string();
        assert!(err.contains("insecure_unsigned_card = true"), "{err}");
    }

    #[test]
    fn old_and_new_together_is_an_error_naming_both() {
        for (text, old, new) in [
            (
                "[egress]\nallow_insecure_local = true\ninsecure_local_egress = true\n".to_string(),
                "allow_insecure_local",
                "insecure_local_egress",
            ),
            (
                format!("{AGENT}allow_unsigned_card = true\ninsecure_unsigned_card = false\n"),
                "allow_unsigned_card",
                "insecure_unsigned_card",
            ),
            (
                format!("{REMOTE}allow_unsigned = true\ninsecure_unsigned_card = true\n"),
                "allow_unsigned",
                "insecure_unsigned_card",
            ),
        ] {
            let err = parse(&text).expect_err(&text).to_string();
            assert!(err.contains(old) && err.contains(new), "{err}");
        }
    }
}

mod replay_sizing {
    use super::*;

    fn sizing(auth: &str) -> auth::ReplaySizing {
        parse(&format!("[auth]\n{auth}"))
            .expect("valid")
            .auth
            .replay_sizing()
    }

    const ISSUER: &str = "[[auth.issuers]]\nissuer = \"https://idp.example\"\naudiences = [\"a\"]\nalgorithms = [\"ES256\"]\njwks = '{\"keys\": []}'\n";

    #[test]
    fn the_default_holds_2000_ids_a_second_for_the_longest_hold() {
        // The longest hold: a client assertion (600 s) plus twice the 30 s
        // leeway; a Warden token's 300 s is shorter.
        let s = sizing("");
        assert_eq!(s.source, auth::ReplaySource::Rate { hold_secs: 660 });
        assert_eq!(s.capacity, 2_000 * 660);
        assert_eq!(s.horizon_secs, 86_400 + 60);
    }

    #[test]
    fn the_hold_follows_the_lifetimes_accepted() {
        let hold = |auth: &str| match sizing(auth).source {
            auth::ReplaySource::Rate { hold_secs } => hold_secs,
            other => panic!("{other:?}"),
        };
        assert_eq!(hold("token_ttl_secs = 3600\n"), 3_660);
        assert_eq!(hold("token_ttl_secs = 3600\nleeway_secs = 5\n"), 3_610);
        // Warden tokens DPoP-bound only: their ids are not held.
        assert_eq!(hold("token_ttl_secs = 3600\ndpop = \"required\"\n"), 660);
        // An issuer's bearer tokens, up to its max_lifetime_secs (3600).
        assert_eq!(hold(ISSUER), 3_660);
        assert_eq!(hold(&format!("{ISSUER}dpop = \"required\"\n")), 660);
        assert_eq!(
            sizing(&format!("{ISSUER}max_lifetime_secs = 172800\n")).horizon_secs,
            172_800 + 60
        );
    }

    #[test]
    fn rates_are_written_as_the_rate_limits_are() {
        assert_eq!(sizing("replay_rate = \"5000/s\"\n").capacity, 5_000 * 660);
        assert_eq!(sizing("replay_rate = \"600/m\"\n").capacity, 10 * 660);
        assert_eq!(sizing("replay_rate = \"1/h\"\n").capacity, 1);
        for bad in ["2000", "0/s", "fast", "10/d", "-1/s"] {
            let err = parse(&format!("[auth]\nreplay_rate = \"{bad}\"\n"))
                .expect_err(bad)
                .to_string();
            assert!(err.contains("replay_rate"), "{bad}: {err}");
        }
    }

    #[test]
    fn replay_cache_entries_still_sets_the_capacity() {
        let s = sizing("replay_cache_entries = 2000000\nreplay_rate = \"1/s\"\n");
        assert_eq!(s.capacity, 2_000_000);
        assert_eq!(s.source, auth::ReplaySource::Entries);
        assert!(parse("[auth]\nreplay_cache_entries = 0\n").is_err());
    }

    #[test]
    fn a_rate_too_large_for_memory_is_capped_and_said_so() {
        let s = sizing("replay_rate = \"100000/s\"\n");
        assert_eq!(s.capacity * warden_trust::replay::BYTES_PER_ID, 256 << 20);
        assert_eq!(
            s.source,
            auth::ReplaySource::Capped {
                hold_secs: 660,
                wanted: 100_000 * 660
            }
        );
    }
}

#[test]
fn an_agent_may_be_a_mailbox_bridge_only_with_the_mailbox_on() {
    let agent = "[[agents]]\nname = \"echo\"\nurl = \"http://127.0.0.1:9\"\n";
    let off = parse(agent).expect("default");
    assert_eq!(off.agents[0].mailbox, AgentMailbox::Off);
    let on = parse(&format!("{agent}mailbox = \"bridge\"\n")).expect("bridge");
    assert_eq!(on.agents[0].mailbox, AgentMailbox::Bridge);
    assert!(parse(&format!("{agent}mailbox = \"yes\"\n")).is_err());
    let err = parse(&format!(
        "[mailbox]\nenabled = false\n{agent}mailbox = \"bridge\"\n"
    ))
    .expect_err("a bridge without the mailbox");
    assert!(err.to_string().contains("agents.echo.mailbox"), "{err}");
}
