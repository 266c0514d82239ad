use super::*;
use crate::target::parse;

fn rules(p: EgressPolicy) -> Rules {
    Rules::new(p).expect("rules")
}

fn check(r: &Rules, raw: &str) -> Result<(), EgressError> {
    r.check_target(&parse(raw)?)
}

#[test]
fn defaults_are_https_on_443_to_public_addresses() {
    let r = rules(EgressPolicy::default());
    assert_eq!(check(&r, "https://example.com/x"), Ok(()));
    assert_eq!(check(&r, "https://93.184.216.34/"), Ok(()));
    assert_eq!(
        check(&r, "http://example.com/"),
        Err(EgressError::Scheme("http".into()))
    );
    assert_eq!(
        check(&r, "https://example.com:8443/"),
        Err(EgressError::Port(8443))
    );
    assert!(matches!(
        check(&r, "https://127.0.0.1/"),
        Err(EgressError::DeniedAddress { .. })
    ));
    assert!(matches!(
        check(&r, "https://localhost/"),
        Err(EgressError::BadHost { .. })
    ));
    assert!(matches!(
        check(&r, "https://metadata.google.internal/"),
        Err(EgressError::BadHost { .. })
    ));
    for local in ["https://router.home.arpa/", "https://home.arpa/"] {
        assert!(
            matches!(check(&r, local), Err(EgressError::BadHost { .. })),
            "{local}: a home network name (RFC 8375)"
        );
    }
}

#[test]
fn allow_list_matches_exact_names_and_suffixes_only() {
    let r = rules(EgressPolicy {
        allowed_hosts: vec!["agents.example.com".into(), "*.partner.test".into()],
        ..EgressPolicy::default()
    });
    assert_eq!(check(&r, "https://agents.example.com/"), Ok(()));
    assert_eq!(check(&r, "https://AGENTS.example.com./"), Ok(()));
    assert_eq!(check(&r, "https://a.partner.test/"), Ok(()));
    assert_eq!(check(&r, "https://a.b.partner.test/"), Ok(()));
    for refused in [
        "https://partner.test/",
        "https://evilpartner.test/",
        "https://agents.example.com.evil.test/",
        "https://93.184.216.34/",
    ] {
        assert!(
            matches!(check(&r, refused), Err(EgressError::HostNotAllowed(_))),
            "{refused}"
        );
    }
}

#[test]
fn allow_cidrs_exempt_a_block_but_never_metadata() {
    let r = rules(EgressPolicy {
        allow_cidrs: vec!["10.1.0.0/16".into(), "169.254.0.0/16".into()],
        ..EgressPolicy::default()
    });
    assert_eq!(check(&r, "https://10.1.2.3/"), Ok(()));
    assert!(check(&r, "https://10.2.0.1/").is_err());
    assert_eq!(check(&r, "https://169.254.1.1/"), Ok(()));
    assert!(matches!(
        check(&r, "https://169.254.169.254/"),
        Err(EgressError::DeniedAddress {
            range: "cloud metadata endpoint",
            ..
        })
    ));
}

#[test]
fn trusted_hosts_may_be_local_but_not_metadata() {
    let r = rules(EgressPolicy::default()).trusting([
        Host::Ip("127.0.0.1".parse().expect("ip")),
        Host::Ip("169.254.169.254".parse().expect("ip")),
    ]);
    assert_eq!(check(&r, "http://127.0.0.1:9000/a2a"), Ok(()));
    assert!(check(&r, "http://127.0.0.2:9000/").is_err());
    assert!(check(&r, "http://169.254.169.254/").is_err());
}

/// A trusted (configured) host keeps loopback and private addresses but
/// never the ones nothing legitimate listens on, nor metadata names.
#[test]
fn trusted_hosts_are_still_refused_what_is_never_legitimate() {
    let refused = [
        "http://0.0.0.0:9000/",
        "http://[::]:9000/",
        "http://224.0.0.1:9000/",
        "http://255.255.255.255:9000/",
        "http://240.0.0.1:9000/",
        "http://192.0.2.1:9000/",
        "http://[::ffff:127.0.0.1]:9000/",
        "http://[::ffff:169.254.169.254]:9000/",
        "http://[::127.0.0.1]:9000/",
        "http://[64:ff9b::a00:1]:9000/",
        "http://[2002:a00:1::]:9000/",
        "http://[2001::1]:9000/",
        "http://[ff02::1]:9000/",
        "http://metadata.google.internal/",
        "http://metadata.goog/",
        "http://instance-data/",
    ];
    let allowed = [
        "http://127.0.0.1:9000/",
        "http://10.0.0.5:9000/",
        "http://192.168.1.2/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://[::1]:9000/",
        "http://[fd00::1]:9000/",
        "http://localhost:9000/",
        "http://agents.internal:9000/",
    ];
    let hosts = refused
        .iter()
        .chain(&allowed)
        .map(|u| parse(u).expect(u).host);
    let r = rules(EgressPolicy::default()).trusting(hosts);
    for u in refused {
        assert!(
            matches!(
                check(&r, u),
                Err(EgressError::DeniedAddress { .. } | EgressError::BadHost { .. })
            ),
            "{u}: {:?}",
            check(&r, u)
        );
    }
    for u in allowed {
        assert_eq!(check(&r, u), Ok(()), "{u}");
    }
    // An answer for a trusted name is judged the same way.
    let name = Host::Name("agents.internal".into());
    assert!(r.check_addr(&name, "10.1.2.3".parse().expect("ip")).is_ok());
    assert!(r.check_addr(&name, "0.0.0.0".parse().expect("ip")).is_err());
    assert!(
        r.check_addr(&name, "169.254.169.254".parse().expect("ip"))
            .is_err()
    );
    // An explicit allow_cidrs still reaches a block on purpose.
    let lab = rules(EgressPolicy {
        allow_cidrs: vec!["192.0.2.0/24".into()],
        ..EgressPolicy::default()
    })
    .trusting([Host::Ip("192.0.2.1".parse().expect("ip"))]);
    assert_eq!(check(&lab, "http://192.0.2.1:9000/"), Ok(()));
}

#[test]
fn insecure_local_lifts_the_table_for_development() {
    let r = rules(EgressPolicy {
        insecure_local_egress: true,
        ..EgressPolicy::default()
    });
    assert_eq!(check(&r, "http://127.0.0.1:8080/"), Ok(()));
    assert_eq!(check(&r, "http://localhost:8080/"), Ok(()));
}

#[test]
fn bad_configuration_is_refused() {
    for p in [
        EgressPolicy {
            allowed_hosts: vec!["exa mple.com".into()],
            ..EgressPolicy::default()
        },
        EgressPolicy {
            allowed_hosts: vec!["user@example.com".into()],
            ..EgressPolicy::default()
        },
        EgressPolicy {
            allow_cidrs: vec!["10.0.0.0".into()],
            ..EgressPolicy::default()
        },
        EgressPolicy {
            max_response_bytes: 0,
            ..EgressPolicy::default()
        },
        EgressPolicy {
            resolve: [("Example.com".to_string(), vec![])].into(),
            ..EgressPolicy::default()
        },
    ] {
        assert!(Rules::new(p).is_err());
    }
}

#[test]
fn policy_reads_from_toml_with_unknown_keys_refused() {
    let p: EgressPolicy = toml::from_str(
        "allowed_hosts = [\"*.example.com\"]\nmax_redirects = 3\n[resolve]\n\"a.example.com\" = [\"93.184.216.34\"]\n",
    )
    .expect("toml");
    assert_eq!(p.max_redirects, 3);
    assert_eq!(p.resolve.len(), 1);
    assert!(toml::from_str::<EgressPolicy>("allow_htp = true").is_err());
}

#[test]
fn allowed_ports_take_ranges_beside_integers() {
    let p: EgressPolicy = toml::from_str("allowed_ports = [443, \"8000-8100\"]").expect("toml");
    let r = rules(p);
    for ok in [
        "https://example.com/",
        "https://example.com:8000/",
        "https://example.com:8042/",
        "https://example.com:8100/",
    ] {
        assert_eq!(check(&r, ok), Ok(()), "{ok}");
    }
    for port in [80, 7999, 8101, 8443] {
        assert_eq!(
            check(&r, &format!("https://example.com:{port}/")),
            Err(EgressError::Port(port))
        );
    }
    for bad in ["[0]", "[\"8100-8000\"]", "[\"80-\"]", "[70000]"] {
        assert!(
            toml::from_str::<EgressPolicy>(&format!("allowed_ports = {bad}")).is_err(),
            "{bad}"
        );
    }
}
