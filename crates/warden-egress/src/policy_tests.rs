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

#[test]
fn insecure_local_lifts_the_table_for_development() {
    let r = rules(EgressPolicy {
        allow_insecure_local: true,
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
