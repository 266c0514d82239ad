//! A test's own PostgreSQL cluster (`initdb` and `pg_ctl` on `PATH`): a
//! temporary directory, a free loopback port, trust authentication, its
//! Unix socket in that directory. A test stops it and starts it again
//! without touching the machine's server on 5432.
//!
//! PostgreSQL refuses to run as root: when the test runs as root, the
//! cluster runs as the `postgres` user (else `nobody`) through `setpriv`,
//! and its directory is handed to that user.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct PgCluster {
    dir: tempfile::TempDir,
    port: u16,
    /// Who the server runs as, when not as the test's own user.
    run_as: Option<(u32, u32)>,
    running: bool,
}

impl PgCluster {
    /// A new cluster, started (`initdb` takes a second or two).
    pub async fn start() -> PgCluster {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .expect("start the test's PostgreSQL")
    }

    fn start_blocking() -> PgCluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let run_as = run_as();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("hand the cluster's directory to its user");
        }
        let mut cluster = PgCluster {
            dir,
            port: 0,
            run_as,
            running: false,
        };
        let data = cluster.data();
        let out = cluster.run(
            "initdb",
            &[
                "-D",
                path(&data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        );
        assert!(out.status.success(), "initdb: {}", text(&out));
        // A port that was free a moment ago; another process may take it
        // first, so a server that cannot bind is tried elsewhere.
        for _ in 0..5 {
            cluster.port = super::free_port();
            if cluster.pg_ctl_start().status.success() {
                cluster.running = true;
                return cluster;
            }
        }
        panic!(
            "the test's PostgreSQL did not start on five free ports: {}",
            std::fs::read_to_string(cluster.log()).unwrap_or_default()
        );
    }

    /// The URL of its `postgres` database, over TCP.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it (a fast shutdown: sessions are ended, as when a server is
    /// stopped for maintenance); it is down when this returns.
    pub async fn stop(&mut self) {
        assert!(self.running, "running");
        let out = tokio::task::block_in_place(|| self.pg_ctl(&["-m", "fast", "-w", "stop"]));
        assert!(out.status.success(), "pg_ctl stop: {}", text(&out));
        self.running = false;
    }

    /// Starts it again on the same port, with the same data.
    pub async fn start_again(&mut self) {
        assert!(!self.running, "stopped");
        let out = tokio::task::block_in_place(|| self.pg_ctl_start());
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            text(&out),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
        self.running = true;
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    fn pg_ctl_start(&self) -> Output {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.log();
        self.pg_ctl(&["-l", path(&log), "-o", &options, "-w", "-t", "60", "start"])
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let data = self.data();
        let mut all = vec!["-D", path(&data)];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    /// Runs `program` as the cluster's user; its output.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {program} (PostgreSQL's server binaries): {e}"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        }
    }
}

/// The user to run the server as when the test runs as root.
fn run_as() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").map_or(1, |m| m.uid());
    if me != 0 {
        return None;
    }
    let id = |flag: &str, user: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, user]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    for user in ["postgres", "nobody"] {
        if let (Some(uid), Some(gid)) = (id("-u", user), id("-g", user)) {
            return Some((uid, gid));
        }
    }
    panic!("running as root, and neither postgres nor nobody exists to run PostgreSQL as");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
