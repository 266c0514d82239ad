//! One HTTP request read as an A2A call, the same way at every entry point
//! (the ingress pipeline, the egress proxy): the binding from method and
//! path, the version from `A2A-Version` (header, else query), the content
//! type, the extension headers, and the whole body, path and query parsed
//! strictly into one [`A2aOp`].
//!
//! A header that cannot be read (not visible ASCII) or is given twice where
//! one is meant is refused, never skipped: the agent behind might read the
//! other copy.

use http::{HeaderMap, Method, header};
use serde_json::Value;

use crate::version::{EXTENSIONS_HEADER, LEGACY_EXTENSIONS_HEADER, VERSION_HEADER};
use crate::{
    A2aError, A2aOp, Binding, ProtocolVersion, ReadRules, Refusal, RestRequest, Rewrite,
    is_json_content_type, parse_jsonrpc, parse_rest,
};

/// A request as it arrived, below the agent's route.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a Method,
    /// The path below the agent's interface root ("" for the root itself).
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A call read in full.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub op: A2aOp,
    /// The version the caller asked for (sent on to the agent).
    pub requested: ProtocolVersion,
    /// What reading changed to reach the canonical form: forward the
    /// rewritten body and query when present ([`crate::fields`]).
    pub rewrite: Rewrite,
}

/// JSON-RPC is a POST to the interface root; everything else is REST.
pub fn binding_of(method: &Method, path: &str) -> Binding {
    if method == Method::POST && (path.is_empty() || path == "/") {
        Binding::JsonRpc
    } else {
        Binding::Rest
    }
}

/// Reads `req` as an A2A call in `binding` (see [`binding_of`]).
pub fn read(
    req: &HttpRequest<'_>,
    binding: Binding,
    rules: impl Into<ReadRules>,
) -> Result<Call, Box<Refusal>> {
    let rules = rules.into();
    let refused = |error: A2aError| {
        Box::new(Refusal {
            error,
            jsonrpc_id: Value::Null,
        })
    };
    let requested = requested_version(req.headers, req.query).map_err(refused)?;
    let has_body = !req.body.iter().all(u8::is_ascii_whitespace);
    let json_ct = readable(req.headers, header::CONTENT_TYPE.as_str())
        .ok()
        .filter(|v| v.len() == 1)
        .is_some_and(|v| is_json_content_type(v[0]));
    if (binding == Binding::JsonRpc || has_body) && !json_ct {
        return Err(refused(A2aError::content_type_not_supported(
            "A2A bodies must be application/json or application/a2a+json",
        )));
    }
    let parsed = match binding {
        Binding::JsonRpc => parse_jsonrpc(req.body, requested, rules).map_err(Box::new)?,
        Binding::Rest => parse_rest(
            RestRequest {
                method: req.method,
                path: req.path,
                query: req.query,
                body: req.body,
            },
            requested,
            rules,
        )
        .map_err(refused)?,
    };
    let mut op = parsed.op;
    let id = op.jsonrpc_id.clone().unwrap_or(Value::Null);
    op.requested_extensions = requested_extensions(req.headers).map_err(|error| {
        Box::new(Refusal {
            error,
            jsonrpc_id: id,
        })
    })?;
    Ok(Call {
        op,
        requested,
        rewrite: parsed.rewrite,
    })
}

/// Every value of `name`, or an error when one of them is not visible
/// ASCII: a header that cannot be read still counts as present, so it can
/// never be skipped in favour of another one (two credentials, two
/// versions).
pub fn readable<'a>(headers: &'a HeaderMap, name: &str) -> Result<Vec<&'a str>, Unreadable> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().map_err(|_| Unreadable(name.to_string())))
        .collect()
}

/// A request header whose value is not visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {0} header is not readable (visible ASCII only)")]
pub struct Unreadable(pub String);

/// The A2A version a request asks for: the `A2A-Version` header, else the
/// `A2A-Version` query parameter, else 0.3. Given twice (in either place),
/// or unreadable, it is refused.
pub fn requested_version(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<ProtocolVersion, A2aError> {
    let invalid =
        |m: String| A2aError::version_not_supported(m).with("supportedVersions", "1.0,0.3");
    let header = readable(headers, VERSION_HEADER).map_err(|e| invalid(e.to_string()))?;
    if header.len() > 1 {
        return Err(invalid(format!("send one {VERSION_HEADER} header")));
    }
    let prefix = format!("{VERSION_HEADER}=");
    let in_query: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|kv| kv.strip_prefix(prefix.as_str()))
        .collect();
    if in_query.len() > 1 {
        return Err(invalid(format!(
            "give the {VERSION_HEADER} query parameter once"
        )));
    }
    crate::version::requested_version(header.first().copied(), in_query.first().copied())
}

/// The extensions a request asks for (`A2A-Extensions` and the legacy
/// `X-A2A-Extensions`); an unreadable value is refused, never skipped.
pub fn requested_extensions(headers: &HeaderMap) -> Result<Vec<String>, A2aError> {
    let mut values = Vec::new();
    for name in [EXTENSIONS_HEADER, LEGACY_EXTENSIONS_HEADER] {
        values
            .extend(readable(headers, name).map_err(|e| A2aError::invalid_request(e.to_string()))?);
    }
    Ok(crate::version::requested_extensions(values))
}

#[cfg(test)]
mod tests;
