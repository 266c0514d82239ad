//! Single-use ids across replicas: `SET key 1 NX EXAT expiry`, one round
//! trip, atomic on the server.

use super::{SharedError, SharedState, unavailable};

impl SharedState {
    /// Records `id` as used until `expires_at` (Unix seconds). `Ok(true)`
    /// the first time anywhere; `Ok(false)` when any replica recorded it
    /// before and it has not expired. `id` should be bounded (a digest):
    /// it becomes part of a Redis key.
    pub async fn claim_once(&self, id: &str, expires_at: u64) -> Result<bool, SharedError> {
        let mut conn = self.conn().await?;
        // An expiry already past would make Redis refuse the command; such
        // an id is kept for a second (the local cache refuses it anyway).
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let at = expires_at.max(now + 1);
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key("replay", id))
            .arg(1)
            .arg("NX")
            .arg("EXAT")
            .arg(at)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        match set.as_deref() {
            Some("OK") => Ok(true),
            None => Ok(false),
            Some(other) => Err(SharedError::Protocol(format!("SET NX answered {other:?}"))),
        }
    }

    /// Undoes [`SharedState::claim_once`] for `id`: the next claim of it
    /// succeeds again (a webhook receiver whose agent did not take a
    /// notification, so that the sender's retry is not a replay).
    pub async fn release_once(&self, id: &str) -> Result<(), SharedError> {
        let mut conn = self.conn().await?;
        let _: i64 = redis::cmd("DEL")
            .arg(self.key("replay", id))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// KEYS[1] the claim; ARGV[1] the claimant, ARGV[2] how long the claim
/// holds (ms). Returns whoever holds it after this call.
const CLAIM: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return ARGV[1]
end
return redis.call('GET', KEYS[1])
"#;

static CLAIM_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(CLAIM));

impl SharedState {
    /// Claims `name` for `who` for `hold` (first come, first served, on
    /// every replica at once): returns the holder, `who` when the claim
    /// was free. One round trip, atomic on the server.
    pub async fn claim_name(
        &self,
        name: &str,
        who: &str,
        hold: std::time::Duration,
    ) -> Result<String, SharedError> {
        let mut conn = self.conn().await?;
        let ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX).max(1);
        let holder: Option<String> = CLAIM_SCRIPT
            .key(self.key("claim", name))
            .arg(who)
            .arg(ms)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        // The key expiring between SET and GET leaves no holder: try again
        // once, which then sets it.
        match holder {
            Some(h) => Ok(h),
            None => Box::pin(self.claim_name(name, who, hold)).await,
        }
    }
}
