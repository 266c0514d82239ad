//! HTML and markdown in free text. A card shown in a web UI, or a model's
//! answer rendered as markdown, turns these into requests: an image URL that
//! carries the conversation in its query string is fetched without a click.

use super::fields::Field;
use super::links::{Link, chunks, classify};
use super::weburl::{self, UnsafeScheme, decode_refs};
use super::{FindingCode, Severity, Sink};

/// Tags that load, run or restyle something.
const ACTIVE_TAGS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "img", "image", "svg",
    "math", "style", "link", "meta", "base", "form", "portal", "video", "audio", "source",
];

/// Tags that act on a click or take input.
const INTERACTIVE_TAGS: &[&str] = &["input", "button", "textarea", "select", "details", "dialog"];

pub(crate) fn check(visible: &str, field: &Field<'_>, sink: &mut Sink) {
    let lower = visible.to_lowercase();
    let mut report = |severity, what: &str, shown: &str| {
        sink.push_with(FindingCode::MarkupInjection, severity, &field.path, || {
            format!("{what}: \"{}\"", super::excerpt(shown))
        });
    };
    for (start, tag, body) in tags(&lower) {
        if let Some(bad) = attribute_values(body).find_map(|v| unsafe_target(&decode_refs(v))) {
            report(
                Severity::Error,
                &format!("{} URL in an HTML attribute", bad.describe()),
                &lower[start..],
            );
        }
        if ACTIVE_TAGS.contains(&tag) || has_handler(body) {
            report(Severity::Error, "active HTML tag", &lower[start..]);
        } else if (tag == "a" && body.contains("href")) || INTERACTIVE_TAGS.contains(&tag) {
            report(Severity::Warning, "HTML link or control", &lower[start..]);
        } else {
            report(Severity::Info, "tag-like markup", &lower[start..]);
        }
    }
    if let Some(at) = lower.find("<!--") {
        report(
            Severity::Warning,
            "HTML comment (hidden when rendered)",
            &lower[at..],
        );
    }
    for (at, image, target) in markdown_links(&lower) {
        if let Some(bad) = unsafe_target(link_target(&lower[target..])) {
            report(
                Severity::Error,
                &format!("{} URL as a markdown link target", bad.describe()),
                &lower[at..],
            );
        }
        if image {
            report(
                Severity::Error,
                "markdown image (fetched when rendered)",
                &lower[at..],
            );
        } else {
            report(Severity::Warning, "markdown link", &lower[at..]);
        }
    }
    for line in lower.lines() {
        // A reference definition, `[label]: target`, is a link too.
        let line = line.trim_start();
        if let Some(close) = line.strip_prefix('[').and_then(|l| l.find("]:"))
            && let Some(bad) = unsafe_target(link_target(&line[close + 3..]))
        {
            report(
                Severity::Error,
                &format!("{} URL in a markdown link definition", bad.describe()),
                line,
            );
        }
    }
    for chunk in chunks(&lower) {
        if classify(chunk) == Some(Link::Url { script: true }) {
            report(Severity::Error, "script or data link", chunk);
        }
    }
}

/// A link target read as a browser reads it: script, `file:` and every
/// `data:` (text has no icon to inline) are unsafe.
fn unsafe_target(target: &str) -> Option<UnsafeScheme> {
    weburl::unsafe_scheme(target, false)
}

/// The target of a markdown link: up to the closing `)` (tabs and newlines
/// included: a browser removes them), at most 128 bytes.
fn link_target(after: &str) -> &str {
    let mut end = after.len().min(128);
    while !after.is_char_boundary(end) {
        end -= 1;
    }
    let window = &after[..end];
    let window = window.trim_start_matches([' ', '<']);
    let stop = window
        .find([')', '>', '"', '\'', ' ', '[', ']'])
        .unwrap_or(window.len());
    &window[..stop]
}

/// The values of `name=value` attributes in a tag body: quoted (up to the
/// matching quote) or unquoted (up to whitespace). The first 16 only, so a
/// body of `=====` stays linear.
fn attribute_values(body: &str) -> impl Iterator<Item = &str> {
    body.match_indices('=').take(16).filter_map(|(at, _)| {
        let rest = body[at + 1..].trim_start();
        match rest.chars().next()? {
            q @ ('"' | '\'') => {
                let inner = &rest[1..];
                Some(&inner[..inner.find(q).unwrap_or(inner.len())])
            }
            _ => Some(&rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())]),
        }
    })
}

/// `(offset, name, attributes)` of each `<name …>` or `</name>`.
fn tags(text: &str) -> Vec<(usize, &str, &str)> {
    let mut out = Vec::new();
    for (start, _) in text.match_indices('<') {
        let rest = &text[start + 1..];
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let after = &rest[name_len..];
        // A tag ends within a line's worth of text and before the next `<`;
        // stopping at `<` also keeps the scan linear on `<a<a<a…`.
        let Some((close, '>')) = after
            .char_indices()
            .take(400)
            .find(|&(_, c)| c == '>' || c == '<')
        else {
            continue;
        };
        let body = &after[..close];
        if body.is_empty() || body.starts_with([' ', '/', '\t', '\n']) {
            out.push((start, name, body));
        }
    }
    out
}

/// An event-handler attribute: `on<letters>` at an attribute start, then `=`.
fn has_handler(body: &str) -> bool {
    body.match_indices("on").any(|(i, _)| {
        let starts_attr = body[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '/' | '"' | '\''));
        let rest = &body[i + 2..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        starts_attr && name_len > 0 && rest[name_len..].trim_start().starts_with('=')
    })
}

/// `(offset, is_image, target offset)` of each `[text](target)` on one
/// line.
fn markdown_links(text: &str) -> Vec<(usize, bool, usize)> {
    let mut out = Vec::new();
    for (mid, _) in text.match_indices("](") {
        // Look back at most 200 bytes (link text is short), on this line:
        // bounded so `](](](…` stays linear.
        let mut from = mid.saturating_sub(200);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let window = &text[from..mid];
        let line = window.rfind('\n').map_or(window, |n| &window[n + 1..]);
        let line_start = mid - line.len();
        if let Some(open) = line.rfind('[') {
            let open = line_start + open;
            let image = text[..open].ends_with('!');
            out.push((if image { open - 1 } else { open }, image, mid + 2));
        }
    }
    out
}
