//! The official SDK peers: the Python interop virtualenv's interpreter, the
//! JavaScript interop folder, and the Python card-signing tool.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::repo_root;

/// The interop virtualenv's interpreter: `$WARDEN_PYTHON`, or the one
/// `tests/interop/python/setup.sh` builds (on first use) and prints.
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

/// The JavaScript interop folder, with `node_modules` installed.
pub fn js_dir() -> PathBuf {
    let dir = repo_root().join("tests/interop/js");
    let out = Command::new(dir.join("setup.sh"))
        .stdin(Stdio::null())
        .output()
        .expect("run the JS interop setup");
    assert!(
        out.status.success(),
        "js setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Runs `tests/interop/python/card_signing.py COMMAND` (the official Python
/// SDK's card signing) with `input` on stdin; returns its JSON output and
/// exit code (0 or 1; anything else fails the test).
pub fn card_signing(command: &str, input: &Value) -> (Value, i32) {
    let mut child = Command::new(python())
        .arg(repo_root().join("tests/interop/python/card_signing.py"))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start card_signing.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("card_signing.py output");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "card_signing.py {command} failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "card_signing.py {command} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (value, code)
}
