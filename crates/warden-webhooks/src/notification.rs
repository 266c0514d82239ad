//! One notification to deliver, and the rules for its id.

/// The longest webhook id accepted (sent or received).
pub const MAX_ID_BYTES: usize = 128;
/// The longest task id put in a JWT.
pub const MAX_TASK_ID_BYTES: usize = 256;

/// What one delivery is about. Borrowed, so a relay can sign straight from
/// its outbox row. The timestamp is not here: it is the *attempt's*, given
/// to [`crate::Signer::sign`] on every try, while the id stays the same
/// across retries (the receiver's idempotency key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification<'a> {
    /// The webhook id ([`new_id`] makes one): `[A-Za-z0-9_-]`, at most
    /// [`MAX_ID_BYTES`].
    pub id: &'a str,
    /// The exact bytes POSTed (one A2A `StreamResponse` as JSON).
    pub body: &'a [u8],
    /// The receiver's URL exactly as registered: the JWT's `aud`.
    pub url: &'a str,
    /// The A2A task the notification is about: the JWT's `taskId`.
    pub task_id: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a webhook id is 1 to {MAX_ID_BYTES} bytes")]
    Length,
    #[error("a webhook id holds only A-Z, a-z, 0-9, '_' and '-'")]
    Character,
}

/// A fresh webhook id: `msg_` and 32 hex digits of a random UUID.
pub fn new_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// Checks an id: not empty, bounded, and no `.` (the signed content is
/// `{id}.{timestamp}.{body}`: a dot in the id would make two readings of
/// one signature possible), nor anything else a header or log could
/// misread.
pub fn check_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(IdError::Length);
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(IdError::Character);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_distinct() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert_eq!(check_id(&a), Ok(()));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn ids_with_dots_or_odd_bytes_are_refused() {
        for bad in ["a.b", "a b", "a,b", "é", "a\n", "msg_1.1674087231"] {
            assert_eq!(check_id(bad), Err(IdError::Character), "{bad:?}");
        }
        assert_eq!(check_id(""), Err(IdError::Length));
        assert_eq!(check_id(&"a".repeat(129)), Err(IdError::Length));
        assert_eq!(check_id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"), Ok(()));
    }
}
