//! Helpers shared by the lint tests: a clean base card and one-line probes.
#![allow(dead_code)]

use serde_json::{Value, json};
use warden_card::lint::{FindingCode, LintLimits, Report, Severity, lint};

/// A card with nothing to report, to put one string into.
pub fn base_card() -> Value {
    json!({
        "name": "Forecast Agent",
        "description": "Hourly and daily weather forecasts for any city.",
        "version": "1.4.0",
        "provider": {"organization": "Example Weather Ltd", "url": "https://weather.example.com"},
        "documentationUrl": "https://weather.example.com/docs",
        "supportedInterfaces": [
            {"url": "https://agent.weather.example.com/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": true},
        "securitySchemes": {"bearer": {"httpAuthSecurityScheme": {"scheme": "Bearer"}}},
        "securityRequirements": [{"schemes": {"bearer": {"list": []}}}],
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["application/json"],
        "skills": [{
            "id": "forecast",
            "name": "Forecast",
            "description": "Forecast for a place and day.",
            "tags": ["weather"],
            "examples": ["Will it rain in Lyon tomorrow?"]
        }]
    })
}

/// Lints the base card with `description` replaced.
pub fn lint_description(description: &str) -> Report {
    let mut card = base_card();
    card["description"] = Value::String(description.to_owned());
    lint(&card, &LintLimits::default())
}

/// The severity of `code` at `/description`, if reported.
pub fn severity_of(description: &str, code: FindingCode) -> Option<Severity> {
    lint_description(description)
        .findings
        .iter()
        .filter(|f| f.code == code && f.path == "/description")
        .map(|f| f.severity)
        .max()
}

/// Whether `description` gets `code` at warning or worse.
pub fn flags(description: &str, code: FindingCode) -> bool {
    severity_of(description, code).is_some_and(|s| s >= Severity::Warning)
}

/// Every finding at warning or worse, as `code@path`, for failure messages.
pub fn summary(report: &Report) -> Vec<String> {
    report
        .at_least(Severity::Warning)
        .map(|f| format!("{}@{} ({}): {}", f.code, f.path, f.severity, f.message))
        .collect()
}
