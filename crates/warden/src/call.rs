//! `warden call`: a small A2A client on top of [`warden_client`]. Reads and
//! verifies the card, picks the first interface in the chosen binding,
//! checks its URL, sends, prints. Every request goes through the egress
//! rules ([`warden_egress`]); the CLI has no HTTP client of its own.
//!
//! What is trusted:
//!
//! - A loopback URL given on the command line (the agent URL, or
//!   `--token-url`): its host is trusted by the egress rules, and a card
//!   interface on that host is used only at the same origin. Everything
//!   else the card names gets the full rules.
//! - The card's signature: verified with `--trust-jwks` keys (and
//!   `--allow-jku-host` JWKS). Without `--trust-jwks`, a card from your own
//!   machine (loopback URL) or from the instance `--data-dir` names is
//!   verified if it can be (with that instance's keys) and otherwise
//!   accepted with a note on stderr: the gateway does not sign the cards it
//!   serves yet. Any other card must be signed, unless `--insecure-unsigned-card`.
//!
//! Exit codes: 0 when the task completed, needs input, or the agent answered
//! with a message; 1 for an A2A error, a failed/canceled/rejected task, or a
//! transport failure; 2 for bad arguments; 3 when the egress rules or the
//! card's verification refused (the reason code is printed).

use std::path::Path;
use std::process::ExitCode;

use futures_util::StreamExt;
use serde_json::{Value, json};
use warden_a2a::Binding;
use warden_authority::Authority;
use warden_client::{
    A2aClient, Answer, CardTrust, ClientError, DpopKey, Interface, TokenSource, VerifiedCard,
};
use warden_egress::target::{self, Host, Target};
use warden_egress::{Egress, EgressError, EgressPolicy};

use crate::cli::{BindingChoice, CallArgs};

/// Exit code: the egress rules or the card's verification refused.
const EXIT_REFUSED: u8 = 3;
/// Exit code: bad arguments (as clap's own).
const EXIT_USAGE: u8 = 2;

/// Why `warden call` stopped.
enum Failure {
    /// Bad arguments or unusable local files: exit 2.
    Usage(String),
    /// A refusal (exit 3) or a failure (exit 1) from the client.
    Client(ClientError),
    /// Anything else: exit 1.
    Other(String),
    /// A refusal made here rather than in the client: exit 3.
    Refused { reason: &'static str, why: String },
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Self::Client(e)
    }
}

pub async fn run(args: CallArgs) -> Result<ExitCode, String> {
    let as_json = args.json;
    Ok(match call(args).await {
        Ok(code) => code,
        Err(Failure::Usage(why)) => {
            eprintln!("error: {why}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Client(ClientError::Agent { error, .. })) => print_error(&error, as_json),
        Err(Failure::Client(e)) => {
            eprintln!("error [{}]: {e}", e.reason());
            if e.is_refusal() {
                ExitCode::from(EXIT_REFUSED)
            } else {
                ExitCode::FAILURE
            }
        }
        Err(Failure::Refused { reason, why }) => {
            eprintln!("error [{reason}]: {why}");
            ExitCode::from(EXIT_REFUSED)
        }
        Err(Failure::Other(why)) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    })
}

async fn call(args: CallArgs) -> Result<ExitCode, Failure> {
    check_agent_url(&args.url)?;
    let local = LocalOrigins::of(&args);
    let egress = egress(&args, &local)?;
    // The instance --data-dir names: its keys verify the card, and it
    // mints the token.
    let authority = match &args.data_dir {
        Some(dir) => Some(open_local(dir).await?),
        None => None,
    };
    let (trust, lenient) = card_trust(&args, authority.as_ref())?;
    let tokens = token_source(&args)?;

    let card = warden_client::fetch_card(&egress, &args.url, &trust).await?;
    if lenient && card.signed_by.is_none() {
        note_unverified(&args, &card);
    }
    let binding = match args.binding {
        BindingChoice::Jsonrpc => Binding::JsonRpc,
        BindingChoice::Rest => Binding::Rest,
    };
    let iface = Interface::from_card(&egress, &card, binding).await?;
    local.check_interface(&iface)?;

    let tokens = match (&authority, tokens) {
        (Some(authority), TokenSource::None) => {
            let audience = audience(&args)?;
            let token = crate::local::mint(authority, &args.subject, &audience, "", None)
                .await
                .map_err(Failure::Other)?;
            TokenSource::Bearer(token)
        }
        (_, tokens) => tokens,
    };
    let client = A2aClient::new(egress, tokens);
    let mut message = json!({
        "role": "ROLE_USER",
        "messageId": uuid::Uuid::new_v4().to_string(),
        "parts": [{"text": args.text}],
    });
    if let Some(t) = &args.task_id {
        message["taskId"] = json!(t);
    }
    if let Some(c) = &args.context_id {
        message["contextId"] = json!(c);
    }
    match client.send_message(&iface, message, args.stream).await? {
        Answer::Result(result) => {
            if args.json {
                println!("{result}");
            } else {
                print_human(&result);
            }
            Ok(exit_for(&result))
        }
        Answer::Stream(mut events) => {
            let mut last = Value::Null;
            while let Some(event) = events.next().await {
                let event = event?;
                if args.json {
                    println!("{event}");
                } else {
                    print_event(&event);
                }
                last = event;
            }
            Ok(exit_for(&last))
        }
    }
}

/// The agent URL is a base the card path is joined onto: a query or a
/// fragment (`http://127.0.0.1:1#@example.com/`), or text that is no URL,
/// is a bad argument (exit 2). What the egress rules refuse (scheme,
/// userinfo, host) is left to them: exit 3 with their reason.
fn check_agent_url(url: &str) -> Result<(), Failure> {
    match target::parse_base(url) {
        Err(EgressError::BadUrl(why)) => Err(Failure::Usage(format!(
            "the agent URL {url:?} is not usable: {why}"
        ))),
        _ => Ok(()),
    }
}

/// The loopback origins named on the command line: trusted by the egress
/// rules (by host, as [`Rules::trusting`] works), and held to their origin
/// here.
struct LocalOrigins {
    targets: Vec<Target>,
}

impl LocalOrigins {
    fn of(args: &CallArgs) -> Self {
        let targets = [Some(args.url.as_str()), args.token_url.as_deref()]
            .into_iter()
            .flatten()
            // A URL that does not parse is refused later, for its reason.
            .filter_map(|u| target::parse(u).ok())
            .filter(|t| crate::net::is_loopback(&t.host))
            .collect();
        Self { targets }
    }

    fn hosts(&self) -> Vec<Host> {
        self.targets.iter().map(|t| t.host.clone()).collect()
    }

    /// Whether the agent URL is one of them: its card comes from this
    /// machine.
    fn includes_agent(args: &CallArgs) -> bool {
        target::parse(&args.url).is_ok_and(|t| crate::net::is_loopback(&t.host))
    }

    /// A card may not use the trust given to a loopback host for another
    /// port or scheme on it.
    fn check_interface(&self, iface: &Interface) -> Result<(), Failure> {
        let t = &iface.admitted().target;
        let on_trusted_host = self.targets.iter().any(|l| l.host == t.host);
        let same_origin = self
            .targets
            .iter()
            .any(|l| l.url.origin() == t.url.origin());
        if on_trusted_host && !same_origin {
            return Err(Failure::Refused {
                reason: "trusted_origin",
                why: format!(
                    "the card's interface URL {} is on {}, which is trusted only at the origin \
                     you gave",
                    iface.url(),
                    t.host
                ),
            });
        }
        Ok(())
    }
}

/// The egress: `[egress]` of --config (or the strict defaults with
/// 60-second timeouts), the timeouts, and trust in the loopback origins given.
fn egress(args: &CallArgs, local: &LocalOrigins) -> Result<Egress, Failure> {
    let default = EgressPolicy {
        total_timeout_ms: 60_000,
        idle_timeout_ms: 60_000,
        ..EgressPolicy::default()
    };
    let policy = crate::net::policy(
        args.config.as_deref(),
        default,
        args.timeout_secs,
        args.insecure_local_egress,
    )
    .map_err(Failure::Usage)?;
    crate::net::egress(policy, local.hosts()).map_err(Failure::Usage)
}

async fn open_local(dir: &Path) -> Result<Authority, Failure> {
    let instance = crate::cli::Instance {
        data_dir: dir.to_path_buf(),
        config: None,
    };
    crate::local::local_authority(&instance)
        .await
        .map_err(Failure::Other)
}

/// Which card signatures to believe, and whether an unverified card is
/// accepted with a note (a card from this machine or from the --data-dir
/// instance, without --trust-jwks).
fn card_trust(
    args: &CallArgs,
    authority: Option<&Authority>,
) -> Result<(CardTrust, bool), Failure> {
    let mut sets = Vec::new();
    for path in &args.trust_jwks {
        sets.push(CardTrust::read_jwks_file(path).map_err(|e| Failure::Usage(e.to_string()))?);
    }
    let own =
        args.trust_jwks.is_empty() && (authority.is_some() || LocalOrigins::includes_agent(args));
    if own && let Some(a) = authority {
        sets.push(a.keys.published());
    }
    if args.insecure_unsigned_card {
        eprintln!(
            "warning: --insecure-unsigned-card: a card without a verifying signature is accepted; a card \
             changed on its way would not be noticed."
        );
    }
    let trust = CardTrust {
        keys: CardTrust::merge(sets).map_err(|e| Failure::Usage(e.to_string()))?,
        allowed_jku_hosts: args.allow_jku_hosts.clone(),
        require_signature: !(args.insecure_unsigned_card || own),
        ..CardTrust::default()
    };
    Ok((trust, own && !args.insecure_unsigned_card))
}

fn note_unverified(args: &CallArgs, card: &VerifiedCard) {
    let what = if card.has_signatures() {
        "its signatures name no key known here"
    } else {
        "it is not signed"
    };
    let why = if args.data_dir.is_some() {
        "--data-dir names your own instance"
    } else {
        "it comes from this machine"
    };
    eprintln!(
        "note: the card of {} is accepted unverified ({what}) because {why}; pass --trust-jwks \
         FILE to require a signature",
        args.url
    );
}

fn token_source(args: &CallArgs) -> Result<TokenSource, Failure> {
    if let Some(t) = &args.token {
        return Ok(TokenSource::Bearer(t.clone()));
    }
    if let Some(k) = &args.api_key {
        return Ok(TokenSource::ApiKey(k.clone()));
    }
    let Some(token_url) = &args.token_url else {
        return Ok(TokenSource::None);
    };
    let var = args.client_secret_env.as_deref().unwrap_or_default();
    let client_secret = std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--client-secret-env {var}: the environment variable is not set"
            ))
        })?;
    let dpop = if args.dpop {
        Some(DpopKey::ephemeral().map_err(|e| Failure::Other(e.to_string()))?)
    } else {
        None
    };
    Ok(TokenSource::ClientCredentials {
        token_url: token_url.clone(),
        client_id: args.client_id.clone(),
        client_secret,
        audience: audience(args)?,
        scope: args.scope.clone(),
        dpop,
    })
}

/// --audience, or the agent named in the URL.
fn audience(args: &CallArgs) -> Result<String, Failure> {
    if let Some(a) = &args.audience {
        return Ok(a.clone());
    }
    agent_name(&args.url).ok_or_else(|| {
        Failure::Usage(format!(
            "cannot tell the target agent from {:?} (expected …/agents/NAME); use --audience",
            args.url
        ))
    })
}

/// `name` in `…/agents/name[/…]`.
fn agent_name(url: &str) -> Option<String> {
    let path = url::Url::parse(url).ok()?.path().to_string();
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    while let Some(s) = segs.next() {
        if s == "agents" {
            return segs.next().map(str::to_owned);
        }
    }
    None
}

fn state_of(v: &Value) -> Option<&str> {
    v.pointer("/task/status/state")
        .or_else(|| v.pointer("/statusUpdate/status/state"))
        .or_else(|| v.pointer("/status/state"))
        .and_then(Value::as_str)
}

fn exit_for(last: &Value) -> ExitCode {
    match state_of(last) {
        Some("TASK_STATE_FAILED" | "TASK_STATE_CANCELED" | "TASK_STATE_REJECTED") => {
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn texts(parts: Option<&Value>) -> Vec<String> {
    parts
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn print_human(result: &Value) {
    if let Some(task) = result.get("task") {
        let state = task
            .pointer("/status/state")
            .and_then(Value::as_str)
            .unwrap_or("?");
        println!(
            "task {} {state}",
            task.get("id").and_then(Value::as_str).unwrap_or("?")
        );
        if let Some(m) = task.pointer("/status/message") {
            for t in texts(m.get("parts")) {
                println!("  agent: {t}");
            }
        }
        for a in task
            .get("artifacts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for t in texts(a.get("parts")) {
                println!("{t}");
            }
        }
    } else if let Some(m) = result.get("message") {
        for t in texts(m.get("parts")) {
            println!("{t}");
        }
    } else {
        println!("{result}");
    }
}

fn print_event(ev: &Value) {
    if let Some(t) = ev.get("task") {
        let state = t
            .pointer("/status/state")
            .and_then(Value::as_str)
            .unwrap_or("?");
        println!(
            "[task] {} {state}",
            t.get("id").and_then(Value::as_str).unwrap_or("?")
        );
    } else if let Some(s) = ev.get("statusUpdate") {
        let state = s
            .pointer("/status/state")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let text = texts(s.pointer("/status/message/parts")).join(" ");
        println!("[status] {state} {text}");
    } else if let Some(a) = ev.get("artifactUpdate") {
        let text = texts(a.pointer("/artifact/parts")).join("");
        println!("[artifact] {}", text.trim_end());
    } else if let Some(m) = ev.get("message") {
        println!("[message] {}", texts(m.get("parts")).join(" "));
    } else {
        println!("{ev}");
    }
}

fn print_error(err: &Value, as_json: bool) -> ExitCode {
    if as_json {
        println!("{}", json!({"error": err}));
    } else {
        let code = err.get("code").map(Value::to_string).unwrap_or_default();
        let msg = err.get("message").and_then(Value::as_str).unwrap_or("");
        eprintln!("error {code}: {msg}");
    }
    ExitCode::FAILURE
}
