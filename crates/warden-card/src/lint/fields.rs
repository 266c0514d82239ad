//! Where a string sits in a card, and a walk over every string and key.
//!
//! The lint and [`crate::sanitise`] share [`Ctx`], so a string that the lint
//! reads as free text is exactly one that sanitising fences.

use serde_json::Value;

/// How a string is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// Prose for people (and, too often, models).
    Text,
    /// A value software matches on: ids, versions, media types, scheme names.
    Identifier,
    /// A URL field.
    Url,
}

/// Keys whose string values are identifiers wherever they appear.
const IDENTIFIER_KEYS: &[&str] = &[
    "id",
    "version",
    "protocolBinding",
    "protocolVersion",
    "tenant",
    "preferredTransport",
    "transport",
    "defaultInputModes",
    "defaultOutputModes",
    "inputModes",
    "outputModes",
    "type",
    "scheme",
    "bearerFormat",
    "location",
    "in",
];

/// Top-level keys of v1.0 and v0.3 cards. Anything else is read as opaque
/// text, whatever its inner keys are called.
const CARD_KEYS: &[&str] = &[
    "name",
    "description",
    "version",
    "provider",
    "documentationUrl",
    "iconUrl",
    "supportedInterfaces",
    "capabilities",
    "securitySchemes",
    "securityRequirements",
    "defaultInputModes",
    "defaultOutputModes",
    "skills",
    "signatures",
    // v0.3
    "url",
    "protocolVersion",
    "preferredTransport",
    "additionalInterfaces",
    "security",
    "supportsAuthenticatedExtendedCard",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Card,
    SecuritySchemes,
    /// `securityRequirements` / v0.3 `security`: scheme names and scopes.
    Requirements,
    /// JWS material.
    Signatures,
    /// Unknown top-level fields and extension `params`: arbitrary JSON, so
    /// every string in it is text, even under a key called `id` or `url`
    /// (otherwise naming a key `id` would keep prose out of the fence).
    Opaque,
}

/// The position of a value: nearest key, depth, and which part of the card.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    key: Option<&'a str>,
    depth: usize,
    zone: Zone,
    /// An element of `supportedInterfaces` / `additionalInterfaces`.
    interface_item: bool,
    /// An element of `skills`.
    skill_item: bool,
    /// The URL of an interface (including the v0.3 top-level `url`).
    interface_url: bool,
}

impl<'a> Ctx<'a> {
    pub(crate) fn root() -> Self {
        Ctx {
            key: None,
            depth: 0,
            zone: Zone::Card,
            interface_item: false,
            skill_item: false,
            interface_url: false,
        }
    }

    /// The context of the member `key` of an object at this position.
    pub(crate) fn member(&self, key: &'a str) -> Self {
        let top = self.depth == 0;
        let zone = match (self.zone, key) {
            (Zone::Signatures | Zone::Opaque, _) => self.zone,
            (_, "signatures") if top => Zone::Signatures,
            (_, "securitySchemes") if top => Zone::SecuritySchemes,
            (_, "securityRequirements" | "security") if top || self.skill_item => {
                Zone::Requirements
            }
            (_, "params") => Zone::Opaque,
            (_, key) if top && !CARD_KEYS.contains(&key) => Zone::Opaque,
            (zone, _) => zone,
        };
        Ctx {
            key: Some(key),
            depth: self.depth + 1,
            zone,
            interface_item: false,
            skill_item: false,
            interface_url: key == "url" && (top || self.interface_item),
        }
    }

    /// The context of an element of an array at this position. Elements keep
    /// the array's key: an item of `tags` is read as a tag.
    pub(crate) fn element(&self) -> Self {
        Ctx {
            key: self.key,
            depth: self.depth + 1,
            zone: self.zone,
            interface_item: self.depth == 1
                && matches!(
                    self.key,
                    Some("supportedInterfaces" | "additionalInterfaces")
                ),
            skill_item: self.depth == 1 && self.key == Some("skills"),
            interface_url: false,
        }
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn kind(&self) -> FieldKind {
        match self.zone {
            Zone::Requirements | Zone::Signatures => return FieldKind::Identifier,
            Zone::Opaque => return FieldKind::Text,
            Zone::Card | Zone::SecuritySchemes => {}
        }
        let Some(key) = self.key else {
            return FieldKind::Text;
        };
        if key == "url" || key == "uri" || key.ends_with("Url") || key.ends_with("Uri") {
            FieldKind::Url
        } else if IDENTIFIER_KEYS.contains(&key)
            || (key == "name" && self.zone == Zone::SecuritySchemes)
        {
            FieldKind::Identifier
        } else {
            FieldKind::Text
        }
    }

    pub(crate) fn is_interface_url(&self) -> bool {
        self.interface_url
    }

    /// Whether this is the card's `iconUrl` (the one URL that may inline a
    /// raster image as `data:`).
    pub(crate) fn is_icon_url(&self) -> bool {
        self.depth == 1 && self.key == Some("iconUrl")
    }

    pub(crate) fn in_security_schemes(&self) -> bool {
        self.zone == Zone::SecuritySchemes
    }

    /// Whether this string is an item of a skill's `examples`.
    pub(crate) fn is_example(&self) -> bool {
        self.key == Some("examples")
    }

    /// Whether this string is a `name` (shorter length limit).
    pub(crate) fn is_name(&self) -> bool {
        self.key == Some("name")
    }
}

/// One string found by [`walk`]: a value, or an object key.
pub(crate) struct Field<'a> {
    pub(crate) text: &'a str,
    pub(crate) path: String,
    pub(crate) ctx: Ctx<'a>,
    /// The string is an object key (`path` points at its member).
    pub(crate) is_key: bool,
}

impl Field<'_> {
    pub(crate) fn kind(&self) -> FieldKind {
        if self.is_key {
            FieldKind::Identifier
        } else {
            self.ctx.kind()
        }
    }

    /// `" in the key"` for keys, for messages.
    pub(crate) fn what(&self) -> &'static str {
        if self.is_key { " in the key" } else { "" }
    }
}

pub(crate) enum Visit<'a> {
    Str(Field<'a>),
    Array { path: String, len: usize },
    TooDeep { path: String },
}

/// Visits every string, key and array, depth first in document order.
/// Iterative, so a deep value cannot overflow the stack; containers deeper
/// than `max_depth` are reported and skipped.
pub(crate) fn walk<'a>(card: &'a Value, max_depth: usize, visit: &mut dyn FnMut(Visit<'a>)) {
    let mut stack: Vec<(&'a Value, String, Ctx<'a>)> = vec![(card, String::new(), Ctx::root())];
    while let Some((value, path, ctx)) = stack.pop() {
        match value {
            Value::String(text) => visit(Visit::Str(Field {
                text,
                path,
                ctx,
                is_key: false,
            })),
            Value::Array(_) | Value::Object(_) if ctx.depth() >= max_depth => {
                visit(Visit::TooDeep { path });
            }
            Value::Array(items) => {
                visit(Visit::Array {
                    path: path.clone(),
                    len: items.len(),
                });
                let child = ctx.element();
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, format!("{path}/{i}"), child));
                }
            }
            Value::Object(map) => {
                let mut children = Vec::with_capacity(map.len());
                for (key, item) in map {
                    let member = format!("{path}/{}", pointer_segment(key));
                    visit(Visit::Str(Field {
                        text: key,
                        path: member.clone(),
                        ctx,
                        is_key: true,
                    }));
                    children.push((item, member, ctx.member(key)));
                }
                stack.extend(children.into_iter().rev());
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// A JSON Pointer segment (`~` and `/` escaped per RFC 6901), printable:
/// characters outside printable ASCII escaped and long keys cut.
pub(crate) fn pointer_segment(key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    if escaped.len() <= 64 && escaped.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        escaped
    } else {
        super::excerpt(&escaped)
    }
}
