//! Reader refusals and the number layouts; the RFC vectors and properties
//! are in `tests/jcs.rs`.

use super::*;

fn canon(s: &str) -> Result<String, JcsError> {
    canonicalize(s.as_bytes(), JcsLimits::default())
        .map(|b| String::from_utf8(b).expect("canonical output is UTF-8"))
}

#[test]
fn refuses_what_has_no_single_reading() {
    assert_eq!(
        canon(r#"{"a":1,"a":2}"#),
        Err(JcsError::DuplicateKey("a".into()))
    );
    // The same key spelt with an escape is still the same key.
    assert_eq!(
        canon(r#"{"a":1,"\u0061":2}"#),
        Err(JcsError::DuplicateKey("a".into()))
    );
    assert!(matches!(
        canon(r#"["\ud800"]"#),
        Err(JcsError::LoneSurrogate { .. })
    ));
    assert!(matches!(
        canon(r#"["\udc00\ud800"]"#),
        Err(JcsError::LoneSurrogate { .. })
    ));
    assert!(matches!(
        canon(r#"["\ud800\u0041"]"#),
        Err(JcsError::LoneSurrogate { .. })
    ));
    assert_eq!(
        canonicalize(b"[\"\xff\"]", JcsLimits::default()),
        Err(JcsError::InvalidUtf8)
    );
    assert!(matches!(
        canon("[1e400]"),
        Err(JcsError::NumberOutOfRange { .. })
    ));
    assert!(matches!(
        canon("[-1e400]"),
        Err(JcsError::NumberOutOfRange { .. })
    ));
}

#[test]
fn refuses_json_syntax_errors() {
    for bad in [
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[+1]",
        "[-]",
        "[NaN]",
        "[Infinity]",
        "[tru]",
        "[nul]",
        "{a:1}",
        "['a']",
        "[\"a\tb\"]",
        "[\"\\x\"]",
        "[\"\\u12\"]",
        "{} {}",
        "\u{feff}{}",
        "[1]x",
        "{\"a\" 1}",
    ] {
        assert!(
            matches!(canon(bad), Err(JcsError::Syntax { .. })),
            "{bad:?} gave {:?}",
            canon(bad)
        );
    }
}

#[test]
fn bounds_depth_size_and_strings() {
    let limits = JcsLimits {
        max_bytes: 64,
        max_depth: 3,
        max_string_bytes: 4,
    };
    let run = |s: &str| canonicalize(s.as_bytes(), limits);
    assert!(run("[[[1]]]").is_ok());
    assert_eq!(run("[[[[1]]]]"), Err(JcsError::TooDeep(3)));
    assert!(run(r#"["abcd"]"#).is_ok());
    assert_eq!(run(r#"["abcde"]"#), Err(JcsError::StringTooLong(4)));
    assert_eq!(run(r#"{"abcde":1}"#), Err(JcsError::StringTooLong(4)));
    assert_eq!(run("[12345]"), Err(JcsError::StringTooLong(4)));
    assert_eq!(run(&" ".repeat(65)), Err(JcsError::TooLarge(64)));
    // Far deeper than the limit is refused without exhausting the stack.
    let deep = "[".repeat(100_000);
    assert!(matches!(
        canonicalize(
            deep.as_bytes(),
            JcsLimits {
                max_bytes: 1 << 20,
                ..JcsLimits::default()
            }
        ),
        Err(JcsError::TooDeep(64))
    ));
}

#[test]
fn ecmascript_layout() {
    let cases = [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (123.456, "123.456"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (1e-6, "0.000001"),
        (1.25e-6, "0.00000125"),
        (1e-7, "1e-7"),
        (-1.5e-7, "-1.5e-7"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        // Ties between two shortest candidates go to the even digit:
        // exactly 773744735207156.25 and -4391730776688.28125.
        (f64::from_bits(0x4305_fdbb_e0b5_f7a2), "773744735207156.2"),
        (f64::from_bits(0xc28f_f43c_6c53_8240), "-4391730776688.2812"),
    ];
    for (x, want) in cases {
        assert_eq!(ecmascript_number(x).as_deref(), Some(want), "{x:e}");
    }
    assert_eq!(ecmascript_number(f64::NAN), None);
    assert_eq!(ecmascript_number(f64::INFINITY), None);
}

#[test]
fn python_repr_layout() {
    // Each expected string is what CPython 3.11 prints for repr(x).
    let cases = [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (1e-4, "0.0001"),
        (1e-5, "1e-05"),
        (1.5e-5, "1.5e-05"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (123_456_789.25, "123456789.25"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        // Exactly 773744735207156.25 and 1939231862247588.25: ties to even.
        (f64::from_bits(0x4305_fdbb_e0b5_f7a2), "773744735207156.2"),
        (f64::from_bits(0x431b_8ee2_6925_4291), "1939231862247588.2"),
    ];
    for (x, want) in cases {
        assert_eq!(python_number(x).as_deref(), Some(want), "{x:e}");
    }
}

#[test]
fn utf16_order_differs_from_code_point_order() {
    // U+1F600 is 0xD83D 0xDE00 in UTF-16, below U+FF01, though above it as
    // a code point.
    assert_eq!(
        utf16_order("\u{1F600}", "\u{FF01}"),
        std::cmp::Ordering::Less
    );
    assert!("\u{1F600}" > "\u{FF01}");
}
