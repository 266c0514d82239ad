//! `warden card verify`: checks a card's signature against keys the user
//! trusts, and says which signature, key, algorithm and canonical form
//! verified.
//!
//! A file is verified as its raw bytes; a URL is fetched through the egress
//! rules first. Keys are the `--jwks` files and, only for hosts on
//! `--allow-jku-host`, the JWKS a signature's `jku` names (fetched through
//! the same rules), as [`warden_client::card`] does.

use std::process::ExitCode;

use axum::http::{HeaderValue, header};
use serde_json::json;
use warden_client::CardTrust;
use warden_client::card::{SignatureKeys, jku_on_hosts};
use warden_egress::{Egress, Outbound};
use warden_trust::card_signature::{
    CardVerifyError, CardVerifyPolicy, KeyRequest, SignatureRejection, VerifiedCard,
    signature_headers, verify_card,
};
use warden_trust::{JwsAlg, KeySet};

use super::{
    EXIT_CODES, Failure, KeyArgs, MAX_JWKS_BYTES, NetArgs, Source, egress, emit, get_capped,
    printable,
};

const VERIFY_HELP: &str = "\
Passes when any one signature verifies, with an allowed algorithm, by a key
from --jwks (by kid) or from the JWKS of a jku on an --allow-jku-host host.
A URL is fetched through the egress rules; one whose path ends in .json is
the card itself, any other is an agent's base URL (its card at
{URL}/.well-known/agent-card.json). A loopback URL is trusted for its host.

The canonical form reported is the reading of the card the signature
covers: rfc8785 (the specification's), python-sdk (a2a-sdk 1.3: empty values
dropped) or python-sdk-json-dumps (a2a-sdk 1.0-1.2).

Examples:
  warden card verify signed.json --jwks agent-keys.json
  warden card verify https://agents.example.com/agents/weather --jwks keys.json --json
  warden card verify card.json --allow-jku-host keys.example.com --alg ES256";

#[derive(Debug, clap::Args)]
#[command(after_help = format!("{VERIFY_HELP}\n\n{EXIT_CODES}"))]
pub struct VerifyArgs {
    /// The card: a file (`-` for stdin) or a URL.
    pub source: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
    /// Print one JSON object: {"ok", "signature", "kid", "alg", "form", "jku"}.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    if args.keys.jwks.is_empty() && args.keys.allow_jku_hosts.is_empty() {
        return Err(Failure::input(
            "usage",
            "no keys to verify with: give --jwks FILE (or --allow-jku-host HOST)",
        ));
    }
    let trust = Trust::from_args(&args.keys)?;
    let source = Source::of(&args.source);
    let egress = match source.url() {
        None if !trust.needs_network() => None,
        url => Some(egress(&args.net, url)?),
    };
    let bytes = source.read(egress.as_ref()).await?;
    let verified = trust
        .verify(&bytes, egress.as_ref())
        .await
        .map_err(Unverified::into_failure)?;
    if args.json {
        emit(&verified_json(&verified).to_string());
    } else {
        emit(&format!("ok: {}", describe(&verified)));
    }
    Ok(ExitCode::SUCCESS)
}

/// `signature N verifies: kid K, alg A, form F[, jku U]`.
pub(crate) fn describe(v: &VerifiedCard) -> String {
    let jku = v
        .jku
        .as_deref()
        .map(|u| format!(", jku {}", printable(u)))
        .unwrap_or_default();
    format!(
        "signature {} verifies: kid {}, alg {}, form {}{jku}",
        v.index,
        printable(&v.kid),
        v.alg,
        v.form
    )
}

pub(crate) fn verified_json(v: &VerifiedCard) -> serde_json::Value {
    json!({
        "ok": true,
        "signature": v.index,
        "kid": v.kid,
        "alg": v.alg.as_str(),
        "form": v.form.as_str(),
        "jku": v.jku,
    })
}

/// Which signatures to believe.
pub(crate) struct Trust {
    key_sources: bool,
    keys: KeySet,
    jku_hosts: Vec<String>,
    algorithms: Vec<JwsAlg>,
}

/// Why a card is not verified.
pub(crate) enum Unverified {
    /// It carries no signature.
    Unsigned,
    /// Every signature names a key not known here: it proves nothing
    /// either way.
    UnknownKeys(CardVerifyError),
    /// Not strict JSON, malformed signatures, or a signature by a known key
    /// that does not verify: a tampered card.
    Invalid(CardVerifyError),
    /// An allow-listed `jku` could not be fetched.
    Jwks(Failure),
}

impl Unverified {
    pub(crate) fn into_failure(self) -> Failure {
        let rejected = |reason, e: CardVerifyError| Failure::Rejected {
            reason,
            why: e.to_string(),
        };
        match self {
            Self::Unsigned => Failure::Rejected {
                reason: "card_unsigned",
                why: "the card is not signed".into(),
            },
            Self::UnknownKeys(e) => rejected("unknown_key", e),
            Self::Invalid(e @ CardVerifyError::Json(_)) => rejected("card_json", e),
            Self::Invalid(e) => rejected("card_signature", e),
            Self::Jwks(f) => f,
        }
    }
}

impl Trust {
    pub(crate) fn from_args(args: &KeyArgs) -> Result<Self, Failure> {
        let mut sets = Vec::new();
        for path in &args.jwks {
            sets.push(
                CardTrust::read_jwks_file(path)
                    .map_err(|e| Failure::input("jwks", e.to_string()))?,
            );
        }
        let keys = CardTrust::merge(sets).map_err(|e| Failure::input("jwks", e.to_string()))?;
        let algorithms = if args.algorithms.is_empty() {
            warden_trust::alg::ALL_ALGS.to_vec()
        } else {
            args.algorithms.clone()
        };
        Ok(Self {
            key_sources: !args.jwks.is_empty() || !args.allow_jku_hosts.is_empty(),
            keys,
            jku_hosts: args.allow_jku_hosts.clone(),
            algorithms,
        })
    }

    /// Whether the user named any key source (an empty JWKS counts: the
    /// card must then verify, and cannot).
    pub(crate) fn has_keys(&self) -> bool {
        self.key_sources
    }

    pub(crate) fn needs_network(&self) -> bool {
        !self.jku_hosts.is_empty()
    }

    /// Verifies `card` (raw bytes). `egress` fetches allow-listed `jku`s.
    pub(crate) async fn verify(
        &self,
        card: &[u8],
        egress: Option<&Egress>,
    ) -> Result<VerifiedCard, Unverified> {
        let policy = CardVerifyPolicy::new(self.algorithms.clone());
        let headers = match signature_headers(card, &policy) {
            Ok(h) => h,
            Err(CardVerifyError::NoSignatures) => return Err(Unverified::Unsigned),
            Err(e) => return Err(Unverified::Invalid(e)),
        };
        let mut found = SignatureKeys::new(&self.keys);
        let mut jwks_failure = None;
        if let Some(egress) = egress {
            let jkus = headers.iter().flatten().filter_map(|h| h.jku.as_deref());
            for jku in SignatureKeys::wanted(jkus, |j| jku_on_hosts(j, &self.jku_hosts)) {
                match fetch_jwks(egress, &jku).await {
                    Ok(keys) => found.add(jku, keys),
                    Err(e) => jwks_failure = Some(e),
                }
            }
        }
        let keys = |req: &KeyRequest<'_>| found.get(req);
        verify_card(card, &policy, &keys).map_err(|e| match (jwks_failure, &e) {
            (Some(failure), _) => Unverified::Jwks(failure),
            (None, CardVerifyError::NoValidSignature(r))
                if r.iter()
                    .all(|r| matches!(r, SignatureRejection::UnknownKey(_))) =>
            {
                Unverified::UnknownKeys(e)
            }
            (None, _) => Unverified::Invalid(e),
        })
    }
}

async fn fetch_jwks(egress: &Egress, url: &str) -> Result<KeySet, Failure> {
    let mut req = Outbound::get(url, "jwks");
    req.headers
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let body = get_capped(egress, req, MAX_JWKS_BYTES, "jwks").await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Failure::input("jwks", format!("the JWKS at {url} is not UTF-8")))?;
    CardTrust::read_jwks(text)
        .map_err(|e| Failure::input("jwks", format!("the JWKS at {url}: {e}")))
}
