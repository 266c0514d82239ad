//! Fixtures shared by the tests of several Warden crates, so that none is
//! copied from one crate's `tests/` into another's.
//!
//! Only ever a `[dev-dependencies]` entry (`publish = false`), and it depends
//! on no Warden crate: it stands outside what it tests. Fixtures that belong
//! to one crate's tests stay in that crate.
//!
//! - [`interop`]: the interpreters of the official SDK peers and the Python
//!   card-signing tool.
//! - [`http`]: a scripted HTTP/1.1 server that records what it is sent.
//! - [`pki`]: a throwaway CA and the certificates it signs.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod http;
pub mod interop;
pub mod pki;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes `text` to `path` atomically (a temporary file renamed over it), as
/// certificate tooling does.
pub fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// `v` pretty-printed with every object's members in reverse order: the same
/// JSON value (and the same canonical form), other bytes.
pub fn reformatted(v: &serde_json::Value) -> String {
    fn reverse(v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), reverse(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(reverse).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&reverse(v)).expect("pretty")
}
