//! DNS-rebinding protection for `/mcp` (MCP Streamable HTTP: "Servers MUST
//! validate the Origin header on all incoming connections"). A web page
//! whose host name an attacker re-points at this gateway makes the browser
//! send the page's own origin: only Warden's own origin (its public URL) is
//! let in. MCP clients that are not browsers send no `Origin` and are not
//! affected.

use http::{HeaderMap, Uri};

/// Why an `Origin` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginRefusal {
    /// More than one `Origin`, or one that is not readable.
    Unreadable,
    /// Another site's origin (or `null`).
    Foreign,
}

/// Passes a request with no `Origin` or with Warden's own; refuses any other.
pub fn check(headers: &HeaderMap, public_url: &str) -> Result<(), OriginRefusal> {
    let mut all = headers.get_all(http::header::ORIGIN).iter();
    let Some(value) = all.next() else {
        return Ok(());
    };
    if all.next().is_some() {
        return Err(OriginRefusal::Unreadable);
    }
    let origin = value.to_str().map_err(|_| OriginRefusal::Unreadable)?;
    match (normalise(origin), normalise(public_url)) {
        (Some(o), Some(own)) if o == own => Ok(()),
        _ => Err(OriginRefusal::Foreign),
    }
}

/// `scheme://host:port` in lower case with the default port made explicit;
/// `None` for anything that is not an http(s) origin (`null` included).
fn normalise(url: &str) -> Option<(String, String, u16)> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host()?.to_ascii_lowercase();
    Some((scheme, host, uri.port_u16().unwrap_or(default)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(origins: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for o in origins {
            h.append(http::header::ORIGIN, o.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn only_warden_s_own_origin_passes() {
        let own = "http://127.0.0.1:8080";
        assert_eq!(check(&with(&[]), own), Ok(()));
        assert_eq!(check(&with(&["http://127.0.0.1:8080"]), own), Ok(()));
        assert_eq!(check(&with(&["HTTP://127.0.0.1:8080"]), own), Ok(()));
        assert_eq!(
            check(&with(&["https://w.example"]), "https://W.example:443/"),
            Ok(())
        );
        for foreign in [
            "http://evil.example:8080",
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
            "null",
            "file://",
        ] {
            assert_eq!(
                check(&with(&[foreign]), own),
                Err(OriginRefusal::Foreign),
                "{foreign}"
            );
        }
        assert_eq!(
            check(&with(&[own, own]), own),
            Err(OriginRefusal::Unreadable)
        );
    }
}
