//! Structural checks: URL schemes, security schemes and requirements, sizes.

use std::io;

use serde_json::{Map, Value};

use super::fields::{Field, FieldKind, pointer_segment};
use super::hosts::{self, Place};
use super::weburl::{self, UnsafeScheme};
use super::{FindingCode, LintLimits, Severity, Sink, excerpt};

/// Card-level checks (the per-string ones are called from the walk).
pub(crate) fn check(card: &Value, limits: &LintLimits, sink: &mut Sink) {
    let bytes = serialised_len(card);
    if bytes > limits.max_card_bytes {
        sink.push(
            FindingCode::OversizeField,
            Severity::Error,
            String::new(),
            format!(
                "the card is {bytes} bytes, over the limit of {}",
                limits.max_card_bytes
            ),
        );
    }
    let Some(card) = card.as_object() else {
        return;
    };
    security(card, sink);
    if let Some(Value::Array(skills)) = card.get("skills")
        && skills.len() > limits.max_skills
    {
        sink.push(
            FindingCode::OversizeField,
            Severity::Warning,
            "/skills".into(),
            format!(
                "{} skills, over the limit of {}",
                skills.len(),
                limits.max_skills
            ),
        );
    }
}

pub(crate) fn check_array(path: &str, len: usize, limits: &LintLimits, sink: &mut Sink) {
    if len > limits.max_list_items {
        sink.push(
            FindingCode::OversizeField,
            Severity::Warning,
            path.to_owned(),
            format!("{len} items, over the limit of {}", limits.max_list_items),
        );
    }
}

pub(crate) fn check_length(field: &Field<'_>, limits: &LintLimits, sink: &mut Sink) {
    let limit = if field.is_key || field.ctx.is_name() {
        limits.max_name_chars
    } else if field.kind() == FieldKind::Text {
        limits.max_text_chars
    } else {
        limits.max_identifier_chars
    };
    // Bytes bound characters from above: count only when it can matter.
    if field.text.len() <= limit {
        return;
    }
    let chars = field.text.chars().count();
    if chars > limit {
        sink.push(
            FindingCode::OversizeField,
            Severity::Warning,
            field.path.clone(),
            format!(
                "{chars} characters{}, over the limit of {limit}",
                field.what()
            ),
        );
    }
}

/// Scheme, user-info and destination checks on a URL field. The value is
/// read as a browser reads it ([`weburl`]): `java\tscript:` is
/// `javascript:`.
pub(crate) fn check_url(field: &Field<'_>, sink: &mut Sink) {
    let url = weburl::clean(field.text);
    let shown = excerpt(field.text.trim());
    let path = field.path.clone();
    if let Some(bad) = weburl::unsafe_scheme(field.text, field.ctx.is_icon_url()) {
        let what = match bad {
            UnsafeScheme::Data if field.ctx.is_icon_url() => {
                "data: URL that is not a raster image (png, jpeg, gif, webp)"
            }
            UnsafeScheme::Data => "data: URL (content carried past every fetcher)",
            UnsafeScheme::Script(_) => "script URL",
            UnsafeScheme::File => "file: URL",
        };
        sink.push(
            FindingCode::UnsafeUrl,
            Severity::Error,
            path.clone(),
            format!("{what} ({}): \"{shown}\"", bad.describe()),
        );
    }
    let scheme = weburl::scheme(&url);
    match scheme.as_deref() {
        Some(scheme @ ("http" | "ws")) if field.ctx.is_interface_url() => sink.push(
            FindingCode::InsecureInterface,
            Severity::Warning,
            path.clone(),
            format!("interface over plain {scheme} (no TLS): \"{shown}\""),
        ),
        Some(scheme @ ("http" | "ws")) => sink.push(
            FindingCode::InsecureUrl,
            // Token and authorisation endpoints over http leak credentials.
            if field.ctx.in_security_schemes() {
                Severity::Warning
            } else {
                Severity::Info
            },
            path.clone(),
            format!("URL over plain {scheme}: \"{shown}\""),
        ),
        _ => {}
    }
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
        if authority.contains('@') {
            sink.push(
                FindingCode::UnsafeUrl,
                Severity::Warning,
                path,
                format!("user-info in URL (the host is after the '@'): \"{shown}\""),
            );
        }
    }
    let place = if field.ctx.is_interface_url() {
        Place::Interface
    } else {
        Place::UrlField
    };
    hosts::check(field.text, place, field, sink);
}

/// `no_security_scheme` and `unknown_security_scheme`.
fn security(card: &Map<String, Value>, sink: &mut Sink) {
    let declared: Vec<&str> = card
        .get("securitySchemes")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut required = Vec::new();
    requirements(card, "", &mut required);
    if let Some(Value::Array(skills)) = card.get("skills") {
        for (i, skill) in skills.iter().enumerate() {
            if let Some(skill) = skill.as_object() {
                requirements(skill, &format!("/skills/{i}"), &mut required);
            }
        }
    }
    if declared.is_empty() {
        sink.push(
            FindingCode::NoSecurityScheme,
            Severity::Warning,
            "/securitySchemes".into(),
            "no security schemes declared: the card asks callers for no credentials".into(),
        );
    } else if required.is_empty() {
        sink.push(
            FindingCode::NoSecurityScheme,
            Severity::Info,
            "/securityRequirements".into(),
            "security schemes are declared but no requirement uses them".into(),
        );
    }
    for (path, name) in required {
        if !declared.contains(&name) {
            sink.push(
                FindingCode::UnknownSecurityScheme,
                Severity::Warning,
                path,
                format!(
                    "requirement names an undeclared scheme: \"{}\"",
                    excerpt(name)
                ),
            );
        }
    }
}

/// Scheme names required by `obj`: v1.0 `securityRequirements`
/// (`[{"schemes": {name: {"list": [...]}}}]`) and v0.3 `security`
/// (`[{name: [scopes]}]`).
fn requirements<'a>(obj: &'a Map<String, Value>, base: &str, out: &mut Vec<(String, &'a str)>) {
    for key in ["securityRequirements", "security"] {
        let Some(Value::Array(list)) = obj.get(key) else {
            continue;
        };
        for (i, req) in list.iter().enumerate() {
            let Some(req) = req.as_object() else {
                continue;
            };
            let (names, prefix) = match req.get("schemes").and_then(Value::as_object) {
                Some(schemes) => (schemes, format!("{base}/{key}/{i}/schemes")),
                None => (req, format!("{base}/{key}/{i}")),
            };
            for name in names.keys() {
                out.push((format!("{prefix}/{}", pointer_segment(name)), name.as_str()));
            }
        }
    }
}

fn serialised_len(card: &Value) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; if it somehow did, the partial count
    // is still a lower bound.
    let _ = serde_json::to_writer(&mut count, card);
    count.0
}
