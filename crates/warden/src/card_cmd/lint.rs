//! `warden card lint`: runs [`warden_card::lint`] on a card from a file or a
//! URL and reports the findings, or with `--sanitise` prints the card with
//! hidden characters removed and free text fenced
//! ([`warden_card::sanitise`]).
//!
//! A card that is not strict JSON cannot be linted; it is reported as one
//! `malformed_card` error, like a card that is not an object.

use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::json;
use warden_card::lint::{Finding, FindingCode, LintLimits, Report, Severity, lint};
use warden_card::sanitise::sanitise;
use warden_json::{JsonLimits, parse_strict};

use super::{EXIT_CODES, Failure, NetArgs, Source, egress, emit, pretty, printable, write_output};

const LINT_HELP: &str = "\
Finding codes (stable; see docs/cards.md for what triggers each):
  instruction_override exfiltration role_play link_in_text email_in_text
  markup_injection hidden_unicode mixed_script control_chars
  insecure_interface insecure_url unsafe_url no_security_scheme
  unknown_security_scheme oversize_field malformed_card
Severities: info < warning < error. Exit 1 when a finding is at or above
--fail-on (default: error).

With --sanitise, stdout is the card with hidden and control characters
removed everywhere and free text fenced as ⟦card-text⟧…⟦/card-text⟧ (the
findings go to stderr); the exit code still follows --fail-on.

Examples:
  warden card lint card.json
  warden card lint https://agents.example.com/agents/weather --fail-on warning --json
  warden card lint card.json --sanitise > card.clean.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Warning,
    Error,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            Self::Warning => Severity::Warning,
            Self::Error => Severity::Error,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = format!("{LINT_HELP}\n\n{EXIT_CODES}"))]
pub struct LintArgs {
    /// The card: a file (`-` for stdin) or a URL.
    pub source: String,
    /// Print the sanitised card instead of the report.
    #[arg(long, alias = "sanitize")]
    pub sanitise: bool,
    /// The lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub net: NetArgs,
    /// Print one JSON object: {"ok", "findings", "worst", "fail_on"}, and
    /// "card" with --sanitise.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: LintArgs) -> Result<ExitCode, Failure> {
    let source = Source::of(&args.source);
    let egress = match source.url() {
        Some(url) => Some(egress(&args.net, Some(url))?),
        None => None,
    };
    let bytes = source.read(egress.as_ref()).await?;
    let (card, report) = match parse_strict(&bytes, JsonLimits::default()) {
        Ok(card) => {
            let report = lint(&card, &LintLimits::default());
            (Some(card), report)
        }
        Err(e) => (None, unreadable(&e.to_string())),
    };
    let fail_on = args.fail_on.severity();
    let failed = report.worst().is_some_and(|w| w >= fail_on);
    let sanitised = match (&card, args.sanitise) {
        (Some(card), true) => Some(sanitise(card)),
        _ => None,
    };

    if args.json {
        let mut out = json!({
            "ok": !failed,
            "findings": report.findings,
            "worst": report.worst(),
            "fail_on": fail_on,
        });
        if let Some(clean) = sanitised {
            out["card"] = clean;
        }
        emit(&out.to_string());
    } else if let Some(clean) = &sanitised {
        write_output(None, &pretty(clean))?;
        eprint!("{}", human(&report, fail_on));
    } else {
        emit(&human(&report, fail_on));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The report for a card that is not strict JSON.
fn unreadable(why: &str) -> Report {
    Report {
        findings: vec![Finding {
            code: FindingCode::MalformedCard,
            severity: Severity::Error,
            path: String::new(),
            message: format!("the card is not strict JSON: {}", printable(why)),
        }],
    }
}

/// One line per finding, then a summary line.
fn human(report: &Report, fail_on: Severity) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let path = if f.path.is_empty() { "(card)" } else { &f.path };
        out.push_str(&format!(
            "{:<7}  {:<23}  {}  {}\n",
            f.severity.as_str(),
            f.code.as_str(),
            printable(path),
            printable(&f.message)
        ));
    }
    let summary = match report.worst() {
        None => "no findings".to_string(),
        Some(worst) => format!(
            "{} finding{}, worst: {worst}",
            report.findings.len(),
            if report.findings.len() == 1 { "" } else { "s" }
        ),
    };
    let verdict = if report.worst().is_some_and(|w| w >= fail_on) {
        format!("fails (--fail-on {fail_on})")
    } else {
        format!("passes (--fail-on {fail_on})")
    };
    out.push_str(&format!("{summary}; {verdict}\n"));
    out
}
