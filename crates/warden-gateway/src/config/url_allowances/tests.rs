use std::path::Path;

use super::*;
use crate::config::{Config, MessageUrlsSection};

const AGENTS: &str = "[[agents]]\nname = \"sdk\"\nurl = \"http://127.0.0.1:9\"\n\
                      [[agents]]\nname = \"other\"\nurl = \"http://127.0.0.1:10\"\n";

fn section(entries: &str) -> Result<MessageUrlsSection, String> {
    toml::from_str::<MessageUrlsSection>(entries).map_err(|e| e.to_string())
}

fn config(entries: &str) -> Result<Config, String> {
    let text = format!("{AGENTS}{entries}");
    Config::parse(&text, Path::new("warden.toml")).map_err(|e| e.to_string())
}

#[test]
fn an_entry_reads_with_strict_defaults() {
    let s =
        section("[[allow]]\nhost = \"hooks.internal.example\"\nports = [8443]\n").expect("entry");
    let a = &s.allow[0];
    assert_eq!(
        a.rule.to_string(),
        "host \"hooks.internal.example\" ports 8443 (https)"
    );
    assert!(a.agents.is_empty() && a.callers.is_empty());
    assert_eq!(a.kinds, [UrlKind::Push, UrlKind::Part]);

    let s = section(
        "[[allow]]\ncidr = \"10.20.0.0/16\"\nports = [443, \"9000-9100\"]\n\
         schemes = [\"https\", \"http\"]\nagents = [\"sdk\"]\ncallers = [\"team-a\"]\nkinds = [\"push\"]\n",
    )
    .expect("entry");
    assert_eq!(
        s.allow[0].describe(),
        "cidr \"10.20.0.0/16\" ports 443, 9000-9100 (https, http), push URLs, agents: sdk, callers: team-a"
    );
    assert_eq!(s.warnings().len(), 1);
}

#[test]
fn bad_entries_are_refused_naming_the_entry() {
    for (entry, want) in [
        (
            "ports = [443]",
            "names exactly one of host or cidr (one names neither)",
        ),
        (
            "host = \"a.example\"\ncidr = \"10.0.0.0/8\"\nports = [443]",
            "one names both",
        ),
        (
            "cidr = \"10.0.0.0/33\"\nports = [443]",
            "(cidr \"10.0.0.0/33\"): cidr:",
        ),
        (
            "cidr = \"10.0.0.0\"\nports = [443]",
            "is not an address block",
        ),
        (
            "host = \"10.0.0.1\"\nports = [443]",
            "write an address as a block",
        ),
        (
            "host = \"a.example:8443\"\nports = [443]",
            "is not a host name",
        ),
        (
            "host = \"metadata.google.internal\"\nports = [80]",
            "a cloud metadata name",
        ),
        (
            "host = \"a.example\"",
            "(host \"a.example\"): ports is required",
        ),
        (
            "host = \"a.example\"\nports = []",
            "(host \"a.example\"): ports is required",
        ),
        (
            "host = \"a.example\"\nports = [0]",
            "(host \"a.example\"): ports: port 0",
        ),
        (
            "host = \"a.example\"\nports = [\"9100-9000\"]",
            "(host \"a.example\"): ports: the range 9100-9000 is reversed",
        ),
        (
            "host = \"a.example\"\nports = [\"9000-\"]",
            "is not a port or a range",
        ),
        (
            "host = \"a.example\"\nports = [65536]",
            "65536 is not a port",
        ),
        (
            "host = \"a.example\"\nports = [443]\nschemes = [\"ftp\"]",
            "schemes: \"ftp\" is neither",
        ),
        (
            "host = \"a.example\"\nports = [443]\nschemes = []",
            "schemes must name",
        ),
        (
            "host = \"a.example\"\nports = [443]\nkinds = []",
            "kinds must name",
        ),
        (
            "host = \"a.example\"\nports = [443]\nkinds = [\"pull\"]",
            "pull",
        ),
        (
            "host = \"a.example\"\nports = [443]\nagents = [\"a b\"]",
            "is not an agent name",
        ),
        (
            "host = \"a.example\"\nports = [443]\ncallers = [\"\"]",
            "matches no caller",
        ),
        (
            "host = \"a.example\"\nports = [443]\nport = 1",
            "unknown field",
        ),
    ] {
        match section(&format!("[[allow]]\n{entry}\n")) {
            Ok(s) => panic!("{entry}: read as {s:?}"),
            Err(e) => assert!(e.contains(want), "{entry}: {e}"),
        }
    }
}

#[test]
fn an_entry_for_an_unconfigured_agent_is_refused_at_load() {
    // Errors inside an entry carry the line of the file too.
    let e = config("[[message_urls.allow]]\nhost = \"a.example\"\nports = [\"9-1\"]\n")
        .expect_err("reversed");
    assert!(e.contains("line 7") && e.contains("reversed"), "{e}");
    let entry = "[[message_urls.allow]]\nhost = \"a.example\"\nports = [443]\n";
    config(&format!("{entry}agents = [\"sdk\"]\n")).expect("a configured agent");
    let e = config(&format!("{entry}agents = [\"sdx\"]\n")).expect_err("unknown agent");
    assert!(
        e.contains(
            "message_urls.allow (host \"a.example\"): agents: \"sdx\" is not one of the [[agents]]"
        ),
        "{e}"
    );
}

#[test]
fn an_entry_applies_to_its_agents_callers_and_kinds_only() {
    let s = section(
        "[[allow]]\ncidr = \"127.0.0.1/32\"\nports = [9000]\nagents = [\"sdk\"]\n\
         callers = [\"team-a\", \"https://idp.example#svc\"]\nkinds = [\"push\"]\n\
         [[allow]]\nhost = \"files.internal.example\"\nports = [443]\nkinds = [\"part\"]\n",
    )
    .expect("entries");
    let push = |agent, caller| s.allowances(UrlKind::Push, agent, caller).len();
    let part = |agent, caller| s.allowances(UrlKind::Part, agent, caller).len();
    assert_eq!(push("sdk", Some("team-a")), 1);
    assert_eq!(push("sdk", Some("https://idp.example#svc")), 1);
    assert_eq!(push("sdk", Some("team-b")), 0);
    assert_eq!(push("sdk", Some("TEAM-A")), 0);
    assert_eq!(
        push("sdk", None),
        0,
        "an unknown caller is not a listed one"
    );
    assert_eq!(push("other", Some("team-a")), 0);
    // The second entry: parts only, every agent and caller.
    assert_eq!(part("sdk", Some("team-a")), 1);
    assert_eq!(part("other", None), 1);
    let second = &s.allowances(UrlKind::Part, "other", None)[0];
    assert_eq!(
        second.rule.dest(),
        &warden_egress::Dest::Name("files.internal.example".into())
    );
}
