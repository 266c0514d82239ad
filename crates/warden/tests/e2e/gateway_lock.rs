//! One gateway per SQLite file unless every gateway on it has `[shared]`:
//! a second one refuses to start with a reason, and the file is free again
//! once the first is gone (see docs/scale-out.md).

use std::process::Stdio;

use crate::support::{WAIT, up, up_in, warden};

/// Runs `warden` to its exit and returns (success, stderr).
async fn run_to_exit(args: &[&str]) -> (bool, String) {
    let child = warden()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn warden");
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("warden exits by itself")
        .expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn a_second_gateway_on_one_store_file_refuses_to_start_until_the_first_stops() {
    let first = up(&[]).await;
    let dir = first.dir.path().display().to_string();
    let listen = ["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"];

    // `warden up` on the same data directory.
    let mut args = vec!["up", "--data-dir", dir.as_str()];
    args.extend(listen);
    let (ok, stderr) = run_to_exit(&args).await;
    assert!(!ok, "a second gateway on one store must not start");
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(stderr.contains("[shared]"), "says what to do: {stderr}");

    // `warden gateway` on the same file, without [shared].
    let config = first.dir.path().join("second.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:0\"\ndata_dir = {dir:?}\n[admin]\nlisten = \"127.0.0.1:0\"\n"
        ),
    )
    .expect("write config");
    let config = config.display().to_string();
    let (ok, stderr) = run_to_exit(&["gateway", "--config", &config]).await;
    assert!(!ok, "a second gateway on one store must not start");
    assert!(stderr.contains("already running"), "{stderr}");

    // The first one stops: the same data directory starts again.
    let dir = first.stop().await;
    let again = up_in(dir, &[]).await;
    assert!(again.gateway.starts_with("http://"), "{}", again.gateway);
}
