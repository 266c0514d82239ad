//! `warden webhook verify`: checks a push notification Warden delivered, for
//! scripts and for trying a receiver out, on the verifier of
//! [`warden_webhooks`] (the one the Rust client crate exposes).
//!
//! Exit codes ([`Failure`] is the one place they are chosen): 0 verified;
//! 1 refused, with the reason code; 2 bad input (arguments, files, a
//! missing secret, a JWKS that cannot be fetched or read).

mod input;
mod seen_file;
mod verify;

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

pub use verify::VerifyArgs;

/// The exit codes, shown in `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  verified: a signature by a trusted secret or key, fresh, (with keys)
     meant for --url and about this body, and not seen before in --seen-file
  1  refused; the reason code is printed: malformed, bad_signature,
     unknown_key, stale, future, replayed, wrong_audience, wrong_issuer,
     body_swapped, wrong_task
  2  bad input: arguments, an unreadable file, a missing or invalid secret,
     a JWKS that cannot be fetched (the egress rules' reason is printed) or
     read, a --seen-file that cannot be used

With --json, stdout carries exactly one JSON object, on success and on
failure ({\"ok\": false, \"reason\": CODE, \"error\": TEXT}).";

/// `warden webhook …`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Verify a push notification: its Standard Webhooks signature
    /// (`v1` with the subscription's secret, `v1a` with Warden's key), its
    /// freshness, Warden's JWT (`aud` = your URL, the body's hash) and that
    /// its id was not seen before.
    Verify(VerifyArgs),
}

pub async fn run(cmd: WebhookCommand) -> ExitCode {
    let (json, result) = match cmd {
        WebhookCommand::Verify(args) => (args.json, verify::run(args).await),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(json),
    }
}

/// Why the command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The notification is refused: exit 1.
    Refused { reason: &'static str, why: String },
    /// Bad arguments or unreadable input: exit 2.
    Input { reason: &'static str, why: String },
}

impl Failure {
    pub(crate) fn input(reason: &'static str, why: impl Into<String>) -> Self {
        Self::Input {
            reason,
            why: why.into(),
        }
    }

    fn report(&self, json: bool) -> ExitCode {
        let (code, reason, why) = match self {
            Self::Refused { reason, why } => (1, reason, why),
            Self::Input { reason, why } => (2, reason, why),
        };
        if json {
            crate::card_cmd::emit(
                &json!({"ok": false, "reason": reason, "error": why}).to_string(),
            );
        } else if code == 1 {
            eprintln!("refused [{reason}]: {}", crate::card_cmd::printable(why));
        } else {
            eprintln!("error [{reason}]: {}", crate::card_cmd::printable(why));
        }
        ExitCode::from(code)
    }
}
