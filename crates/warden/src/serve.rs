//! Running the gateway and its admin listener.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use warden_gateway::{Config, GatewayState};
use warden_store::Store;

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

pub async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for the {what}: {e}"))
}

/// Serves the gateway on `listener` and the admin API on `admin` until
/// shutdown.
pub async fn run_gateway(
    state: GatewayState,
    listener: TcpListener,
    admin: TcpListener,
) -> Result<(), String> {
    if !state.config.gateway.listen.ip().is_loopback() {
        tracing::warn!(listen = %state.config.gateway.listen, "the gateway listens beyond loopback");
    }
    let admin_app = warden_gateway::admin::router(state.clone());
    let app = warden_gateway::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let admin_task = tokio::spawn(async move {
        axum::serve(admin, admin_app)
            .with_graceful_shutdown(shutdown_signal())
            .await
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("gateway stopped: {e}"))?;
    admin_task.abort();
    Ok(())
}

/// `warden gateway --config FILE`.
pub async fn gateway(args: crate::cli::GatewayArgs) -> Result<(), String> {
    let mut config = Config::load(&args.config).map_err(|e| e.to_string())?;
    let store = Store::open(&config.gateway.data_dir.join("warden.db"))
        .await
        .map_err(|e| e.to_string())?;
    let listener = bind(config.gateway.listen, "gateway").await?;
    let admin = bind(config.admin.listen, "admin API").await?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    // With port 0 only the bound address is a usable public URL.
    config
        .gateway
        .public_url
        .get_or_insert_with(|| format!("http://{bound}"));
    tracing::info!(
        listen = %listener.local_addr().map_err(|e| e.to_string())?,
        admin = %admin.local_addr().map_err(|e| e.to_string())?,
        agents = config.agents.len(),
        "gateway starting"
    );
    let admin_addr = admin.local_addr().map_err(|e| e.to_string())?;
    let public_url = config.public_url();
    let state = GatewayState::open(config, store)
        .await
        .map_err(|e| e.to_string())?;
    // Printed once ready: the token authority and its issuer are in place.
    println!("gateway  {public_url}");
    println!("admin    http://{admin_addr}");
    run_gateway(state, listener, admin).await
}
