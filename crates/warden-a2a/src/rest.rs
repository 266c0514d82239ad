//! The HTTP+JSON (REST) binding: the route table and its request bodies.
//!
//! Routes are matched on the path below the interface URL. Every route also
//! exists under a `/{tenant}` prefix; v0.3 routes sit under `/v1`. Colon verbs
//! (`:send`, `:cancel`, `:subscribe`) are split off the last segment.
//! `:subscribe` is accepted with GET and POST (the spec and proto disagree);
//! `:cancel` accepts an empty body, `null` or an object. Query strings use
//! camelCase names; unknown or repeated parameters are refused, because an
//! agent might read them differently. Path and body must agree on `tenant`,
//! the task id and the config id.

use http::Method;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::error::A2aError;
use crate::fields::{ReadRules, Rewrite, canonicalise};
use crate::json::{JsonLimits, parse_strict};
use crate::jsonrpc::{ParsedCall, json_error, typed, validate};
use crate::op::{A2aOp, A2aRequest, Binding, Operation};
use crate::types::*;
use crate::v03;
use crate::version::ProtocolVersion;

mod query;

use query::{QueryType, canonical_query, no_query, query_params, typed_query};

/// Where a REST path leads, before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRoute {
    pub operation: Operation,
    pub dialect: ProtocolVersion,
    pub tenant: Option<String>,
    pub task_id: Option<String>,
    pub config_id: Option<String>,
}

/// Roots that start an un-prefixed route; anything else first is a tenant.
const ROOTS: [&str; 5] = [
    "message:send",
    "message:stream",
    "tasks",
    "extendedAgentCard",
    "v1",
];

/// Matches a path (below the interface URL) and method to a route.
pub fn match_route(method: &Method, path: &str) -> Result<RestRoute, A2aError> {
    let trimmed = path.trim_start_matches('/');
    let raw: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let mut segs = Vec::with_capacity(raw.len());
    for s in raw {
        let decoded = percent_decode_str(s)
            .decode_utf8()
            .map_err(|_| A2aError::invalid_request("path is not valid UTF-8"))?;
        if decoded.is_empty() || decoded.contains('/') {
            return Err(A2aError::not_found("no such route"));
        }
        // A dot segment would be resolved by the upstream's URL parser and
        // move the request elsewhere than the route Warden read.
        if decoded == "." || decoded == ".." {
            return Err(A2aError::invalid_request(
                "path segments \".\" and \"..\" are not allowed",
            ));
        }
        segs.push(decoded.into_owned());
    }
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if let Some(first) = segs.first() {
        if *first == "v1" {
            return match_tail(method, &segs[1..], ProtocolVersion::V0_3, None);
        }
        if ROOTS.contains(first) {
            return match_tail(method, &segs, ProtocolVersion::V1_0, None);
        }
        return match_tail(
            method,
            &segs[1..],
            ProtocolVersion::V1_0,
            Some((*first).to_string()),
        );
    }
    Err(A2aError::not_found("no such route"))
}

fn match_tail(
    method: &Method,
    segs: &[&str],
    dialect: ProtocolVersion,
    tenant: Option<String>,
) -> Result<RestRoute, A2aError> {
    use Operation::*;
    let route = |operation, task_id: Option<&str>, config_id: Option<&str>| RestRoute {
        operation,
        dialect,
        tenant: tenant.clone(),
        task_id: task_id.map(str::to_owned),
        config_id: config_id.map(str::to_owned),
    };
    let not_allowed = || {
        A2aError::method_not_found(format!("method {method} is not allowed on this route"))
            .with("cause", "method_not_allowed")
    };
    let is = |m: &Method| method == m;
    match segs {
        ["message:send"] if is(&Method::POST) => Ok(route(SendMessage, None, None)),
        ["message:stream"] if is(&Method::POST) => Ok(route(SendStreamingMessage, None, None)),
        ["message:send" | "message:stream"] => Err(not_allowed()),
        ["tasks"] if is(&Method::GET) => Ok(route(ListTasks, None, None)),
        ["tasks"] => Err(not_allowed()),
        ["tasks", last] => {
            let (id, verb) = match last.rsplit_once(':') {
                Some((id, verb @ ("cancel" | "subscribe"))) => (id, Some(verb)),
                _ => (*last, None),
            };
            if id.is_empty() {
                return Err(A2aError::not_found("no such route"));
            }
            match verb {
                Some("cancel") if is(&Method::POST) => Ok(route(CancelTask, Some(id), None)),
                Some("subscribe") if is(&Method::POST) || is(&Method::GET) => {
                    Ok(route(SubscribeToTask, Some(id), None))
                }
                None if is(&Method::GET) => Ok(route(GetTask, Some(id), None)),
                _ => Err(not_allowed()),
            }
        }
        ["tasks", id, "pushNotificationConfigs"] => match *method {
            Method::POST => Ok(route(CreatePushConfig, Some(id), None)),
            Method::GET => Ok(route(ListPushConfigs, Some(id), None)),
            _ => Err(not_allowed()),
        },
        ["tasks", id, "pushNotificationConfigs", cid] => match *method {
            Method::GET => Ok(route(GetPushConfig, Some(id), Some(cid))),
            Method::DELETE => Ok(route(DeletePushConfig, Some(id), Some(cid))),
            _ => Err(not_allowed()),
        },
        ["extendedAgentCard"] if dialect == ProtocolVersion::V1_0 && is(&Method::GET) => {
            Ok(route(GetExtendedAgentCard, None, None))
        }
        ["card"] if dialect == ProtocolVersion::V0_3 && is(&Method::GET) => {
            Ok(route(GetExtendedAgentCard, None, None))
        }
        ["extendedAgentCard"] if dialect == ProtocolVersion::V1_0 => Err(not_allowed()),
        ["card"] if dialect == ProtocolVersion::V0_3 => Err(not_allowed()),
        _ => Err(A2aError::not_found("no such route")),
    }
}

/// The pieces of an HTTP request the REST parser needs.
#[derive(Debug, Clone, Copy)]
pub struct RestRequest<'a> {
    pub method: &'a Method,
    /// The path below the interface URL.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// Parses a REST call into an operation and its typed request.
pub fn parse_rest(
    req: RestRequest<'_>,
    requested_version: ProtocolVersion,
    rules: impl Into<ReadRules>,
) -> Result<ParsedCall, A2aError> {
    let rules = rules.into();
    let route = match_route(req.method, req.path)?;
    let mut rewrite = Rewrite::default();
    let mut body = read_body(req.body, rules.json)?;
    if route.dialect == ProtocolVersion::V1_0 {
        rewrite.query = canonical_query(
            route.operation,
            req.query,
            rules.unknown_fields,
            &mut rewrite.dropped,
        )?;
        if let Some(b) = body.as_mut()
            && canonicalise(
                route.operation,
                b,
                rules.unknown_fields,
                &mut rewrite.dropped,
            )
            .map_err(A2aError::invalid_params)?
        {
            rewrite.body =
                Some(serde_json::to_vec(b).map_err(|e| {
                    A2aError::internal(format!("re-encoding the request body: {e}"))
                })?);
        }
    }
    let query = query_params(rewrite.query.as_deref().or(req.query))?;
    let request = match route.dialect {
        ProtocolVersion::V1_0 => build_v1(&route, query, body)?,
        ProtocolVersion::V0_3 => build_v03(&route, query, body)?,
    };
    validate(&request).map_err(A2aError::invalid_params)?;
    let op = A2aOp::describe(
        &request,
        Binding::Rest,
        route.dialect,
        requested_version,
        None,
    );
    Ok(ParsedCall {
        op,
        request,
        rewrite,
    })
}

/// An empty body and `null` both mean "no body".
fn read_body(body: &[u8], limits: JsonLimits) -> Result<Option<Value>, A2aError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match parse_strict(body, limits).map_err(json_error)? {
        Value::Null => Ok(None),
        v @ Value::Object(_) => Ok(Some(v)),
        _ => Err(A2aError::invalid_params(
            "the request body must be a JSON object",
        )),
    }
}

/// Puts path values into the body object, refusing a body that disagrees.
fn merge_path(body: Option<Value>, fields: &[(&str, Option<&String>)]) -> Result<Value, A2aError> {
    let mut obj = match body {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    for (name, value) in fields {
        let Some(value) = value else { continue };
        match obj.get(*name) {
            Some(Value::String(s)) if s == *value => {}
            Some(_) => {
                return Err(A2aError::invalid_params(format!(
                    "{name} in the body does not match the path"
                )));
            }
            None => {
                obj.insert((*name).to_string(), Value::String((*value).clone()));
            }
        }
    }
    Ok(Value::Object(obj))
}

fn need_body(body: Option<Value>) -> Result<Value, A2aError> {
    body.ok_or_else(|| A2aError::invalid_params("a request body is required"))
}

fn p<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, A2aError> {
    typed(v).map_err(A2aError::invalid_params)
}

fn build_v1(
    route: &RestRoute,
    query: Map<String, Value>,
    body: Option<Value>,
) -> Result<A2aRequest, A2aError> {
    use Operation::*;
    let t = route.tenant.as_ref();
    let has_body = body.is_some();
    let no_body = |name: &str| -> Result<(), A2aError> {
        if has_body {
            return Err(A2aError::invalid_params(format!("{name} takes no body")));
        }
        Ok(())
    };
    Ok(match route.operation {
        SendMessage | SendStreamingMessage => {
            no_query(&query)?;
            let v = merge_path(Some(need_body(body)?), &[("tenant", t)])?;
            let r: SendMessageRequest = p(v)?;
            if route.operation == SendMessage {
                A2aRequest::SendMessage(r)
            } else {
                A2aRequest::SendStreamingMessage(r)
            }
        }
        GetTask => {
            no_body("GetTask")?;
            let mut v = typed_query(query, &[("historyLength", QueryType::Int)])?;
            v.insert(
                "id".into(),
                Value::String(route.task_id.clone().unwrap_or_default()),
            );
            A2aRequest::GetTask(p(merge_path(Some(Value::Object(v)), &[("tenant", t)])?)?)
        }
        ListTasks => {
            no_body("ListTasks")?;
            let v = typed_query(
                query,
                &[
                    ("contextId", QueryType::Str),
                    ("status", QueryType::Str),
                    ("pageSize", QueryType::Int),
                    ("pageToken", QueryType::Str),
                    ("historyLength", QueryType::Int),
                    ("statusTimestampAfter", QueryType::Str),
                    ("includeArtifacts", QueryType::Bool),
                ],
            )?;
            A2aRequest::ListTasks(p(merge_path(Some(Value::Object(v)), &[("tenant", t)])?)?)
        }
        CancelTask => {
            no_query(&query)?;
            let v = merge_path(body, &[("tenant", t), ("id", route.task_id.as_ref())])?;
            A2aRequest::CancelTask(p(v)?)
        }
        SubscribeToTask => {
            no_query(&query)?;
            let v = merge_path(body, &[("tenant", t), ("id", route.task_id.as_ref())])?;
            A2aRequest::SubscribeToTask(p(v)?)
        }
        CreatePushConfig => {
            no_query(&query)?;
            let v = merge_path(
                Some(need_body(body)?),
                &[("tenant", t), ("taskId", route.task_id.as_ref())],
            )?;
            A2aRequest::CreatePushConfig(p(v)?)
        }
        GetPushConfig | DeletePushConfig => {
            no_body(route.operation.name())?;
            no_query(&query)?;
            let v = merge_path(
                None,
                &[
                    ("tenant", t),
                    ("taskId", route.task_id.as_ref()),
                    ("id", route.config_id.as_ref()),
                ],
            )?;
            if route.operation == GetPushConfig {
                A2aRequest::GetPushConfig(p(v)?)
            } else {
                A2aRequest::DeletePushConfig(p(v)?)
            }
        }
        ListPushConfigs => {
            no_body("ListTaskPushNotificationConfigs")?;
            let v = typed_query(
                query,
                &[("pageSize", QueryType::Int), ("pageToken", QueryType::Str)],
            )?;
            let v = merge_path(
                Some(Value::Object(v)),
                &[("tenant", t), ("taskId", route.task_id.as_ref())],
            )?;
            A2aRequest::ListPushConfigs(p(v)?)
        }
        GetExtendedAgentCard => {
            no_body("GetExtendedAgentCard")?;
            no_query(&query)?;
            A2aRequest::GetExtendedAgentCard(p(merge_path(None, &[("tenant", t)])?)?)
        }
    })
}

fn build_v03(
    route: &RestRoute,
    query: Map<String, Value>,
    body: Option<Value>,
) -> Result<A2aRequest, A2aError> {
    use Operation::*;
    let bad = A2aError::invalid_params;
    let task_id = route.task_id.clone().unwrap_or_default();
    Ok(match route.operation {
        SendMessage | SendStreamingMessage => {
            no_query(&query)?;
            let params: v03::MessageSendParams03 = typed(need_body(body)?).map_err(bad)?;
            let r = params.into_v1().map_err(bad)?;
            if route.operation == SendMessage {
                A2aRequest::SendMessage(r)
            } else {
                A2aRequest::SendStreamingMessage(r)
            }
        }
        GetTask => {
            let v = typed_query(query, &[("historyLength", QueryType::Int)])?;
            let history_length = match v.get("historyLength").and_then(Value::as_i64) {
                Some(n) => {
                    Some(i32::try_from(n).map_err(|_| bad("historyLength out of range".into()))?)
                }
                None => None,
            };
            if history_length.is_some_and(|n| n < 0) {
                return Err(bad("historyLength must not be negative".into()));
            }
            A2aRequest::GetTask(GetTaskRequest {
                tenant: None,
                id: task_id,
                history_length,
            })
        }
        ListTasks => {
            let v = typed_query(
                query,
                &[
                    ("contextId", QueryType::Str),
                    ("pageSize", QueryType::Int),
                    ("pageToken", QueryType::Str),
                    ("historyLength", QueryType::Int),
                ],
            )?;
            A2aRequest::ListTasks(typed(Value::Object(v)).map_err(bad)?)
        }
        CancelTask => {
            no_query(&query)?;
            A2aRequest::CancelTask(CancelTaskRequest {
                tenant: None,
                id: task_id,
                metadata: None,
            })
        }
        SubscribeToTask => {
            no_query(&query)?;
            A2aRequest::SubscribeToTask(SubscribeToTaskRequest {
                tenant: None,
                id: task_id,
            })
        }
        CreatePushConfig => {
            no_query(&query)?;
            let v = need_body(body)?;
            let cfg: v03::PushConfig03 = match v.get("pushNotificationConfig") {
                Some(inner) => typed(inner.clone()).map_err(bad)?,
                None => typed(v).map_err(bad)?,
            };
            A2aRequest::CreatePushConfig(cfg.into_v1(Some(task_id)))
        }
        GetPushConfig | DeletePushConfig => {
            no_query(&query)?;
            let r = PushConfigRef {
                tenant: None,
                task_id,
                id: route.config_id.clone().unwrap_or_default(),
            };
            if route.operation == GetPushConfig {
                A2aRequest::GetPushConfig(r)
            } else {
                A2aRequest::DeletePushConfig(r)
            }
        }
        ListPushConfigs => {
            no_query(&query)?;
            A2aRequest::ListPushConfigs(ListPushConfigsRequest {
                tenant: None,
                task_id,
                page_size: None,
                page_token: None,
            })
        }
        GetExtendedAgentCard => {
            no_query(&query)?;
            A2aRequest::GetExtendedAgentCard(GetExtendedAgentCardRequest::default())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_refused_in_any_spelling() {
        for path in [
            "/../tasks/x",
            "/tasks/%2e%2e",
            "/%2E/message:send",
            "/t/tasks/./x",
        ] {
            let err = match_route(&Method::GET, path).expect_err(path);
            assert_eq!(err.kind, crate::ErrorKind::InvalidRequest, "{path}");
        }
        assert!(match_route(&Method::GET, "/tasks/a.b").is_ok());
    }
}
