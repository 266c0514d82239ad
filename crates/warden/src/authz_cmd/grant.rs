//! `warden grant add | list | revoke`.

use clap::Subcommand;
use warden_authority::grants::{self, NewGrant};
use warden_gateway::clock::unix_now;
use warden_policy::OpClass;
use warden_store::{GrantRecord, Store};

use super::{parse_time, print_json, show_time, split_list, table};
use crate::cli::Instance;
use crate::local::{audit_cli, config_of, open_store, parse_duration};

const ADD_EXAMPLES: &str = "\
Examples:
  warden grant add planner echo --skills echo
  warden grant add planner payments --skills pay,refund --ops send,get --ttl 8h
  warden grant add ops-bot slow --skills '*' --ops all --note 'incident 4711'
  warden grant add 'https://idp.example.com#svc-7' echo --skills echo  # another issuer's
  warden grant add reviewer echo --skills '*' --ops get,cancel --tasks-of planner

Operations: send (SendMessage, SendStreamingMessage), get, list, cancel,
subscribe, push (the push notification config calls), extended-card; `all` is
every one. Without --ops: send, get, list, cancel, subscribe.";

const LIST_EXAMPLES: &str = "\
Examples:
  warden grant list
  warden grant list --caller planner --all
  warden grant list --target payments --json";

const REVOKE_EXAMPLES: &str = "\
Examples:
  warden grant revoke g_3f9a0c1d2e4b5a6c
  warden grant revoke --caller planner --target payments   # every grant between them";

/// `warden grant …`.
#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Allow CALLER to call TARGET; prints the new grant's id.
    ///
    /// A grant names skills and operation classes, optionally a time window
    /// and a delegation. Without a grant in force, a call is refused
    /// (default deny); running gateways apply a new grant from their next
    /// call.
    #[command(after_help = ADD_EXAMPLES)]
    Add(AddArgs),
    /// List grants (unrevoked ones; --all adds revoked ones).
    #[command(after_help = LIST_EXAMPLES)]
    List {
        /// Only the grants of this caller.
        #[arg(long)]
        caller: Option<String>,
        /// Only the grants for this target agent.
        #[arg(long)]
        target: Option<String>,
        /// Include revoked grants.
        #[arg(long)]
        all: bool,
        /// Print a JSON array (the admin API's grant objects).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        instance: Instance,
    },
    /// Revoke a grant by id, or every grant from --caller to --target.
    ///
    /// Holds from the next call at every gateway on the store. Revoked
    /// grants stay on record (`warden grant list --all`) until retention
    /// removes them (`[retention] days`, `warden clean`).
    #[command(after_help = REVOKE_EXAMPLES)]
    Revoke {
        /// The grant id (`g_…`, from `warden grant list`).
        #[arg(
            required_unless_present_all = ["caller", "target"],
            conflicts_with_all = ["caller", "target"]
        )]
        id: Option<String>,
        /// With --target: revoke every grant from this caller.
        #[arg(long, requires = "target")]
        caller: Option<String>,
        /// With --caller: … to this target agent.
        #[arg(long, requires = "caller")]
        target: Option<String>,
        #[command(flatten)]
        instance: Instance,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Who may call: a registry agent id (Warden's own tokens and API keys),
    /// or ISSUER#SUBJECT for a subject of an external token issuer.
    caller: String,
    /// The agent it may call (its name at the gateway).
    target: String,
    /// The skill ids it may use, comma-separated, or '*' for every skill.
    #[arg(long, value_name = "SKILL,…|*")]
    skills: String,
    /// Operation classes, comma-separated, or `all` (default: send, get,
    /// list, cancel, subscribe).
    #[arg(long, value_name = "OP,…|all", value_parser = parse_ops)]
    ops: Option<Ops>,
    /// A delegation: CALLER may also act on the tasks OWNER created at
    /// TARGET (with the operations granted here).
    #[arg(long, value_name = "OWNER")]
    tasks_of: Option<String>,
    /// The grant holds from this time (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    not_before: Option<i64>,
    /// The grant ends at this time (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "ttl")]
    not_after: Option<i64>,
    /// The grant ends this long after it starts (--not-before, or now),
    /// e.g. 30m, 8h, 7d.
    #[arg(long, value_name = "DURATION")]
    ttl: Option<String>,
    /// Free text kept with the grant (a ticket, a reason); not audited.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Print the grant as JSON instead of its id.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    instance: Instance,
}

/// Operation classes as given to --ops.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ops(Vec<OpClass>);

fn parse_ops(s: &str) -> Result<Ops, String> {
    if s.trim().is_empty() {
        return Err("name at least one operation (or all)".into());
    }
    OpClass::parse_list(s).map(Ops)
}

pub async fn run(cmd: GrantCommand) -> Result<(), String> {
    match cmd {
        GrantCommand::Add(args) => add(args).await,
        GrantCommand::List {
            caller,
            target,
            all,
            json,
            instance,
        } => {
            let store = open_store(&config_of(&instance)?).await?;
            let list = store
                .list_grants(caller.as_deref(), target.as_deref(), all)
                .await
                .map_err(|e| e.to_string())?;
            let now = unix_now();
            if json {
                let list: Vec<_> = list.iter().map(|g| grants::grant_json(g, now)).collect();
                return print_json(&serde_json::Value::Array(list));
            }
            if list.is_empty() {
                eprintln!("no grants");
                return Ok(());
            }
            println!("{}", grant_table(&list, now));
            Ok(())
        }
        GrantCommand::Revoke {
            id,
            caller,
            target,
            instance,
        } => {
            let store = open_store(&config_of(&instance)?).await?;
            match (id, caller, target) {
                (Some(id), _, _) => {
                    grants::revoke_grant(&store, &id)
                        .await
                        .map_err(|e| e.to_string())?;
                    audit_cli(&store, "grant.revoke", serde_json::json!({"grant": id})).await?;
                    println!("revoked {id}");
                }
                (None, Some(caller), Some(target)) => {
                    revoke_between(&store, &caller, &target).await?
                }
                _ => return Err("give a grant id, or --caller and --target".into()),
            }
            Ok(())
        }
    }
}

async fn add(args: AddArgs) -> Result<(), String> {
    let config = config_of(&args.instance)?;
    let store = open_store(&config).await?;
    let not_after = match (&args.ttl, args.not_after) {
        (Some(ttl), _) => {
            let ttl = parse_duration(ttl)?.as_secs();
            let from = args
                .not_before
                .unwrap_or_else(|| i64::try_from(unix_now()).unwrap_or(i64::MAX));
            let ttl = i64::try_from(ttl).map_err(|_| "--ttl is too long".to_string())?;
            Some(from.checked_add(ttl).ok_or("--ttl is too long")?)
        }
        (None, at) => at,
    };
    let new = NewGrant {
        caller: args.caller,
        target: args.target,
        skills: split_list(&args.skills),
        operations: args.ops.map_or_else(|| OpClass::DEFAULT.to_vec(), |o| o.0),
        tasks_of: args.tasks_of,
        not_before: args.not_before,
        not_after,
        note: args.note,
    };
    let g = grants::add_grant(&store, new.clone())
        .await
        .map_err(|e| e.to_string())?;
    warn_if_unknown(&store, &config, &new).await;
    audit_cli(&store, "grant.add", grants::grant_audit(&g)).await?;
    if args.json {
        print_json(&grants::grant_json(&g, unix_now()))
    } else {
        println!("{}", g.id);
        Ok(())
    }
}

/// Grants name callers and agents by plain strings, so a typo makes a grant
/// that never matches: say so (the grant is still added: the agent may be
/// registered or configured later).
async fn warn_if_unknown(store: &Store, config: &warden_gateway::Config, g: &NewGrant) {
    let external = g.caller.contains('#');
    if !external && matches!(store.agent(&g.caller).await, Ok(None)) {
        eprintln!(
            "warning: {:?} is not a registry agent (Warden's own callers are registry agent ids; \
             external ones ISSUER#SUBJECT)",
            g.caller
        );
    }
    // Targets are gateway agents and the egress proxy's remote agents.
    let configured: Vec<&str> = config
        .agents
        .iter()
        .map(|a| a.name.as_str())
        .chain(config.remote_agents.iter().map(|r| r.name.as_str()))
        .collect();
    if !configured.is_empty() && !configured.contains(&g.target.as_str()) {
        eprintln!(
            "warning: the configuration has no agent {:?} (it has {})",
            g.target,
            configured.join(", ")
        );
    }
}

async fn revoke_between(store: &Store, caller: &str, target: &str) -> Result<(), String> {
    let ids: Vec<String> = store
        .list_grants(Some(caller), Some(target), false)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|g| g.id)
        .collect();
    let n = grants::revoke_between(store, caller, target)
        .await
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err(format!("no unrevoked grant from {caller:?} to {target:?}"));
    }
    audit_cli(
        store,
        "grant.revoke",
        serde_json::json!({"caller": caller, "target": target, "grants": ids}),
    )
    .await?;
    println!("revoked {n} grant(s) from {caller} to {target}");
    Ok(())
}

/// The grant table: what `warden grant list` prints.
fn grant_table(list: &[GrantRecord], now: u64) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|g| {
            vec![
                g.id.clone(),
                g.caller.clone(),
                g.target.clone(),
                g.skills.join(","),
                g.operations.join(","),
                g.tasks_of.clone().unwrap_or_else(|| "-".into()),
                window(g, now),
                g.revoked_at.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &[
            "ID", "CALLER", "TARGET", "SKILLS", "OPS", "TASKS-OF", "WINDOW", "REVOKED",
        ],
        &rows,
    )
}

/// `always`, `from T`, `until T` or `T..T`, and whether it is yet to open
/// or over.
fn window(g: &GrantRecord, now: u64) -> String {
    let span = match (g.not_before, g.not_after) {
        (None, None) => "always".to_string(),
        (Some(nb), None) => format!("from {}", show_time(nb)),
        (None, Some(na)) => format!("until {}", show_time(na)),
        (Some(nb), Some(na)) => format!("{}..{}", show_time(nb), show_time(na)),
    };
    match grants::grant_state(g, now) {
        "pending" => format!("{span} (not yet)"),
        "expired" => format!("{span} (ended)"),
        _ => span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(nb: Option<i64>, na: Option<i64>) -> GrantRecord {
        GrantRecord {
            id: "g_1".into(),
            caller: "planner".into(),
            target: "echo".into(),
            skills: vec!["echo".into()],
            operations: vec!["send".into(), "get".into()],
            tasks_of: None,
            not_before: nb,
            not_after: na,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            revoked_at: None,
            note: None,
        }
    }

    #[test]
    fn windows_say_when_and_whether() {
        assert_eq!(window(&grant(None, None), 50), "always");
        assert_eq!(
            window(&grant(Some(100), None), 50),
            "from 1970-01-01T00:01:40Z (not yet)"
        );
        assert_eq!(
            window(&grant(None, Some(100)), 100),
            "until 1970-01-01T00:01:40Z (ended)"
        );
        assert_eq!(
            window(&grant(Some(0), Some(100)), 50),
            "1970-01-01T00:00:00Z..1970-01-01T00:01:40Z"
        );
    }

    #[test]
    fn ops_must_be_known_and_not_empty() {
        assert_eq!(parse_ops("all"), Ok(Ops(OpClass::ALL.to_vec())));
        assert_eq!(
            parse_ops("get, send"),
            Ok(Ops(vec![OpClass::Send, OpClass::Get]))
        );
        assert!(parse_ops("").is_err());
        assert!(parse_ops("send,delete").is_err());
    }
}
