//! Which store a `warden store` command works on: the instance's (its
//! `[store]`, else the SQLite file of its data directory), or the one a URL
//! names, given on the command line (no password) or in an environment
//! variable.

use std::path::{Path, PathBuf};

use warden_gateway::Config;
use warden_store::{Store, StoreError, UrlTarget};

use super::{Failure, StoreArgs};
use crate::local::config_of;

/// Where the store is.
#[derive(Debug, Clone)]
pub enum Place {
    File(PathBuf),
    /// A PostgreSQL URL (it may hold a password: never printed).
    Postgres(String),
}

/// The store a command names, and the instance's configuration when it
/// was named by one.
#[derive(Debug)]
pub struct Target {
    pub place: Place,
    pub config: Option<Config>,
}

impl Target {
    pub fn resolve(args: &StoreArgs) -> Result<Self, Failure> {
        if let Some(url) = &args.url {
            refuse_password(url)?;
            return Ok(Self {
                place: place_of(url, "--url")?,
                config: None,
            });
        }
        if let Some(var) = &args.url_env {
            let url = std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Failure::Bad(format!("--url-env: {var} is not set or empty")))?;
            return Ok(Self {
                place: place_of(&url, var)?,
                config: None,
            });
        }
        let config = config_of(&args.instance).map_err(Failure::Bad)?;
        let url = config
            .store
            .url(&|v| std::env::var(v).ok())
            .map_err(Failure::Bad)?;
        let place = match url {
            None => Place::File(config.gateway.data_dir.join("warden.db")),
            Some(url) => place_of(&url, "store.url")?,
        };
        Ok(Self {
            place,
            config: Some(config),
        })
    }

    /// The SQLite file, when the store is one.
    pub fn file(&self) -> Option<&Path> {
        match &self.place {
            Place::File(p) => Some(p),
            Place::Postgres(_) => None,
        }
    }

    /// Opens the store as it is: no migration, nothing created.
    pub async fn open_as_is(&self) -> Result<Store, Failure> {
        if let Place::File(path) = &self.place
            && !path.is_file()
        {
            return Err(Failure::Bad(format!(
                "no store at {} (nothing was created)",
                path.display()
            )));
        }
        match &self.place {
            Place::File(path) => Store::open_unmigrated(path).await,
            Place::Postgres(url) => Store::open_url_unmigrated(url).await,
        }
        .map_err(|e| Failure::Bad(format!("cannot open the store: {e}")))
    }

    /// Opens the store as a gateway does: created when it is a SQLite file
    /// that does not exist, migrated to this binary's schema.
    pub async fn open(&self) -> Result<Store, Failure> {
        match &self.place {
            Place::File(path) => Store::open(path).await,
            Place::Postgres(url) => Store::open_url(url).await,
        }
        .map_err(|e| match e {
            StoreError::SchemaTooNew { .. } => Failure::Refused(e.to_string()),
            e => Failure::Bad(format!("cannot open the store: {e}")),
        })
    }
}

/// A SQLite file or a PostgreSQL URL; `what` names where the URL came from.
fn place_of(url: &str, what: &str) -> Result<Place, Failure> {
    match UrlTarget::parse(url).map_err(|e| Failure::Bad(format!("{what}: {e}")))? {
        UrlTarget::File(path) => Ok(Place::File(path.to_path_buf())),
        UrlTarget::Postgres(_) => Ok(Place::Postgres(url.to_string())),
        UrlTarget::Memory => Err(Failure::Bad(format!(
            "{what}: an in-memory store ends with the command: name a file or a server"
        ))),
    }
}

/// A URL on the command line is seen by every user of the machine (`ps`)
/// and kept in shell histories: a password goes through --url-env.
fn refuse_password(url: &str) -> Result<(), Failure> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(());
    };
    if parsed.password().is_some() || parsed.query_pairs().any(|(k, _)| k == "password") {
        return Err(Failure::Bad(
            "--url carries a password: put the URL in an environment variable and give its name with --url-env".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_on_the_command_line_is_refused() {
        for bad in [
            "postgres://warden:secret@db/warden",
            "postgres://warden@db/warden?password=secret",
        ] {
            assert!(refuse_password(bad).is_err(), "{bad}");
        }
        for ok in [
            "postgres://warden@db/warden",
            "sqlite:///var/lib/warden/warden.db",
        ] {
            assert!(refuse_password(ok).is_ok(), "{ok}");
        }
        assert!(matches!(
            place_of("sqlite::memory:", "--url"),
            Err(Failure::Bad(_))
        ));
        assert!(matches!(
            place_of("sqlite:///a/b.db", "--url"),
            Ok(Place::File(p)) if p == Path::new("/a/b.db")
        ));
    }
}
