//! Authorisation from the command line, on an instance's store directly (no
//! running gateway needed): per-pair grants ([`grant`]), quarantine
//! ([`quarantine`]) and policy rules ([`policy`]: check a file, explain a
//! decision offline).
//!
//! Grants and quarantine use the implementation the admin API uses
//! ([`warden_authority::grants`]); every change bumps the store's
//! authorisation generation, so running gateways apply it from their next
//! call, and is audited (kind `admin`, principal `cli`, ids only).

mod explain;
pub mod grant;
pub mod policy;
pub mod quarantine;

pub use grant::GrantCommand;
pub use policy::PolicyCommand;
pub use quarantine::QuarantineCommand;

/// Parses a point in time: RFC 3339 (`2026-05-01T12:00:00Z`) or Unix
/// seconds (`1777636800`).
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| format!("time {s:?} is out of range"));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|e| {
            format!("time {s:?} is neither RFC 3339 (2026-05-01T12:00:00Z) nor Unix seconds: {e}")
        })
        .and_then(|t| {
            if t < 0 {
                Err(format!("time {s:?} is before 1970"))
            } else {
                Ok(t)
            }
        })
}

/// Unix seconds as RFC 3339 UTC (`2026-05-01T12:00:00Z`).
pub fn show_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || format!("unix {secs}"),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// A comma-separated list, trimmed, without empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Rows as aligned columns (two spaces apart), with a header line.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            if i + 1 < widths.len() {
                out.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push('\n');
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Prints a JSON value, pretty.
pub fn print_json(v: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("1777636800"), Ok(1_777_636_800));
        assert_eq!(parse_time("2026-05-01T12:00:00Z"), Ok(1_777_636_800));
        assert_eq!(parse_time("2026-05-01T14:00:00+02:00"), Ok(1_777_636_800));
        for bad in [
            "",
            "-5",
            "tomorrow",
            "2026-05-01",
            "1969-12-31T23:59:59Z",
            "99999999999999999999",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(show_time(1_777_636_800), "2026-05-01T12:00:00Z");
    }

    #[test]
    fn tables_align_their_columns() {
        let rows = vec![
            vec!["g_1".to_string(), "alice".into(), "echo".into()],
            vec!["g_22".to_string(), "b".into(), "payments".into()],
        ];
        assert_eq!(
            table(&["ID", "CALLER", "TARGET"], &rows),
            "ID    CALLER  TARGET\ng_1   alice   echo\ng_22  b       payments"
        );
        assert_eq!(split_list(" a, ,b,"), ["a", "b"]);
    }
}
