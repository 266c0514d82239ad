//! Reading a URL the way a browser does before it acts on it (WHATWG URL
//! Standard, "basic URL parser"): leading and trailing C0 controls and
//! spaces are stripped, ASCII tab, LF and CR are removed *anywhere*, and the
//! scheme is case-insensitive. So `java\tscript:`, ` JaVaScRiPt:` and
//! `java\nscript:` are all `javascript:`. Inside an HTML attribute the value
//! is also decoded first (`java&#x09;script:`, `javascript&colon;`).
//!
//! Only reading: nothing here resolves a name or opens a connection.

use std::borrow::Cow;

/// Why a scheme is unsafe in a link, or `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnsafeScheme {
    /// `javascript:`, `vbscript:`: runs script where it is followed.
    Script(&'static str),
    /// `file:`: reads the follower's own disk.
    File,
    /// `data:`: content the card carries past every fetcher and filter (an
    /// `image/svg+xml` or `text/html` one runs script).
    Data,
}

impl UnsafeScheme {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            UnsafeScheme::Script(s) => s,
            UnsafeScheme::File => "file:",
            UnsafeScheme::Data => "data:",
        }
    }
}

/// Raster image types an `iconUrl` may inline as `data:`. Never
/// `image/svg+xml`: an SVG is a document and runs script.
const INLINE_IMAGES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/jpg",
    "image/gif",
    "image/webp",
];

/// `raw` as a browser's URL parser sees it: C0 controls and spaces trimmed
/// from both ends, tab/LF/CR removed everywhere.
pub(crate) fn clean(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim_matches(|c: char| c <= ' ');
    if trimmed.contains(['\t', '\n', '\r']) {
        Cow::Owned(
            trimmed
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect(),
        )
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// The scheme of a cleaned URL, lower-cased: `ALPHA *( ALPHA / DIGIT / "+" /
/// "-" / "." )` before the first `:`. `None` for a relative reference.
pub(crate) fn scheme(clean: &str) -> Option<String> {
    let (scheme, _) = clean.split_once(':')?;
    let ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then(|| scheme.to_ascii_lowercase())
}

/// Judges the scheme of `raw` (read as a browser would). `icon` allows the
/// raster `data:image/…` types an icon may inline.
pub(crate) fn unsafe_scheme(raw: &str, icon: bool) -> Option<UnsafeScheme> {
    let clean = clean(raw);
    match scheme(&clean)?.as_str() {
        "javascript" => Some(UnsafeScheme::Script("javascript:")),
        "vbscript" => Some(UnsafeScheme::Script("vbscript:")),
        "file" => Some(UnsafeScheme::File),
        "data" if icon && is_inline_image(&clean["data:".len()..]) => None,
        "data" => Some(UnsafeScheme::Data),
        _ => None,
    }
}

/// `image/png;base64,…` and friends: the media type before `;` or `,`.
fn is_inline_image(body: &str) -> bool {
    let media = body
        .split([';', ','])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    INLINE_IMAGES.contains(&media.as_str()) && body.contains(',')
}

/// Decodes HTML character references in an attribute value, as a browser
/// does before the value reaches the URL parser: decimal and hex numeric
/// references (`&#9;`, `&#x09;`, with or without `;`) and the named ones
/// that matter for a scheme (`&Tab;`, `&NewLine;`, `&colon;`, …). Bounded:
/// one pass, each reference at most 12 bytes.
pub(crate) fn decode_refs(value: &str) -> Cow<'_, str> {
    if !value.contains('&') {
        return Cow::Borrowed(value);
    }
    const NAMED: &[(&str, char)] = &[
        ("tab;", '\t'),
        ("newline;", '\n'),
        ("colon;", ':'),
        ("sol;", '/'),
        ("period;", '.'),
        ("lpar;", '('),
        ("rpar;", ')'),
        ("amp;", '&'),
        ("quot;", '"'),
        ("apos;", '\''),
        ("lt;", '<'),
        ("gt;", '>'),
        ("nbsp;", '\u{A0}'),
    ];
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some((c, len)) = numeric_ref(after) {
            out.push(c);
            rest = &after[len..];
            continue;
        }
        let lower: String = after
            .chars()
            .take(9)
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some((name, c)) = NAMED.iter().find(|(n, _)| lower.starts_with(n)) {
            out.push(*c);
            rest = &after[name.len()..];
            continue;
        }
        out.push('&');
        rest = after;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `#9;`, `#x09`, `#X9;` at the start of `s`: the character and the bytes
/// used.
fn numeric_ref(s: &str) -> Option<(char, usize)> {
    let body = s.strip_prefix('#')?;
    let (radix, digits_at) = match body.chars().next()? {
        'x' | 'X' => (16, 2),
        _ => (10, 1),
    };
    let digits = &s[digits_at..];
    let len = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if len == 0 || len > 8 {
        return None;
    }
    let n = u32::from_str_radix(&digits[..len], radix).ok()?;
    let c = char::from_u32(n).unwrap_or('\u{FFFD}');
    let semi = usize::from(digits[len..].starts_with(';'));
    Some((c, digits_at + len + semi))
}

/// The host as written between `//` (after any user-info) and the port or
/// path, lower-cased, for comparing with what the parser made of it.
pub(crate) fn written_host(clean: &str) -> Option<String> {
    let (_, rest) = clean.split_once("://")?;
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port
            .find(']')
            .map_or(host_port, |end| &host_port[..=end])
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    Some(host.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_reading_of_schemes() {
        for raw in [
            "javascript:alert(1)",
            "java\tscript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "\u{1}\u{1F}javascript:alert(1)",
            "java\nscript:alert(1)",
            "j\ra\tv\na script:alert(1)".replace(' ', "").as_str(),
        ] {
            assert_eq!(
                unsafe_scheme(raw, false),
                Some(UnsafeScheme::Script("javascript:")),
                "{raw:?}"
            );
        }
        assert_eq!(
            unsafe_scheme("VBScript:msgbox", false),
            Some(UnsafeScheme::Script("vbscript:"))
        );
        assert_eq!(unsafe_scheme("https://a.example/javascript:", false), None);
        assert_eq!(unsafe_scheme("javascript-guide.html", false), None);
        assert_eq!(unsafe_scheme("agent.example.com:443", false), None);
    }

    #[test]
    fn data_urls_only_raster_icons() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        assert_eq!(unsafe_scheme(png, true), None);
        assert_eq!(unsafe_scheme(png, false), Some(UnsafeScheme::Data));
        for raw in [
            "data:image/svg+xml;base64,PHN2Zz4=",
            "data:image/svg+xml,<svg onload=alert(1)>",
            "data:text/html,<script>alert(1)</script>",
            "DATA:image/png",
            "data:,hello",
            "da\tta:image/svg+xml,x",
        ] {
            assert_eq!(unsafe_scheme(raw, true), Some(UnsafeScheme::Data), "{raw}");
        }
        assert_eq!(unsafe_scheme("Data:IMAGE/GIF;base64,R0lG", true), None);
    }

    #[test]
    fn character_references_are_decoded() {
        assert_eq!(
            decode_refs("java&#x09;script&colon;alert(1)"),
            "java\tscript:alert(1)"
        );
        assert_eq!(decode_refs("&#106;&#97vascript:"), "javascript:");
        assert_eq!(decode_refs("a&Tab;b&NewLine;c"), "a\tb\nc");
        assert_eq!(decode_refs("R&D &amp x"), "R&D &amp x");
        assert_eq!(decode_refs("&#x110000;"), "\u{FFFD}");
        assert_eq!(decode_refs("&#"), "&#");
    }

    #[test]
    fn written_hosts() {
        assert_eq!(
            written_host("http://u:p@0x7F.1:80/x").as_deref(),
            Some("0x7f.1")
        );
        assert_eq!(written_host("http://[::1]:8080/").as_deref(), Some("[::1]"));
        assert_eq!(
            written_host("http://Example.COM.").as_deref(),
            Some("example.com.")
        );
        assert_eq!(written_host("mailto:x@y"), None);
    }
}
