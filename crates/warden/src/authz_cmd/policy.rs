//! `warden policy check | explain`: policy rules checked and decisions
//! explained offline, from an instance's store and policy file, by the very
//! functions the gateway decides with ([`warden_policy::decide`], then
//! [`PolicyRules::explain`]).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use warden_a2a::{Operation, PartKind};
use warden_authority::ISSUER_SETTING;
use warden_authority::grants;
use warden_gateway::authz::grant_of;
use warden_gateway::clock::unix_now;
use warden_gateway::config::AuthMode;
use warden_policy::{Caller, DecisionContext, Facts, OpClass, PartFact, PolicyRules};

use super::explain::{Explained, Lookups, ScopeSource};
use super::parse_time;
use crate::cli::{BindingChoice, Instance};
use crate::local::{config_of, open_store};

/// `warden policy explain`: the call would be refused.
const EXIT_DENY: u8 = 1;
/// A usage, configuration or policy file error.
const EXIT_ERROR: u8 = 2;

const CHECK_EXAMPLES: &str = "\
Exit status: 0 when the file loads, 2 when it does not (the error names the
rule, and the line and column within its expression).

Example:
  warden policy check /etc/warden/policy.toml";

const EXPLAIN_EXAMPLES: &str = "\
Exit status: 0 when the call would be allowed, 1 when it would be denied, 2 on
a usage, configuration, store or policy file error.

What is decided: quarantine, the caller's grants to the agent (skills,
operation classes, time window), the credential's scopes, task and context
ownership (from the store), then the policy rules. Not modelled: rate limits
and stream caps, and how the gateway works out the skill (pass it with
--skill; offline, an agent's only skill is not implied from its card).

Examples:
  warden policy explain --caller planner --agent echo --operation SendMessage --skill echo
  warden policy explain --caller planner --agent payments --operation SendMessage \\
      --skill pay --part raw:2097152:application/pdf --policy ./policy.toml --json
  warden policy explain --caller svc-7 --issuer https://idp.example.com \\
      --agent echo --operation GetTask --task-id 9f1c…
  warden policy explain --caller planner --agent echo --operation CancelTask \\
      --task-id t-1 --at 2026-05-01T03:00:00Z";

/// `warden policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Compile a policy file (CEL rules): how many rules, or what is wrong.
    #[command(after_help = CHECK_EXAMPLES)]
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Decide a hypothetical call offline, and say why.
    ///
    /// Prints the decision, the grant or rule that made it, and what each
    /// policy rule did. Reads the instance's store (grants, quarantine, task
    /// and context owners) and its policy file ([authz] policy_file, or
    /// --policy); changes nothing.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(Box<ExplainArgs>),
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The caller's subject (a registry agent id for Warden's own tokens and
    /// API keys).
    #[arg(long, value_name = "SUBJECT")]
    pub caller: String,
    /// The issuer of the caller's token (default: Warden's own).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The target agent (its name at the gateway).
    #[arg(long, value_name = "NAME")]
    pub agent: String,
    /// The A2A operation, e.g. SendMessage, GetTask, CancelTask (v1.0 or
    /// v0.3 method names).
    #[arg(long, value_name = "OPERATION", value_parser = parse_operation)]
    pub operation: Operation,
    /// The skill the call names.
    #[arg(long)]
    pub skill: Option<String>,
    /// A scope of the credential (repeat for several; `*` for every skill).
    /// Default, for Warden's own issuer: the skills its grants to the agent
    /// allow (what a token minted without a scope, or an API key, carries);
    /// none for other issuers.
    #[arg(long = "scope", value_name = "SKILL")]
    pub scopes: Vec<String>,
    /// The task the call addresses or continues.
    #[arg(long, value_name = "ID")]
    pub task_id: Option<String>,
    /// A task the message references (`referenceTaskIds`); repeatable.
    #[arg(long = "reference-task-id", value_name = "ID")]
    pub reference_task_ids: Vec<String>,
    /// The context the call addresses or joins.
    #[arg(long, value_name = "ID")]
    pub context_id: Option<String>,
    /// The tenant the call names.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The client address.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub source: IpAddr,
    /// How the caller authenticated.
    #[arg(long, value_enum, default_value = "bearer")]
    pub method: MethodChoice,
    /// How the call travels (the `binding` rule variable).
    #[arg(long, value_enum, default_value = "jsonrpc")]
    pub binding: BindingChoice,
    /// A message part: its kind (text, raw, url, data), size in bytes and,
    /// optionally, media type. Repeat for several.
    #[arg(long = "part", value_name = "KIND:SIZE[:MEDIA_TYPE]", value_parser = parse_part)]
    pub parts: Vec<PartFact>,
    /// A URI of `message.extensions` (repeat for several).
    #[arg(long = "extension", value_name = "URI")]
    pub extensions: Vec<String>,
    /// A SAN URI of the caller's client certificate (repeat for several).
    #[arg(long = "peer-uri", value_name = "URI")]
    pub peer_uris: Vec<String>,
    /// Decide as at this time (RFC 3339 or Unix seconds; default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<i64>,
    /// The policy file to use instead of the configuration's.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub instance: Instance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodChoice {
    Bearer,
    Dpop,
    #[value(name = "api_key", alias = "api-key")]
    ApiKey,
    Anonymous,
}

impl MethodChoice {
    fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Dpop => "dpop",
            Self::ApiKey => "api_key",
            Self::Anonymous => "anonymous",
        }
    }
}

fn parse_operation(s: &str) -> Result<Operation, String> {
    Operation::from_method(s.trim())
        .map(|(op, _)| op)
        .ok_or_else(|| {
            let names: Vec<&str> = warden_a2a::op::ALL_OPERATIONS
                .iter()
                .map(|op| op.name())
                .collect();
            format!("unknown operation {s:?} (use one of {})", names.join(", "))
        })
}

fn parse_part(s: &str) -> Result<PartFact, String> {
    let mut fields = s.splitn(3, ':');
    let kind = match fields.next().unwrap_or_default() {
        "text" => PartKind::Text,
        "raw" => PartKind::Raw,
        "url" => PartKind::Url,
        "data" => PartKind::Data,
        other => {
            return Err(format!("part kind {other:?} is not text, raw, url or data"));
        }
    };
    let size = fields
        .next()
        .ok_or("a part is KIND:SIZE[:MEDIA_TYPE], e.g. raw:1048576:application/pdf")?
        .parse()
        .map_err(|_| format!("part size in {s:?} is not a number of bytes"))?;
    let media_type = fields.next().filter(|m| !m.is_empty()).map(str::to_owned);
    Ok(PartFact {
        kind,
        size,
        media_type,
    })
}

pub async fn run(cmd: PolicyCommand) -> ExitCode {
    let result = match cmd {
        PolicyCommand::Check { file } => check(&file).map(|line| {
            println!("{line}");
            true
        }),
        PolicyCommand::Explain(args) => explain(*args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_DENY),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn load_rules(path: &Path) -> Result<PolicyRules, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    PolicyRules::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn check(file: &Path) -> Result<String, String> {
    let rules = load_rules(file)?;
    Ok(format!(
        "{}: ok ({} rules, default {})",
        file.display(),
        rules.len(),
        rules.default_effect().as_str()
    ))
}

/// Decides and prints; returns whether the call would be allowed.
async fn explain(args: ExplainArgs) -> Result<bool, String> {
    let config = config_of(&args.instance)?;
    // Explaining against a store that is not there would only say "no
    // grant": refuse instead (and do not create one).
    let db = config.gateway.data_dir.join("warden.db");
    if !db.exists() {
        return Err(format!(
            "no store at {}: pass the instance's --data-dir or --config",
            db.display()
        ));
    }
    let store = open_store(&config).await?;
    let failed = |e: warden_store::StoreError| format!("the store failed: {e}");
    let own_issuer = store
        .setting(ISSUER_SETTING)
        .await
        .map_err(failed)?
        .unwrap_or_else(|| config.public_url());
    let issuer = args.issuer.clone().unwrap_or_else(|| own_issuer.clone());
    let anonymous = args.method == MethodChoice::Anonymous;
    let local = issuer == own_issuer || anonymous;
    let now = match args.at {
        Some(t) => u64::try_from(t).map_err(|_| "--at is before 1970".to_string())?,
        None => unix_now(),
    };
    let mut caller = Caller {
        subject: args.caller.clone(),
        issuer,
        local,
        scopes: args.scopes.clone(),
        method: args.method.as_str(),
        source: args.source,
        peer_uris: args.peer_uris.clone(),
    };
    let key = caller.key();
    let scope_source = if !args.scopes.is_empty() {
        ScopeSource::Given
    } else if local && !anonymous {
        caller.scopes = grants::skills_granted(&store, &key, &args.agent, now)
            .await
            .map_err(failed)?
            .unwrap_or_default();
        ScopeSource::Granted
    } else {
        ScopeSource::Absent
    };
    let ctx = DecisionContext {
        caller,
        agent: args.agent.clone(),
        operation: args.operation,
        binding: match args.binding {
            BindingChoice::Jsonrpc => warden_a2a::Binding::JsonRpc,
            BindingChoice::Rest => warden_a2a::Binding::Rest,
        },
        skill: args.skill.clone(),
        tenant: args.tenant.clone(),
        task_id: args.task_id.clone(),
        referenced_task_ids: args.reference_task_ids.clone(),
        context_id: args.context_id.clone(),
        parts: args.parts.clone(),
        extensions: args.extensions.clone(),
        now,
    };

    // The facts, looked up as the gateway's authoriser does.
    let enforce = config.auth.mode == AuthMode::Strict;
    let records = store
        .list_grants(Some(&key), Some(&args.agent), false)
        .await
        .map_err(failed)?;
    let quarantined = store.quarantined().await.map_err(failed)?;
    let reason_of = |name: &str| {
        quarantined
            .iter()
            .find(|q| q.agent == name)
            .map(|q| q.reason.clone())
    };
    let task_owner = match (&ctx.task_id, enforce) {
        (Some(id), true) => store
            .task_owner(&args.agent, id)
            .await
            .map_err(failed)?
            .map(|t| t.owner),
        _ => None,
    };
    let mut referenced_task_owners = Vec::new();
    if enforce {
        for id in &ctx.referenced_task_ids {
            let owner = store
                .task_owner(&args.agent, id)
                .await
                .map_err(failed)?
                .map(|t| t.owner);
            referenced_task_owners.push((id.clone(), owner));
        }
    }
    let is_message = OpClass::of(ctx.operation) == OpClass::Send;
    let context_owner = match (&ctx.context_id, is_message && enforce) {
        (Some(id), true) => store.context_owner(&args.agent, id).await.map_err(failed)?,
        _ => None,
    };
    let lookups = Lookups {
        grants: records,
        caller_quarantined: reason_of(&key),
        agent_quarantined: reason_of(&args.agent),
        task_owner,
        context_owner,
        referenced_task_owners,
        enforce,
    };

    let policy_file = args.policy.clone().or(config.authz.policy_file.clone());
    let rules = match &policy_file {
        Some(path) => load_rules(path)?,
        None => PolicyRules::empty(),
    };

    let decision = {
        let grants: Vec<_> = lookups.grants.iter().cloned().map(grant_of).collect();
        let facts = Facts {
            grants: &grants,
            caller_quarantined: lookups.caller_quarantined.is_some(),
            agent_quarantined: lookups.agent_quarantined.is_some(),
            task_owner: lookups.task_owner.as_deref(),
            context_owner: lookups.context_owner.as_deref(),
            referenced_task_owners: &lookups.referenced_task_owners,
            enforce,
        };
        warden_policy::decide(&ctx, &facts)
    };
    let explained = Explained {
        rules: rules.explain(&ctx),
        ctx,
        scope_source,
        lookups,
        decision,
        policy_file,
    };
    if args.json {
        super::print_json(&explained.to_json())?;
    } else {
        println!("{}", explained.render());
    }
    Ok(explained.allowed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_operations_parse() {
        assert_eq!(
            parse_part("raw:1024:application/pdf"),
            Ok(PartFact {
                kind: PartKind::Raw,
                size: 1024,
                media_type: Some("application/pdf".into()),
            })
        );
        assert_eq!(
            parse_part("text:5").map(|p| (p.kind, p.media_type)),
            Ok((PartKind::Text, None))
        );
        for bad in ["file:1", "raw", "raw:-1", "raw:big"] {
            assert!(parse_part(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_operation("SendMessage"), Ok(Operation::SendMessage));
        assert_eq!(parse_operation("tasks/get"), Ok(Operation::GetTask));
        assert!(parse_operation("sendmessage").is_err());
    }
}
