//! Each `/mail/v1` operation: what it reads from the request (path, query,
//! `Idempotency-Key`, JSON body), which mailbox call it makes, its status
//! and what its audit event records (names and ids, never content).

use http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use warden_a2a::types::{Part, PartContent};
use warden_mailbox::{
    AccessRequest, GrantRequest, InboxQuery, MailError, Mailbox, PublishKeyRequest, PublishedKey,
    RevokeRequest, SendRequest, audit,
};

use crate::state::GatewayState;

/// One operation, with what its path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    WhoAmI,
    Send,
    Inbox,
    Read(String),
    Ack(String),
    Delete(String),
    Request,
    Grant,
    Grants,
    Revoke(String),
    PublishKey,
    MyKey,
    KeyOf(String),
    /// `PUT /webhook`, `GET /webhook`, `DELETE /webhook` (mail_delivery).
    WebhookPut,
    WebhookGet,
    WebhookDelete,
}

impl Op {
    /// The audit event kind (and the `operation` label of the metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WhoAmI => audit::WHOAMI,
            Self::Send => audit::SEND,
            Self::Inbox => audit::INBOX,
            Self::Read(_) => audit::READ,
            Self::Ack(_) => audit::ACK,
            Self::Delete(_) => audit::DELETE,
            Self::Request => audit::REQUEST,
            Self::Grant => audit::GRANT,
            Self::Grants => audit::GRANTS,
            Self::Revoke(_) => audit::REVOKE,
            Self::PublishKey => audit::PUBLISH_KEY,
            Self::MyKey | Self::KeyOf(_) => audit::KEY_OF,
            Self::WebhookPut | Self::WebhookGet | Self::WebhookDelete => WEBHOOK_KIND,
        }
    }

    /// Whether the operation reads a JSON body (the others take none).
    pub fn takes_body(&self) -> bool {
        matches!(
            self,
            Self::Send | Self::Request | Self::Grant | Self::PublishKey | Self::WebhookPut
        )
    }
}

/// The audit kind of the webhook operations.
pub const WEBHOOK_KIND: &str = "mail_webhook";

/// What an operation reads from its request.
pub struct Input<'a> {
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// A done operation: its status, answer (JSON text), and audit detail.
pub struct Done {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub detail: Value,
}

impl Done {
    /// Always `Ok` (the answers are plain data that always serialise):
    /// a `Result` so each operation ends with it. Written straight to
    /// JSON text: a page of messages built as a `Value` first cost a tree
    /// of maps per answer (issue 16's profile).
    fn new(status: StatusCode, body: &impl Serialize, detail: Value) -> Result<Self, MailError> {
        let body = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
        Ok(Self {
            status,
            body,
            detail,
        })
    }
}

/// Runs `op` for the caller `me`. `detail` gathers what the audit event
/// says even when the mailbox refuses (the recipient a send named, say).
pub async fn run(
    state: &GatewayState,
    mailbox: &Mailbox,
    me: &str,
    op: &Op,
    input: &Input<'_>,
    detail: &mut Map<String, Value>,
) -> Result<Done, MailError> {
    use StatusCode as S;
    if !op.takes_body() && !input.body.is_empty() {
        return Err(MailError::Invalid("this operation takes no body".into()));
    }
    if *op != Op::Inbox && input.query.is_some_and(|q| !q.is_empty()) {
        return Err(MailError::Invalid(
            "this operation takes no query parameters".into(),
        ));
    }
    match op {
        Op::WhoAmI => {
            let w = mailbox.whoami(me).await?;
            Done::new(S::OK, &w, json!({}))
        }
        Op::Send => {
            let mut req: SendRequest = body(state, input.body)?;
            detail.insert("to".into(), json!(req.to));
            if let Some(t) = &req.topic {
                detail.insert("topic".into(), json!(t));
            }
            if req.idempotency_key.is_some() {
                return Err(MailError::Invalid(
                    "give the idempotency key in the Idempotency-Key header".into(),
                ));
            }
            req.idempotency_key = idempotency_key(input.headers)?;
            check_urls(state, req.parts.as_deref().unwrap_or_default()).await?;
            let sent = mailbox.send(me, req).await?;
            detail.insert("id".into(), json!(sent.message.id));
            detail.insert("duplicate".into(), json!(sent.duplicate));
            detail.insert("sealed".into(), json!(sent.message.sealed.is_some()));
            let status = if sent.duplicate { S::OK } else { S::CREATED };
            Done::new(status, &sent, Value::Object(detail.clone()))
        }
        Op::Inbox => {
            let q = inbox_query(input.query.unwrap_or_default())?;
            let page = mailbox.inbox(me, q).await?;
            detail.insert("count".into(), json!(page.messages.len()));
            detail.insert("more".into(), json!(page.next_cursor.is_some()));
            Done::new(S::OK, &page, Value::Object(detail.clone()))
        }
        Op::Read(id) | Op::Ack(id) | Op::Delete(id) => {
            detail.insert("id".into(), json!(id));
            match op {
                Op::Read(_) => {
                    let m = mailbox.read(me, id).await?;
                    detail.insert("from".into(), json!(m.from));
                    Done::new(S::OK, &m, Value::Object(detail.clone()))
                }
                Op::Ack(_) => {
                    let m = mailbox.ack(me, id).await?;
                    detail.insert("from".into(), json!(m.from));
                    Done::new(S::OK, &m, Value::Object(detail.clone()))
                }
                _ => {
                    let d = mailbox.delete(me, id).await?;
                    Done::new(S::OK, &d, Value::Object(detail.clone()))
                }
            }
        }
        Op::Request => {
            let req: AccessRequest = body(state, input.body)?;
            detail.insert("to".into(), json!(req.to));
            detail.insert("topics".into(), json!(req.topics));
            let sent = mailbox.request_access(me, req).await?;
            detail.insert("id".into(), json!(sent.request_id));
            // Accepted for the recipient, whether or not it exists: the
            // answer must not tell.
            Done::new(S::ACCEPTED, &sent, Value::Object(detail.clone()))
        }
        Op::Grant => {
            let req: GrantRequest = body(state, input.body)?;
            if let Some(s) = &req.sender {
                detail.insert("sender".into(), json!(s));
            }
            if let Some(r) = &req.request_id {
                detail.insert("request".into(), json!(r));
            }
            let g = mailbox.grant(me, req).await?;
            detail.insert("sender".into(), json!(g.sender));
            detail.insert("topics".into(), json!(g.topics));
            detail.insert("expires".into(), json!(g.expires));
            Done::new(S::CREATED, &g, Value::Object(detail.clone()))
        }
        Op::Grants => {
            let g = mailbox.grants(me).await?;
            let counts = json!({"given": g.given.len(), "received": g.received.len()});
            Done::new(S::OK, &g, counts)
        }
        Op::Revoke(sender) => {
            detail.insert("sender".into(), json!(sender));
            let r = mailbox
                .revoke(
                    me,
                    RevokeRequest {
                        sender: sender.clone(),
                    },
                )
                .await?;
            detail.insert("revoked".into(), json!(r.revoked));
            Done::new(S::OK, &r, Value::Object(detail.clone()))
        }
        Op::PublishKey => {
            let req: PublishKeyRequest = body(state, input.body)?;
            let k = mailbox.publish_key(me, req).await?;
            detail.insert("kid".into(), json!(k.kid));
            Done::new(S::OK, &k, Value::Object(detail.clone()))
        }
        Op::MyKey => {
            // One's own key needs no grant (`key_of` asks for the owner's
            // grant, which nobody gives itself).
            detail.insert("address".into(), json!(me));
            let k = own_key(mailbox, me).await?;
            detail.insert("kid".into(), json!(k.kid));
            Done::new(S::OK, &k, Value::Object(detail.clone()))
        }
        Op::KeyOf(address) => {
            detail.insert("address".into(), json!(address));
            let k = mailbox.key_of(me, address).await?;
            detail.insert("kid".into(), json!(k.kid));
            Done::new(S::OK, &k, Value::Object(detail.clone()))
        }
        Op::WebhookPut | Op::WebhookGet | Op::WebhookDelete => {
            use crate::mail_delivery::routes::{WebhookOp, webhook};
            let which = match op {
                Op::WebhookPut => WebhookOp::Put,
                Op::WebhookGet => WebhookOp::Get,
                _ => WebhookOp::Delete,
            };
            let (status, body, detail) = webhook(state, me, which, input.body).await?;
            Done::new(status, &body, detail)
        }
    }
}

/// The caller's own published key, as `key_of` shows a key.
async fn own_key(mailbox: &Mailbox, me: &str) -> Result<PublishedKey, MailError> {
    let k = mailbox
        .store()
        .mail_key(me)
        .await?
        .ok_or(MailError::NotFound)?;
    let jwk = serde_json::from_str(&k.jwk)
        .map_err(|e| MailError::Store(warden_store::StoreError::Mail(e.to_string())))?;
    let published = chrono::DateTime::from_timestamp_millis(k.published_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    Ok(PublishedKey {
        address: k.address,
        kid: k.kid,
        jwk,
        published,
    })
}

/// A JSON body read strictly (duplicate keys, depth and string caps of
/// `[limits]`), then into the operation's request type, which refuses
/// unknown fields.
fn body<T: DeserializeOwned>(state: &GatewayState, bytes: &[u8]) -> Result<T, MailError> {
    if bytes.is_empty() {
        return Err(MailError::Invalid(
            "this operation takes a JSON body (Content-Type: application/json)".into(),
        ));
    }
    let v = warden_json::parse_strict(bytes, state.json_limits())
        .map_err(|e| MailError::Invalid(format!("the body is not valid JSON: {e}")))?;
    serde_json::from_value(v).map_err(|e| MailError::Invalid(format!("the body: {e}")))
}

/// `Idempotency-Key`: at most one, readable (the mailbox checks its form).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, MailError> {
    let values = warden_a2a::call::readable(headers, "idempotency-key")
        .map_err(|_| MailError::Invalid("Idempotency-Key must be printable ASCII".into()))?;
    match values[..] {
        [] => Ok(None),
        [v] => Ok(Some(v.to_string())),
        _ => Err(MailError::Invalid("give one Idempotency-Key header".into())),
    }
}

/// The inbox's query string: each of `from`, `topic`, `thread`, `kind`,
/// `state`, `order`, `limit` and `cursor` at most once, nothing else.
pub fn inbox_query(raw: &str) -> Result<InboxQuery, MailError> {
    const KEYS: [&str; 8] = [
        "from", "topic", "thread", "kind", "state", "order", "limit", "cursor",
    ];
    let mut o = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if !KEYS.contains(&k.as_ref()) {
            return Err(MailError::Invalid(format!(
                "unknown query parameter {k:?} (use {})",
                KEYS.join(", ")
            )));
        }
        let value = if k == "limit" {
            let n: u32 = v.parse().map_err(|_| {
                MailError::Invalid(format!("limit must be a number from 1 to 100, not {v:?}"))
            })?;
            json!(n)
        } else {
            json!(v)
        };
        if o.insert(k.to_string(), value).is_some() {
            return Err(MailError::Invalid(format!(
                "query parameter {k:?} is given twice"
            )));
        }
    }
    serde_json::from_value(Value::Object(o))
        .map_err(|e| MailError::Invalid(format!("the query: {e}")))
}

/// Files by reference obey the egress rules, as URLs inside calls do: a
/// recipient that fetches one is not led to an internal address. Public
/// so that every face of the mailbox (MCP's send too) applies the same
/// rule before the mailbox stores a message.
pub async fn check_urls(state: &GatewayState, parts: &[Part]) -> Result<(), MailError> {
    for (i, p) in parts.iter().enumerate() {
        if let PartContent::Url(u) = &p.content
            && let Err(e) = state.egress.check(u).await
        {
            return Err(MailError::Invalid(format!(
                "parts[{i}].url is refused by the egress rules: {e} [{}]",
                e.reason()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbox_query_is_read_strictly() {
        let q = inbox_query("from=alice&kind=access_request&state=unread&limit=5&cursor=c%2F1")
            .expect("valid");
        assert_eq!(q.from.as_deref(), Some("alice"));
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.cursor.as_deref(), Some("c/1"));
        assert_eq!(inbox_query("").expect("empty"), InboxQuery::default());
        for bad in [
            "limit=x",
            "limit=-1",
            "from=a&from=b",
            "box=1",
            "state=new",
            "kind=spam",
            "order=random",
        ] {
            assert!(
                matches!(inbox_query(bad), Err(MailError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn one_readable_idempotency_key() {
        let mut h = HeaderMap::new();
        assert_eq!(idempotency_key(&h).expect("none"), None);
        h.insert("idempotency-key", "k-1".parse().expect("v"));
        assert_eq!(idempotency_key(&h).expect("one").as_deref(), Some("k-1"));
        h.append("idempotency-key", "k-2".parse().expect("v"));
        assert!(idempotency_key(&h).is_err());
        let mut h = HeaderMap::new();
        h.insert(
            "idempotency-key",
            http::HeaderValue::from_bytes(b"k\xff").expect("v"),
        );
        assert!(idempotency_key(&h).is_err());
    }

    #[test]
    fn kinds_are_the_mailbox_s_audit_kinds() {
        assert_eq!(Op::Send.kind(), "mail_send");
        assert_eq!(Op::Inbox.kind(), "mail_inbox");
        assert_eq!(Op::Revoke("a".into()).kind(), "mail_revoke");
        assert!(Op::Send.takes_body() && !Op::Ack("x".into()).takes_body());
    }
}
