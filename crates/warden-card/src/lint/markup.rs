//! HTML and markdown in free text. A card shown in a web UI, or a model's
//! answer rendered as markdown, turns these into requests: an image URL that
//! carries the conversation in its query string is fetched without a click.

use super::fields::Field;
use super::links::{Link, chunks, classify};
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
    for (at, image) in markdown_links(&lower) {
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
    for chunk in chunks(&lower) {
        if classify(chunk) == Some(Link::Url { script: true }) {
            report(Severity::Error, "script or data link", chunk);
        }
    }
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

/// `(offset, is_image)` of each `[text](target)` on one line.
fn markdown_links(text: &str) -> Vec<(usize, bool)> {
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
            out.push((if image { open - 1 } else { open }, image));
        }
    }
    out
}
