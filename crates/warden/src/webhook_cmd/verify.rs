//! `warden webhook verify`: one notification through
//! [`warden_webhooks::Verifier`], with what the command line gives it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;
use warden_trust::KeySet;
use warden_webhooks::{SubscriptionSecret, Verified, Verifier, VerifyError};

use super::input::{MAX_BODY_BYTES, header_line, headers_file, read_capped};
use super::seen_file::SeenFile;
use super::{EXIT_CODES, Failure};
use crate::card_cmd::{NetArgs, emit, printable};

const VERIFY_HELP: &str = "\
Give the body exactly as received (a file, or stdin), its headers, and what
you verify with: the subscription's secret (whsec_..., shown once when the
push config was registered) through an environment variable, and/or Warden's
JWKS (a file or its URL, fetched through the egress rules). With Warden's
keys, --url is required: the notification's JWT must name it as its aud,
or a notification Warden sent to someone else would pass.

Checked: a webhook-signature entry verifies (v1 with a secret, v1a with a
webhook- key of the JWKS); webhook-timestamp is within --max-age of now;
with keys, the warden-notification-jwt verifies (aud = --url, iss =
--issuer if given, jti = webhook-id, body_sha256 = the body's hash, taskId =
--task-id if given); with --seen-file, the webhook id was not accepted
before (it is recorded there).

Examples:
  warden webhook verify --body body.json --headers-file headers.txt \\
      --secret-env WEBHOOK_SECRET
  warden webhook verify --body - --header 'webhook-id: msg_1' ... \\
      --jwks-url https://warden.example.com/.well-known/jwks.json \\
      --url https://hooks.example.com/a2a --seen-file seen.txt --json";

#[derive(Debug, clap::Args)]
#[command(after_help = format!("{VERIFY_HELP}\n\n{EXIT_CODES}"))]
pub struct VerifyArgs {
    /// The body exactly as received (`-` for stdin).
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub body: PathBuf,
    /// A received header, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// A file of raw header lines (an optional request or status line
    /// first, then 'Name: value' lines up to a blank line).
    #[arg(long, value_name = "FILE")]
    pub headers_file: Option<PathBuf>,
    /// An environment variable holding the subscription's secret
    /// (whsec_...; repeatable while one is rotated out). Never a secret on
    /// the command line.
    #[arg(long = "secret-env", value_name = "VAR")]
    pub secret_env: Vec<String>,
    /// Warden's JWKS, from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "jwks_url")]
    pub jwks: Option<PathBuf>,
    /// Warden's JWKS, fetched from this URL through the egress rules (a
    /// loopback URL is trusted for its host).
    #[arg(long, value_name = "URL")]
    pub jwks_url: Option<String>,
    /// This receiver's own URL, exactly as registered: the JWT's aud.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Pin the JWT's iss (Warden's public URL).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Refuse unless the JWT's taskId is this task.
    #[arg(long, value_name = "ID")]
    pub task_id: Option<String>,
    /// The freshness window, seconds either side of now.
    #[arg(long, value_name = "SECS", default_value_t = warden_webhooks::DEFAULT_TOLERANCE_SECS,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub max_age: u64,
    /// Remember accepted webhook ids in this file (created, mode 0600) and
    /// refuse one seen before. Without it a replay is not detected across
    /// runs.
    #[arg(long, value_name = "FILE")]
    pub seen_file: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    /// Print one JSON object: {"ok", "id", "timestamp", "age_secs",
    /// "signature", "v1a_kid", "jwt_kid", "issuer", "task_id"}.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    if args.task_id.is_some() && args.jwks.is_none() && args.jwks_url.is_none() {
        return Err(Failure::input(
            "usage",
            "--task-id is checked against the JWT, which needs Warden's JWKS (--jwks or --jwks-url)",
        ));
    }
    let mut headers = Vec::new();
    if let Some(path) = &args.headers_file {
        headers.extend(headers_file(path)?);
    }
    for line in &args.headers {
        headers.push(header_line(line)?);
    }
    let verifier = build(&args).await?;
    let body = read_capped(&args.body, MAX_BODY_BYTES)?;
    let now = now();
    let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
    let verified = verifier.verify(pairs, &body, now).map_err(refusal)?;
    if let Some(want) = &args.task_id
        && verified.task_id.as_deref() != Some(want.as_str())
    {
        return Err(Failure::Refused {
            reason: "wrong_task",
            why: format!(
                "the notification is about task {:?}, not {want:?}",
                verified.task_id.as_deref().unwrap_or("(no JWT checked)")
            ),
        });
    }
    report(&verified, now, args.json);
    Ok(ExitCode::SUCCESS)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A refusal is exit 1, except a seen-file that cannot be used (exit 2:
/// the notification itself may be fine).
fn refusal(e: VerifyError) -> Failure {
    match e {
        VerifyError::ReplayCache(_) => Failure::input(
            "seen_file",
            format!("{e} (is --seen-file writable and its own?)"),
        ),
        e => Failure::Refused {
            reason: e.reason(),
            why: e.to_string(),
        },
    }
}

async fn build(args: &VerifyArgs) -> Result<Verifier, Failure> {
    let mut b = Verifier::builder().tolerance_secs(args.max_age);
    for var in &args.secret_env {
        let text = std::env::var(var)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Failure::input("secret", format!("${var} is not set")))?;
        let secret = SubscriptionSecret::parse(&text)
            .map_err(|e| Failure::input("secret", format!("${var}: {e}")))?;
        b = b.secret(secret);
    }
    if let Some(keys) = keys(args).await? {
        b = b.keys(keys);
    }
    if let Some(url) = &args.url {
        b = b.receiver_url(url);
    }
    if let Some(iss) = &args.issuer {
        b = b.issuer(iss);
    }
    match &args.seen_file {
        Some(path) => b = b.replay_cache(Arc::new(SeenFile::new(path.clone()))),
        None if !args.json => {
            eprintln!("note: no --seen-file: a replayed notification is not detected across runs");
        }
        None => {}
    }
    b.build()
        .map_err(|e| Failure::input("usage", e.to_string()))
}

async fn keys(args: &VerifyArgs) -> Result<Option<KeySet>, Failure> {
    if let Some(path) = &args.jwks {
        let text = read_capped(path, warden_client::card::MAX_JWKS_BYTES)?;
        let text = String::from_utf8(text)
            .map_err(|_| Failure::input("jwks", format!("{}: not UTF-8", path.display())))?;
        return warden_client::CardTrust::read_jwks(&text)
            .map(Some)
            .map_err(|e| Failure::input("jwks", format!("{}: {e}", path.display())));
    }
    let Some(url) = &args.jwks_url else {
        return Ok(None);
    };
    let egress = crate::card_cmd::egress(&args.net, Some(url)).map_err(|f| match f {
        crate::card_cmd::Failure::Input { reason, why }
        | crate::card_cmd::Failure::Rejected { reason, why }
        | crate::card_cmd::Failure::Refused { reason, why } => Failure::input(reason, why),
    })?;
    warden_client::webhooks::fetch_jwks(&egress, url)
        .await
        .map(Some)
        .map_err(|e| Failure::input(e.reason(), e.to_string()))
}

fn report(v: &Verified, now: u64, json: bool) {
    let age = now.saturating_sub(v.timestamp);
    if json {
        emit(
            &json!({
                "ok": true,
                "id": v.id,
                "timestamp": v.timestamp,
                "age_secs": age,
                "signature": v.signature,
                "v1a_kid": v.v1a_kid,
                "jwt_kid": v.jwt_kid,
                "issuer": v.issuer,
                "task_id": v.task_id,
            })
            .to_string(),
        );
        return;
    }
    let mut line = format!(
        "verified: webhook-id {}, timestamp {} ({age} s old), signature {}",
        printable(&v.id),
        v.timestamp,
        v.signature
    );
    if let Some(kid) = &v.v1a_kid {
        line.push_str(&format!(" (kid {})", printable(kid)));
    }
    if let (Some(kid), Some(task)) = (&v.jwt_kid, &v.task_id) {
        line.push_str(&format!(
            ", JWT kid {} iss {}, task {}",
            printable(kid),
            printable(v.issuer.as_deref().unwrap_or("")),
            printable(task)
        ));
    }
    emit(&line);
}
