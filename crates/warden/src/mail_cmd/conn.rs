//! The way to the gateway's mailbox: its URL read strictly, the egress
//! rules (a loopback gateway trusted, as `warden call` does), and the
//! credential of the command.

use std::path::Path;

use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use warden_egress::target::{self, Target};
use warden_egress::{Egress, EgressError, EgressPolicy, Outbound};

use super::{ConnArgs, Failure};

/// The path prefix of the mailbox's REST API.
pub const PREFIX: &str = "/mail/v1";
/// The largest answer read (an inbox page of 100 messages at the largest
/// message size, with room to spare).
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// An open way to the mailbox.
pub struct Conn {
    egress: Egress,
    base: Target,
    credential: Credential,
}

/// Who the command acts as.
enum Credential {
    ApiKey(String),
    /// Minted per request: a token is single-use.
    Local {
        authority: Box<warden_authority::Authority>,
        agent: String,
    },
}

/// A 2xx answer of the gateway: its JSON body (null when empty).
pub struct Answer {
    pub body: Value,
}

impl Conn {
    pub async fn open(args: &ConnArgs) -> Result<Self, Failure> {
        let base = target::parse_base(&args.gateway).map_err(|e| {
            Failure::Usage(format!(
                "--gateway {:?} is not a usable base URL: {e}",
                args.gateway
            ))
        })?;
        let credential = credential(args).await?;
        let default = EgressPolicy {
            total_timeout_ms: 30_000,
            idle_timeout_ms: 30_000,
            ..EgressPolicy::default()
        };
        let policy =
            crate::net::policy(None, default, args.timeout_secs, false).map_err(Failure::Usage)?;
        // A gateway on this machine is trusted by host, as --gateway names
        // it: every other host gets the full rules.
        let trusted = if crate::net::is_loopback(&base.host) {
            vec![base.host.clone()]
        } else {
            Vec::new()
        };
        let egress = crate::net::egress(policy, trusted).map_err(Failure::Usage)?;
        Ok(Self {
            egress,
            base,
            credential,
        })
    }

    /// One request to `{gateway}/mail/v1{path}` (`path` already
    /// percent-encoded: [`segment`]), with `query` (form-encoded); an answer
    /// outside 2xx is a [`Failure::Refused`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<&Value>,
        extra: &[(&'static str, &str)],
    ) -> Result<Answer, Failure> {
        let bad = |e: EgressError| Failure::Usage(format!("cannot build the URL of {path:?}: {e}"));
        let url = target::join_on(&self.base, &format!("{PREFIX}{path}"), query)
            .map_err(bad)?
            .map_err(bad)?;
        let mut req = Outbound::to(method, url, "mail");
        req.credentials = self.credential_headers().await?;
        req.headers
            .insert("accept", HeaderValue::from_static("application/json"));
        for (name, value) in extra {
            let v = HeaderValue::from_str(value)
                .map_err(|_| Failure::Usage(format!("{name}: {value:?} is not a header value")))?;
            req.headers.insert(*name, v);
        }
        if let Some(b) = body {
            req.headers
                .insert("content-type", HeaderValue::from_static("application/json"));
            req.body = b.to_string().into();
        }
        let resp = self.egress.send(req).await.map_err(egress_failure)?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes_capped(MAX_ANSWER_BYTES)
            .await
            .map_err(|e| Failure::Transport(format!("reading the gateway's answer: {e}")))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                Failure::Transport(format!(
                    "the gateway answered HTTP {status} with a body that is not JSON: is {} a Warden gateway?",
                    self.base.url
                ))
            })?
        };
        if (200..300).contains(&status) {
            return Ok(Answer { body });
        }
        Err(refused(status, body))
    }

    async fn credential_headers(&self) -> Result<HeaderMap, Failure> {
        let mut h = HeaderMap::new();
        let (name, value) = match &self.credential {
            Credential::ApiKey(key) => ("x-api-key", key.clone()),
            Credential::Local { authority, agent } => {
                let token = crate::local::mint(
                    authority,
                    agent,
                    warden_authority::MAILBOX_AUDIENCE,
                    "",
                    None,
                )
                .await
                .map_err(|e| Failure::Usage(format!("cannot mint a token as {agent:?}: {e}")))?;
                ("authorization", format!("Bearer {token}"))
            }
        };
        let value = HeaderValue::from_str(&value)
            .map_err(|_| Failure::Usage("the credential is not a valid header value".into()))?;
        h.insert(name, value);
        Ok(h)
    }
}

/// A path segment percent-encoded: unreserved characters as they are,
/// every other byte as `%XX` (an id or an address never changes the path).
pub fn segment(s: &str) -> String {
    // `.` and `..` would be read as steps through the path.
    if s.bytes().all(|b| b == b'.') {
        return s.replace('.', "%2E");
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The credential the arguments name: exactly one way.
async fn credential(args: &ConnArgs) -> Result<Credential, Failure> {
    match (&args.api_key_file, &args.data_dir, &args.as_agent) {
        (Some(file), None, None) => Ok(Credential::ApiKey(read_key(file)?)),
        (None, Some(dir), Some(agent)) => {
            let instance = crate::cli::Instance {
                data_dir: dir.clone(),
                config: None,
            };
            let authority = crate::local::local_authority(&instance)
                .await
                .map_err(Failure::Usage)?;
            Ok(Credential::Local {
                authority: Box::new(authority),
                agent: agent.clone(),
            })
        }
        (None, Some(_), None) => Err(Failure::Usage(
            "--data-dir needs --as AGENT: the registry agent to act as".into(),
        )),
        (None, None, Some(_)) => Err(Failure::Usage(
            "--as needs --data-dir DIR: the data directory whose authority mints the token".into(),
        )),
        (None, None, None) => Err(Failure::Usage(
            "say who you are: --api-key-file FILE, or --data-dir DIR --as AGENT".into(),
        )),
        (Some(_), _, _) => Err(Failure::Usage(
            "give either --api-key-file or --data-dir with --as, not both".into(),
        )),
    }
}

/// An API key from its file: one line, nothing else.
fn read_key(file: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::Usage(format!("--api-key-file {}: {e}", file.display())))?;
    let key = text.trim();
    if key.is_empty() || key.contains(char::is_whitespace) || !key.is_ascii() {
        return Err(Failure::Usage(format!(
            "--api-key-file {}: expected one API key on one line",
            file.display()
        )));
    }
    Ok(key.to_string())
}

/// The gateway's error answer: `{"error": {"code", "message", "details":
/// [{"reason"}]}}` (the gateway's REST error shape).
fn refused(status: u16, body: Value) -> Failure {
    let message = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_string();
    let reason = body
        .pointer("/error/details/0/reason")
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN")
        .to_ascii_lowercase();
    Failure::Refused {
        status,
        reason,
        message,
        body,
    }
}

fn egress_failure(e: EgressError) -> Failure {
    if e.is_refusal() {
        Failure::Egress {
            reason: e.reason(),
            why: e.to_string(),
        }
    } else {
        Failure::Transport(format!("the gateway could not be reached: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_gateway_s_reason_and_message() {
        let body = serde_json::json!({"error": {"code": 404, "status": "NOT_FOUND",
            "message": "no such recipient, or it has not granted you",
            "details": [{"reason": "NOT_FOUND", "domain": "warden.mailbox"}]}});
        match refused(404, body) {
            Failure::Refused {
                status,
                reason,
                message,
                ..
            } => {
                assert_eq!((status, reason.as_str()), (404, "not_found"));
                assert_eq!(message, "no such recipient, or it has not granted you");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn segments_cannot_leave_their_place_in_the_path() {
        assert_eq!(segment("msg_0a"), "msg_0a");
        assert_eq!(segment("../admin"), "..%2Fadmin");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
        assert_eq!(segment("é"), "%C3%A9");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("team.planner"), "team.planner");
    }

    #[test]
    fn an_api_key_file_holds_one_key() {
        let dir = tempfile::tempdir().expect("dir");
        let f = dir.path().join("k");
        std::fs::write(&f, "wdn_abc_def\n").expect("write");
        assert_eq!(read_key(&f).expect("key"), "wdn_abc_def");
        std::fs::write(&f, "wdn_a wdn_b").expect("write");
        assert!(read_key(&f).is_err());
        std::fs::write(&f, "\n").expect("write");
        assert!(read_key(&f).is_err());
        assert!(read_key(&dir.path().join("missing")).is_err());
    }
}
