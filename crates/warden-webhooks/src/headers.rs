//! Reading the webhook headers of a received notification: strictly, and
//! with every size bounded before anything is decoded or verified.
//!
//! - Each of `webhook-id`, `webhook-timestamp`, `webhook-signature` and
//!   `warden-notification-jwt` appears at most once (names compared
//!   case-insensitively); a second one is refused rather than choosing one.
//! - Values are visible ASCII (the signature list also has single spaces).
//! - `webhook-id`: 1 to 128 bytes of `[A-Za-z0-9_-]`.
//! - `webhook-timestamp`: 1 to 19 ASCII digits, no sign, no fraction.
//! - `webhook-signature`: at most 4 KiB and 16 entries, separated by single
//!   spaces; each `version,base64` with one comma. `v1` must decode to 32
//!   bytes and `v1a` to 64 (strict, padded standard base64); other versions
//!   are skipped, as the specification asks, but still counted.
//! - `warden-notification-jwt`: at most 8 KiB.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::notification::check_id;
use crate::verify::VerifyError;
use crate::{NOTIFICATION_JWT, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};

/// The longest `webhook-signature` value read.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 4096;
/// The most entries in `webhook-signature`.
pub const MAX_SIGNATURES: usize = 16;
const MAX_TIMESTAMP_DIGITS: usize = 19;
const MAX_VERSION_BYTES: usize = 8;

/// One entry of `webhook-signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// HMAC-SHA256 (32 bytes).
    V1(Vec<u8>),
    /// Ed25519 (64 bytes).
    V1a(Vec<u8>),
    /// A version this verifier does not know (skipped).
    Other(String),
}

/// The webhook headers of one received notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeaders {
    pub id: String,
    pub timestamp: u64,
    pub signatures: Vec<Signature>,
    pub jwt: Option<String>,
}

fn malformed(what: impl Into<String>) -> VerifyError {
    VerifyError::Malformed(what.into())
}

impl WebhookHeaders {
    /// Reads the webhook headers out of all of a request's headers (name,
    /// raw value). Other headers are ignored.
    pub fn parse<'a, I>(headers: I) -> Result<Self, VerifyError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let (mut id, mut ts, mut sig, mut jwt) = (None, None, None, None);
        for (name, value) in headers {
            let slot = if name.eq_ignore_ascii_case(WEBHOOK_ID) {
                &mut id
            } else if name.eq_ignore_ascii_case(WEBHOOK_TIMESTAMP) {
                &mut ts
            } else if name.eq_ignore_ascii_case(WEBHOOK_SIGNATURE) {
                &mut sig
            } else if name.eq_ignore_ascii_case(NOTIFICATION_JWT) {
                &mut jwt
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(malformed(format!(
                    "header {} appears more than once",
                    name.to_ascii_lowercase()
                )));
            }
            *slot = Some(value);
        }
        let id = required(id, WEBHOOK_ID)?;
        let id = visible(id, WEBHOOK_ID, false, crate::notification::MAX_ID_BYTES)?;
        check_id(id).map_err(|e| malformed(format!("webhook-id: {e}")))?;
        let ts = required(ts, WEBHOOK_TIMESTAMP)?;
        let timestamp = parse_timestamp(visible(ts, WEBHOOK_TIMESTAMP, false, 32)?)?;
        let sig = required(sig, WEBHOOK_SIGNATURE)?;
        let signatures = parse_signatures(visible(
            sig,
            WEBHOOK_SIGNATURE,
            true,
            MAX_SIGNATURE_HEADER_BYTES,
        )?)?;
        let jwt = jwt
            .map(|v| visible(v, NOTIFICATION_JWT, false, crate::claims::MAX_JWT_BYTES))
            .transpose()?
            .map(str::to_owned);
        Ok(Self {
            id: id.to_string(),
            timestamp,
            signatures,
            jwt,
        })
    }

    /// The same, from an [`http::HeaderMap`].
    pub fn from_header_map(map: &http::HeaderMap) -> Result<Self, VerifyError> {
        Self::parse(map.iter().map(|(k, v)| (k.as_str(), v.as_bytes())))
    }
}

fn required<'a>(value: Option<&'a [u8]>, name: &str) -> Result<&'a [u8], VerifyError> {
    value.ok_or_else(|| malformed(format!("header {name} is missing")))
}

/// The value as text if it is visible ASCII (and single inner spaces when
/// `spaces`), at most `max` bytes.
fn visible<'a>(
    value: &'a [u8],
    name: &str,
    spaces: bool,
    max: usize,
) -> Result<&'a str, VerifyError> {
    if value.len() > max {
        return Err(malformed(format!(
            "header {name} is longer than {max} bytes"
        )));
    }
    if value.is_empty() {
        return Err(malformed(format!("header {name} is empty")));
    }
    let ok = value
        .iter()
        .all(|&b| b.is_ascii_graphic() || (spaces && b == b' '));
    match std::str::from_utf8(value) {
        Ok(text) if ok => Ok(text),
        _ => Err(malformed(format!(
            "header {name} holds bytes other than visible ASCII"
        ))),
    }
}

fn parse_timestamp(text: &str) -> Result<u64, VerifyError> {
    if text.len() > MAX_TIMESTAMP_DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("webhook-timestamp is not integer Unix seconds"));
    }
    text.parse()
        .map_err(|_| malformed("webhook-timestamp is not integer Unix seconds"))
}

fn parse_signatures(text: &str) -> Result<Vec<Signature>, VerifyError> {
    let mut out = Vec::new();
    for entry in text.split(' ') {
        if out.len() == MAX_SIGNATURES {
            return Err(malformed(format!(
                "webhook-signature has more than {MAX_SIGNATURES} entries"
            )));
        }
        if entry.is_empty() {
            return Err(malformed(
                "webhook-signature entries are separated by single spaces",
            ));
        }
        let (version, b64) = entry
            .split_once(',')
            .filter(|(_, rest)| !rest.contains(','))
            .ok_or_else(|| malformed("a webhook-signature entry is version,base64"))?;
        if version.is_empty()
            || version.len() > MAX_VERSION_BYTES
            || !version.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(malformed(
                "a webhook-signature version is 1-8 letters or digits",
            ));
        }
        let decode = |len: usize| {
            STANDARD
                .decode(b64)
                .ok()
                .filter(|b| b.len() == len)
                .ok_or_else(|| malformed(format!("a {version} signature is {len} bytes of base64")))
        };
        out.push(match version {
            "v1" => Signature::V1(decode(32)?),
            "v1a" => Signature::V1a(decode(64)?),
            other => Signature::Other(other.to_string()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=";
    const V1A: &str = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";

    fn parse(pairs: &[(&str, &str)]) -> Result<WebhookHeaders, VerifyError> {
        WebhookHeaders::parse(pairs.iter().map(|(k, v)| (*k, v.as_bytes())))
    }

    fn reason(r: Result<WebhookHeaders, VerifyError>) -> String {
        match r {
            Err(VerifyError::Malformed(why)) => why,
            other => panic!("expected a malformed refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_specifications_example_headers_parse() {
        let sig = format!("{V1} {V1A}");
        let h = parse(&[
            ("Webhook-Id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
            ("webhook-timestamp", "1674087231"),
            ("WEBHOOK-SIGNATURE", &sig),
            ("content-type", "application/a2a+json"),
        ])
        .expect("parse");
        assert_eq!(h.id, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
        assert_eq!(h.timestamp, 1_674_087_231);
        assert!(matches!(h.signatures[0], Signature::V1(ref b) if b.len() == 32));
        assert!(matches!(h.signatures[1], Signature::V1a(ref b) if b.len() == 64));
        assert_eq!(h.jwt, None);
    }

    #[test]
    fn unknown_versions_are_skipped_but_counted() {
        let sig = format!("v2,abc {V1}");
        let h = parse(&[
            ("webhook-id", "m"),
            ("webhook-timestamp", "1"),
            ("webhook-signature", &sig),
        ])
        .expect("parse");
        assert_eq!(h.signatures[0], Signature::Other("v2".into()));
        let many = vec![V1; 17].join(" ");
        let r = parse(&[
            ("webhook-id", "m"),
            ("webhook-timestamp", "1"),
            ("webhook-signature", &many),
        ]);
        assert!(reason(r).contains("more than 16"));
    }

    #[test]
    fn misshapen_headers_are_refused() {
        let ok_sig = V1.to_string();
        let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
            (
                vec![
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "webhook-id is missing",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "webhook-timestamp is missing",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                ],
                "webhook-signature is missing",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-id", "n".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "more than once",
            ),
            (
                vec![
                    ("webhook-id", "a.b".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "webhook-id",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "-1".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "integer",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1.5".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "integer",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "99999999999999999999".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "integer",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", format!("{V1}  {V1}")),
                ],
                "single spaces",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", format!(" {V1}")),
                ],
                "single spaces",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", "v1".into()),
                ],
                "version,base64",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", "v1,a,b".into()),
                ],
                "version,base64",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", "v1,AAAA".into()),
                ],
                "32 bytes",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", "v1a,AAAA".into()),
                ],
                "64 bytes",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", ",AAAA".into()),
                ],
                "version is",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", "v\u{e9},AAAA".into()),
                ],
                "visible ASCII",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", "v1,\tAAAA".into()),
                ],
                "visible ASCII",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", "x".repeat(4097)),
                ],
                "longer than 4096",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "1".into()),
                    ("webhook-signature", ok_sig.clone()),
                    ("warden-notification-jwt", "j".repeat(8193)),
                ],
                "longer than 8192",
            ),
            (
                vec![
                    ("webhook-id", "m".into()),
                    ("webhook-timestamp", "".into()),
                    ("webhook-signature", ok_sig.clone()),
                ],
                "empty",
            ),
        ];
        for (pairs, want) in cases {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let why = reason(parse(&refs));
            assert!(why.contains(want), "{refs:?}: {why:?} lacks {want:?}");
        }
    }

    #[test]
    fn a_header_map_is_read_the_same_way() {
        let mut map = http::HeaderMap::new();
        map.insert("webhook-id", http::HeaderValue::from_static("m1"));
        map.insert("webhook-timestamp", http::HeaderValue::from_static("5"));
        map.insert("webhook-signature", http::HeaderValue::from_static(V1));
        map.append("webhook-id", http::HeaderValue::from_static("m2"));
        assert!(reason(WebhookHeaders::from_header_map(&map)).contains("more than once"));
    }
}
