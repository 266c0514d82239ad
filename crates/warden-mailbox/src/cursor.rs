//! Inbox cursors: an opaque token naming the last message of a page (its
//! time and id, the listing's sort key) and the order it was read in.
//! Positions, not offsets: a message arriving or deleted between two pages
//! neither repeats nor skips another.

use crate::MailError;
use crate::address::is_message_id;

/// Where a page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_ms: i64,
    pub id: String,
    pub newest_first: bool,
}

const VERSION: &str = "c1";

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        let order = if self.newest_first { 'n' } else { 'o' };
        let text = format!("{VERSION}:{order}:{}:{}", self.created_ms, self.id);
        warden_trust::b64url_encode(text.as_bytes())
    }

    pub(crate) fn decode(token: &str) -> Result<Self, MailError> {
        let bad = || MailError::invalid("invalid cursor");
        if token.len() > 128 {
            return Err(bad());
        }
        let bytes = warden_trust::b64url_decode(token).ok_or_else(bad)?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut it = text.splitn(4, ':');
        let (Some(VERSION), Some(order), Some(ms), Some(id)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        let newest_first = match order {
            "n" => true,
            "o" => false,
            _ => return Err(bad()),
        };
        let created_ms = ms.parse::<i64>().map_err(|_| bad())?;
        if !is_message_id(id) || ms != created_ms.to_string() {
            return Err(bad());
        }
        Ok(Self {
            created_ms,
            id: id.to_string(),
            newest_first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_cursor_round_trips(ms in any::<i64>(), hex in "[0-9a-f]{32}", newest in any::<bool>()) {
            let c = Cursor { created_ms: ms, id: format!("msg_{hex}"), newest_first: newest };
            prop_assert_eq!(Cursor::decode(&c.encode()).expect("decodes"), c);
        }

        #[test]
        fn any_other_token_is_refused_not_panicked_on(token in ".{0,200}") {
            if let Ok(c) = Cursor::decode(&token) {
                prop_assert_eq!(c.encode(), token);
            }
        }
    }

    #[test]
    fn tampered_cursors_are_refused() {
        let ok = Cursor {
            created_ms: 5,
            id: format!("msg_{}", "a".repeat(32)),
            newest_first: false,
        };
        assert!(Cursor::decode(&ok.encode()).is_ok());
        for text in [
            "c2:o:5:msg_x",
            "c1:x:5:msg_aaaa",
            "c1:o:05:msg_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "c1:o:5:msg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let token = warden_trust::b64url_encode(text.as_bytes());
            assert!(Cursor::decode(&token).is_err(), "{text}");
        }
    }
}
