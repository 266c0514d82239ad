//! [`Egress`]: the client every outbound call goes through.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use url::Url;

use crate::allowance::Allowance;
use crate::audit::{Observer, OutboundEvent};
use crate::error::EgressError;
use crate::policy::{EgressPolicy, PolicyError, Rules};
use crate::resolve::{Guard, Resolver, StaticResolver, SystemResolver, resolve_checked};
use crate::response::Inbound;
use crate::target::{self, Host, Target};

/// Why an [`Egress`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("egress.ca_file {path}: {why}")]
    CaFile { path: String, why: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// One outbound request.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    /// Headers sent only to the original origin (scheme, host, port):
    /// dropped if a redirect leaves it.
    pub credentials: HeaderMap,
    pub body: Bytes,
    /// What the call is for, in audit events (`jwks`, `card`, `call`, …).
    pub purpose: &'static str,
    /// A streamed answer: no total deadline on the body, an idle limit
    /// between chunks instead.
    pub streaming: bool,
    /// Hand a 3xx back to the caller instead of refusing it when
    /// redirects are off (a proxy relays its upstream's answer as is).
    pub pass_redirects: bool,
    /// `url` as [`target::parse`] read it, when the caller had it read
    /// already ([`Outbound::to`]): then it is not read again.
    target: Option<Target>,
}

impl Outbound {
    pub fn get(url: impl Into<String>, purpose: &'static str) -> Self {
        Self::new(Method::GET, url, purpose)
    }

    pub fn new(method: Method, url: impl Into<String>, purpose: &'static str) -> Self {
        Self {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            credentials: HeaderMap::new(),
            body: Bytes::new(),
            purpose,
            streaming: false,
            pass_redirects: false,
            target: None,
        }
    }

    /// A request to a URL already read by [`target::parse`] (or built by
    /// [`target::join_on`] on a base read by [`target::parse_base`]): the
    /// rules are still checked on every send, only the text is not read
    /// (nor its host mapped through IDNA) once more. `url` is the target's
    /// text.
    pub fn to(method: Method, target: Target, purpose: &'static str) -> Self {
        let mut req = Self::new(method, target.url.as_str(), purpose);
        req.target = Some(target);
        req
    }
}

/// A URL that passed every rule, with the addresses it may be reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub target: Target,
    pub addrs: Vec<std::net::IpAddr>,
}

/// The one way out. Cheap to clone.
#[derive(Clone)]
pub struct Egress {
    rules: Arc<Rules>,
    resolver: Arc<dyn Resolver>,
    client: reqwest::Client,
    observer: Option<Arc<dyn Observer>>,
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress")
            .field("policy", self.rules.policy())
            .finish_non_exhaustive()
    }
}

impl Egress {
    /// Strict rules from `policy`, the system resolver, no audit observer.
    pub fn new(policy: EgressPolicy) -> Result<Self, BuildError> {
        Self::with(Rules::new(policy)?, Arc::new(SystemResolver), None)
    }

    /// `rules` with the given resolver (`egress.resolve` answers in front
    /// of it) and observer.
    pub fn with(
        rules: Rules,
        resolver: Arc<dyn Resolver>,
        observer: Option<Arc<dyn Observer>>,
    ) -> Result<Self, BuildError> {
        let p = rules.policy().clone();
        if p.insecure_local_egress {
            tracing::warn!(
                "egress.insecure_local_egress = true: outbound calls may reach loopback, private \
                 and metadata addresses over plain http. Development only."
            );
        }
        let resolver = StaticResolver::from_policy(&p.resolve, resolver);
        let rules = Arc::new(rules);
        // The one place a client is built (clippy.toml disallows it elsewhere).
        #[allow(clippy::disallowed_methods)]
        let mut b = reqwest::Client::builder()
            // Environment proxies would connect to addresses Warden never checked.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Guard {
                rules: rules.clone(),
                resolver: resolver.clone(),
            }))
            .connect_timeout(Duration::from_millis(p.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true);
        if let Some(path) = &p.ca_file {
            b = b.tls_certs_only(read_bundle(path)?);
        }
        let client = b.build().map_err(|e| BuildError::Client(e.to_string()))?;
        Ok(Self {
            rules,
            resolver,
            client,
            observer,
        })
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Another client under `rules`, with this one's resolver and observer
    /// (see [`crate::Allowance::rules_for`]).
    pub fn with_rules(&self, rules: Rules) -> Result<Self, BuildError> {
        Self::with(rules, Arc::clone(&self.resolver), self.observer.clone())
    }

    /// Every check a call to `url` would get, without making it: parse,
    /// scheme, allow-lists, one lookup and the deny table.
    pub async fn check(&self, url: &str) -> Result<Admitted, EgressError> {
        let target = target::parse(url)?;
        self.rules.check_target(&target)?;
        let addrs = match &target.host {
            Host::Ip(ip) => vec![*ip],
            Host::Name(n) => resolve_checked(&self.rules, self.resolver.as_ref(), n).await?,
        };
        Ok(Admitted { target, addrs })
    }

    /// [`Self::check`] with `allowances` able to admit a URL the rules
    /// would refuse (see [`crate::allowance`]), names looked up only when
    /// `resolve` is set. Returns the index in `allowances` of the one that
    /// admitted the URL, or `None` when the rules as written did.
    pub async fn check_allowing(
        &self,
        url: &str,
        allowances: &[&Allowance],
        resolve: bool,
    ) -> Result<Option<usize>, EgressError> {
        crate::allowance::check(
            &self.rules,
            self.resolver.as_ref(),
            url,
            allowances,
            resolve,
        )
        .await
    }

    /// Sends `req` under the rules, following redirects only as allowed.
    /// Every outcome is reported to the observer.
    pub async fn send(&self, mut req: Outbound) -> Result<Inbound, EgressError> {
        let started = Instant::now();
        let p = self.rules.policy();
        let deadline = started + Duration::from_millis(p.total_timeout_ms);
        // Moved, not cloned, into the (last) request; the observer reads
        // neither.
        let own = Owned {
            target: req.target.take(),
            headers: std::mem::take(&mut req.headers),
            credentials: std::mem::take(&mut req.credentials),
        };
        let result = self.send_following(&req, own, deadline).await;
        if let Some(o) = &self.observer {
            o.outbound(&OutboundEvent::new(&req, &result, started.elapsed()));
        }
        result
    }

    async fn send_following(
        &self,
        req: &Outbound,
        mut own: Owned,
        deadline: Instant,
    ) -> Result<Inbound, EgressError> {
        let p = self.rules.policy();
        let first = match own.target.take() {
            Some(t) => t,
            None => target::parse(&req.url)?,
        };
        let origin = first.url.origin();
        let mut current = first;
        let mut method = req.method.clone();
        let mut body = req.body.clone();
        let mut hops = 0u8;
        loop {
            self.rules.check_target(&current)?;
            let same_origin = current.url.origin() == origin;
            // No hop can follow the last one allowed: its request takes
            // the headers instead of a copy.
            let last = hops >= p.max_redirects;
            let (headers, credentials) = if last {
                (
                    std::mem::take(&mut own.headers),
                    std::mem::take(&mut own.credentials),
                )
            } else {
                (own.headers.clone(), own.credentials.clone())
            };
            let mut request = reqwest::Request::new(method.clone(), current.url.clone());
            *request.headers_mut() = headers;
            if same_origin && !credentials.is_empty() {
                // Each name's values replace any of the same name (what
                // `RequestBuilder::headers` does).
                request.headers_mut().extend(credentials);
            }
            *request.body_mut() = Some(body.clone().into());
            let sent = tokio::time::timeout_at(deadline.into(), self.client.execute(request)).await;
            let resp = match sent {
                Err(_) => return Err(EgressError::Timeout("no answer within the total timeout")),
                Ok(Err(e)) => return Err(classify(&e)),
                Ok(Ok(r)) => r,
            };
            if !resp.status().is_redirection() || resp.status() == StatusCode::NOT_MODIFIED {
                return Ok(Inbound::new(resp, current.url, p, deadline, req.streaming));
            }
            let location = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if p.max_redirects == 0 {
                if req.pass_redirects {
                    return Ok(Inbound::new(resp, current.url, p, deadline, req.streaming));
                }
                return Err(EgressError::RedirectOff {
                    status: resp.status().as_u16(),
                    location: location.unwrap_or_default(),
                });
            }
            if hops >= p.max_redirects {
                return Err(EgressError::TooManyRedirects(p.max_redirects));
            }
            hops += 1;
            let next = next_hop(&current.url, location.as_deref())?;
            // 303, and 301/302 after a POST, become a GET without a body
            // (what browsers and curl do); 307/308 repeat the request.
            let status = resp.status();
            if status == StatusCode::SEE_OTHER
                || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                    && method == Method::POST)
            {
                method = Method::GET;
                body = Bytes::new();
            }
            current = next;
        }
    }
}

/// What [`Egress::send`] moves out of a request rather than copying.
struct Owned {
    target: Option<Target>,
    headers: HeaderMap,
    credentials: HeaderMap,
}

/// The next hop of a redirect, resolved against the current URL and read
/// as strictly as a first URL.
fn next_hop(current: &Url, location: Option<&str>) -> Result<Target, EgressError> {
    let loc = location.ok_or(EgressError::BadRedirect)?;
    let joined = current.join(loc).map_err(|_| EgressError::BadRedirect)?;
    target::parse(joined.as_str())
}

/// A reqwest failure, with a refusal made inside the resolver recovered.
pub(crate) fn classify(e: &reqwest::Error) -> EgressError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<EgressError>() {
            return refused.clone();
        }
        source = s.source();
    }
    if e.is_timeout() {
        return EgressError::Timeout("connect");
    }
    EgressError::Transport(chain(e))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut s = e.source();
    while let Some(inner) = s {
        out.push_str(": ");
        out.push_str(&inner.to_string());
        s = inner.source();
    }
    out
}

fn read_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, BuildError> {
    let err = |why: String| BuildError::CaFile {
        path: path.display().to_string(),
        why,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificates in the file".into()));
    }
    Ok(certs)
}
