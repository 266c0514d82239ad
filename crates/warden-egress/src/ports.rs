//! Port lists as an operator writes them: integers and inclusive ranges
//! written as strings, side by side (`[443, "8000-8100"]`).
//!
//! A range is a string because TOML has no range literal, and a string
//! lets one list hold both forms. Every entry is checked as it is read:
//! port 0 (never a destination), numbers above 65535, reversed ranges and
//! anything but digits around one `-` are refused, naming the entry.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// One port, or an inclusive range of ports; never holds port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PortItem")]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// The ports `first` to `last`, both included.
    pub fn new(first: u16, last: u16) -> Result<Self, PortError> {
        if first == 0 {
            return Err(PortError::Zero);
        }
        if first > last {
            return Err(PortError::Reversed(first, last));
        }
        Ok(Self { first, last })
    }

    /// Just `port`.
    pub fn single(port: u16) -> Result<Self, PortError> {
        Self::new(port, port)
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

/// Whether any range of `list` holds `port`.
pub fn any_contains(list: &[PortRange], port: u16) -> bool {
    list.iter().any(|r| r.contains(port))
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Why a port-list entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("{0:?} is not a port or a range of ports (write 8443 or \"9000-9100\")")]
    Syntax(String),
    #[error("{0} is not a port (1-65535)")]
    OutOfRange(String),
    #[error("port 0 is not a destination")]
    Zero,
    #[error("the range {0}-{1} is reversed (write \"{1}-{0}\")")]
    Reversed(u16, u16),
}

/// A port-list entry as written, not yet checked: an integer or a string.
/// Read by [`PortRange`] itself, and by callers that check entries later
/// so their errors can name the table they sit in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortItem {
    Number(i64),
    Text(String),
}

impl TryFrom<PortItem> for PortRange {
    type Error = PortError;

    fn try_from(item: PortItem) -> Result<Self, PortError> {
        match item {
            PortItem::Number(n) => Self::single(port(n)?),
            PortItem::Text(s) => parse_text(&s),
        }
    }
}

/// `"8443"` or `"9000-9100"`: digits only, one `-` between two ports.
fn parse_text(s: &str) -> Result<PortRange, PortError> {
    let syntax = || PortError::Syntax(s.to_string());
    let digits = |t: &str| -> Result<u16, PortError> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        // Digits only, so this fails only by being too long.
        let n = t
            .parse::<i64>()
            .map_err(|_| PortError::OutOfRange(t.to_string()))?;
        port(n)
    };
    match s.split_once('-') {
        Some((a, b)) => PortRange::new(digits(a)?, digits(b)?),
        None => PortRange::single(digits(s)?),
    }
}

fn port(n: i64) -> Result<u16, PortError> {
    if n == 0 {
        return Err(PortError::Zero);
    }
    u16::try_from(n).map_err(|_| PortError::OutOfRange(n.to_string()))
}

impl<'de> Deserialize<'de> for PortItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl Visitor<'_> for ItemVisitor {
    type Value = PortItem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a port (8443) or a range of ports as a string (\"9000-9100\")")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortItem, E> {
        Ok(PortItem::Number(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortItem, E> {
        Ok(PortItem::Number(i64::try_from(v).unwrap_or(i64::MAX)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PortItem, E> {
        Ok(PortItem::Text(v.to_string()))
    }
}

#[cfg(test)]
mod tests;
