//! The headers MCP reads, each at most once and visible ASCII (a repeated
//! one would let two readers see two values).

use http::HeaderMap;
use warden_mailbox::mcp::Headers;

/// The header that could not be read, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

const NAMES: [&str; 6] = [
    "mcp-protocol-version",
    "mcp-session-id",
    "mcp-method",
    "mcp-name",
    "accept",
    "content-type",
];

/// Reads the MCP headers of `headers`.
pub fn read(headers: &HeaderMap) -> Result<Headers<'_>, Unreadable> {
    let mut values: [Option<&str>; 6] = [None; 6];
    for (slot, name) in values.iter_mut().zip(NAMES) {
        let mut all = headers.get_all(name).iter();
        let Some(first) = all.next() else { continue };
        let mut value = first.to_str().map_err(|_| Unreadable(name))?;
        for more in all {
            // Accept may be split over several lines (any one that takes
            // JSON will do); every other MCP header appears once.
            if name != "accept" {
                return Err(Unreadable(name));
            }
            let more = more.to_str().map_err(|_| Unreadable(name))?;
            if more.contains("json") || more.contains("*/*") {
                value = more;
            }
        }
        *slot = Some(value);
    }
    let [
        protocol_version,
        session_id,
        mcp_method,
        mcp_name,
        accept,
        content_type,
    ] = values;
    Ok(Headers {
        protocol_version,
        session_id,
        mcp_method,
        mcp_name,
        accept,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mcp_header_is_read_once() {
        let mut h = HeaderMap::new();
        h.insert("mcp-protocol-version", "2026-07-28".parse().expect("value"));
        h.insert("content-type", "application/json".parse().expect("value"));
        let read_ = read(&h).expect("readable");
        assert_eq!(read_.protocol_version, Some("2026-07-28"));
        assert_eq!(read_.session_id, None);
        h.append("mcp-method", "tools/list".parse().expect("value"));
        h.append("mcp-method", "tools/call".parse().expect("value"));
        assert_eq!(read(&h).err(), Some(Unreadable("mcp-method")));
    }
}
