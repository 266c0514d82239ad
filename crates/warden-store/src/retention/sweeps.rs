//! What each kind of row is, for retention: its table, its key, and the
//! condition under which a row of it goes. Conditions read the row as `r`.
//!
//! A condition that depends on another kind (a push config goes with its
//! task, a context owner once no kept task is in the context) asks whether
//! that other row *survives the plan*, not whether it exists now, so a dry
//! run counts exactly what a run would remove, and the order the kinds are
//! removed in changes nothing.

use super::sql::Sql;
use super::{Cutoff, RetentionKind, RetentionPlan};

/// The states after which a task never changes again. A task in any other
/// state (submitted, working, input-required, auth-required, unspecified)
/// is never removed, however old.
const FINISHED: &str = "('TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', \
                        'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED')";

/// The table of a kind, and its key columns (unique, so a batch deletes
/// the rows it selected and no others).
pub(super) fn target(kind: RetentionKind) -> (&'static str, &'static str) {
    match kind {
        RetentionKind::Audit => ("audit_events", "seq"),
        RetentionKind::Tasks => ("tasks", "agent, id"),
        RetentionKind::PushConfigs => ("push_configs", "agent, task_id, id"),
        RetentionKind::TaskOwners => ("task_owners", "agent, task_id"),
        RetentionKind::ContextOwners => ("context_owners", "agent, context_id"),
        RetentionKind::PushNotifications => ("push_outbox", "id"),
        RetentionKind::PushSubscriptions => ("push_subscriptions", "id"),
        RetentionKind::Grants => ("grants", "id"),
        RetentionKind::ApiKeys => ("api_keys", "id"),
        RetentionKind::SigningKeys => ("signing_keys", "kid"),
        RetentionKind::MailMessages => ("mail_messages", "id"),
        RetentionKind::MailIdempotency => ("mail_idempotency", "sender, key"),
        RetentionKind::MailGrants => ("mail_grants", "recipient, sender"),
    }
}

/// When a row of `kind` goes under `plan`, or None when the plan keeps
/// that kind.
pub(super) fn condition(kind: RetentionKind, plan: &RetentionPlan) -> Option<Sql> {
    let sql = match kind {
        RetentionKind::Audit => Sql::new("r.at < ").text(&plan.audit.as_ref()?.text),
        RetentionKind::Tasks => task_gone("r", plan.tasks.as_ref()?),
        RetentionKind::PushConfigs => {
            // With its task: once the task is gone or going. A config is
            // written after its task; one written after the cutoff waits
            // for a later run.
            let c = plan.tasks.as_ref()?;
            Sql::new("r.created_at < ")
                .text(&c.text)
                .sql(
                    " AND NOT EXISTS (SELECT 1 FROM tasks k
                       WHERE k.agent = r.agent AND k.id = r.task_id AND NOT (",
                )
                .then(task_gone("k", c))
                .sql("))")
        }
        RetentionKind::TaskOwners => owner_gone("r", plan.ownership.as_ref()?),
        RetentionKind::ContextOwners => {
            // Never while the context may still be in use: a task owner in
            // it that is kept, or a task of Warden's own agents in it that
            // is kept (finished or not). A context forgotten here can be
            // claimed again by whoever names it first, so only one that
            // nothing kept refers to goes.
            let o = plan.ownership.as_ref()?;
            let tasks_going = match &plan.tasks {
                Some(t) => task_gone("k", t),
                None => Sql::new("FALSE"),
            };
            Sql::new("r.created_at < ")
                .text(&o.text)
                .sql(
                    " AND NOT EXISTS (SELECT 1 FROM task_owners o
                       WHERE o.agent = r.agent AND o.context_id = r.context_id AND NOT (",
                )
                .then(owner_gone("o", o))
                .sql(
                    ")) AND NOT EXISTS (SELECT 1 FROM tasks k
                       WHERE k.agent = r.agent AND k.context_id = r.context_id AND NOT (",
                )
                .then(tasks_going)
                .sql("))")
        }
        RetentionKind::PushNotifications => {
            // Done with: delivered, or dead (an admin may still retry a dead
            // one until then). Open entries are never removed, however old.
            let c = plan.ownership.as_ref()?;
            Sql::new("r.state IN ('delivered', 'dead') AND r.updated_ms < ")
                .int(c.unix.saturating_mul(1000))
        }
        RetentionKind::PushSubscriptions => {
            // A caller's config for a task at an agent: it matters while
            // the task may still be read by its owner. Registered before
            // the cutoff, it goes once its task's owner is not kept (gone,
            // or going in this run: the task is nobody's) and its task is
            // not an unfinished one of Warden's own agents — so, like the
            // owner, a task at an upstream agent goes by age — and never
            // while a notification of it waits for delivery (that would
            // die for want of it). One never bound to a task (sent with a
            // first message the agent refused) goes by age alone. A
            // mailbox webhook (agent `@mailbox`, the gateway's
            // mail_delivery) is its recipient's until removed: never.
            let o = plan.ownership.as_ref()?;
            Sql::new("r.agent <> '@mailbox' AND r.created_ms < ")
                .int(o.unix.saturating_mul(1000))
                .sql(
                    " AND NOT EXISTS (SELECT 1 FROM task_owners o
                       WHERE o.agent = r.agent AND o.task_id = r.task_id AND NOT (",
                )
                .then(owner_gone("o", o))
                .sql(&format!(
                    ")) AND NOT EXISTS (SELECT 1 FROM tasks live
                       WHERE live.agent = r.agent AND live.id = r.task_id
                         AND live.state NOT IN {FINISHED})
                     AND NOT EXISTS (SELECT 1 FROM push_outbox p
                       WHERE p.subscription_id = r.id
                         AND p.state IN ('pending', 'delivering'))"
                ))
        }
        RetentionKind::Grants => {
            // Revoked, or past its end (`not_after`: from then on it no
            // longer holds), before the cutoff.
            let c = plan.grants.as_ref()?;
            Sql::new("((r.revoked_at IS NOT NULL AND r.revoked_at < ")
                .text(&c.text)
                .sql(") OR (r.not_after IS NOT NULL AND r.not_after < ")
                .int(c.unix)
                .sql("))")
        }
        RetentionKind::ApiKeys => {
            // Revoked, or expired (`expires_at`: it stops working then),
            // before the cutoff: it authenticates nobody any more.
            let c = plan.api_keys.as_ref()?;
            Sql::new("((r.revoked_at IS NOT NULL AND r.revoked_at < ")
                .text(&c.text)
                .sql(") OR (r.expires_at IS NOT NULL AND r.expires_at < ")
                .int(c.unix)
                .sql("))")
        }
        RetentionKind::SigningKeys => {
            // `expires_at` ends the time its public key is published, which
            // outlasts every token it signed: a key that can still verify a
            // live token is never past it.
            Sql::new("r.expires_at < ").int(plan.signing_keys.as_ref()?.unix)
        }
        RetentionKind::MailMessages => {
            // By age alone: an inbox is not an archive. Unread ones go too
            // (a recipient that never looks must not hold space for ever).
            Sql::new("r.created_ms < ").int(mail_ms(plan)?)
        }
        RetentionKind::MailIdempotency => {
            // A spent key no longer answers a retry (the send path treats
            // it as new); the row only waits for this.
            Sql::new("r.expires_ms < ").int(mail_ms(plan)?)
        }
        RetentionKind::MailGrants => {
            // Revoked or expired: it lets nobody send any more.
            let ms = mail_ms(plan)?;
            Sql::new("((r.revoked_ms IS NOT NULL AND r.revoked_ms < ")
                .int(ms)
                .sql(") OR r.expires_ms < ")
                .int(ms)
                .sql(")")
        }
    };
    Some(sql)
}

/// The mailbox cutoff in Unix milliseconds (the mailbox's times).
fn mail_ms(plan: &RetentionPlan) -> Option<i64> {
    Some(plan.mail.as_ref()?.unix.saturating_mul(1000))
}

/// A task of Warden's own agents (table alias `k`) that goes: finished,
/// with its last status before the cutoff.
fn task_gone(k: &str, c: &Cutoff) -> Sql {
    Sql::new(&format!(
        "{k}.state IN {FINISHED} AND {k}.status_timestamp < "
    ))
    .text(&c.text)
}

/// A task owner (alias `o`) that goes: recorded before the cutoff, unless
/// its task is one of Warden's own agents' and not finished. The state of a
/// task at an upstream agent is not known here; its owner goes by age.
fn owner_gone(o: &str, c: &Cutoff) -> Sql {
    Sql::new(&format!("{o}.created_at < "))
        .text(&c.text)
        .sql(&format!(
            " AND NOT EXISTS (SELECT 1 FROM tasks live
               WHERE live.agent = {o}.agent AND live.id = {o}.task_id
                 AND live.state NOT IN {FINISHED})"
        ))
}
