//! Field names and unknown fields: from what a caller may send to the one
//! canonical form Warden forwards.
//!
//! ProtoJSON, which defines A2A v1.0's JSON, requires parsers to accept a
//! field under its lowerCamelCase JSON name **and** its proto name
//! (`taskId` and `task_id`), and an enum as its name or its number. The
//! agent behind Warden accepts all of these, so Warden does too, but it
//! forwards only the canonical spelling (JSON names, enum names): the agent
//! then reads exactly what Warden read. A message that names one field
//! twice, once in each spelling, is refused: two readers could each pick a
//! different copy.
//!
//! Unknown fields follow [`UnknownFields`]: refused (the default), or
//! dropped before the call is forwarded and listed for the audit, so the
//! agent never acts on data Warden did not read.
//!
//! v1.0 request messages only: v0.3's JSON is defined by its JSON schema
//! (camelCase only), and the JSON-RPC envelope by JSON-RPC 2.0; both stay
//! as strict as before.

use std::fmt;

use serde_json::{Map, Value};

use crate::json::JsonLimits;
use crate::op::Operation;

mod schema;
#[cfg(test)]
mod tests;

use schema::{Field, Kind, Spelling, lookup, request_fields};

/// What happens to a field Warden does not know (`[protocol] unknown_fields`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnknownFields {
    /// The call is refused (`-32602` / 400), naming the field.
    #[default]
    Refuse,
    /// The field is removed before the call is forwarded, and listed in
    /// [`Rewrite::dropped`].
    Drop,
}

/// How strictly a call is read: the JSON caps and the unknown-field rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRules {
    pub json: JsonLimits,
    pub unknown_fields: UnknownFields,
}

impl From<JsonLimits> for ReadRules {
    fn from(json: JsonLimits) -> Self {
        Self {
            json,
            unknown_fields: UnknownFields::Refuse,
        }
    }
}

/// What reading changed on the way to the canonical form. Empty when the
/// call arrived canonical (the usual case): then it is forwarded as it came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// The body to forward instead of the one that arrived.
    pub body: Option<Vec<u8>>,
    /// The query string to forward instead of the one that arrived (REST).
    pub query: Option<String>,
    /// The fields removed under [`UnknownFields::Drop`], as paths
    /// (`message.parts[0].foo`).
    pub dropped: Vec<String>,
}

/// Brings a v1.0 request message of `op` to its canonical form in place.
/// Returns whether anything changed; dropped fields are added to `dropped`.
pub(crate) fn canonicalise(
    op: Operation,
    value: &mut Value,
    rule: UnknownFields,
    dropped: &mut Vec<String>,
) -> Result<bool, String> {
    let Value::Object(obj) = value else {
        // Not an object: the typed reader refuses it with its own message.
        return Ok(false);
    };
    let mut walk = Walk {
        rule,
        dropped,
        changed: false,
    };
    walk.object(obj, request_fields(op), &Path::Root)?;
    Ok(walk.changed)
}

/// A REST query parameter of `op`, in canonical form: the field's JSON
/// name, and an enum's name for its number. `None` when the name is no
/// field of the request message.
pub(crate) fn canonical_query_param(
    op: Operation,
    name: &str,
    value: &str,
) -> Option<(&'static str, Option<&'static str>)> {
    let (f, _) = lookup(request_fields(op), name)?;
    let enum_name = match f.kind {
        Kind::Enum(names) => value
            .parse::<usize>()
            .ok()
            .and_then(|n| names.get(n).copied()),
        _ => None,
    };
    Some((f.json, enum_name))
}

struct Walk<'a> {
    rule: UnknownFields,
    dropped: &'a mut Vec<String>,
    changed: bool,
}

impl Walk<'_> {
    fn object(
        &mut self,
        obj: &mut Map<String, Value>,
        fields: &'static [Field],
        at: &Path<'_>,
    ) -> Result<(), String> {
        // Most calls arrive canonical: look before copying any key.
        let needs_work = obj.keys().any(|k| match lookup(fields, k) {
            Some((_, Spelling::Json)) => false,
            Some((_, Spelling::Proto)) => true,
            None => self.rule == UnknownFields::Drop,
        });
        if needs_work {
            let keys: Vec<String> = obj.keys().cloned().collect();
            for key in keys {
                match lookup(fields, &key) {
                    Some((_, Spelling::Json)) => {}
                    Some((f, Spelling::Proto)) => {
                        if obj.contains_key(f.json) {
                            return Err(format!(
                                "{} is given twice, as {:?} and as {:?}: send one",
                                at.child(f.json),
                                f.json,
                                key
                            ));
                        }
                        if let Some(v) = obj.remove(&key) {
                            obj.insert(f.json.to_string(), v);
                        }
                        self.changed = true;
                    }
                    None => {
                        obj.remove(&key);
                        self.dropped.push(at.child(&key).to_string());
                        self.changed = true;
                    }
                }
            }
        }
        for f in fields {
            if let Some(v) = obj.get_mut(f.json) {
                self.value(v, &f.kind, &at.child(f.json))?;
            }
        }
        Ok(())
    }

    fn value(&mut self, v: &mut Value, kind: &Kind, at: &Path<'_>) -> Result<(), String> {
        match (kind, v) {
            (Kind::Object(fields), Value::Object(o)) => self.object(o, fields, at)?,
            (Kind::Objects(fields), Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Object(o) = item {
                        self.object(o, fields, &at.index(i))?;
                    }
                }
            }
            (Kind::Enum(names), v @ Value::Number(_)) => {
                let name = v
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| names.get(n));
                let Some(name) = name else {
                    return Err(format!("{at}: {v} is not one of its enum values"));
                };
                *v = Value::String((*name).to_string());
                self.changed = true;
            }
            // Anything else is either not ours to touch (free-form, plain)
            // or the wrong type, which the typed reader refuses.
            _ => {}
        }
        Ok(())
    }
}

/// Where the walk is, rendered only when a message needs it.
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn child(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }
    fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}
