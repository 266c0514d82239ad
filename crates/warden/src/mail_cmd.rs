//! `warden mail …`: the mailbox from the command line, over the gateway's
//! REST API (`/mail/v1`, docs/mailbox.md). Every request goes through the
//! egress rules ([`warden_egress`]); a loopback `--gateway` is trusted as
//! `warden call` trusts one.
//!
//! Who you are: an API key (`--api-key-file`), or a local Warden's data
//! directory and a registry agent (`--data-dir DIR --as AGENT`), which mints
//! one single-use token for the mailbox per command.
//!
//! Exit codes ([`Failure`] is the one place they are chosen): 0 done; 1 the
//! gateway refused or failed (its reason and message are printed); 2 bad
//! input; 3 the egress rules refused the gateway URL.

mod conn;
mod print;
mod verbs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

/// The exit codes and how to authenticate, shown in `--help`.
pub const AFTER_HELP: &str = "\
Authenticate with an API key of a registry agent (warden apikey create --sub AGENT) in a file:
  warden mail inbox --api-key-file alice.key
or, on the machine that runs Warden, as a registry agent of its data directory (one single-use
token is minted per command):
  warden mail inbox --data-dir .warden --as alice

A first exchange: bob asks alice, alice grants, bob sends.
  warden mail request --to alice --note 'build reports' --data-dir .warden --as bob
  warden mail inbox --kind access_request --data-dir .warden --as alice
  warden mail grant --request msg_… --data-dir .warden --as alice
  warden mail send --to alice --text 'build 42 is green' --idempotency-key build-42 --data-dir .warden --as bob

Exit codes:
  0  done
  1  the gateway refused or failed: its reason code and message are printed (404 not_found is
     the one answer for a recipient that does not exist and one that has not granted you)
  2  bad input: arguments, an unreadable file, a gateway URL that is not one
  3  the egress rules refused the gateway URL (the reason is printed)";

/// `warden mail`.
#[derive(Debug, clap::Args)]
pub struct MailArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(subcommand)]
    pub verb: MailCommand,
}

/// Where the gateway is and who you are (allowed before or after the verb).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnArgs {
    /// The gateway's base URL (the address `warden up` prints).
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8080",
        env = "WARDEN_GATEWAY"
    )]
    pub gateway: String,
    /// A file holding your API key (`wdn_…`), sent as `X-API-Key`.
    #[arg(long, global = true, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// The data directory of the Warden that serves the gateway: with
    /// --as, a single-use mailbox token is minted there for each command.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The registry agent to act as, with --data-dir.
    #[arg(long = "as", global = true, value_name = "AGENT")]
    pub as_agent: Option<String>,
    /// Give up on the gateway after this many seconds (default 30).
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout_secs: Option<u64>,
    /// Print the gateway's JSON answer as it is, one object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

/// What an inbox listing shows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateChoice {
    Unread,
    Unacked,
    All,
}

/// A message kind.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindChoice {
    Message,
    #[value(name = "access_request")]
    AccessRequest,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrderChoice {
    Oldest,
    Newest,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Your address, how full your inbox is, and your published key.
    Whoami,
    /// Send a message. The recipient must have granted you (for its topic):
    /// ask with `warden mail request` first. Give an --idempotency-key so a
    /// retried command never sends twice.
    Send(SendArgs),
    /// List your inbox, oldest first (--order newest to turn it round).
    /// Prints one line per message and, when more follow, the --cursor for
    /// the next page.
    Inbox(InboxArgs),
    /// Show a message (marks it read). A sealed message is opened with
    /// --key.
    Read {
        /// The message id (`msg_…`).
        id: String,
        /// Your private key file (from `warden mail key gen`), or a JWK Set
        /// of your old and new keys (repeat --key for several files): the
        /// key the sealed message names opens it, on this machine.
        #[arg(long = "key", value_name = "FILE")]
        keys: Vec<PathBuf>,
    },
    /// Acknowledge a message: you have dealt with it (it stays until
    /// deleted or retention removes it).
    Ack {
        /// The message id (`msg_…`).
        id: String,
    },
    /// Delete a message from your inbox. Deleting an access request
    /// refuses it.
    Delete {
        /// The message id (`msg_…`).
        id: String,
    },
    /// Ask an agent for permission to message it: an access request lands in
    /// its inbox. The answer is the same whether or not the agent exists.
    Request {
        /// The agent to ask.
        #[arg(long)]
        to: String,
        /// A topic to ask for (repeat; none: every topic).
        #[arg(long = "topic", value_name = "TOPIC")]
        topics: Vec<String>,
        /// Why, for the recipient (at most 1,000 characters).
        #[arg(long)]
        note: Option<String>,
    },
    /// Let an agent message you: name it, or accept its access request
    /// (--request, which also acknowledges the request).
    Grant {
        /// The agent to allow.
        #[arg(required_unless_present = "request", conflicts_with = "request")]
        sender: Option<String>,
        /// Accept this access request (`msg_…` from your inbox).
        #[arg(long, value_name = "ID")]
        request: Option<String>,
        /// A topic to allow (repeat). Default: the request's topics, or
        /// every topic.
        #[arg(long = "topic", value_name = "TOPIC")]
        topics: Vec<String>,
        /// Allow every topic, whatever the request asked for.
        #[arg(long, conflicts_with = "topics")]
        all_topics: bool,
        /// Days until the grant ends (default: the gateway's
        /// [mailbox] grant_ttl_days; at most 365).
        #[arg(long, value_name = "DAYS")]
        ttl_days: Option<u32>,
    },
    /// End every grant you gave an agent: its next send is refused.
    Revoke {
        /// The agent.
        sender: String,
    },
    /// The grants in force: who may message you, and whom you may message.
    Grants,
    /// Your sealing key (end-to-end encrypted messages).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Your webhook: Warden posts each new message to it, signed.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Post each new message to URL (replaces the one before). Prints the
    /// `whsec_` secret to verify signatures with: shown this once.
    Set {
        /// An https URL (the gateway's egress rules must admit it).
        url: String,
    },
    /// Your webhook's URL, if any.
    Show,
    /// Stop posting messages (they wait in the inbox).
    Delete,
}

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The recipient (a registry agent).
    #[arg(long)]
    pub to: String,
    /// A text part (repeat for several).
    #[arg(long = "text", value_name = "TEXT")]
    pub texts: Vec<String>,
    /// A data part: JSON (repeat for several).
    #[arg(long = "data", value_name = "JSON")]
    pub data: Vec<String>,
    /// A file by reference: its URL (repeat for several). The gateway holds
    /// it to its egress rules.
    #[arg(long = "file-url", value_name = "URL")]
    pub file_urls: Vec<String>,
    /// The media type of the --file-url (with one --file-url).
    #[arg(long, value_name = "TYPE")]
    pub media_type: Option<String>,
    /// The file name of the --file-url (with one --file-url).
    #[arg(long, value_name = "NAME")]
    pub filename: Option<String>,
    /// The topic (`[a-z0-9._-]`, at most 64): the recipient's grant may be
    /// limited to some topics.
    #[arg(long)]
    pub topic: Option<String>,
    /// Reply to a message you received or sent: the new one joins its
    /// thread.
    #[arg(long, value_name = "ID")]
    pub reply_to: Option<String>,
    /// Sent as `Idempotency-Key`: a retry with the same key and message
    /// returns the first message (never a second copy).
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Seal the parts to the recipient's published key (fetched from the
    /// gateway): end to end, Warden stores only ciphertext.
    #[arg(long)]
    pub seal: bool,
}

#[derive(Debug, clap::Args)]
pub struct InboxArgs {
    /// Only messages from this agent.
    #[arg(long)]
    pub from: Option<String>,
    /// Only messages with this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only messages of this thread (the id of its first message).
    #[arg(long)]
    pub thread: Option<String>,
    /// Only messages of this kind.
    #[arg(long, value_enum)]
    pub kind: Option<KindChoice>,
    /// unread, unacked or all (default all).
    #[arg(long, value_enum)]
    pub state: Option<StateChoice>,
    /// oldest (default) or newest first.
    #[arg(long, value_enum)]
    pub order: Option<OrderChoice>,
    /// Messages per page, 1 to 100 (default 20).
    #[arg(long)]
    pub limit: Option<u32>,
    /// The cursor a previous page printed (same filters and order).
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make an X25519 key pair: the private JWK into a new file (mode 0600;
    /// keep it, and keep old ones after a rotation), the public JWK printed.
    /// Publish it with `warden mail key publish FILE`.
    Gen {
        /// The file to create for the private key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Publish your X25519 public key (a JWK file: {"kty":"OKP","crv":"X25519",
    /// "x":…,"kid":…}, or the private key file of `key gen`, whose public
    /// half alone is sent); it replaces the one before. Agents you granted may
    /// fetch it and seal messages to you.
    Publish {
        /// The JWK file (only its public part is sent).
        file: PathBuf,
    },
    /// Show an agent's published key (one that granted you), or yours
    /// with `me`.
    Show {
        /// The agent, or `me`.
        address: String,
    },
}

pub async fn run(args: MailArgs) -> ExitCode {
    let json = args.conn.json;
    match verbs::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

/// Why the command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The gateway answered with an error: exit 1.
    Refused {
        status: u16,
        reason: String,
        message: String,
        body: serde_json::Value,
    },
    /// The gateway could not be reached or answered something unreadable:
    /// exit 1.
    Transport(String),
    /// Bad arguments or unreadable input: exit 2.
    Usage(String),
    /// The egress rules refused the gateway URL: exit 3.
    Egress { reason: &'static str, why: String },
}

impl Failure {
    fn report(self, json: bool) -> ExitCode {
        match self {
            Self::Refused {
                status,
                reason,
                message,
                body,
            } => {
                if json {
                    println!("{body}");
                }
                eprintln!("error [{reason}] (HTTP {status}): {message}");
                ExitCode::FAILURE
            }
            Self::Transport(why) => {
                eprintln!("error: {why}");
                ExitCode::FAILURE
            }
            Self::Usage(why) => {
                eprintln!("error: {why}");
                ExitCode::from(2)
            }
            Self::Egress { reason, why } => {
                eprintln!("error [{reason}]: {why}");
                ExitCode::from(3)
            }
        }
    }
}
