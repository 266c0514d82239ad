//! The card corpus in `tests/corpus/`:
//!
//! - `benign/*.json`: honest cards (several languages, cards that mention
//!   e-mail or sending, emoji, markup-adjacent wording, and near misses
//!   written in natural phrasing to probe the heuristics). The number with a
//!   finding at warning or worse is printed; only the cards named in
//!   [`KNOWN_FALSE_POSITIVES`] may have one.
//! - `hostile/<code>__<attack>.json`: one attack each; the file name before
//!   `__` is the finding code the card must get at warning or worse.
//!
//! Run with `--nocapture` to see the measured rates.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use warden_card::lint::{FindingCode, LintLimits, Report, Severity, lint};
use warden_card::sanitise::sanitise;

/// Benign cards that the lint flags anyway, and why. Each is a limit of
/// phrase matching that we accept rather than weaken the rule for attackers.
const KNOWN_FALSE_POSITIVES: &[(&str, &str)] = &[(
    "security_awareness_quotes",
    "quotes \"ignore previous instructions\" as an example of an attack; quoting is not \
     a safe signal, attackers quote too",
)];
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

fn warnings(report: &Report) -> Vec<String> {
    report
        .at_least(Severity::Warning)
        .map(|f| format!("{} {} at {}: {}", f.severity, f.code, f.path, f.message))
        .collect()
}

#[test]
fn benign_cards_false_positives() {
    let cards = corpus("benign");
    assert!(
        cards.len() >= MIN_CARDS,
        "only {} benign cards",
        cards.len()
    );
    let mut flagged = Vec::new();
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
        let found = warnings(&report);
        if !found.is_empty() {
            flagged.push(format!("{name}: {found:#?}"));
        }
    }
    eprintln!(
        "benign corpus: {} of {} cards flagged at warning or worse ({:.1}%); {infos} info findings",
        flagged.len(),
        cards.len(),
        100.0 * flagged.len() as f64 / cards.len() as f64,
    );
    for f in &flagged {
        eprintln!("  {f}");
    }
    let known: Vec<&str> = KNOWN_FALSE_POSITIVES
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let unexpected: Vec<&String> = flagged
        .iter()
        .filter(|f| !known.iter().any(|k| f.starts_with(&format!("{k}:"))))
        .collect();
    assert!(
        unexpected.is_empty(),
        "new false positives:\n{unexpected:#?}"
    );
    assert_eq!(
        flagged.len(),
        known.len(),
        "a known false positive is no longer flagged: update the list"
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
    for (name, card) in &cards {
        let expected: FindingCode = name
            .split("__")
            .next()
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("{name}: file name must start with a finding code and `__`"));
        let report = lint(card, &LintLimits::default());
        if !report.has(expected, Severity::Warning) {
            missed.push(format!(
                "{name}: expected {expected}, got {:#?}",
                report.findings
            ));
        }
    }
    eprintln!(
        "hostile corpus: {} of {} cards caught with the expected code",
        cards.len() - missed.len(),
        cards.len()
    );
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
