//! Commands that work on a data directory directly (no running gateway):
//! minting tokens, the registry, API keys.

use std::collections::BTreeMap;
use std::time::Duration;

use warden_gateway::auth::unix_now;
use warden_gateway::authority::{Authority, ISSUER_SETTING};
use warden_gateway::{Config, open_authority};
use warden_store::{ApiKeyRecord, RegisteredAgent, Store};

use crate::cli::{ApiKeyCommand, Instance, RegistryCommand, TokenCommand};

/// The configuration an instance stands for (defaults plus its data dir).
fn config_of(instance: &Instance) -> Result<Config, String> {
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

pub async fn open_store(config: &Config) -> Result<Store, String> {
    Store::open(&config.gateway.data_dir.join("warden.db"))
        .await
        .map_err(|e| e.to_string())
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
        return Err(format!(
            "no registry agent {sub:?}: add it with `warden registry add {sub} --grant {aud}=SKILL`"
        ));
    }
    let (minted, _) = authority
        .issue(sub, aud, &scopes, cnf, unix_now())
        .await
        .map_err(|e| format!("{}: {}", e.code, e.description))?;
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

/// Parses `TARGET=SKILL,SKILL` grants.
pub fn parse_grants(list: &[String]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut out = BTreeMap::new();
    for g in list {
        let (target, skills) = g
            .split_once('=')
            .ok_or_else(|| format!("grant {g:?} must be TARGET=SKILL[,SKILL…]"))?;
        let skills: Vec<String> = skills
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if target.is_empty() || skills.is_empty() {
            return Err(format!("grant {g:?} must be TARGET=SKILL[,SKILL…]"));
        }
        out.entry(target.to_string())
            .or_insert_with(Vec::new)
            .extend(skills);
    }
    Ok(out)
}

fn show(a: &RegisteredAgent) -> String {
    format!(
        "{}\n  name     {}\n  grants   {}\n  keys     {}\n  created  {}",
        a.id,
        a.display_name,
        a.grants,
        if a.jwks.is_some() {
            "JWKS on file (private_key_jwt)"
        } else {
            "none (API keys only)"
        },
        a.created_at
    )
}

pub async fn registry(cmd: RegistryCommand) -> Result<(), String> {
    match cmd {
        RegistryCommand::Add {
            id,
            name,
            jwks_file,
            grants,
            instance,
        } => {
            let store = open_store(&config_of(&instance)?).await?;
            let jwks = match jwks_file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    let doc = warden_json::parse_strict(
                        text.as_bytes(),
                        warden_json::JsonLimits::default(),
                    )
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                    let keys = warden_trust::KeySet::from_jwks(&doc)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    if keys.is_empty() {
                        return Err(format!(
                            "{}: no usable signing key (each needs a kid)",
                            path.display()
                        ));
                    }
                    Some(doc.to_string())
                }
                None => None,
            };
            let grants =
                serde_json::to_string(&parse_grants(&grants)?).map_err(|e| e.to_string())?;
            let agent = RegisteredAgent {
                display_name: name.unwrap_or_else(|| id.clone()),
                id,
                jwks,
                jwks_url: None,
                grants,
                created_at: warden_gateway::audit::now_rfc3339(),
            };
            store.put_agent(&agent).await.map_err(|e| e.to_string())?;
            println!("{}", show(&agent));
            Ok(())
        }
        RegistryCommand::List { instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            for a in store.list_agents().await.map_err(|e| e.to_string())? {
                println!("{}\t{}\t{}", a.id, a.display_name, a.grants);
            }
            Ok(())
        }
        RegistryCommand::Show { id, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            let a = store
                .agent(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no agent {id:?}"))?;
            println!("{}", show(&a));
            Ok(())
        }
        RegistryCommand::Remove { id, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            if store.remove_agent(&id).await.map_err(|e| e.to_string())? {
                println!("removed {id}");
                Ok(())
            } else {
                Err(format!("no agent {id:?}"))
            }
        }
    }
}

/// Creates an API key for `sub` and returns the one-time display form.
pub async fn create_key(
    store: &Store,
    sub: &str,
    expires_at: Option<i64>,
) -> Result<String, String> {
    if store.agent(sub).await.map_err(|e| e.to_string())?.is_none() {
        return Err(format!(
            "no registry agent {sub:?}: add it with `warden registry add`"
        ));
    }
    let k = warden_trust::apikey::generate()?;
    store
        .put_api_key(&ApiKeyRecord {
            id: k.id,
            subject: sub.to_string(),
            hash: k.hash,
            created_at: warden_gateway::audit::now_rfc3339(),
            expires_at,
            revoked_at: None,
            last_used_at: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(k.display)
}

pub async fn apikey(cmd: ApiKeyCommand) -> Result<(), String> {
    match cmd {
        ApiKeyCommand::Create { sub, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            println!("{}", create_key(&store, &sub, None).await?);
            Ok(())
        }
        ApiKeyCommand::List { sub, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            for k in store
                .list_api_keys(sub.as_deref())
                .await
                .map_err(|e| e.to_string())?
            {
                let state = match (&k.revoked_at, k.expires_at) {
                    (Some(at), _) => format!("revoked {at}"),
                    (None, Some(exp)) => format!("expires at unix {exp}"),
                    (None, None) => "active".into(),
                };
                let used = k.last_used_at.unwrap_or_else(|| "never".into());
                println!("{}\t{}\t{state}\tlast used {used}", k.id, k.subject);
            }
            Ok(())
        }
        ApiKeyCommand::Revoke { id, instance } => {
            let store = open_store(&config_of(&instance)?).await?;
            let at = warden_gateway::audit::now_rfc3339();
            if store
                .revoke_api_key(&id, &at)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("revoked {id}");
                Ok(())
            } else {
                Err(format!("no active key {id:?}"))
            }
        }
        ApiKeyCommand::Rotate {
            id,
            overlap,
            instance,
        } => {
            let store = open_store(&config_of(&instance)?).await?;
            let old = store
                .api_key(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no key {id:?}"))?;
            if old.revoked_at.is_some() {
                return Err(format!("key {id:?} is revoked"));
            }
            let overlap = parse_duration(&overlap)?;
            let until =
                i64::try_from(unix_now().saturating_add(overlap.as_secs())).unwrap_or(i64::MAX);
            let new = create_key(&store, &old.subject, None).await?;
            store
                .expire_api_key(&id, until)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("old key {id} stays valid for {}s", overlap.as_secs());
            println!("{new}");
            Ok(())
        }
    }
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
