//! End-to-end sealing for `warden mail` (docs/mailbox.md, "Sealing"): the
//! recipient's key pair in a file, its public half to publish, and the
//! parts of a message sealed to a recipient's published key or opened with
//! one's own keys. Warden itself never sees a private key or the plaintext:
//! all of this runs in the CLI.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use warden_mailbox::seal::{self, PublicJwk, RecipientKey};

/// The largest key file read (a JWK Set of many old keys stays far below).
const MAX_KEY_FILE: u64 = 256 * 1024;

/// Makes a key pair, writes the private JWK to `out` (a new file, readable
/// by its owner only) and returns the public JWK to publish.
pub fn key_gen(out: &Path) -> Result<Value, String> {
    let key = RecipientKey::generate().map_err(|e| e.to_string())?;
    let private = key.to_private_json().map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    // Never over an existing file: it may hold the only copy of an old key.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let text = serde_json::to_string_pretty(&private).map_err(|e| e.to_string())?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(key.public().to_json())
}

/// The public JWK of a key file holding a public or a private JWK: what
/// `warden mail key publish` sends (never the private part).
pub fn public_jwk_of_file(path: &Path) -> Result<Value, String> {
    let value = read_json(path)?;
    let public = if value.get("d").is_some() {
        RecipientKey::parse(&value)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .public()
            .clone()
    } else {
        PublicJwk::parse(&value).map_err(|e| format!("{}: {e}", path.display()))?
    };
    Ok(public.to_json())
}

/// Seals the JSON of `parts` (an A2A parts array) to `recipient_jwk`: the
/// compact JWE to send as `sealed`.
pub fn seal_parts(recipient_jwk: &Value, parts: &Value) -> Result<String, String> {
    let recipient = PublicJwk::parse(recipient_jwk)
        .map_err(|e| format!("the recipient's published key: {e}"))?;
    let plaintext = serde_json::to_vec(parts).map_err(|e| e.to_string())?;
    seal::seal(&recipient, &plaintext).map_err(|e| e.to_string())
}

/// The private keys in `files`: each a private JWK or a JWK Set
/// (`{"keys": [...]}`), so keys kept after a rotation still open the
/// messages sealed to them.
pub fn load_keys(files: &[PathBuf]) -> Result<Vec<RecipientKey>, String> {
    let mut keys = Vec::new();
    for path in files {
        let value = read_json(path)?;
        let members = match value.get("keys") {
            Some(Value::Array(set)) => set.clone(),
            Some(_) => return Err(format!("{}: keys must be an array", path.display())),
            None => vec![value],
        };
        for jwk in &members {
            keys.push(RecipientKey::parse(jwk).map_err(|e| format!("{}: {e}", path.display()))?);
        }
    }
    Ok(keys)
}

/// Opens a sealed message with whichever of `keys` it names: its parts.
pub fn open_parts(keys: &[RecipientKey], sealed: &str) -> Result<Value, String> {
    let plaintext = seal::open(keys, sealed).map_err(|e| e.to_string())?;
    let limits = warden_json::JsonLimits::default();
    warden_json::parse_strict(&plaintext, limits)
        .map_err(|e| format!("the sealed content is not a parts array: {e}"))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if len > MAX_KEY_FILE {
        return Err(format!("{} is larger than a key file", path.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    warden_json::parse_strict(&bytes, warden_json::JsonLimits::default())
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn generated_key_seals_and_opens_parts_and_survives_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old_file = dir.path().join("old.jwk");
        let old_public = key_gen(&old_file).expect("key gen");
        assert!(old_public.get("d").is_none());
        assert!(key_gen(&old_file).is_err(), "never over an existing key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&old_file)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(public_jwk_of_file(&old_file).expect("public"), old_public);

        let parts = json!([{"text": "hello"}]);
        let sealed_old = seal_parts(&old_public, &parts).expect("seal");
        let new_file = dir.path().join("new.jwk");
        let new_public = key_gen(&new_file).expect("key gen");
        let sealed_new = seal_parts(&new_public, &parts).expect("seal");

        // A JWK Set of the kept old key and the new one opens both.
        let ring = dir.path().join("ring.json");
        let set = json!({"keys": [
            read_json(&old_file).expect("old"),
            read_json(&new_file).expect("new"),
        ]});
        std::fs::write(&ring, set.to_string()).expect("write");
        let keys = load_keys(&[ring]).expect("load");
        assert_eq!(open_parts(&keys, &sealed_old).expect("old opens"), parts);
        assert_eq!(open_parts(&keys, &sealed_new).expect("new opens"), parts);

        let only_new = load_keys(&[new_file]).expect("load");
        let err = open_parts(&only_new, &sealed_old).expect_err("old key not given");
        assert!(
            err.contains(old_public["kid"].as_str().expect("kid")),
            "{err}"
        );
    }
}
