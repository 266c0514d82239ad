//! Commands that work on a data directory directly (no running gateway):
//! minting tokens, the registry, API keys. The registry and API key logic is
//! shared with the admin API ([`warden_authority::registry`]); this
//! module only parses arguments and prints.

use std::time::Duration;

use warden_authority::registry::{self, KeyState, NewAgent, RegistryError};
use warden_authority::{Authority, ISSUER_SETTING};
use warden_gateway::clock::unix_now;
use warden_gateway::{Config, open_authority};
use warden_store::{RegisteredAgent, Store};

use crate::cli::{ApiKeyCommand, Instance, RegistryCommand, TokenCommand};

/// The configuration an instance stands for (defaults plus its data dir).
pub fn config_of(instance: &Instance) -> Result<Config, String> {
    match &instance.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string()),
        None => {
            let mut c =
                Config::parse("", std::path::Path::new("(defaults)")).map_err(|e| e.to_string())?;
            c.gateway.data_dir = instance.data_dir.clone();
            Ok(c)
        }
    }
}

/// The store `[store]` names: by default the SQLite file in the data
/// directory, or the URL of `store.url` / `store.url_env` (PostgreSQL, for
/// gateways that share their state). The URL is never printed: it may hold
/// a password.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    let url = config.store.url(&|v| std::env::var(v).ok())?;
    match url {
        None => Store::open(&config.gateway.data_dir.join("warden.db")).await,
        Some(url) => Store::open_url(&url).await,
    }
    .map_err(|e| match e {
        // Migrations only go forward: a store a newer release migrated is
        // left alone rather than used by code that does not know it.
        warden_store::StoreError::SchemaTooNew { .. } => format!(
            "cannot open the store: {e}. A newer Warden migrated it: run that release (or a \
             newer one); nothing was changed (warden store status shows the versions)"
        ),
        e => format!("cannot open the store: {e}"),
    })
}

/// The authority of an instance, signing as the issuer its gateway recorded.
pub async fn local_authority(instance: &Instance) -> Result<Authority, String> {
    let config = config_of(instance)?;
    let store = open_store(&config).await?;
    let issuer = store
        .setting(ISSUER_SETTING)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "{} has no issuer yet: start the gateway once (warden up / warden gateway)",
                config.gateway.data_dir.display()
            )
        })?;
    open_authority(&config, store, &issuer)
        .await
        .map_err(|e| e.to_string())
}

/// Parses `90s`, `5m`, `1h`, `2d` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid duration unit in {s:?} (use s, m, h or d)")),
    };
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("duration {s:?} is too long"))
}

/// The longest lifetime the gateway accepts for Warden's own tokens.
pub const MAX_TOKEN_TTL_SECS: u64 = 86_400;

/// Mints a token for `sub` to call `aud`.
pub async fn mint(
    authority: &Authority,
    sub: &str,
    aud: &str,
    scope: &str,
    ttl: Option<Duration>,
) -> Result<String, String> {
    mint_with(authority, sub, aud, scope, ttl, None).await
}

/// The `cnf` claim binding a token to a client certificate (RFC 8705),
/// from its `x5t#S256` thumbprint (base64url of a SHA-256 digest).
pub fn cnf_x5t(thumbprint: &str) -> Result<serde_json::Value, String> {
    let t = thumbprint.trim();
    let ok = t.len() == 43
        && !t.contains('=')
        && warden_trust::b64url_decode(t).is_some_and(|d| d.len() == 32);
    if !ok {
        return Err(format!(
            "--cnf-x5t {thumbprint:?} is not a certificate thumbprint (base64url SHA-256, 43 characters)"
        ));
    }
    Ok(serde_json::json!({ "x5t#S256": t }))
}

/// Mints a token for `sub` to call `aud`, with a confirmation claim.
pub async fn mint_with(
    authority: &Authority,
    sub: &str,
    aud: &str,
    scope: &str,
    ttl: Option<Duration>,
    cnf: Option<serde_json::Value>,
) -> Result<String, String> {
    let scopes: Vec<String> = scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut authority = authority.clone();
    if let Some(ttl) = ttl {
        if ttl.as_secs() > MAX_TOKEN_TTL_SECS {
            return Err(format!(
                "--ttl may be at most {MAX_TOKEN_TTL_SECS}s: the gateway refuses longer-lived tokens"
            ));
        }
        authority.token_ttl_secs = ttl.as_secs().max(1);
    }
    let known = authority
        .store
        .agent(sub)
        .await
        .map_err(|e| e.to_string())?;
    if known.is_none() {
        // The mailbox needs no call grant: only the registry entry.
        let grant = if aud == warden_authority::MAILBOX_AUDIENCE {
            String::new()
        } else {
            format!(" --grant {aud}=SKILL")
        };
        return Err(format!(
            "no registry agent {sub:?}: add it with `warden registry add {sub}{grant}`"
        ));
    }
    let (minted, _) = authority
        .issue(sub, aud, &scopes, cnf, unix_now())
        .await
        .map_err(|e| format!("{}: {e}", e.oauth_code()))?;
    Ok(minted.token)
}

pub async fn token(cmd: TokenCommand) -> Result<(), String> {
    match cmd {
        TokenCommand::Mint {
            sub,
            aud,
            scope,
            ttl,
            cnf_x5t: x5t,
            count,
            instance,
        } => {
            let ttl = ttl.as_deref().map(parse_duration).transpose()?;
            let cnf = x5t.as_deref().map(cnf_x5t).transpose()?;
            let authority = local_authority(&instance).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for _ in 0..count {
                let token = mint_with(&authority, &sub, &aud, &scope, ttl, cnf.clone()).await?;
                std::io::Write::write_all(&mut out, format!("{token}\n").as_bytes())
                    .map_err(|e| e.to_string())?;
            }
            std::io::Write::flush(&mut out).map_err(|e| e.to_string())
        }
    }
}

/// A registry agent's grants in force (from the grants table), as JSON:
/// target → skills.
async fn grants_of(store: &Store, id: &str) -> Result<String, String> {
    let grants = warden_authority::grants::summary(store, id, unix_now())
        .await
        .map_err(|e| e.to_string())?;
    serde_json::to_string(&grants).map_err(|e| e.to_string())
}

fn show(a: &RegisteredAgent, grants: &str) -> String {
    format!(
        "{}\n  name     {}\n  grants   {}\n  keys     {}\n  created  {}",
        a.id,
        a.display_name,
        grants,
        if a.jwks.is_some() {
            "JWKS on file (private_key_jwt)"
        } else {
            "none (API keys only)"
        },
        a.created_at
    )
}

fn err(e: RegistryError) -> String {
    e.to_string()
}

/// `warden registry …`: the shared implementation in
/// [`warden_authority::registry`], on the instance's store.
pub async fn registry(cmd: RegistryCommand) -> Result<(), String> {
    match cmd {
        RegistryCommand::Add {
            id,
            name,
            jwks_file,
            grants,
            tls_subject,
            instance,
        } => {
            let jwks = jwks_file
                .as_deref()
                .map(registry::read_jwks_file)
                .transpose()
                .map_err(err)?;
            let grants = registry::parse_grants(&grants).map_err(err)?;
            let store = open_store(&config_of(&instance)?).await?;
            let new = NewAgent {
                id,
                display_name: name,
                jwks,
                grants,
                tls_subject,
            };
            // The CLI adds or replaces.
            let (agent, created) = registry::add_agent(&store, new, true).await.map_err(err)?;
            let action = if created {
                "registry.add"
            } else {
                "registry.replace"
            };
            audit_cli(&store, action, serde_json::json!({"id": agent.id})).await?;
            println!("{}", show(&agent, &grants_of(&store, &agent.id).await?));
            Ok(())
        }
        RegistryCommand::List { instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            for a in registry::list_agents(&store).await.map_err(err)? {
                let grants = grants_of(&store, &a.id).await?;
                println!("{}\t{}\t{grants}", a.id, a.display_name);
            }
            Ok(())
        }
        RegistryCommand::Show { id, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            let a = registry::get_agent(&store, &id).await.map_err(err)?;
            println!("{}", show(&a, &grants_of(&store, &a.id).await?));
            Ok(())
        }
        RegistryCommand::Remove { id, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            registry::remove_agent(&store, &id).await.map_err(err)?;
            audit_cli(&store, "registry.remove", serde_json::json!({"id": id})).await?;
            println!("removed {id}");
            Ok(())
        }
        RegistryCommand::Review { json, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            let status = if json { None } else { Some("pending") };
            let reviews = store
                .card_reviews(status)
                .await
                .map_err(|e| e.to_string())?;
            for r in reviews {
                if json {
                    let changes: serde_json::Value =
                        serde_json::from_str(&r.changes).unwrap_or_default();
                    let card: serde_json::Value = serde_json::from_str(&r.card).unwrap_or_default();
                    println!(
                        "{}",
                        serde_json::json!({"id": r.id, "agent": r.agent, "digest": r.digest,
                            "status": r.status, "changes": changes, "card": card,
                            "raisedAt": r.raised_at, "decidedAt": r.decided_at})
                    );
                } else {
                    println!("{}\t{}\t{}\t{}", r.id, r.agent, r.raised_at, r.changes);
                }
            }
            Ok(())
        }
        RegistryCommand::Approve { id, instance } => decide_card(&id, &instance, true).await,
        RegistryCommand::Reject { id, instance } => decide_card(&id, &instance, false).await,
    }
}

/// `warden registry approve|reject ID`: decides a held card change.
async fn decide_card(id: &str, instance: &Instance, approve: bool) -> Result<(), String> {
    let store = open_store(&config_of(instance)?).await?;
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let decided = store
        .decide_card_review(id, approve, &at)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no pending card review {id:?}"))?;
    let action = if approve {
        "card.approve"
    } else {
        "card.reject"
    };
    audit_cli(
        &store,
        action,
        serde_json::json!({"review": decided.id, "agent": decided.agent, "digest": decided.digest}),
    )
    .await?;
    let verb = if approve { "approved" } else { "rejected" };
    println!("{verb} {} ({})", decided.id, decided.agent);
    Ok(())
}

/// `warden apikey …`: the shared implementation in
/// [`warden_authority::registry`], on the instance's store.
pub async fn apikey(cmd: ApiKeyCommand) -> Result<(), String> {
    match cmd {
        ApiKeyCommand::Create { sub, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            let created = registry::create_key(&store, &sub, None)
                .await
                .map_err(err)?;
            audit_cli(
                &store,
                "apikey.create",
                serde_json::json!({"id": created.record.id, "sub": sub}),
            )
            .await?;
            println!("{}", created.key);
            Ok(())
        }
        ApiKeyCommand::List { sub, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            let now = unix_now();
            for k in registry::list_keys(&store, sub.as_deref())
                .await
                .map_err(err)?
            {
                let state = match (KeyState::of(&k, now), &k.revoked_at, k.expires_at) {
                    (_, Some(at), _) => format!("revoked {at}"),
                    (KeyState::Expired, None, Some(exp)) => format!("expired at unix {exp}"),
                    (_, None, Some(exp)) => format!("expires at unix {exp}"),
                    (_, None, None) => "active".into(),
                };
                let used = k.last_used_at.unwrap_or_else(|| "never".into());
                println!("{}\t{}\t{state}\tlast used {used}", k.id, k.subject);
            }
            Ok(())
        }
        ApiKeyCommand::Revoke { id, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            registry::revoke_key(&store, &id).await.map_err(err)?;
            audit_cli(&store, "apikey.revoke", serde_json::json!({"id": id})).await?;
            println!("revoked {id}");
            Ok(())
        }
        ApiKeyCommand::Rotate {
            id,
            overlap,
            instance,
        } => {
            let overlap = parse_duration(&overlap)?;
            let store = open_store(&config_of(&instance)?).await?;
            let r = registry::rotate_key(&store, &id, overlap.as_secs(), unix_now())
                .await
                .map_err(err)?;
            audit_cli(
                &store,
                "apikey.rotate",
                serde_json::json!({"id": id, "new": r.new.record.id}),
            )
            .await?;
            match r.old.expires_at {
                Some(at) => eprintln!("old key {id} stays valid until unix {at}"),
                None => eprintln!("old key {id} stays valid"),
            }
            println!("{}", r.new.key);
            Ok(())
        }
    }
}

/// Records a registry or key change made with the CLI, as the admin API
/// does for its own (principal `cli`; ids only, never secrets). Written
/// directly: the command exits right after.
pub async fn audit_cli(
    store: &Store,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), String> {
    let local = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut event = warden_gateway::audit::AuditEvent::admin(
        local,
        warden_gateway::audit::Outcome::AdminChange,
        action,
        Some(detail),
    );
    event.principal = Some("cli".into());
    store
        .append_audit(&[event.record()])
        .await
        .map_err(|e| format!("the change was made but could not be audited: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnf_x5t_takes_only_sha256_thumbprints() {
        let t = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0";
        assert_eq!(
            cnf_x5t(t).expect("thumbprint"),
            serde_json::json!({"x5t#S256": t})
        );
        for bad in [
            "",
            "abc",
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=",
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0ungW",
        ] {
            assert!(cnf_x5t(bad).is_err(), "{bad}");
        }
    }
}
