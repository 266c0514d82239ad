//! `warden-loadgen run`: closed-loop load over keep-alive HTTP/1.1
//! connections, as wrk does it: every connection sends its next request as
//! soon as the previous response has been read to its end.
//!
//! One current-thread runtime: run.sh pins the load generator to one CPU,
//! where more threads would only take turns.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout_at};
use tokio_rustls::TlsConnector;

use crate::RunArgs;
use crate::summary::Counts;

/// Where to send, and what: shared by every connection.
struct Target {
    host: String,
    port: u16,
    /// For https:// (with the host as the server name to verify).
    tls: Option<(TlsConnector, ServerName<'static>)>,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    timeout: Duration,
    expect: Vec<String>,
    reject: Vec<String>,
}

pub fn run(args: RunArgs) -> Result<(), String> {
    let target = Arc::new(Target::new(&args)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "warden-loadgen: POST {} ({} bytes), {} connections, {:?}{}",
        args.url,
        target.body.len(),
        args.connections,
        args.duration,
        match (&target.tls, &args.cert) {
            (None, _) => String::new(),
            (Some(_), None) => ", TLS".to_owned(),
            (Some(_), Some(c)) => format!(", TLS with client certificate {}", c.display()),
        }
    );
    let (counts, elapsed) = runtime.block_on(async {
        let start = Instant::now();
        let deadline = start + args.duration;
        let tasks: Vec<_> = (0..args.connections.max(1))
            .map(|_| tokio::spawn(connection(Arc::clone(&target), deadline)))
            .collect();
        let mut all = Counts::default();
        for task in tasks {
            all.merge(task.await.map_err(|e| e.to_string())?);
        }
        Ok::<_, String>((all, start.elapsed()))
    })?;
    print!("{}", counts.report(elapsed));
    Ok(())
}

impl Target {
    fn new(args: &RunArgs) -> Result<Self, String> {
        let url = &args.url;
        let host = url.host().ok_or("--url has no host")?;
        let https = match url.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("--url {url}: http:// or https:// only")),
        };
        let tls = if https {
            let cacert = args
                .cacert
                .as_deref()
                .ok_or("https:// needs --cacert (the platform's roots are not used)")?;
            let identity = args.cert.as_deref().zip(args.key.as_deref());
            let config = crate::tls::client_config(cacert, identity)?;
            // An IP address in brackets (IPv6) is named without them.
            let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                .map_err(|e| format!("--url host {host}: {e}"))?;
            Some((TlsConnector::from(config), name))
        } else {
            if args.cert.is_some() || args.cacert.is_some() {
                return Err("--cacert and --cert are for https:// only".into());
            }
            None
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &args.headers {
            headers.append(name.clone(), value.clone());
        }
        // hyper's connection-level client does not add Host; HTTP/1.1 needs it.
        if !headers.contains_key(HOST) {
            let authority = url.authority().ok_or("--url has no host")?;
            let value = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
            headers.insert(HOST, value);
        }
        let body =
            std::fs::read(&args.body).map_err(|e| format!("{}: {e}", args.body.display()))?;
        Ok(Self {
            host: host.trim_matches(['[', ']']).to_owned(),
            port: url.port_u16().unwrap_or(if https { 443 } else { 80 }),
            tls,
            path: url.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
            headers,
            body: Bytes::from(body),
            timeout: args.timeout,
            expect: args.expect.clone(),
            reject: args.reject.clone(),
        })
    }

    /// A new connection (TCP, then TLS when https://), ready for requests.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        // Requests go out in one write; don't let Nagle hold a partial one.
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        match &self.tls {
            None => handshake(TokioIo::new(tcp)).await,
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS handshake: {e}"))?;
                handshake(TokioIo::new(stream)).await
            }
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = Method::POST;
        // Origin form ("/agents/null"), as an HTTP/1.1 client sends it.
        *req.uri_mut() = self.path.parse().unwrap_or_default();
        *req.headers_mut() = self.headers.clone();
        req
    }

    /// Whether a 2xx body is a success: every --expect in it, no --reject.
    fn body_ok(&self, body: &[u8]) -> bool {
        let has = |needle: &String| {
            let n = needle.as_bytes();
            n.is_empty() || body.windows(n.len()).any(|w| w == n)
        };
        self.expect.iter().all(has) && !self.reject.iter().any(has)
    }
}

async fn handshake<T>(io: T) -> Result<SendRequest<Full<Bytes>>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    // The connection's own task: it ends when the sender is dropped, and its
    // errors reach the sender's next request.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One request and its whole response: status, body, and whether the
/// server said it closes the connection.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes, bool), hyper::Error> {
    sender.ready().await?;
    let (parts, body) = sender.send_request(req).await?.into_parts();
    let body = body.collect().await?.to_bytes();
    let close = parts
        .headers
        .get(CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    Ok((parts.status, body, close))
}

/// One connection's loop until the deadline; a connection that fails is
/// counted and replaced.
async fn connection(target: Arc<Target>, deadline: Instant) -> Counts {
    let mut c = Counts::default();
    'connect: while Instant::now() < deadline {
        let limit = (Instant::now() + target.timeout).min(deadline);
        let mut sender = match timeout_at(limit, target.connect()).await {
            Ok(Ok(sender)) => sender,
            Err(_) if limit == deadline => break,
            failed => {
                c.connect += 1;
                c.note(|| match failed {
                    Ok(Err(e)) => e,
                    _ => format!("connect: no connection within {:?}", target.timeout),
                });
                // Not a busy loop against a server that refuses.
                sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        loop {
            let start = Instant::now();
            let limit = (start + target.timeout).min(deadline);
            match timeout_at(limit, exchange(&mut sender, target.request())).await {
                // Cut short by the end of the run: neither a response nor
                // an error (wrk does not count these either).
                Err(_) if limit == deadline => break 'connect,
                Err(_) => {
                    c.timeout += 1;
                    c.note(|| format!("no response within {:?}", target.timeout));
                    continue 'connect;
                }
                Ok(Err(e)) => {
                    c.read += 1;
                    c.note(|| format!("request failed: {}", chain(&e)));
                    continue 'connect;
                }
                Ok(Ok((status, body, close))) => {
                    let us = start.elapsed().as_micros();
                    c.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                    if !status.is_success() {
                        c.status += 1;
                        c.note(|| sample(status, &body));
                    } else {
                        c.checked += 1;
                        if !target.body_ok(&body) {
                            c.bad += 1;
                            c.note(|| sample(status, &body));
                        }
                    }
                    if close {
                        continue 'connect;
                    }
                }
            }
        }
    }
    c
}

/// An error and its causes ("connection error: peer closed connection
/// without sending TLS close_notify"): hyper's own message alone is terse.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text += &format!(": {c}");
        cause = c.source();
    }
    text
}

/// A failed response for the log: its status and the start of its body.
fn sample(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    format!(
        "HTTP {} {}",
        status.as_u16(),
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}
