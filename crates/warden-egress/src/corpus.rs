//! The hostile-URL corpus and the test resolver's answers, for the tests of
//! every outbound entry point (feature `corpus`; not in release builds).
//! The files live in `tests/corpus/` of this crate.

use std::collections::BTreeMap;
use std::net::IpAddr;

const HOSTILE_URLS: &str = include_str!("../tests/corpus/hostile-urls.tsv");
const HOSTILE_NAMES: &str = include_str!("../tests/corpus/hostile-names.tsv");
const BENIGN_NAMES: &str = include_str!("../tests/corpus/benign-names.tsv");

/// Rows of a corpus file: comment and blank lines skipped; the last tab
/// separates the value (so a URL keeps any leading space).
fn rows(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.rsplit_once('\t').unwrap_or((l, "")))
}

/// `(url, expected refusal reason)` under the default rules and
/// [`answers`].
pub fn hostile_urls() -> Vec<(&'static str, &'static str)> {
    rows(HOSTILE_URLS).collect()
}

fn table(text: &'static str) -> BTreeMap<String, Vec<IpAddr>> {
    rows(text)
        .map(|(name, addrs)| {
            let ips = addrs
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            (name.to_string(), ips)
        })
        .collect()
}

/// What the test resolver answers: the attacker's names and the benign
/// public-looking ones (use as `egress.resolve`).
pub fn answers() -> BTreeMap<String, Vec<IpAddr>> {
    let mut all = table(HOSTILE_NAMES);
    all.extend(table(BENIGN_NAMES));
    all
}

/// `https://NAME/` for every benign name: all must be allowed.
pub fn benign_urls() -> Vec<String> {
    table(BENIGN_NAMES)
        .keys()
        .map(|n| format!("https://{n}/"))
        .collect()
}
