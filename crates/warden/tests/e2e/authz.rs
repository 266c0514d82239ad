//! Authorisation as callers meet it, end to end: default deny between
//! agents, a granted skill in the credential's scope for every message,
//! tasks and contexts kept to the caller that made them, quarantine, rate
//! limits that keep one caller from starving another, and an audit record
//! of every decision. Real `warden` processes on ephemeral ports; the
//! callers are the instance's client (`demo-client` or `tester`) and `bob`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use warden_a2a::types::{AgentCard, TaskState};
use warden_agent::{AgentExecutor, BoxFuture, RequestContext, TaskUpdater, text_artifact};

use crate::support::{Running, Spy, WAIT, client, gateway, up, user_message};

/// The Warden skill extension (the wire contract, spelled out here).
const SKILL_EXTENSION: &str = "urn:warden:a2a:skill:v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    JsonRpc,
    Rest,
}

use Binding::{JsonRpc, Rest};

const BOTH: [Binding; 2] = [JsonRpc, Rest];

/// One answer as it came over the wire.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {} {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// A running instance, and one HTTP client for every call to it (so calls
/// reuse connections, as real callers do).
struct Gw {
    running: Running,
    http: reqwest::Client,
}

impl std::ops::Deref for Gw {
    type Target = Running;

    fn deref(&self) -> &Running {
        &self.running
    }
}

fn gw(running: Running) -> Gw {
    Gw {
        running,
        http: client(),
    }
}

/// Sends with `A2A-Version: 1.0` and a bearer credential (a token or an
/// API key).
async fn exchange(req: reqwest::RequestBuilder, credential: &str) -> Answer {
    let r = req
        .header("A2A-Version", "1.0")
        .bearer_auth(credential)
        .send()
        .await
        .expect("send");
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.expect("body").to_vec(),
    }
}

/// A JSON-RPC call (id 7) to `{gateway}{route}`: an agent (`/agents/NAME`)
/// or a per-skill route below it.
async fn rpc(w: &Gw, route: &str, credential: &str, method: &str, params: Value) -> Answer {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    exchange(
        w.http.post(format!("{}{route}", w.gateway)).json(&body),
        credential,
    )
    .await
}

/// A REST call: `method` on `{gateway}{route}{path}`.
async fn rest(
    w: &Gw,
    method: Method,
    route: &str,
    path: &str,
    credential: &str,
    body: Option<&Value>,
) -> Answer {
    let mut req = w
        .http
        .request(method, format!("{}{route}{path}", w.gateway));
    if let Some(b) = body {
        req = req.json(b);
    }
    exchange(req, credential).await
}

/// `SendMessage` in either binding.
async fn send(w: &Gw, binding: Binding, route: &str, credential: &str, message: Value) -> Answer {
    let params = json!({"message": message});
    match binding {
        JsonRpc => rpc(w, route, credential, "SendMessage", params).await,
        Rest => {
            rest(
                w,
                Method::POST,
                route,
                "/message:send",
                credential,
                Some(&params),
            )
            .await
        }
    }
}

/// A user message naming its skill with the Warden skill extension.
fn naming_skill(text: &str, skill: &str) -> Value {
    let mut m = user_message(text);
    m["metadata"] = json!({ SKILL_EXTENSION: skill });
    m["extensions"] = json!([SKILL_EXTENSION]);
    m
}

/// A user message in a context, or continuing a task.
fn within(text: &str, key: &str, id: &str) -> Value {
    let mut m = user_message(text);
    m[key] = json!(id);
    m
}

/// The call reached the agent: its result (the JSON-RPC `result`, or the
/// REST body).
fn passed(a: &Answer, binding: Binding, what: &str) -> Value {
    assert_eq!(a.status, 200, "{what}: {a}");
    let v = a.json();
    let result = match binding {
        JsonRpc => v.get("result").cloned(),
        Rest => Some(v),
    };
    result
        .filter(|r| r.get("error").is_none())
        .unwrap_or_else(|| panic!("{what}: no result: {a}"))
}

/// The task a `SendMessage` answer carries.
fn task_in(a: &Answer, binding: Binding, what: &str) -> Value {
    let task = passed(a, binding, what)["task"].clone();
    assert!(task["id"].is_string(), "{what}: no task: {a}");
    task
}

/// How Warden answers an error, per binding.
struct Expected {
    jsonrpc_code: i64,
    /// The HTTP status of a JSON-RPC error answer (200 but for rate limits).
    jsonrpc_http: u16,
    rest_http: u16,
    grpc: &'static str,
    reason: &'static str,
}

const FORBIDDEN: Expected = Expected {
    jsonrpc_code: -32600,
    jsonrpc_http: 200,
    rest_http: 403,
    grpc: "PERMISSION_DENIED",
    reason: "PERMISSION_DENIED",
};

const INVALID_PARAMS: Expected = Expected {
    jsonrpc_code: -32602,
    jsonrpc_http: 200,
    rest_http: 400,
    grpc: "INVALID_ARGUMENT",
    reason: "INVALID_PARAMS",
};

const TASK_NOT_FOUND: Expected = Expected {
    jsonrpc_code: -32001,
    jsonrpc_http: 200,
    rest_http: 404,
    grpc: "NOT_FOUND",
    reason: "TASK_NOT_FOUND",
};

const RATE_LIMITED: Expected = Expected {
    jsonrpc_code: -32600,
    jsonrpc_http: 429,
    rest_http: 429,
    grpc: "RESOURCE_EXHAUSTED",
    reason: "RATE_LIMITED",
};

/// The answer is error `e` in `binding`'s shape (JSON-RPC: the request id
/// echoed and an `ErrorInfo` in `data`; REST: a `google.rpc.Status`), and
/// its message contains `needle`.
fn assert_error(a: &Answer, binding: Binding, e: &Expected, needle: &str, what: &str) {
    let v = a.json();
    let (error, info) = match binding {
        JsonRpc => {
            assert_eq!(a.status, e.jsonrpc_http, "{what}: {a}");
            assert_eq!(v["id"], 7, "{what}: the request id is echoed: {a}");
            assert_eq!(v["error"]["code"], e.jsonrpc_code, "{what}: {a}");
            (&v["error"], &v["error"]["data"][0])
        }
        Rest => {
            assert_eq!(a.status, e.rest_http, "{what}: {a}");
            assert_eq!(v["error"]["code"], e.rest_http, "{what}: {a}");
            assert_eq!(v["error"]["status"], e.grpc, "{what}: {a}");
            (&v["error"], &v["error"]["details"][0])
        }
    };
    assert_eq!(
        info["@type"], "type.googleapis.com/google.rpc.ErrorInfo",
        "{what}: {a}"
    );
    assert_eq!(info["reason"], e.reason, "{what}: {a}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{what}: {needle:?} not in {a}");
}

fn assert_forbidden(a: &Answer, binding: Binding, needle: &str, what: &str) {
    assert_error(a, binding, &FORBIDDEN, needle, what);
}

/// Two answers a caller cannot tell apart: status, content type, challenge
/// and body bytes.
fn assert_same(got: &Answer, want: &Answer, what: &str) {
    assert_eq!(
        (got.status, got.body.as_slice()),
        (want.status, want.body.as_slice()),
        "{what}:\n got {got}\nwant {want}"
    );
    for h in ["content-type", "www-authenticate"] {
        assert_eq!(got.header(h), want.header(h), "{what}: {h}");
    }
}

/// `count` tokens for `sub` to call `aud` (single-use each); `scope` is
/// space-separated skill ids, empty for everything granted.
async fn mint(w: &Running, sub: &str, aud: &str, scope: &str, count: u32) -> Vec<String> {
    let n = count.to_string();
    let out = w
        .cli(&[
            "token", "mint", "--sub", sub, "--aud", aud, "--scope", scope, "--count", &n,
        ])
        .await;
    let tokens: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(tokens.len(), count as usize, "{out}");
    tokens
}

/// An API key for registry agent `sub` (reusable, unlike tokens).
async fn api_key(w: &Running, sub: &str) -> String {
    w.cli(&["apikey", "create", "--sub", sub]).await
}

/// The id of the one unrevoked grant from `caller` to `target`.
async fn grant_id(w: &Running, caller: &str, target: &str) -> String {
    let list = w
        .cli(&[
            "grant", "list", "--caller", caller, "--target", target, "--json",
        ])
        .await;
    let list: Value = serde_json::from_str(&list).expect("JSON grant list");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    list[0]["id"].as_str().expect("grant id").to_string()
}

/// An agent with two skills, `quote` and `refund`: it answers every
/// message with its text and counts the messages that reached it.
struct Desk {
    runs: Arc<AtomicUsize>,
}

impl AgentExecutor for Desk {
    fn card(&self) -> AgentCard {
        serde_json::from_value(json!({
            "name": "desk", "description": "quotes and refunds", "version": "1",
            "supportedInterfaces": [],
            "capabilities": {"streaming": true},
            "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
            "skills": [
                {"id": "quote", "name": "Quote", "description": "prices", "tags": []},
                {"id": "refund", "name": "Refund", "description": "money back", "tags": []}
            ]
        }))
        .expect("the desk card is valid")
    }

    fn execute(&self, ctx: RequestContext, updater: TaskUpdater) -> BoxFuture {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let reply = text_artifact("reply", "reply", &ctx.text());
            if updater.artifact(reply, false, true).await {
                updater.status(TaskState::Completed, None).await;
            }
        })
    }
}

/// Serves `Desk` in this process on an ephemeral port; returns its URL and
/// how many messages reached it.
async fn start_desk(dir: &Path) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind desk");
    let url = format!("http://{}", listener.local_addr().expect("desk address"));
    let store = warden_store::Store::open(&dir.join("desk.db"))
        .await
        .expect("desk store");
    let runs = Arc::new(AtomicUsize::new(0));
    let desk = Arc::new(Desk { runs: runs.clone() });
    let router = warden_agent::agent_router(
        "desk",
        desk,
        store,
        &url,
        warden_agent::ServerLimits::default(),
    )
    .await
    .expect("desk router");
    tokio::spawn(warden_agent::serve(
        listener,
        router,
        std::future::pending(),
    ));
    (url, runs)
}

#[tokio::test]
async fn authz_a_message_needs_a_granted_skill_in_the_credentials_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, runs) = start_desk(dir.path()).await;
    // `tester` is granted every skill of desk; bob only `quote`.
    let w = gw(gateway(&format!("[[agents]]\nname = \"desk\"\nurl = \"{url}\"\n")).await);
    w.cli(&["registry", "add", "bob", "--grant", "desk=quote"])
        .await;
    let bob = api_key(&w, "bob").await;
    let desk = "/agents/desk";
    let mut reached = 0;

    // A token scoped to one skill: the other is refused, though granted.
    let scoped = mint(&w, "tester", "desk", "quote", 5).await;
    let a = send(
        &w,
        JsonRpc,
        desk,
        &scoped[0],
        naming_skill("price?", "quote"),
    )
    .await;
    passed(&a, JsonRpc, "a skill in scope");
    reached += 1;
    for (b, token) in BOTH.into_iter().zip(&scoped[1..]) {
        let a = send(&w, b, desk, token, naming_skill("refund me", "refund")).await;
        assert_forbidden(
            &a,
            b,
            "skill \"refund\" is not allowed",
            "outside the scope",
        );
    }
    // The per-skill route is scoped the same way.
    let a = send(
        &w,
        JsonRpc,
        "/agents/desk/skills/refund",
        &scoped[3],
        user_message("refund me"),
    )
    .await;
    assert_forbidden(&a, JsonRpc, "skill \"refund\"", "route outside the scope");
    // Unnamed on an agent with two skills: only a caller granted and scoped
    // to every skill may leave it out.
    let a = send(&w, Rest, desk, &scoped[4], user_message("something")).await;
    assert_forbidden(&a, Rest, "name the skill", "unnamed, scoped token");

    for b in BOTH {
        // A skill the grant does not name.
        let a = send(&w, b, desk, &bob, naming_skill("refund me", "refund")).await;
        assert_forbidden(&a, b, "skill \"refund\" is not allowed", "not granted");
        // No skill named, and the agent has two: nothing to decide on.
        let a = send(&w, b, desk, &bob, user_message("something")).await;
        assert_forbidden(&a, b, "name the skill", "unnamed skill");
        // The per-skill route names it.
        let a = send(
            &w,
            b,
            "/agents/desk/skills/quote",
            &bob,
            user_message("price?"),
        )
        .await;
        let task = task_in(&a, b, "the per-skill route");
        assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{a}");
        reached += 1;
        // …and is checked like any other naming.
        let a = send(&w, b, "/agents/desk/skills/refund", &bob, user_message("x")).await;
        assert_forbidden(
            &a,
            b,
            "skill \"refund\" is not allowed",
            "route not granted",
        );
        // Route and extension must agree; the route must be a skill of the card.
        let a = send(
            &w,
            b,
            "/agents/desk/skills/quote",
            &bob,
            naming_skill("x", "refund"),
        )
        .await;
        assert_error(
            &a,
            b,
            &INVALID_PARAMS,
            "the route names \"quote\"",
            "conflict",
        );
        let a = send(
            &w,
            b,
            "/agents/desk/skills/quote",
            &bob,
            naming_skill("x", "quote"),
        )
        .await;
        passed(&a, b, "route and extension agree");
        reached += 1;
        let a = send(&w, b, "/agents/desk/skills/nope", &bob, user_message("x")).await;
        // A skill is not checked against the card (agents may have skills
        // only their extended card shows): the grant decides.
        assert_error(
            &a,
            b,
            &FORBIDDEN,
            "\"nope\" is not allowed",
            "unknown skill",
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        reached,
        "refused messages never reach the agent"
    );
}

#[tokio::test]
async fn authz_push_configs_and_the_extended_card_need_their_own_grant() {
    let w = gw(up(&[]).await);
    let me = w.api_key().await;
    let a = send(&w, JsonRpc, "/agents/input", &me, user_message("hi")).await;
    let task = task_in(&a, JsonRpc, "an own task")["id"].clone();
    let hook = json!({"taskId": task, "url": "https://93.184.216.34/a2a"});
    let push = Call::Rpc("CreateTaskPushNotificationConfig", hook);
    let card = Call::Rest(Method::GET, "/extendedAgentCard".into(), None);

    // Not by default, even on one's own task.
    let a = push.make(&w, "/agents/input", &me).await;
    assert_forbidden(
        &a,
        JsonRpc,
        "operation class \"push\" is not granted",
        "push",
    );
    let a = card.make(&w, "/agents/echo", &me).await;
    assert_forbidden(
        &a,
        Rest,
        "\"extended-card\" is not granted",
        "extended card",
    );

    for (target, skill, ops) in [
        ("input", "greet", "push"),
        ("echo", "echo", "extended-card"),
    ] {
        w.cli(&[
            "grant",
            "add",
            "demo-client",
            target,
            "--skills",
            skill,
            "--ops",
            ops,
        ])
        .await;
    }
    let a = push.make(&w, "/agents/input", &me).await;
    passed(&a, JsonRpc, "push granted");
    let a = card.make(&w, "/agents/echo", &me).await;
    let card = passed(&a, Rest, "extended card granted");
    assert!(card.to_string().contains("echo-upper"), "{a}");
}

#[tokio::test]
async fn authz_a_granted_skill_of_the_extended_card_can_be_used() {
    let w = gw(up(&[]).await);
    // `warden up` grants demo-client both echo skills; `echo-upper` is
    // listed on echo's extended card only.
    let tokens = mint(&w, "demo-client", "echo", "", 2).await;
    let a = send(
        &w,
        JsonRpc,
        "/agents/echo",
        &tokens[0],
        naming_skill("hi", "echo-upper"),
    )
    .await;
    passed(&a, JsonRpc, "named by the extension");
    let a = send(
        &w,
        Rest,
        "/agents/echo/skills/echo-upper",
        &tokens[1],
        user_message("hi"),
    )
    .await;
    passed(&a, Rest, "named by the route");
}

#[tokio::test]
async fn authz_a_grant_revoked_mid_session_refuses_the_very_next_call() {
    let w = gw(up(&[]).await);
    // What an authenticated caller hears about an agent the gateway does
    // not have: a grant for a name no agent has lets a token be minted.
    w.cli(&["grant", "add", "demo-client", "ghost", "--skills", "ghost"])
        .await;
    let ghost = mint(&w, "demo-client", "ghost", "", 2).await;
    let mut unknown = Vec::new();
    for (b, token) in BOTH.into_iter().zip(&ghost) {
        let a = send(&w, b, "/agents/ghost", token, user_message("hello")).await;
        assert_eq!(a.status, if b == JsonRpc { 200 } else { 404 }, "{a}");
        assert!(a.json().to_string().contains("no such agent"), "{a}");
        unknown.push(a);
    }
    assert_eq!(unknown[0].json()["id"], Value::Null, "{}", unknown[0]);

    // Mid-session: tokens already in hand, an API key, calls going through.
    let tokens = mint(&w, "demo-client", "echo", "", 3).await;
    let key = w.api_key().await;
    passed(
        &send(&w, JsonRpc, "/agents/echo", &tokens[0], user_message("1")).await,
        JsonRpc,
        "before the revocation",
    );
    passed(
        &send(&w, Rest, "/agents/echo", &key, user_message("2")).await,
        Rest,
        "before the revocation, by API key",
    );

    let id = grant_id(&w, "demo-client", "echo").await;
    assert_eq!(
        w.cli(&["grant", "revoke", &id]).await,
        format!("revoked {id}")
    );
    // The very next call, with a token minted before: echo is now answered
    // exactly as an agent that does not exist.
    for (i, b) in BOTH.into_iter().enumerate() {
        let a = send(&w, b, "/agents/echo", &tokens[i + 1], user_message("3")).await;
        assert_same(&a, &unknown[i], &format!("revoked, {b:?}"));
    }
    // An API key carries its subject's grants: echo is now answered as any
    // agent the key has no grant for.
    for b in BOTH {
        let got = send(&w, b, "/agents/echo", &key, user_message("4")).await;
        let want = send(&w, b, "/agents/nowhere", &key, user_message("4")).await;
        assert_eq!(want.status, 401, "{want}");
        assert_same(&got, &want, &format!("revoked, API key, {b:?}"));
    }
}

/// Every call that names `task`, once in each binding: (what, call).
fn task_calls(task: &str) -> Vec<(&'static str, Call)> {
    let hook = json!({"url": "https://93.184.216.34/a2a"});
    let mut create = hook.clone();
    create["taskId"] = json!(task);
    let ids = json!({"taskId": task, "id": "cfg-1"});
    // One message id for both tasks, so the two requests differ only in it.
    let mut follow_up = within("more", "taskId", task);
    follow_up["messageId"] = json!("m-follow-up");
    let message = json!({"message": follow_up});
    let t = format!("/tasks/{task}");
    let push = format!("{t}/pushNotificationConfigs");
    vec![
        ("GetTask", Call::Rpc("GetTask", json!({"id": task}))),
        ("GetTask", Call::Rest(Method::GET, t.clone(), None)),
        ("CancelTask", Call::Rpc("CancelTask", json!({"id": task}))),
        (
            "CancelTask",
            Call::Rest(Method::POST, format!("{t}:cancel"), None),
        ),
        (
            "SubscribeToTask",
            Call::Rpc("SubscribeToTask", json!({"id": task})),
        ),
        (
            "SubscribeToTask",
            Call::Rest(Method::GET, format!("{t}:subscribe"), None),
        ),
        (
            "CreatePushConfig",
            Call::Rpc("CreateTaskPushNotificationConfig", create),
        ),
        (
            "CreatePushConfig",
            Call::Rest(Method::POST, push.clone(), Some(hook)),
        ),
        (
            "GetPushConfig",
            Call::Rpc("GetTaskPushNotificationConfig", ids.clone()),
        ),
        (
            "GetPushConfig",
            Call::Rest(Method::GET, format!("{push}/cfg-1"), None),
        ),
        (
            "ListPushConfigs",
            Call::Rpc("ListTaskPushNotificationConfigs", json!({"taskId": task})),
        ),
        (
            "ListPushConfigs",
            Call::Rest(Method::GET, push.clone(), None),
        ),
        (
            "DeletePushConfig",
            Call::Rpc("DeleteTaskPushNotificationConfig", ids),
        ),
        (
            "DeletePushConfig",
            Call::Rest(Method::DELETE, format!("{push}/cfg-1"), None),
        ),
        (
            "SendMessage with taskId",
            Call::Rpc("SendMessage", message.clone()),
        ),
        (
            "SendMessage with taskId",
            Call::Rest(Method::POST, "/message:send".into(), Some(message.clone())),
        ),
        (
            "SendStreamingMessage with taskId",
            Call::Rpc("SendStreamingMessage", message.clone()),
        ),
        (
            "SendStreamingMessage with taskId",
            Call::Rest(Method::POST, "/message:stream".into(), Some(message)),
        ),
    ]
}

/// One call in one binding.
enum Call {
    Rpc(&'static str, Value),
    Rest(Method, String, Option<Value>),
}

impl Call {
    fn binding(&self) -> Binding {
        match self {
            Self::Rpc(..) => JsonRpc,
            Self::Rest(..) => Rest,
        }
    }

    async fn make(&self, w: &Gw, route: &str, credential: &str) -> Answer {
        match self {
            Self::Rpc(method, params) => rpc(w, route, credential, method, params.clone()).await,
            Self::Rest(method, path, body) => {
                rest(w, method.clone(), route, path, credential, body.as_ref()).await
            }
        }
    }
}

/// The task ids of a ListTasks answer (whose total counts only them).
fn listed(a: &Answer, binding: Binding) -> Vec<String> {
    let result = passed(a, binding, "ListTasks");
    let ids: Vec<String> = result["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no task list: {a}"))
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect();
    if let Some(total) = result.get("totalSize") {
        assert_eq!(total, ids.len(), "{a}");
    }
    ids
}

#[tokio::test]
async fn authz_another_callers_task_is_answered_as_a_missing_one() {
    let w = gw(up(&[]).await);
    w.cli(&["registry", "add", "bob", "--grant", "input=greet"])
        .await;
    // demo-client may do everything with `input`, push configs included:
    // what refuses below is ownership, not the operation class.
    w.cli(&[
        "grant",
        "add",
        "demo-client",
        "input",
        "--skills",
        "greet",
        "--ops",
        "all",
    ])
    .await;
    let (bob, me) = (api_key(&w, "bob").await, w.api_key().await);
    let input = "/agents/input";
    // `input` waits for a name: both tasks stay open.
    let theirs = task_in(
        &send(&w, JsonRpc, input, &bob, user_message("hi")).await,
        JsonRpc,
        "bob's task",
    );
    assert_eq!(theirs["status"]["state"], "TASK_STATE_INPUT_REQUIRED");
    let theirs = theirs["id"].as_str().expect("id").to_string();
    let mine = task_in(
        &send(&w, Rest, input, &me, user_message("hi")).await,
        Rest,
        "demo-client's task",
    );
    let mine = mine["id"].as_str().expect("id").to_string();
    // A task made over a stream is bob's too (recorded as its first event
    // passes).
    let (_, first) = open_stream(&w, "input", &bob, "hi").await;
    let streamed = first["result"]["task"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a task first: {first}"))
        .to_string();
    let missing = uuid::Uuid::new_v4().to_string();
    assert_eq!(missing.len(), theirs.len(), "ids of one shape");

    // Each answer about bob's task is the answer about a task that does
    // not exist, byte for byte once the id it repeats is set aside.
    let absent = task_calls(&missing);
    let mut foreign: Vec<(&str, (&str, Call))> = task_calls(&theirs)
        .into_iter()
        .map(|c| (theirs.as_str(), c))
        .collect();
    // GetTask (in both bindings, as the calls start) on the streamed task.
    foreign.extend(
        task_calls(&streamed)
            .into_iter()
            .take(2)
            .map(|c| (streamed.as_str(), c)),
    );
    for ((id, (what, call)), (_, control)) in foreign.iter().zip(absent.iter().cycle()) {
        let b = call.binding();
        let got = call.make(&w, input, &me).await;
        let want = control.make(&w, input, &me).await;
        let what = format!("{what} ({b:?}) on {id}");
        assert_error(
            &want,
            b,
            &TASK_NOT_FOUND,
            &format!("task {missing} not found"),
            &what,
        );
        let got_body = String::from_utf8_lossy(&got.body).replace(id, "TASK");
        let want_body = String::from_utf8_lossy(&want.body).replace(&missing, "TASK");
        assert_eq!(
            (got.status, got.header("content-type"), got_body),
            (want.status, want.header("content-type"), want_body),
            "{what}"
        );
    }

    // Nothing reached bob's task; he still sees and continues it.
    let a = rpc(&w, input, &bob, "GetTask", json!({"id": theirs})).await;
    assert_eq!(
        passed(&a, JsonRpc, "bob's GetTask")["status"]["state"],
        "TASK_STATE_INPUT_REQUIRED",
        "demo-client's CancelTask never reached the agent"
    );

    // ListTasks: each caller sees its own tasks only.
    for list in [
        Call::Rpc("ListTasks", json!({})),
        Call::Rest(Method::GET, "/tasks".into(), None),
    ] {
        let b = list.binding();
        let ids = listed(&list.make(&w, input, &me).await, b);
        assert_eq!(ids, [mine.as_str()], "demo-client's list ({b:?})");
        let mut ids = listed(&list.make(&w, input, &bob).await, b);
        ids.sort();
        let mut want = [theirs.as_str(), streamed.as_str()];
        want.sort();
        assert_eq!(ids, want, "bob's list ({b:?})");
    }

    let a = send(&w, JsonRpc, input, &bob, within("Ada", "taskId", &theirs)).await;
    let task = task_in(&a, JsonRpc, "bob's follow-up");
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{a}");
    assert!(a.json().to_string().contains("Hello, Ada!"), "{a}");
}

#[tokio::test]
async fn authz_a_context_is_joined_only_by_its_owner() {
    let w = gw(up(&[]).await);
    w.cli(&["registry", "add", "bob", "--grant", "echo=echo"])
        .await;
    let (bob, me) = (api_key(&w, "bob").await, w.api_key().await);
    let echo = "/agents/echo";
    let first = task_in(
        &send(&w, JsonRpc, echo, &bob, user_message("one")).await,
        JsonRpc,
        "bob's first task",
    );
    let context = first["contextId"].as_str().expect("contextId").to_string();

    for b in BOTH {
        let a = send(&w, b, echo, &me, within("join", "contextId", &context)).await;
        assert_forbidden(&a, b, "the context is not available", "another's context");
        // The owner continues it.
        let a = send(&w, b, echo, &bob, within("two", "contextId", &context)).await;
        let task = task_in(&a, b, "bob continues his context");
        assert_eq!(task["contextId"], context.as_str(), "{a}");
        assert_ne!(task["id"], first["id"], "a new task in the same context");
    }

    // A context id nobody has used yet belongs to whoever uses it first.
    let fresh = format!("ctx-{}", uuid::Uuid::new_v4());
    let a = send(&w, Rest, echo, &me, within("mine", "contextId", &fresh)).await;
    assert_eq!(
        task_in(&a, Rest, "a fresh context")["contextId"],
        fresh.as_str()
    );
    let a = send(&w, JsonRpc, echo, &bob, within("join", "contextId", &fresh)).await;
    assert_forbidden(&a, JsonRpc, "the context is not available", "claimed");
}

/// Opens a JSON-RPC stream; returns it and its first event.
async fn open_stream(
    w: &Gw,
    agent: &str,
    credential: &str,
    text: &str,
) -> (reqwest::Response, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "SendStreamingMessage",
                      "params": {"message": user_message(text)}});
    let mut r = w
        .http
        .post(format!("{}/agents/{agent}", w.gateway))
        .header("A2A-Version", "1.0")
        .header("Accept", "text/event-stream")
        .bearer_auth(credential)
        .json(&body)
        .send()
        .await
        .expect("open the stream");
    assert_eq!(r.status(), 200);
    let mut decoder = warden_a2a::sse::SseDecoder::new(1 << 20);
    loop {
        let chunk = tokio::time::timeout(WAIT, r.chunk())
            .await
            .expect("a first event in time")
            .expect("read the stream")
            .expect("the stream is open");
        let events = decoder.feed(&chunk).expect("valid SSE");
        if let Some(first) = events.first() {
            let event = serde_json::from_str(&first.data).expect("a JSON event");
            return (r, event);
        }
    }
}

/// How long until `stream` ends (given up on after five seconds).
async fn time_to_end(mut stream: reqwest::Response) -> Duration {
    let since = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream is still open after 5 s");
    since.elapsed()
}

#[tokio::test]
async fn authz_quarantine_closes_streams_and_refuses_calls_both_ways() {
    // A hundred steps 300 ms apart: left alone, a stream lasts 30 s.
    let w = gw(up(&["--step-interval-ms", "300"]).await);
    w.cli(&[
        "registry",
        "add",
        "bob",
        "--grant",
        "slow=count",
        "--grant",
        "echo=echo",
    ])
    .await;
    let (bob, me) = (api_key(&w, "bob").await, w.api_key().await);

    // The agent quarantined.
    let (stream, _) = open_stream(&w, "slow", &me, "100").await;
    w.cli(&["quarantine", "add", "slow", "--reason", "runaway"])
        .await;
    let took = time_to_end(stream).await;
    println!("the stream to the quarantined agent closed after {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "the stream to the quarantined agent closed after {took:?}"
    );
    for (who, key) in [("demo-client", &me), ("bob", &bob)] {
        for b in BOTH {
            let a = send(&w, b, "/agents/slow", key, user_message("1")).await;
            assert_forbidden(&a, b, "agent \"slow\" is quarantined", who);
        }
    }
    let a = rpc(
        &w,
        "/agents/slow",
        &me,
        "SendStreamingMessage",
        json!({"message": user_message("1")}),
    )
    .await;
    assert_forbidden(&a, JsonRpc, "quarantined", "a new stream");
    let a = send(&w, JsonRpc, "/agents/echo", &me, user_message("hi")).await;
    passed(&a, JsonRpc, "other agents are not affected");
    w.cli(&["quarantine", "remove", "slow"]).await;
    let a = send(&w, JsonRpc, "/agents/slow", &me, user_message("1")).await;
    passed(&a, JsonRpc, "released");

    // The caller quarantined.
    let (stream, _) = open_stream(&w, "slow", &me, "100").await;
    w.cli(&["quarantine", "add", "demo-client", "--reason", "leaked key"])
        .await;
    let took = time_to_end(stream).await;
    println!("the quarantined caller's stream closed after {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "the quarantined caller's stream closed after {took:?}"
    );
    for b in BOTH {
        let a = send(&w, b, "/agents/echo", &me, user_message("hi")).await;
        assert_forbidden(&a, b, "the calling agent is quarantined", "caller");
    }
    let a = send(&w, JsonRpc, "/agents/echo", &bob, user_message("hi")).await;
    passed(&a, JsonRpc, "other callers are not affected");
    w.cli(&["quarantine", "remove", "demo-client"]).await;
    let a = send(&w, Rest, "/agents/echo", &me, user_message("hi")).await;
    passed(&a, Rest, "released");
}

const SPY: &str = "/agents/spy";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authz_one_callers_burst_does_not_starve_another() {
    let spy = Spy::start().await;
    // Only the per-caller limit is on, and tight.
    let off = "{ rate = \"off\", burst = 1 }";
    let w = Arc::new(gw(gateway(&format!(
        "[rate_limits]\nsource = {off}\npair = {off}\nskill = {off}\n\
         principal = {{ rate = \"20/s\", burst = 20 }}\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await));
    w.cli(&["registry", "add", "bob", "--grant", "spy=spy"])
        .await;
    let (a_key, b_key) = (w.api_key().await, api_key(&w, "bob").await);
    let started = Arc::new(tokio::sync::Notify::new());
    let done = Arc::new(AtomicBool::new(false));

    // Caller A: 200 calls at once, then waves of 20 until B is through.
    let burst = tokio::spawn({
        let (w, started, done) = (w.clone(), started.clone(), done.clone());
        async move {
            let mut answers = Vec::new();
            let mut wave = 200;
            loop {
                let calls = (0..wave).map(|i| {
                    let b = if i % 2 == 0 { JsonRpc } else { Rest };
                    let (w, key) = (&w, a_key.as_str());
                    async move { (b, send(w, b, SPY, key, user_message("a")).await) }
                });
                answers.extend(futures_util::future::join_all(calls).await);
                started.notify_one();
                if done.load(Ordering::SeqCst) || answers.len() > 5_000 {
                    return answers;
                }
                wave = 20;
            }
        }
    });
    // Caller B: paced sequential calls once A is over its limit.
    let steady = tokio::spawn({
        let w = w.clone();
        async move {
            started.notified().await;
            let mut seen = Vec::new();
            for i in 0..10 {
                let b = if i % 2 == 0 { JsonRpc } else { Rest };
                let t = Instant::now();
                let a = send(&w, b, SPY, &b_key, user_message("b")).await;
                seen.push((b, a, t.elapsed()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            done.store(true, Ordering::SeqCst);
            seen
        }
    });
    let b_answers = steady.await.expect("caller B");
    let a_answers = burst.await.expect("caller A");

    let refused: Vec<&(Binding, Answer)> =
        a_answers.iter().filter(|(_, a)| a.status == 429).collect();
    let allowed = a_answers.iter().filter(|(_, a)| a.status == 200).count();
    assert_eq!(
        refused.len() + allowed,
        a_answers.len(),
        "A: only 200s and 429s"
    );
    assert!(
        refused.len() >= 100,
        "A: {} of {} refused",
        refused.len(),
        a_answers.len()
    );
    for (b, a) in &refused {
        assert_error(a, *b, &RATE_LIMITED, "rate limit (principal)", "A refused");
        let retry: u64 = a
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("retry-after: {a}"));
        assert!(retry >= 1, "{a}");
        assert_eq!(a.header("ratelimit-limit"), Some("20"), "{a}");
        assert_eq!(a.header("ratelimit-remaining"), Some("0"), "{a}");
        assert!(a.header("ratelimit-reset").is_some(), "{a}");
    }
    for (b, a, _) in &b_answers {
        passed(a, *b, "B is never refused for A's burst");
        assert!(a.header("ratelimit-remaining").is_some(), "{a}");
    }
    let mut ms: Vec<f64> = b_answers
        .iter()
        .map(|(_, _, d)| d.as_secs_f64() * 1e3)
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "A: {} calls, {allowed} allowed, {} refused; B: {} calls, latency ms min {:.1} median {:.1} max {:.1}",
        a_answers.len(),
        refused.len(),
        ms.len(),
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() - 1]
    );
}

/// The rate limiter counts on the gateway's clock: a caller refused with
/// `Retry-After: 60` goes through once that clock has moved 60 s on (in
/// this debug build, [`Running::advance_clock`]), with no wait, and is
/// refused again right after.
#[tokio::test]
async fn authz_a_rate_limit_refills_on_the_gateways_clock() {
    let spy = Spy::start().await;
    let off = "{ rate = \"off\", burst = 1 }";
    let w = gw(gateway(&format!(
        "[rate_limits]\nsource = {off}\npair = {off}\nskill = {off}\n\
         principal = {{ rate = \"1/m\", burst = 1 }}\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await);
    let key = w.api_key().await;
    let a = send(&w, JsonRpc, SPY, &key, user_message("1")).await;
    passed(&a, JsonRpc, "the first call");
    let a = send(&w, Rest, SPY, &key, user_message("2")).await;
    assert_error(
        &a,
        Rest,
        &RATE_LIMITED,
        "rate limit (principal)",
        "the second",
    );
    let retry: u64 = a
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("retry-after: {a}"));
    assert!((59..=60).contains(&retry), "{a}");
    w.advance_clock(retry);
    let a = send(&w, Rest, SPY, &key, user_message("3")).await;
    passed(&a, Rest, "after Retry-After on the gateway's clock");
    let a = send(&w, JsonRpc, SPY, &key, user_message("4")).await;
    assert_error(
        &a,
        JsonRpc,
        &RATE_LIMITED,
        "rate limit (principal)",
        "and again",
    );
}

/// The request audit events (not CLI changes) of an `up` instance, once
/// the writer (which batches off the request path) has stored every event
/// emitted so far; `pred` must hold for them.
async fn audit_where(
    w: &Running,
    pred: impl Fn(&[warden_store::AuditRecord]) -> bool,
) -> Vec<warden_store::AuditRecord> {
    w.flush_audit().await;
    let store = warden_store::Store::open(&w.dir.path().join("warden.db"))
        .await
        .expect("store");
    let mut events = store.recent_audit(200).await.expect("audit");
    events.retain(|e| e.kind == "request");
    assert!(pred(&events), "{events:?}");
    events
}

fn detail(e: &warden_store::AuditRecord) -> Value {
    e.detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn authz_every_decision_is_audited_with_its_grant_or_reason() {
    let w = gw(up(&[]).await);
    w.cli(&["registry", "add", "bob", "--grant", "input=greet"])
        .await;
    let grant = grant_id(&w, "demo-client", "echo").await;
    let tokens = mint(&w, "demo-client", "echo", "", 2).await;
    let out_of_scope = mint(&w, "demo-client", "echo", "echo-upper", 1).await;
    let bob = api_key(&w, "bob").await;

    // Allowed: the skill implied by echo's only skill, then named by the route.
    let a = send(
        &w,
        JsonRpc,
        "/agents/echo",
        &tokens[0],
        user_message("ok 1"),
    )
    .await;
    passed(&a, JsonRpc, "allowed");
    let a = send(
        &w,
        Rest,
        "/agents/echo/skills/echo",
        &tokens[1],
        user_message("ok 2"),
    )
    .await;
    passed(&a, Rest, "allowed by route");
    // Denied: a skill outside the token's scope; a task that is not the
    // caller's; a grant revoked under a token already issued.
    let a = send(
        &w,
        JsonRpc,
        "/agents/echo",
        &out_of_scope[0],
        user_message("no 1"),
    )
    .await;
    assert_forbidden(&a, JsonRpc, "skill \"echo\"", "outside the scope");
    let bob_token = mint(&w, "bob", "input", "", 2).await;
    let task = uuid::Uuid::new_v4().to_string();
    let a = rpc(
        &w,
        "/agents/input",
        &bob_token[0],
        "GetTask",
        json!({"id": task}),
    )
    .await;
    assert_error(&a, JsonRpc, &TASK_NOT_FOUND, "not found", "a task not ours");
    w.cli(&["grant", "revoke", "--caller", "bob", "--target", "input"])
        .await;
    let a = send(
        &w,
        Rest,
        "/agents/input",
        &bob_token[1],
        user_message("no 2"),
    )
    .await;
    assert_eq!(a.status, 404, "answered as an unknown agent: {a}");
    // Without a grant an API key is no credential at all.
    let a = send(&w, Rest, "/agents/input", &bob, user_message("no 3")).await;
    assert_eq!(a.status, 401, "{a}");

    let events = audit_where(&w, |e| {
        e.iter().filter(|e| e.outcome == "forwarded").count() >= 2
            && e.iter().filter(|e| e.outcome == "refused").count() >= 4
    })
    .await;
    let forwarded: Vec<Value> = events
        .iter()
        .filter(|e| e.outcome == "forwarded")
        .map(|e| {
            assert_eq!(e.principal.as_deref(), Some("demo-client"), "{e:?}");
            assert_eq!(e.agent.as_deref(), Some("echo"), "{e:?}");
            detail(e)
        })
        .collect();
    for source in ["only-skill", "route"] {
        let d = forwarded
            .iter()
            .find(|d| d["skill_source"] == source)
            .unwrap_or_else(|| panic!("no allow by {source}: {forwarded:?}"));
        assert_eq!(d["decision"], "allow", "{d}");
        assert_eq!(d["grant"], grant.as_str(), "{d}");
        assert_eq!(d["skill"], "echo", "{d}");
    }
    let denied = |reason: &str| {
        let e = events
            .iter()
            .find(|e| e.outcome == "refused" && e.reason.as_deref() == Some(reason))
            .unwrap_or_else(|| panic!("no refusal {reason:?}: {events:?}"));
        let d = detail(e);
        assert_eq!(d["decision"], "deny", "{e:?}");
        assert_eq!(d["reason"], reason, "{e:?}");
        e.clone()
    };
    let e = denied("skill_not_in_scope:echo");
    assert_eq!(e.principal.as_deref(), Some("demo-client"), "{e:?}");
    assert_eq!(e.operation.as_deref(), Some("SendMessage"), "{e:?}");
    let e = denied("task_not_visible");
    assert_eq!(e.principal.as_deref(), Some("bob"), "{e:?}");
    assert_eq!(e.task_id.as_deref(), Some(task.as_str()), "{e:?}");
    let e = denied("no_grant");
    assert_eq!(e.principal.as_deref(), Some("bob"), "{e:?}");
    assert_eq!(e.agent.as_deref(), Some("input"), "{e:?}");
    // The API key: refused at authentication, before the agent is told
    // apart, and audited too.
    assert!(
        events.iter().any(|e| e.outcome == "refused"
            && e.agent.is_none()
            && e.reason.as_deref().is_some_and(|r| r.contains("audience"))),
        "{events:?}"
    );
    let dump = format!("{events:?}");
    for text in ["ok 1", "ok 2", "no 1", "no 2", "no 3"] {
        assert!(!dump.contains(text), "no message text in the audit");
    }
}

/// The extended card lists only the skills the caller is granted.
#[tokio::test]
async fn the_extended_card_is_cut_to_the_callers_skills() {
    let w = gw(up(&[]).await);
    w.cli(&["registry", "add", "narrow"]).await;
    w.cli(&[
        "grant",
        "add",
        "narrow",
        "echo",
        "--skills",
        "echo",
        "--ops",
        "extended-card",
    ])
    .await;
    let key = w.cli(&["apikey", "create", "--sub", "narrow"]).await;
    let card = Call::Rest(Method::GET, "/extendedAgentCard".into(), None);
    let a = card.make(&w, "/agents/echo", &key).await;
    let got = passed(&a, Rest, "extended card granted");
    let ids: Vec<&str> = got["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, ["echo"], "{got}");
    // Asked again (now from the per-caller cache, in the other binding too):
    // the same cut.
    let again = passed(&card.make(&w, "/agents/echo", &key).await, Rest, "again");
    assert_eq!(again, got);
    let rpc = Call::Rpc("GetExtendedAgentCard", json!({}));
    let via_rpc = passed(&rpc.make(&w, "/agents/echo", &key).await, JsonRpc, "rpc");
    assert_eq!(via_rpc["skills"], got["skills"], "{via_rpc}");
    // A wider grant is seen at once (the cache is per granted skill set).
    w.cli(&[
        "grant",
        "add",
        "narrow",
        "echo",
        "--skills",
        "echo-upper",
        "--ops",
        "extended-card",
    ])
    .await;
    let wider = passed(&card.make(&w, "/agents/echo", &key).await, Rest, "wider");
    assert!(wider.to_string().contains("echo-upper"), "{wider}");
    // The full card, for a caller granted every skill, has the other one.
    let me = w.api_key().await;
    w.cli(&[
        "grant",
        "add",
        "demo-client",
        "echo",
        "--skills",
        "*",
        "--ops",
        "extended-card",
    ])
    .await;
    let a = card.make(&w, "/agents/echo", &me).await;
    assert!(
        passed(&a, Rest, "full").to_string().contains("echo-upper"),
        "{a}"
    );
}

#[tokio::test]
async fn authz_a_referenced_task_must_be_the_callers_own() {
    let w = gw(up(&[]).await);
    w.cli(&["registry", "add", "bob", "--grant", "input=greet"])
        .await;
    w.cli(&[
        "grant",
        "add",
        "demo-client",
        "input",
        "--skills",
        "greet",
        "--ops",
        "all",
    ])
    .await;
    let (bob, me) = (api_key(&w, "bob").await, w.api_key().await);
    let input = "/agents/input";
    let theirs = task_in(
        &send(&w, JsonRpc, input, &bob, user_message("hi")).await,
        JsonRpc,
        "bob's task",
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mine = task_in(
        &send(&w, JsonRpc, input, &me, user_message("hi")).await,
        JsonRpc,
        "my task",
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    let missing = uuid::Uuid::new_v4().to_string();
    let referencing = |ids: &[&str]| {
        let mut m = user_message("see those");
        m["referenceTaskIds"] = json!(ids);
        m
    };

    for b in BOTH {
        // Bob's task named as a reference is answered exactly like a task
        // that does not exist.
        let got = send(&w, b, input, &me, referencing(&[&mine, &theirs])).await;
        let want = send(&w, b, input, &me, referencing(&[&mine, &missing])).await;
        assert_error(
            &want,
            b,
            &TASK_NOT_FOUND,
            &format!("task {missing} not found"),
            "a missing reference",
        );
        assert_eq!(
            (
                got.status,
                String::from_utf8_lossy(&got.body).replace(&theirs, "TASK")
            ),
            (
                want.status,
                String::from_utf8_lossy(&want.body).replace(&missing, "TASK")
            ),
            "a foreign reference ({b:?})"
        );
        // Its own tasks may be referenced.
        let a = send(&w, b, input, &me, referencing(&[&mine])).await;
        task_in(&a, b, "an own reference");
    }

    // The same in the v0.3 dialect.
    let legacy = |ids: &[&str]| {
        json!({"message": {"kind": "message", "role": "user", "messageId": uuid::Uuid::new_v4().to_string(),
            "referenceTaskIds": ids, "parts": [{"kind": "text", "text": "old"}]}})
    };
    let a = rpc(&w, input, &me, "message/send", legacy(&[&theirs])).await;
    assert_error(
        &a,
        JsonRpc,
        &TASK_NOT_FOUND,
        &format!("task {theirs} not found"),
        "v0.3 reference",
    );
    let a = rpc(&w, input, &me, "message/send", legacy(&[&mine])).await;
    assert_eq!(a.status, 200, "{a}");
    assert!(a.json().get("result").is_some(), "{a}");

    // A push config sent with a message may not name another's task.
    let mut params = json!({"message": user_message("push for bob")});
    params["configuration"] = json!({"taskPushNotificationConfig": {
        "taskId": theirs, "url": "https://hooks.example.com/a2a"}});
    let a = rpc(&w, input, &me, "SendMessage", params).await;
    assert_error(
        &a,
        JsonRpc,
        &TASK_NOT_FOUND,
        &format!("task {theirs} not found"),
        "push config for another's task",
    );

    // Lookups are bounded.
    let many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let a = send(&w, JsonRpc, input, &me, referencing(&many)).await;
    assert_error(&a, JsonRpc, &INVALID_PARAMS, "at most 64", "65 references");

    // Bob's task was never touched: he still continues it.
    let a = send(&w, JsonRpc, input, &bob, within("Ada", "taskId", &theirs)).await;
    assert_eq!(
        task_in(&a, JsonRpc, "bob continues")["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
}
