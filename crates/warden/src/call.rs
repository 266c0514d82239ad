//! `warden call`: a small A2A client. Resolves the card, picks the first
//! interface in the chosen binding, sends, prints.
//!
//! Exit codes: 0 when the task completed, needs input, or the agent answered
//! with a message; 1 for an A2A error, a failed/canceled/rejected task, or a
//! transport failure; 2 for bad arguments.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use warden_a2a::sse::SseDecoder;
use warden_a2a::types::{AgentCard, BINDING_HTTP_JSON, BINDING_JSONRPC};

use crate::cli::{BindingChoice, CallArgs};

/// Largest card or response `warden call` reads.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub async fn run(args: CallArgs) -> Result<ExitCode, String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(args.timeout_secs))
        .build()
        .map_err(|e| e.to_string())?;
    let card = fetch_card(&client, &args.url).await?;
    let wanted = match args.binding {
        BindingChoice::Jsonrpc => BINDING_JSONRPC,
        BindingChoice::Rest => BINDING_HTTP_JSON,
    };
    let iface = card
        .supported_interfaces
        .iter()
        .find(|i| i.protocol_binding.eq_ignore_ascii_case(wanted))
        .ok_or_else(|| format!("the card of {:?} offers no {wanted} interface", card.name))?;
    let mut message = json!({
        "role": "ROLE_USER",
        "messageId": uuid::Uuid::new_v4().to_string(),
        "parts": [{"text": args.text}],
    });
    if let Some(t) = &args.task_id {
        message["taskId"] = json!(t);
    }
    if let Some(c) = &args.context_id {
        message["contextId"] = json!(c);
    }
    let mut params = json!({"message": message});
    if let Some(t) = &iface.tenant {
        params["tenant"] = json!(t);
    }
    let base = iface.url.trim_end_matches('/');
    let request = match args.binding {
        BindingChoice::Jsonrpc => {
            let method = if args.stream {
                "SendStreamingMessage"
            } else {
                "SendMessage"
            };
            client
                .post(base)
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        }
        BindingChoice::Rest => {
            let verb = if args.stream {
                "message:stream"
            } else {
                "message:send"
            };
            let prefix = iface
                .tenant
                .as_ref()
                .map(|t| format!("/{t}"))
                .unwrap_or_default();
            client.post(format!("{base}{prefix}/{verb}")).json(&params)
        }
    };
    let accept = if args.stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    let request = match credential(&args).await? {
        Some((name, value)) => request.header(name, value),
        None => request,
    };
    let resp = request
        .header("A2A-Version", "1.0")
        .header("Accept", accept)
        .send()
        .await
        .map_err(|e| format!("cannot reach {base}: {e}"))?;
    let jsonrpc = args.binding == BindingChoice::Jsonrpc;
    if args.stream && is_sse(&resp) {
        return print_stream(resp, jsonrpc, args.json).await;
    }
    let status = resp.status();
    let body = read_capped(resp).await?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        format!("the agent answered HTTP {status} with a body that is not JSON: {e}")
    })?;
    let result = if jsonrpc {
        if let Some(err) = v.get("error") {
            return Ok(print_error(err, args.json));
        }
        v.get("result").cloned().unwrap_or(Value::Null)
    } else if !status.is_success() {
        return Ok(print_error(v.get("error").unwrap_or(&v), args.json));
    } else {
        v
    };
    if args.json {
        println!("{result}");
    } else {
        print_human(&result);
    }
    Ok(exit_for(&result))
}

/// The credential to send, if any: a given token or API key, or a token
/// minted from a local data directory for the agent named in the URL.
async fn credential(args: &CallArgs) -> Result<Option<(&'static str, String)>, String> {
    if let Some(t) = &args.token {
        return Ok(Some(("Authorization", format!("Bearer {t}"))));
    }
    if let Some(k) = &args.api_key {
        return Ok(Some(("X-API-Key", k.clone())));
    }
    let Some(dir) = &args.data_dir else {
        return Ok(None);
    };
    let audience = agent_name(&args.url).ok_or_else(|| {
        format!(
            "cannot tell the target agent from {:?} (expected …/agents/NAME); use --token",
            args.url
        )
    })?;
    let instance = crate::cli::Instance {
        data_dir: dir.clone(),
        config: None,
    };
    let authority = crate::local::local_authority(&instance).await?;
    let token = crate::local::mint(&authority, &args.subject, &audience, "", None).await?;
    Ok(Some(("Authorization", format!("Bearer {token}"))))
}

/// `name` in `…/agents/name[/…]`.
fn agent_name(url: &str) -> Option<String> {
    let path = url::Url::parse(url).ok()?.path().to_string();
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    while let Some(s) = segs.next() {
        if s == "agents" {
            return segs.next().map(str::to_owned);
        }
    }
    None
}

async fn fetch_card(client: &reqwest::Client, url: &str) -> Result<AgentCard, String> {
    let card_url = format!("{}/.well-known/agent-card.json", url.trim_end_matches('/'));
    let resp = client
        .get(&card_url)
        .header("A2A-Version", "1.0")
        .send()
        .await
        .map_err(|e| format!("cannot fetch {card_url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{card_url} answered HTTP {}", resp.status()));
    }
    let body = read_capped(resp).await?;
    serde_json::from_slice(&body).map_err(|e| format!("{card_url} is not a valid agent card: {e}"))
}

async fn read_capped(resp: reqwest::Response) -> Result<Vec<u8>, String> {
    warden_gateway::body::read_capped(resp, MAX_BODY)
        .await
        .map_err(|e| e.to_string())
}

fn is_sse(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

async fn print_stream(
    resp: reqwest::Response,
    jsonrpc: bool,
    as_json: bool,
) -> Result<ExitCode, String> {
    let mut decoder = SseDecoder::new(MAX_BODY);
    let mut chunks = resp.bytes_stream();
    let mut last = Value::Null;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| format!("the stream broke: {e}"))?;
        for event in decoder.feed(&chunk).map_err(|e| e.to_string())? {
            let v: Value = serde_json::from_str(&event.data)
                .map_err(|e| format!("a stream event is not JSON: {e}"))?;
            if let Some(err) = v.get("error") {
                return Ok(print_error(err, as_json));
            }
            let payload = if jsonrpc {
                v.get("result").cloned().unwrap_or(Value::Null)
            } else {
                v
            };
            if as_json {
                println!("{payload}");
            } else {
                print_event(&payload);
            }
            last = payload;
        }
    }
    Ok(exit_for(&last))
}

fn state_of(v: &Value) -> Option<&str> {
    v.pointer("/task/status/state")
        .or_else(|| v.pointer("/statusUpdate/status/state"))
        .or_else(|| v.pointer("/status/state"))
        .and_then(Value::as_str)
}

fn exit_for(last: &Value) -> ExitCode {
    match state_of(last) {
        Some("TASK_STATE_FAILED" | "TASK_STATE_CANCELED" | "TASK_STATE_REJECTED") => {
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn texts(parts: Option<&Value>) -> Vec<String> {
    parts
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn print_human(result: &Value) {
    if let Some(task) = result.get("task") {
        let state = task
            .pointer("/status/state")
            .and_then(Value::as_str)
            .unwrap_or("?");
        println!(
            "task {} {state}",
            task.get("id").and_then(Value::as_str).unwrap_or("?")
        );
        if let Some(m) = task.pointer("/status/message") {
            for t in texts(m.get("parts")) {
                println!("  agent: {t}");
            }
        }
        for a in task
            .get("artifacts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for t in texts(a.get("parts")) {
                println!("{t}");
            }
        }
    } else if let Some(m) = result.get("message") {
        for t in texts(m.get("parts")) {
            println!("{t}");
        }
    } else {
        println!("{result}");
    }
}

fn print_event(ev: &Value) {
    if let Some(t) = ev.get("task") {
        let state = t
            .pointer("/status/state")
            .and_then(Value::as_str)
            .unwrap_or("?");
        println!(
            "[task] {} {state}",
            t.get("id").and_then(Value::as_str).unwrap_or("?")
        );
    } else if let Some(s) = ev.get("statusUpdate") {
        let state = s
            .pointer("/status/state")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let text = texts(s.pointer("/status/message/parts")).join(" ");
        println!("[status] {state} {text}");
    } else if let Some(a) = ev.get("artifactUpdate") {
        let text = texts(a.pointer("/artifact/parts")).join("");
        println!("[artifact] {}", text.trim_end());
    } else if let Some(m) = ev.get("message") {
        println!("[message] {}", texts(m.get("parts")).join(" "));
    } else {
        println!("{ev}");
    }
}

fn print_error(err: &Value, as_json: bool) -> ExitCode {
    if as_json {
        println!("{}", json!({"error": err}));
    } else {
        let code = err.get("code").map(Value::to_string).unwrap_or_default();
        let msg = err.get("message").and_then(Value::as_str).unwrap_or("");
        eprintln!("error {code}: {msg}");
    }
    ExitCode::FAILURE
}
