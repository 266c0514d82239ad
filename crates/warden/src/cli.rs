//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Warden: a zero-trust security layer for the Agent2Agent (A2A) protocol.
///
/// Run `warden up` for a gateway in front of three demo agents on an embedded
/// store, then `warden call http://127.0.0.1:8080/agents/echo --text hello
/// --data-dir .warden` (every call needs a credential; `--data-dir` mints one).
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Flags renamed to the `--insecure-…` pattern of the opt-ins that loosen
/// security, as (old, new). The old names stay as hidden clap aliases.
const RENAMED_FLAGS: [(&str, &str); 2] = [
    ("--allow-unsigned", "--insecure-unsigned-card"),
    ("--allow-insecure-local", "--insecure-local-egress"),
];

/// A deprecation warning for each old flag spelling on a command line that
/// clap accepted (clap does not say which alias was used). Arguments after
/// `--` are values, not flags.
pub fn deprecated_flags<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut found = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        if arg == "--" {
            break;
        }
        for (old, new) in RENAMED_FLAGS {
            if arg == old && !found.iter().any(|f: &String| f.starts_with(old)) {
                found.push(format!("{old} is a deprecated spelling: use {new}"));
            }
        }
    }
    found
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Quickstart: the demo agents (echo, slow, input) behind a gateway, on an
    /// embedded store. Prints the gateway URL and examples.
    Up(UpArgs),
    /// Run the gateway in front of the agents named in a configuration file.
    Gateway(GatewayArgs),
    /// Run one built-in agent on its own (echo, slow, input; `null` is the
    /// fixed-reply responder used by the benchmarks).
    Agent(AgentArgs),
    /// Send a message to an A2A agent: resolve its card, pick an interface,
    /// send, print the result.
    Call(CallArgs),
    /// Work with configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Mint access tokens from a local data directory (operators, tests).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The agent registry of the token authority: who may be issued tokens
    /// for which skills of which target agents.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// API keys for callers that cannot use tokens.
    #[command(subcommand, name = "apikey")]
    ApiKey(ApiKeyCommand),
    /// Per-pair grants: which caller may call which agent, with which skills
    /// and operations, when. Without a grant, a call is refused.
    #[command(subcommand)]
    Grant(crate::authz_cmd::GrantCommand),
    /// Quarantine: refuse every call to and from an agent at once.
    #[command(subcommand)]
    Quarantine(crate::authz_cmd::QuarantineCommand),
    /// Policy rules (CEL): check a file, or explain a decision offline.
    #[command(subcommand)]
    Policy(crate::authz_cmd::PolicyCommand),
    /// Agent Cards: sign, verify, fetch (through the egress rules) and lint.
    ///
    /// Exit 0 ok, 1 not verified or lint findings, 2 bad input, 3 refused by
    /// the egress rules.
    #[command(subcommand, after_help = crate::card_cmd::EXIT_CODES)]
    Card(crate::card_cmd::CardCommand),
    /// The durable store (SQLite or PostgreSQL): status, migrations, and
    /// export / import to move a deployment from one store to another.
    #[command(subcommand, after_help = crate::store_cmd::EXIT_CODES)]
    Store(crate::store_cmd::StoreCommand),
    /// Push notifications: verify one Warden delivered (signature,
    /// freshness, audience, body, replay).
    ///
    /// Exit 0 verified, 1 refused (the reason is printed), 2 bad input.
    #[command(subcommand, after_help = crate::webhook_cmd::EXIT_CODES)]
    Webhook(crate::webhook_cmd::WebhookCommand),
    /// Remove from the store what is older than N days: finished tasks,
    /// ended grants, dead API keys and signing keys, old task and context
    /// owners, and (only with --audit-days) audit events.
    Clean(crate::clean_cmd::CleanArgs),
    /// The mailbox: messages between registry agents that wait in the
    /// recipient's inbox, sent only under the recipient's grant (over the
    /// gateway's /mail/v1).
    ///
    /// Exit 0 done, 1 the gateway refused or failed, 2 bad input, 3 the
    /// egress rules refused the gateway URL.
    #[command(after_help = crate::mail_cmd::AFTER_HELP)]
    Mail(crate::mail_cmd::MailArgs),
}

/// Where a command finds Warden's state: a data directory, or the data
/// directory (and key-encryption key) named by a configuration file.
#[derive(Debug, Clone, clap::Args)]
pub struct Instance {
    /// The data directory (as given to `warden up`).
    #[arg(
        long,
        default_value = ".warden",
        env = "WARDEN_DATA_DIR",
        conflicts_with = "config"
    )]
    pub data_dir: PathBuf,
    /// A gateway configuration file; its data directory and key file are used.
    #[arg(long, env = "WARDEN_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint an access token and print it alone on stdout. Tokens are
    /// single-use at the gateway.
    Mint {
        /// The subject (a registry agent id).
        #[arg(long)]
        sub: String,
        /// The target agent (its name at the gateway).
        #[arg(long)]
        aud: String,
        /// Space-separated skill ids (default: all the registry grants).
        #[arg(long, default_value = "")]
        scope: String,
        /// Lifetime, e.g. 90s, 5m, 1h (default: auth.token_ttl_secs).
        #[arg(long)]
        ttl: Option<String>,
        /// Bind the token to a client certificate (RFC 8705): its SHA-256
        /// thumbprint, base64url (the `cnf.x5t#S256` claim). The gateway
        /// then accepts it only over mTLS with that certificate, and it may
        /// be used more than once within its lifetime.
        #[arg(long, value_name = "THUMBPRINT", allow_hyphen_values = true)]
        cnf_x5t: Option<String>,
        /// Print this many tokens, one per line (load tests: each is single-use).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        count: u32,
        #[command(flatten)]
        instance: Instance,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Add (or replace) an agent.
    Add {
        /// The agent id (the `sub` of its tokens).
        id: String,
        /// A display name.
        #[arg(long)]
        name: Option<String>,
        /// Its public keys (JWKS file), for private_key_jwt client authentication.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// What it may be granted: TARGET=SKILL[,SKILL…]; repeat per target.
        #[arg(long = "grant", value_name = "TARGET=SKILLS")]
        grants: Vec<String>,
        /// The subject alternative name (a URI such as a SPIFFE id, or a DNS
        /// name) its client certificate carries: lets it authenticate at the
        /// token endpoint with mTLS and get certificate-bound tokens.
        #[arg(long, value_name = "SAN")]
        tls_subject: Option<String>,
        #[command(flatten)]
        instance: Instance,
    },
    /// List the registered agents.
    List {
        #[command(flatten)]
        instance: Instance,
    },
    /// Show one agent.
    Show {
        id: String,
        #[command(flatten)]
        instance: Instance,
    },
    /// Remove an agent (and its API keys).
    Remove {
        id: String,
        #[command(flatten)]
        instance: Instance,
    },
    /// List upstream card changes held for review (the pinned card is
    /// served until one is approved).
    Review {
        /// Every review, decided ones too, as JSON lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        instance: Instance,
    },
    /// Approve a held card change: the new card is pinned and served.
    Approve {
        id: String,
        #[command(flatten)]
        instance: Instance,
    },
    /// Reject a held card change: the pinned card stays.
    Reject {
        id: String,
        #[command(flatten)]
        instance: Instance,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for a registered agent; the key is printed once, alone.
    Create {
        /// The registry agent the key authenticates.
        #[arg(long)]
        sub: String,
        #[command(flatten)]
        instance: Instance,
    },
    /// List keys (ids, never secrets).
    List {
        #[arg(long)]
        sub: Option<String>,
        #[command(flatten)]
        instance: Instance,
    },
    /// Revoke a key at once.
    Revoke {
        id: String,
        #[command(flatten)]
        instance: Instance,
    },
    /// Replace a key: a new key is printed; the old one keeps working for
    /// the overlap, then stops.
    Rotate {
        id: String,
        /// How long the old key stays valid, e.g. 1h, 24h.
        #[arg(long, default_value = "24h")]
        overlap: String,
        #[command(flatten)]
        instance: Instance,
    },
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Where the gateway listens (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080", env = "WARDEN_LISTEN")]
    pub listen: SocketAddr,
    /// Where health and metrics are served.
    #[arg(long, default_value = "127.0.0.1:9091", env = "WARDEN_ADMIN_LISTEN")]
    pub admin_listen: SocketAddr,
    /// The embedded store's directory.
    #[arg(long, default_value = ".warden", env = "WARDEN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Pause between the `slow` agent's steps, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub step_interval_ms: u64,
    /// Pause between the `null` agent's SSE events, in milliseconds (the
    /// first is sent at once; 0: all five at once). Benchmarks use it to
    /// hold many streams open at the same time.
    #[arg(long, default_value_t = 0)]
    pub stream_event_interval_ms: u64,
}

#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// The configuration file (see warden.example.toml).
    #[arg(long, short, env = "WARDEN_CONFIG")]
    pub config: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentKind {
    Echo,
    Slow,
    Input,
    /// Fixed replies, no storage: the benchmarks' upstream.
    Null,
}

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// Which agent.
    pub kind: AgentKind,
    /// Where it listens (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The URL its card advertises. Defaults to http://{listen}.
    #[arg(long)]
    pub public_url: Option<String>,
    /// The store's directory (tasks persist there).
    #[arg(long, default_value = ".warden", env = "WARDEN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Pause between the `slow` agent's steps, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub step_interval_ms: u64,
    /// Pause between the `null` agent's SSE events, in milliseconds (the
    /// first is sent at once; 0: all five at once). Benchmarks use it to
    /// hold many streams open at the same time.
    #[arg(long, default_value_t = 0)]
    pub stream_event_interval_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BindingChoice {
    Jsonrpc,
    Rest,
}

/// Exit codes of `warden call`, shown in its help.
const CALL_EXIT_CODES: &str = "\
Exit codes:
  0  the task completed, needs input, or the agent answered with a message
  1  an A2A error; a failed, canceled or rejected task; a transport failure
  2  bad arguments (an agent URL with a query or fragment, which the card
     path would land after, included)
  3  refused by the egress rules or by the card's verification (the reason
     code is printed: denied_address, scheme, card_unsigned, card_signature, ...)

Every request goes through the egress rules (https only, port 443, no
loopback, private or metadata addresses), the [egress] table of --config if
given. A loopback URL you give here (127.0.0.0/8, ::1, localhost; the agent
URL or --token-url) is trusted for that origin only; whatever the card names
elsewhere gets the full rules. The card must carry a signature verified with
--trust-jwks keys, except when it comes from your own machine (a loopback URL)
or --data-dir names your instance: then a signature is checked if it can be
(with the instance's keys), and an unsigned card is accepted with a note.";

#[derive(Debug, clap::Args)]
#[command(after_long_help = CALL_EXIT_CODES)]
pub struct CallArgs {
    /// The agent's base URL, without query or fragment; its card is at
    /// {URL}/.well-known/agent-card.json (joined on the parsed URL).
    pub url: String,
    /// The text to send.
    #[arg(long)]
    pub text: String,
    /// Stream the answer (SendStreamingMessage) and print events as they come.
    #[arg(long)]
    pub stream: bool,
    /// Which binding to use (the first matching interface of the card).
    #[arg(long, value_enum, default_value = "jsonrpc")]
    pub binding: BindingChoice,
    /// Continue an existing task (e.g. one waiting for input).
    #[arg(long)]
    pub task_id: Option<String>,
    /// Send within an existing context.
    #[arg(long)]
    pub context_id: Option<String>,
    /// Print machine-readable JSON (one object; one per event with --stream).
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds without an answer (between events
    /// with --stream). Default: 60, or the [egress] timeouts of --config.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: Option<u64>,
    /// Send this bearer token.
    #[arg(long, conflicts_with_all = ["api_key", "data_dir", "token_url"])]
    pub token: Option<String>,
    /// Send this API key.
    #[arg(long, conflicts_with_all = ["data_dir", "token_url"])]
    pub api_key: Option<String>,
    /// Mint a token from this local data directory (as `warden token mint`),
    /// for the agent named in the URL (`…/agents/{name}`) or --audience.
    /// Its keys also verify the card, if it is signed.
    #[arg(long, conflicts_with = "token_url")]
    pub data_dir: Option<PathBuf>,
    /// The subject to mint the token for, with --data-dir.
    #[arg(long = "as", default_value = "demo-client")]
    pub subject: String,
    /// Get a token from this OAuth 2.0 token endpoint (client credentials),
    /// e.g. a Warden gateway's {URL}/oauth2/token.
    #[arg(long, value_name = "URL", requires = "client_secret_env")]
    pub token_url: Option<String>,
    /// The client id sent to --token-url (then the secret is sent as
    /// client_secret; without it, as a Warden X-API-Key).
    #[arg(long, value_name = "ID", requires = "token_url")]
    pub client_id: Option<String>,
    /// The environment variable holding the client secret (or Warden API
    /// key) for --token-url. Never given on the command line.
    #[arg(long, value_name = "VAR", requires = "token_url")]
    pub client_secret_env: Option<String>,
    /// The token's audience (default: the agent named in the URL).
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,
    /// Space-separated scopes to ask --token-url for (Warden: skill ids).
    #[arg(long, requires = "token_url")]
    pub scope: Option<String>,
    /// Bind the token to a fresh key (DPoP, RFC 9449): a proof with the
    /// token request and with the call.
    #[arg(long, requires = "token_url")]
    pub dpop: bool,
    /// A JWKS file whose keys verify the card's signature (repeatable).
    /// With it, an unsigned card is refused.
    #[arg(long = "trust-jwks", value_name = "FILE")]
    pub trust_jwks: Vec<PathBuf>,
    /// Follow a card signature's `jku` to this host for keys (repeatable).
    #[arg(long = "allow-jku-host", value_name = "HOST")]
    pub allow_jku_hosts: Vec<String>,
    /// Accept a card without a verifying signature (prints a warning).
    #[arg(long, alias = "allow-unsigned")]
    pub insecure_unsigned_card: bool,
    /// A warden.toml whose [egress] table sets the rules for every request.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Development only: lift the egress rules (loopback, private and
    /// metadata addresses, plain http, any port). Prints a warning.
    #[arg(long, alias = "allow-insecure-local")]
    pub insecure_local_egress: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file; exits non-zero naming the bad key and line.
    ///
    /// Everything the gateway checks at start, and the files it reads (JWKS,
    /// TLS, policy). Every configured outbound URL is judged by the egress
    /// rules the gateway will reach it with, and every host name in one is
    /// looked up (the [egress] resolve table first) and each answer judged
    /// too: an [[agents]] host may be loopback or private but never a
    /// metadata or never-legitimate address; a jwks_url, remote agent url or
    /// token_url gets the full [egress] rules. A name that does not resolve
    /// is an error. --offline skips the lookups and says so.
    Check {
        /// The file to check.
        file: PathBuf,
        /// Do not look host names up (no DNS): only the checks the gateway
        /// makes at start.
        #[arg(long)]
        offline: bool,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command, deprecated_flags};

    #[test]
    fn old_flag_spellings_still_parse_and_are_reported() {
        let old = [
            "warden",
            "call",
            "http://127.0.0.1:1/agents/echo",
            "--text",
            "hi",
            "--allow-unsigned",
            "--allow-insecure-local",
        ];
        let Command::Call(args) = Cli::try_parse_from(old).expect("parses").command else {
            panic!("not call");
        };
        assert!(args.insecure_unsigned_card && args.insecure_local_egress);
        assert_eq!(
            deprecated_flags(&old[1..]),
            [
                "--allow-unsigned is a deprecated spelling: use --insecure-unsigned-card",
                "--allow-insecure-local is a deprecated spelling: use --insecure-local-egress",
            ]
        );
        let new = [
            "warden",
            "card",
            "fetch",
            "http://127.0.0.1:1/",
            "--insecure-unsigned-card",
            "--insecure-local-egress",
        ];
        Cli::try_parse_from(new).expect("parses");
        assert!(deprecated_flags(&new[1..]).is_empty());
        assert!(deprecated_flags(["call", "--", "--allow-unsigned"]).is_empty());
    }
}
