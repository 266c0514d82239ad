//! Sending: a message under a grant, or an access request under none.
//!
//! The order of the checks is part of the no-enumeration rule: everything
//! that does not depend on the recipient (the request's shape, the size,
//! the sender's and the pair's rates) comes first and costs the same for
//! every recipient; then one transaction decides on the pair's grant
//! (`warden-store`'s `mail_send`), so an unknown recipient and one that has
//! not granted the sender take the same path to the same answer.

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::json;
use warden_a2a::types::{Part, PartContent};
use warden_store::{MailMessage, MailSendOutcome, NewMail, NewMailKey, SendCheck};

use crate::address::{check_address, check_idempotency_key, check_message_id, check_topic};
use crate::clock::rfc3339;
use crate::limits::Bucket;
use crate::parts::{Body, body};
use crate::signing::signed_payload;
use crate::{
    AccessRequest, MailError, Mailbox, Message, MessageKind, RequestSent, SendRequest, Sent,
};

/// The topic of access requests; `warden.` topics are Warden's own.
pub const ACCESS_TOPIC: &str = "warden.access";
/// Longest note of an access request, in characters.
const MAX_NOTE_CHARS: usize = 1000;

impl Mailbox {
    /// Sends a message (see the module documentation for the order of
    /// checks). With an idempotency key, a retry with the same content
    /// answers the original (`duplicate`), one with other content
    /// [`MailError::IdempotencyConflict`].
    pub async fn send(&self, me: &str, req: SendRequest) -> Result<Sent, MailError> {
        let me = self.me(me)?;
        check_address("to", &req.to)?;
        if let Some(t) = &req.topic {
            check_topic(t)?;
            if t.starts_with("warden.") {
                return Err(MailError::invalid(
                    "topics starting with warden. are Warden's own",
                ));
            }
        }
        if let Some(k) = &req.idempotency_key {
            check_idempotency_key(k)?;
        }
        if let Some(r) = &req.reply_to {
            check_message_id(r)?;
        }
        let limits = &self.inner.limits;
        let content = body(req.parts.as_deref(), req.sealed.as_deref(), limits)?;
        let now = self.now();
        self.inner
            .rates
            .take(limits, Bucket::Sender, me, &req.to, now)?;
        self.inner
            .rates
            .take(limits, Bucket::Pair, me, &req.to, now)?;
        let thread = match &req.reply_to {
            Some(parent) => Some(self.thread_of(me, parent).await?),
            None => None,
        };
        let key = req.idempotency_key.as_ref().map(|k| NewMailKey {
            key: k.clone(),
            digest: content_digest(&req, &content),
            expires_ms: self
                .now_ms()
                .saturating_add(i64::from(limits.idempotency_hours) * 3_600_000),
        });
        let (row, message) = self.signed(
            me,
            &req.to,
            MessageKind::Message,
            req.topic.clone(),
            thread,
            req.reply_to.clone(),
            content,
        )?;
        let outcome = self.write(row, SendCheck::Grant, key).await?;
        match outcome {
            MailSendOutcome::Stored | MailSendOutcome::Voided => {
                self.delivered(&message).await;
                Ok(Sent {
                    message,
                    duplicate: false,
                })
            }
            MailSendOutcome::Duplicate(d) => Ok(Sent {
                // The same content (by digest) as the first send: what it
                // stored is what this one would have, with the first's id,
                // thread, time and signature.
                message: Message {
                    id: d.message_id,
                    thread: d.thread,
                    created: d.created,
                    signature: d.signature,
                    ..message
                },
                duplicate: true,
            }),
            MailSendOutcome::KeyConflict => Err(MailError::IdempotencyConflict),
            MailSendOutcome::NotGranted => Err(MailError::NotFound),
            MailSendOutcome::InboxFull => Err(MailError::InboxFull),
        }
    }

    /// Asks `to` for a grant: an `access_request` message in its inbox,
    /// whose first part is `{"topics": [...]}` (data) and second, if any,
    /// the note (text). The answer is the same whether `to` exists, has a
    /// full inbox, or neither (see `warden-store`'s `SendCheck::Request`).
    pub async fn request_access(
        &self,
        me: &str,
        req: AccessRequest,
    ) -> Result<RequestSent, MailError> {
        let me = self.me(me)?;
        check_address("to", &req.to)?;
        let limits = &self.inner.limits;
        let topics = crate::grants::check_topics(&req.topics, limits)?;
        let mut parts = vec![Part {
            content: PartContent::Data(json!({ "topics": topics })),
            metadata: None,
            filename: None,
            media_type: None,
        }];
        if let Some(note) = &req.note {
            if note.chars().count() > MAX_NOTE_CHARS
                || note
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(MailError::invalid(format!(
                    "note must be at most {MAX_NOTE_CHARS} characters, without control characters"
                )));
            }
            parts.push(Part::text(note.clone()));
        }
        let content = body(Some(&parts), None, limits)?;
        let now = self.now();
        self.inner
            .rates
            .take(limits, Bucket::Sender, me, &req.to, now)?;
        self.inner
            .rates
            .take(limits, Bucket::Request, me, &req.to, now)?;
        let (row, message) = self.signed(
            me,
            &req.to,
            MessageKind::AccessRequest,
            Some(ACCESS_TOPIC.into()),
            None,
            None,
            content,
        )?;
        let known = self.inner.local.contains(&req.to);
        let outcome = self.write(row, SendCheck::Request { known }, None).await?;
        // Delivery is handed every request, a voided one addressed to the
        // void (where no webhook or bridge is found): the hand-off then
        // costs the same whether the recipient exists, which timing would
        // otherwise tell (5-10 % measured by e2e mail_rest before).
        if outcome == MailSendOutcome::Stored {
            self.delivered(&message).await;
        } else {
            let void = Message {
                to: warden_store::VOID_RECIPIENT.to_string(),
                ..message.clone()
            };
            self.delivered(&void).await;
        }
        Ok(RequestSent {
            request_id: message.id,
            to: req.to,
        })
    }

    /// The thread a reply joins: its parent's, if the caller sent or
    /// received the parent.
    async fn thread_of(&self, me: &str, parent: &str) -> Result<String, MailError> {
        match self.inner.store.mail_get(parent).await? {
            Some(p) if p.sender == me || p.recipient == me => Ok(p.thread),
            _ => Err(MailError::NoSuchMessage),
        }
    }

    /// A new message, signed: its row and its answer.
    #[allow(clippy::too_many_arguments)]
    fn signed(
        &self,
        me: &str,
        to: &str,
        kind: MessageKind,
        topic: Option<String>,
        thread: Option<String>,
        reply_to: Option<String>,
        content: Body,
    ) -> Result<(MailMessage, Message), MailError> {
        let id = crate::address::new_message_id();
        let created_ms = self.now_ms();
        let mut message = Message {
            thread: thread.unwrap_or_else(|| id.clone()),
            id,
            from: me.to_string(),
            to: to.to_string(),
            kind,
            topic,
            reply_to,
            parts: None,
            sealed: None,
            created: rfc3339(created_ms),
            read_at: None,
            acked_at: None,
            signature: String::new(),
        };
        if content.sealed {
            message.sealed = Some(content.text.clone());
        } else {
            // Checked parts this crate serialised: JSON.
            message.parts = Some(
                serde_json::from_str(&content.text)
                    .map_err(|e| MailError::invalid(format!("parts: {e}")))?,
            );
        }
        let payload = signed_payload(&message).map_err(MailError::Signing)?;
        message.signature = self
            .inner
            .signer
            .sign_detached(&payload)
            .map_err(MailError::Signing)?;
        let row = MailMessage {
            id: message.id.clone(),
            sender: message.from.clone(),
            recipient: message.to.clone(),
            kind: kind.as_str().into(),
            topic: message.topic.clone(),
            thread: message.thread.clone(),
            reply_to: message.reply_to.clone(),
            size: content.text.len() as i64,
            body: content.text,
            sealed: content.sealed,
            signature: message.signature.clone(),
            created: message.created.clone(),
            created_ms,
            read_ms: None,
            acked_ms: None,
        };
        Ok((row, message))
    }

    async fn write(
        &self,
        message: MailMessage,
        check: SendCheck,
        key: Option<NewMailKey>,
    ) -> Result<MailSendOutcome, MailError> {
        let l = &self.inner.limits;
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Ok(self
            .inner
            .store
            .mail_send(&NewMail {
                message,
                check,
                key,
                now_ms: self.now_ms(),
                max_messages: clamp(l.inbox_max_messages),
                max_bytes: clamp(l.inbox_max_bytes),
            })
            .await?)
    }
}

/// What makes two sends with one idempotency key the same message: the
/// recipient, topic, parent and content (not the id, time or signature,
/// which a retry makes anew).
fn content_digest(req: &SendRequest, content: &Body) -> Vec<u8> {
    let canonical = json!([
        req.to,
        req.topic,
        req.reply_to,
        content.sealed,
        content.text
    ]);
    digest(&SHA256, canonical.to_string().as_bytes())
        .as_ref()
        .to_vec()
}
