//! Running the gateway and its admin listener.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use warden_gateway::admin::{AdminToken, TokenSource};
use warden_gateway::config::TlsConfig;
use warden_gateway::listener::{self, Reloadable};
use warden_gateway::{Config, GatewayState};

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

/// The TLS configurations of the two listeners, loaded (`None`: plain HTTP).
#[derive(Debug, Default, Clone)]
pub struct ListenerTls {
    pub gateway: Option<Arc<Reloadable>>,
    pub admin: Option<Arc<Reloadable>>,
}

impl ListenerTls {
    /// Reads the certificates and keys the configuration names; an error
    /// names the file.
    pub fn load(config: &Config) -> Result<Self, String> {
        let load = |tls: Option<&TlsConfig>, what: &str| {
            tls.map(|t| Reloadable::load(t).map_err(|e| format!("{what} TLS: {e}")))
                .transpose()
        };
        Ok(Self {
            gateway: load(config.gateway.tls.as_ref(), "gateway")?,
            admin: load(config.admin.tls.as_ref(), "admin")?,
        })
    }
}

/// The admin token of the instance whose data directory is `data_dir`
/// (`WARDEN_ADMIN_TOKEN`, or the `admin-token` file, generated on first
/// start), and where it is, for printing.
pub fn admin_token(data_dir: &std::path::Path) -> Result<(AdminToken, TokenSource), String> {
    AdminToken::load_or_create(data_dir).map_err(|e| e.to_string())
}

/// Serves the gateway on `listener` and the admin listener (health,
/// metrics, and the admin API for holders of `admin_token`) on `admin`
/// until shutdown, each with its TLS configuration when it has one.
pub async fn run_gateway(
    state: GatewayState,
    admin_token: AdminToken,
    listener: TcpListener,
    admin: TcpListener,
    tls: ListenerTls,
) -> Result<(), String> {
    if !state.config.gateway.listen.ip().is_loopback() {
        tracing::warn!(listen = %state.config.gateway.listen, "the gateway listens beyond loopback");
    }
    if !state.config.admin.listen.ip().is_loopback() {
        tracing::warn!(listen = %state.config.admin.listen, tls = tls.admin.is_some(), "the admin listener (and its API) listens beyond loopback");
    }
    let admin_app = warden_gateway::admin::router(state.clone(), admin_token);
    let queued = state.clone();
    let app = warden_gateway::router(state);
    let admin_task = tokio::spawn(listener::serve(
        admin,
        tls.admin,
        admin_app,
        shutdown_signal(),
    ));
    listener::serve(listener, tls.gateway, app, shutdown_signal())
        .await
        .map_err(|e| format!("gateway stopped: {e}"))?;
    admin_task.abort();
    // What the gateway holds for its writers is written before it exits:
    // task owners (a task whose owner is lost is refused to everyone after
    // a restart), then the audit trail. Meanwhile the push worker stops:
    // its deliveries in flight get a grace period, then those left are
    // released (due again at once, for another gateway or the restart).
    let drain = async {
        queued.authz.owners().flush().await;
        queued.audit.flush().await;
    };
    let push = queued
        .push_worker
        .stop_within(warden_gateway::push::outbox::STOP_GRACE);
    let both = async { tokio::join!(drain, push) };
    if tokio::time::timeout(std::time::Duration::from_secs(10), both)
        .await
        .is_err()
    {
        tracing::warn!(
            "stopped before every queued ownership and audit record and push delivery outcome was written"
        );
    }
    Ok(())
}

/// `warden gateway --config FILE`.
pub async fn gateway(args: crate::cli::GatewayArgs) -> Result<(), String> {
    let mut config = Config::load(&args.config).map_err(|e| e.to_string())?;
    // Certificates first: a bad file stops the start before anything listens.
    let tls = ListenerTls::load(&config)?;
    // Before the store opens: a second gateway on one SQLite file stops here.
    let _lock = crate::gateway_lock::lock_store_for_gateway(&config)?;
    let store = crate::local::open_store(&config).await?;
    let listener = bind(config.gateway.listen, "gateway").await?;
    let admin = bind(config.admin.listen, "admin API").await?;
    // The egress proxy listens only when there are remote agents to reach.
    let egress = match config.remote_agents.is_empty() {
        true => None,
        false => Some(bind(config.egress_proxy.listen, "egress proxy").await?),
    };
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    // With port 0 only the bound address is a usable public URL.
    let scheme = config.gateway_scheme();
    config
        .gateway
        .public_url
        .get_or_insert_with(|| format!("{scheme}://{bound}"));
    tracing::info!(
        listen = %listener.local_addr().map_err(|e| e.to_string())?,
        admin = %admin.local_addr().map_err(|e| e.to_string())?,
        agents = config.agents.len(),
        "gateway starting"
    );
    let admin_addr = admin.local_addr().map_err(|e| e.to_string())?;
    let public_url = config.public_url();
    let admin_scheme = config.admin_scheme();
    let (token, token_at) = admin_token(&config.gateway.data_dir)?;
    let state = GatewayState::open(config, store)
        .await
        .map_err(|e| e.to_string())?;
    let egress_url = match egress {
        Some(l) => Some(start_egress_proxy(&state, l)?),
        None => None,
    };
    // Printed once ready: the token authority and its issuer are in place.
    println!("gateway  {public_url}");
    if let Some(url) = egress_url {
        println!("egress-proxy  {url}");
    }
    println!("admin    {admin_scheme}://{admin_addr}");
    // Where the admin API's token is; never the token itself.
    println!("admin-token  {token_at}");
    run_gateway(state, token, listener, admin, tls).await
}

/// Starts the egress proxy on `listener` (secrets for the remote agents
/// from the environment) and returns its URL.
fn start_egress_proxy(state: &GatewayState, listener: TcpListener) -> Result<String, String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let url = format!("http://{addr}");
    let proxy = warden_gateway::egress_proxy::EgressProxy::from_env(state.clone(), &url)
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) =
            warden_gateway::egress_proxy::serve(listener, proxy, shutdown_signal()).await
        {
            tracing::error!(error = %e, "the egress proxy stopped");
        }
    });
    Ok(url)
}
