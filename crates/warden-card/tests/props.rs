//! Properties over arbitrary JSON: lint never panics; sanitised output
//! carries no hidden or control characters, every fence holds, and
//! sanitising twice changes nothing.

use proptest::prelude::*;
use serde_json::{Map, Value};
use warden_card::lint::{FindingCode, LintLimits, Severity, lint};
use warden_card::sanitise::{FENCE_CLOSE, FENCE_OPEN, sanitise};

/// Characters that stress the scanner: hidden, control, fence brackets,
/// emoji parts, look-alikes, plus anything at all.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        3 => prop::sample::select(vec![
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{202E}', '\u{2066}', '\u{2069}',
            '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{FE0F}', '\u{FE00}', '\u{E0100}', '\u{E0041}',
            '\u{E0067}', '\u{E007F}', '\u{1F3F4}', '\u{E000}', '\u{3164}', '\u{0}', '\u{1B}',
            '\u{7F}', '\u{85}', '\u{2028}', '\u{27E6}', '\u{27E7}', '\u{301A}', '👨', '😀', 'а',
            'ο', 'ی', 'क', '1', '#', '<', '>', '[', ']', '(', ')', '!', '@', '.', ':', '/',
        ]),
        4 => prop::char::range('a', 'z'),
        1 => Just(' '),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..24).prop_map(|cs| cs.into_iter().collect())
}

/// Keys biased towards the card's own, so the field classes get exercised.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "name", "description", "url", "id", "tags", "examples", "skills", "securitySchemes",
            "securityRequirements", "security", "supportedInterfaces", "signatures", "version",
            "documentationUrl", "iconUrl", "schemes", "provider",
        ]).prop_map(str::to_owned),
        1 => tricky_string(),
    ]
}

/// Scheme prefixes a browser reads as script or data (tabs, case, leading
/// controls), followed by anything.
fn url_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "javascript:",
            "java\tscript:",
            " JaVa\nScRiPt:",
            "\u{1}vbscript:",
            "data:",
            "data:image/svg+xml,",
            "data:image/png;base64,",
            "file:",
            "http://169.254.169.254/",
            "http://0xa9fea9fe/",
            "https://",
            "\u{200B}javascript:",
        ]),
        tricky_string(),
    )
        .prop_map(|(scheme, rest)| format!("{scheme}{rest}"))
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        tricky_string().prop_map(Value::String),
        url_like().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lint_never_panics(card in json()) {
        let report = lint(&card, &LintLimits::default());
        prop_assert!(report.findings.iter().all(|f| !f.message.is_empty()));
    }

    #[test]
    fn sanitised_cards_scan_clean_and_fences_hold(card in json()) {
        let clean = sanitise(&card);
        let report = lint(&clean, &LintLimits::default());
        let dirty: Vec<_> = report
            .findings
            .iter()
            .filter(|f| matches!(f.code, FindingCode::HiddenUnicode | FindingCode::ControlChars))
            .collect();
        prop_assert!(dirty.is_empty(), "{:?}", dirty);
        // No URL field keeps a script, file or data scheme.
        let unsafe_urls: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.code == FindingCode::UnsafeUrl && f.severity == Severity::Error)
            .collect();
        prop_assert!(unsafe_urls.is_empty(), "{:?}", unsafe_urls);
        let mut all = Vec::new();
        strings(&clean, &mut all);
        for s in all {
            // Fence brackets appear only as one whole fence around a string.
            let inner = s
                .strip_prefix(FENCE_OPEN)
                .and_then(|s| s.strip_suffix(FENCE_CLOSE))
                .unwrap_or(&s);
            prop_assert!(!inner.contains(['\u{27E6}', '\u{27E7}', '\u{301A}', '\u{301B}']), "{s:?}");
        }
        prop_assert_eq!(sanitise(&clean), clean);
    }

    #[test]
    fn sanitised_strings_keep_only_visible_text(s in tricky_string()) {
        let stripped = warden_card::sanitise::strip_hidden(&s);
        prop_assert_eq!(warden_card::sanitise::strip_hidden(&stripped), stripped.clone());
        let never = ['\u{200B}', '\u{202E}', '\u{2066}', '\u{FEFF}', '\u{0}', '\u{1B}', '\u{E0041}'];
        prop_assert!(!stripped.contains(never), "{:?}", stripped);
    }
}
