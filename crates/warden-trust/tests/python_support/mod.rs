//! The official Python SDK's interpreter for interop tests in this crate
//! (the same contract as the e2e `python()`): `WARDEN_PYTHON`, or the venv
//! that `tests/interop/python/setup.sh` builds.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The interop venv's interpreter.
pub fn python() -> String {
    if let Ok(p) = std::env::var("WARDEN_PYTHON")
        && !p.is_empty()
    {
        return p;
    }
    let out = Command::new(repo_root().join("tests/interop/python/setup.sh"))
        .stdin(Stdio::null())
        .output()
        .expect("run the Python interop setup");
    assert!(
        out.status.success(),
        "python setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("setup prints the interpreter path")
        .trim()
        .to_string()
}
