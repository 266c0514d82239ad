//! The listeners' accept loop: plain TCP or TLS (optionally mutual), HTTP/1.1
//! and HTTP/2, graceful shutdown.
//!
//! Every request gets two extensions before it reaches the router:
//! `axum::extract::ConnectInfo<SocketAddr>` (the TCP peer, so axum's
//! extractors work as with `axum::serve`) and, on an mTLS connection whose
//! client presented a verified certificate, `Arc<`[`PeerCertificate`]`>`.

mod peer;
#[cfg(test)]
mod tests;
mod tls;
mod verified_tokens;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

pub use peer::{PeerCertificate, PeerIdentity, x5t_s256};
pub use tls::{PROTOCOL_VERSIONS, Reloadable, TlsError, alpn_protocols, check, provider};
pub use verified_tokens::{REVERIFY_AFTER_SECS, VerifiedTokens};

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting and waits for open connections to finish their requests.
///
/// With `tls`, each connection completes a TLS handshake (within the
/// configured timeout) with the configuration current when it was
/// accepted; without, it is plain HTTP. Either way the same loop serves it.
pub async fn serve<F>(
    listener: TcpListener,
    tls: Option<Arc<Reloadable>>,
    router: Router,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    // Connections wait for `signal_rx` to go (graceful shutdown); the loop
    // waits for every clone of `close_rx` to go (connections finished).
    let (signal_tx, signal_rx) = watch::channel(());
    let (close_tx, close_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small A2A frames (an SSE event, a JSON reply) must leave at once:
        // with Nagle, the second write of a stream waits ~40 ms for the
        // client's delayed ACK (measured by the bench).
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            router: router.clone(),
            remote,
            signal: signal_tx.clone(),
            _close: close_rx.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => conn.serve(stream, None).await,
                Some(tls) => conn.handshake(stream, &tls).await,
            }
        });
    }
    drop(listener);
    drop(signal_rx);
    drop(close_rx);
    drop(signal_tx);
    close_tx.closed().await;
    Ok(())
}

/// Errors that concern one connection are skipped; others (such as too
/// many open files) pause accepting for a second, as `axum::serve` does.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection.
struct Conn {
    router: Router,
    remote: SocketAddr,
    /// Closed when the server shuts down.
    signal: watch::Sender<()>,
    /// Dropped when the connection is done.
    _close: watch::Receiver<()>,
}

impl Conn {
    async fn handshake(self, stream: TcpStream, tls: &Reloadable) {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
        let accept = tokio::time::timeout(tls.handshake_timeout(), acceptor.accept(stream));
        let stream = tokio::select! {
            r = accept => match r {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %self.remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %self.remote, "TLS handshake timed out");
                    return;
                }
            },
            () = self.signal.closed() => return,
        };
        let peer = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(<[_]>::first)
            .map(|leaf| Arc::new(PeerCertificate::from_der(leaf.clone().into_owned())));
        self.serve(stream, peer).await;
    }

    async fn serve<I>(self, io: I, peer: Option<Arc<PeerCertificate>>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            router,
            remote,
            signal,
            _close,
        } = self;
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(remote));
            if let Some(p) = &peer {
                req.extensions_mut().insert(p.clone());
            }
            let router = router.clone();
            async move {
                router
                    .oneshot(req)
                    .await
                    .map_err(|e: Infallible| match e {})
            }
        });
        let mut builder = Builder::new(TokioExecutor::new());
        // CONNECT protocol for HTTP/2, as axum::serve enables it.
        builder.http2().enable_connect_protocol();
        let mut conn = pin!(builder.serve_connection_with_upgrades(TokioIo::new(io), service));
        let mut closing = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(peer = %remote, error = %e, "connection ended with an error");
                    }
                    break;
                }
                () = signal.closed(), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
