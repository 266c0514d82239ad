//! Stage 4 of the pipeline: who is calling. Strict by default: every A2A
//! call needs one verified credential — a JWT from Warden's own authority or
//! a configured issuer (single-use when it is a plain bearer token; reusable
//! within its lifetime when DPoP-bound, each use with a fresh proof, or
//! certificate-bound (RFC 8705) over mTLS with that certificate), or an API
//! key.

mod api_key;
mod claims;
mod error;
mod issuer_keys;
mod nonces;
mod proofs;
pub mod public;
mod single_use;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;
use warden_store::Store;

use crate::registry_view::RegistryView;
use warden_trust::{
    Claims, DpopPolicy, IssuerPolicy, JwsAlg, KeySet, ReplayCache, TokenError, verify_jwt,
};

use crate::principal::{AuthMethod, Principal};
pub use claims::peek_claim;
pub use error::AuthError;
pub use single_use::replayed;

use crate::shared::PendingUse;

use claims::{check_cert_binding, peek_issuer, principal};
use nonces::Nonces;

use crate::config::{AuthMode, AuthSection, ConfigError, DpopMode};
use crate::listener::PeerCertificate;
use warden_authority::{Authority, GATEWAY_SUBJECT};

/// The header API keys travel in (also accepted as `Authorization: Bearer wdn_…`).
pub const API_KEY_HEADER: &str = "x-api-key";
/// The DPoP proof header (RFC 9449).
pub const DPOP_HEADER: &str = "dpop";

/// What authentication looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    pub headers: &'a HeaderMap,
    /// The target agent's name (it need not exist).
    pub agent: &'a str,
    pub source: IpAddr,
    /// The HTTP method, for DPoP `htm`.
    pub method: &'a str,
    /// The URL as the client addressed it (public base + path), for DPoP `htu`.
    pub url: &'a str,
    pub now: u64,
    /// The connection's verified client certificate (mTLS), if any: it
    /// becomes `Principal::peer`, and certificate-bound tokens (RFC 8705)
    /// must match it.
    pub peer_cert: Option<&'a PeerCertificate>,
    /// Where the registry snapshot a credential was checked against is
    /// left for the call's admission (see [`crate::registry_view::Seen`]).
    pub seen: Option<&'a crate::registry_view::Seen>,
}

struct External {
    policy: IssuerPolicy,
    keys: issuer_keys::IssuerKeys,
    dpop: DpopMode,
}

pub struct Authenticator {
    pub mode: AuthMode,
    pub authority: Authority,
    externals: Vec<External>,
    pub replay: Arc<dyn ReplayCache>,
    leeway: u64,
    max_token_bytes: usize,
    store: Store,
    /// API keys, registered agents and grants, in memory.
    registry: Arc<RegistryView>,
    /// The minute each API key was last recorded as used (one write per
    /// key per minute, not one per request).
    key_use: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// When the own key set was last reloaded for an unknown `kid`.
    last_refresh: AtomicU64,
    /// DPoP for Warden's own tokens.
    dpop_mode: DpopMode,
    dpop_policy: DpopPolicy,
    nonces: Nonces,
    /// Single-use ids on every replica (`[shared]`), besides `replay`.
    shared: Option<crate::shared::SharedReplay>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Algorithms Warden's own tokens may use.
const OWN_ALGS: [JwsAlg; 2] = [JwsAlg::EdDsa, JwsAlg::Es256];

impl Authenticator {
    pub fn new(
        section: &AuthSection,
        authority: Authority,
        replay: Arc<dyn ReplayCache>,
        store: Store,
        registry: Arc<RegistryView>,
        egress: &warden_egress::Egress,
    ) -> Result<Self, ConfigError> {
        let mut externals = Vec::new();
        for (i, iss) in section.issuers.iter().enumerate() {
            let invalid = |message: String| ConfigError::Invalid {
                path: format!("auth.issuers[{i}]").into(),
                message,
            };
            let text =
                match (&iss.jwks, &iss.jwks_file, &iss.jwks_url) {
                    (Some(inline), _, _) => Some(inline.clone()),
                    (None, Some(path), _) => Some(std::fs::read_to_string(path).map_err(
                        |source| ConfigError::Read {
                            path: path.clone(),
                            source,
                        },
                    )?),
                    _ => None,
                };
            let keys = match (text, &iss.jwks_url) {
                (Some(text), _) => {
                    let doc = warden_json::parse_strict(
                        text.as_bytes(),
                        warden_json::JsonLimits::default(),
                    )
                    .map_err(|e| invalid(format!("JWKS is not valid JSON: {e}")))?;
                    let keys = KeySet::from_jwks(&doc).map_err(|e| invalid(e.to_string()))?;
                    if keys.is_empty() {
                        return Err(invalid(
                            "the JWKS has no usable signing key (each needs a kid)".into(),
                        ));
                    }
                    issuer_keys::IssuerKeys::Fixed(keys)
                }
                (None, Some(url)) => issuer_keys::IssuerKeys::Remote(issuer_keys::RemoteJwks::new(
                    url.clone(),
                    egress.clone(),
                    iss.jwks_cache_secs.get(),
                    iss.jwks_min_refresh_secs.get(),
                )),
                (None, None) => return Err(invalid("no JWKS configured".into())),
            };
            externals.push(External {
                policy: IssuerPolicy {
                    issuer: iss.issuer.clone(),
                    audiences: iss.audiences.clone(),
                    algorithms: iss.algorithms.clone(),
                    typ: iss.typ.clone(),
                    max_lifetime_secs: iss.max_lifetime_secs,
                    leeway_secs: section.leeway_secs,
                    max_token_bytes: section.max_token_bytes,
                },
                keys,
                dpop: iss.dpop,
            });
        }
        Ok(Self {
            mode: section.mode,
            authority,
            externals,
            replay,
            leeway: section.leeway_secs,
            max_token_bytes: section.max_token_bytes,
            store,
            registry,
            key_use: std::sync::Mutex::default(),
            last_refresh: AtomicU64::new(0),
            dpop_mode: section.dpop,
            dpop_policy: DpopPolicy {
                max_proof_bytes: section.max_token_bytes,
                ..DpopPolicy::default()
            },
            nonces: Nonces::new(section.dpop_nonces),
            shared: None,
        })
    }

    /// Authenticates a call to `req.agent`. The agent need not exist: the
    /// answer for a missing or bad credential is the same either way. The
    /// connection's client certificate, when there is one, is part of the
    /// principal.
    pub async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Principal, AuthError> {
        let (principal, pending) = self.authenticate_deferring(req).await?;
        if let Some(pending) = pending {
            self.settle(&pending).await?;
        }
        Ok(principal)
    }

    /// [`Self::authenticate`], leaving a single-use id checked but not yet
    /// recorded when `[shared]` is on: the caller **must** then record it,
    /// with the call's rate limits (one round trip for both) or on its own
    /// ([`Self::settle`]) before the call is served or answered otherwise.
    /// Without `[shared]` nothing is left pending.
    pub async fn authenticate_deferring(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<(Principal, Option<PendingUse>), AuthError> {
        let (mut principal, pending) = self.credential(req).await?;
        principal.peer = req.peer_cert.map(|c| c.identity.clone());
        Ok((principal, pending))
    }

    /// Authentication at a public agent: a request with a credential is
    /// authenticated as anywhere (a bad credential is refused, never
    /// downgraded; its single-use id left pending as with
    /// [`Self::authenticate_deferring`]); one with none is an anonymous
    /// caller ([`public::anonymous`]).
    pub async fn authenticate_public(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<public::PublicCaller, AuthError> {
        match self.authenticate_deferring(req).await {
            Ok((principal, pending)) => Ok(public::PublicCaller {
                principal,
                issued: None,
                pending,
            }),
            Err(AuthError::Missing) if req.headers.get(DPOP_HEADER).is_none() => {
                let mut caller = public::anonymous(req.headers, req.source)?;
                caller.principal.peer = req.peer_cert.map(|c| c.identity.clone());
                Ok(caller)
            }
            Err(e) => Err(e),
        }
    }

    /// The principal the request's credential stands for.
    async fn credential(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<(Principal, Option<PendingUse>), AuthError> {
        if self.mode == AuthMode::InsecureOff {
            return Ok((Principal::anonymous(req.source), None));
        }
        // Counted before they are read: a credential header that cannot be
        // read is still a credential, never skipped for another one.
        let count = |name| req.headers.get_all(name).iter().count();
        if count(http::header::AUTHORIZATION.as_str()) + count(API_KEY_HEADER) > 1 {
            return Err(AuthError::InvalidRequest("present exactly one credential"));
        }
        if count(DPOP_HEADER) > 1 {
            return Err(AuthError::InvalidRequest("present at most one DPoP proof"));
        }
        let all = |name| {
            warden_a2a::call::readable(req.headers, name).map_err(|_| {
                AuthError::InvalidRequest(
                    "a credential header is not readable (visible ASCII only)",
                )
            })
        };
        let authz = all(http::header::AUTHORIZATION.as_str())?;
        let api_keys = all(API_KEY_HEADER)?;
        let proofs = all(DPOP_HEADER)?;
        if let Some(key) = api_keys.first() {
            if !proofs.is_empty() {
                return Err(AuthError::InvalidRequest(
                    "a DPoP proof goes with the DPoP scheme",
                ));
            }
            return Ok((self.api_key(key.trim(), req).await?, None));
        }
        let Some(value) = authz.first() else {
            return Err(AuthError::Missing);
        };
        let (scheme, credential) = value.trim().split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        if credential.is_empty() {
            return Err(AuthError::InvalidRequest(
                "the Authorization header has no credential",
            ));
        }
        if scheme.eq_ignore_ascii_case("dpop") {
            let proof = proofs.first().ok_or(AuthError::InvalidRequest(
                "a DPoP token needs a DPoP proof header",
            ))?;
            return self.dpop(credential, proof, req).await;
        }
        if !proofs.is_empty() {
            return Err(AuthError::InvalidRequest(
                "a DPoP proof goes with the DPoP scheme",
            ));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            if credential.starts_with(warden_trust::apikey::PREFIX) && !credential.contains('.') {
                return Ok((self.api_key(credential, req).await?, None));
            }
            return self.bearer(credential, req).await;
        }
        Err(AuthError::InvalidRequest(
            "unsupported authorization scheme",
        ))
    }

    /// Verifies a token's signature and claims; returns them with the
    /// issuer's DPoP mode.
    async fn verify_token(
        &self,
        token: &str,
        agent: &str,
        now: u64,
    ) -> Result<(Claims, DpopMode), AuthError> {
        let issuer = peek_issuer(token, self.max_token_bytes)
            .ok_or(AuthError::InvalidToken(TokenError::Malformed))?;
        if issuer == self.authority.issuer {
            let policy = IssuerPolicy {
                issuer: issuer.clone(),
                audiences: vec![agent.to_string()],
                algorithms: OWN_ALGS.to_vec(),
                typ: Some("at+jwt".into()),
                max_lifetime_secs: crate::config::OWN_TOKEN_MAX_LIFETIME_SECS,
                leeway_secs: self.leeway,
                max_token_bytes: self.max_token_bytes,
            };
            let keys = self.authority.keys.token_keys();
            let verified = match verify_jwt(token, &policy, &keys, now) {
                Err(TokenError::UnknownKid(_)) if self.may_refresh(now) => {
                    // Another process (a rotation, `warden token mint`) may
                    // have added a key; reload once, then decide.
                    let _ = self.authority.keys.refresh(now).await;
                    verify_jwt(token, &policy, &self.authority.keys.token_keys(), now)
                }
                other => other,
            }
            .map_err(AuthError::InvalidToken)?;
            // Warden's upstream tokens are for agents, not for calling back
            // in: one presented here (an agent replaying it) is refused.
            if verified.claims.all.contains_key("act")
                || verified.claims.sub.as_deref() == Some(GATEWAY_SUBJECT)
            {
                return Err(AuthError::InvalidToken(TokenError::BadClaim("act")));
            }
            return Ok((verified.claims, self.dpop_mode));
        }
        let ext = self
            .externals
            .iter()
            .find(|e| e.policy.issuer == issuer)
            .ok_or(AuthError::InvalidToken(TokenError::WrongIssuer))?;
        let verified = match &ext.keys {
            issuer_keys::IssuerKeys::Fixed(keys) => verify_jwt(token, &ext.policy, keys, now),
            issuer_keys::IssuerKeys::Remote(remote) => {
                match verify_jwt(token, &ext.policy, &remote.keys(now).await, now) {
                    // The issuer may have rotated: refresh (rate-limited), retry.
                    Err(TokenError::UnknownKid(_)) if remote.refresh(now).await => {
                        verify_jwt(token, &ext.policy, &remote.keys(now).await, now)
                    }
                    other => other,
                }
            }
        }
        .map_err(AuthError::InvalidToken)?;
        Ok((verified.claims, ext.dpop))
    }

    async fn bearer(
        &self,
        token: &str,
        req: &AuthRequest<'_>,
    ) -> Result<(Principal, Option<PendingUse>), AuthError> {
        // A certificate-bound token already verified on this connection.
        if let Some(claims) = req
            .peer_cert
            .and_then(|c| c.verified_tokens.get(token, req.agent, req.now))
        {
            return Ok((
                principal(
                    &claims,
                    AuthMethod::Bearer,
                    req.source,
                    &self.authority.issuer,
                ),
                None,
            ));
        }
        let (claims, dpop) = self.verify_token(token, req.agent, req.now).await?;
        if dpop == DpopMode::Required {
            return Err(AuthError::DpopRequired);
        }
        // A sender-constrained token without its proof is refused, and so is
        // any confirmation method Warden does not check (RFC 7800 `jwk`,
        // `kid`, …): only a certificate binding can go with Bearer.
        if claims
            .cnf
            .as_ref()
            .is_some_and(|cnf| cnf.keys().any(|k| k != "x5t#S256"))
        {
            return Err(AuthError::InvalidToken(TokenError::BadClaim("cnf")));
        }
        // A certificate-bound token (RFC 8705) is good only over a connection
        // with that client certificate; the TLS handshake proved possession
        // of its key, so such a token may be used again within its lifetime.
        if check_cert_binding(&claims, req.peer_cert)? {
            if let Some(cert) = req.peer_cert {
                cert.verified_tokens.put(token, req.agent, &claims, req.now);
            }
            return Ok((
                principal(
                    &claims,
                    AuthMethod::Bearer,
                    req.source,
                    &self.authority.issuer,
                ),
                None,
            ));
        }
        // Plain bearer tokens are single-use: remember the id until expiry
        // (with `[shared]`, in the call's one round trip).
        let id = format!("{}\n{}", claims.iss, claims.jti);
        let until = claims.exp.saturating_add(self.leeway);
        let pending = self.use_once(&id, until, req.now)?;
        Ok((
            principal(
                &claims,
                AuthMethod::Bearer,
                req.source,
                &self.authority.issuer,
            ),
            pending,
        ))
    }

    /// A DPoP-bound token (RFC 9449): reusable within its lifetime, each use
    /// with a fresh proof from the key the token is bound to.
    async fn dpop(
        &self,
        token: &str,
        proof: &str,
        req: &AuthRequest<'_>,
    ) -> Result<(Principal, Option<PendingUse>), AuthError> {
        let (claims, mode) = self.verify_token(token, req.agent, req.now).await?;
        if mode == DpopMode::Off {
            return Err(AuthError::InvalidRequest(
                "DPoP is not accepted for this issuer",
            ));
        }
        if claims
            .cnf
            .as_ref()
            .is_some_and(|cnf| cnf.keys().any(|k| k != "jkt" && k != "x5t#S256"))
        {
            return Err(AuthError::InvalidToken(TokenError::BadClaim("cnf")));
        }
        let (verified, pending) =
            self.check_proof_deferring(proof, req.method, req.url, Some(token), req.now)?;
        warden_trust::dpop::check_binding(claims.cnf.as_ref(), &verified.jkt)
            .map_err(AuthError::Dpop)?;
        // Bound to a certificate as well: that must match too.
        check_cert_binding(&claims, req.peer_cert)?;
        Ok((
            principal(
                &claims,
                AuthMethod::Dpop,
                req.source,
                &self.authority.issuer,
            ),
            pending,
        ))
    }

    fn may_refresh(&self, now: u64) -> bool {
        let last = self.last_refresh.load(Ordering::Relaxed);
        now >= last.saturating_add(10)
            && self
                .last_refresh
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}
