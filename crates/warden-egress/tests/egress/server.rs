//! A scripted HTTP/1.1 server: records each request head and answers with
//! whatever the test's script says, optionally dripping the body slowly.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub head: String,
}

#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send the body one byte per interval.
    pub drip: Option<Duration>,
    /// Send no Content-Length (close-delimited body).
    pub no_length: bool,
}

impl Reply {
    pub fn ok(body: &str) -> Self {
        Self {
            status: 200,
            headers: vec![],
            body: body.as_bytes().to_vec(),
            drip: None,
            no_length: false,
        }
    }

    pub fn redirect(status: u16, location: &str) -> Self {
        Self {
            status,
            headers: vec![("Location".into(), location.into())],
            body: vec![],
            drip: None,
            no_length: false,
        }
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn hits(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Serves on `ip` (port chosen by the system, or `port`).
pub async fn serve(
    ip: &str,
    port: u16,
    script: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> Server {
    let ip: IpAddr = ip.parse().expect("ip");
    let listener = TcpListener::bind((ip, port)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let script = script.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split(' ').nth(1).unwrap_or_default().to_string();
                let req = Seen { path, head };
                log.lock().expect("lock").push(req.clone());
                let r = script(&req);
                let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", r.status);
                for (k, v) in &r.headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                if !r.no_length {
                    out.push_str(&format!("Content-Length: {}\r\n", r.body.len()));
                }
                out.push_str("\r\n");
                if sock.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
                match r.drip {
                    None => {
                        let _ = sock.write_all(&r.body).await;
                    }
                    Some(every) => {
                        for b in &r.body {
                            if sock.write_all(&[*b]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(every).await;
                        }
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    Server { addr, seen }
}
