//! A test's own `redis-server`: a free loopback port, no persistence, so
//! a test may kill it and start it again without touching the machine's.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use super::WAIT;

pub struct Redis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Redis {
    pub async fn start() -> Redis {
        let dir = tempfile::tempdir().expect("tempdir");
        // A port that was free a moment ago; another process may take it
        // first, so a server that cannot bind is tried again elsewhere.
        for _ in 0..5 {
            let port = super::free_port();
            if let Some(child) = spawn_redis(port, dir.path()).await {
                return Redis {
                    port,
                    dir,
                    child: Some(child),
                };
            }
        }
        panic!("redis-server did not start on any of five free ports");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills it outright (SIGKILL: a crash); it is gone when this returns.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().await.expect("kill redis-server");
    }

    /// A new, empty server on the same port.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "kill it first");
        let child = spawn_redis(self.port, self.dir.path()).await;
        self.child = Some(child.expect("redis-server starts again on its port"));
    }
}

/// Starts `redis-server` on `port` and waits for its "Ready to accept
/// connections" log line, then for an answer to PING; `None` when it exits
/// first (the port was taken).
async fn spawn_redis(port: u16, dir: &std::path::Path) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--logfile", ""])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run redis-server (the redis-server package)");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Ready to accept connections") {
                return true;
            }
        }
        false
    })
    .await
    .expect("redis-server said whether it is ready in time");
    if !ready {
        let _ = child.wait().await;
        return None;
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to redis-server");
    sock.write_all(b"PING\r\n").await.expect("PING");
    let mut pong = [0; 7];
    sock.read_exact(&mut pong).await.expect("PONG");
    assert_eq!(&pong, b"+PONG\r\n");
    Some(child)
}
