//! Protocol version negotiation (spec reference §6.2).
//!
//! The caller names a version with the `A2A-Version` header or the
//! `A2A-Version` query parameter; a missing or empty value means 0.3. Only
//! Major.Minor counts. Warden understands 0.3 and 1.x (a 1.1 caller is served
//! with 1.0 semantics, as the Python SDK does); anything else is refused with
//! VersionNotSupportedError.

use crate::error::A2aError;

/// The protocol dialects Warden understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    V0_3,
    V1_0,
}

impl ProtocolVersion {
    /// The value sent in `A2A-Version`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_3 => "0.3",
            Self::V1_0 => "1.0",
        }
    }
}

pub const VERSION_HEADER: &str = "A2A-Version";
pub const EXTENSIONS_HEADER: &str = "A2A-Extensions";
/// The v0.3 spelling of [`EXTENSIONS_HEADER`].
pub const LEGACY_EXTENSIONS_HEADER: &str = "X-A2A-Extensions";

/// Reads the requested version from the header value, or else the query
/// parameter value. The header wins when both are present and non-empty.
pub fn requested_version(
    header: Option<&str>,
    query: Option<&str>,
) -> Result<ProtocolVersion, A2aError> {
    let raw = [header, query]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty());
    let Some(raw) = raw else {
        return Ok(ProtocolVersion::V0_3);
    };
    let parts: Vec<Option<u32>> = raw.split('.').map(|p| p.parse::<u32>().ok()).collect();
    let well_formed = (2..=3).contains(&parts.len()) && parts.iter().all(Option::is_some);
    match (
        well_formed,
        parts.first().copied().flatten(),
        parts.get(1).copied().flatten(),
    ) {
        (true, Some(0), Some(3)) => Ok(ProtocolVersion::V0_3),
        (true, Some(1), Some(_)) => Ok(ProtocolVersion::V1_0),
        _ => Err(A2aError::version_not_supported(format!(
            "A2A-Version {raw:?} is not supported; use 1.0 (or 0.3)"
        ))
        .with("supportedVersions", "1.0,0.3")),
    }
}

/// The extension URIs a caller asked for: `A2A-Extensions` values and, for
/// v0.3 callers, `X-A2A-Extensions` values (comma-separated, possibly in
/// several headers), trimmed, empty entries dropped, first occurrence kept.
pub fn requested_extensions<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for uri in values.into_iter().flat_map(|v| v.split(',')).map(str::trim) {
        if !uri.is_empty() && !out.iter().any(|u| u == uri) {
            out.push(uri.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_from_both_header_spellings() {
        let got = requested_extensions(["urn:a, urn:b", " urn:a ,,", "urn:c"]);
        assert_eq!(got, ["urn:a", "urn:b", "urn:c"]);
    }

    #[test]
    fn missing_or_empty_means_0_3() {
        assert_eq!(requested_version(None, None), Ok(ProtocolVersion::V0_3));
        assert_eq!(requested_version(Some(""), None), Ok(ProtocolVersion::V0_3));
    }

    #[test]
    fn header_then_query_major_minor_only() {
        assert_eq!(
            requested_version(Some("1.0"), None),
            Ok(ProtocolVersion::V1_0)
        );
        assert_eq!(
            requested_version(None, Some("1.0")),
            Ok(ProtocolVersion::V1_0)
        );
        assert_eq!(
            requested_version(Some("1.0.2"), None),
            Ok(ProtocolVersion::V1_0)
        );
        assert_eq!(
            requested_version(Some("1.1"), None),
            Ok(ProtocolVersion::V1_0)
        );
        assert_eq!(
            requested_version(Some("0.3"), Some("1.0")),
            Ok(ProtocolVersion::V0_3)
        );
    }

    #[test]
    fn unknown_versions_are_refused() {
        for v in ["2.0", "0.2", "abc", "1.x"] {
            let err = requested_version(Some(v), None).expect_err(v);
            assert_eq!(err.kind, crate::ErrorKind::VersionNotSupported);
        }
    }
}
