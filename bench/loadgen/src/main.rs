//! warden-loadgen: the benchmark's load generator for what wrk cannot do,
//! a TLS client certificate (bench/README.md, scenario `mtls-send`).
//!
//! - `certs`: a throw-away CA, a server certificate for 127.0.0.1 and a
//!   client certificate, and the client certificate's RFC 8705 thumbprint.
//! - `run`: N keep-alive HTTP/1.1 connections, each POSTing one body in a
//!   loop for a duration, and one summary line in the format of the wrk
//!   scripts' (bench/wrk/common.lua), so bench/run.sh reads both alike.

mod certs;
mod load;
mod summary;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "warden-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write ca.pem, server.pem/server.key (127.0.0.1, localhost),
    /// client.pem/client.key and x5t.txt to DIR; print the client
    /// certificate's thumbprint (x5t#S256).
    Certs {
        #[arg(long)]
        out: PathBuf,
    },
    /// Send POST requests over keep-alive connections for a while and print
    /// a `BENCH …` summary line.
    Run(Box<RunArgs>),
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// http://host:port/path or https://…
    #[arg(long)]
    pub url: hyper::Uri,
    /// The request body, sent as is.
    #[arg(long)]
    pub body: PathBuf,
    /// A request header, `Name: value` (repeatable).
    #[arg(long = "header", value_parser = parse_header)]
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// How long to send, e.g. 10s, 500ms, 2m.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// A response taking longer counts as a timeout, and its connection is
    /// replaced (wrk's default is the same 2 s).
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub timeout: Duration,
    /// The CA certificates (PEM) to trust for https://; needed for https.
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// The client certificate (PEM) to present, with --key.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// A 2xx response whose body lacks this is a failure (repeatable: all
    /// must be there).
    #[arg(long)]
    pub expect: Vec<String>,
    /// A 2xx response whose body holds this is a failure (repeatable).
    #[arg(long)]
    pub reject: Vec<String>,
}

fn parse_header(
    s: &str,
) -> Result<(hyper::header::HeaderName, hyper::header::HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not `Name: value`"))?;
    let name = name.trim().parse().map_err(|e| format!("{name:?}: {e}"))?;
    let value = value
        .trim()
        .parse()
        .map_err(|e| format!("{value:?}: {e}"))?;
    Ok((name, value))
}

/// `500ms`, `10s`, `2m`, `1h`, or plain seconds (as wrk's -d).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("invalid duration unit in {s:?} (ms, s, m or h)")),
    })
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Certs { out } => certs::write(&out),
        Command::Run(args) => load::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn headers() {
        let (n, v) = parse_header("Authorization: Bearer a:b").expect("header");
        assert_eq!(n, "authorization");
        assert_eq!(v, "Bearer a:b");
        assert!(parse_header("no colon").is_err());
    }
}
