//! Single-use ids (plain bearer tokens, client assertions, DPoP proofs):
//! recorded in this gateway's replay cache or, with `[shared]`, on Redis
//! for every replica, so a second use anywhere is refused.
//!
//! With `[shared]`, Redis alone decides a token or assertion id: recording
//! it locally first would use up, at this replica only, a token refused
//! because Redis could not answer (a retry there would be "already used",
//! at another replica accepted). DPoP proofs are checked locally by the
//! proof check itself, then on Redis; a client makes a new proof per call.

use warden_trust::{DpopError, ReplayError};

use super::{AuthError, Authenticator};
use crate::shared::PendingUse;

impl Authenticator {
    /// Records a single-use id (a token's or an assertion's `jti`) in this
    /// gateway's replay cache or, with `[shared]`, on every replica: a
    /// second use anywhere is [`AuthError::Replayed`]; an id that cannot be
    /// recorded is refused ([`AuthError::Unavailable`]), never let through.
    pub async fn claim_once(&self, id: &str, until: u64, now: u64) -> Result<(), AuthError> {
        if self.shared.is_some() {
            return self.claim_shared(id, until).await;
        }
        match self.replay.check_and_insert(id, until, now) {
            Ok(()) => {}
            Err(ReplayError::Replayed) => return Err(AuthError::Replayed),
            Err(ReplayError::Full | ReplayError::Unavailable) => {
                return Err(AuthError::Unavailable);
            }
        }
        Ok(())
    }

    /// [`Self::claim_once`], leaving the id pending with `[shared]` (see
    /// the module docs); without it the id is recorded here and now.
    pub(super) fn use_once(
        &self,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<Option<PendingUse>, AuthError> {
        if self.shared.is_some() {
            return Ok(Some(PendingUse::new(id, until, false)));
        }
        match self.replay.check_and_insert(id, until, now) {
            Ok(()) => Ok(None),
            Err(ReplayError::Replayed) => Err(AuthError::Replayed),
            Err(ReplayError::Full | ReplayError::Unavailable) => Err(AuthError::Unavailable),
        }
    }

    /// Records a pending single-use id on its own (one round trip): the
    /// error a replay or an unanswered Redis gets, as at authentication.
    pub async fn settle(&self, pending: &PendingUse) -> Result<(), AuthError> {
        use crate::shared::Claim;
        let Some(shared) = &self.shared else {
            return Err(AuthError::Unavailable);
        };
        match shared.claim_pending(pending).await {
            Claim::First => Ok(()),
            Claim::Replayed => Err(replayed(pending)),
            Claim::Unavailable => Err(AuthError::Unavailable),
        }
    }

    /// The shared half of [`Self::claim_once`] (DPoP proofs are recorded
    /// locally by the proof check itself).
    pub(super) async fn claim_shared(&self, id: &str, until: u64) -> Result<(), AuthError> {
        use crate::shared::Claim;
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        match shared.claim(id, until).await {
            Claim::First => Ok(()),
            Claim::Replayed => Err(AuthError::Replayed),
            Claim::Unavailable => Err(AuthError::Unavailable),
        }
    }

    /// Uses shared single-use ids (`[shared]`) besides the local cache.
    pub fn with_shared(mut self, shared: Option<crate::shared::SharedReplay>) -> Self {
        self.shared = shared;
        self
    }
}

/// How a replay of `pending` is refused: as a replayed token (or
/// assertion), or as a replayed DPoP proof.
pub fn replayed(pending: &PendingUse) -> AuthError {
    if pending.proof {
        AuthError::Dpop(DpopError::Replayed)
    } else {
        AuthError::Replayed
    }
}
