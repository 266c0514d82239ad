//! `warden clean --days N`: one retention run now, with the ages given on
//! the command line, on the store a data directory or configuration names
//! (the same run a gateway makes on its `[retention]` schedule, see
//! docs/retention.md). Audit events are kept unless `--audit-days` is given:
//! they are evidence, and removing them is never a side effect.

use std::process::ExitCode;

use serde_json::{Map, Value, json};
use warden_gateway::retention::Ages;
use warden_store::{RetentionKind, RetentionPlan, Store};

use crate::cli::Instance;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  done (or, with --dry-run, counted); the rows per kind are printed
  1  the store could not be opened or refused a statement (what was removed
     before it stays removed; run it again)
  2  bad arguments (a day count of 0, an unknown flag)
  3  another process holds this PostgreSQL store's retention lock (a
     gateway's scheduled run): nothing was removed; try again shortly

With --json, stdout carries one JSON object on success:
  {\"dry_run\": false, \"rows\": {\"tasks\": 12, …},
   \"before\": {\"tasks\": \"2026-01-01T00:00:00.000Z\", …}, \"kept\": [\"audit\"]}";

/// Removes from the store what is older than the ages given.
#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct CleanArgs {
    /// Finished tasks of Warden's own agents (completed, failed, canceled,
    /// rejected; never working or input-required ones) with their push
    /// configs, grants revoked or ended, API keys revoked or expired, and
    /// signing keys no longer published, this many days after that. At
    /// least 1.
    #[arg(long, value_name = "N", value_parser = days)]
    pub days: u32,
    /// Also audit events older than this many days (without it, audit
    /// events are kept). At least 1.
    #[arg(long, value_name = "N", value_parser = days)]
    pub audit_days: Option<u32>,
    /// Task and context owners recorded this many days ago, push
    /// notifications delivered or dead that long ago, and push
    /// subscriptions registered that long ago whose task's owner goes too
    /// (default: the configuration's authz.ownership_retention_days, 30). A
    /// context owner stays while a kept task is in the context, a
    /// subscription while a notification of it waits. At least 1.
    #[arg(long, value_name = "N", value_parser = days)]
    pub ownership_days: Option<u32>,
    /// Mailbox messages (read or not) sent this many days ago, idempotency
    /// keys spent that long ago, and messaging grants revoked or expired
    /// that long ago (default: the configuration's [mailbox]
    /// retention_days, 30). At least 1.
    #[arg(long, value_name = "N", value_parser = days)]
    pub mail_days: Option<u32>,
    /// Count what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub instance: Instance,
}

/// A day count: 0 would remove every row of its kinds at once.
fn days(s: &str) -> Result<u32, String> {
    let n: u32 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of days"))?;
    if n == 0 {
        return Err(
            "0 would remove every row of those kinds at once; give at least 1 (leave --audit-days out to keep audit events)"
                .into(),
        );
    }
    Ok(n)
}

pub async fn run(args: CleanArgs) -> ExitCode {
    match clean(&args).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn clean(args: &CleanArgs) -> Result<ExitCode, String> {
    let config = crate::local::config_of(&args.instance)?;
    // Opening creates a missing SQLite file: a mistyped directory would
    // report an empty store as clean.
    let db = config.gateway.data_dir.join("warden.db");
    if config.store.url(&|v| std::env::var(v).ok())?.is_none() && !db.exists() {
        return Err(format!(
            "no store at {}: give the data directory (--data-dir) or configuration (--config) of a gateway",
            db.display()
        ));
    }
    let store = crate::local::open_store(&config).await?;
    let configured = Ages::of(&config);
    let ages = Ages {
        days: Some(args.days),
        audit_days: args.audit_days,
        ownership_days: args.ownership_days.or(configured.ownership_days),
        mail_days: args.mail_days.or(configured.mail_days),
    };
    // The gateway's clock (a debug build's tests move it).
    let plan = ages.plan(warden_gateway::clock::unix_now());
    let removed = if args.dry_run {
        apply(&store, &plan, true).await?
    } else {
        let Some(lock) = store
            .try_retention_lock()
            .await
            .map_err(|e| format!("cannot take the retention lock: {e}"))?
        else {
            eprintln!(
                "error: another process is running retention on this store now (a gateway's scheduled run); nothing was removed, try again shortly"
            );
            return Ok(ExitCode::from(3));
        };
        let removed = apply(&store, &plan, false).await;
        let _ = lock.release().await;
        removed?
    };
    let out = Report {
        plan: &plan,
        removed: &removed,
        dry_run: args.dry_run,
    };
    if args.json {
        println!("{}", out.json());
    } else {
        print!("{}", out.table());
    }
    Ok(ExitCode::SUCCESS)
}

async fn apply(
    store: &Store,
    plan: &RetentionPlan,
    dry_run: bool,
) -> Result<Vec<(RetentionKind, u64)>, String> {
    store
        .apply_retention(plan, dry_run)
        .await
        .map_err(|e| format!("retention stopped: {e}"))
}

struct Report<'a> {
    plan: &'a RetentionPlan,
    removed: &'a [(RetentionKind, u64)],
    dry_run: bool,
}

impl Report<'_> {
    fn rows(&self, kind: RetentionKind) -> Option<u64> {
        self.removed
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, n)| *n)
    }

    fn table(&self) -> String {
        let mut out = String::from(if self.dry_run {
            "Would remove (dry run: nothing was removed):\n"
        } else {
            "Removed:\n"
        });
        for kind in RetentionKind::ALL {
            let line = match (self.rows(kind), self.plan.cutoff(kind)) {
                (Some(n), Some(c)) => format!("{n:>10}  older than {}", c.rfc3339()),
                _ if kind == RetentionKind::Audit => {
                    format!("{:>10}  kept (give --audit-days to remove them)", "-")
                }
                _ => format!("{:>10}  kept", "-"),
            };
            out.push_str(&format!("  {:<15}{line}\n", kind.as_str()));
        }
        out
    }

    fn json(&self) -> Value {
        let (mut rows, mut before, mut kept) = (Map::new(), Map::new(), Vec::new());
        for kind in RetentionKind::ALL {
            match (self.rows(kind), self.plan.cutoff(kind)) {
                (Some(n), Some(c)) => {
                    rows.insert(kind.as_str().into(), json!(n));
                    before.insert(kind.as_str().into(), json!(c.rfc3339()));
                }
                _ => kept.push(kind.as_str()),
            }
        }
        json!({"dry_run": self.dry_run, "rows": rows, "before": before, "kept": kept})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_store::Cutoff;

    #[test]
    fn zero_days_is_refused_with_the_reason() {
        assert_eq!(days("7"), Ok(7));
        let e = days("0").expect_err("zero");
        assert!(e.contains("at least 1"), "{e}");
        assert!(days("-1").is_err());
        assert!(days("ten").is_err());
    }

    #[test]
    fn the_report_names_every_kind_and_what_was_kept() {
        let c = Cutoff::at_unix(1_735_689_600);
        let plan = RetentionPlan {
            tasks: Some(c.clone()),
            grants: Some(c),
            ..RetentionPlan::default()
        };
        let removed = [
            (RetentionKind::Tasks, 12),
            (RetentionKind::PushConfigs, 0),
            (RetentionKind::Grants, 3),
        ];
        let r = Report {
            plan: &plan,
            removed: &removed,
            dry_run: true,
        };
        let table = r.table();
        assert!(table.starts_with("Would remove (dry run"), "{table}");
        assert!(
            table.contains("tasks                  12  older than 2025-01-01T00:00:00.000Z"),
            "{table}"
        );
        assert!(table.contains("audit                   -  kept"), "{table}");
        assert_eq!(table.lines().count(), 1 + RetentionKind::ALL.len());
        let j = r.json();
        assert_eq!(j["dry_run"], true);
        assert_eq!(j["rows"]["grants"], 3);
        assert_eq!(j["before"]["tasks"], "2025-01-01T00:00:00.000Z");
        assert!(
            j["kept"]
                .as_array()
                .is_some_and(|k| k.iter().any(|v| v == "audit"))
        );
    }
}
