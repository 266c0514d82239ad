//! `warden config check`: configured outbound URLs judged by the egress
//! rules the gateway will use, host names looked up (the `[egress] resolve`
//! table answers first, as at run time) unless `--offline`; and every TOML
//! example in the docs passes.

use std::path::Path;
use std::process::Output;

use crate::support::{repo_root, warden};

async fn check(dir: &Path, name: &str, text: &str, offline: bool) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    let mut c = warden();
    c.args(["config", "check"]).arg(&path);
    if offline {
        c.arg("--offline");
    }
    c.output().await.expect("run warden config check")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

const ISSUER: &str = "[[auth.issuers]]\nissuer = \"https://idp.example\"\naudiences = [\"x\"]\n\
                      algorithms = [\"ES256\"]\n";

fn remote(url: &str) -> String {
    format!(
        "[auth]\nmode = \"strict\"\n[[remote_agents]]\nname = \"r\"\nurl = \"{url}\"\ninsecure_unsigned_card = true\n"
    )
}

fn agent(url: &str) -> String {
    format!("[[agents]]\nname = \"a\"\nurl = \"{url}\"\n")
}

/// Names whose answers the gateway would refuse fail the check, naming the
/// key and the egress reason; `--offline` skips the lookups and says so.
#[tokio::test]
async fn config_check_looks_names_up_and_judges_the_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "jwks.toml",
            format!(
                "{ISSUER}jwks_url = \"https://idp.test/jwks\"\n[egress.resolve]\n\"idp.test\" = [\"127.0.0.1\"]\n"
            ),
            "auth.issuers[0].jwks_url",
        ),
        (
            "remote.toml",
            format!(
                "{}[egress.resolve]\n\"partner.test\" = [\"10.0.0.5\"]\n",
                remote("https://partner.test/agents/x")
            ),
            "remote_agents[0].url",
        ),
        (
            "agent.toml",
            format!(
                "{}[egress.resolve]\n\"agent.test\" = [\"169.254.169.254\"]\n",
                agent("http://agent.test:9000")
            ),
            "agents[0].url",
        ),
    ];
    for (name, config, key) in &cases {
        let out = check(dir.path(), name, config, false).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(key) && err.contains("[denied_address]"),
            "{name}: {err}"
        );
        let out = check(dir.path(), name, config, true).await;
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("names not resolved: --offline"),
            "{name}: {}",
            text(&out.stdout)
        );
    }

    // A configured agent may resolve to a private or loopback address: the
    // system resolver's `localhost`, and a table answer.
    let ok = format!(
        "{}[[agents]]\nname = \"b\"\nurl = \"http://agent.test:9000\"\n[egress.resolve]\n\"agent.test\" = [\"10.0.0.5\"]\n",
        agent("http://localhost:9000")
    );
    let out = check(dir.path(), "ok.toml", &ok, false).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("ok (2 agents; 2 names resolved)\n"),
        "{}",
        text(&out.stdout)
    );

    // A name that does not resolve is an error naming the key.
    let missing = format!(
        "{ISSUER}jwks_url = \"https://warden-config-check.invalid/jwks\"\n[egress]\nconnect_timeout_ms = 3000\n"
    );
    let out = check(dir.path(), "missing.toml", &missing, false).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("auth.issuers[0].jwks_url") && err.contains("[dns]"),
        "{err}"
    );
    let out = check(dir.path(), "missing.toml", &missing, true).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// What the runtime would refuse for a configured upstream, the check
/// refuses too, lookups or not: metadata in any spelling, addresses nothing
/// legitimate listens on, and a base URL a joined path would be lost in.
#[tokio::test]
async fn config_check_refuses_hostile_agent_urls_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (url, reason) in [
        ("http://[::ffff:169.254.169.254]:9000/", "denied_address"),
        ("http://0xa9fea9fe/", "denied_address"),
        ("http://metadata.google.internal/", "bad_host"),
        ("http://0.0.0.0:9000/", "denied_address"),
        ("http://224.0.0.1:9000/", "denied_address"),
        ("http://%31%32%37.0.0.1:9000/", "bad_host"),
        ("http://127.0.0.1:9000#@example.com/", "bad_url"),
    ] {
        let out = check(dir.path(), "hostile.toml", &agent(url), true).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        assert!(
            err.contains("agents[0].url") && err.contains(&format!("[{reason}]")),
            "{url}: {err}"
        );
    }
}

/// The old spellings of the insecure opt-ins still pass the check (exit 0),
/// each named on stderr as a `warning:` with its new spelling; an old and
/// a new spelling together fail, naming both.
#[tokio::test]
async fn config_check_warns_about_old_spellings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = "[auth]\nmode = \"off-insecure\"\n[egress]\nallow_insecure_local = true\n\
               [[agents]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\nallow_unsigned_card = true\n";
    let out = check(dir.path(), "old.toml", old, true).await;
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        text(&out.stdout).contains("ok (1 agents"),
        "{}",
        text(&out.stdout)
    );
    for new in [
        "mode = \"insecure-off\"",
        "insecure_local_egress = true",
        "insecure_unsigned_card = true",
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with("warning: ") && l.contains("deprecated") && l.contains(new)),
            "{new}: {err}"
        );
    }
    let remote = format!(
        "{}allow_unsigned = true\n",
        remote_pinned("https://r.example.com")
    );
    let out = check(dir.path(), "remote.toml", &remote, true).await;
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: ") && err.contains("remote_agents[0].allow_unsigned"),
        "{err}"
    );
    let both = format!(
        "{}allow_unsigned = true\ninsecure_unsigned_card = true\n",
        remote_pinned("https://r.example.com")
    );
    let out = check(dir.path(), "both.toml", &both, true).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("allow_unsigned") && err.contains("insecure_unsigned_card"),
        "{err}"
    );
}

/// A `[[remote_agents]]` entry without the unsigned-card opt-in.
fn remote_pinned(url: &str) -> String {
    format!("[auth]\nmode = \"strict\"\n[[remote_agents]]\nname = \"r\"\nurl = \"{url}\"\n")
}

/// Every `toml` example in docs/*.md passes `config check --offline`, or
/// fails only because a file it names (a key, a certificate, a policy) is
/// not on this machine. The policy-file example is not a warden.toml.
#[tokio::test]
async fn every_toml_example_in_the_docs_passes_config_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = repo_root().join("docs");
    let mut pages: Vec<_> = std::fs::read_dir(&docs)
        .expect("docs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.push(repo_root().join("README.md"));
    pages.sort();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for page in pages {
        let doc = std::fs::read_to_string(&page).expect("read page");
        for (n, block) in doc.split("```toml\n").skip(1).enumerate() {
            let snippet = block.split("```").next().unwrap_or_default();
            if snippet.contains("[[rule]]") {
                continue;
            }
            checked += 1;
            let name = format!("snippet{checked}.toml");
            let out = check(dir.path(), &name, snippet, true).await;
            let err = text(&out.stderr);
            let names_missing_file = snippet
                .split('"')
                .filter(|s| s.starts_with('/') || s.ends_with(".json") || s.ends_with(".jwks"))
                .any(|f| err.contains(f));
            if !out.status.success() && !names_missing_file {
                wrong.push(format!("{} block {}: {err}", page.display(), n + 1));
            }
            if err.contains("deprecated spelling") {
                wrong.push(format!("{} block {}: {err}", page.display(), n + 1));
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The deployment examples of `deploy/` (docs/deployment.md) pass
/// `config check --offline` as written, with the variables they name set.
#[tokio::test]
async fn every_deployment_example_passes_config_check() {
    let mut files = Vec::new();
    for sub in ["deploy/systemd", "deploy/compose"] {
        for entry in std::fs::read_dir(repo_root().join(sub)).expect("deploy dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|x| x == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert_eq!(
        files.len(),
        4,
        "gateway-1..3.toml and compose/warden.toml: {files:?}"
    );
    for file in files {
        let out = warden()
            .args(["config", "check", "--offline"])
            .arg(&file)
            .env(
                "WARDEN_STORE_URL",
                "postgres://warden@db.internal:5432/warden",
            )
            .env("WARDEN_REDIS_URL", "redis://redis.internal:6379/0")
            .output()
            .await
            .expect("run warden config check");
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            text(&out.stderr)
        );
    }
}

/// A reader that closes the pipe (`warden config check … | head -0`) ends
/// the command quietly, as SIGPIPE ends a Unix tool: status 141, and no
/// panic report on stderr.
#[tokio::test]
async fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ok.toml");
    std::fs::write(&path, agent("http://127.0.0.1:9000/")).expect("write");
    let (reader, writer) = std::io::pipe().expect("pipe");
    // Closed before the command starts: its first write fails with EPIPE.
    drop(reader);
    // Not `output()`: tokio's captures stdout in a pipe of its own.
    let out = warden()
        .args(["config", "check", "--offline"])
        .arg(&path)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run warden config check")
        .wait_with_output()
        .await
        .expect("wait for warden config check");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
