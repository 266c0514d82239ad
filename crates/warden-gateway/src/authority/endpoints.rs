//! The authority's public HTTP endpoints: `POST /oauth2/token`
//! (client_credentials; client authentication by API key or
//! `private_key_jwt`), `/.well-known/jwks.json` and
//! `/.well-known/oauth-authorization-server` (RFC 8414).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use warden_trust::{IssuerPolicy, KeySet, verify_jwt};

use super::OAuthError;
use crate::auth::API_KEY_HEADER;
use crate::clock::unix_now;
use crate::state::GatewayState;

use crate::routes::{JWKS_PATH, TOKEN_PATH};
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Token responses must never be cached (RFC 6749 §5.1).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn oauth_error(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = json_response(
        status,
        &json!({"error": e.code, "error_description": e.description}),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"warden\""),
        );
    }
    r
}

pub async fn jwks(State(state): State<GatewayState>) -> Response {
    let mut r = json_response(
        StatusCode::OK,
        &state.auth.authority.keys.published().to_jwks(),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

pub async fn metadata(State(state): State<GatewayState>) -> Response {
    let issuer = &state.auth.authority.issuer;
    let body = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post", "tls_client_auth"],
        "tls_client_certificate_bound_access_tokens": true,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "response_types_supported": [],
    });
    let mut body = body;
    if state.config.auth.dpop != crate::config::DpopMode::Off {
        body["dpop_signing_alg_values_supported"] =
            json!(["ES256", "ES384", "EdDSA", "RS256", "PS256"]);
    }
    let mut r = json_response(StatusCode::OK, &body);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// Form parameters, each at most once.
fn form(body: &[u8]) -> Result<std::collections::BTreeMap<String, String>, OAuthError> {
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(OAuthError::new(
                "invalid_request",
                format!("parameter {k:?} repeated"),
            ));
        }
    }
    Ok(out)
}

pub async fn token(
    State(state): State<GatewayState>,
    peer: Option<axum::Extension<std::sync::Arc<crate::listener::PeerCertificate>>>,
    source: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = peer.map(|axum::Extension(p)| p);
    // The per-address limit holds here too: client authentication must not
    // be a free guessing ground.
    if let Some(axum::Extension(axum::extract::ConnectInfo(addr))) = source
        && let Err(r) = state.authz.check_source(addr.ip()).await
    {
        let mut resp = oauth_error(&OAuthError::new(
            "temporarily_unavailable",
            "rate limit exceeded; retry later",
        ));
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        for (name, value) in &r.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut()
                    .insert(http::HeaderName::from_static(name), v);
            }
        }
        return resp;
    }
    let mut resp = match issue(&state, &headers, &body, peer.as_deref()).await {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => oauth_error(&e),
    };
    // With nonces on, every answer carries the current one (RFC 9449 §8).
    if let Some(nonce) = state.auth.dpop_nonce(unix_now())
        && let Ok(v) = HeaderValue::from_str(&nonce)
    {
        resp.headers_mut().insert("dpop-nonce", v);
    }
    resp
}

async fn issue(
    state: &GatewayState,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<&crate::listener::PeerCertificate>,
) -> Result<Value, OAuthError> {
    let ct_ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|e| {
                e.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !ct_ok {
        return Err(OAuthError::new(
            "invalid_request",
            "use application/x-www-form-urlencoded",
        ));
    }
    if body.len() > 16 * 1024 {
        return Err(OAuthError::new("invalid_request", "request too large"));
    }
    let params = form(body)?;
    if params.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            "only client_credentials is supported",
        ));
    }
    let audience = params
        .get("audience")
        .or_else(|| params.get("resource"))
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            OAuthError::new("invalid_request", "name the target agent in \"audience\"")
        })?;
    let scopes: Vec<String> = params
        .get("scope")
        .map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let now = unix_now();
    for single in [crate::auth::DPOP_HEADER, API_KEY_HEADER] {
        if headers.get_all(single).iter().count() > 1 {
            return Err(OAuthError::new(
                "invalid_request",
                format!("send at most one {single} header"),
            ));
        }
    }
    // Who the client is comes first: an unauthenticated caller must not be
    // able to put proof ids into the shared replay cache.
    let (client, by_certificate) = authenticate_client(state, headers, &params, peer, now).await?;
    // A DPoP proof on the token request binds the token to its key.
    let dpop_mode = state.config.auth.dpop;
    let cnf = match headers.get(crate::auth::DPOP_HEADER).map(|v| v.to_str()) {
        None if dpop_mode == crate::config::DpopMode::Required => {
            return Err(OAuthError::new(
                "invalid_dpop_proof",
                "this server issues DPoP-bound tokens only: send a DPoP proof",
            ));
        }
        None => None,
        Some(_) if dpop_mode == crate::config::DpopMode::Off => {
            return Err(OAuthError::new(
                "invalid_dpop_proof",
                "DPoP is turned off here",
            ));
        }
        Some(Ok(proof)) => {
            let url = format!("{}{TOKEN_PATH}", state.auth.authority.issuer);
            let verified = state
                .auth
                .check_proof(proof, "POST", &url, None, now)
                .await
                .map_err(|e| match e {
                    crate::auth::AuthError::Dpop(d) if d.is_use_nonce() => {
                        OAuthError::new("use_dpop_nonce", "use the DPoP-Nonce the server gave")
                    }
                    crate::auth::AuthError::Unavailable => {
                        OAuthError::new("temporarily_unavailable", "try again later")
                    }
                    other => OAuthError::new("invalid_dpop_proof", other.description()),
                })?;
            Some(json!({"jkt": verified.jkt}))
        }
        Some(Err(_)) => {
            return Err(OAuthError::new(
                "invalid_dpop_proof",
                "unreadable DPoP header",
            ));
        }
    };
    let token_type = if cnf.is_some() { "DPoP" } else { "Bearer" };
    // A client that authenticated with its certificate gets a token bound to
    // it (RFC 8705 §3), unless it asked for DPoP binding instead.
    let cnf = match (cnf, by_certificate, peer) {
        (None, true, Some(p)) => Some(json!({"x5t#S256": p.identity.x5t_s256})),
        (cnf, _, _) => cnf,
    };
    let (minted, granted) = state
        .auth
        .authority
        .issue(&client, audience, &scopes, cnf, now)
        .await?;
    Ok(json!({
        "access_token": minted.token,
        "token_type": token_type,
        "expires_in": state.auth.authority.token_ttl_secs,
        "scope": granted.join(" "),
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
    }))
}

/// Client authentication: exactly one of an API key (`X-API-Key`, or the
/// key as `client_secret`) or a `private_key_jwt` assertion.
async fn authenticate_client(
    state: &GatewayState,
    headers: &HeaderMap,
    params: &std::collections::BTreeMap<String, String>,
    peer: Option<&crate::listener::PeerCertificate>,
    now: u64,
) -> Result<(String, bool), OAuthError> {
    let failed = || OAuthError::new("invalid_client", "client authentication failed");
    // An unreadable key is still a presented method, never skipped.
    let header_key = match headers.get(API_KEY_HEADER).map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(_)) => {
            return Err(OAuthError::new(
                "invalid_request",
                "the X-API-Key header is not readable (visible ASCII only)",
            ));
        }
    };
    let secret = params.get("client_secret").map(String::as_str);
    let assertion = params.get("client_assertion");
    let methods = usize::from(header_key.is_some())
        + usize::from(secret.is_some())
        + usize::from(assertion.is_some());
    // mTLS (RFC 8705 §2.1, `tls_client_auth`): only the client id and the
    // verified client certificate of the connection.
    if methods == 0
        && let (Some(client_id), Some(peer)) = (params.get("client_id"), peer)
    {
        let agent = state
            .store
            .agent(client_id)
            .await
            .map_err(|_| OAuthError::new("server_error", "the registry is unavailable"))?
            .ok_or_else(failed)?;
        let subject = agent.tls_subject.as_deref().ok_or_else(failed)?;
        let names = peer.identity.uris.iter().chain(&peer.identity.dns_names);
        if !names.into_iter().any(|n| n == subject) {
            return Err(failed());
        }
        return Ok((agent.id, true));
    }
    if methods != 1 {
        return Err(OAuthError::new(
            "invalid_request",
            "use exactly one client authentication method",
        ));
    }
    let client_id = params.get("client_id");
    if let Some(key) = header_key.or(secret) {
        let (id, secret) = warden_trust::apikey::split(key.trim()).ok_or_else(failed)?;
        let rec = state
            .store
            .api_key(id)
            .await
            .map_err(|_| OAuthError::new("server_error", "the registry is unavailable"))?
            .ok_or_else(failed)?;
        let expired = rec
            .expires_at
            .is_some_and(|e| i64::try_from(now).unwrap_or(i64::MAX) >= e);
        let matches = warden_trust::apikey::matches(secret, &rec.hash);
        if !matches
            || rec.revoked_at.is_some()
            || expired
            || client_id.is_some_and(|c| *c != rec.subject)
        {
            return Err(failed());
        }
        let _ = state
            .store
            .touch_api_key(&rec.id, &crate::clock::now_rfc3339())
            .await;
        return Ok((rec.subject, false));
    }
    // private_key_jwt (RFC 7523 §2.2).
    if params.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
        return Err(OAuthError::new(
            "invalid_request",
            "unsupported client_assertion_type",
        ));
    }
    let assertion = assertion.ok_or_else(failed)?;
    let issuer = crate::auth::peek_claim(assertion, "iss", 8 * 1024).ok_or_else(failed)?;
    if client_id.is_some_and(|c| *c != issuer) {
        return Err(failed());
    }
    let agent = state
        .store
        .agent(&issuer)
        .await
        .map_err(|_| OAuthError::new("server_error", "the registry is unavailable"))?
        .ok_or_else(failed)?;
    let keys = agent
        .jwks
        .as_deref()
        .and_then(|t| {
            warden_json::parse_strict(t.as_bytes(), warden_json::JsonLimits::default()).ok()
        })
        .and_then(|doc| KeySet::from_jwks(&doc).ok())
        .ok_or_else(failed)?;
    let own = &state.auth.authority.issuer;
    let policy = IssuerPolicy {
        issuer: issuer.clone(),
        audiences: vec![format!("{own}{TOKEN_PATH}"), own.clone()],
        algorithms: warden_trust::alg::ALL_ALGS.to_vec(),
        typ: None,
        max_lifetime_secs: crate::config::CLIENT_ASSERTION_MAX_LIFETIME_SECS,
        leeway_secs: state.auth.authority.leeway_secs,
        max_token_bytes: 8 * 1024,
    };
    let verified = verify_jwt(assertion, &policy, &keys, now).map_err(|e| {
        tracing::info!(client = %issuer, error = %e, "client assertion refused");
        failed()
    })?;
    if verified.claims.sub.as_deref() != Some(issuer.as_str()) {
        return Err(failed());
    }
    let id = format!("assertion\n{issuer}\n{}", verified.claims.jti);
    match state
        .auth
        .claim_once(
            &id,
            verified.claims.exp.saturating_add(policy.leeway_secs),
            now,
        )
        .await
    {
        Ok(()) => Ok((issuer, false)),
        Err(crate::auth::AuthError::Replayed) => Err(failed()),
        Err(_) => Err(OAuthError::new(
            "temporarily_unavailable",
            "try again later",
        )),
    }
}
