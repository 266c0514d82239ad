//! Agent cards as the gateway serves them.
//!
//! Every interface URL of the upstream card is rewritten to the gateway, on
//! the one origin the card is served from (clients such as ADK refuse a card
//! whose endpoints sit elsewhere): all `supportedInterfaces` (tenant kept),
//! and the v0.3 `url` and `additionalInterfaces`. Interfaces in bindings the
//! gateway does not proxy (gRPC, custom) are dropped rather than leaking the
//! upstream address. Rewriting breaks any upstream JWS, so `signatures` are
//! removed.
//!
//! A served card ([`signed`]) is then Warden's own statement: the upstream's
//! security schemes and requirements are replaced by what Warden enforces
//! on the route ([`Security`]), empty values are stripped (so that the
//! Python SDK's reading of the signature agrees), and it is signed with
//! Warden's card key, published in Warden's JWKS.

use serde_json::Value;
use warden_a2a::types::{BINDING_HTTP_JSON, BINDING_JSONRPC};

/// Whether the gateway proxies a `protocolBinding` / v0.3 `transport`.
pub fn proxied_binding(binding: &str) -> bool {
    binding.eq_ignore_ascii_case(BINDING_JSONRPC) || binding.eq_ignore_ascii_case(BINDING_HTTP_JSON)
}

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

/// The credentials Warden accepts on an agent's routes, as the card
/// declares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// Warden's own access tokens (OAuth 2.0 client credentials).
    pub token_url: Option<String>,
    /// Warden API keys in `X-API-Key`.
    pub api_keys: bool,
    /// Access tokens from other configured issuers.
    pub external_bearer: bool,
    /// A client certificate: declared, and required with every credential
    /// when `required`.
    pub mtls: Option<bool>,
}

/// Scheme names in served cards.
pub const SCHEME_TOKEN: &str = "warden_oauth2";
pub const SCHEME_API_KEY: &str = "warden_api_key";
pub const SCHEME_BEARER: &str = "bearer";
pub const SCHEME_MTLS: &str = "mtls";

impl Security {
    /// What `config` enforces; `base` is the gateway URL the card is served
    /// under. Authentication off: nothing.
    pub fn of(config: &crate::config::Config, base: &str) -> Self {
        if config.auth.mode == crate::config::AuthMode::OffInsecure {
            return Self::default();
        }
        let mtls = config
            .gateway
            .tls
            .as_ref()
            .and_then(|t| match t.client_auth {
                crate::config::ClientAuth::Off => None,
                crate::config::ClientAuth::Optional => Some(false),
                crate::config::ClientAuth::Required => Some(true),
            });
        Self {
            token_url: warden_egress::target::join_path(
                base,
                crate::authority::endpoints::TOKEN_PATH,
            )
            .ok(),
            api_keys: true,
            external_bearer: !config.auth.issuers.is_empty(),
            mtls,
        }
    }

    /// Replaces the card's `securitySchemes` and `securityRequirements`
    /// (its own and each skill's) with Warden's. A skill may be called with
    /// any one credential granted that skill id (the scope of Warden's
    /// tokens): one requirement per credential, naming the skill.
    pub(crate) fn apply(&self, card: &mut serde_json::Map<String, Value>) {
        use serde_json::json;
        card.remove("securitySchemes");
        card.remove("securityRequirements");
        let mut schemes = serde_json::Map::new();
        let mut credentials = Vec::new();
        if let Some(url) = &self.token_url {
            let skills: serde_json::Map<String, Value> = skill_list(card)
                .into_iter()
                .map(|(id, name)| (id, Value::String(name)))
                .collect();
            schemes.insert(
                SCHEME_TOKEN.into(),
                json!({"oauth2SecurityScheme": {
                    "description": "Warden access tokens from its token endpoint; scopes are skill ids.",
                    "flows": {"clientCredentials": {"tokenUrl": url, "scopes": skills}},
                }}),
            );
            credentials.push(SCHEME_TOKEN);
        }
        if self.api_keys {
            schemes.insert(
                SCHEME_API_KEY.into(),
                json!({"apiKeySecurityScheme": {
                    "description": "A Warden API key.",
                    "location": "header",
                    "name": "X-API-Key",
                }}),
            );
            credentials.push(SCHEME_API_KEY);
        }
        if self.external_bearer {
            schemes.insert(
                SCHEME_BEARER.into(),
                json!({"httpAuthSecurityScheme": {
                    "description": "An access token from an issuer this gateway trusts.",
                    "scheme": "Bearer",
                    "bearerFormat": "JWT",
                }}),
            );
            credentials.push(SCHEME_BEARER);
        }
        if self.mtls.is_some() {
            schemes.insert(
                SCHEME_MTLS.into(),
                json!({"mtlsSecurityScheme": {"description": "A client certificate."}}),
            );
        }
        let mtls_required = self.mtls == Some(true);
        if let Some(Value::Array(skills)) = card.get_mut("skills") {
            for skill in skills.iter_mut().filter_map(Value::as_object_mut) {
                skill.remove("securityRequirements");
                let Some(id) = skill.get("id").and_then(Value::as_str).map(str::to_owned) else {
                    continue;
                };
                let requirements: Vec<Value> = credentials
                    .iter()
                    .map(|scheme| {
                        let mut all = serde_json::Map::new();
                        all.insert((*scheme).into(), json!({"list": [id]}));
                        if mtls_required {
                            all.insert(SCHEME_MTLS.into(), json!({"list": [id]}));
                        }
                        json!({ "schemes": all })
                    })
                    .collect();
                if !requirements.is_empty() {
                    skill.insert("securityRequirements".into(), Value::Array(requirements));
                }
            }
        }
        if !schemes.is_empty() {
            card.insert("securitySchemes".into(), Value::Object(schemes));
        }
    }
}

fn skill_list(card: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    card.get("skills")
        .and_then(Value::as_array)
        .map(|skills| {
            skills
                .iter()
                .filter_map(|s| {
                    let id = s.get("id").and_then(Value::as_str)?;
                    let name = s.get("name").and_then(Value::as_str).unwrap_or(id);
                    Some((id.to_owned(), name.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Why a card could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("no card signing key")]
    NoKey,
    #[error("the card could not be signed: {0}")]
    Sign(#[from] warden_trust::card_signature::CardSigningError),
}

/// The card Warden serves: `card` (known fields only, no signatures)
/// rewritten for `gateway_url`, with Warden's security declarations, empty
/// values stripped, signed with `key` (the protected header's `jku` names
/// `jwks_url`, where the key is published).
pub fn signed(
    card: &Value,
    gateway_url: &str,
    security: &Security,
    key: Option<&warden_trust::SigningKey>,
    jwks_url: &str,
) -> Result<Value, ServeError> {
    use warden_trust::card_signature::{
        CardSigningOptions, add_card_signature, strip_empty_values,
    };
    let key = key.ok_or(ServeError::NoKey)?;
    let mut out = rewrite(card, gateway_url);
    if let Some(obj) = out.as_object_mut() {
        security.apply(obj);
    }
    strip_empty_values(&mut out);
    let options = CardSigningOptions {
        jku: Some(jwks_url.to_string()),
        ..CardSigningOptions::default()
    };
    add_card_signature(&mut out, key, &options)?;
    Ok(out)
}

/// A strong `ETag` over the exact bytes served.
pub fn etag(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` value matches `etag`.
pub fn not_modified(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
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

    fn upstream() -> Value {
        json!({
            "name": "a", "description": "", "version": "1",
            "supportedInterfaces": [{"url": "http://10.0.0.5/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "capabilities": {},
            "securitySchemes": {"theirs": {"mtlsSecurityScheme": {}}},
            "securityRequirements": [{"schemes": {"theirs": {"list": ["x"]}}}],
            "defaultInputModes": [], "defaultOutputModes": ["text/plain"],
            "skills": [{"id": "s1", "name": "S1", "description": "d", "tags": [],
                "securityRequirements": [{"schemes": {"theirs": {"list": ["s1"]}}}]}]
        })
    }

    fn verify(card: &Value, key: &warden_trust::SigningKey) {
        use warden_trust::card_signature::{CardVerifyPolicy, verify_card};
        let keys = warden_trust::KeySet::from_keys([key.public_jwk()]);
        let policy = CardVerifyPolicy::new(vec![key.alg()]);
        let v = verify_card(card.to_string().as_bytes(), &policy, &keys).expect("verifies");
        assert_eq!(v.form, warden_trust::card_signature::CanonicalForm::Rfc8785);
    }

    #[test]
    fn served_cards_declare_wardens_schemes_only_and_are_signed() {
        let key = warden_trust::SigningKey::generate(warden_trust::JwsAlg::EdDsa).expect("key");
        let security = Security {
            token_url: Some("https://gw.example/oauth2/token".into()),
            api_keys: true,
            external_bearer: false,
            mtls: Some(true),
        };
        let out = signed(
            &upstream(),
            "https://gw.example/agents/a",
            &security,
            Some(&key),
            "https://gw.example/.well-known/jwks.json",
        )
        .expect("signed");
        verify(&out, &key);
        let text = out.to_string();
        assert!(
            !text.contains("theirs") && !text.contains("10.0.0.5"),
            "{text}"
        );
        assert!(
            out.get("description").is_none(),
            "empty values are stripped"
        );
        let schemes = out["securitySchemes"].as_object().expect("schemes");
        assert_eq!(schemes.len(), 3, "{text}");
        assert!(out.get("securityRequirements").is_none());
        let reqs = out["skills"][0]["securityRequirements"]
            .as_array()
            .expect("reqs");
        assert_eq!(
            reqs.len(),
            2,
            "a token or an API key, each with a certificate"
        );
        for r in reqs {
            let r = r["schemes"].as_object().expect("schemes");
            assert!(r.contains_key(SCHEME_MTLS));
            assert!(r.keys().all(|k| schemes.contains_key(k)), "{r:?}");
            assert!(r.values().all(|l| l["list"] == json!(["s1"])));
        }
        assert_eq!(
            out["securitySchemes"][SCHEME_TOKEN]["oauth2SecurityScheme"]["flows"]["clientCredentials"]
                ["scopes"],
            json!({"s1": "S1"})
        );
    }

    #[test]
    fn with_authentication_off_no_scheme_is_declared() {
        let key = warden_trust::SigningKey::generate(warden_trust::JwsAlg::EdDsa).expect("key");
        let out = signed(
            &upstream(),
            "https://gw/agents/a",
            &Security::default(),
            Some(&key),
            "https://gw/j",
        )
        .expect("signed");
        verify(&out, &key);
        assert!(out.get("securitySchemes").is_none());
        assert!(out["skills"][0].get("securityRequirements").is_none());
        assert!(matches!(
            signed(
                &upstream(),
                "https://gw/agents/a",
                &Security::default(),
                None,
                "https://gw/j"
            ),
            Err(ServeError::NoKey)
        ));
    }

    #[test]
    fn etags_and_conditional_requests() {
        let e = etag(b"{}");
        assert!(e.starts_with('"') && e.len() == 34);
        assert_ne!(e, etag(b"{ }"));
        assert!(not_modified(&e, &e));
        assert!(not_modified(&format!("\"x\", {e}"), &e));
        assert!(not_modified("*", &e));
        assert!(!not_modified("\"other\"", &e));
    }
}
