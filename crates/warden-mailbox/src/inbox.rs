//! The caller's inbox: listing (cursor paging, filters), reading (marks
//! read), acknowledging and deleting. Every operation names the caller's
//! inbox in its query: an id from someone else's inbox is "no such
//! message", exactly as an id that never existed.

use warden_store::{MailFilter, MailState};

use crate::address::{check_address, check_message_id, check_topic};
use crate::cursor::Cursor;
use crate::{
    Deleted, InboxOrder, InboxPage, InboxQuery, InboxState, MailError, Mailbox, Message, view,
};

/// Most messages a page holds, and how many when the query names none.
pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 20;

impl Mailbox {
    /// A page of the caller's inbox, oldest first unless `order` says
    /// `newest`.
    pub async fn inbox(&self, me: &str, q: InboxQuery) -> Result<InboxPage, MailError> {
        let me = self.me(me)?;
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(MailError::invalid(format!("limit must be 1 to {MAX_PAGE}")));
        }
        if let Some(f) = &q.from {
            check_address("from", f)?;
        }
        if let Some(t) = &q.topic {
            check_topic(t)?;
        }
        if let Some(t) = &q.thread
            && !crate::address::is_message_id(t)
        {
            return Err(MailError::invalid("thread must be a message id"));
        }
        let newest_first = q.order.unwrap_or_default() == InboxOrder::Newest;
        let after = match &q.cursor {
            Some(token) => {
                let c = Cursor::decode(token)?;
                if c.newest_first != newest_first {
                    return Err(MailError::invalid(
                        "the cursor was made for the other order",
                    ));
                }
                Some((c.created_ms, c.id))
            }
            None => None,
        };
        let filter = MailFilter {
            recipient: me.to_string(),
            from: q.from,
            topic: q.topic,
            thread: q.thread,
            kind: q.kind.map(|k| k.as_str().to_string()),
            state: match q.state.unwrap_or_default() {
                InboxState::All => MailState::All,
                InboxState::Unread => MailState::Unread,
                InboxState::Unacked => MailState::Unacked,
            },
            after,
            newest_first,
            limit,
        };
        let page = self.inner.store.mail_inbox(&filter).await?;
        let next_cursor = match (page.more, page.messages.last()) {
            (true, Some(last)) => Some(
                Cursor {
                    created_ms: last.created_ms,
                    id: last.id.clone(),
                    newest_first,
                }
                .encode(),
            ),
            _ => None,
        };
        let messages = page
            .messages
            .into_iter()
            .map(view::message)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(InboxPage {
            messages,
            next_cursor,
        })
    }

    /// A message of the caller's inbox, marked read.
    pub async fn read(&self, me: &str, id: &str) -> Result<Message, MailError> {
        self.mark(me, id, false).await
    }

    /// Acknowledges a message of the caller's inbox (done with it; marks
    /// it read too).
    pub async fn ack(&self, me: &str, id: &str) -> Result<Message, MailError> {
        self.mark(me, id, true).await
    }

    async fn mark(&self, me: &str, id: &str, ack: bool) -> Result<Message, MailError> {
        let me = self.me(me)?;
        check_message_id(id)?;
        let now = self.now_ms();
        match self.inner.store.mail_mark(me, id, ack, now).await? {
            Some(m) => view::message(m),
            None => Err(MailError::NoSuchMessage),
        }
    }

    /// Deletes a message of the caller's inbox.
    pub async fn delete(&self, me: &str, id: &str) -> Result<Deleted, MailError> {
        let me = self.me(me)?;
        check_message_id(id)?;
        if self.inner.store.mail_delete(me, id).await? {
            Ok(Deleted {
                id: id.to_string(),
                deleted: true,
            })
        } else {
            Err(MailError::NoSuchMessage)
        }
    }
}
