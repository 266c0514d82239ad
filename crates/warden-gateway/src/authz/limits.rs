//! The rate limits of a call, as the authoriser checks them: the early
//! refusal of a spent caller, the call's limits in one go (with `[shared]`,
//! together with its single-use id and the per-address limit, in one round
//! trip), and whom they count against.

use std::borrow::Cow;
use std::net::IpAddr;

use warden_a2a::{A2aError, ErrorKind};
use warden_policy::ratelimit::{Quota, RateDecision};

use super::{Authorizer, Denied, Reason, UseState};
use crate::principal::{AuthMethod, Principal};
use crate::shared::{CallStep, PendingUse};

impl Authorizer {
    /// The limits of one decided call, in one go: every decision, or the
    /// refusal of the first limit that bites (`names[i]` names `checks[i]`
    /// in the answer). With `[shared]` this is the call's one round trip:
    /// its `pending` single-use id first (a replay takes no cell), then the
    /// per-address limit of `source` (screened by this gateway's own bucket
    /// at accept), then `checks`; the id is recorded only when every limit
    /// allowed, so a call refused for its rate leaves its token unused.
    pub(super) async fn limit_call(
        &self,
        source: IpAddr,
        pending: Option<&PendingUse>,
        checks: Vec<(String, Quota)>,
        names: Vec<&'static str>,
    ) -> Result<Vec<RateDecision>, Denied> {
        let Some(shared) = &self.shared else {
            return self.limit_all(&checks, &names).await;
        };
        let (mut all, mut all_names) = (Vec::with_capacity(checks.len() + 1), Vec::new());
        if let Some(q) = self.quotas.source {
            all.push((format!("source:{source}"), q));
            all_names.push("source");
        }
        let screened = all.len();
        all.extend(checks);
        all_names.extend(names);
        let step = shared.step_call(pending, &all, screened, self.now()).await;
        let mut decisions = match step {
            Ok(CallStep::Decided(d)) => d,
            Ok(CallStep::Replayed) => return Err(use_refused(UseState::Replayed)),
            Ok(CallStep::ClaimUnavailable) => return Err(use_refused(UseState::Unavailable)),
            Err(e) => return Err(limits_unavailable(&e).after_step()),
        };
        if let Some(i) = decisions.iter().position(|d| !d.is_allowed()) {
            let what = all_names.get(i).copied().unwrap_or("limit");
            return Err(limited(&decisions[i], what).after_step());
        }
        // The per-address limit stays out of the answer's headers, as when
        // it was only checked at accept.
        if screened > 0 && !decisions.is_empty() {
            decisions.remove(0);
        }
        Ok(decisions)
    }

    /// The limits of one decided call on the gateway's own limiter (no
    /// single-use id here: see [`Authorizer::folds_single_use`]).
    async fn limit_all(
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
            return Err(limited(&decisions[i], what));
        }
        Ok(decisions)
    }

    /// A caller whose own bucket is already empty is refused here, before
    /// its body is read or parsed: a flood then costs little more than its
    /// authentication. Nothing is taken from the bucket (the cell is taken
    /// once the call is decided, as before), so this refuses only calls the
    /// limit would refuse later anyway. With `[shared]` it makes no round
    /// trip: it knows the refusals this gateway last saw.
    pub(super) async fn refuse_if_spent(&self, me: &str) -> Result<(), Denied> {
        let Some(q) = self.quotas.principal else {
            return Ok(());
        };
        let key = format!("principal:{me}");
        match self.limiter.peek(&key, q, self.now()).await {
            Ok(d) if !d.is_allowed() => Err(limited(&d, "principal")),
            // Could not tell: the limit itself decides after the decision.
            _ => Ok(()),
        }
    }
}

/// The refusal of limit `what` (`d` is its refused decision).
pub(super) fn limited(d: &RateDecision, what: &'static str) -> Denied {
    let mut r = Denied::new(
        A2aError::new(
            ErrorKind::RateLimited,
            format!("rate limit ({what}) exceeded; retry later"),
        ),
        Reason::RateLimited(what),
    );
    r.headers = d.headers();
    r
}

/// A call refused for its single-use id (the stages answer it as
/// authentication: see [`UseState`]).
fn use_refused(state: UseState) -> Denied {
    let mut d = Denied::new(
        A2aError::new(ErrorKind::Unauthenticated, "single-use credential refused"),
        Reason::Unavailable("shared"),
    );
    d.single_use = state;
    d
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
