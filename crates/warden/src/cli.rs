//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Warden: a zero-trust security layer for the Agent2Agent (A2A) protocol.
///
/// Run `warden up` for a gateway in front of three demo agents on an embedded
/// store, then `warden call http://127.0.0.1:8080/agents/echo --text hello`.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BindingChoice {
    Jsonrpc,
    Rest,
}

#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// The agent's base URL; its card is at {URL}/.well-known/agent-card.json.
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
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file; exits non-zero naming the bad key and line.
    Check {
        /// The file to check.
        file: PathBuf,
    },
}
