//! Narrow exceptions to the rules. An [`Allowance`] names one destination
//! (a host name, a `*.suffix`, or an address block), the ports and the
//! schemes it may be reached on; a URL that fits it gets past what the
//! rules would refuse it for, and only that URL.
//!
//! For a URL that fits, an allowance lifts:
//! - the port rule (the URL's port is one of the allowance's);
//! - the https requirement, when the allowance lists `http`;
//! - the host allow-list and the local-only-name rule: the operator named
//!   the host;
//! - the deny table. A named host's answers are judged as a trusted host's
//!   are ([`Rules::trusting`]): loopback, private, CGNAT, link-local and
//!   unique-local space pass, [`ranges::never_legitimate`] does not. An
//!   address in a block passes whatever its range, as `allow_cidrs` does.
//!
//! It never lifts the strict reading of the URL (userinfo, odd spellings,
//! …), nor cloud metadata names and addresses: those are refused whatever
//! the allowance says.
//!
//! Matching is on what the URL says, after [`target::parse`] normalised
//! it. A name allowance matches that name (or the names under its suffix)
//! and nothing else: not another name that resolves to the same address,
//! so a caller cannot reach an allowed internal receiver through a name of
//! their own pointing at it. A block allowance is about addresses: it
//! matches an address literal in the block, and, when names are resolved,
//! any name whose every answer lies in that one block.

use std::fmt;
use std::net::IpAddr;

use crate::error::EgressError;
use crate::policy::{self, Rules};
use crate::ports::{self, PortRange};
use crate::ranges::{self, Cidr, CidrError};
use crate::resolve::{self, Resolver};
use crate::target::{self, Host, Target};

/// The destination an allowance names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// This name exactly.
    Name(String),
    /// Every name ending in this suffix, kept with its leading dot (so
    /// `*.example.com` does not match `example.com` or `badexample.com`).
    Suffix(String),
    /// Address literals in the block, and names whose every answer is.
    Block(Cidr),
}

impl Dest {
    /// `host = "…"`: an exact name or `*.suffix`, normalised as a URL's
    /// host is (lower case, punycode, no trailing dot).
    pub fn host(pattern: &str) -> Result<Self, AllowanceError> {
        let (name, is_suffix) = match pattern.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (pattern, false),
        };
        let bad = || AllowanceError::Host(pattern.into());
        // A URL parse reads `x:80` or `x/y` as the host `x`: a pattern
        // holding more than a name is refused, not cut down to one.
        if name.contains([':', '/', '?', '#', '@', '[', ']', '\\', '*']) {
            return Err(bad());
        }
        let name = policy::normalise_name(name).ok_or_else(bad)?;
        if policy::is_metadata_name(&name) {
            return Err(AllowanceError::MetadataName(pattern.into()));
        }
        Ok(if is_suffix {
            Self::Suffix(format!(".{name}"))
        } else {
            Self::Name(name)
        })
    }

    /// `cidr = "…"`: an address block.
    pub fn cidr(block: &str) -> Result<Self, AllowanceError> {
        Ok(Self::Block(block.parse()?))
    }
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => write!(f, "host {n:?}"),
            Self::Suffix(s) => write!(f, "host \"*{s}\""),
            Self::Block(b) => write!(f, "cidr \"{b}\""),
        }
    }
}

/// Why an allowance could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowanceError {
    #[error(
        "host {0:?} is not a host name or *.suffix (write an address as a block: cidr = \"10.0.0.5/32\")"
    )]
    Host(String),
    #[error("host {0:?} is a cloud metadata name, which is never allowed")]
    MetadataName(String),
    #[error("cidr: {0}")]
    Cidr(#[from] CidrError),
    #[error("ports must name at least one port (there is no \"any port\")")]
    NoPorts,
    #[error("schemes: {0:?} is neither \"https\" nor \"http\"")]
    Scheme(String),
    #[error("schemes must name \"https\", \"http\" or both")]
    NoSchemes,
}

/// One destination, its ports and its schemes. See the module docs for
/// what it lifts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    dest: Dest,
    ports: Vec<PortRange>,
    http: bool,
    https: bool,
}

impl Allowance {
    pub fn new(
        dest: Dest,
        ports: Vec<PortRange>,
        schemes: &[impl AsRef<str>],
    ) -> Result<Self, AllowanceError> {
        if ports.is_empty() {
            return Err(AllowanceError::NoPorts);
        }
        let (mut http, mut https) = (false, false);
        for s in schemes {
            match s.as_ref() {
                "http" => http = true,
                "https" => https = true,
                other => return Err(AllowanceError::Scheme(other.into())),
            }
        }
        if !(http || https) {
            return Err(AllowanceError::NoSchemes);
        }
        Ok(Self {
            dest,
            ports,
            http,
            https,
        })
    }

    pub fn dest(&self) -> &Dest {
        &self.dest
    }

    /// Rules for calling `host` — a URL this allowance admitted — as the
    /// allowance lets it be called: `base` with the allowance's ports, its
    /// http, and its block exempted from the deny table (a named host is
    /// trusted as [`Rules::trusting`] has it). For one destination only:
    /// an [`crate::Egress`] built on them is for the URL the allowance
    /// admitted (the push relay's deliveries), never a general client.
    pub fn rules_for(&self, base: &Rules, host: &Host) -> Result<Rules, policy::PolicyError> {
        let mut p = base.policy().clone();
        p.allowed_ports.extend(self.ports.iter().copied());
        p.allow_http |= self.http;
        if let Dest::Block(c) = &self.dest {
            p.allow_cidrs.push(c.to_string());
        }
        if let (false, Host::Name(n)) = (p.allowed_hosts.is_empty(), host) {
            p.allowed_hosts.push(n.clone());
        }
        let rules = Rules::new(p)?;
        Ok(match (&self.dest, host) {
            (Dest::Name(_) | Dest::Suffix(_), Host::Name(_)) => rules.trusting([host.clone()]),
            _ => rules,
        })
    }

    /// Whether the URL's scheme and port are this allowance's.
    fn fits(&self, t: &Target) -> bool {
        let scheme = match t.url.scheme() {
            "https" => self.https,
            "http" => self.http,
            _ => false,
        };
        scheme && ports::any_contains(&self.ports, t.port)
    }

    /// Whether the URL's host, as written, is this allowance's.
    fn names(&self, host: &Host) -> bool {
        match (&self.dest, host) {
            (Dest::Name(a), Host::Name(n)) => a == n,
            (Dest::Suffix(s), Host::Name(n)) => n.ends_with(s.as_str()),
            (Dest::Block(b), Host::Ip(ip)) => b.contains(*ip),
            _ => false,
        }
    }

    fn block(&self) -> Option<&Cidr> {
        match &self.dest {
            Dest::Block(b) => Some(b),
            _ => None,
        }
    }
}

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports: Vec<String> = self.ports.iter().map(ToString::to_string).collect();
        let schemes = match (self.https, self.http) {
            (true, true) => "https, http",
            (false, true) => "http",
            _ => "https",
        };
        write!(f, "{} ports {} ({schemes})", self.dest, ports.join(", "))
    }
}

/// What the allowances make of a URL before any lookup.
enum Standing {
    /// None fits: the rules apply as written.
    Rules,
    /// This allowance names the host, or its block holds the address
    /// literal.
    Named(usize),
    /// A name only address blocks might fit (these): its answers decide.
    Blocks(Vec<usize>),
}

/// Every check [`crate::Egress::check`] makes, with `allowances` able to
/// admit a URL the rules would refuse; names are looked up only when
/// `resolve` is set. Returns the index in `allowances` of the one that
/// admitted the URL, or `None` when the rules as written did.
pub(crate) async fn check(
    rules: &Rules,
    resolver: &dyn Resolver,
    url: &str,
    allowances: &[&Allowance],
    resolve: bool,
) -> Result<Option<usize>, EgressError> {
    let t = target::parse(url)?;
    let name = t.host.as_name().filter(|_| resolve);
    match standing(rules, &t, allowances)? {
        Standing::Rules => {
            rules.check_target(&t)?;
            if let Some(n) = name {
                resolve::resolve_checked(rules, resolver, n).await?;
            }
            Ok(None)
        }
        Standing::Named(i) => {
            if let Some(n) = name {
                for ip in resolve::lookup(resolver, n).await? {
                    rules.check_trusted_addr(&t.host, ip)?;
                }
            }
            Ok(Some(i))
        }
        Standing::Blocks(fit) => {
            // The rules as written, for when no block holds the answers.
            let as_written = rules.check_target(&t);
            let Some(n) = name else {
                return as_written.map(|()| None);
            };
            let addrs = match resolve::lookup(resolver, n).await {
                Ok(a) => a,
                Err(e) => return as_written.and(Err(e)),
            };
            // One block must hold every answer: a name whose answers
            // straddle the block and the outside is refused like any mixed
            // answer (a rebinding attempt or a mistake).
            let holder = fit.into_iter().find(|&i| {
                allowances[i]
                    .block()
                    .is_some_and(|b| addrs.iter().all(|ip| b.contains(*ip)))
            });
            match holder {
                Some(i) => {
                    for ip in addrs {
                        not_metadata(&t.host, ip)?;
                    }
                    Ok(Some(i))
                }
                None => {
                    as_written?;
                    for ip in addrs {
                        rules.check_addr(&t.host, ip)?;
                    }
                    Ok(None)
                }
            }
        }
    }
}

fn standing(rules: &Rules, t: &Target, allowances: &[&Allowance]) -> Result<Standing, EgressError> {
    // With every rule lifted there is nothing left to except.
    if rules.policy().insecure_local_egress {
        return Ok(Standing::Rules);
    }
    let fit: Vec<usize> = (0..allowances.len())
        .filter(|&i| allowances[i].fits(t))
        .collect();
    if fit.is_empty() {
        return Ok(Standing::Rules);
    }
    if let Host::Name(n) = &t.host
        && policy::is_metadata_name(n)
    {
        return Err(EgressError::BadHost {
            host: n.clone(),
            why: "a cloud metadata name",
        });
    }
    if let Some(&i) = fit.iter().find(|&&i| allowances[i].names(&t.host)) {
        if let Host::Ip(ip) = t.host {
            not_metadata(&t.host, ip)?;
        }
        return Ok(Standing::Named(i));
    }
    let blocks: Vec<usize> = fit
        .into_iter()
        .filter(|&i| allowances[i].block().is_some())
        .collect();
    if blocks.is_empty() || !matches!(t.host, Host::Name(_)) {
        return Ok(Standing::Rules);
    }
    Ok(Standing::Blocks(blocks))
}

/// Metadata addresses stay refused whatever an allowance says.
fn not_metadata(host: &Host, ip: IpAddr) -> Result<(), EgressError> {
    if ranges::is_metadata(ip) {
        return Err(EgressError::DeniedAddress {
            host: host.to_string(),
            addr: ip,
            range: "cloud metadata endpoint",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
