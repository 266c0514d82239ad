//! Name resolution, done exactly once per connection and filtered.
//!
//! reqwest asks [`Guard`] for a name's addresses when it opens a
//! connection; the guard asks the [`Resolver`] once, refuses the name if
//! *any* answer is in a denied range (a mixed answer is a rebinding attempt
//! or a misconfiguration), and hands back only those checked addresses.
//! reqwest connects to what it is given and never looks the name up again,
//! so a resolver that answers differently the second time gains nothing.
//! Address literals never reach a resolver: [`crate::Rules::check_target`]
//! checks them before the request is made.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::error::EgressError;
use crate::policy::Rules;
use crate::target::Host;

/// Turns a name into addresses. Object-safe so tests can answer as they
/// like (including differently on every call).
pub trait Resolver: Send + Sync + 'static {
    fn lookup(&self, name: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The system resolver (getaddrinfo via tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup(&self, name: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let name = name.to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((name.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// Fixed answers; any other name fails to resolve. For `egress.resolve`
/// overrides (in front of another resolver) and for tests.
#[derive(Clone, Default)]
pub struct StaticResolver {
    answers: HashMap<String, Vec<IpAddr>>,
    fallback: Option<Arc<dyn Resolver>>,
}

impl StaticResolver {
    pub fn new(answers: impl IntoIterator<Item = (String, Vec<IpAddr>)>) -> Self {
        Self {
            answers: answers.into_iter().collect(),
            fallback: None,
        }
    }

    /// Names without a fixed answer go to `fallback`.
    pub fn with_fallback(mut self, fallback: Arc<dyn Resolver>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// `resolve` (the `egress.resolve` table) in front of `fallback`, as every
    /// [`crate::Egress`] resolves names.
    pub fn from_policy(
        resolve: &BTreeMap<String, Vec<IpAddr>>,
        fallback: Arc<dyn Resolver>,
    ) -> Arc<dyn Resolver> {
        if resolve.is_empty() {
            return fallback;
        }
        Arc::new(
            Self::new(resolve.iter().map(|(k, v)| (k.clone(), v.clone()))).with_fallback(fallback),
        )
    }
}

impl Resolver for StaticResolver {
    fn lookup(&self, name: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        if let Some(a) = self.answers.get(name) {
            let a = a.clone();
            return Box::pin(async move { Ok(a) });
        }
        match &self.fallback {
            Some(f) => f.lookup(name),
            None => {
                let name = name.to_string();
                Box::pin(async move {
                    Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no answer for {name}"),
                    ))
                })
            }
        }
    }
}

/// Resolves `name` once and checks every answer against `rules`.
pub async fn resolve_checked(
    rules: &Rules,
    resolver: &dyn Resolver,
    name: &str,
) -> Result<Vec<IpAddr>, EgressError> {
    let host = Host::Name(name.to_string());
    let addrs = lookup(resolver, name).await?;
    for ip in &addrs {
        rules.check_addr(&host, *ip)?;
    }
    Ok(addrs)
}

/// Resolves `name` once, unchecked: the caller judges every answer. A
/// failed lookup, or one with no answer, is a [`EgressError::Dns`].
pub(crate) async fn lookup(
    resolver: &dyn Resolver,
    name: &str,
) -> Result<Vec<IpAddr>, EgressError> {
    let dns = |why: String| EgressError::Dns {
        host: name.to_string(),
        why,
    };
    let addrs = resolver
        .lookup(name)
        .await
        .map_err(|e| dns(e.to_string()))?;
    if addrs.is_empty() {
        return Err(dns("no addresses".into()));
    }
    Ok(addrs)
}

/// The resolver reqwest uses: [`resolve_checked`], with a refusal carried
/// inside the connect error so the caller can name it.
pub(crate) struct Guard {
    pub rules: Arc<Rules>,
    pub resolver: Arc<dyn Resolver>,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.rules.clone();
        let resolver = self.resolver.clone();
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve_checked(&rules, resolver.as_ref(), &name)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}
