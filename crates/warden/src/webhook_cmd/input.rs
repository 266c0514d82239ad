//! What `warden webhook verify` reads: the body (a file or stdin, bytes
//! exactly as received) and the headers (`--header 'Name: value'` or a file
//! of raw header lines, as `curl -D` or a request capture writes them).

use std::io::Read as _;
use std::path::Path;

use super::Failure;

/// The largest body read: far above any notification Warden relays.
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;
/// The largest headers file read.
const MAX_HEADERS_FILE_BYTES: u64 = 64 * 1024;

/// Reads `path` (`-` for stdin), at most `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| Failure::input("read", format!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    } else {
        std::fs::File::open(path)
            .map_err(fail)?
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    }
    if bytes.len() as u64 > cap {
        return Err(Failure::input(
            "too_large",
            format!("{}: larger than {cap} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// One `Name: value` line: a token name, optional whitespace around the
/// value (HTTP's OWS), the value kept as bytes.
pub fn header_line(line: &str) -> Result<(String, Vec<u8>), Failure> {
    let bad = || {
        Failure::input(
            "header",
            format!(
                "{:?} is not a 'Name: value' header",
                crate::card_cmd::printable(line)
            ),
        )
    };
    let (name, value) = line.split_once(':').ok_or_else(bad)?;
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(bad());
    }
    let value = value.trim_matches([' ', '\t']);
    Ok((name.to_string(), value.as_bytes().to_vec()))
}

/// A raw header block: an optional first line that is a request or status
/// line (`POST /hook HTTP/1.1`, `HTTP/1.1 200 OK`), then `Name: value`
/// lines up to the first empty line. CRLF or LF. A folded (indented)
/// line is refused, as HTTP/1.1 refuses it.
pub fn headers_file(path: &Path) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let bytes = read_capped(path, MAX_HEADERS_FILE_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::input("header", format!("{}: not UTF-8", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if i == 0 && (line.starts_with("HTTP/") || line.contains(" HTTP/")) {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(Failure::input(
                "header",
                format!(
                    "{}: line {}: folded header lines are refused",
                    path.display(),
                    i + 1
                ),
            ));
        }
        out.push(header_line(line)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_read_strictly() {
        let (n, v) = header_line("webhook-id:  msg_1 \t").expect("ok");
        assert_eq!(
            (n.as_str(), v.as_slice()),
            ("webhook-id", b"msg_1".as_slice())
        );
        let (_, v) = header_line("webhook-signature: v1,a v1a,b").expect("ok");
        assert_eq!(v, b"v1,a v1a,b");
        for bad in ["no colon", ": v", "bad name: v", "na\u{e9}me: v"] {
            assert!(header_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_header_block_skips_the_start_line_and_stops_at_the_blank_line() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("h.txt");
        std::fs::write(
            &path,
            "POST /hook HTTP/1.1\r\nHost: x\r\nwebhook-id: m1\r\n\r\n{\"body\": 1}",
        )
        .expect("write");
        let h = headers_file(&path).expect("read");
        assert_eq!(h.len(), 2);
        assert_eq!(h[1], ("webhook-id".into(), b"m1".to_vec()));
        std::fs::write(&path, "webhook-id: m1\n continued\n").expect("write");
        assert!(headers_file(&path).is_err());
    }
}
