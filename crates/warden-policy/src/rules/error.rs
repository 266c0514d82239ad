//! Why a policy document was refused. Every variant names the rule and says
//! what to change: the operator reads these at `warden policy check` or at
//! start-up, never the caller.

use thiserror::Error;

/// A policy document that cannot be loaded. Loading is all or nothing: one bad
/// rule refuses the whole document, so a half-applied policy never runs.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not TOML, or does not have the expected fields (unknown
    /// keys are refused, as typos would otherwise be ignored silently).
    #[error("policy document: {0}")]
    Toml(#[from] toml::de::Error),

    #[error("policy document has {count} rules; at most {max} are allowed")]
    TooManyRules { count: usize, max: usize },

    #[error(
        "rule #{index} has name {name:?}: a rule name is 1 to {max} characters, a letter then \
         letters, digits, '-', '_' or '.'",
        max = super::config::MAX_NAME_LEN
    )]
    InvalidName { index: usize, name: String },

    #[error("rule name {name:?} is used twice: rule names must be unique")]
    DuplicateName { name: String },

    #[error("rule {rule:?}: `when` is {len} bytes; at most {max} are allowed")]
    ExpressionTooLong {
        rule: String,
        len: usize,
        max: usize,
    },

    #[error("rule {rule:?}: syntax error in `when` at line {line}, column {column}: {message}")]
    Syntax {
        rule: String,
        /// 1-based line within the expression (not the TOML file).
        line: usize,
        /// 1-based column within that line.
        column: usize,
        message: String,
    },

    #[error("rule {rule:?}: unknown variable `{name}` (the variables are: {known})")]
    UnknownVariable {
        rule: String,
        name: String,
        known: String,
    },

    #[error("rule {rule:?}: `{variable}` has no field `{field}` (its fields are: {known})")]
    UnknownField {
        rule: String,
        variable: String,
        field: String,
        known: String,
    },

    #[error("rule {rule:?}: `when` nests more than {max} levels deep; split it into several rules")]
    TooDeep { rule: String, max: usize },

    /// The CEL engine refused a declaration: a bug in Warden, not in the
    /// document.
    #[error("policy engine: {0}")]
    Engine(String),

    #[error("cannot start the thread that loads the policy: {0}")]
    Thread(#[source] std::io::Error),

    #[error("rule {rule:?}: invalid regular expression {pattern:?}: {message}")]
    InvalidRegex {
        rule: String,
        pattern: String,
        message: String,
    },
}
