//! Answers from agents are checked before callers see them (issue 20,
//! part 3): a hostile agent (this file's own HTTP server, not Warden code)
//! that answers with another task's id, malformed JSON, a wrong content
//! type, an oversized stream event or a stream that wanders to another
//! task is answered to the caller as a protocol error each time, and the
//! refusal is audited.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::{Running, client, gateway, user_message};

/// What the hostile agent answers to one call: status, content type, body.
type Answer = (u16, &'static str, String);

/// A one-trick agent: its card, and for every other request whatever
/// `answer` makes of the call (the parsed JSON body).
async fn hostile(answer: fn(&Value) -> Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let card_url = url.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let card_url = card_url.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(sock);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut len = 0;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let (status, ctype, out) = if path.ends_with("/.well-known/agent-card.json") {
                        (200, "application/json", card(&card_url))
                    } else {
                        answer(&serde_json::from_slice(&body).unwrap_or(Value::Null))
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
                        out.len()
                    );
                    let sock = reader.get_mut();
                    if sock.write_all(head.as_bytes()).await.is_err()
                        || sock.write_all(out.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn card(url: &str) -> String {
    // Each its own name and skill: look-alike cards are refused.
    let port = url.rsplit(':').next().unwrap_or("0");
    json!({
        "name": format!("hostile {port}"), "description": format!("answers badly on {port}"), "version": "1",
        "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {"streaming": true},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": format!("h{port}"), "name": format!("h{port}"), "description": format!("skill on {port}"), "tags": []}]
    })
    .to_string()
}

fn id_of(call: &Value) -> Value {
    call.get("id").cloned().unwrap_or(Value::Null)
}

fn task(id: &str) -> Value {
    json!({"id": id, "contextId": "c1", "status": {"state": "TASK_STATE_COMPLETED"}})
}

/// A valid task "t1" for a message; `other` for anything else.
fn ok_send_else(call: &Value, other: Answer) -> Answer {
    if call["method"] == "SendMessage" {
        let r = json!({"jsonrpc": "2.0", "id": id_of(call), "result": {"task": task("t1")}});
        (200, "application/json", r.to_string())
    } else {
        other
    }
}

async fn rpc(w: &Running, agent: &str, method: &str, params: Value) -> (u16, String) {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let resp = client()
        .post(format!("{}/agents/{agent}", w.gateway))
        .header("A2A-Version", "1.0")
        .bearer_auth(w.token(agent).await)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("text"))
}

fn assert_protocol_error(body: &str, what: &str) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: {body}"));
    assert_eq!(v["error"]["code"], -32006, "{what}: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid answer")),
        "{what}: {v}"
    );
    assert_eq!(v["id"], 7, "{what}: the caller's own id");
}

#[tokio::test]
async fn a_hostile_agents_answers_reach_the_caller_as_protocol_errors() {
    let other_task = hostile(|call| {
        let r = json!({"jsonrpc": "2.0", "id": id_of(call), "result": task("someone-elses")});
        ok_send_else(call, (200, "application/json", r.to_string()))
    })
    .await;
    let malformed = hostile(|call| {
        ok_send_else(
            call,
            (
                200,
                "application/json",
                r#"{"jsonrpc": "2.0", "id": 7, "result": {"id": "t1""#.into(),
            ),
        )
    })
    .await;
    let html =
        hostile(|call| ok_send_else(call, (200, "text/html", "<html>not json</html>".into())))
            .await;
    let wrong_id = hostile(|call| {
        let r = json!({"jsonrpc": "2.0", "id": 999, "result": task("t1")});
        ok_send_else(call, (200, "application/json", r.to_string()))
    })
    .await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"other\"\nurl = \"{other_task}\"\n\n[[agents]]\nname = \"malformed\"\nurl = \"{malformed}\"\n\n[[agents]]\nname = \"html\"\nurl = \"{html}\"\n\n[[agents]]\nname = \"wrongid\"\nurl = \"{wrong_id}\"\n"
    ))
    .await;
    for agent in ["other", "malformed", "html", "wrongid"] {
        // The message creates task t1 (a valid answer, relayed)…
        let (status, body) = rpc(
            &w,
            agent,
            "SendMessage",
            json!({"message": user_message("hi")}),
        )
        .await;
        assert_eq!(status, 200, "{agent}: {body}");
        assert!(body.contains("\"t1\""), "{agent}: {body}");
        // …and the agent's answer about it is not passed on.
        let (status, body) = rpc(&w, agent, "GetTask", json!({"id": "t1"})).await;
        assert_eq!(status, 200, "{agent}: JSON-RPC errors ride on 200");
        assert_protocol_error(&body, agent);
        assert!(
            !body.contains("someone-elses") && !body.contains("<html>"),
            "{agent}: {body}"
        );
    }
    // Audited as failed upstream calls, with why.
    crate::support::flush_audit(&w.admin, &w.data_dir()).await;
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    let events = store.recent_audit(100).await.expect("audit");
    for agent in ["other", "malformed", "html", "wrongid"] {
        assert!(
            events.iter().any(|e| e.agent.as_deref() == Some(agent)
                && e.outcome == "upstream_failed"
                && e.operation.as_deref() == Some("GetTask")),
            "{agent}: {events:?}"
        );
    }
}

#[tokio::test]
async fn a_stream_that_breaks_the_rules_is_cut_with_an_error_event() {
    // Two events about t1, then one about another task: the caller gets
    // the first two and an error in place of the third.
    let wandering = hostile(|call| {
        let ev = |r: Value| {
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": id_of(call), "result": r})
            )
        };
        let body = [
            ev(json!({"task": {"id": "t1", "contextId": "c1", "status": {"state": "TASK_STATE_WORKING"}}})),
            ev(json!({"statusUpdate": {"taskId": "t1", "contextId": "c1", "status": {"state": "TASK_STATE_WORKING"}}})),
            ev(json!({"statusUpdate": {"taskId": "victim", "contextId": "c9", "status": {"state": "TASK_STATE_COMPLETED"}}})),
        ]
        .concat();
        (200, "text/event-stream", body)
    })
    .await;
    // One event far over the gateway's event cap.
    let oversized = hostile(|call| {
        let big = "x".repeat(64 * 1024);
        let ev = json!({"jsonrpc": "2.0", "id": id_of(call), "result": {"message": {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": big}]}}});
        (200, "text/event-stream", format!("data: {ev}\n\n"))
    })
    .await;
    let w = gateway(&format!(
        "[limits]\nmax_response_body_bytes = 16384\n\n[[agents]]\nname = \"wandering\"\nurl = \"{wandering}\"\n\n[[agents]]\nname = \"oversized\"\nurl = \"{oversized}\"\n"
    ))
    .await;
    let stream = |agent: &'static str| {
        let w = &w;
        async move {
            let body = json!({"jsonrpc": "2.0", "id": 7, "method": "SendStreamingMessage", "params": {"message": user_message("go")}});
            client()
                .post(format!("{}/agents/{agent}", w.gateway))
                .header("A2A-Version", "1.0")
                .bearer_auth(w.token(agent).await)
                .json(&body)
                .send()
                .await
                .expect("send")
                .text()
                .await
                .expect("the stream ends")
        }
    };
    let text = stream("wandering").await;
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("JSON event"))
        .collect();
    assert_eq!(events.len(), 3, "{text}");
    assert_eq!(events[0]["result"]["task"]["id"], "t1");
    assert_eq!(events[1]["result"]["statusUpdate"]["taskId"], "t1");
    assert_eq!(events[2]["error"]["code"], -32006, "{text}");
    assert!(!text.contains("victim"), "{text}");

    let text = stream("oversized").await;
    assert!(
        !text.contains("xxxx"),
        "no part of the oversized event is relayed"
    );
    let last = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .last()
        .expect("an error event");
    let v: Value = serde_json::from_str(last).expect("JSON");
    assert_eq!(v["error"]["code"], -32006, "{text}");
    assert_eq!(v["id"], 7);
}
