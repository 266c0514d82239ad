//! The admin token: the bearer secret that opens the admin API.
//!
//! Taken from `WARDEN_ADMIN_TOKEN` when set, otherwise read from
//! `{data_dir}/admin-token`, which is created on first start (mode 0600)
//! holding 32 random bytes, base64url. Only its SHA-256 is kept in memory;
//! a presented token is hashed and the digests compared in constant time, so
//! neither its content nor its length shows in the timing.

use std::path::{Path, PathBuf};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// The environment variable that, when set, holds the admin token.
pub const ADMIN_TOKEN_ENV: &str = "WARDEN_ADMIN_TOKEN";
/// The token file's name in the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";
/// The shortest token accepted (a generated one has 43 characters).
pub const MIN_TOKEN_CHARS: usize = 32;
/// The longest token accepted.
pub const MAX_TOKEN_CHARS: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    #[error("{0}")]
    Invalid(String),
    #[error("admin token file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the system random generator failed")]
    Random,
}

/// Where the admin token came from (printed at start; never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `WARDEN_ADMIN_TOKEN`.
    Env,
    /// A file that already existed.
    File(PathBuf),
    /// A file generated at this start.
    Generated(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env => write!(f, "from ${ADMIN_TOKEN_ENV}"),
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Generated(p) => write!(f, "{} (generated)", p.display()),
        }
    }
}

/// The admin token, as its SHA-256 digest.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(…)")
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

impl AdminToken {
    /// A token from its text: printable ASCII without spaces (it travels in
    /// an HTTP header), [`MIN_TOKEN_CHARS`] to [`MAX_TOKEN_CHARS`] long.
    pub fn from_secret(secret: &str) -> Result<Self, AdminTokenError> {
        let s = secret.trim();
        if s.len() < MIN_TOKEN_CHARS || s.len() > MAX_TOKEN_CHARS {
            return Err(AdminTokenError::Invalid(format!(
                "the admin token must be {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} characters"
            )));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AdminTokenError::Invalid(
                "the admin token must be printable ASCII without spaces".into(),
            ));
        }
        Ok(Self {
            digest: sha256(s.as_bytes()),
        })
    }

    /// Whether `presented` is the token, in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        verify_slices_are_equal(&sha256(presented.as_bytes()), &self.digest).is_ok()
    }

    /// 32 random bytes, base64url.
    pub fn generate_secret() -> Result<String, AdminTokenError> {
        let mut b = [0u8; 32];
        SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| AdminTokenError::Random)?;
        Ok(warden_trust::b64url_encode(&b))
    }

    /// The instance's admin token: `WARDEN_ADMIN_TOKEN` when set (and not
    /// empty), else `{data_dir}/admin-token`, created (mode 0600) with a
    /// fresh token when missing.
    pub fn load_or_create(data_dir: &Path) -> Result<(Self, TokenSource), AdminTokenError> {
        let env = std::env::var(ADMIN_TOKEN_ENV).ok();
        Self::load_with(env.as_deref(), data_dir)
    }

    /// [`Self::load_or_create`] with the environment value given.
    pub fn load_with(
        env: Option<&str>,
        data_dir: &Path,
    ) -> Result<(Self, TokenSource), AdminTokenError> {
        if let Some(v) = env.filter(|v| !v.trim().is_empty()) {
            let t = Self::from_secret(v)
                .map_err(|e| AdminTokenError::Invalid(format!("{ADMIN_TOKEN_ENV}: {e}")))?;
            return Ok((t, TokenSource::Env));
        }
        let path = data_dir.join(ADMIN_TOKEN_FILE);
        let io = |source| AdminTokenError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                warn_if_shared(&path);
                let t = Self::from_secret(&text)
                    .map_err(|e| AdminTokenError::Invalid(format!("{}: {e}", path.display())))?;
                Ok((t, TokenSource::File(path)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = Self::generate_secret()?;
                match write_private(&path, &secret) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "generated the admin token");
                        Ok((Self::from_secret(&secret)?, TokenSource::Generated(path)))
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_with(None, data_dir)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(format!("{text}\n").as_bytes())?;
    f.sync_all()
}

/// A token file others can read is worth a warning (not a refusal: the
/// operator may share it with a group on purpose).
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path)
            && m.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "the admin token file is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_on_first_start_private_and_stable() {
        let dir = tempfile::tempdir().expect("dir");
        let (t, src) = AdminToken::load_with(None, dir.path()).expect("generate");
        let path = dir.path().join(ADMIN_TOKEN_FILE);
        assert_eq!(src, TokenSource::Generated(path.clone()));
        let text = std::fs::read_to_string(&path).expect("file");
        let secret = text.trim();
        assert_eq!(secret.len(), 43, "32 bytes, base64url");
        assert_eq!(
            warden_trust::b64url_decode(secret).map(|b| b.len()),
            Some(32)
        );
        assert!(t.verify(secret));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The next start reads the same token.
        let (again, src) = AdminToken::load_with(None, dir.path()).expect("load");
        assert_eq!(src, TokenSource::File(path));
        assert!(again.verify(secret));
        assert!(!again.verify(&secret[1..]));
        assert!(!again.verify(""));
        assert!(!again.verify(&format!("{secret}x")));
    }

    #[test]
    fn the_environment_wins_and_weak_tokens_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let strong = "s".repeat(40);
        let (t, src) = AdminToken::load_with(Some(&strong), dir.path()).expect("env");
        assert_eq!(src, TokenSource::Env);
        assert!(t.verify(&strong));
        assert!(
            !dir.path().join(ADMIN_TOKEN_FILE).exists(),
            "no file written when the environment holds the token"
        );
        for weak in [
            "short",
            "has a space in it but is long enough ok",
            "é".repeat(40).as_str(),
        ] {
            assert!(
                AdminToken::load_with(Some(weak), dir.path()).is_err(),
                "{weak}"
            );
        }
        // An empty variable counts as unset.
        let (_, src) = AdminToken::load_with(Some(" "), dir.path()).expect("file");
        assert!(matches!(src, TokenSource::Generated(_)));
        // A file with a weak token is refused, naming the file.
        let other = tempfile::tempdir().expect("dir");
        std::fs::write(other.path().join(ADMIN_TOKEN_FILE), "weak\n").expect("write");
        let e = AdminToken::load_with(None, other.path()).expect_err("weak file");
        assert!(e.to_string().contains(ADMIN_TOKEN_FILE), "{e}");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = AdminToken::from_secret(&"a".repeat(40)).expect("token");
        assert_eq!(format!("{t:?}"), "AdminToken(…)");
    }
}
