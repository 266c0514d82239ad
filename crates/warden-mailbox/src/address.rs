//! The names the mailbox takes from callers: addresses, topics, message
//! ids and idempotency keys, each checked before it reaches a query.

use crate::MailError;

/// Longest address (a registry agent id, whose own limit this matches).
pub const MAX_ADDRESS_BYTES: usize = 128;
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// An address: a registry agent id — not empty, at most
/// [`MAX_ADDRESS_BYTES`], no whitespace or control characters.
pub fn check_address(what: &str, s: &str) -> Result<(), MailError> {
    if s.is_empty() || s.len() > MAX_ADDRESS_BYTES {
        return Err(MailError::invalid(format!(
            "{what} must be 1 to {MAX_ADDRESS_BYTES} bytes"
        )));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(MailError::invalid(format!(
            "{what} must not contain whitespace or control characters"
        )));
    }
    Ok(())
}

/// Whether `s` could be a caller's own address (else it has no mailbox).
pub(crate) fn is_address(s: &str) -> bool {
    check_address("address", s).is_ok()
}

/// A topic: `[a-z0-9._-]{1,64}`.
pub fn check_topic(s: &str) -> Result<(), MailError> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(MailError::invalid(format!(
            "topic {s:?} must be 1 to 64 of a-z, 0-9, '.', '_' and '-'"
        )))
    }
}

/// A message id: `msg_` and 32 lowercase hex digits.
pub fn is_message_id(s: &str) -> bool {
    s.len() == 36
        && s.starts_with("msg_")
        && s[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A message id named by a caller: a malformed one is no message of theirs.
pub(crate) fn check_message_id(s: &str) -> Result<(), MailError> {
    if is_message_id(s) {
        Ok(())
    } else {
        Err(MailError::NoSuchMessage)
    }
}

/// A new message id (122 random bits).
pub(crate) fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// An idempotency key: 1 to 255 printable ASCII characters.
pub fn check_idempotency_key(s: &str) -> Result<(), MailError> {
    if (1..=MAX_IDEMPOTENCY_KEY_BYTES).contains(&s.len())
        && s.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        Ok(())
    } else {
        Err(MailError::invalid(
            "an idempotency key must be 1 to 255 printable ASCII characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_registry_ids() {
        assert!(check_address("to", "alice").is_ok());
        assert!(check_address("to", "team/planner@x").is_ok());
        for bad in ["", "a b", "a\tb", "a\u{1}b", &"x".repeat(129)] {
            assert!(check_address("to", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn topics_are_small_lowercase_names() {
        for ok in ["a", "build.status", "ci-2_x", &"z".repeat(64)] {
            assert!(check_topic(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "a b", "é", "a/b", &"z".repeat(65)] {
            assert!(check_topic(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn message_ids_are_msg_and_32_hex() {
        let id = new_message_id();
        assert!(is_message_id(&id), "{id}");
        assert_ne!(id, new_message_id());
        for bad in [
            "msg_",
            "msg_0123456789abcdef0123456789ABCDEF",
            "abc_0123456789abcdef0123456789abcdef",
        ] {
            assert!(!is_message_id(bad), "{bad}");
        }
    }

    #[test]
    fn idempotency_keys_are_printable_ascii() {
        assert!(check_idempotency_key("retry-1 / ok").is_ok());
        assert!(check_idempotency_key(&"k".repeat(255)).is_ok());
        for bad in ["", "a\nb", "é", &"k".repeat(256)] {
            assert!(check_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }
}
