//! A set of public keys by `kid`, read from a JWKS document.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::jwk::{JwkError, PublicJwk};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: HashMap<String, PublicJwk>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("a JWKS must be an object with a \"keys\" array")]
    Shape,
    #[error("key {index} of the JWKS is refused: {error}")]
    Key { index: usize, error: JwkError },
    #[error("kid {0:?} appears twice in the JWKS")]
    DuplicateKid(String),
}

impl KeySet {
    /// Reads a JWKS. Keys without a `kid` cannot be selected and are left
    /// out, as are keys of unsupported types or for encryption; a private
    /// key anywhere refuses the whole set (it signals a misconfiguration).
    pub fn from_jwks(v: &Value) -> Result<Self, JwksError> {
        let list = v
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::Shape)?;
        let mut keys = HashMap::new();
        for (index, k) in list.iter().enumerate() {
            if k.get("use")
                .and_then(Value::as_str)
                .is_some_and(|u| u != "sig")
            {
                continue;
            }
            let key = match PublicJwk::from_json(k) {
                Ok(key) => key,
                Err(error @ (JwkError::PrivateMember(_) | JwkError::NotObject)) => {
                    return Err(JwksError::Key { index, error });
                }
                Err(_) => continue,
            };
            let Some(kid) = key.kid.clone() else { continue };
            if keys.insert(kid.clone(), key).is_some() {
                return Err(JwksError::DuplicateKid(kid));
            }
        }
        Ok(Self { keys })
    }

    pub fn from_keys(list: impl IntoIterator<Item = PublicJwk>) -> Self {
        Self {
            keys: list
                .into_iter()
                .filter_map(|k| k.kid.clone().map(|kid| (kid, k)))
                .collect(),
        }
    }

    pub fn get(&self, kid: &str) -> Option<&PublicJwk> {
        self.keys.get(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The set as a JWKS document, keys in `kid` order.
    pub fn to_jwks(&self) -> Value {
        let mut list: Vec<&PublicJwk> = self.keys.values().collect();
        list.sort_by(|a, b| a.kid.cmp(&b.kid));
        json!({"keys": list.iter().map(|k| k.to_json()).collect::<Vec<_>>()})
    }
}
