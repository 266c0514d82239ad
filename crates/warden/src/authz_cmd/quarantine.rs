//! `warden quarantine add | remove | list`.

use clap::Subcommand;
use warden_authority::grants;

use super::{print_json, table};
use crate::cli::Instance;
use crate::local::{audit_cli, config_of, open_store};

/// Who imposed a quarantine made with the CLI.
const BY: &str = "cli";

const ADD_EXAMPLES: &str = "\
Examples:
  warden quarantine add payments --reason 'leaking card numbers, INC-311'
  warden quarantine add planner --reason 'compromised key'
  warden quarantine list
  warden quarantine remove payments";

/// `warden quarantine …`.
#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Quarantine an agent: refuse every call to it and from it.
    ///
    /// Whatever its grants, until the quarantine is removed; its open
    /// streams are closed, and the token endpoint issues it no tokens.
    /// Gateways on the store refuse calls to and from it from their very
    /// next call. They close its open streams when they notice the change:
    /// on their next call or within [authz] poll_interval_ms, whichever
    /// comes first (in the gateway whose admin API made it: at once).
    #[command(after_help = ADD_EXAMPLES)]
    Add {
        /// The agent: a gateway agent name, a registry agent id, or
        /// ISSUER#SUBJECT (as grants name callers).
        agent: String,
        /// Why (kept on record and listed; 1 to 1024 bytes).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        instance: Instance,
    },
    /// Lift an agent's quarantine.
    Remove {
        agent: String,
        #[command(flatten)]
        instance: Instance,
    },
    /// List quarantined agents, with why, when and by whom.
    List {
        /// Print a JSON array (the admin API's quarantine objects).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        instance: Instance,
    },
}

pub async fn run(cmd: QuarantineCommand) -> Result<(), String> {
    match cmd {
        QuarantineCommand::Add {
            agent,
            reason,
            instance,
        } => {
            let store = open_store(&config_of(&instance)?).await?;
            let added = grants::quarantine(&store, &agent, &reason, BY)
                .await
                .map_err(|e| e.to_string())?;
            if !added {
                return Err(format!("{agent:?} is already quarantined"));
            }
            audit_cli(
                &store,
                "quarantine.add",
                serde_json::json!({ "agent": agent }),
            )
            .await?;
            println!("quarantined {agent}");
            Ok(())
        }
        QuarantineCommand::Remove { agent, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            grants::release(&store, &agent)
                .await
                .map_err(|e| e.to_string())?;
            audit_cli(
                &store,
                "quarantine.remove",
                serde_json::json!({ "agent": agent }),
            )
            .await?;
            println!("released {agent}");
            Ok(())
        }
        QuarantineCommand::List { json, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            let list = grants::quarantined(&store)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                let list: Vec<_> = list.iter().map(grants::quarantine_json).collect();
                return print_json(&serde_json::Value::Array(list));
            }
            if list.is_empty() {
                eprintln!("no agent is quarantined");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|q| vec![q.agent, q.created_at, q.created_by, q.reason])
                .collect();
            println!("{}", table(&["AGENT", "SINCE", "BY", "REASON"], &rows));
            Ok(())
        }
    }
}
