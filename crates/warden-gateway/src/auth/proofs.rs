//! DPoP proofs (RFC 9449) at the gateway and the token endpoint.

use warden_trust::{DpopError, DpopRequest, verify_proof};

use super::{AuthError, Authenticator};
use crate::shared::PendingUse;

impl Authenticator {
    /// Verifies a DPoP proof (also for the token endpoint), against the
    /// current or previous server nonce when nonces are on, and claims its
    /// `jti` on every replica.
    pub async fn check_proof(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        now: u64,
    ) -> Result<warden_trust::dpop::VerifiedProof, AuthError> {
        let (verified, pending) =
            self.check_proof_deferring(proof, method, url, access_token, now)?;
        if let Some(pending) = pending {
            self.settle(&pending).await?;
        }
        Ok(verified)
    }

    /// [`Self::check_proof`], leaving the proof's `jti` pending on the
    /// shared state (`[shared]`) for the call's one round trip; the local
    /// replay cache has recorded it either way.
    pub(super) fn check_proof_deferring(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        now: u64,
    ) -> Result<(warden_trust::dpop::VerifiedProof, Option<PendingUse>), AuthError> {
        let mut last = DpopError::UseNonce;
        for nonce in self.nonces.accepted(now) {
            let request = DpopRequest {
                method,
                url,
                access_token,
                nonce: nonce.as_deref(),
            };
            match verify_proof(
                proof,
                &request,
                &self.dpop_policy,
                self.replay.as_ref(),
                now,
            ) {
                Ok(v) => {
                    let pending = self.shared.is_some().then(|| {
                        let id = format!("dpop\n{}\n{}", v.jkt, v.jti);
                        let until = v.iat.saturating_add(self.dpop_policy.iat_window_secs);
                        PendingUse::new(&id, until, true)
                    });
                    return Ok((v, pending));
                }
                Err(e) if e.is_use_nonce() => last = e,
                Err(e) if e.is_unavailable() => return Err(AuthError::Unavailable),
                Err(e) => return Err(AuthError::Dpop(e)),
            }
        }
        Err(AuthError::Dpop(last))
    }

    /// The nonce to hand out in `DPoP-Nonce`, when nonces are on.
    pub fn dpop_nonce(&self, now: u64) -> Option<String> {
        self.nonces.accepted(now).into_iter().next().flatten()
    }
}
