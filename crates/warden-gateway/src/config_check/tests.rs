use super::*;

fn config(text: &str) -> Config {
    Config::parse(text, std::path::Path::new("t.toml")).expect("config")
}

/// Fixed answers and nothing else: a name not listed does not resolve.
fn answers(pairs: &[(&str, &str)]) -> Arc<dyn Resolver> {
    Arc::new(StaticResolver::new(pairs.iter().map(|(n, a)| {
        (n.to_string(), vec![a.parse().expect("address")])
    })))
}

const ISSUER: &str = "[[auth.issuers]]\nissuer = \"https://idp.example\"\naudiences = [\"x\"]\n\
                      algorithms = [\"ES256\"]\njwks_url = \"https://idp.test/jwks\"\n";

fn remote(url: &str) -> String {
    format!("[[remote_agents]]\nname = \"r\"\nurl = \"{url}\"\ninsecure_unsigned_card = true\n")
}

#[tokio::test]
async fn configured_agents_may_resolve_private_but_not_metadata() {
    let c = config("[[agents]]\nname = \"a\"\nurl = \"http://agent.test:9000\"\n");
    for ok in ["10.0.0.5", "127.0.0.1", "fd00::1"] {
        assert_eq!(
            resolve_names(&c, answers(&[("agent.test", ok)])).await,
            Ok(1),
            "{ok}"
        );
    }
    for bad in [
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "::ffff:169.254.169.254",
    ] {
        let err = resolve_names(&c, answers(&[("agent.test", bad)]))
            .await
            .expect_err(bad);
        assert!(
            err.starts_with("agents[0].url: ") && err.ends_with("[denied_address]"),
            "{bad}: {err}"
        );
    }
}

#[tokio::test]
async fn jwks_and_remote_urls_get_the_full_rules() {
    let c = config(ISSUER);
    let err = resolve_names(&c, answers(&[("idp.test", "127.0.0.1")]))
        .await
        .expect_err("loopback");
    assert!(
        err.starts_with("auth.issuers[0].jwks_url: \"https://idp.test/jwks\" is refused")
            && err.contains("[denied_address]"),
        "{err}"
    );
    assert_eq!(
        resolve_names(&c, answers(&[("idp.test", "93.184.216.34")])).await,
        Ok(1)
    );
    // An operator's exception is honoured, as at run time.
    let c = config(&format!(
        "{ISSUER}[egress]\nallow_cidrs = [\"127.0.0.0/8\"]\n"
    ));
    assert_eq!(
        resolve_names(&c, answers(&[("idp.test", "127.0.0.1")])).await,
        Ok(1)
    );

    let c = config(&remote("https://partner.test/agents/x"));
    let err = resolve_names(&c, answers(&[("partner.test", "10.0.0.5")]))
        .await
        .expect_err("private");
    assert!(
        err.starts_with("remote_agents[0].url: ") && err.contains("[denied_address]"),
        "{err}"
    );
}

#[tokio::test]
async fn the_resolve_table_answers_first_and_a_missing_name_names_its_key() {
    let c = config(&format!(
        "{ISSUER}[egress.resolve]\n\"idp.test\" = [\"10.1.1.1\"]\n"
    ));
    // The table wins over the resolver's (public) answer.
    let err = resolve_names(&c, answers(&[("idp.test", "93.184.216.34")]))
        .await
        .expect_err("table");
    assert!(err.contains("10.1.1.1"), "{err}");

    let err = resolve_names(&config(ISSUER), answers(&[]))
        .await
        .expect_err("no answer");
    assert!(
        err.starts_with("auth.issuers[0].jwks_url: ") && err.ends_with("[dns]"),
        "{err}"
    );
}

#[tokio::test]
async fn literals_are_not_looked_up() {
    let c = config("[[agents]]\nname = \"a\"\nurl = \"http://127.0.0.1:9000\"\n");
    assert_eq!(resolve_names(&c, answers(&[])).await, Ok(0));
}
