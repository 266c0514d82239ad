//! Stored rows as callers see them.

use serde_json::Value;
use warden_store::{MailGrant, MailMessage};

use crate::clock::rfc3339;
use crate::{Grant, MailError, Message, MessageKind};

/// A stored message as its JSON answer.
pub(crate) fn message(m: MailMessage) -> Result<Message, MailError> {
    let kind = MessageKind::parse(&m.kind)
        .ok_or_else(|| corrupt(format!("a stored message of kind {:?}", m.kind)))?;
    let (parts, sealed) = if m.sealed {
        (None, Some(m.body))
    } else {
        // Written by this crate from checked parts: always JSON.
        let parts: Value = serde_json::from_str(&m.body)
            .map_err(|e| corrupt(format!("stored parts are not JSON: {e}")))?;
        (Some(parts), None)
    };
    Ok(Message {
        id: m.id,
        from: m.sender,
        to: m.recipient,
        kind,
        topic: m.topic,
        thread: m.thread,
        reply_to: m.reply_to,
        parts,
        sealed,
        created: m.created,
        read_at: m.read_ms.map(rfc3339),
        acked_at: m.acked_ms.map(rfc3339),
        signature: m.signature,
    })
}

pub(crate) fn grant(g: MailGrant) -> Grant {
    Grant {
        sender: g.sender,
        recipient: g.recipient,
        topics: g.topics,
        created: rfc3339(g.created_ms),
        expires: rfc3339(g.expires_ms),
        request_id: g.request_id,
    }
}

fn corrupt(what: String) -> MailError {
    MailError::Store(warden_store::StoreError::Mail(what))
}
