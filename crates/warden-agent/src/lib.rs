//! `warden-agent`: a small A2A v1.0 server runtime and Warden's demo agents.
//!
//! An agent is an [`AgentExecutor`] (its card and its logic). The runtime
//! serves it over JSON-RPC (at the root), REST (below it) and SSE, keeps its
//! tasks in `warden-store`, fans events out to every stream of a task, and
//! runs each task detached from the connection that started it.

mod clock;
pub mod demo;
mod executor;
mod handler;
pub mod null;
mod server;
mod tasks;
mod updater;

use std::future::Future;
use std::sync::Arc;

pub use executor::{AgentExecutor, BoxFuture, RequestContext};
pub use handler::{Handler, Reply};
pub use server::{ServerLimits, served_card};
pub use tasks::TaskManager;
pub use updater::{TaskUpdater, text_artifact};

use tokio::net::TcpListener;
use warden_store::Store;

/// Builds the HTTP router of one agent served at `public_url`, after
/// recovering tasks a previous process left unfinished.
pub async fn agent_router(
    name: &str,
    executor: Arc<dyn AgentExecutor>,
    store: Store,
    public_url: &str,
    limits: ServerLimits,
) -> Result<axum::Router, warden_a2a::A2aError> {
    let tasks = TaskManager::new(name, store);
    tasks.recover().await?;
    Ok(server::router(executor, tasks, public_url, limits))
}

/// Serves a router on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // No Nagle: SSE events and small replies are written as they come.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
