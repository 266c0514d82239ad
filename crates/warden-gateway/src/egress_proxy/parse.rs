//! Reading a call as the ingress pipeline does: the body within its cap,
//! then version, content type, and the whole body, path and query parsed
//! strictly into one typed operation.

use http::{HeaderMap, Method, Uri, header};
use serde_json::Value;
use warden_a2a::{
    A2aError, A2aOp, Binding, ParsedCall, ProtocolVersion, Refusal, RestRequest, parse_jsonrpc,
    parse_rest,
};

use crate::state::GatewayState;

/// Version, content type, and the whole body, path and query parsed into
/// one typed operation, as at ingress.
pub fn parse(
    state: &GatewayState,
    method: &Method,
    subpath: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    binding: Binding,
) -> Result<(A2aOp, ProtocolVersion), Box<Refusal>> {
    let refused = |error: A2aError, jsonrpc_id: Value| Box::new(Refusal { error, jsonrpc_id });
    let requested = crate::headers::requested_version(headers, uri.query())
        .map_err(|e| refused(e, Value::Null))?;
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(warden_a2a::is_json_content_type);
    if (binding == Binding::JsonRpc || has_body) && !json_ct {
        let err = A2aError::content_type_not_supported(
            "A2A bodies must be application/json or application/a2a+json",
        );
        return Err(refused(err, Value::Null));
    }
    let parsed: Result<ParsedCall, Box<Refusal>> = match binding {
        Binding::JsonRpc => parse_jsonrpc(body, requested, state.json_limits()).map_err(Box::new),
        Binding::Rest => parse_rest(
            RestRequest {
                method,
                path: subpath,
                query: uri.query(),
                body,
            },
            requested,
            state.json_limits(),
        )
        .map_err(|e| refused(e, Value::Null)),
    };
    let mut op = parsed?.op;
    op.requested_extensions =
        crate::headers::requested_extensions(headers).map_err(|e| refused(e, Value::Null))?;
    Ok((op, requested))
}

pub(crate) use crate::pipeline::read_body;
