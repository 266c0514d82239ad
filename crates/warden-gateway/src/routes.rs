//! The paths the gateway serves, named once. Imports no other module of
//! the gateway.

/// Agents behind the gateway: `/agents/{name}/…`.
pub const AGENTS_PREFIX: &str = "/agents";
/// Where an agent's card is served below its base URL (and the legacy
/// v0.3 name after it).
pub const CARD_PATHS: [&str; 2] = ["/.well-known/agent-card.json", "/.well-known/agent.json"];
/// The OAuth 2.0 token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// Warden's signing keys (JWKS).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// RFC 8414 authorization server metadata.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// The egress proxy: `/egress/{remote}/…`.
pub const EGRESS_PREFIX: &str = "/egress";
/// The admin API, on the admin listener.
pub const ADMIN_PREFIX: &str = "/admin/v1";
/// The agent directory (card discovery).
pub const DISCOVERY_PATH: &str = "/registry/agents";
/// The push relay: agents post notifications to `/push/{subscription}`.
pub const PUSH_RELAY_PREFIX: &str = "/push";
/// Warden as a webhook receiver: notifications for a local agent arrive at
/// `/webhooks/{agent}` and are passed on once verified.
pub const WEBHOOKS_PREFIX: &str = "/webhooks";
/// The mailbox's REST API: `/mail/v1/…` (docs/mailbox.md).
pub const MAIL_PREFIX: &str = "/mail/v1";
/// The mailbox as an MCP server (Streamable HTTP): `/mcp`.
pub const MCP_PATH: &str = "/mcp";

/// The raw (still percent-encoded) path below `/{prefix}/{target}` — what
/// the target is sent, exactly as the caller wrote it ("" for its root).
pub fn below_target(raw: &str) -> &str {
    let start = raw.match_indices('/').nth(2).map_or(raw.len(), |(i, _)| i);
    &raw[start..]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_path_below_a_target_is_kept_raw() {
        use super::below_target;
        assert_eq!(below_target("/agents/echo"), "");
        assert_eq!(below_target("/agents/echo/"), "/");
        assert_eq!(below_target("/agents/echo/tasks/a%2Fb"), "/tasks/a%2Fb");
        assert_eq!(below_target("/egress/r/message:send"), "/message:send");
    }
}
