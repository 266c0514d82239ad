//! Messaging grants, given by a recipient to a sender: scoped by topics,
//! time-bounded, revocable at once (the next send checks the grant in the
//! same transaction as its write). Accepting an access request is granting
//! with its id, which acknowledges the request; refusing is acknowledging
//! or deleting it.

use serde_json::Value;
use warden_store::MailGrant;

use crate::address::{check_address, check_message_id, check_topic};
use crate::{
    Grant, GrantRequest, Grants, Limits, MailError, Mailbox, MessageKind, RevokeRequest, Revoked,
    view,
};

const DAY_MS: i64 = 86_400_000;

/// Topics of a grant or request: each valid, at most `max_topics`, sorted
/// and without repeats (empty: every topic).
pub(crate) fn check_topics(topics: &[String], limits: &Limits) -> Result<Vec<String>, MailError> {
    if topics.len() > limits.max_topics {
        return Err(MailError::invalid(format!(
            "at most {} topics",
            limits.max_topics
        )));
    }
    for t in topics {
        check_topic(t)?;
    }
    let mut out = topics.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

impl Mailbox {
    /// Lets a sender send to the caller: `sender`, or the sender of the
    /// access request `requestId` (then the request's topics are the
    /// default, and the request is acknowledged). Replaces the pair's
    /// earlier grant, revoked or not.
    pub async fn grant(&self, me: &str, req: GrantRequest) -> Result<Grant, MailError> {
        let me = self.me(me)?;
        let limits = &self.inner.limits;
        let days = req.ttl_days.unwrap_or(limits.grant_ttl_days);
        if days == 0 || days > limits.max_grant_ttl_days {
            return Err(MailError::invalid(format!(
                "ttlDays must be 1 to {}",
                limits.max_grant_ttl_days
            )));
        }
        let (sender, asked) = match (&req.sender, &req.request_id) {
            (Some(sender), None) => {
                check_address("sender", sender)?;
                (sender.clone(), Vec::new())
            }
            (None, Some(id)) => {
                check_message_id(id)?;
                let request = self.inner.store.mail_get(id).await?;
                let Some(r) = request
                    .filter(|r| r.recipient == me && r.kind == MessageKind::AccessRequest.as_str())
                else {
                    return Err(MailError::NoSuchMessage);
                };
                let asked = requested_topics(&r.body);
                (r.sender, asked)
            }
            _ => {
                return Err(MailError::invalid(
                    "name exactly one of sender and requestId",
                ));
            }
        };
        let topics = check_topics(req.topics.as_deref().unwrap_or(&asked), limits)?;
        let now = self.now_ms();
        let g = MailGrant {
            recipient: me.to_string(),
            sender,
            topics,
            request_id: req.request_id,
            created_ms: now,
            expires_ms: now.saturating_add(i64::from(days) * DAY_MS),
            revoked_ms: None,
        };
        self.inner.store.mail_grant_put(&g, now).await?;
        Ok(view::grant(g))
    }

    /// Ends the caller's grant to `sender`, at once.
    pub async fn revoke(&self, me: &str, req: RevokeRequest) -> Result<Revoked, MailError> {
        let me = self.me(me)?;
        check_address("sender", &req.sender)?;
        let revoked = self
            .inner
            .store
            .mail_grant_revoke(me, &req.sender, self.now_ms())
            .await?;
        Ok(Revoked {
            sender: req.sender,
            revoked,
        })
    }

    /// The caller's live grants: given (who may send to it) and received
    /// (whom it may send to).
    pub async fn grants(&self, me: &str) -> Result<Grants, MailError> {
        let me = self.me(me)?;
        let now = self.now_ms();
        let store = &self.inner.store;
        let given = store.mail_grants(me, true, now).await?;
        let received = store.mail_grants(me, false, now).await?;
        Ok(Grants {
            given: given.into_iter().map(view::grant).collect(),
            received: received.into_iter().map(view::grant).collect(),
        })
    }
}

/// The topics an access request asked for (its first part's
/// `data.topics`, written by `request_access`).
fn requested_topics(body: &str) -> Vec<String> {
    let parts: Value = serde_json::from_str(body).unwrap_or_default();
    parts[0]["data"]["topics"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
