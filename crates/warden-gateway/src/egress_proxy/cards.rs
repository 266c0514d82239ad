//! The remote's card as the egress proxy serves it at
//! `/egress/{remote}/.well-known/agent-card.json`: the verified card, its
//! interfaces pointing at the proxy (only those the proxy can call: in the
//! bindings it proxies, admitted by the egress rules), its signatures
//! removed (the rewrite breaks them), with `ETag` and `Cache-Control`. The
//! remote's security schemes are dropped too: the proxy presents the
//! credentials, local agents call it without any (and the remote's token
//! URL would name its address).

use axum::response::Response;
use http::{HeaderMap, header};
use serde_json::Value;
use warden_a2a::Binding;
use warden_a2a::types::{BINDING_HTTP_JSON, BINDING_JSONRPC};

use super::EgressProxy;
use super::error::ProxyError;
use super::remote::{Remote, RemoteCard};
use crate::cards::rewrite;

pub async fn serve(
    proxy: &EgressProxy,
    remote: &Remote,
    headers: &HeaderMap,
) -> Result<Response, ProxyError> {
    let card = remote.card(&proxy.state().egress).await?;
    let served = rewritten(&card, &proxy.url_of(remote.name()));
    // Local agents' models read this card: linted like an upstream's.
    let served =
        match crate::cards::check::check(remote.name(), &served, remote.config.card_lint, false) {
            crate::cards::check::Verdict::Serve(c) => c,
            crate::cards::check::Verdict::Hold(findings) => {
                return Err(ProxyError::Card {
                    reason: "card_lint",
                    why: crate::cards::check::Verdict::reasons(&findings).join("; "),
                });
            }
        };
    let max_age = proxy.state().config.limits.card_cache.as_secs();
    let resp = crate::cards::answer(
        served.to_string().into_bytes(),
        headers,
        &[(header::CACHE_CONTROL, format!("private, max-age={max_age}"))],
    );
    Ok(resp)
}

/// The card with every usable interface at `proxy_url`, the others dropped.
fn rewritten(card: &RemoteCard, proxy_url: &str) -> Value {
    let mut out = rewrite(&card.card.raw, proxy_url);
    if let Some(obj) = out.as_object_mut() {
        crate::cards::Security::default().apply(obj);
    }
    let usable = |binding: &str| {
        let b = if binding.eq_ignore_ascii_case(BINDING_JSONRPC) {
            Binding::JsonRpc
        } else if binding.eq_ignore_ascii_case(BINDING_HTTP_JSON) {
            Binding::Rest
        } else {
            return false;
        };
        card.interface(b).is_ok()
    };
    if let Some(Value::Array(list)) = out.get_mut("supportedInterfaces") {
        list.retain(|i| {
            i.get("protocolBinding")
                .and_then(Value::as_str)
                .is_some_and(usable)
        });
    }
    out
}
