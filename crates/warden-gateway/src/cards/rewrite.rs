//! An upstream card rewritten for the gateway.
//!
//! Every interface URL of the upstream card is rewritten to the gateway, on
//! the one origin the card is served from (clients such as ADK refuse a card
//! whose endpoints sit elsewhere): all `supportedInterfaces` (tenant kept),
//! and the v0.3 `url` and `additionalInterfaces`. Interfaces in bindings the
//! gateway does not proxy (gRPC, custom) are dropped rather than leaking the
//! upstream address. Rewriting breaks any upstream JWS, so `signatures` are
//! removed. The card also declares Warden's skill extension, through which a
//! caller names the skill a message is for.

use serde_json::Value;
use warden_a2a::types::BINDING_JSONRPC;

use super::interfaces::proxied_binding;

/// Rewrites a card (v1.0, v0.3 or a merged one) for the gateway URL.
pub fn rewrite(card: &Value, gateway_url: &str) -> Value {
    let mut out = card.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    if let Some(Value::Array(list)) = obj.get_mut("supportedInterfaces") {
        list.retain(|i| {
            i.get("protocolBinding")
                .and_then(Value::as_str)
                .is_some_and(proxied_binding)
        });
        for i in list.iter_mut() {
            if let Some(o) = i.as_object_mut() {
                o.insert("url".into(), Value::String(gateway_url.into()));
            }
        }
    }
    if obj.contains_key("url") {
        obj.insert("url".into(), Value::String(gateway_url.into()));
        // The v0.3 `url` now leads to the gateway, which speaks JSON-RPC
        // there whatever the upstream preferred.
        let preferred = obj.get("preferredTransport").and_then(Value::as_str);
        if preferred.is_some_and(|t| !proxied_binding(t)) {
            obj.insert(
                "preferredTransport".into(),
                Value::String(BINDING_JSONRPC.into()),
            );
        }
    }
    if let Some(Value::Array(list)) = obj.get_mut("additionalInterfaces") {
        list.retain(|i| {
            i.get("transport")
                .and_then(Value::as_str)
                .is_some_and(proxied_binding)
        });
        for i in list.iter_mut() {
            if let Some(o) = i.as_object_mut() {
                o.insert("url".into(), Value::String(gateway_url.into()));
            }
        }
    }
    obj.remove("signatures");
    declare_skill_extension(obj);
    out
}

/// Declares the Warden skill extension in `capabilities.extensions`: the
/// gateway reads it to know which skill a message is for.
fn declare_skill_extension(card: &mut serde_json::Map<String, Value>) {
    let caps = card
        .entry("capabilities")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(caps) = caps.as_object_mut() else {
        return;
    };
    let exts = caps
        .entry("extensions")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(exts) = exts.as_array_mut() else {
        return;
    };
    let uri = warden_a2a::SKILL_EXTENSION;
    if exts
        .iter()
        .any(|e| e.get("uri").and_then(Value::as_str) == Some(uri))
    {
        return;
    }
    exts.push(serde_json::json!({
        "uri": uri,
        "description": "Warden: name the skill a message is for in metadata[uri] (a skill id), \
            and list this URI in message.extensions. Alternatively call \
            {url}/skills/{skill}. Agents with one skill need neither.",
        // `required` is left out for false: a proto3 default, which the
        // Python SDK drops before checking a signature.
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_every_interface_and_drops_unproxied_ones() {
        let card = json!({
            "name": "a",
            "url": "http://10.0.0.5:9000/",
            "preferredTransport": "JSONRPC",
            "additionalInterfaces": [
                {"url": "http://10.0.0.5:9000/", "transport": "JSONRPC"},
                {"url": "10.0.0.5:50051", "transport": "GRPC"}
            ],
            "supportedInterfaces": [
                {"url": "http://10.0.0.5:9000/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0", "tenant": "t1"},
                {"url": "http://10.0.0.5:9000/rest", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
                {"url": "10.0.0.5:50051", "protocolBinding": "GRPC", "protocolVersion": "1.0"}
            ],
            "signatures": [{"protected": "x", "signature": "y"}]
        });
        let out = rewrite(&card, "https://gw.example/agents/a");
        let text = out.to_string();
        assert!(!text.contains("10.0.0.5"), "{text}");
        assert_eq!(out["supportedInterfaces"].as_array().map(Vec::len), Some(2));
        assert_eq!(out["supportedInterfaces"][0]["tenant"], "t1");
        assert_eq!(out["url"], "https://gw.example/agents/a");
        assert_eq!(
            out["additionalInterfaces"].as_array().map(Vec::len),
            Some(1)
        );
        assert!(out.get("signatures").is_none());
    }
}
