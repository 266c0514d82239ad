//! Each verb: the request it makes, and what it prints.

use http::Method;
use serde_json::{Map, Value, json};

use super::conn::{Answer, Conn, segment};
use super::{
    Failure, InboxArgs, KeyCommand, MailArgs, MailCommand, SendArgs, WebhookCommand, print,
};
use crate::mail_seal;

pub async fn run(args: MailArgs) -> Result<(), Failure> {
    // A key pair is made here, on this machine: no gateway involved.
    if let MailCommand::Key(KeyCommand::Gen { out }) = &args.verb {
        let public = mail_seal::key_gen(out).map_err(Failure::Usage)?;
        if args.conn.json {
            println!("{public}");
        } else {
            println!(
                "private key written to {} (keep it; never share it)",
                out.display()
            );
            println!("public key  {public}");
            println!("publish it: warden mail key publish {}", out.display());
        }
        return Ok(());
    }
    // Keys to open a sealed message with, read before anything is sent.
    let open_with = match &args.verb {
        MailCommand::Read { keys, .. } if !keys.is_empty() => {
            Some(mail_seal::load_keys(keys).map_err(Failure::Usage)?)
        }
        _ => None,
    };
    let seal_to = match &args.verb {
        MailCommand::Send(s) if s.seal => Some(s.to.clone()),
        _ => None,
    };
    // Arguments are checked before anything is opened or minted.
    let mut prepared = prepare(args.verb)?;
    let conn = Conn::open(&args.conn).await?;
    if let Some(to) = seal_to {
        // The recipient's published key (only a granted sender gets it),
        // then the parts sealed to it in place of the parts.
        let key = conn
            .call(
                Method::GET,
                &format!("/keys/{}", segment(&to)),
                None,
                None,
                &[],
            )
            .await
            .map_err(|f| match f {
                // One answer for unknown, ungranted and keyless: say all three.
                Failure::Refused {
                    status: 404,
                    reason,
                    body,
                    ..
                } => Failure::Refused {
                    status: 404,
                    reason,
                    message: format!(
                        "cannot seal to {to}: no such recipient, it has not granted you, \
                         or it has published no sealing key"
                    ),
                    body,
                },
                other => other,
            })?;
        if let Some(body) = prepared.body.as_mut().and_then(Value::as_object_mut) {
            let parts = body.remove("parts").unwrap_or(Value::Null);
            let sealed = mail_seal::seal_parts(&key.body["jwk"], &parts).map_err(Failure::Usage)?;
            body.insert("sealed".into(), json!(sealed));
        }
    }
    let mut answer = conn
        .call(
            prepared.method,
            &prepared.path,
            prepared.query.as_deref(),
            prepared.body.as_ref(),
            &prepared
                .headers
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await?;
    if let (Some(keys), Some(jwe)) = (open_with, answer.body["sealed"].as_str()) {
        let parts = mail_seal::open_parts(&keys, jwe).map_err(Failure::Usage)?;
        // Shown as an ordinary message; `opened` says it was sealed.
        if let Some(m) = answer.body.as_object_mut() {
            m.remove("sealed");
            m.insert("parts".into(), parts);
            m.insert("opened".into(), json!(true));
        }
    }
    if args.conn.json {
        println!("{}", answer.body);
    } else {
        (prepared.show)(&answer);
    }
    Ok(())
}

/// One verb's request, and how its answer is shown.
struct Prepared {
    method: Method,
    path: String,
    query: Option<String>,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    show: fn(&Answer),
}

impl Prepared {
    fn new(method: Method, path: String, show: fn(&Answer)) -> Self {
        Self {
            method,
            path,
            query: None,
            body: None,
            headers: Vec::new(),
            show,
        }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

fn prepare(verb: MailCommand) -> Result<Prepared, Failure> {
    Ok(match verb {
        MailCommand::Whoami => Prepared::new(Method::GET, "/me".into(), print::whoami),
        MailCommand::Send(args) => send(args)?,
        MailCommand::Inbox(args) => {
            let mut p = Prepared::new(Method::GET, "/inbox".into(), print::inbox);
            p.query = inbox_query(&args);
            p
        }
        MailCommand::Read { id, .. } => Prepared::new(
            Method::GET,
            format!("/messages/{}", segment(&id)),
            print::message,
        ),
        MailCommand::Ack { id } => Prepared::new(
            Method::POST,
            format!("/messages/{}/ack", segment(&id)),
            print::acked,
        ),
        MailCommand::Delete { id } => Prepared::new(
            Method::DELETE,
            format!("/messages/{}", segment(&id)),
            print::deleted,
        ),
        MailCommand::Request { to, topics, note } => {
            let mut body = json!({"to": to, "topics": topics});
            if let Some(n) = note {
                body["note"] = json!(n);
            }
            Prepared::new(Method::POST, "/access-requests".into(), print::requested).body(body)
        }
        MailCommand::Grant {
            sender,
            request,
            topics,
            all_topics,
            ttl_days,
        } => {
            let mut body = Map::new();
            if let Some(s) = sender {
                body.insert("sender".into(), json!(s));
            }
            if let Some(r) = request {
                body.insert("requestId".into(), json!(r));
            }
            if all_topics {
                body.insert("topics".into(), json!([]));
            } else if !topics.is_empty() {
                body.insert("topics".into(), json!(topics));
            }
            if let Some(d) = ttl_days {
                body.insert("ttlDays".into(), json!(d));
            }
            Prepared::new(Method::POST, "/grants".into(), print::granted).body(Value::Object(body))
        }
        MailCommand::Revoke { sender } => Prepared::new(
            Method::DELETE,
            format!("/grants/{}", segment(&sender)),
            print::revoked,
        ),
        MailCommand::Grants => Prepared::new(Method::GET, "/grants".into(), print::grants),
        MailCommand::Key(KeyCommand::Publish { file }) => {
            // A private key file gives its public half: `d` is never sent.
            let jwk = mail_seal::public_jwk_of_file(&file).map_err(Failure::Usage)?;
            Prepared::new(Method::PUT, "/keys/me".into(), print::key).body(json!({"jwk": jwk}))
        }
        MailCommand::Key(KeyCommand::Gen { .. }) => {
            return Err(Failure::Usage("key gen runs without the gateway".into()));
        }
        MailCommand::Webhook(WebhookCommand::Set { url }) => {
            Prepared::new(Method::PUT, "/webhook".into(), show_webhook).body(json!({"url": url}))
        }
        MailCommand::Webhook(WebhookCommand::Show) => {
            Prepared::new(Method::GET, "/webhook".into(), show_webhook)
        }
        MailCommand::Webhook(WebhookCommand::Delete) => {
            Prepared::new(Method::DELETE, "/webhook".into(), show_webhook)
        }
        MailCommand::Key(KeyCommand::Show { address }) => Prepared::new(
            Method::GET,
            format!("/keys/{}", segment(&address)),
            print::key,
        ),
    })
}

fn send(args: SendArgs) -> Result<Prepared, Failure> {
    let mut parts: Vec<Value> = args.texts.iter().map(|t| json!({"text": t})).collect();
    for (i, d) in args.data.iter().enumerate() {
        let v: Value = serde_json::from_str(d)
            .map_err(|e| Failure::Usage(format!("--data #{}: not JSON ({e}): {d:?}", i + 1)))?;
        parts.push(json!({ "data": v }));
    }
    let named = args.media_type.is_some() || args.filename.is_some();
    if named && args.file_urls.len() != 1 {
        return Err(Failure::Usage(
            "--media-type and --filename describe one --file-url: give exactly one".into(),
        ));
    }
    for u in &args.file_urls {
        let mut p = json!({ "url": u });
        if let Some(m) = &args.media_type {
            p["mediaType"] = json!(m);
        }
        if let Some(f) = &args.filename {
            p["filename"] = json!(f);
        }
        parts.push(p);
    }
    if parts.is_empty() {
        return Err(Failure::Usage(
            "say what to send: --text, --data or --file-url (each may be repeated)".into(),
        ));
    }
    let mut body = json!({"to": args.to, "parts": parts});
    if let Some(t) = &args.topic {
        body["topic"] = json!(t);
    }
    if let Some(r) = &args.reply_to {
        body["replyTo"] = json!(r);
    }
    let mut p = Prepared::new(Method::POST, "/messages".into(), print::sent).body(body);
    if let Some(k) = args.idempotency_key {
        p.headers.push(("idempotency-key", k));
    }
    Ok(p)
}

/// A webhook answer: its URL, and the secret when it is the one time it
/// is shown.
fn show_webhook(a: &Answer) {
    let b = &a.body;
    if let Some(secret) = b["secret"].as_str() {
        println!("webhook   {}", b["url"].as_str().unwrap_or(""));
        println!("secret    {secret}");
        println!("(shown this once: verify each delivery's signature with it, docs/mailbox.md)");
    } else if let Some(removed) = b["removed"].as_bool() {
        println!(
            "{}",
            if removed {
                "webhook removed"
            } else {
                "no webhook"
            }
        );
    } else {
        println!("webhook   {}", b["url"].as_str().unwrap_or("(none)"));
    }
}

/// The inbox's query string: the filters given, form-encoded.
fn inbox_query(a: &InboxArgs) -> Option<String> {
    fn value(v: &impl clap::ValueEnum) -> String {
        v.to_possible_value()
            .map(|p| p.get_name().to_string())
            .unwrap_or_default()
    }
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("from", &a.from),
        ("topic", &a.topic),
        ("thread", &a.thread),
    ] {
        if let Some(v) = v {
            pairs.push((k, v.clone()));
        }
    }
    if let Some(k) = &a.kind {
        pairs.push(("kind", value(k)));
    }
    if let Some(s) = &a.state {
        pairs.push(("state", value(s)));
    }
    if let Some(o) = &a.order {
        pairs.push(("order", value(o)));
    }
    if let Some(l) = a.limit {
        pairs.push(("limit", l.to_string()));
    }
    if let Some(c) = &a.cursor {
        pairs.push(("cursor", c.clone()));
    }
    if pairs.is_empty() {
        return None;
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, &v);
    }
    Some(form.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail_cmd::{KindChoice, StateChoice};

    fn send_args(to: &str) -> SendArgs {
        SendArgs {
            to: to.into(),
            texts: Vec::new(),
            data: Vec::new(),
            file_urls: Vec::new(),
            media_type: None,
            filename: None,
            topic: None,
            reply_to: None,
            idempotency_key: None,
            seal: false,
        }
    }

    #[test]
    fn a_send_carries_its_parts_in_the_a2a_shape_and_the_key_as_a_header() {
        let mut a = send_args("bob");
        a.texts = vec!["hi".into()];
        a.data = vec![r#"{"n":1}"#.into()];
        a.file_urls = vec!["https://files.example/r.pdf".into()];
        a.media_type = Some("application/pdf".into());
        a.topic = Some("ci".into());
        a.reply_to = Some("msg_00".into());
        a.idempotency_key = Some("k-1".into());
        let p = send(a).expect("prepared");
        assert_eq!((p.method, p.path.as_str()), (Method::POST, "/messages"));
        assert_eq!(
            p.body.expect("body"),
            json!({"to": "bob", "topic": "ci", "replyTo": "msg_00", "parts": [
                {"text": "hi"}, {"data": {"n": 1}},
                {"url": "https://files.example/r.pdf", "mediaType": "application/pdf"}]})
        );
        assert_eq!(p.headers, vec![("idempotency-key", "k-1".to_string())]);
    }

    #[test]
    fn a_send_without_content_or_with_bad_data_is_bad_input() {
        assert!(matches!(send(send_args("bob")), Err(Failure::Usage(_))));
        let mut a = send_args("bob");
        a.data = vec!["{not json".into()];
        assert!(matches!(send(a), Err(Failure::Usage(_))));
        let mut a = send_args("bob");
        a.texts = vec!["x".into()];
        a.filename = Some("f".into());
        assert!(matches!(send(a), Err(Failure::Usage(_))), "no file to name");
    }

    #[test]
    fn inbox_filters_become_the_query() {
        let a = InboxArgs {
            from: Some("alice b".into()),
            topic: None,
            thread: None,
            kind: Some(KindChoice::AccessRequest),
            state: Some(StateChoice::Unread),
            order: None,
            limit: Some(5),
            cursor: Some("c/1".into()),
        };
        assert_eq!(
            inbox_query(&a).as_deref(),
            Some("from=alice+b&kind=access_request&state=unread&limit=5&cursor=c%2F1")
        );
    }

    #[test]
    fn ids_and_names_are_path_segments() {
        let p = prepare(MailCommand::Read {
            id: "../x".into(),
            keys: Vec::new(),
        })
        .expect("read");
        assert_eq!(p.path, "/messages/..%2Fx");
        let p = prepare(MailCommand::Revoke {
            sender: "a/b".into(),
        })
        .expect("revoke");
        assert_eq!(
            (p.method, p.path.as_str()),
            (Method::DELETE, "/grants/a%2Fb")
        );
    }
}
