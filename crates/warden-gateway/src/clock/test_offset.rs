//! A shift of [`SystemClock`](super::SystemClock)'s Unix time for the
//! end-to-end tests, which run Warden as a separate process and so cannot
//! hand it a clock: `WARDEN_TEST_CLOCK_FILE=/path` names a file holding a
//! number of seconds to add, and a test moves time forward by writing a
//! larger number into it (a missing or unreadable file counts as 0).
//!
//! Compiled only with `debug_assertions`: a release build has no such
//! variable and always adds 0, so production cannot turn it on, by accident
//! or otherwise. A debug build that reads the variable says so in its log.
//!
//! The Unix seconds move (token `iat`/`exp`/`nbf`, replay windows, JWKS
//! refresh windows, grant windows, key rotation), and so does
//! [`Clock::now_instant`](super::Clock::now_instant), by the same number of
//! seconds (the authoriser's rate-limit refill). Timers (`tokio::time`,
//! stream idle limits), `Instant::now()` read directly, and the audit
//! log's timestamps do not.

#[cfg(debug_assertions)]
pub(super) fn secs() -> u64 {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("WARDEN_TEST_CLOCK_FILE").filter(|p| !p.is_empty())?;
        tracing::warn!(
            file = %PathBuf::from(&path).display(),
            "WARDEN_TEST_CLOCK_FILE is set: this debug build shifts its clock for tests"
        );
        Some(PathBuf::from(path))
    });
    file.as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(not(debug_assertions))]
pub(super) fn secs() -> u64 {
    0
}
