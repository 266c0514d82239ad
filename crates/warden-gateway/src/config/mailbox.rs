//! `[mailbox]`: the asynchronous inbox between registry agents, served at
//! `/mail/v1` (REST) and `/mcp`. On by default, so `warden up` offers it;
//! every key bounds what one agent can do to another or to the store. See
//! docs/mailbox.md.

use serde::Deserialize;

use super::LimitSpec;

/// `[mailbox]` in warden.toml.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxSection {
    /// Whether the gateway serves the mailbox (off: `/mail/v1` and the
    /// mailbox tools answer like an unknown route).
    pub enabled: bool,
    /// The largest message: its content (parts, or the sealed JWE) as
    /// stored, in bytes. Unset: [`DEFAULT_MESSAGE_BYTES`], or half of
    /// `[limits] max_request_body_bytes` when that is smaller, so a gateway
    /// with a small request cap still starts (see [`Self::message_bytes`]).
    pub max_message_bytes: Option<u32>,
    /// The most parts one message may carry.
    pub max_parts: u32,
    /// Sends (messages and access requests) by one sender, all recipients
    /// together, as in `[rate_limits]` (`"off"` is not accepted).
    pub sender_rate: LimitSpec,
    /// Messages from one sender to one recipient.
    pub pair_rate: LimitSpec,
    /// Access requests from one sender to one recipient.
    pub request_rate: LimitSpec,
    /// The most messages an inbox holds; a send to a full inbox is refused
    /// (the recipient deletes or retention removes).
    pub inbox_max_messages: u32,
    /// The most bytes of message content an inbox holds.
    pub inbox_max_bytes: u64,
    /// Messages older than this many days are removed (read or not), with
    /// spent idempotency keys and grants ended this long ago.
    pub retention_days: u32,
    /// How long a grant lasts when the grantor names no lifetime (at most
    /// [`MAX_GRANT_TTL_DAYS`]).
    pub grant_ttl_days: u32,
    /// How long a sender's `Idempotency-Key` is remembered, in hours: a
    /// retry within it returns the original message.
    pub idempotency_hours: u32,
}

/// The largest message when `max_message_bytes` is unset and the request
/// cap leaves room for it.
pub const DEFAULT_MESSAGE_BYTES: u32 = 64 * 1024;
/// The smallest largest message.
const MIN_MESSAGE_BYTES: u32 = 1024;

/// The longest lifetime of a messaging grant, in days.
pub const MAX_GRANT_TTL_DAYS: u32 = 365;

impl Default for MailboxSection {
    fn default() -> Self {
        Self {
            enabled: true,
            max_message_bytes: None,
            max_parts: 32,
            sender_rate: rate("600/m", 100),
            pair_rate: rate("120/m", 30),
            request_rate: rate("5/h", 3),
            inbox_max_messages: 5_000,
            inbox_max_bytes: 64 * 1024 * 1024,
            retention_days: 30,
            grant_ttl_days: 30,
            idempotency_hours: 24,
        }
    }
}

fn rate(rate: &str, burst: u32) -> LimitSpec {
    LimitSpec {
        rate: rate.into(),
        burst,
    }
}

impl MailboxSection {
    /// Rules serde cannot express. `max_request_body_bytes` is
    /// `[limits]`'s: a message at the size limit must fit in a request.
    pub fn validate(&self, max_request_body_bytes: usize) -> Result<(), String> {
        let u = |v: u32| u64::from(v);
        // Off and unset, nothing is served: the request cap is not judged.
        let max_message_bytes = if self.enabled || self.max_message_bytes.is_some() {
            self.message_bytes(max_request_body_bytes)
        } else {
            DEFAULT_MESSAGE_BYTES
        };
        if self.enabled && self.max_message_bytes.is_none() && max_message_bytes < MIN_MESSAGE_BYTES
        {
            return Err(format!(
                "limits.max_request_body_bytes ({max_request_body_bytes}) leaves the mailbox messages of {max_message_bytes} bytes, less than {MIN_MESSAGE_BYTES}: raise it, or set [mailbox] enabled = false"
            ));
        }
        let checks: [(&str, u64, u64, u64); 7] = [
            (
                "max_message_bytes",
                u(max_message_bytes),
                u(MIN_MESSAGE_BYTES),
                16 * 1024 * 1024,
            ),
            ("max_parts", u(self.max_parts), 1, 1024),
            (
                "inbox_max_messages",
                u(self.inbox_max_messages),
                1,
                100_000_000,
            ),
            ("inbox_max_bytes", self.inbox_max_bytes, 1024, 1 << 40),
            ("retention_days", u(self.retention_days), 1, 36_500),
            (
                "grant_ttl_days",
                u(self.grant_ttl_days),
                1,
                u(MAX_GRANT_TTL_DAYS),
            ),
            ("idempotency_hours", u(self.idempotency_hours), 1, 24 * 30),
        ];
        for (key, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(format!(
                    "mailbox.{key}: must be {min} to {max} (is {value})"
                ));
            }
        }
        for (key, spec) in [
            ("sender_rate", &self.sender_rate),
            ("pair_rate", &self.pair_rate),
            ("request_rate", &self.request_rate),
        ] {
            match spec.quota() {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(format!(
                        "mailbox.{key}: the mailbox's rates cannot be \"off\" (they bound what one agent can do to another)"
                    ));
                }
                Err(e) => return Err(format!("mailbox.{key}: {e}")),
            }
        }
        if self.inbox_max_bytes < u(max_message_bytes) {
            return Err(format!(
                "mailbox.inbox_max_bytes ({}) must hold at least one message of mailbox.max_message_bytes ({})",
                self.inbox_max_bytes, max_message_bytes
            ));
        }
        // A message's JSON on the wire is larger than its content (quoting,
        // base64 of raw parts, the request's other fields): leave room.
        let needed = (max_message_bytes as usize).saturating_mul(2);
        if self.enabled && max_request_body_bytes < needed {
            return Err(format!(
                "mailbox.max_message_bytes ({max_message_bytes}) needs limits.max_request_body_bytes of at least twice as much ({needed}); it is {max_request_body_bytes}"
            ));
        }
        Ok(())
    }

    /// The largest message in force: `max_message_bytes` when set, else
    /// [`DEFAULT_MESSAGE_BYTES`] or half the request cap, the smaller (a
    /// message's JSON on the wire is larger than its content).
    pub fn message_bytes(&self, max_request_body_bytes: usize) -> u32 {
        self.max_message_bytes.unwrap_or_else(|| {
            let half = u32::try_from(max_request_body_bytes / 2).unwrap_or(u32::MAX);
            DEFAULT_MESSAGE_BYTES.min(half)
        })
    }

    /// Seconds a grant lasts without a lifetime named.
    pub fn grant_ttl_secs(&self) -> u64 {
        u64::from(self.grant_ttl_days) * 86_400
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: usize = 4 * 1024 * 1024;

    fn parse(text: &str) -> Result<MailboxSection, String> {
        let s: MailboxSection = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate(BODY).map(|()| s)
    }

    #[test]
    fn on_by_default_and_every_key_is_read() {
        let d = parse("").expect("empty");
        assert_eq!(d, MailboxSection::default());
        assert!(d.enabled);
        assert_eq!(
            (d.message_bytes(BODY), d.max_parts, d.retention_days),
            (65_536, 32, 30)
        );
        assert_eq!((d.grant_ttl_days, d.idempotency_hours), (30, 24));
        let s = parse(
            "enabled = false\nmax_message_bytes = 2048\nmax_parts = 4\n\
             sender_rate = { rate = \"10/s\", burst = 5 }\npair_rate = { rate = \"2/m\", burst = 1 }\n\
             request_rate = { rate = \"1/h\", burst = 1 }\ninbox_max_messages = 7\n\
             inbox_max_bytes = 4096\nretention_days = 2\ngrant_ttl_days = 365\nidempotency_hours = 1",
        )
        .expect("valid");
        assert!(!s.enabled);
        assert_eq!((s.max_message_bytes, s.max_parts), (Some(2048), 4));
        assert_eq!(s.message_bytes(BODY), 2048);
        assert_eq!(s.sender_rate, rate("10/s", 5));
        assert_eq!(s.pair_rate, rate("2/m", 1));
        assert_eq!(s.request_rate, rate("1/h", 1));
        assert_eq!((s.inbox_max_messages, s.inbox_max_bytes), (7, 4096));
        assert_eq!(
            (s.retention_days, s.grant_ttl_days, s.idempotency_hours),
            (2, 365, 1)
        );
        assert_eq!(s.grant_ttl_secs(), 365 * 86_400);
    }

    #[test]
    fn out_of_bounds_inconsistent_and_unknown_keys_are_refused() {
        for bad in [
            "max_message_bytes = 0",
            "max_message_bytes = 100",
            "max_message_bytes = 999999999",
            "max_parts = 0",
            "sender_rate = { rate = \"off\" }",
            "pair_rate = { rate = \"0/m\", burst = 1 }",
            "pair_rate = { rate = \"5/m\", burst = 0 }",
            "request_rate = { rate = \"5/day\", burst = 1 }",
            "request_rate = { rate = \"5/h\", burst = 1, extra = 1 }",
            "inbox_max_messages = 0",
            "inbox_max_bytes = 10",
            "inbox_max_bytes = 2048\nmax_message_bytes = 4096",
            "retention_days = 0",
            "grant_ttl_days = 0",
            "grant_ttl_days = 366",
            "idempotency_hours = 0",
            "idempotency_hours = 721",
            "max_message_bytes = -1",
            "enabled = \"yes\"",
            "quota = 3",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("grant_ttl_days = 366").expect_err("bound");
        assert!(
            e.contains("mailbox.grant_ttl_days") && e.contains("1 to 365"),
            "{e}"
        );
    }

    #[test]
    fn a_message_at_the_limit_must_fit_in_a_request() {
        let s = MailboxSection {
            max_message_bytes: Some(1024 * 1024),
            inbox_max_bytes: 1 << 30,
            ..MailboxSection::default()
        };
        assert!(s.validate(4 * 1024 * 1024).is_ok());
        let e = s.validate(1024 * 1024).expect_err("too small");
        assert!(e.contains("limits.max_request_body_bytes"), "{e}");
        // Off: nothing is served, nothing to fit.
        let off = MailboxSection {
            enabled: false,
            ..s.clone()
        };
        assert!(off.validate(1024 * 1024).is_ok());
    }

    #[test]
    fn unset_the_largest_message_is_half_a_small_request_cap() {
        // A gateway whose operator lowered the request cap starts with the
        // mailbox on: its messages are bounded by half the cap.
        let d = MailboxSection::default();
        assert!(d.validate(4096).is_ok());
        assert_eq!(d.message_bytes(4096), 2048);
        assert_eq!(d.message_bytes(BODY), DEFAULT_MESSAGE_BYTES);
        let e = d.validate(1024).expect_err("no room for a message");
        assert!(
            e.contains("limits.max_request_body_bytes") && e.contains("enabled = false"),
            "{e}"
        );
        let off = MailboxSection {
            enabled: false,
            ..d
        };
        assert!(off.validate(1024).is_ok());
    }

    #[test]
    fn the_whole_file_reads_the_section_and_reserves_the_mailbox_name() {
        let path = std::path::Path::new("t.toml");
        let c = crate::Config::parse("[mailbox]\nretention_days = 7\n", path).expect("valid");
        assert_eq!(c.mailbox.retention_days, 7);
        assert!(
            crate::Config::parse("", path)
                .expect("empty")
                .mailbox
                .enabled
        );
        let e = crate::Config::parse("[mailbox]\nmax_parts = 0\n", path).expect_err("bounds");
        assert!(e.to_string().contains("mailbox.max_parts"), "{e}");
        let e = crate::Config::parse(
            "[[agents]]\nname = \"warden-mailbox\"\nurl = \"https://agent.example/\"\n",
            path,
        )
        .expect_err("reserved");
        assert!(e.to_string().contains("reserved for the mailbox"), "{e}");
    }
}
