//! `[retention]`: what the gateway removes from the store on a schedule,
//! and after how long. Absent, nothing but ownership records
//! (`authz.ownership_retention_days`) is ever removed: audit events are
//! evidence, and finished tasks, ended grants and dead keys are history an
//! operator may still want, so each is removed only when a key here says so.

use std::num::NonZeroU32;

use serde::Deserialize;

/// `[retention]` in warden.toml.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSection {
    /// How often the gateway runs retention, in hours (`every_hours`; 0:
    /// never: then only `warden clean` removes anything, ownership records
    /// included).
    pub every_hours: u32,
    /// Finished tasks of Warden's own agents (with their push configs),
    /// grants revoked or ended, API keys revoked or expired, and signing
    /// keys no longer published, this many days after that (none: kept).
    pub days: Option<NonZeroU32>,
    /// Audit events older than this many days (none: kept for ever).
    pub audit_days: Option<NonZeroU32>,
}

impl Default for RetentionSection {
    fn default() -> Self {
        Self {
            every_hours: 1,
            days: None,
            audit_days: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RetentionSection, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn absent_keys_keep_everything_but_ownership() {
        let s = parse("").expect("valid");
        assert_eq!(s, RetentionSection::default());
        assert_eq!((s.every_hours, s.days, s.audit_days), (1, None, None));
        let s = parse("every_hours = 24\ndays = 90\naudit_days = 365").expect("valid");
        assert_eq!(s.days.map(NonZeroU32::get), Some(90));
        assert_eq!(s.audit_days.map(NonZeroU32::get), Some(365));
        assert_eq!(parse("every_hours = 0").expect("off").every_hours, 0);
    }

    #[test]
    fn zero_days_and_unknown_keys_are_refused() {
        for bad in [
            "days = 0",
            "audit_days = 0",
            "days = -1",
            "keep_audit = true",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("days = 0").expect_err("zero");
        assert!(e.contains("nonzero"), "{e}");
    }
}
