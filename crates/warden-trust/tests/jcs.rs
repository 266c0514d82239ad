//! RFC 8785 canonicalisation: the shared number vectors, the RFC's own
//! examples, ordering and escaping cases, and properties (idempotence; any
//! reformatting of the same document gives the same bytes).

use std::collections::BTreeMap;

use proptest::prelude::*;
use warden_trust::jcs::{JcsLimits, canonicalize, ecmascript_number};

fn canon(s: &str) -> String {
    let bytes = canonicalize(s.as_bytes(), JcsLimits::default())
        .unwrap_or_else(|e| panic!("{s:?} has no canonical form: {e}"));
    String::from_utf8(bytes).expect("canonical output is UTF-8")
}

/// A copy of the project's shared RFC 8785 number vectors
/// (`shared/testdata/jcs-numbers.tsv`), kept in the repository so a clone
/// tests on its own.
const NUMBER_VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/jcs-numbers.tsv");

#[test]
fn shared_number_vectors() {
    let text = std::fs::read_to_string(NUMBER_VECTORS)
        .unwrap_or_else(|e| panic!("read {NUMBER_VECTORS}: {e}"));
    let mut count = 0;
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (input, want) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("vector line without a tab: {line:?}"));
        assert_eq!(canon(input), want, "top-level {input}");
        assert_eq!(
            canon(&format!("[{input}]")),
            format!("[{want}]"),
            "in an array"
        );
        assert_eq!(
            canon(&format!("{{\"n\": {input}}}")),
            format!("{{\"n\":{want}}}"),
            "as a member"
        );
        count += 1;
    }
    assert!(count >= 20, "only {count} vectors read");
}

#[test]
fn rfc8785_section_3_2_2_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    assert_eq!(
        canon(input),
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
         \"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
    );
}

#[test]
fn rfc8785_section_3_2_3_sorting_example() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                \"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\
                \"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canon(input), want);
}

#[test]
fn keys_sort_by_utf16_code_units_not_code_points() {
    // U+1F600 (D83D DE00) sorts before U+FF01 in UTF-16, after it by code
    // point; U+E000 likewise; ASCII and Latin-1 come first either way.
    let input = "{\"\u{FF01}\":1,\"\u{1F600}\":2,\"\u{E000}\":3,\"z\":4,\"\u{E9}\":5}";
    let want = "{\"z\":4,\"\u{E9}\":5,\"\u{1F600}\":2,\"\u{E000}\":3,\"\u{FF01}\":1}";
    assert_eq!(canon(input), want);
    // A shared prefix: the shorter key first.
    assert_eq!(
        canon(r#"{"ab":1,"a":2,"a😀":3}"#),
        r#"{"a":2,"ab":1,"a😀":3}"#
    );
}

#[test]
fn strings_escape_only_what_rfc8785_requires() {
    assert_eq!(
        canon(r#"["\u0000\u0001\u001f\u007f\b\f\n\r\t\"\\\/"]"#),
        "[\"\\u0000\\u0001\\u001f\u{7f}\\b\\f\\n\\r\\t\\\"\\\\/\"]"
    );
    // Non-ASCII stays literal, however it was written.
    assert_eq!(canon(r#"["\u00e9\u4e2d\ud83d\ude00"]"#), "[\"é中😀\"]");
    assert_eq!(canon("[\"é中😀\"]"), "[\"é中😀\"]");
    // U+2028/2029 are not escaped (JSON.stringify does not either).
    assert_eq!(canon(r#"["\u2028\u2029"]"#), "[\"\u{2028}\u{2029}\"]");
}

#[test]
fn nested_documents_sort_at_every_level() {
    assert_eq!(
        canon(
            r#" { "b" : [ { "y" : 1 , "x" : [ ] } , { } ] , "a" : { "d" : null , "c" : -0.0 } } "#
        ),
        r#"{"a":{"c":0,"d":null},"b":[{"x":[],"y":1},{}]}"#
    );
    assert_eq!(canon("[[[]],{}]"), "[[[]],{}]");
}

#[test]
fn out_of_range_numbers_are_refused() {
    for text in ["1e309", "-1e309", "[1e400]", "{\"a\":123e999}"] {
        assert!(
            canonicalize(text.as_bytes(), JcsLimits::default()).is_err(),
            "{text}"
        );
    }
    // Underflow is a number (zero), as in ECMAScript.
    assert_eq!(canon("1e-400"), "0");
}

// ------------------------------------------------------------- properties

/// A JSON document with unique keys, to be written out in several ways.
#[derive(Debug, Clone)]
enum Doc {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<Doc>),
    Map(BTreeMap<String, Doc>),
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        Just(Doc::Null),
        any::<bool>().prop_map(Doc::Bool),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Doc::Number),
        (-1_000_000i64..1_000_000).prop_map(|i| Doc::Number(i as f64)),
        any::<String>().prop_map(Doc::Text),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Doc::List),
            prop::collection::btree_map(any::<String>(), inner, 0..6).prop_map(Doc::Map),
        ]
    })
}

/// How to write a document: compact in sorted order, or spaced out in
/// reverse order with every non-ASCII character and some ASCII escaped.
#[derive(Debug, Clone, Copy)]
enum Style {
    Compact,
    Loose,
}

fn write_string(s: &str, style: Style, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match (c, style) {
            ('"', _) => out.push_str("\\\""),
            ('\\', Style::Compact) => out.push_str("\\\\"),
            ('\\', Style::Loose) => out.push_str("\\u005C"),
            ('/', Style::Loose) => out.push_str("\\/"),
            (c, Style::Compact) if u32::from(c) >= 0x20 => out.push(c),
            (c, _) => {
                if u32::from(c) >= 0x20 && c.is_ascii_alphanumeric() {
                    out.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
        }
    }
    out.push('"');
}

fn write_doc(d: &Doc, style: Style, out: &mut String) {
    let sep = match style {
        Style::Compact => "",
        Style::Loose => " \n\t ",
    };
    match d {
        Doc::Null => out.push_str("null"),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Number(x) => match style {
            Style::Compact => out.push_str(&format!("{x}")),
            Style::Loose => out.push_str(&format!("{x:E}")),
        },
        Doc::Text(s) => write_string(s, style, out),
        Doc::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(sep);
                write_doc(item, style, out);
            }
            out.push_str(sep);
            out.push(']');
        }
        Doc::Map(members) => {
            out.push('{');
            let ordered: Vec<_> = match style {
                Style::Compact => members.iter().collect(),
                Style::Loose => members.iter().rev().collect(),
            };
            for (i, (k, v)) in ordered.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(sep);
                write_string(k, style, out);
                out.push_str(sep);
                out.push(':');
                out.push_str(sep);
                write_doc(v, style, out);
            }
            out.push_str(sep);
            out.push('}');
        }
    }
}

fn render(d: &Doc, style: Style) -> String {
    let mut out = String::new();
    write_doc(d, style, &mut out);
    out
}

proptest! {
    #[test]
    fn canonical_form_is_a_fixed_point(d in doc()) {
        let once = canon(&render(&d, Style::Compact));
        prop_assert_eq!(canon(&once), once);
    }

    #[test]
    fn reformatting_does_not_change_the_canonical_bytes(d in doc()) {
        prop_assert_eq!(canon(&render(&d, Style::Compact)), canon(&render(&d, Style::Loose)));
    }

    #[test]
    fn numbers_round_trip_through_their_canonical_text(x in any::<f64>()) {
        prop_assume!(x.is_finite());
        let text = ecmascript_number(x).expect("finite numbers have a form");
        let back: f64 = text.parse().expect("canonical number text parses");
        prop_assert_eq!(back, if x == 0.0 { 0.0 } else { x });
        prop_assert_eq!(canon(&format!("{x:e}")), text);
    }
}
