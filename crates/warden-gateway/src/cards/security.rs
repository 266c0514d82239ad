//! The security a served card declares: what Warden enforces on the
//! agent's routes, not what the upstream asked for.
//!
//! Behind Warden the upstream's own schemes are never what a caller
//! presents, so they are replaced: Warden's access tokens (OAuth 2.0 client
//! credentials, scopes are skill ids), Warden API keys, bearer tokens from
//! other configured issuers, and a client certificate when the listener asks
//! for one. Each skill lists one requirement per credential, naming the
//! skill.

use serde_json::Value;

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
        if config.auth.mode == crate::config::AuthMode::InsecureOff {
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
            token_url: warden_egress::target::join_path(base, crate::routes::TOKEN_PATH).ok(),
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
