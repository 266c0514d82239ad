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
}
