//! The `warden` binary.

mod agent_cmd;
mod authz_cmd;
mod call;
mod card_cmd;
mod clean_cmd;
mod cli;
mod closed_stdout;
mod config_cmd;
mod gateway_lock;
mod local;
mod mail_cmd;
mod mail_seal;
mod net;
mod serve;
mod store_cmd;
mod up;
mod webhook_cmd;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, ConfigCommand};

fn main() -> ExitCode {
    closed_stdout::end_quietly_on_closed_stdout();
    let cli = Cli::parse();
    init_logging();
    // Only these subcommands have renamed flags (and no option taking a
    // value that starts with '-').
    if matches!(cli.command, Command::Call(_) | Command::Card(_)) {
        for warning in cli::deprecated_flags(std::env::args_os().skip(1)) {
            eprintln!("warning: {warning}");
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up::run(args).await,
            Command::Gateway(args) => serve::gateway(args).await,
            Command::Agent(args) => agent_cmd::run(args).await,
            Command::Call(args) => return call::run(args).await,
            Command::Token(cmd) => local::token(cmd).await,
            Command::Registry(cmd) => local::registry(cmd).await,
            Command::ApiKey(cmd) => local::apikey(cmd).await,
            Command::Grant(cmd) => authz_cmd::grant::run(cmd).await,
            Command::Quarantine(cmd) => authz_cmd::quarantine::run(cmd).await,
            // Exit 0 allow, 1 deny, 2 error: its own codes.
            Command::Policy(cmd) => return Ok(authz_cmd::policy::run(cmd).await),
            // Exit 0 ok, 1 not verified / lint findings, 2 bad input, 3 egress refusal.
            Command::Card(cmd) => return Ok(card_cmd::run(cmd).await),
            // Exit 0 done, 1 the store is not in the state needed, 2 bad input.
            Command::Store(cmd) => return Ok(store_cmd::run(cmd).await),
            // Exit 0 verified, 1 refused, 2 bad input.
            Command::Webhook(cmd) => return Ok(webhook_cmd::run(cmd).await),
            // Exit 0 done, 1 store error, 2 bad arguments, 3 busy.
            Command::Clean(args) => return Ok(clean_cmd::run(args).await),
            // Exit 0 done, 1 refused by the gateway, 2 bad input, 3 egress refusal.
            Command::Mail(args) => return Ok(mail_cmd::run(args).await),
            Command::Config(ConfigCommand::Check { file, offline }) => {
                config_cmd::check(&file, offline).await
            }
        }
        .map(|()| ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `WARDEN_LOG` (or `RUST_LOG`) sets the filter.
fn init_logging() {
    let filter = std::env::var("WARDEN_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        // PostgreSQL notices ("relation … already exists, skipping" at
        // every start) say nothing an operator needs.
        .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
