//! `warden card sign | verify | fetch | lint`: Agent Cards from the command
//! line, on the libraries the gateway and the client use
//! ([`warden_trust::card_signature`], [`warden_card::lint`],
//! [`warden_egress`]).
//!
//! Every URL is fetched through the egress rules, built as `warden call`
//! builds them: the `[egress]` table of `--config` (or the strict defaults),
//! a loopback URL given on the command line trusted for its host, and
//! `--insecure-local-egress` to lift the rules in development.
//!
//! Exit codes, the same for every subcommand so that a script can rely on
//! them ([`Failure`] is the one place they are chosen): 0 ok; 1 the card did
//! not verify, or lint found something at or above `--fail-on`; 2 bad
//! arguments or unreadable input; 3 refused by the egress rules (the reason
//! code is printed).

mod fetch;
mod lint;
mod sign;
mod verify;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use clap::Subcommand;
use serde_json::{Value, json};
use warden_egress::target::{self, Host};
use warden_egress::{Egress, EgressError, EgressPolicy, Outbound};
use warden_trust::JwsAlg;

pub use fetch::FetchArgs;
pub use lint::LintArgs;
pub use sign::SignArgs;
pub use verify::VerifyArgs;

/// The exit codes of every `warden card` subcommand, shown in its help.
pub const EXIT_CODES: &str = "\
Exit codes (every subcommand):
  0  ok: signed; verified; fetched (and verified); lint found nothing at or
     above --fail-on
  1  the card does not verify (no signature, a bad or unknown-key signature,
     a card that is not strict JSON), or lint found something at or above
     --fail-on (default: error)
  2  bad arguments or unreadable input (a missing file, a key that does not
     load, a card that cannot be signed, an unreachable host, an HTTP error)
  3  refused by the egress rules; the reason code is printed
     (error [denied_address]: …, [scheme], [port], [bad_host], …)

With --json, stdout carries exactly one JSON object, on success and on
failure ({\"ok\": false, \"reason\": CODE, \"error\": TEXT}); only an
argument the parser refuses is reported as plain text on stderr (exit 2).";

/// The largest card read from a file or a URL (as `warden-client` reads).
const MAX_CARD_BYTES: u64 = warden_client::card::MAX_CARD_BYTES;
/// The largest JWKS read from an allow-listed `jku`.
const MAX_JWKS_BYTES: u64 = warden_client::card::MAX_JWKS_BYTES;

/// `warden card …`.
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Sign a card: append a detached JWS (A2A §8.4) made with a private key.
    Sign(SignArgs),
    /// Verify a card's signature, from a file or a URL, with keys you trust.
    Verify(VerifyArgs),
    /// Fetch a card through the egress rules, verify it, print it.
    Fetch(FetchArgs),
    /// Lint a card's text: instructions aimed at a model, hidden Unicode,
    /// unsafe links, weak structure. `--sanitise` prints a cleaned copy.
    Lint(LintArgs),
}

/// Flags shared by the subcommands that may go out to the network.
#[derive(Debug, Clone, clap::Args)]
pub struct NetArgs {
    /// A warden.toml whose [egress] table sets the rules for every request.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Development only: lift the egress rules (loopback, private and
    /// metadata addresses, plain http, any port). Prints a warning.
    #[arg(long, alias = "allow-insecure-local")]
    pub insecure_local_egress: bool,
    /// Give up on a request after this many seconds (default: 30, or the
    /// [egress] timeouts of --config).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: Option<u64>,
}

/// Flags naming the keys a signature is checked with.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// A JWKS file whose keys verify the card's signature (repeatable).
    #[arg(long = "jwks", value_name = "FILE")]
    pub jwks: Vec<PathBuf>,
    /// Follow a signature's `jku` to this host for keys (repeatable; exact
    /// host names). A `jku` on any other host is ignored: anyone can
    /// publish a key.
    #[arg(long = "allow-jku-host", value_name = "HOST")]
    pub allow_jku_hosts: Vec<String>,
    /// Accept only these signature algorithms (repeatable; default: ES256,
    /// ES384, EdDSA, RS256, PS256).
    #[arg(long = "alg", value_name = "ALG", value_parser = parse_alg)]
    pub algorithms: Vec<JwsAlg>,
}

pub async fn run(cmd: CardCommand) -> ExitCode {
    let (json, result) = match cmd {
        CardCommand::Sign(args) => (args.json, sign::run(args)),
        CardCommand::Verify(args) => (args.json, verify::run(args).await),
        CardCommand::Fetch(args) => (args.json, fetch::run(args).await),
        CardCommand::Lint(args) => (args.json, lint::run(args).await),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(json),
    }
}

/// Why a subcommand stopped. The one place exit codes are chosen.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or unreadable input: exit 2.
    Input { reason: &'static str, why: String },
    /// The card does not verify: exit 1.
    Rejected { reason: &'static str, why: String },
    /// The egress rules refused a request: exit 3.
    Refused { reason: &'static str, why: String },
}

impl Failure {
    pub(crate) fn input(reason: &'static str, why: impl Into<String>) -> Self {
        Self::Input {
            reason,
            why: why.into(),
        }
    }

    /// A refusal by the rules is exit 3; the network or the peer failing
    /// (timeout, broken connection) leaves the input unread: exit 2.
    pub(crate) fn egress(e: &EgressError) -> Self {
        if e.is_refusal() {
            Self::Refused {
                reason: e.reason(),
                why: e.to_string(),
            }
        } else {
            Self::input(e.reason(), e.to_string())
        }
    }

    fn parts(&self) -> (u8, &'static str, &str) {
        match self {
            Self::Rejected { reason, why } => (1, reason, why),
            Self::Input { reason, why } => (2, reason, why),
            Self::Refused { reason, why } => (3, reason, why),
        }
    }

    fn report(&self, json: bool) -> ExitCode {
        let (code, reason, why) = self.parts();
        if json {
            emit(&json!({"ok": false, "reason": reason, "error": why}).to_string());
        } else {
            eprintln!("error [{reason}]: {}", printable(why));
        }
        ExitCode::from(code)
    }
}

/// Where a card comes from: a file (`-` for stdin) or a URL.
pub(crate) enum Source {
    File(PathBuf),
    Url(String),
}

impl Source {
    /// Anything with `://` is a URL (an unusable one is refused by the
    /// egress rules, with their reason); everything else is a path.
    pub(crate) fn of(arg: &str) -> Self {
        if arg.contains("://") {
            Self::Url(arg.to_string())
        } else {
            Self::File(PathBuf::from(arg))
        }
    }

    pub(crate) fn url(&self) -> Option<&str> {
        match self {
            Self::Url(u) => Some(u),
            Self::File(_) => None,
        }
    }

    /// The card's bytes, exactly as stored or received.
    pub(crate) async fn read(&self, egress: Option<&Egress>) -> Result<Bytes, Failure> {
        match (self, egress) {
            (Self::File(path), _) => read_file(path).map(Bytes::from),
            (Self::Url(url), Some(egress)) => fetch_card_bytes(egress, &card_location(url)?).await,
            (Self::Url(_), None) => Err(Failure::input("internal", "no egress for a URL")),
        }
    }
}

/// Reads a file (or stdin for `-`), at most [`MAX_CARD_BYTES`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| Failure::input("read", format!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_CARD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    } else {
        std::fs::File::open(path)
            .map_err(fail)?
            .take(MAX_CARD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    }
    if bytes.len() as u64 > MAX_CARD_BYTES {
        return Err(Failure::input(
            "too_large",
            format!("{}: larger than {MAX_CARD_BYTES} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// A URL whose path ends in `.json` is the card's own URL; any other is an
/// agent's base URL, its card at `{URL}/.well-known/agent-card.json`
/// (joined on the parsed URL: a base with a query or fragment is bad input,
/// exit 2; one the egress rules refuse, exit 3).
pub(crate) fn card_location(url: &str) -> Result<String, Failure> {
    let is_document = url::Url::parse(url).is_ok_and(|u| u.path().ends_with(".json"));
    if is_document {
        return Ok(url.to_string());
    }
    warden_client::card::card_url(url).map_err(|e| match e {
        EgressError::BadUrl(why) => Failure::input("bad_url", format!("{url:?}: {why}")),
        e => Failure::egress(&e),
    })
}

/// GETs a card through `egress`, as `warden_client::fetch_card` does.
async fn fetch_card_bytes(egress: &Egress, url: &str) -> Result<Bytes, Failure> {
    let mut req = Outbound::get(url, "card");
    req.headers.insert(
        "a2a-version",
        HeaderValue::from_static(warden_client::A2A_VERSION),
    );
    req.headers
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    get_capped(egress, req, MAX_CARD_BYTES, "card_status").await
}

/// Sends `req`; a non-2xx answer is unreadable input (`status_reason`).
pub(crate) async fn get_capped(
    egress: &Egress,
    req: Outbound,
    cap: u64,
    status_reason: &'static str,
) -> Result<Bytes, Failure> {
    let url = req.url.clone();
    let resp = egress.send(req).await.map_err(|e| Failure::egress(&e))?;
    if !resp.status().is_success() {
        return Err(Failure::input(
            status_reason,
            format!("{url} answered HTTP {}", resp.status().as_u16()),
        ));
    }
    resp.bytes_capped(cap)
        .await
        .map_err(|e| Failure::egress(&e))
}

/// The egress rules for a command, as `warden call` builds them: `[egress]`
/// of --config or the strict defaults, --timeout-secs, and trust in the
/// host of a loopback URL given on the command line (127.0.0.0/8, `::1`,
/// `localhost`).
pub(crate) fn egress(net: &NetArgs, given: Option<&str>) -> Result<Egress, Failure> {
    let invalid = |e: String| Failure::input("config", e);
    let policy = crate::net::policy(
        net.config.as_deref(),
        EgressPolicy::default(),
        net.timeout_secs,
        net.insecure_local_egress,
    )
    .map_err(invalid)?;
    let loopback: Vec<Host> = given
        .and_then(|u| target::parse(u).ok())
        .map(|t| t.host)
        .filter(crate::net::is_loopback)
        .into_iter()
        .collect();
    crate::net::egress(policy, loopback).map_err(invalid)
}

/// A JOSE algorithm name, case-sensitive as JOSE is.
fn parse_alg(s: &str) -> Result<JwsAlg, String> {
    JwsAlg::parse(s).ok_or_else(|| {
        format!("unsupported algorithm {s:?}: use ES256, ES384, EdDSA, RS256 or PS256")
    })
}

/// `text` safe for a terminal: anything outside printable ASCII (control
/// characters, escape sequences, bidi controls a card may carry in a `kid`
/// or a key) is written as `\u{…}`.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c),
            _ => out.push_str(&format!("\\u{{{:04X}}}", u32::from(c))),
        }
    }
    out
}

/// Writes `text` to `out`, or to stdout.
pub(crate) fn write_output(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::input("write", format!("{}: {e}", path.display()))),
        None => {
            emit(text);
            Ok(())
        }
    }
}

/// Writes `text` and a final newline (unless it has one) to stdout. A
/// closed pipe (`| head`) is the reader's choice, not a failure.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let newline: &[u8] = if text.ends_with('\n') { b"" } else { b"\n" };
    let _ = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(newline))
        .and_then(|()| out.flush());
}

/// A JSON value, indented, with a final newline.
pub(crate) fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}
