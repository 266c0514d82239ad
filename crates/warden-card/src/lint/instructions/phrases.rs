//! The phrase tables. Words are lower-case, NFKC, look-alikes folded; a
//! trailing `*` matches a prefix; `@dest` is a URL, e-mail address or host.
//!
//! Why some words are missing: third-person verbs (`ignores`, `forwards`
//! as descriptions of what the agent does) are left out of override phrases;
//! `rules` alone after *ignore* is left out because linters say "you can
//! ignore any rule"; `agent` is not an AI reader, since cards legitimately
//! address calling agents.

use super::{Rule, rule, step};
use crate::lint::FindingCode;
use crate::lint::FindingCode::{Exfiltration, InstructionOverride, RolePlay};
use crate::lint::Severity::{Error, Info, Warning};

const OVERRIDE: &[&str] = &["ignore", "disregard", "forget", "override", "bypass"];
/// Words that point back at the reader's existing instructions.
const EARLIER: &[&str] = &[
    "previous", "previously", "prior", "above", "earlier", "preceding", "former", "original",
    "initial", "system", "safety", "foregoing", "aforementioned", "old",
];
const QUANTIFIER: &[&str] = &["all", "any", "your", "every", "these", "those", "the", "my"];
const INSTRUCTIONS: &[&str] = &[
    "instruction*", "prompt*", "rule*", "direction*", "guideline*", "guardrail*", "polic*",
    "context", "message*", "command*", "directive*", "order*", "constraint*", "restriction*",
    "safeguard*", "programming", "text",
];
/// Nouns that only ever mean a model's instructions.
const MODEL_INSTRUCTIONS: &[&str] = &[
    "instruction*", "prompt*", "guardrail*", "directive*", "safeguard*", "programming",
];
const REVEAL: &[&str] = &[
    "reveal", "print", "show", "output", "repeat", "leak", "display", "disclose", "dump", "share",
    "expose", "return", "tell", "recite", "ignore", "override", "disregard", "bypass", "replace",
    "reset", "change", "modify", "update", "new",
];
const NEW: &[&str] = &[
    "new", "updated", "real", "actual", "true", "revised", "secret", "hidden", "different",
];
const AI_READER: &[&str] = &[
    "ai", "llm", "llms", "chatbot", "assistant", "bot", "gpt*", "claude", "gemini", "copilot",
    "language",
];

/// Base forms only: "send the history to…" speaks to the reader; "forwards
/// the transcript to your helpdesk" describes the agent.
const SEND: &[&str] = &[
    "send", "forward", "upload", "post", "email", "mail", "leak", "exfiltrate", "transmit", "copy",
    "share", "submit", "relay", "dump", "paste", "deliver", "export", "report", "beacon", "append",
    "attach", "encode", "include",
];
const SENSITIVE: &[&str] = &[
    "conversation*", "chat*", "history", "context", "prompt*", "token*", "credential*",
    "password*", "passphrase*", "secret*", "key", "keys", "apikey*", "cookie*", "session*",
    "memory", "memories", "transcript*", "env", "environment", "ssh", "wallet*", "pii", "ssn*",
    "private", "personal",
];
const GENERIC_DATA: &[&str] = &[
    "data", "file", "files", "document*", "content*", "message*", "input*", "email*", "log",
    "logs", "record*", "account*", "details", "information", "info",
];
const SINKS: &[&str] = &[
    "pastebin*", "requestbin*", "ngrok*", "attacker*", "burp*", "interactsh*", "collaborator",
];

pub(super) static RULES: &[Rule] = &[
    // instruction_override
    rule(InstructionOverride, Error, "tells the reader to ignore its instructions",
        &[step(0, OVERRIDE), step(3, EARLIER), step(3, INSTRUCTIONS)]),
    rule(InstructionOverride, Error, "tells the reader to ignore its instructions",
        &[step(0, OVERRIDE), step(2, QUANTIFIER), step(2, MODEL_INSTRUCTIONS)]),
    rule(InstructionOverride, Warning, "tells the reader to ignore instructions",
        &[step(0, OVERRIDE), step(0, MODEL_INSTRUCTIONS)]),
    rule(InstructionOverride, Error, "tells the reader to forget what it was told",
        &[step(0, &["forget", "disregard", "ignore"]), step(1, &["everything", "anything", "all"]),
          step(2, &["above", "before", "prior", "previously", "earlier", "told", "said", "so"])]),
    rule(InstructionOverride, Error, "tells the reader it is now someone else",
        &[step(0, &["you"]), step(0, &["are", "re"]), step(0, &["now"]),
          step(0, &["a", "an", "the", "in", "no", "free", "unrestricted", "unfiltered", "uncensored",
                    "dan", "jailbroken", "developer", "acting", "operating", "my", "root", "admin",
                    "evil", "going", "under", "controlled", "owned"])]),
    rule(InstructionOverride, Error, "asks the reader to reveal or replace its system prompt",
        &[step(0, REVEAL), step(3, &["system", "developer", "hidden", "initial", "original",
                                      "secret", "internal"]),
          step(1, &["prompt*", "message*", "instruction*"])]),
    rule(InstructionOverride, Info, "mentions a system prompt",
        &[step(0, &["system", "developer"]), step(0, &["prompt*"])]),
    // "New instructions:" is matched in ANNOUNCEMENTS; bare "new instructions"
    // is how a robot arm or a bot builder describes its own input.
    rule(InstructionOverride, Warning, "announces new instructions",
        &[step(0, &["here", "these"]), step(2, NEW), step(0, &["instruction*", "directive*", "orders"])]),
    rule(InstructionOverride, Warning, "announces new instructions",
        &[step(0, &["your", "my"]), step(0, NEW), step(0, &["instruction*", "directive*", "orders"]),
          step(0, &["are", "is", "follow", "below"])]),
    rule(InstructionOverride, Warning, "addresses an AI reader",
        &[step(0, &["if", "when", "since"]), step(0, &["you"]), step(0, &["are", "re"]),
          step(1, AI_READER)]),
    rule(InstructionOverride, Warning, "addresses an AI reader",
        &[step(0, &["note", "attention", "message", "memo", "reminder", "notice", "instructions"]),
          step(0, &["to", "for"]), step(1, &["ai", "llm", "llms", "chatbot", "assistant", "model",
                                              "models", "gpt*", "claude", "gemini", "copilot"])]),
    rule(InstructionOverride, Warning, "addresses an AI reader",
        &[step(0, &["dear", "hey", "hello", "hi", "attention"]),
          step(0, &["ai", "llm", "assistant", "chatbot", "claude", "gpt*", "gemini", "copilot"])]),
    rule(InstructionOverride, Warning, "addresses the model reading the card",
        &[step(0, &["ai", "llm", "llms", "assistant", "model", "models", "agent", "agents"]),
          step(0, &["reading", "processing", "parsing", "summarizing", "summarising", "ingesting"]),
          step(1, &["this"])]),
    // role_play
    rule(RolePlay, Warning, "asks the reader to pretend",
        &[step(0, &["pretend", "pretending"]), step(1, &["to", "you", "that", "be"])]),
    rule(RolePlay, Warning, "asks the reader to role-play",
        &[step(0, &["role"]), step(0, &["play", "playing"]), step(0, &["as"])]),
    rule(RolePlay, Warning, "asks the reader to role-play",
        &[step(0, &["roleplay", "roleplaying"]), step(0, &["as"])]),
    rule(RolePlay, Warning, "asks the reader to act a part",
        &[step(0, &["act", "behave"]), step(0, &["as"]), step(0, &["if", "though"])]),
    rule(RolePlay, Warning, "tells the reader how to act",
        &[step(0, &["you"]), step(1, &["will", "must", "shall", "should", "are", "now", "re"]),
          step(1, &["act", "behave", "respond", "answer", "reply", "speak", "roleplay"]),
          step(1, &["as", "like"])]),
    rule(RolePlay, Warning, "asks the reader to stay in character",
        &[step(0, &["stay", "remain", "staying"]), step(0, &["in"]), step(0, &["character"])]),
    rule(RolePlay, Warning, "asks the reader to hide something from the user",
        &[step(0, &["without"]), step(0, &["telling", "informing", "notifying", "alerting"]),
          step(1, &["user*", "human*", "operator*", "anyone"])]),
    rule(RolePlay, Error, "jailbreak marker", &[step(0, &["jailbroken"])]),
    rule(RolePlay, Error, "jailbreak marker",
        &[step(0, &["jailbreak", "dan", "god", "unrestricted", "unfiltered", "uncensored", "evil",
                    "opposite", "chaos", "sudo"]),
          step(0, &["mode", "enabled", "activated"])]),
    rule(RolePlay, Error, "jailbreak marker",
        &[step(0, &["do"]), step(0, &["anything"]), step(0, &["now"])]),
    rule(RolePlay, Error, "tells the reader to bypass its safety rules",
        &[step(0, &["ignore", "bypass", "disregard", "override", "circumvent", "evade"]),
          step(2, &["safety", "content", "ethical", "moral"]),
          step(1, &["filter*", "guideline*", "polic*", "restriction*", "guardrail*", "rule*",
                    "check*", "protocol*"])]),
    rule(RolePlay, Warning, "asks the reader to switch off safety",
        &[step(0, &["disable", "turn", "switch", "remove"]), step(2, &["safety", "content", "ethical"]),
          step(1, &["filter*", "guideline*", "guardrail*", "restriction*"])]),
    rule(RolePlay, Warning, "asks for answers free of safeguards",
        &[step(0, &["no", "without", "free"]),
          step(2, &["guardrails", "censorship", "ethics", "ethical", "morals", "morality", "moral"])]),
    // weak signals: info alone, a role_play warning together
    rule(RolePlay, Info, "you must always/never",
        &[step(0, &["you"]), step(0, &["must", "will", "shall", "should"]),
          step(0, &["always", "never"])]),
    rule(RolePlay, Info, "from now on", &[step(0, &["from"]), step(0, &["now"]), step(0, &["on"])]),
    rule(RolePlay, Info, "do not tell or reveal",
        &[step(0, &["not", "never", "t"]),
          step(0, &["tell", "mention", "reveal", "disclose", "inform"])]),
    rule(RolePlay, Info, "developer mode", &[step(0, &["developer"]), step(0, &["mode"])]),
    rule(RolePlay, Info, "mentions jailbreaks", &[step(0, &["jailbreak*"])]),
    rule(RolePlay, Info, "unfiltered", &[step(0, &["unfiltered", "uncensored"])]),
    // exfiltration
    rule(Exfiltration, Error, "asks to send sensitive data to a destination",
        &[step(0, SEND), step(8, SENSITIVE), step(10, &["@dest"])]),
    rule(Exfiltration, Error, "asks to send sensitive data to a destination",
        &[step(0, SEND), step(3, &["@dest"]), step(8, SENSITIVE)]),
    rule(Exfiltration, Error, "asks to send sensitive data to a collection service",
        &[step(0, SEND), step(6, SENSITIVE), step(6, SINKS)]),
    rule(Exfiltration, Warning, "asks to send data to a destination",
        &[step(0, SEND), step(6, GENERIC_DATA), step(10, &["@dest"])]),
];

/// A phrase searched in letters-only text.
pub(super) struct Squashed {
    pub(super) code: FindingCode,
    pub(super) what: &'static str,
    pub(super) verbs: &'static [&'static str],
    /// Longest first: `these` must be tried before `the`.
    pub(super) fillers: &'static [&'static str],
    pub(super) quals: &'static [&'static str],
    pub(super) nouns: &'static [&'static str],
}

pub(super) static SQUASHED: &[Squashed] = &[
    Squashed {
        code: InstructionOverride,
        what: "tells the reader to ignore its instructions (spelt out)",
        verbs: OVERRIDE,
        fillers: &["these", "those", "every", "your", "all", "any", "the", "of", "my"],
        quals: &["previous", "prior", "above", "earlier", "preceding", "former", "original",
                 "initial", "system"],
        nouns: &["instruction", "prompt", "rule", "direction", "guideline", "guardrail", "polic",
                 "command", "directive", "context", "message"],
    },
    Squashed {
        code: InstructionOverride,
        what: "asks the reader to reveal its system prompt (spelt out)",
        verbs: &["reveal", "print", "show", "output", "repeat", "leak", "display", "disclose",
                 "dump", "recite"],
        fillers: &["entire", "whole", "your", "full", "all", "the", "me", "us", "of"],
        quals: &["system", "developer", "hidden", "initial", "original", "secret", "internal"],
        nouns: &["prompt", "message", "instruction"],
    },
];

/// "New instructions:" and the like, lower-case: an announcement.
pub(super) const ANNOUNCEMENTS: &[&str] = &[
    "new instructions:", "new instruction:", "updated instructions:", "real instructions:",
    "actual instructions:", "revised instructions:", "new directive:", "new directives:",
    "new task:", "new rules:",
];

/// Chat-template markers, lower-case. `<|name|>` tokens are found apart.
pub(super) const CHAT_MARKERS: &[&str] = &[
    "[inst]", "[/inst]", "<<sys>>", "<</sys>>", "<system>", "</system>", "[system]", "### system",
    "### instruction", "begin system prompt", "<start_of_turn>", "<end_of_turn>",
];
