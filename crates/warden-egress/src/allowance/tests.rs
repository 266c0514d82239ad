use std::sync::Arc;

use super::*;
use crate::EgressPolicy;
use crate::resolve::StaticResolver;

/// Answers for the names these tests use.
fn resolver() -> Arc<dyn Resolver> {
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    Arc::new(StaticResolver::new([
        ("hooks.internal.example".into(), vec![ip("10.1.2.3")]),
        ("evil.attacker.test".into(), vec![ip("10.1.2.3")]),
        ("a.hooks.example".into(), vec![ip("10.9.0.1")]),
        ("hooks.example".into(), vec![ip("10.9.0.1")]),
        ("badhooks.example".into(), vec![ip("10.9.0.1")]),
        ("hooks.corp.internal".into(), vec![ip("192.168.1.10")]),
        ("in-block.test".into(), vec![ip("10.0.0.5"), ip("10.0.0.6")]),
        (
            "straddles.test".into(),
            vec![ip("10.0.0.5"), ip("10.0.1.5")],
        ),
        ("v6-block.test".into(), vec![ip("fd00:1::7")]),
        ("to-metadata.test".into(), vec![ip("169.254.169.254")]),
        ("to-zero.test".into(), vec![ip("0.0.0.0")]),
        ("to-mapped.test".into(), vec![ip("::ffff:10.1.2.3")]),
        ("public.example".into(), vec![ip("93.184.216.34")]),
    ]))
}

/// Every port allowed by the rules as written, so a refusal names the
/// deny table rather than the port.
fn wide() -> Rules {
    Rules::new(EgressPolicy {
        allowed_ports: vec![PortRange::new(1, 65535).expect("range")],
        ..EgressPolicy::default()
    })
    .expect("rules")
}

fn strict() -> Rules {
    Rules::new(EgressPolicy::default()).expect("rules")
}

fn ports(list: &[(u16, u16)]) -> Vec<PortRange> {
    list.iter()
        .map(|&(a, b)| PortRange::new(a, b).expect("range"))
        .collect()
}

fn host(pattern: &str, p: &[(u16, u16)], schemes: &[&str]) -> Allowance {
    Allowance::new(Dest::host(pattern).expect("host"), ports(p), schemes).expect("allowance")
}

fn block(cidr: &str, p: &[(u16, u16)], schemes: &[&str]) -> Allowance {
    Allowance::new(Dest::cidr(cidr).expect("cidr"), ports(p), schemes).expect("allowance")
}

async fn judge(rules: &Rules, a: &[&Allowance], url: &str) -> Result<Option<usize>, EgressError> {
    check(rules, resolver().as_ref(), url, a, true).await
}

fn reason(r: Result<Option<usize>, EgressError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.reason(),
    }
}

#[tokio::test]
async fn a_host_allowance_admits_its_name_and_port_only() {
    let a = host("hooks.internal.example", &[(8443, 8443)], &["https"]);
    for rules in [strict(), wide()] {
        assert_eq!(
            judge(&rules, &[&a], "https://hooks.internal.example:8443/hook").await,
            Ok(Some(0))
        );
        // Normalised before matching.
        assert_eq!(
            judge(&rules, &[&a], "https://HOOKS.internal.example.:8443/").await,
            Ok(Some(0))
        );
    }
    // Another port: the rules as written.
    assert_eq!(
        judge(&strict(), &[&a], "https://hooks.internal.example:8444/").await,
        Err(EgressError::Port(8444))
    );
    assert_eq!(
        reason(judge(&wide(), &[&a], "https://hooks.internal.example:8444/").await),
        "denied_address"
    );
    // Another name resolving to the same private address is not let in.
    assert_eq!(
        reason(judge(&wide(), &[&a], "https://evil.attacker.test:8443/").await),
        "denied_address"
    );
    assert_eq!(
        reason(judge(&wide(), &[&a], "https://10.1.2.3:8443/").await),
        "denied_address"
    );
    // The strict reading is never lifted.
    assert_eq!(
        judge(&wide(), &[&a], "https://u@hooks.internal.example:8443/").await,
        Err(EgressError::Userinfo)
    );
    // No allowance: as before.
    assert_eq!(
        reason(judge(&wide(), &[], "https://hooks.internal.example:8443/").await),
        "denied_address"
    );
}

#[tokio::test]
async fn http_must_be_listed_and_then_https_must_be_too() {
    let https_only = host("hooks.internal.example", &[(8080, 8080)], &["https"]);
    assert_eq!(
        judge(
            &strict(),
            &[&https_only],
            "http://hooks.internal.example:8080/"
        )
        .await,
        Err(EgressError::Scheme("http".into()))
    );
    let http_only = host("hooks.internal.example", &[(8080, 8080)], &["http"]);
    assert_eq!(
        judge(
            &strict(),
            &[&http_only],
            "http://hooks.internal.example:8080/"
        )
        .await,
        Ok(Some(0))
    );
    assert_eq!(
        judge(
            &strict(),
            &[&http_only],
            "https://hooks.internal.example:8080/"
        )
        .await,
        Err(EgressError::Port(8080))
    );
    let both = host(
        "hooks.internal.example",
        &[(8080, 8080)],
        &["https", "http"],
    );
    for scheme in ["http", "https"] {
        let url = format!("{scheme}://hooks.internal.example:8080/");
        assert_eq!(judge(&strict(), &[&both], &url).await, Ok(Some(0)), "{url}");
    }
}

#[tokio::test]
async fn port_ranges_and_suffixes_match_as_written() {
    let a = host("*.hooks.example", &[(9000, 9100), (9443, 9443)], &["https"]);
    for url in [
        "https://a.hooks.example:9000/",
        "https://a.hooks.example:9100/",
        "https://a.hooks.example:9443/",
    ] {
        assert_eq!(judge(&wide(), &[&a], url).await, Ok(Some(0)), "{url}");
    }
    for url in [
        "https://a.hooks.example:8999/",
        "https://a.hooks.example:9101/",
        "https://hooks.example:9000/",
        "https://badhooks.example:9000/",
    ] {
        assert_eq!(
            reason(judge(&wide(), &[&a], url).await),
            "denied_address",
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_named_host_may_be_local_but_never_metadata_or_never_legitimate() {
    // A local-only name is the operator's to allow by name.
    let local = host("hooks.corp.internal", &[(443, 443)], &["https"]);
    assert_eq!(
        reason(judge(&strict(), &[], "https://hooks.corp.internal/").await),
        "bad_host"
    );
    assert_eq!(
        judge(&strict(), &[&local], "https://hooks.corp.internal/").await,
        Ok(Some(0))
    );
    for name in ["to-metadata.test", "to-zero.test", "to-mapped.test"] {
        let a = host(name, &[(443, 443)], &["https"]);
        assert_eq!(
            reason(judge(&strict(), &[&a], &format!("https://{name}/")).await),
            "denied_address",
            "{name}"
        );
    }
    // A suffix that covers a metadata name does not let it through.
    let google = host("*.google.internal", &[(80, 80)], &["http"]);
    assert_eq!(
        reason(judge(&strict(), &[&google], "http://metadata.google.internal/").await),
        "bad_host"
    );
    assert_eq!(
        Dest::host("metadata.google.internal"),
        Err(AllowanceError::MetadataName(
            "metadata.google.internal".into()
        ))
    );
}

#[tokio::test]
async fn cidr_allowances_match_literals_in_the_block_v4_and_v6() {
    let v4 = block("127.0.0.0/8", &[(9000, 9100)], &["http"]);
    let v6 = block("fd00:1::/64", &[(9000, 9000)], &["https"]);
    let a = [&v4, &v6];
    assert_eq!(
        judge(&strict(), &a, "http://127.0.0.1:9050/").await,
        Ok(Some(0))
    );
    assert_eq!(
        judge(&strict(), &a, "http://127.1:9000/").await,
        Ok(Some(0))
    );
    assert_eq!(
        judge(&strict(), &a, "https://[fd00:1::5]:9000/").await,
        Ok(Some(1))
    );
    for (url, why) in [
        ("http://127.0.0.1:9101/", "scheme"),
        ("http://[::1]:9050/", "scheme"),
        ("https://[fd00:2::5]:9000/", "port"),
        ("https://[::ffff:127.0.0.1]:9000/", "port"),
    ] {
        assert_eq!(reason(judge(&strict(), &a, url).await), why, "{url}");
    }
    for url in [
        "https://[fd00:2::5]:9000/",
        "https://[::ffff:127.0.0.1]:9000/",
    ] {
        assert_eq!(
            reason(judge(&wide(), &a, url).await),
            "denied_address",
            "{url}"
        );
    }
}

#[tokio::test]
async fn cidr_allowances_match_names_whose_every_answer_is_in_one_block() {
    let v4 = block("10.0.0.0/24", &[(8443, 8443)], &["https"]);
    let v6 = block("fd00:1::/64", &[(8443, 8443)], &["https"]);
    let a = [&v4, &v6];
    assert_eq!(
        judge(&wide(), &a, "https://in-block.test:8443/").await,
        Ok(Some(0))
    );
    assert_eq!(
        judge(&wide(), &a, "https://v6-block.test:8443/").await,
        Ok(Some(1))
    );
    assert_eq!(
        reason(judge(&wide(), &a, "https://straddles.test:8443/").await),
        "denied_address"
    );
    assert_eq!(
        judge(&strict(), &a, "https://straddles.test:8443/").await,
        Err(EgressError::Port(8443))
    );
    // A public name on a port the rules allow is the rules' to admit.
    assert_eq!(
        judge(&wide(), &a, "https://public.example:8443/").await,
        Ok(None)
    );
    // Without lookups a name cannot be placed in a block.
    let r = check(
        &strict(),
        resolver().as_ref(),
        "https://in-block.test:8443/",
        &a,
        false,
    )
    .await;
    assert_eq!(r, Err(EgressError::Port(8443)));
    // A failed lookup is a dns refusal.
    assert_eq!(
        reason(judge(&wide(), &a, "https://unknown.test:8443/").await),
        "dns"
    );
}

#[tokio::test]
async fn metadata_addresses_stay_denied_whatever_the_block() {
    let v4 = block("169.254.0.0/16", &[(80, 80)], &["http"]);
    let v6 = block("fd00::/8", &[(80, 80)], &["http"]);
    let a = [&v4, &v6];
    assert_eq!(
        judge(&strict(), &a, "http://169.254.1.1/").await,
        Ok(Some(0))
    );
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/",
        "http://[fd00:ec2::254]/",
    ] {
        match judge(&strict(), &a, url).await {
            Err(EgressError::DeniedAddress { range, .. }) => {
                assert_eq!(range, "cloud metadata endpoint", "{url}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    let wide_block = block("169.254.0.0/16", &[(443, 443)], &["https"]);
    assert_eq!(
        reason(judge(&strict(), &[&wide_block], "https://to-metadata.test/").await),
        "denied_address"
    );
}

#[test]
fn allowances_are_checked_when_built() {
    assert_eq!(
        Allowance::new(Dest::cidr("10.0.0.0/8").expect("cidr"), vec![], &["https"]),
        Err(AllowanceError::NoPorts)
    );
    assert_eq!(
        Allowance::new(
            Dest::cidr("10.0.0.0/8").expect("cidr"),
            ports(&[(1, 1)]),
            &["ftp"]
        ),
        Err(AllowanceError::Scheme("ftp".into()))
    );
    let none: [&str; 0] = [];
    assert_eq!(
        Allowance::new(
            Dest::cidr("10.0.0.0/8").expect("cidr"),
            ports(&[(1, 1)]),
            &none
        ),
        Err(AllowanceError::NoSchemes)
    );
    for bad in [
        "10.0.0.1", "[::1]", "*.", "*", "a..b", "a b", "*.*.x", "", "x:80", "x/y", "a*.x",
    ] {
        assert!(
            matches!(Dest::host(bad), Err(AllowanceError::Host(_))),
            "{bad}: {:?}",
            Dest::host(bad)
        );
    }
    for bad in ["10.0.0.0/33", "10.0.0.0", "hooks.example/8", "fd00::/129"] {
        assert!(
            matches!(Dest::cidr(bad), Err(AllowanceError::Cidr(_))),
            "{bad}"
        );
    }
    assert_eq!(
        host(
            "*.Hooks.Example.",
            &[(9000, 9100), (443, 443)],
            &["http", "https"]
        )
        .to_string(),
        "host \"*.hooks.example\" ports 9000-9100, 443 (https, http)"
    );
    assert_eq!(
        block("10.0.0.0/24", &[(8443, 8443)], &["https"]).to_string(),
        "cidr \"10.0.0.0/24\" ports 8443 (https)"
    );
}

/// The rules an allowance's destination is called under: the URL it
/// admitted passes them (connect-time address checks included), and they
/// lift nothing for another destination's addresses.
#[tokio::test]
async fn the_rules_for_an_admitted_url_pass_it_and_only_what_the_allowance_names() {
    let addr = |h: &str, ip: &str| {
        let t = target::parse(&format!("http://{h}:8080/")).expect("url");
        (t, ip.parse::<IpAddr>().expect("ip"))
    };
    let by_block = block("10.1.2.0/24", &[(8080, 8080)], &["http"]);
    let (t, ip) = addr("10.1.2.3", "10.1.2.3");
    let rules = by_block.rules_for(&strict(), &t.host).expect("rules");
    rules.check_target(&t).expect("scheme and port lifted");
    rules.check_addr(&t.host, ip).expect("its block");
    let (other, other_ip) = addr("10.9.9.9", "10.9.9.9");
    assert!(
        rules.check_addr(&other.host, other_ip).is_err(),
        "another block"
    );

    let by_name = host("hooks.internal.example", &[(8080, 8080)], &["http"]);
    let (t, ip) = addr("hooks.internal.example", "10.1.2.3");
    let rules = by_name.rules_for(&strict(), &t.host).expect("rules");
    rules.check_target(&t).expect("scheme and port lifted");
    rules
        .check_addr(&t.host, ip)
        .expect("a named host is trusted");
    assert!(
        rules
            .check_addr(&t.host, "169.254.169.254".parse().expect("ip"))
            .is_err(),
        "never metadata"
    );
    let (other, other_ip) = addr("evil.attacker.test", "10.1.2.3");
    assert!(
        rules.check_addr(&other.host, other_ip).is_err(),
        "another name"
    );
}
