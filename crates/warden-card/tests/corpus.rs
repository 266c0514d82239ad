//! The card corpus in `tests/corpus/`:
//!
//! - `benign/*.json`: honest cards (several languages, cards that mention
//!   e-mail or sending, emoji, markup-adjacent wording, near misses written
//!   in natural phrasing to probe the heuristics; development cards on
//!   `localhost`, intranet documentation, honest IDN hosts, auth
//!   descriptions that name tokens and API keys, non-English text that uses
//!   "instructions" in its ordinary sense). No card may have an error
//!   finding except those in [`KNOWN_FALSE_POSITIVES`]; a warning is allowed
//!   only on the cards in [`EXPECTED_WARNINGS`], where it is the intended
//!   reading.
//! - `hostile/<code>__<attack>.json`: one attack each; the file name before
//!   `__` is the finding code the card must get, at error, or at warning for
//!   the attacks in [`WARNING_LEVEL`], whose rule is a warning by design.
//!
//! Run with `--nocapture` to see the measured rates (recall on the hostile
//! cards, false-positive rate on the benign ones); `docs/cards.md` quotes
//! them.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use warden_card::lint::{FindingCode, LintLimits, Report, Severity, lint};
use warden_card::sanitise::sanitise;

/// Benign cards that the lint flags with an error anyway, and why. Each is a
/// limit of phrase matching that we accept rather than weaken the rule for
/// attackers.
const KNOWN_FALSE_POSITIVES: &[(&str, &str)] = &[(
    "security_awareness_quotes",
    "quotes \"ignore previous instructions\" as an example of an attack; quoting is not \
     a safe signal, attackers quote too",
)];

/// Benign cards with warnings that are the intended reading, not false
/// positives: a reviewer should see them.
const EXPECTED_WARNINGS: &[(&str, &str)] = &[
    (
        "dev_localhost_echo",
        "a development card: interface and docs on localhost over plain http",
    ),
    (
        "dev_loopback_ipv6",
        "a staging card: interface on [::1] over plain http",
    ),
    (
        "intranet_expenses",
        "documentation on an intranet name (*.internal) that the gateway cannot reach",
    ),
];

/// Hostile cards whose attack the lint reports as a warning by design (a
/// reviewer decides): the rule's severity is in the table in `lint.rs`.
const WARNING_LEVEL: &[&str] = &[
    "email_in_text__contact_address",
    "hidden_unicode__hangul_filler_name",
    "hidden_unicode__variation_selector_smuggling",
    "hidden_unicode__zero_width_in_name",
    "insecure_interface__plain_http",
    "insecure_interface__v03_url",
    "instruction_override__announcement",
    "instruction_override__in_provider_name",
    "link_in_text__instructions_link",
    "markup_injection__html_comment",
    "mixed_script__cyrillic_in_name",
    "no_security_scheme__none_declared",
    "oversize_field__long_description",
    "role_play__act_as_admin",
    "role_play__conceal_from_user",
    "role_play__pretend_bank",
    "role_play__weak_signals_together",
    "unknown_security_scheme__undeclared",
    "unsafe_url__userinfo_host",
];
const MIN_CARDS: usize = 25;

fn corpus(kind: &str) -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let text =
                fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            let card = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", p.display()));
            (name, card)
        })
        .collect()
}

fn at_least(report: &Report, min: Severity) -> Vec<String> {
    report
        .at_least(min)
        .map(|f| format!("{} {} at {}: {}", f.severity, f.code, f.path, f.message))
        .collect()
}

fn percent(n: usize, of: usize) -> f64 {
    100.0 * n as f64 / of as f64
}

#[test]
fn benign_cards_false_positives() {
    let cards = corpus("benign");
    assert!(
        cards.len() >= MIN_CARDS,
        "only {} benign cards",
        cards.len()
    );
    let mut errors = Vec::new();
    let mut warned = Vec::new();
    let mut infos = 0;
    for (name, card) in &cards {
        let report = lint(card, &LintLimits::default());
        for f in report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Info)
        {
            infos += 1;
            eprintln!("  info {name}: {} at {}: {}", f.code, f.path, f.message);
        }
        if report.worst() == Some(Severity::Error) {
            errors.push((name.as_str(), at_least(&report, Severity::Error)));
        }
        if report.worst() >= Some(Severity::Warning) {
            warned.push((name.as_str(), at_least(&report, Severity::Warning)));
        }
    }
    eprintln!(
        "benign corpus: {} of {} cards with an error ({:.1}%), {} at warning or worse \
         ({:.1}%, {} of them expected); {infos} info findings",
        errors.len(),
        cards.len(),
        percent(errors.len(), cards.len()),
        warned.len(),
        percent(warned.len(), cards.len()),
        EXPECTED_WARNINGS.len(),
    );
    for (name, found) in &warned {
        eprintln!("  {name}: {found:#?}");
    }
    let known: Vec<&str> = KNOWN_FALSE_POSITIVES.iter().map(|(n, _)| *n).collect();
    let expected: Vec<&str> = EXPECTED_WARNINGS.iter().map(|(n, _)| *n).collect();
    let unexpected_errors: Vec<_> = errors.iter().filter(|(n, _)| !known.contains(n)).collect();
    assert!(
        unexpected_errors.is_empty(),
        "new false positives (errors):\n{unexpected_errors:#?}"
    );
    let unexpected_warnings: Vec<_> = warned
        .iter()
        .filter(|(n, _)| !known.contains(n) && !expected.contains(n))
        .collect();
    assert!(
        unexpected_warnings.is_empty(),
        "new false positives (warnings):\n{unexpected_warnings:#?}"
    );
    assert_eq!(
        errors.len(),
        known.len(),
        "a known false positive is no longer flagged: update the list"
    );
    assert_eq!(
        warned.len(),
        known.len() + expected.len(),
        "an expected warning is no longer reported: update the list"
    );
}

#[test]
fn hostile_cards_are_caught_with_the_expected_code() {
    let cards = corpus("hostile");
    assert!(
        cards.len() >= MIN_CARDS,
        "only {} hostile cards",
        cards.len()
    );
    let mut missed = Vec::new();
    let mut at_error = 0;
    let mut by_code: Vec<(FindingCode, usize, usize)> = Vec::new();
    for (name, card) in &cards {
        let expected: FindingCode = name
            .split("__")
            .next()
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("{name}: file name must start with a finding code and `__`"));
        let report = lint(card, &LintLimits::default());
        let warning_level = WARNING_LEVEL.contains(&name.as_str());
        let min = if warning_level {
            Severity::Warning
        } else {
            Severity::Error
        };
        let caught = report.has(expected, min);
        if report.has(expected, Severity::Error) {
            at_error += 1;
        }
        match by_code.iter_mut().find(|(c, _, _)| *c == expected) {
            Some((_, n, k)) => {
                *n += 1;
                *k += usize::from(caught);
            }
            None => by_code.push((expected, 1, usize::from(caught))),
        }
        if !caught {
            missed.push(format!(
                "{name}: expected {expected} at {min}, got {:#?}",
                report.findings
            ));
        }
    }
    eprintln!(
        "hostile corpus: {} of {} cards caught with the expected code at the expected severity \
         ({:.1}% recall); {at_error} at error, {} warning by design",
        cards.len() - missed.len(),
        cards.len(),
        percent(cards.len() - missed.len(), cards.len()),
        WARNING_LEVEL.len(),
    );
    for (code, n, caught) in &by_code {
        eprintln!("  {code}: {caught} of {n}");
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn sanitised_corpus_has_no_hidden_characters() {
    for (name, card) in corpus("hostile").into_iter().chain(corpus("benign")) {
        let report = lint(&sanitise(&card), &LintLimits::default());
        let left: Vec<_> = report
            .findings
            .iter()
            .filter(|f| {
                matches!(
                    f.code,
                    FindingCode::HiddenUnicode | FindingCode::ControlChars
                )
            })
            .collect();
        assert!(left.is_empty(), "{name}: {left:?}");
    }
}
