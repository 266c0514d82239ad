//! `[protocol]`: how strictly calls are read beyond the JSON caps.

use serde::Deserialize;
use warden_a2a::UnknownFields;

/// `[protocol]` in warden.toml.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolSection {
    /// What happens to a request field Warden does not know; each
    /// `[[agents]]` entry may override it.
    pub unknown_fields: UnknownFieldsRule,
}

/// `unknown_fields = "refuse" | "drop"`.
///
/// `refuse` is the default: a field Warden does not know is a field whose
/// meaning it cannot check, and dropping it silently changes the request
/// the caller made (a newer client's option vanishes without a word).
/// Refusing names the field and the setting, so the operator decides.
/// `drop` suits agents whose callers are ahead of Warden's protocol
/// version: the field is removed before forwarding (the agent never acts
/// on data Warden did not read) and listed in the audit event.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnknownFieldsRule {
    #[default]
    Refuse,
    Drop,
}

impl From<UnknownFieldsRule> for UnknownFields {
    fn from(rule: UnknownFieldsRule) -> Self {
        match rule {
            UnknownFieldsRule::Refuse => UnknownFields::Refuse,
            UnknownFieldsRule::Drop => UnknownFields::Drop,
        }
    }
}
