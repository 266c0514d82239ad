//! A call's pending single-use id (`[shared]`: [`Ctx::pending`]), from
//! authentication to the answer. Authentication checks a plain bearer
//! token, a client assertion or a DPoP proof and leaves its id for the
//! call's one round trip to Redis, which records it with the rate limits;
//! what is left here is every other way a call can end:
//!
//! - **Served without authorisation** (an agent card behind
//!   authentication): [`settle`] records it on its own first.
//! - **Refused before the shared step** (no grant, an unreadable body, a
//!   policy rule, …): the answer records it on its own ([`on_refusal`]),
//!   and a replay is answered as a replay, as if it had been recorded at
//!   authentication: a used token learns nothing about grants, tasks or
//!   rules, and the audit trail names the replay.
//! - **Refused for its rate (429) or because something could not answer
//!   (503)**: the id is left unused, so the caller may retry with the
//!   same token once the answer says it may. The shared step itself
//!   records the id only when every limit allowed.
//! - **Refused after the shared step**: already recorded.

use super::{Ctx, Refusal};
use crate::auth::{AuthError, replayed};
use crate::authz::{Denied, UseState};
use crate::shared::PendingUse;

/// Settle: records the pending single-use id on its own (one round trip),
/// for a call served without [`super::authorise`].
pub async fn settle(ctx: &mut Ctx<'_>) -> Result<(), Refusal> {
    match ctx.pending.take() {
        Some(pending) => ctx
            .state
            .auth
            .settle(&pending)
            .await
            .map_err(Refusal::unauthenticated),
        None => Ok(()),
    }
}

/// The refusal of an authorisation that took the pending id along:
/// answered as authentication when the id was a replay or could not be
/// recorded; put back to be recorded with the answer when the refusal came
/// before the shared step.
pub(super) fn refused(ctx: &mut Ctx<'_>, d: Denied, pending: Option<PendingUse>) -> Refusal {
    match (d.single_use, pending) {
        (UseState::Replayed, Some(p)) => Refusal::unauthenticated(replayed(&p)),
        (UseState::Unavailable, _) => Refusal::unauthenticated(AuthError::Unavailable),
        (UseState::Pending, pending) => {
            ctx.pending = pending;
            Refusal::denied(d)
        }
        _ => Refusal::denied(d),
    }
}

/// A refusal about to be answered while the id is still pending: recorded
/// now unless the refusal says "retry later" (429, 503); a replay or an id
/// Redis cannot record is answered as at authentication instead.
pub(super) async fn on_refusal(ctx: &Ctx<'_>, refusal: Refusal) -> Refusal {
    let Some(pending) = &ctx.pending else {
        return refusal;
    };
    if refusal.retry_later() {
        return refusal;
    }
    match ctx.state.auth.settle(pending).await {
        Ok(()) => refusal,
        Err(e) => Refusal::unauthenticated(e),
    }
}
