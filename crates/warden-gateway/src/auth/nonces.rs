//! Server nonces for DPoP proofs (RFC 9449 §8).

/// Server nonces for DPoP (RFC 9449 §8): a random value replaced every few
/// minutes; the previous one stays valid for one more period.
pub(super) struct Nonces {
    enabled: bool,
    period: u64,
    state: std::sync::Mutex<(u64, String, Option<String>)>,
}

impl Nonces {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            period: 300,
            state: std::sync::Mutex::new((0, String::new(), None)),
        }
    }

    /// The nonces accepted now, current first; `[None]` when nonces are off.
    pub(super) fn accepted(&self, now: u64) -> Vec<Option<String>> {
        if !self.enabled {
            return vec![None];
        }
        let Ok(mut s) = self.state.lock() else {
            return vec![None];
        };
        if s.1.is_empty() || now >= s.0.saturating_add(self.period) {
            let old = std::mem::replace(&mut s.1, random_nonce());
            s.2 = (!old.is_empty()).then_some(old);
            s.0 = now;
        }
        let mut out = vec![Some(s.1.clone())];
        out.extend(s.2.clone().map(Some));
        out
    }
}

fn random_nonce() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 16];
    // An RNG failure would leave a fixed nonce: weaker freshness, no bypass.
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut b);
    warden_trust::b64url_encode(&b)
}
