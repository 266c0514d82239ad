//! `POST /webhooks/{agent}`: a signed notification for a local agent,
//! verified, then passed on to the agent.
//!
//! Composed of the shared stages: accept (header cap, per-address rate
//! limit), then the receiver of the agent (an agent without
//! `[agents.webhooks]` gets the answer of an unknown route), the body
//! within the response cap (a notification is an agent's answer, as at
//! the relay), the `warden_webhooks` verifier (signature, freshness, the
//! JWT's `aud`, `iss` and body hash, the id not seen before), the body
//! read as one v1.0 `StreamResponse` about the JWT's task, and with
//! `[shared]` the id claimed on Redis for every gateway at once. Only then
//! is the notification posted to the agent, with the webhook headers as
//! received and `x-warden-webhook-verified` saying what Warden checked.
//!
//! Answers: the agent's 2xx when it took the notification; 200 to a
//! replay (a sender's retry of one already passed on: refusing it would
//! only make it retry again; the agent does not see it twice); 400 for
//! missing or malformed webhook headers or an invalid body; 401 for
//! everything a forger could learn from (bad signature, unknown key,
//! stale, future, another receiver's, another issuer's, a swapped body):
//! one message, the reason in the audit event only; 404 without a
//! receiver; 502 when the agent did not take it (its id is given back, so
//! the sender's retry passes); 503 when there are no keys to verify with
//! now. Every outcome is an audit event of kind `webhook_receive`.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use warden_a2a::{A2aError, Binding, ErrorKind};
use warden_webhooks::{Verified, VerifyError};

use crate::audit::Outcome;
use crate::stages::{self, Ctx, Refusal};
use crate::state::GatewayState;
use crate::webhooks::{CheckError, Receiver};

/// The audit event kind of the receiver.
pub const KIND: &str = "webhook_receive";
/// What Warden verified, for the agent: form-encoded `id`, `scheme`
/// (`v1` or `v1a`), and when known `kid` (the `v1a` key), `jwt_kid`,
/// `iss` and `task`.
pub const VERIFIED_HEADER: &str = "x-warden-webhook-verified";

/// The headers of a notification the agent is given, as received.
const PASSED_ON: [&str; 7] = [
    "content-type",
    warden_webhooks::WEBHOOK_ID,
    warden_webhooks::WEBHOOK_TIMESTAMP,
    warden_webhooks::WEBHOOK_SIGNATURE,
    warden_webhooks::NOTIFICATION_JWT,
    // The subscriber's own credential: the agent registered it.
    warden_webhooks::credential::AUTHORIZATION,
    warden_webhooks::credential::NOTIFICATION_TOKEN,
];

/// The most of an agent's answer that is read (and dropped).
const MAX_AGENT_ANSWER_BYTES: u64 = 64 * 1024;

/// Why a notification is not passed on.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("no such agent or route")]
    NoReceiver,
    #[error("the webhook headers are missing or malformed")]
    Malformed(String),
    #[error("the notification could not be verified")]
    Unverified(&'static str),
    #[error("the notification cannot be verified now; retry later")]
    Unavailable(String),
    #[error("the notification is not a valid A2A stream response")]
    Invalid(String),
    #[error(transparent)]
    Body(A2aError),
    #[error("the agent did not take the notification; retry later")]
    Agent(String),
}

impl From<CheckError> for ReceiveError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Refused(VerifyError::Malformed(why)) => Self::Malformed(why),
            CheckError::Refused(VerifyError::ReplayCache(e)) => Self::Unavailable(e.to_string()),
            CheckError::Refused(other) => Self::Unverified(other.reason()),
            CheckError::Unavailable(why) => Self::Unavailable(why),
        }
    }
}

impl ReceiveError {
    /// The one place a receiver error becomes a refusal. The caller is
    /// told the class of failure only; the audit reason says which.
    pub fn refusal(self) -> Refusal {
        let msg = self.to_string();
        match self {
            Self::NoReceiver => stages::unknown_target().reason("webhook_no_receiver"),
            Self::Malformed(why) => Refusal::new(A2aError::invalid_request(msg))
                .reason(&format!("webhook_malformed: {why}")),
            Self::Unverified(reason) => {
                Refusal::new(A2aError::new(ErrorKind::Unauthenticated, msg))
                    .reason(&format!("webhook_{reason}"))
            }
            Self::Unavailable(why) => {
                tracing::warn!(error = %why, "webhook receiver: cannot verify");
                Refusal::new(A2aError::new(ErrorKind::Unavailable, msg))
                    .reason(&format!("webhook_unavailable: {why}"))
                    .header("retry-after", "60")
            }
            Self::Invalid(why) => {
                Refusal::new(A2aError::invalid_params(msg)).reason(&format!("webhook_body: {why}"))
            }
            Self::Body(e) => Refusal::new(e).reason("webhook_body"),
            Self::Agent(why) => {
                Refusal::upstream(A2aError::new(ErrorKind::UpstreamUnavailable, msg))
                    .reason(&format!("webhook_agent: {why}"))
            }
        }
    }
}

/// Handles one notification for `agent`.
pub async fn handle(
    state: &GatewayState,
    agent: &str,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new(state, KIND, Binding::Rest, peer.ip());
    let mut body = Some(body);
    match run(&mut ctx, agent, &headers, &mut body).await {
        Ok(resp) => resp,
        Err(refusal) => stages::rescue(&ctx, refusal, body).await,
    }
}

async fn run(
    ctx: &mut Ctx<'_>,
    agent: &str,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<Response, Refusal> {
    let state = ctx.state;
    stages::accept(ctx, headers).await?;
    let receiver = state
        .webhooks
        .get(agent)
        .ok_or_else(|| ReceiveError::NoReceiver.refusal().drain())?;
    ctx.target = Some(receiver.agent.clone());
    let cap = state.config.limits.max_response_body_bytes.get();
    let bytes = stages::read_capped(body.take().unwrap_or_default(), headers, cap)
        .await
        .map_err(|e| ReceiveError::Body(e).refusal())?;
    let verified = match receiver.verify(headers, &bytes, ctx.now).await {
        Ok(v) => v,
        Err(CheckError::Refused(VerifyError::Replayed)) => return Ok(replayed(ctx)),
        Err(e) => return Err(ReceiveError::from(e).refusal()),
    };
    ctx.decision = Some(detail(&verified));
    // A genuine notification whose body is not one: its id stays used.
    crate::answers::notification(&bytes, verified.task_id.as_deref(), state.json_limits())
        .map_err(|e| ReceiveError::Invalid(e.0).refusal())?;
    let until = verified.timestamp.saturating_add(receiver.tolerance_secs);
    if let Some(shared) = &state.shared {
        match shared
            .claim_once(&shared_key(agent, &verified.id), until)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Ok(replayed(ctx)),
            Err(e) => {
                receiver.seen.give_back(&verified.id, until, ctx.now);
                return Err(ReceiveError::Unavailable(format!("shared state: {e}")).refusal());
            }
        }
    }
    match deliver(state, &receiver, headers, &verified, bytes, ctx.source).await {
        Ok(status) => {
            ctx.record(
                &ctx.event(Outcome::Forwarded)
                    .with_reason("webhook_delivered"),
            );
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = status;
            Ok(resp)
        }
        Err(why) => {
            // The sender retries with the same id: let that one through.
            receiver.seen.give_back(&verified.id, until, ctx.now);
            if let Some(shared) = &state.shared
                && let Err(e) = shared.release_once(&shared_key(agent, &verified.id)).await
            {
                tracing::warn!(agent, error = %e, "webhook receiver: the id could not be released on Redis; the sender's retry will be taken for a replay");
            }
            Err(ReceiveError::Agent(why).refusal())
        }
    }
}

/// A notification already passed on: answered 2xx so that the sender
/// stops, never passed on again.
fn replayed(ctx: &Ctx<'_>) -> Response {
    ctx.record(&ctx.event(Outcome::Refused).with_reason("webhook_replayed"));
    Response::new(Body::empty())
}

/// The Redis key of an accepted id (bounded: an agent name is at most 64
/// characters, a webhook id at most 128).
fn shared_key(agent: &str, id: &str) -> String {
    format!("webhook:{agent}:{id}")
}

/// The audit detail of a verified notification.
fn detail(v: &Verified) -> serde_json::Value {
    serde_json::json!({
        "webhook_id": v.id, "signature": v.signature, "kid": v.v1a_kid,
        "jwt_kid": v.jwt_kid, "issuer": v.issuer, "task": v.task_id,
    })
}

/// Posts the notification to the agent: its status when it took it (2xx).
async fn deliver(
    state: &GatewayState,
    receiver: &Receiver,
    incoming: &HeaderMap,
    verified: &Verified,
    body: Bytes,
    source: IpAddr,
) -> Result<StatusCode, String> {
    let mut req =
        warden_egress::Outbound::new(Method::POST, receiver.deliver_to.clone(), "webhook");
    req.headers = passed_on(incoming, verified, source);
    req.body = body;
    // A redirect is an answer (not a 2xx), never followed.
    req.pass_redirects = true;
    let resp = state
        .upstreams
        .client()
        .send(req)
        .await
        .map_err(|e| format!("{}: {e}", e.reason()))?;
    let status = resp.status();
    // Read (within a cap) so the connection can be used again.
    let _ = resp.bytes_capped(MAX_AGENT_ANSWER_BYTES).await;
    if status.is_success() {
        Ok(status)
    } else {
        Err(format!("HTTP {}", status.as_u16()))
    }
}

/// The headers the agent is given: the notification's own (as received),
/// what Warden verified, and the sender's address.
pub fn passed_on(incoming: &HeaderMap, verified: &Verified, source: IpAddr) -> HeaderMap {
    let mut h = HeaderMap::new();
    for name in PASSED_ON {
        let name = HeaderName::from_static(name);
        for v in incoming.get_all(&name) {
            h.append(name.clone(), v.clone());
        }
    }
    if !h.contains_key(header::CONTENT_TYPE) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/a2a+json"),
        );
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("id", &verified.id);
    form.append_pair("scheme", verified.signature);
    for (k, v) in [
        ("kid", &verified.v1a_kid),
        ("jwt_kid", &verified.jwt_kid),
        ("iss", &verified.issuer),
        ("task", &verified.task_id),
    ] {
        if let Some(v) = v {
            form.append_pair(k, v);
        }
    }
    // Form encoding leaves visible ASCII only: always a valid value.
    if let Ok(v) = HeaderValue::from_str(&form.finish()) {
        h.insert(VERIFIED_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&source.to_string()) {
        h.insert("x-forwarded-for", v);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified() -> Verified {
        Verified {
            id: "msg_1".into(),
            timestamp: 1_800_000_000,
            task_id: Some("t 1".into()),
            issuer: Some("https://w.example".into()),
            jwt_kid: Some("webhook-a".into()),
            signature: "v1a",
            v1a_kid: Some("webhook-a".into()),
        }
    }

    #[test]
    fn the_agent_gets_the_webhook_headers_and_what_was_verified_nothing_else() {
        let mut incoming = HeaderMap::new();
        for (k, v) in [
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1800000000"),
            ("webhook-signature", "v1a,abc"),
            ("warden-notification-jwt", "e.y.j"),
            ("x-a2a-notification-token", "tok"),
            ("cookie", "session=1"),
            ("x-warden-webhook-verified", "scheme=forged"),
            ("x-forwarded-for", "10.9.9.9"),
        ] {
            incoming.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let h = passed_on(&incoming, &verified(), "127.0.0.1".parse().expect("ip"));
        assert_eq!(h["webhook-id"], "msg_1");
        assert_eq!(h["warden-notification-jwt"], "e.y.j");
        assert_eq!(h["x-a2a-notification-token"], "tok");
        assert_eq!(h["content-type"], "application/a2a+json");
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        assert!(h.get("cookie").is_none());
        assert_eq!(
            h[VERIFIED_HEADER],
            "id=msg_1&scheme=v1a&kid=webhook-a&jwt_kid=webhook-a&iss=https%3A%2F%2Fw.example&task=t+1"
        );
    }

    #[test]
    fn every_refusal_has_its_status_and_a_forger_learns_one_message() {
        let status = |e: ReceiveError| {
            let r = e.refusal();
            r.error().kind.wire().http.as_u16()
        };
        assert_eq!(status(ReceiveError::NoReceiver), 404);
        assert_eq!(status(ReceiveError::Malformed("x".into())), 400);
        assert_eq!(status(ReceiveError::Invalid("x".into())), 400);
        assert_eq!(status(ReceiveError::Unavailable("x".into())), 503);
        assert_eq!(status(ReceiveError::Agent("x".into())), 502);
        let mut messages = std::collections::HashSet::new();
        for e in [
            VerifyError::BadSignature,
            VerifyError::UnknownKey,
            VerifyError::Stale,
            VerifyError::Future,
            VerifyError::WrongAudience,
            VerifyError::WrongIssuer,
            VerifyError::BodySwapped,
        ] {
            let e = ReceiveError::from(CheckError::Refused(e));
            messages.insert(e.to_string());
            assert_eq!(status(e), 401);
        }
        assert_eq!(messages.len(), 1, "{messages:?}");
    }
}
