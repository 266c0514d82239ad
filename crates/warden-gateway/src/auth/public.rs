//! Callers without a credential at a public agent (`[[agents]] access =
//! "public"`).
//!
//! Each such caller is known by a **capability**: a random secret Warden
//! hands out in the `Warden-Capability` response header of a call made
//! without one. Presented again, it is the caller's identity: the tasks and
//! contexts created under it are owned by `anonymous:{digest}`, so only the
//! holder of the capability can read, cancel or subscribe to them, exactly
//! as a task created with a credential is its caller's. Without it, every
//! call is a new anonymous caller that owns nothing, and another caller's
//! task answers like a missing one. Warden keeps no list of capabilities:
//! any well-formed one is accepted and owns what was created under it, so
//! a guess owns nothing and no answer tells a used capability from an
//! unused one. Only a digest of it is ever stored or logged.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;

use super::AuthError;
use crate::principal::{AuthMethod, Principal};

/// The header a capability travels in, both ways.
pub const CAPABILITY_HEADER: &str = "warden-capability";
/// What every capability starts with (so it is recognisable in a leak scan).
const PREFIX: &str = "wcap_";
/// 256 bits from the system's secure generator.
const SECRET_BYTES: usize = 32;
/// Characters of the digest in the anonymous subject (132 bits).
const SUBJECT_DIGEST_CHARS: usize = 22;

/// A caller without a credential, and the capability to hand it when the
/// call brought none.
#[derive(Debug)]
pub struct PublicCaller {
    pub principal: Principal,
    /// A new capability, for the answer's `Warden-Capability` header.
    pub issued: Option<String>,
    /// A credential's single-use id left for the call's shared step (see
    /// `Authenticator::authenticate_deferring`); never for a capability.
    pub pending: Option<crate::shared::PendingUse>,
}

/// The anonymous caller of a request that carries no credential: the one
/// its capability names, or a new one.
pub fn anonymous(headers: &HeaderMap, source: IpAddr) -> Result<PublicCaller, AuthError> {
    let values = warden_a2a::call::readable(headers, CAPABILITY_HEADER)
        .map_err(|_| AuthError::InvalidRequest("the Warden-Capability header is not readable"))?;
    match values.as_slice() {
        [] => {
            let cap = mint()?;
            Ok(PublicCaller {
                principal: principal_of(&cap, source),
                issued: Some(cap),
                pending: None,
            })
        }
        [one] => {
            let cap = one.trim();
            if !well_formed(cap) {
                return Err(AuthError::InvalidRequest(
                    "a Warden-Capability is \"wcap_\" and 43 base64url characters, as Warden issued it",
                ));
            }
            Ok(PublicCaller {
                principal: principal_of(cap, source),
                issued: None,
                pending: None,
            })
        }
        _ => Err(AuthError::InvalidRequest(
            "present at most one Warden-Capability",
        )),
    }
}

fn mint() -> Result<String, AuthError> {
    use aws_lc_rs::rand::SecureRandom;
    let mut secret = [0u8; SECRET_BYTES];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| AuthError::Unavailable)?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(secret)))
}

fn well_formed(cap: &str) -> bool {
    cap.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && URL_SAFE_NO_PAD
                .decode(rest)
                .is_ok_and(|b| b.len() == SECRET_BYTES)
    })
}

/// The identity a capability stands for: a digest, never the secret.
fn principal_of(cap: &str, source: IpAddr) -> Principal {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cap.as_bytes());
    let mut id = URL_SAFE_NO_PAD.encode(digest.as_ref());
    id.truncate(SUBJECT_DIGEST_CHARS);
    Principal {
        subject: format!("anonymous:{id}"),
        issuer: String::new(),
        local: true,
        // A public agent's skills are open to all (its operations are
        // limited by `public_operations`).
        scopes: vec![warden_policy::ANY_SKILL.to_string()],
        method: AuthMethod::Public,
        token_id: None,
        source,
        peer: None,
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with(cap: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CAPABILITY_HEADER,
            HeaderValue::from_str(cap).expect("value"),
        );
        h
    }

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_call_without_a_capability_gets_a_new_one_that_names_it_again() {
        let first = anonymous(&HeaderMap::new(), HERE).expect("anonymous");
        let cap = first.issued.expect("a capability is issued");
        assert!(well_formed(&cap), "{cap}");
        let again = anonymous(&with(&cap), HERE).expect("presented");
        assert!(again.issued.is_none());
        assert_eq!(again.principal.key(), first.principal.key());
        assert_eq!(again.principal.method, AuthMethod::Public);
        assert!(!again.principal.key().contains(&cap[PREFIX.len()..]));
        let other = anonymous(&HeaderMap::new(), HERE).expect("anonymous");
        assert_ne!(other.principal.key(), first.principal.key());
    }

    #[test]
    fn malformed_or_repeated_capabilities_are_refused() {
        for bad in [
            "",
            "wcap_short",
            "xcap_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                matches!(
                    anonymous(&with(bad), HERE),
                    Err(AuthError::InvalidRequest(_))
                ),
                "{bad:?}"
            );
        }
        let cap = anonymous(&HeaderMap::new(), HERE)
            .expect("anonymous")
            .issued
            .expect("issued");
        let mut two = with(&cap);
        two.append(CAPABILITY_HEADER, HeaderValue::from_str(&cap).expect("v"));
        assert!(matches!(
            anonymous(&two, HERE),
            Err(AuthError::InvalidRequest(_))
        ));
    }
}
