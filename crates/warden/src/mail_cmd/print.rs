//! What each verb prints for a person (`--json` prints the answer as is).
//! Message content is the sender's: it is printed as data, control
//! characters escaped, so a message cannot move the cursor or recolour the
//! terminal.

use serde_json::Value;

use super::conn::Answer;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn n(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// Text from a sender, with control characters (escape sequences, carriage
/// returns) shown escaped; newlines kept when `lines`.
pub fn clean(text: &str, lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (c == '\n' && lines) || !c.is_control() {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

fn topics(v: &Value) -> String {
    match v.get("topics").and_then(Value::as_array) {
        Some(t) if !t.is_empty() => t
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => "every topic".into(),
    }
}

pub fn whoami(a: &Answer) {
    let b = &a.body;
    println!("address  {}", clean(s(b, "address"), false));
    println!(
        "inbox    {} messages ({} unread), {} bytes; quota {} messages, {} bytes, {} bytes a message",
        n(b, "/messages"),
        n(b, "/unread"),
        n(b, "/bytes"),
        n(b, "/quota/messages"),
        n(b, "/quota/bytes"),
        n(b, "/quota/maxMessageBytes")
    );
    match b.get("keyId").and_then(Value::as_str) {
        Some(kid) => println!("key      {}", clean(kid, false)),
        None => println!("key      none published (warden mail key publish FILE)"),
    }
}

pub fn sent(a: &Answer) {
    let m = &a.body["message"];
    let id = s(m, "id");
    if a.body["duplicate"].as_bool() == Some(true) {
        println!(
            "{id}  already sent (the same --idempotency-key and message): nothing new was sent"
        );
    } else {
        println!("{id}  sent to {}", clean(s(m, "to"), false));
    }
}

/// One line per message, and the cursor of the next page.
pub fn inbox(a: &Answer) {
    let messages = a.body["messages"].as_array().cloned().unwrap_or_default();
    if messages.is_empty() {
        println!("(no messages)");
    }
    for m in &messages {
        let state = if m.get("ackedAt").is_some() {
            "acked"
        } else if m.get("readAt").is_some() {
            "read"
        } else {
            "unread"
        };
        let topic = m.get("topic").and_then(Value::as_str).unwrap_or("-");
        let kind = match s(m, "kind") {
            "access_request" => "ACCESS REQUEST  ",
            _ => "",
        };
        println!(
            "{}  {}  {:<6}  from {}  [{}]  {kind}{}",
            s(m, "id"),
            s(m, "created"),
            state,
            clean(s(m, "from"), false),
            clean(topic, false),
            clean(&summary(m), false)
        );
    }
    if let Some(c) = a.body.get("nextCursor").and_then(Value::as_str) {
        println!("more: --cursor {c}");
    }
}

/// The first text part, cut at 60 characters, or what the content is.
fn summary(m: &Value) -> String {
    if m.get("sealed").is_some() {
        return "(sealed)".into();
    }
    let parts = m["parts"].as_array().cloned().unwrap_or_default();
    let text = parts
        .iter()
        .find_map(|p| p.get("text").and_then(Value::as_str));
    match text {
        Some(t) => {
            let line = t.lines().next().unwrap_or("");
            let cut: String = line.chars().take(60).collect();
            if cut.len() < t.len() {
                format!("{cut}…")
            } else {
                cut
            }
        }
        None => format!("({} parts)", parts.len()),
    }
}

/// A whole message: its envelope, then each part.
pub fn message(a: &Answer) {
    let m = &a.body;
    println!("id        {}", s(m, "id"));
    println!("from      {}", clean(s(m, "from"), false));
    println!("to        {}", clean(s(m, "to"), false));
    println!("created   {}", s(m, "created"));
    if s(m, "kind") == "access_request" {
        println!(
            "kind      access request (accept: warden mail grant --request {}; refuse: warden mail delete {})",
            s(m, "id"),
            s(m, "id")
        );
    }
    for (label, key) in [
        ("topic", "topic"),
        ("reply to", "replyTo"),
        ("read", "readAt"),
        ("acked", "ackedAt"),
    ] {
        if let Some(v) = m.get(key).and_then(Value::as_str) {
            println!("{label:<9} {}", clean(v, false));
        }
    }
    if s(m, "thread") != s(m, "id") {
        println!("thread    {}", s(m, "thread"));
    }
    println!();
    if let Some(jwe) = m.get("sealed").and_then(Value::as_str) {
        println!(
            "(sealed: {} bytes of JWE, readable only with your private key)",
            jwe.len()
        );
        return;
    }
    for p in m["parts"].as_array().into_iter().flatten() {
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            println!("{}", clean(t, true));
        } else if let Some(d) = p.get("data") {
            println!("data: {d}");
        } else if let Some(u) = p.get("url").and_then(Value::as_str) {
            let extra: Vec<String> = ["mediaType", "filename"]
                .iter()
                .filter_map(|k| p.get(*k).and_then(Value::as_str))
                .map(|v| clean(v, false))
                .collect();
            println!("file: {} {}", clean(u, false), extra.join(" "));
        } else if let Some(r) = p.get("raw").and_then(Value::as_str) {
            println!("raw: {} bytes of base64 (--json shows it)", r.len());
        }
    }
}

pub fn acked(a: &Answer) {
    println!("{}  acknowledged", s(&a.body, "id"));
}

pub fn deleted(a: &Answer) {
    println!("{}  deleted", s(&a.body, "id"));
}

pub fn requested(a: &Answer) {
    println!(
        "{}  access request sent to {} (if it exists; you will be able to send once it grants you)",
        s(&a.body, "requestId"),
        clean(s(&a.body, "to"), false)
    );
}

pub fn granted(a: &Answer) {
    let g = &a.body;
    println!(
        "{} may send to you: {}, until {}",
        clean(s(g, "sender"), false),
        clean(&topics(g), false),
        s(g, "expires")
    );
}

pub fn revoked(a: &Answer) {
    let who = clean(s(&a.body, "sender"), false);
    if a.body["revoked"].as_bool() == Some(true) {
        println!("{who} may no longer send to you");
    } else {
        println!("{who} held no grant from you: nothing to revoke");
    }
}

pub fn grants(a: &Answer) {
    for (title, key, who) in [
        ("may send to you", "given", "sender"),
        ("you may send to", "received", "recipient"),
    ] {
        let list = a.body[key].as_array().cloned().unwrap_or_default();
        println!("{title}:");
        if list.is_empty() {
            println!("  (none)");
        }
        for g in &list {
            println!(
                "  {}  {}  until {}",
                clean(s(g, who), false),
                clean(&topics(g), false),
                s(g, "expires")
            );
        }
    }
}

pub fn key(a: &Answer) {
    let k = &a.body;
    println!(
        "{}  key {}  published {}",
        clean(s(k, "address"), false),
        clean(s(k, "kid"), false),
        s(k, "published")
    );
    println!("{}", k["jwk"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_s_text_cannot_drive_the_terminal() {
        assert_eq!(clean("hi\x1b[31mred", false), "hi\\u{1b}[31mred");
        assert_eq!(clean("a\nb\rc", true), "a\nb\\rc");
        assert_eq!(clean("a\nb", false), "a\\nb");
    }

    #[test]
    fn a_summary_is_the_first_text_line_or_what_the_content_is() {
        let m = serde_json::json!({"parts": [{"data": 1}, {"text": "first\nsecond"}]});
        assert_eq!(summary(&m), "first…");
        let m = serde_json::json!({"parts": [{"data": 1}]});
        assert_eq!(summary(&m), "(1 parts)");
        assert_eq!(
            summary(&serde_json::json!({"sealed": "a.b.c.d.e"})),
            "(sealed)"
        );
    }
}
