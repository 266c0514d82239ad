//! `warden agent KIND`: one built-in agent on its own listener.

use std::time::Duration;

use warden_agent::ServerLimits;
use warden_agent::demo::{DemoOptions, demo_agent};
use warden_store::Store;

use crate::cli::{AgentArgs, AgentKind};
use crate::serve::{bind, shutdown_signal};

pub async fn run(args: AgentArgs) -> Result<(), String> {
    let listener = bind(args.listen, "agent").await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let router = match args.kind {
        AgentKind::Null => warden_agent::null::router(
            &public_url,
            warden_agent::null::NullOptions {
                stream_event_interval: Duration::from_millis(args.stream_event_interval_ms),
            },
        ),
        kind => {
            let name = match kind {
                AgentKind::Echo => "echo",
                AgentKind::Slow => "slow",
                _ => "input",
            };
            let options = DemoOptions {
                step_interval: Duration::from_millis(args.step_interval_ms),
            };
            let executor = demo_agent(name, options).ok_or("unknown agent")?;
            let store = Store::open(&args.data_dir.join("warden.db"))
                .await
                .map_err(|e| e.to_string())?;
            warden_agent::agent_router(name, executor, store, &public_url, ServerLimits::default())
                .await
                .map_err(|e| e.to_string())?
        }
    };
    let kind = format!("{:?}", args.kind).to_lowercase();
    println!("agent {kind} listening on {public_url}");
    warden_agent::serve(listener, router, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}
