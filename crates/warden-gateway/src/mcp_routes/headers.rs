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
        let Some(v) = all.next() else { continue };
        // Accept may legitimately be split over several lines; the others
        // may not.
        if all.next().is_some() && name != "accept" {
            return Err(Unreadable(name));
        }
        let s = v.to_str().map_err(|_| Unreadable(name))?;
        *slot = Some(s);
    }
    let [
        protocol_version,
        session_id,
        mcp_method,
        mcp_name,
        accept,
        content_type,
    ] = values;
    let accept = if headers.get_all("accept").iter().count() > 1 {
        // Several Accept lines: any one listing JSON is enough; the
        // transport checks the first that does.
        headers
            .get_all("accept")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.contains("json") || v.contains("*/*"))
            .or(accept)
    } else {
        accept
    };
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
