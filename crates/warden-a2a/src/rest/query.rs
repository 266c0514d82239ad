//! REST query strings: each parameter at most once, typed as the request
//! message expects, unknown ones refused (an agent might read them
//! differently).

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::error::A2aError;
use crate::fields::{UnknownFields, canonical_query_param};
use crate::op::Operation;
use crate::version::VERSION_HEADER;

/// Parsed query parameters: each name at most once.
pub(super) fn query_params(query: Option<&str>) -> Result<Map<String, Value>, A2aError> {
    let mut out = Map::new();
    let Some(q) = query else { return Ok(out) };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| A2aError::invalid_params("query string is not valid UTF-8"))
        };
        let (k, v) = (decode(k)?, decode(v)?);
        if k == VERSION_HEADER {
            continue;
        }
        if out.insert(k.clone(), Value::String(v)).is_some() {
            return Err(A2aError::invalid_params(format!(
                "query parameter {k:?} given more than once"
            )));
        }
    }
    Ok(out)
}

/// Converts query strings to the JSON types the request message expects.
pub(super) fn typed_query(
    mut q: Map<String, Value>,
    allowed: &[(&str, QueryType)],
) -> Result<Map<String, Value>, A2aError> {
    let mut out = Map::new();
    for (name, ty) in allowed {
        let Some(Value::String(s)) = q.remove(*name) else {
            continue;
        };
        let v = match ty {
            QueryType::Str => Value::String(s),
            QueryType::Int => s.parse::<i64>().map(Value::from).map_err(|_| {
                A2aError::invalid_params(format!("{name} must be an integer, not {s:?}"))
            })?,
            QueryType::Bool => match s.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(A2aError::invalid_params(format!(
                        "{name} must be true or false, not {s:?}"
                    )));
                }
            },
        };
        out.insert((*name).to_string(), v);
    }
    if let Some(k) = q.keys().next() {
        return Err(A2aError::invalid_params(format!(
            "unknown query parameter {k:?}"
        )));
    }
    Ok(out)
}

#[derive(Clone, Copy)]
pub(super) enum QueryType {
    Str,
    Int,
    Bool,
}

pub(super) fn no_query(q: &Map<String, Value>) -> Result<(), A2aError> {
    match q.keys().next() {
        Some(k) => Err(A2aError::invalid_params(format!(
            "unknown query parameter {k:?}"
        ))),
        None => Ok(()),
    }
}

/// The query string in canonical form (see [`crate::fields`]): proto names
/// renamed to JSON names, enum numbers to names, unknown parameters dropped
/// under [`UnknownFields::Drop`] (listed in `dropped` as `query.name`).
/// `None` when nothing changed. Values are kept exactly as they were
/// encoded; a parameter given in both spellings is refused.
pub(super) fn canonical_query(
    op: Operation,
    query: Option<&str>,
    rule: UnknownFields,
    dropped: &mut Vec<String>,
) -> Result<Option<String>, A2aError> {
    let Some(q) = query else { return Ok(None) };
    let mut changed = false;
    let mut kept: Vec<String> = Vec::new();
    let mut names: Vec<&'static str> = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (raw_k, raw_v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| A2aError::invalid_params("query string is not valid UTF-8"))
        };
        let (k, v) = (decode(raw_k)?, decode(raw_v)?);
        if k == VERSION_HEADER {
            kept.push(pair.to_string());
            continue;
        }
        match canonical_query_param(op, &k, &v) {
            Some((name, enum_name)) => {
                if names.contains(&name) {
                    return Err(A2aError::invalid_params(format!(
                        "query parameter {name:?} given more than once (in either spelling)"
                    )));
                }
                names.push(name);
                let value = enum_name.unwrap_or(raw_v);
                if name != k || enum_name.is_some() {
                    changed = true;
                }
                kept.push(format!("{name}={value}"));
            }
            None if rule == UnknownFields::Drop => {
                dropped.push(format!("query.{k}"));
                changed = true;
            }
            // Refused by the typed reader, which names it.
            None => kept.push(pair.to_string()),
        }
    }
    Ok(changed.then(|| kept.join("&")))
}
