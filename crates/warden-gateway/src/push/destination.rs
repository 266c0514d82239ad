//! Where Warden may deliver a subscription's notifications, judged the
//! same way at registration and again at every delivery (with a fresh
//! lookup each time): the egress rules as written, or a
//! `[[message_urls.allow]]` entry of kind `push` for the subscription's
//! agent and caller — the operator's narrow exception for one internal
//! receiver. Before the relay, such an entry let the agent dial that
//! receiver; now Warden is the one that does, under the same entry.
//!
//! A delivery admitted by an entry goes through a client built for that
//! entry's destination only ([`warden_egress::Allowance::rules_for`]),
//! kept per entry; every other delivery through the gateway's own egress.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use warden_egress::{Egress, EgressError};

use crate::config::{MessageUrlsSection, UrlAllowance, UrlKind};

/// Why a destination cannot be delivered to.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("egress: {}", .0.reason())]
    Refused(#[from] EgressError),
    #[error("the client for an allowance could not be built: {0}")]
    Build(String),
}

/// Which allowance (if any) admits `url` for `agent` and `caller`, or why
/// the URL is refused.
pub async fn judge<'s>(
    egress: &Egress,
    section: &'s MessageUrlsSection,
    url: &str,
    agent: &str,
    caller: &str,
) -> Result<Option<&'s UrlAllowance>, EgressError> {
    let allow = section.allowances(UrlKind::Push, agent, Some(caller));
    let rules: Vec<_> = allow.iter().map(|a| &a.rule).collect();
    let admitted = egress.check_allowing(url, &rules, true).await?;
    Ok(admitted.map(|i| allow[i]))
}

/// The clients deliveries go out through.
#[derive(Clone)]
pub struct Destinations {
    egress: Egress,
    section: Arc<MessageUrlsSection>,
    /// One client per allowance that admitted a delivery (by its rule).
    narrowed: Arc<Mutex<HashMap<String, Egress>>>,
}

impl Destinations {
    pub fn new(egress: Egress, section: MessageUrlsSection) -> Self {
        Self {
            egress,
            section: Arc::new(section),
            narrowed: Arc::default(),
        }
    }

    /// The client to deliver to `url` with, judged now.
    pub async fn client(
        &self,
        url: &str,
        agent: &str,
        caller: &str,
    ) -> Result<Egress, DestinationError> {
        let Some(a) = judge(&self.egress, &self.section, url, agent, caller).await? else {
            return Ok(self.egress.clone());
        };
        let target = warden_egress::target::parse(url)?;
        let key = format!("{} {:?}", a.rule, target.host);
        if let Some(e) = self.narrowed.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(e);
        }
        let rules = a
            .rule
            .rules_for(self.egress.rules(), &target.host)
            .map_err(|e| DestinationError::Build(e.to_string()))?;
        let e = self
            .egress
            .with_rules(rules)
            .map_err(|e| DestinationError::Build(e.to_string()))?;
        if let Ok(mut m) = self.narrowed.lock() {
            m.insert(key, e.clone());
        }
        Ok(e)
    }
}
