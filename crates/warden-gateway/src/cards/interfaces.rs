//! The interfaces a card offers, in the bindings the gateway proxies
//! (JSON-RPC and HTTP+JSON; gRPC and custom bindings are not proxied).
//!
//! Read from the card as it was verified, so that an agent is called where
//! its own signed card says, unless the operator configured the endpoint.

use serde_json::Value;
use warden_a2a::types::{BINDING_HTTP_JSON, BINDING_JSONRPC};

/// Whether the gateway proxies a `protocolBinding` / v0.3 `transport`.
pub fn proxied_binding(binding: &str) -> bool {
    binding.eq_ignore_ascii_case(BINDING_JSONRPC) || binding.eq_ignore_ascii_case(BINDING_HTTP_JSON)
}

/// The first JSON-RPC and HTTP+JSON endpoints a card offers, preferring v1.0
/// interfaces, then the v0.3 `url`/`preferredTransport`/`additionalInterfaces`.
pub fn endpoints(card: &Value) -> (Option<String>, Option<String>) {
    let mut candidates: Vec<(String, String, bool)> = Vec::new();
    if let Some(list) = card.get("supportedInterfaces").and_then(Value::as_array) {
        for i in list {
            let (Some(url), Some(b)) = (
                i.get("url").and_then(Value::as_str),
                i.get("protocolBinding").and_then(Value::as_str),
            ) else {
                continue;
            };
            let v1 = i
                .get("protocolVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("1."));
            candidates.push((b.to_ascii_uppercase(), url.to_string(), v1));
        }
    }
    if let Some(url) = card.get("url").and_then(Value::as_str) {
        let t = card
            .get("preferredTransport")
            .and_then(Value::as_str)
            .unwrap_or("JSONRPC");
        candidates.push((t.to_ascii_uppercase(), url.to_string(), false));
    }
    if let Some(list) = card.get("additionalInterfaces").and_then(Value::as_array) {
        for i in list {
            if let (Some(url), Some(t)) = (
                i.get("url").and_then(Value::as_str),
                i.get("transport").and_then(Value::as_str),
            ) {
                candidates.push((t.to_ascii_uppercase(), url.to_string(), false));
            }
        }
    }
    let pick = |binding: &str| {
        let of_kind = || {
            candidates
                .iter()
                .filter(move |(b, _, _)| b == binding && proxied_binding(b))
        };
        of_kind()
            .find(|(_, _, v1)| *v1)
            .or_else(|| of_kind().next())
            .map(|(_, u, _)| u.clone())
    };
    (pick("JSONRPC"), pick("HTTP+JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_v1_interfaces_first_then_legacy() {
        let card = json!({
            "url": "http://old/",
            "supportedInterfaces": [
                {"url": "http://a/rpc03", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
                {"url": "http://a/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                {"url": "http://a/rest", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}
            ]
        });
        assert_eq!(
            endpoints(&card),
            (Some("http://a/rpc".into()), Some("http://a/rest".into()))
        );
        let legacy = json!({"url": "http://old/", "additionalInterfaces": [{"url": "http://old/rest", "transport": "HTTP+JSON"}]});
        assert_eq!(
            endpoints(&legacy),
            (Some("http://old/".into()), Some("http://old/rest".into()))
        );
    }
}
