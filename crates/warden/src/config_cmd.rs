//! `warden config check`: what the gateway checks at start, the files the
//! configuration names, and (unless `--offline`) the host names of every
//! configured outbound URL, looked up and judged as the gateway will.

use std::path::Path;
use std::sync::Arc;

use warden_egress::SystemResolver;
use warden_gateway::Config;

/// Prints `FILE: ok (N agents; …)`, or returns the first error. A
/// deprecated spelling is a `warning:` line on stderr, not an error.
pub async fn check(file: &Path, offline: bool) -> Result<(), String> {
    let config = Config::load(file).map_err(|e| e.to_string())?;
    // Old spellings still load (exit 0), each named with its new one.
    for d in &config.deprecations {
        eprintln!("warning: {}: {d}", file.display());
    }
    warden_gateway::startup::check_files(&config, file).map_err(|e| e.to_string())?;
    let names = if offline {
        "names not resolved: --offline".to_string()
    } else {
        let n = warden_gateway::config_check::resolve_names(&config, Arc::new(SystemResolver))
            .await
            .map_err(|e| format!("{}: {e}", file.display()))?;
        match n {
            1 => "1 name resolved".to_string(),
            n => format!("{n} names resolved"),
        }
    };
    println!(
        "{}: ok ({} agents; {names})",
        file.display(),
        config.agents.len()
    );
    Ok(())
}
