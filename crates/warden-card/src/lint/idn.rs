//! Look-alike host names (IDNA homographs): `xn--pple-43d.com` is `аpple.com`
//! with a Cyrillic `а`, which a browser may show in Unicode.
//!
//! A host is judged on its Unicode form (every `xn--` label decoded), label
//! by label:
//!
//! - **mixed script**: a label whose letters are below UTS #39 "moderately
//!   restrictive" (Latin with Cyrillic or Greek, Cyrillic with Greek,
//!   anything with a character not allowed in identifiers). Latin with Han
//!   and kana, or Latin with Hangul, is how Japanese, Chinese and Korean
//!   names are written and passes;
//! - **whole-script look-alike**: the UTS #39 skeleton of the Unicode host
//!   is plain ASCII but differs from it (`раураl.com` all in Cyrillic, or
//!   `ɡoogle.com` with Latin script `ɡ`). An honest `münchen.de` keeps its
//!   `ü` in the skeleton, so it passes.

use unicode_security::{RestrictionLevel, RestrictionLevelDetection, skeleton};

/// Why the (ASCII, as parsed) host `host` looks like another, or `None`.
/// Hosts without `xn--` labels and without non-ASCII are never judged.
pub(crate) fn lookalike(host: &str) -> Option<String> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let has_idn = host
        .split('.')
        .any(|l| l.len() > 4 && l[..4].eq_ignore_ascii_case("xn--"));
    if !has_idn && host.is_ascii() {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(host);
    if result.is_err() {
        return Some("a host name that does not decode as IDNA".into());
    }
    for label in unicode.split('.') {
        let letters: String = label.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.is_empty() {
            continue;
        }
        if letters.as_str().detect_restriction_level() > RestrictionLevel::ModeratelyRestrictive {
            return Some(format!(
                "host label mixes scripts: \"{}\"",
                super::excerpt(label)
            ));
        }
    }
    let shape: String = skeleton(&unicode).collect();
    if shape.is_ascii() && shape != unicode {
        return Some(format!(
            "host \"{}\" passes for \"{}\"",
            super::excerpt(&unicode),
            super::excerpt(&shape)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::lookalike;

    fn ascii(host: &str) -> String {
        idna::domain_to_ascii(host).expect("test host encodes")
    }

    #[test]
    fn homographs_are_caught() {
        for host in [
            "\u{430}pple.com",                                 // Cyrillic а + Latin
            "\u{440}\u{430}\u{443}\u{440}\u{430}l.com",        // раурal: mixed
            "\u{440}\u{430}\u{443}\u{440}\u{430}\u{04CF}.com", // раураӏ: all Cyrillic
            "\u{261}oogle.com",                                // Latin script g
            "g\u{3bf}\u{3bf}gle.com",                          // Greek omicrons
            "micros\u{3bf}ft.com",
        ] {
            let encoded = ascii(host);
            assert!(encoded.contains("xn--"), "{host} -> {encoded}");
            assert!(lookalike(&encoded).is_some(), "{host} -> {encoded}");
        }
    }

    #[test]
    fn honest_idn_hosts_pass() {
        for host in [
            "m\u{fc}nchen.de",
            "\u{65e5}\u{672c}.jp",                       // 日本.jp
            "\u{4f8b}\u{3048}.\u{30c6}\u{30b9}\u{30c8}", // 例え.テスト
            "b\u{fc}cher.example",
            "\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}", // пример.рф
            "\u{3b1}\u{3b8}\u{3ae}\u{3bd}\u{3b1}.gr",                    // αθήνα.gr
            "\u{d55c}\u{ad6d}.kr",                                       // 한국.kr
            "example.com",
            "xn--",
        ] {
            let encoded = idna::domain_to_ascii(host).unwrap_or_else(|_| host.to_owned());
            assert_eq!(lookalike(&encoded), None, "{host} -> {encoded}");
        }
    }
}
