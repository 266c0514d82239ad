//! A real webhook receiver for the worker's tests: an HTTP server on
//! loopback that records every request (its `webhook-id`, host, task and
//! number from the body, and the test clock's time at arrival), and answers
//! as the test says — 200, a status with an optional `Retry-After`, or not
//! at all until released.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::watch;

use super::ManualClock;
use crate::clock::Clock;

/// How the receiver answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Ok,
    Status(u16, Option<u64>),
    /// Hold the request until [`Receiver::release`].
    Hold,
}

/// One request as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub id: String,
    pub host: String,
    pub task: String,
    pub n: u64,
    pub at_ms: u64,
}

type Rule = Box<dyn Fn(&Got, usize) -> Option<Reply> + Send>;

#[derive(Default)]
struct Book {
    got: Vec<Got>,
    /// Answers for the next requests, in order, before `rule` and `mode`.
    script: VecDeque<Reply>,
    /// Decides from the request and how often its id came before.
    rule: Option<Rule>,
    mode: Option<Reply>,
    in_flight: HashMap<String, u32>,
    most_in_flight: HashMap<String, u32>,
}

#[derive(Clone)]
struct Shared {
    book: Arc<Mutex<Book>>,
    clock: Arc<ManualClock>,
    released: watch::Receiver<bool>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    book: Arc<Mutex<Book>>,
    release: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(clock: Arc<ManualClock>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let book = Arc::new(Mutex::new(Book::default()));
        let (release, released) = watch::channel(false);
        let app = Router::new().route("/hook", post(hook)).with_state(Shared {
            book: Arc::clone(&book),
            clock,
            released,
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            book,
            release,
            task,
        }
    }

    /// The webhook URL under `host` (resolved to loopback by the test's
    /// egress rules).
    pub fn url(&self, host: &str) -> String {
        format!("http://{host}:{}/hook", self.addr.port())
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().expect("book")
    }

    pub fn got(&self) -> Vec<Got> {
        self.book().got.clone()
    }

    pub fn count(&self) -> usize {
        self.book().got.len()
    }

    /// Requests being held for `host` now.
    pub fn in_flight(&self, host: &str) -> u32 {
        self.book().in_flight.get(host).copied().unwrap_or(0)
    }

    /// The most requests for `host` in flight at once.
    pub fn most_in_flight(&self, host: &str) -> u32 {
        self.book().most_in_flight.get(host).copied().unwrap_or(0)
    }

    pub fn script(&self, replies: &[Reply]) {
        self.book().script.extend(replies.iter().copied());
    }

    pub fn mode(&self, reply: Reply) {
        self.book().mode = Some(reply);
    }

    pub fn rule(&self, rule: impl Fn(&Got, usize) -> Option<Reply> + Send + 'static) {
        self.book().rule = Some(Box::new(rule));
    }

    /// Answers every held request (and holds no more).
    pub fn release(&self) {
        let _ = self.release.send(true);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hook(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let host = header("host");
    let got = Got {
        id: header("webhook-id"),
        host: host.split(':').next().unwrap_or_default().to_string(),
        task: json["task"].as_str().unwrap_or_default().to_string(),
        n: json["n"].as_u64().unwrap_or_default(),
        at_ms: s.clock.now_unix_ms(),
    };
    let reply = {
        let mut b = s.book.lock().expect("book");
        let seen = b.got.iter().filter(|g| g.id == got.id).count();
        let reply = b
            .script
            .pop_front()
            .or_else(|| b.rule.as_ref().and_then(|r| r(&got, seen)))
            .or(b.mode)
            .unwrap_or(Reply::Ok);
        let n = b.in_flight.entry(got.host.clone()).or_default();
        *n += 1;
        let now = *n;
        let most = b.most_in_flight.entry(got.host.clone()).or_default();
        *most = (*most).max(now);
        b.got.push(got.clone());
        reply
    };
    if reply == Reply::Hold {
        let mut released = s.released.clone();
        let _ = released.wait_for(|r| *r).await;
    }
    if let Some(n) = s.book.lock().expect("book").in_flight.get_mut(&got.host) {
        *n -= 1;
    }
    match reply {
        Reply::Ok | Reply::Hold => StatusCode::OK.into_response(),
        Reply::Status(code, after) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match after {
                Some(secs) => (status, [("retry-after", secs.to_string())]).into_response(),
                None => status.into_response(),
            }
        }
    }
}
