//! `warden card fetch`: reads a card through the egress rules, verifies it
//! with the keys given, and prints it exactly as received.
//!
//! As in [`warden_client::card`]: with keys, a card without a verifying
//! signature is refused unless `--insecure-unsigned-card`; with `--insecure-unsigned-card`,
//! an unsigned card, or one whose signatures name only unknown keys, is
//! printed with a warning, while a malformed signature or a bad one by a
//! known key still refuses the card (that is a tampered card).

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use warden_json::{JsonLimits, parse_strict};

use super::verify::{Trust, Unverified, describe, verified_json};
use super::{
    EXIT_CODES, Failure, KeyArgs, NetArgs, Source, card_location, egress, emit, printable,
    write_output,
};

const FETCH_HELP: &str = "\
The URL is an agent's base URL (the card is read from
{URL}/.well-known/agent-card.json) or, when its path ends in .json, the card's
own URL. The request goes through the egress rules (https only, port 443, no
loopback, private or metadata addresses; the [egress] table of --config); a
loopback URL is trusted for its host, as `warden call` does.

Examples:
  warden card fetch https://agents.example.com/agents/weather --jwks keys.json
  warden card fetch http://127.0.0.1:8080/agents/echo --insecure-unsigned-card --out echo.json";

#[derive(Debug, clap::Args)]
#[command(after_help = format!("{FETCH_HELP}\n\n{EXIT_CODES}"))]
pub struct FetchArgs {
    /// The agent's base URL, or the card's own URL.
    pub url: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Print a card without a verifying signature (with a warning). Needed
    /// when no keys are given.
    #[arg(long, alias = "allow-unsigned")]
    pub insecure_unsigned_card: bool,
    /// Write the card here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    /// Print one JSON object: {"ok", "url", "verified", "kid", "alg",
    /// "form", …, "card"}.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: FetchArgs) -> Result<ExitCode, Failure> {
    let trust = Trust::from_args(&args.keys)?;
    if !trust.has_keys() && !args.insecure_unsigned_card {
        return Err(Failure::input(
            "usage",
            "no keys to verify the card with: give --jwks FILE (or --allow-jku-host HOST), or \
             --insecure-unsigned-card to fetch it unverified",
        ));
    }
    let egress = egress(&args.net, Some(&args.url))?;
    let source = Source::Url(args.url.clone());
    let bytes = source.read(Some(&egress)).await?;
    let verified = match trust.verify(&bytes, Some(&egress)).await {
        Ok(v) => Some(v),
        Err(Unverified::Unsigned | Unverified::UnknownKeys(_)) if args.insecure_unsigned_card => {
            None
        }
        Err(e) => return Err(e.into_failure()),
    };
    // The card was read strictly on the way (duplicate keys refused); this
    // is the same text as a value.
    let card = parse_strict(&bytes, JsonLimits::default()).map_err(|e| Failure::Rejected {
        reason: "card_json",
        why: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let url = card_location(&args.url)?;

    // The card goes to --out, else to stdout (inside the one object with
    // --json).
    if args.out.is_some() || !args.json {
        write_output(args.out.as_deref(), &text)?;
    }
    if args.json {
        let mut summary = match &verified {
            Some(v) => verified_json(v),
            None => json!({"ok": true}),
        };
        summary["url"] = json!(url);
        summary["verified"] = json!(verified.is_some());
        match &args.out {
            Some(path) => summary["out"] = json!(path.display().to_string()),
            None => summary["card"] = card,
        }
        emit(&summary.to_string());
    } else {
        match &verified {
            Some(v) => eprintln!("verified: {}", describe(v)),
            None => eprintln!(
                "warning: the card at {} is not verified ({}); --insecure-unsigned-card",
                printable(&url),
                unsigned_why(&card)
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn unsigned_why(card: &Value) -> &'static str {
    let signed = card
        .get("signatures")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if signed {
        "its signatures name no key given here"
    } else {
        "it is not signed"
    }
}
