//! Messages and the four kinds of part (spec reference §3.1–§3.2).

use base64::Engine as _;
use serde::{Deserialize, Serialize, de::Error as _};
use serde_json::{Map, Value};

use super::de::{any_value, present};

/// Who sent a message. Only the canonical ProtoJSON names are accepted: the
/// enum integers and v0.3 lower-case spellings are refused in v1.0 bodies.
///
/// Read from a JSON string only: serde's derived enum reader would also take the
/// externally tagged object form `{"ROLE_USER": null}`, which ProtoJSON refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub enum Role {
    #[serde(rename = "ROLE_UNSPECIFIED")]
    Unspecified,
    #[serde(rename = "ROLE_USER")]
    User,
    #[serde(rename = "ROLE_AGENT")]
    Agent,
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "ROLE_UNSPECIFIED" => Ok(Self::Unspecified),
            "ROLE_USER" => Ok(Self::User),
            "ROLE_AGENT" => Ok(Self::Agent),
            _ => Err(format!(
                "unknown role {s:?}, expected ROLE_USER, ROLE_AGENT or ROLE_UNSPECIFIED"
            )),
        }
    }
}

/// One unit of communication between a client and an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Message {
    pub message_id: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub context_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_id: Option<String>,
    pub role: Role,
    pub parts: Vec<Part>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<Map<String, Value>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub extensions: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_task_ids: Option<Vec<String>>,
}

/// The content of a part: exactly one of the four kinds (a proto `oneof`).
#[derive(Debug, Clone, PartialEq)]
pub enum PartContent {
    Text(String),
    /// Inline bytes, kept in their base64 form (checked to decode).
    Raw(String),
    Url(String),
    Data(Value),
}

/// A piece of a message or artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub content: PartContent,
    pub metadata: Option<Map<String, Value>>,
    pub filename: Option<String>,
    pub media_type: Option<String>,
}

impl Part {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: PartContent::Text(text.into()),
            metadata: None,
            filename: None,
            media_type: None,
        }
    }
}

/// The wire form of a part, before the `oneof` rule is applied.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WirePart {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    text: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    raw: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    url: Option<String>,
    #[serde(
        default,
        deserialize_with = "any_value",
        skip_serializing_if = "Option::is_none"
    )]
    data: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    metadata: Option<Map<String, Value>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    filename: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    media_type: Option<String>,
}

/// Decodes base64 the way ProtoJSON allows: standard or URL-safe alphabet,
/// with or without padding.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WirePart::deserialize(d)?;
        let mut kinds = Vec::new();
        if let Some(t) = w.text {
            kinds.push(PartContent::Text(t));
        }
        if let Some(r) = w.raw {
            if decode_base64(&r).is_none() {
                return Err(D::Error::custom("part.raw is not valid base64"));
            }
            kinds.push(PartContent::Raw(r));
        }
        if let Some(u) = w.url {
            kinds.push(PartContent::Url(u));
        }
        if let Some(v) = w.data {
            kinds.push(PartContent::Data(v));
        }
        if kinds.len() != 1 {
            return Err(D::Error::custom(format!(
                "a part must have exactly one of text, raw, url or data (found {})",
                kinds.len()
            )));
        }
        let content = kinds.remove(0);
        Ok(Part {
            content,
            metadata: w.metadata,
            filename: w.filename,
            media_type: w.media_type,
        })
    }
}

impl Serialize for Part {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut w = WirePart {
            metadata: self.metadata.clone(),
            filename: self.filename.clone(),
            media_type: self.media_type.clone(),
            ..WirePart::default()
        };
        match &self.content {
            PartContent::Text(t) => w.text = Some(t.clone()),
            PartContent::Raw(r) => w.raw = Some(r.clone()),
            PartContent::Url(u) => w.url = Some(u.clone()),
            PartContent::Data(v) => w.data = Some(v.clone()),
        }
        w.serialize(s)
    }
}
