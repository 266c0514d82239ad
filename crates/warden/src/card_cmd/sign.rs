//! `warden card sign`: appends a signature to a card.
//!
//! The card is read strictly (duplicate keys, lone surrogates refused).
//! Empty strings, arrays, objects and nulls are removed first, and the user
//! told which: the Python A2A SDK drops them before verifying, so a card
//! holding them would verify under one reading and not the other
//! ([`warden_trust::card_signature`], "Which payload"). The result is
//! checked with the key's public half before it is printed.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use warden_json::{JsonLimits, parse_strict};
use warden_trust::card_signature::{
    CanonicalForm, CardSigningOptions, CardVerifyPolicy, add_card_signature, strip_empty_values,
    verify_card,
};
use warden_trust::{JwsAlg, KeySet, SigningKey};

use super::{EXIT_CODES, Failure, emit, parse_alg, pretty, printable, read_file, write_output};

const SIGN_HELP: &str = "\
The key file is PKCS#8 (PEM `BEGIN PRIVATE KEY`, or DER) or a private JWK.
The kid is --kid, else the JWK's own kid, else the RFC 7638 thumbprint of the
public key. Publish the public key (in a JWKS) where verifiers pin it.

Examples:
  warden card sign card.json --key card-key.pem --alg ES256 --out signed.json
  warden card sign card.json --key key.jwk --alg EdDSA --kid cards-2026 \\
      --jku https://agents.example.com/.well-known/jwks.json";

#[derive(Debug, clap::Args)]
#[command(after_help = format!("{SIGN_HELP}\n\n{EXIT_CODES}"))]
pub struct SignArgs {
    /// The card to sign (`-` for stdin).
    pub card: PathBuf,
    /// The private key: PKCS#8 PEM or DER, or a private JWK.
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// The signature algorithm: ES256, ES384, EdDSA, RS256 or PS256.
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    pub alg: JwsAlg,
    /// The key id written in the protected header.
    #[arg(long)]
    pub kid: Option<String>,
    /// A JWKS URL to name in the protected header (verifiers follow it only
    /// to hosts they allow).
    #[arg(long, value_name = "URL")]
    pub jku: Option<String>,
    /// Write the signed card here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the public key as a JWKS here: what a verifier pins
    /// (`card_jwks_file` at the gateway, `--jwks` for `warden card verify`).
    #[arg(long, value_name = "FILE")]
    pub jwks_out: Option<PathBuf>,
    /// Print one JSON object: {"ok", "kid", "alg", "jku", "removed", "card"}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SignArgs) -> Result<ExitCode, Failure> {
    let bytes = read_file(&args.card)?;
    let mut card = parse_strict(&bytes, JsonLimits::default()).map_err(|e| {
        Failure::input(
            "card_json",
            format!("{}: not acceptable JSON: {e}", args.card.display()),
        )
    })?;
    if !card.is_object() {
        return Err(Failure::input(
            "card_json",
            format!("{}: a card is a JSON object", args.card.display()),
        ));
    }
    let key = SigningKey::from_key_file(&args.key, args.alg, args.kid.as_deref())
        .map_err(|e| Failure::input("key", format!("{}: {e}", args.key.display())))?;
    if let Some(jku) = &args.jku {
        check_jku(jku)?;
    }

    let mut removed = Vec::new();
    empty_paths(&card, "", &mut removed);
    if !removed.is_empty() {
        strip_empty_values(&mut card);
        note_removed(&removed, has_signatures(&card));
    }
    let options = CardSigningOptions {
        jku: args.jku.clone(),
        ..CardSigningOptions::default()
    };
    add_card_signature(&mut card, &key, &options)
        .map_err(|e| Failure::input("sign", e.to_string()))?;
    let text = pretty(&card);
    self_check(&text, &key)?;
    if let Some(path) = &args.jwks_out {
        let jwks = json!({"keys": [key.public_jwk().to_json()]});
        std::fs::write(path, format!("{}\n", pretty(&jwks)))
            .map_err(|e| Failure::input("jwks_out", format!("{}: {e}", path.display())))?;
    }

    // The card goes to --out, else to stdout (inside the one object with
    // --json).
    if args.out.is_some() || !args.json {
        write_output(args.out.as_deref(), &text)?;
    }
    if args.json {
        let mut summary = json!({
            "ok": true,
            "kid": key.kid(),
            "alg": key.alg().as_str(),
            "jku": args.jku,
            "removed": removed,
        });
        match &args.out {
            Some(path) => summary["out"] = json!(path.display().to_string()),
            None => summary["card"] = card,
        }
        emit(&summary.to_string());
    } else {
        let jku = args
            .jku
            .as_deref()
            .map(|u| format!(", jku {}", printable(u)))
            .unwrap_or_default();
        let to = args
            .out
            .as_ref()
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default();
        eprintln!(
            "signed{to}: kid {}, alg {}{jku}",
            printable(key.kid()),
            key.alg()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A `jku` must be an absolute URL the egress rules can read; a verifier
/// will fetch it over https only (unless told otherwise).
fn check_jku(jku: &str) -> Result<(), Failure> {
    let target = warden_egress::target::parse(jku)
        .map_err(|e| Failure::input("jku", format!("--jku {}: {e}", printable(jku))))?;
    if target.url.scheme() != "https" {
        eprintln!(
            "warning: --jku {} is not https; verifiers following it need their egress rules \
             lifted",
            printable(jku)
        );
    }
    Ok(())
}

fn has_signatures(card: &Value) -> bool {
    card.get("signatures")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn note_removed(removed: &[String], had_signatures: bool) {
    eprintln!(
        "note: removed {} empty value{} (\"\", [], {{}} or null), which the Python A2A SDK drops \
         before verifying:",
        removed.len(),
        if removed.len() == 1 { "" } else { "s" }
    );
    for path in removed {
        eprintln!("  {}", printable(path));
    }
    if had_signatures {
        eprintln!(
            "warning: the card's earlier signatures covered those values and may no longer \
             verify"
        );
    }
}

/// The JSON Pointers of what [`strip_empty_values`] removes from `value`
/// (the outermost removed value only: an object holding only empties is
/// one entry). Returns whether `value` itself ends up empty.
fn empty_paths(value: &Value, path: &str, out: &mut Vec<String>) -> bool {
    let mut inner = Vec::new();
    let kept = match value {
        Value::Null => return true,
        Value::String(s) => return s.is_empty(),
        Value::Bool(_) | Value::Number(_) => return false,
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter(|(i, item)| {
                let at = format!("{path}/{i}");
                let empty = empty_paths(item, &at, &mut inner);
                if empty {
                    inner.push(at);
                }
                !empty
            })
            .count(),
        Value::Object(members) => members
            .iter()
            .filter(|(k, v)| {
                let at = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                let empty = empty_paths(v, &at, &mut inner);
                if empty {
                    inner.push(at);
                }
                !empty
            })
            .count(),
    };
    if kept == 0 && !path.is_empty() {
        return true;
    }
    out.extend(inner);
    false
}

/// The signed text verifies with the key's public half, over the reading
/// Warden signs: a key file that does not match its algorithm, or a bug,
/// shows here rather than at a verifier.
fn self_check(text: &str, key: &SigningKey) -> Result<(), Failure> {
    let mut policy = CardVerifyPolicy::new(vec![key.alg()]);
    policy.forms = vec![CanonicalForm::Rfc8785];
    policy.max_signatures = usize::MAX;
    let keys = KeySet::from_keys([key.public_jwk()]);
    verify_card(text.as_bytes(), &policy, &keys)
        .map(|_| ())
        .map_err(|e| Failure::input("sign", format!("the signed card does not verify: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(v: &Value) -> Vec<String> {
        let mut out = Vec::new();
        empty_paths(v, "", &mut out);
        out
    }

    #[test]
    fn empty_paths_names_what_strip_empty_values_removes() {
        let mut card = json!({
            "name": "a",
            "description": "",
            "skills": [{"id": "s", "tags": []}, {"examples": [""]}],
            "securityRequirements": [{"schemes": {"bearer": {"list": []}}}],
            "capabilities": {"streaming": false, "extensions": null},
            "a/b~c": {},
            "n": 0
        });
        assert_eq!(
            paths(&card),
            [
                "/description",
                "/skills/0/tags",
                "/skills/1",
                "/securityRequirements",
                "/capabilities/extensions",
                "/a~1b~0c",
            ]
        );
        strip_empty_values(&mut card);
        assert!(paths(&card).is_empty(), "{card}");
        assert_eq!(
            card,
            json!({"name": "a", "skills": [{"id": "s"}], "capabilities": {"streaming": false},
                   "n": 0})
        );
    }
}
