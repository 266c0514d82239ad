//! `warden up`: the quickstart. Three demo agents on loopback listeners of
//! their own, and a gateway in front of them, on one embedded store.

use std::time::Duration;

use warden_agent::ServerLimits;
use warden_agent::demo::{DEMO_NAMES, DemoOptions, demo_agent};
use warden_authority::registry::{self, NewAgent};
use warden_gateway::admin::TokenSource;
use warden_gateway::config::{AdminSection, AgentConfig, AuthSection, GatewaySection, Limits};
use warden_gateway::{Config, GatewayState};
use warden_store::Store;

use crate::cli::UpArgs;
use crate::serve::{ListenerTls, admin_token, bind, run_gateway, shutdown_signal};

pub async fn run(args: UpArgs) -> Result<(), String> {
    let db = args.data_dir.join("warden.db");
    let _lock = crate::gateway_lock::lock_database(&db, false)?;
    let store = Store::open(&db).await.map_err(|e| e.to_string())?;
    let options = DemoOptions {
        step_interval: Duration::from_millis(args.step_interval_ms),
    };
    let mut agents = Vec::new();
    let mut grants = Vec::new();
    for name in DEMO_NAMES {
        let listener = bind("127.0.0.1:0".parse().map_err(|_| "bad address")?, name).await?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let executor = demo_agent(name, options).ok_or("unknown demo agent")?;
        // The demo client may use every skill the agent shows, extended ones too.
        let card = executor.extended_card().unwrap_or_else(|| executor.card());
        let skills: Vec<String> = card.skills.iter().map(|s| s.id.clone()).collect();
        grants.push(format!("{name}={}", skills.join(",")));
        let router = warden_agent::agent_router(
            name,
            executor,
            store.clone(),
            &url,
            ServerLimits::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
        tokio::spawn(warden_agent::serve(listener, router, shutdown_signal()));
        agents.push(AgentConfig {
            name: name.to_string(),
            url,
            jsonrpc_url: None,
            rest_url: None,
            card_jwks_file: None,
            card_jwks: None,
            card_jku_hosts: Vec::new(),
            // The demo agents are Warden's own code, in this process, on
            // loopback: their cards are not signed, and Warden signs the
            // cards it serves for them.
            insecure_unsigned_card: true,
            card_lint: Default::default(),
            unknown_fields: None,
            access: Default::default(),
            public_operations: None,
            webhooks: None,
            push_follow: Default::default(),
            push_poll_interval: std::time::Duration::from_secs(2),
            // Each demo agent is a mailbox address too: mail to it arrives
            // as a SendMessage naming the sender (docs/mailbox.md).
            mailbox: warden_gateway::config::AgentMailbox::Bridge,
        });
    }
    let listener = bind(args.listen, "gateway").await?;
    let admin = bind(args.admin_listen, "admin API").await?;
    let gw = listener.local_addr().map_err(|e| e.to_string())?;
    let admin_addr = admin.local_addr().map_err(|e| e.to_string())?;
    let public_url = format!("http://{gw}");
    let config = Config {
        gateway: GatewaySection {
            listen: gw,
            public_url: Some(public_url.clone()),
            trusted_proxies: Vec::new(),
            data_dir: args.data_dir.clone(),
            tls: None,
        },
        admin: AdminSection {
            listen: admin_addr,
            tls: None,
        },
        limits: Limits::default(),
        auth: AuthSection::default(),
        authz: Default::default(),
        rate_limits: Default::default(),
        agents,
        egress: Default::default(),
        message_urls: Default::default(),
        protocol: Default::default(),
        shared: None,
        retries: Default::default(),
        // The quickstart keeps its state in the data directory's SQLite file.
        store: Default::default(),
        // Ownership records only, hourly: the quickstart keeps its history.
        retention: Default::default(),
        shadowing: Default::default(),
        remote_agents: Vec::new(),
        egress_proxy: Default::default(),
        push: Default::default(),
        // The mailbox with its defaults: every registry agent has one.
        mailbox: Default::default(),
        deprecations: Vec::new(),
    };
    config.validate()?;
    let (token, token_at) = admin_token(&args.data_dir)?;
    let state = GatewayState::open(config, store.clone())
        .await
        .map_err(|e| e.to_string())?;
    register_demo_client(&store, &grants).await?;
    print_welcome(
        &public_url,
        &format!("http://{admin_addr}"),
        &args.data_dir.display().to_string(),
        &token_at,
        &grants,
    );
    run_gateway(state, token, listener, admin, ListenerTls::default()).await
}

/// The demo client: a registry entry allowed every demo skill.
pub const DEMO_CLIENT: &str = "demo-client";

async fn register_demo_client(store: &Store, grants: &[String]) -> Result<(), String> {
    let new = NewAgent {
        id: DEMO_CLIENT.into(),
        display_name: Some("Quickstart demo client".into()),
        jwks: None,
        grants: registry::parse_grants(grants).map_err(|e| e.to_string())?,
        tls_subject: None,
    };
    registry::add_agent(store, new, true)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn print_welcome(
    gateway: &str,
    admin: &str,
    data_dir: &str,
    token_at: &TokenSource,
    grants: &[String],
) {
    println!("Warden is up. Strict authentication: every call needs a credential.");
    println!("  gateway  {gateway}");
    println!("  agents   {gateway}/agents/echo  {gateway}/agents/slow  {gateway}/agents/input");
    println!("  mcp      {gateway}/mcp  (the mailbox as an MCP server: docs/mailbox-mcp.md)");
    println!("  mail     {gateway}/mail/v1  (the mailbox over REST: docs/mailbox.md)");
    println!("  admin    {admin}  (/healthz /readyz /metrics; admin API under /admin/v1/)");
    // Where the admin API's token is; never the token itself.
    println!("  admin-token  {token_at}");
    println!("  data     {data_dir}  (store, key-encryption key, admin token)");
    println!("  client   {DEMO_CLIENT}  (registered)");
    println!(
        "  grants   {}  (default deny: {DEMO_CLIENT} may call these skills and nothing else)",
        grants.join("  ")
    );
    println!();
    println!(
        "Try (warden call mints a single-use token as {DEMO_CLIENT} from the data directory):"
    );
    println!("  warden call {gateway}/agents/echo --text \"hello\" --data-dir {data_dir}");
    println!("  warden call {gateway}/agents/slow --text 5 --stream --data-dir {data_dir}");
    println!("Or with curl and a token (tokens are single-use):");
    println!("  TOKEN=$(warden token mint --data-dir {data_dir} --sub {DEMO_CLIENT} --aud echo)");
    println!(
        "  curl -s {gateway}/agents/echo -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -H 'A2A-Version: 1.0' \\\n    -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{{\"message\":{{\"role\":\"ROLE_USER\",\"messageId\":\"m1\",\"parts\":[{{\"text\":\"hello\"}}]}}}}}}'"
    );
    println!(
        "API key for programs: warden apikey create --data-dir {data_dir} --sub {DEMO_CLIENT}"
    );
    let token = match token_at {
        TokenSource::Env => format!("${}", warden_gateway::admin::ADMIN_TOKEN_ENV),
        TokenSource::File(p) | TokenSource::Generated(p) => format!("$(cat {})", p.display()),
    };
    println!("The mailbox (registry agents leave each other messages; warden mail --help):");
    println!("  warden mail whoami --gateway {gateway} --data-dir {data_dir} --as {DEMO_CLIENT}");
    println!("The admin API (registry, API keys) with the admin token:");
    println!("  curl -s {admin}/admin/v1/registry -H \"Authorization: Bearer {token}\"");
    println!();
    println!("Stop with Ctrl-C.");
}
