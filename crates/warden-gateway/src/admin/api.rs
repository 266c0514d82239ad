//! The admin API, under `/admin/v1/` on the admin listener: the token
//! authority's registry and API keys, as JSON. The same implementation as
//! `warden registry …` and `warden apikey …`
//! ([`crate::authority::registry`]).
//!
//! Every request needs `Authorization: Bearer <admin token>` ([`super::token`]);
//! without it the answer is 401 with a `WWW-Authenticate` challenge, whatever
//! the path. Bodies are strict JSON objects (no duplicate keys, no unknown
//! fields, `Content-Type: application/json`); errors are
//! `{"error": CODE, "message": TEXT}`. Every change is an audit event (kind
//! `admin`, outcome `admin_change`, the action in `reason`), written before
//! the answer; API key secrets appear only in the answer that creates them.
//!
//! | Method and path | |
//! |---|---|
//! | `GET /registry` | `{"agents": [agent…]}` |
//! | `POST /registry` | add `{"id", "displayName"?, "jwks"?, "grants"?, "replace"?}`: 201 (200 when replaced) |
//! | `GET /registry/{id}` | one agent |
//! | `DELETE /registry/{id}` | remove it and its API keys: 204 |
//! | `GET /apikeys[?sub=ID]` | `{"apiKeys": [key…]}`, never secrets |
//! | `POST /apikeys` | create `{"sub", "expiresInSecs"?}`: 201 `{"key", "apiKey"}` |
//! | `POST /apikeys/{id}/revoke` | revoke at once: the key |
//! | `POST /apikeys/{id}/rotate` | `{"overlapSecs"?}` (default 86400): 201 `{"key", "apiKey", "previous"}` |
//! | `GET /grants[?caller=ID][&target=NAME][&all=true]` | `{"grants": [grant…]}`; revoked ones only with `all` |
//! | `POST /grants` | add `{"caller", "target", "skills", "operations"?, "tasksOf"?, "notBefore"?, "notAfter"?, "note"?}`: 201 the grant |
//! | `DELETE /grants/{id}` | revoke at once: 204 (404 unknown, 409 already revoked) |
//! | `GET /quarantine` | `{"quarantined": [{"agent", "reason", "createdAt", "createdBy"}…]}` |
//! | `POST /quarantine` | `{"agent", "reason"}`: 201 (409 when already quarantined) |
//! | `DELETE /quarantine/{agent}` | lift it: 204 (404 when not quarantined) |
//! | `POST /policy/reload` | re-read `[authz] policy_file`: 200 `{"rules", "file"}`, or 400 `invalid_policy` (the rules in force stay) |
//! | `POST /audit/flush` | 204 once every audit event emitted before it is in the store (500 `audit_write_failed` if some could not be written) |
//! | `GET /push/notifications[?state=][&task=][&destination=][&limit=][&pageToken=]` | the push outbox, newest first, without bodies: `{"notifications": [...], "nextPageToken"}` |
//! | `GET /push/notifications/{id}` | one notification, with its body until it is delivered |
//! | `POST /push/notifications/{id}/retry` | a dead notification queued again: 200 (404 unknown, 409 not dead) |
//! | `GET /push/counts` | `{"pending", "delivering", "delivered", "dead", "queued"}` |
//!
//! Handlers are by resource: the registry ([`super::registry_api`]), API
//! keys ([`super::apikeys_api`]), grants, quarantine and policy
//! ([`super::authz_api`]), card reviews ([`super::cards_api`]), the audit
//! flush ([`super::audit_api`]), the push outbox ([`super::push_api`]); what they
//! share (the token check, bodies, errors, audit) is [`super::toolkit`].

use axum::Router;
use axum::middleware;

use super::token::AdminToken;
use super::toolkit::{self, Api};
use crate::state::GatewayState;

/// The API's router, to be nested at [`PREFIX`].
pub fn router(state: GatewayState, token: AdminToken) -> Router {
    let api = Api::new(state, token);
    Router::new()
        .merge(super::registry_api::routes())
        .merge(super::apikeys_api::routes())
        .merge(super::authz_api::routes())
        .merge(super::cards_api::routes())
        .merge(super::audit_api::routes())
        .merge(super::push_api::routes())
        .fallback(toolkit::not_found)
        .method_not_allowed_fallback(toolkit::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            api.clone(),
            toolkit::require_token,
        ))
        .with_state(api)
}

#[cfg(test)]
mod tests;
