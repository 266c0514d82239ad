//! The rate limits of a call, as the authoriser checks them: the early
//! refusal of a spent caller, the call's limits in one go, and whom they
//! count against.

use std::borrow::Cow;

use warden_a2a::{A2aError, ErrorKind};
use warden_policy::ratelimit::{Quota, RateDecision};

use super::{Authorizer, Denied, Reason};
use crate::principal::{AuthMethod, Principal};

impl Authorizer {
    /// The limits of one decided call, in one go (one round trip with
    /// shared limits): every decision, or the refusal of the first limit
    /// that bites (`names[i]` names `checks[i]` in the answer).
    pub(super) async fn limit_all(
        &self,
        checks: &[(String, Quota)],
        names: &[&'static str],
    ) -> Result<Vec<RateDecision>, Denied> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        let decisions = self
            .limiter
            .check_all(checks, self.now())
            .await
            .map_err(|e| limits_unavailable(&e))?;
        if let Some(i) = decisions.iter().position(|d| !d.is_allowed()) {
            let what = names.get(i).copied().unwrap_or("limit");
            let mut r = Denied::new(
                A2aError::new(
                    ErrorKind::RateLimited,
                    format!("rate limit ({what}) exceeded; retry later"),
                ),
                Reason::RateLimited(what),
            );
            r.headers = decisions[i].headers();
            return Err(r);
        }
        Ok(decisions)
    }

    /// A caller whose own bucket is already empty is refused here, before
    /// its body is read or parsed: a flood then costs little more than its
    /// authentication. Nothing is taken from the bucket (the cell is taken
    /// once the call is decided, as before), so this refuses only calls the
    /// limit would refuse later anyway.
    pub(super) async fn refuse_if_spent(&self, me: &str) -> Result<(), Denied> {
        let Some(q) = self.quotas.principal else {
            return Ok(());
        };
        let key = format!("principal:{me}");
        match self.limiter.peek(&key, q, self.now()).await {
            Ok(d) if !d.is_allowed() => {
                let mut r = Denied::new(
                    A2aError::new(
                        ErrorKind::RateLimited,
                        "rate limit (principal) exceeded; retry later",
                    ),
                    Reason::RateLimited("principal"),
                );
                r.headers = d.headers();
                Err(r)
            }
            // Could not tell: the limit itself decides after the decision.
            _ => Ok(()),
        }
    }
}

/// Fail closed: limits that cannot be decided (shared limits whose Redis
/// does not answer) refuse the call, with a hint when to try again.
pub(super) fn limits_unavailable(e: &warden_policy::ratelimit::RateLimitError) -> Denied {
    let mut r = Denied::new(
        A2aError::new(
            ErrorKind::Unavailable,
            "rate limits cannot be checked right now",
        ),
        Reason::RateLimitUnavailable(e.to_string()),
    );
    r.headers.push(("retry-after", "1".into()));
    r
}

/// Whom the rate limits and stream caps count a call against: the caller,
/// or for a caller without a credential its address (a new capability per
/// call must not buy a new bucket).
pub(crate) fn rate_subject<'a>(principal: &Principal, me: &'a str) -> Cow<'a, str> {
    if principal.method == AuthMethod::Public {
        Cow::Owned(format!("anonymous@{}", principal.source))
    } else {
        Cow::Borrowed(me)
    }
}
