//! `--seen-file`: the webhook ids a script has accepted, kept between runs
//! so that a replayed notification is refused by the next run too. A
//! [`ReplayCache`] backed by a file: one `UNTIL ID` line per id, forgotten
//! once `UNTIL` (the end of its freshness window) has passed. Runs that
//! share the file take an exclusive lock on it, so two cannot both accept
//! one id.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::PathBuf;

use warden_trust::{ReplayCache, ReplayError};

/// The most live ids the file holds; then it refuses (failing closed, as
/// the in-memory cache does) rather than forget one early.
const MAX_IDS: usize = 100_000;

#[derive(Debug)]
pub struct SeenFile {
    path: PathBuf,
}

impl SeenFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn update(&self, id: &str, expires_at: u64, now: u64) -> Result<(), ReplayError> {
        let unavailable = |_| ReplayError::Unavailable;
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&self.path).map_err(unavailable)?;
        file.lock().map_err(unavailable)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(unavailable)?;
        let mut live: Vec<(u64, &str)> = Vec::new();
        for line in text.lines() {
            let Some((until, seen)) = line.split_once(' ') else {
                return Err(ReplayError::Unavailable);
            };
            let until: u64 = until.parse().map_err(|_| ReplayError::Unavailable)?;
            if until < now {
                continue;
            }
            if seen == id {
                return Err(ReplayError::Replayed);
            }
            live.push((until, seen));
        }
        if live.len() >= MAX_IDS {
            return Err(ReplayError::Full);
        }
        let mut out = String::with_capacity(text.len() + id.len() + 24);
        for (until, seen) in live {
            out.push_str(&format!("{until} {seen}\n"));
        }
        out.push_str(&format!("{expires_at} {id}\n"));
        file.set_len(0).map_err(unavailable)?;
        file.rewind().map_err(unavailable)?;
        file.write_all(out.as_bytes()).map_err(unavailable)?;
        file.sync_all().map_err(unavailable)
    }
}

impl ReplayCache for SeenFile {
    fn check_and_insert(&self, id: &str, expires_at: u64, now: u64) -> Result<(), ReplayError> {
        // Ids are checked by the verifier to be [A-Za-z0-9_-] (with a
        // `webhook:` prefix): no spaces or newlines reach the file.
        if id.contains([' ', '\n', '\r']) {
            return Err(ReplayError::Unavailable);
        }
        self.update(id, expires_at, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_refused_until_they_expire_across_instances() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("seen");
        assert_eq!(
            SeenFile::new(path.clone()).check_and_insert("webhook:a", 100, 10),
            Ok(())
        );
        let again = SeenFile::new(path.clone());
        assert_eq!(
            again.check_and_insert("webhook:a", 100, 50),
            Err(ReplayError::Replayed)
        );
        assert_eq!(again.check_and_insert("webhook:b", 120, 50), Ok(()));
        // Past its window `a` is forgotten (and dropped from the file).
        assert_eq!(again.check_and_insert("webhook:a", 300, 101), Ok(()));
        let text = std::fs::read_to_string(&path).expect("file");
        assert_eq!(text, "120 webhook:b\n300 webhook:a\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_file_is_not_trusted() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("seen");
        std::fs::write(&path, "not a line\n").expect("write");
        assert_eq!(
            SeenFile::new(path).check_and_insert("webhook:a", 100, 10),
            Err(ReplayError::Unavailable)
        );
    }
}
