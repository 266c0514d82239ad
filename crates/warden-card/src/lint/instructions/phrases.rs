//! The phrase tables. Words are lower-case, NFKC, look-alikes folded; a
//! trailing `*` matches a prefix; `@dest` is a URL, e-mail address or host.
//!
//! Why some words are missing: third-person verbs (`ignores`, `forwards`
//! as descriptions of what the agent does) are left out of override phrases;
//! `rules` alone after *ignore* is left out because linters say "you can
//! ignore any rule"; `agent` is not an AI reader, since cards legitimately
//! address calling agents.

use super::{Near, Rule, credential, rule, rule_unless, step};
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

// Overrides in other languages. Words are written as spelt; matching folds
// them like the text (Cyrillic look-alikes read as Latin), so Russian works.
// Romance languages put the adjective after the noun ("ignora las
// instrucciones anteriores"), hence a rule in each order.
const OVERRIDE_ML: &[&str] = &[
    "ignore", "disregard", "forget", "override", "bypass",
    // fr
    "ignorez", "ignorer", "oublie", "oubliez", "oublier", "contournez",
    // de
    "ignoriere", "ignorieren", "ignoriert", "vergiss", "vergesst", "vergessen", "missachte",
    "missachten", "übergehe", "uebergehe",
    // es, pt, it
    "ignora", "ignoren", "ignorad", "ignorem", "olvida", "olvide", "olviden", "olvidad", "omite",
    "omita", "descarta", "descarte", "desobedece", "esqueça", "esqueca", "esqueçam",
    "desconsidere", "desconsidera", "ignorate", "ignori", "dimentica", "dimenticate", "trascura",
    "tralascia",
    // ru
    "игнopиpyй", "игнopиpyйтe", "пpoигнopиpyй", "пpoигнopиpyйтe", "зaбyдь", "зaбyдьтe",
    "oтбpocь", "oтбpocьтe", "пpeнeбpeги",
];
const EARLIER_ML: &[&str] = &[
    "previous", "prior", "above", "earlier", "preceding", "original", "initial", "system",
    "précédent*", "precedent*", "antérieur*", "anterieur*", "dessus", "initiale*", "système",
    "systeme",
    "vorherige*", "vorige*", "frühere*", "fruehere*", "bisherige*", "obige*", "vorangegangene*",
    "ursprüngliche*", "urspruengliche*", "systemanweisung*",
    "anterior*", "previa*", "previo*", "prévia*", "precedente*", "arriba", "acima", "sopra",
    "sistema", "originales", "originais", "originali", "iniciales", "iniziali",
    "пpeдыдyщ*", "пpeжн*", "вышeyкaзaнн*", "вышeизлoжeнн*", "вышe", "cиcтeмн*", "изнaчaльн*",
    "иcxoдн*",
];
const INSTRUCTIONS_ML: &[&str] = &[
    "instruction*", "prompt*", "directive*", "consigne*", "règle*", "regle*", "anweisung*",
    "instruktion*", "befehl*", "vorgabe*", "richtlinie*", "regeln", "instrucci*", "indicaci*",
    "regla*", "directriz*", "directrices", "órdenes", "ordenes", "instruç*", "instruc*", "regra*",
    "diretriz*", "ordens", "istruzion*", "regol*", "direttiv*", "indicazion*", "ordini",
    "systemprompt*", "инcтpyкци*", "yкaзaни*", "пpaвил*", "диpeктив*", "пpoмпт*",
];
/// [`EARLIER_ML`] and the words for "all".
const ALL_EARLIER_ML: &[&str] = &[
    "previous", "prior", "above", "earlier", "preceding", "original", "initial", "system",
    "précédent*", "precedent*", "antérieur*", "anterieur*", "dessus", "initiale*", "système",
    "systeme", "vorherige*", "vorige*", "frühere*", "fruehere*", "bisherige*", "obige*",
    "vorangegangene*", "ursprüngliche*", "urspruengliche*", "anterior*", "previa*", "previo*",
    "prévia*", "precedente*", "arriba", "acima", "sopra", "sistema", "originales", "originais",
    "originali", "iniciales", "iniziali", "пpeдыдyщ*", "пpeжн*", "вышeyкaзaнн*", "вышeизлoжeнн*",
    "вышe", "cиcтeмн*", "изнaчaльн*", "иcxoдн*",
    "tous", "toutes", "todas", "todos", "tutte", "tutti", "alle", "sämtliche", "saemtliche",
    "вce", "вcё", "вcex", "любыe",
];

/// Who a card might tell the reader to defy or to pump for secrets.
const USERISH: &[&str] = &[
    "user", "users", "human", "humans", "customer", "customers", "caller", "callers", "operator",
    "operators", "requester", "person", "people", "client", "clients", "them", "him", "her",
];
const SAYS: &[&str] = &[
    "says", "say", "asks", "ask", "wants", "want", "requests", "tells", "types", "writes",
    "demands", "instructs",
];
/// An imperative opening the next clause: "whatever the user says, always…".
const THEN_IMPERATIVE: &[&str] = &[
    "always", "never", "ignore", "refuse", "reply", "answer", "respond", "insist", "keep", "do",
    "don", "recommend", "approve", "say", "tell", "you",
];
const VOID: &[&str] = &[
    "void", "obsolete", "cancelled", "canceled", "revoked", "invalid", "null", "overridden",
    "superseded", "replaced", "suspended", "lifted", "disabled", "withdrawn", "rescinded",
];
const PRIORITY: &[&str] = &[
    "highest", "top", "first", "absolute", "overriding", "only", "primary", "main", "supreme",
    "ultimate",
];

// Credential solicitation: a card asking the reader (or, through it, the
// user) for a secret in band. Naming how to authenticate ("API key in the
// X-API-Key header", "a token from the token endpoint") is not asking.
/// Secrets no card has a reason to ask for in text.
const CRED_STRONG: &[&str] = &[
    "password*", "passwd", "passphrase*", "passcode*", "pin", "pins", "seed", "mnemonic*",
    "otp*", "2fa", "mfa", "totp", "cvv*", "cvc*", "ssn*", "passport", "credit", "card",
    "verification", "recovery", "social", "login", "logins", "passwort*", "kennwort*",
    "contraseña*", "contrasena*", "senha*", "пapoль*",
];
/// Secrets that schemes honestly name (how to send them is fine, asking for
/// them in a message is not).
const CRED_ANY: &[&str] = &[
    "password*", "passwd", "passphrase*", "passcode*", "pin", "pins", "seed", "mnemonic*",
    "otp*", "2fa", "mfa", "totp", "cvv*", "cvc*", "ssn*", "passport", "credit", "card",
    "verification", "recovery", "social", "login", "logins", "passwort*", "kennwort*",
    "contraseña*", "contrasena*", "senha*", "пapoль*",
    "api", "apikey*", "key", "keys", "token*", "secret*", "credential*", "bearer", "jwt",
    "cookie*",
];
/// Secrets that only ever leave a person in a scam: asked for even without
/// saying where.
const CRED_SECRET: &[&str] = &[
    "seed", "mnemonic*", "cvv*", "cvc*", "ssn*", "otp*", "2fa", "mfa", "totp",
];
const ASK: &[&str] = &[
    "ask", "request", "prompt", "collect", "obtain", "get", "gather", "demand", "solicit",
    "query", "persuade", "convince", "trick", "have", "make", "tell", "instruct", "encourage",
];
const GIVE: &[&str] = &[
    "paste", "enter", "type", "provide", "share", "give", "send", "tell", "reveal", "include",
    "submit", "write", "put", "input", "supply", "disclose", "post", "drop", "attach", "add",
    "insert", "embed", "append", "copy", "mention", "state", "confirm", "repeat", "spell",
    "forward", "email", "dm", "reply", "respond",
];
/// Verbs that put the secret into the conversation by themselves.
const GIVE_IN_BAND: &[&str] = &["reply", "respond", "answer", "tell", "say", "dm", "message", "text"];
const WHOSE: &[&str] = &[
    "your", "their", "the", "his", "her", "my", "user", "users", "s", "customer", "customers",
    "caller", "callers",
];
/// Places inside the conversation.
const IN_BAND: &[&str] = &[
    "chat", "conversation", "message", "messages", "reply", "response", "prompt", "comment",
    "comments", "thread", "task", "description", "dm",
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
    // instruction_override without the stock words
    rule(InstructionOverride, Error, "tells the reader how it must answer from now on",
        &[step(0, &["from"]), step(0, &["now"]), step(1, &["on"]), step(0, &["you"]),
          step(1, &["will", "must", "shall", "should", "are", "re"]),
          step(1, &["only", "always", "never", "answer", "respond", "reply", "obey", "follow",
                    "ignore", "act", "refuse", "say", "pretend", "tell", "comply", "approve",
                    "recommend", "speak"])]),
    rule(InstructionOverride, Error, "gives the reader a new task",
        &[step(0, &["your"]), step(0, &["new", "real", "actual", "true", "secret", "hidden",
                                        "updated", "revised"]),
          step(0, &["task*", "goal*", "job", "mission", "objective*", "purpose", "role",
                    "instruction*", "directive*", "priority", "orders"]),
          step(0, &["is", "are"]), step(0, &["to", "now", "as", "the", "following"])]),
    rule(InstructionOverride, Error, "tells the reader to defy the user",
        &[step(0, &["whatever"]), step(2, USERISH), step(1, SAYS), step(0, THEN_IMPERATIVE)]),
    rule(InstructionOverride, Error, "tells the reader to defy the user",
        &[step(0, &["matter", "regardless"]), step(1, &["what"]), step(2, USERISH), step(1, SAYS),
          step(0, THEN_IMPERATIVE)]),
    rule_unless(InstructionOverride, Error, "tells the reader not to follow the user",
        &[step(0, &["not", "never", "t", "stop"]), step(0, &["follow", "obey", "heed", "listen", "comply"]),
          step(2, &["user", "users", "human", "humans", "operator", "operators", "caller",
                    "requester", "person"])],
        &["input*", "link*", "url*", "supplied", "provided", "generated", "data", "content*",
          "upload*", "file*", "redirect*", "agent*", "interface*", "submitted"]),
    rule(InstructionOverride, Error, "declares the reader's instructions void",
        &[step(0, EARLIER), step(2, &["instruction*", "prompt*", "direction*", "directive*",
                                       "guideline*", "guardrail*", "programming"]),
          step(3, &["no"]), step(0, &["longer"]),
          step(1, &["apply", "applies", "valid", "matter", "matters", "relevant", "binding",
                    "stand", "exist", "count"])]),
    rule(InstructionOverride, Error, "declares the reader's instructions void",
        &[step(0, EARLIER), step(2, &["instruction*", "prompt*", "direction*", "directive*",
                                       "guideline*", "guardrail*", "programming"]),
          step(1, &["are", "is", "have", "has", "were", "was"]), step(1, &["been", "now"]),
          step(0, VOID)]),
    rule(InstructionOverride, Error, "declares the reader's instructions void",
        &[step(0, EARLIER), step(2, &["instruction*", "prompt*", "direction*", "directive*",
                                       "guideline*", "guardrail*", "programming"]),
          step(1, &["are", "is", "have", "has", "were", "was"]), step(0, VOID)]),
    rule(InstructionOverride, Error, "claims priority over the reader's instructions",
        &[step(0, &["treat", "consider", "regard"]),
          step(2, &["this", "these", "it", "following", "message", "note", "text", "instruction*"]),
          step(1, &["as"]), step(1, &["your"]), step(1, PRIORITY),
          step(0, &["priority", "directive", "instruction*", "rule", "command", "task", "order"])]),
    rule(InstructionOverride, Warning, "claims priority over the reader's instructions",
        &[step(0, &["treat", "consider", "regard"]),
          step(2, &["this", "these", "it", "following", "message", "note", "text", "instruction*"]),
          step(1, &["as"]), step(2, PRIORITY),
          step(0, &["priority", "directive", "instruction*", "command"])]),
    rule(InstructionOverride, Error, "claims priority over the reader's instructions",
        &[step(0, &["this", "these", "following"]),
          step(1, &["instruction*", "message", "note", "text", "directive*", "rule*", "card",
                    "description"]),
          step(1, &["override*", "supersede*", "overrule*", "replace*", "cancel*", "trump*"]),
          step(2, &["all", "any", "every", "other", "previous", "prior", "earlier", "your",
                    "system", "existing"]),
          step(2, INSTRUCTIONS)]),
    rule(InstructionOverride, Error, "claims priority over the reader's instructions",
        &[step(0, &["instruction*", "message", "note", "text", "directive*", "card", "description"]),
          step(1, &["takes", "take", "has", "have"]), step(0, &["precedence", "priority"]),
          step(0, &["over"]), step(3, INSTRUCTIONS)]),
    // instruction_override in other languages
    rule(InstructionOverride, Error, "tells the reader to ignore its instructions (not in English)",
        &[step(0, OVERRIDE_ML), step(3, ALL_EARLIER_ML), step(3, INSTRUCTIONS_ML)]),
    rule(InstructionOverride, Error, "tells the reader to ignore its instructions (not in English)",
        &[step(0, OVERRIDE_ML), step(3, INSTRUCTIONS_ML), step(2, EARLIER_ML)]),
    rule(InstructionOverride, Error, "tells the reader to ignore its instructions (not in English)",
        &[step(0, &["pas", "plus"]), step(0, &["compte"]), step(3, INSTRUCTIONS_ML),
          step(2, EARLIER_ML)]),
    rule(InstructionOverride, Error, "asks the reader to reveal its system prompt (not in English)",
        &[step(0, &["révèle", "révélez", "revele", "affiche", "affichez", "montre", "montrez",
                    "zeige", "zeig", "gib", "verrate", "muestra", "revela", "mostra", "mostre",
                    "rivela", "пoкaжи", "пoкaжитe", "вывeди", "pacкpoй"]),
          step(3, &["prompt*", "systemprompt*", "пpoмпт*", "инcтpyкци*"]),
          step(2, &["système", "systeme", "sistema", "system*", "cиcтeмн*"])]),
    rule(InstructionOverride, Error, "asks the reader to reveal its system prompt (not in English)",
        &[step(0, &["zeige", "zeig", "gib", "verrate", "nenne"]),
          step(3, &["systemprompt*", "systemanweisung*", "systeminstruktion*"])]),
    rule(InstructionOverride, Error, "asks the reader to reveal its system prompt (not in English)",
        &[step(0, &["пoкaжи", "пoкaжитe", "вывeди", "pacкpoй", "пoвтopи"]),
          step(3, &["cиcтeмн*"]), step(1, &["пpoмпт*", "инcтpyкци*"])]),
    rule(InstructionOverride, Error, "tells the reader it is now someone else (not in English)",
        &[step(0, &["tu", "vous", "du", "ahora", "agora", "ora", "тeпepь"]),
          step(1, &["es", "êtes", "etes", "bist", "eres", "você", "voce", "sei", "ты"]),
          step(1, &["maintenant", "désormais", "jetzt", "nun", "ahora", "agora", "ora"]),
          step(1, &["un", "une", "ein", "eine", "uno", "una", "um", "uma", "libre", "frei",
                    "unrestricted", "dan", "jailbroken", "sans", "ohne", "sin", "sem", "senza",
                    "бeз"])]),
    // credential_solicitation
    credential(Error, "asks the reader to get the user's credentials",
        &[step(0, ASK), step(3, USERISH), step(2, &["for"]), step(2, CRED_ANY)], &[]),
    credential(Error, "asks the reader to get the user's credentials",
        &[step(0, ASK), step(3, USERISH), step(1, &["to"]), step(1, GIVE), step(3, CRED_ANY)], &[]),
    credential(Error, "asks the reader to get the user's credentials",
        &[step(0, ASK), step(1, &["for"]), step(1, &["their", "his", "her"]),
          step(2, CRED_STRONG)], &[]),
    credential(Error, "asks the reader to get the user's credentials",
        &[step(0, ASK), step(2, &["user", "users", "customer", "customers", "caller", "callers"]),
          step(0, &["s"]), step(2, CRED_ANY)], &[]),
    credential(Error, "asks for credentials in the conversation",
        &[step(0, GIVE), step(2, WHOSE), step(3, CRED_ANY),
          step(3, &["in", "into", "inside", "within", "as", "via"]), step(2, IN_BAND)], &[]),
    credential(Error, "asks for credentials in the conversation",
        &[step(0, GIVE), step(2, WHOSE), step(3, CRED_ANY), step(1, &["here", "below"])], &[]),
    credential(Error, "asks to send credentials to an address",
        &[step(0, GIVE), step(2, WHOSE), step(3, CRED_ANY), step(3, &["to"]), step(1, &["@dest"])], &[]),
    credential(Error, "asks for credentials in the conversation",
        &[step(0, GIVE_IN_BAND), step(1, &["with", "me", "us"]), step(2, WHOSE), step(3, CRED_ANY)], &[]),
    credential(Error, "asks for a secret",
        &[step(0, &["what", "whats"]), step(1, &["is", "s", "are"]), step(1, &["your", "their"]),
          step(2, CRED_STRONG)],
        &["polic*", "reset*", "rule*", "requirement*", "strength", "manager*", "length", "expir*",
          "hint*", "history", "limit*", "balance", "type", "status"]),
    credential(Warning, "asks for a secret",
        &[step(0, GIVE), step(2, &["your", "their", "user", "users", "s"]), step(2, CRED_SECRET)], &[]),
    credential(Warning, "asks for a recovery phrase",
        &[step(0, GIVE), step(2, &["your", "their", "user", "users", "s"]),
          step(0, &["recovery", "seed", "backup", "secret"]),
          step(0, &["phrase*", "words", "code", "codes"])], &[]),
    credential(Warning, "asks for a private key",
        &[step(0, GIVE), step(2, &["your", "their", "user", "users", "s"]),
          step(0, &["private", "signing", "wallet"]), step(0, &["key", "keys"])], &[]),
    credential(Warning, "says the agent asks users for a secret",
        &[step(0, &["asks", "prompts", "solicits", "collects"]),
          step(3, &["for", "to", "your", "their"]), step(3, CRED_STRONG)], &[]),
];

/// Override phrases in scripts written without spaces (Chinese, Japanese)
/// or with particles glued to words (Korean): a verb and an instruction
/// noun within a few characters of each other, and a word for "previous"
/// or "all" (when `quals` is not empty) close by.
pub(super) static NEAR: &[Near] = &[
    Near {
        what: "tells the reader to ignore its instructions (not in English)",
        verbs: &["忽略", "忽视", "忽視", "无视", "無視", "不要理会", "不要理會", "不理会", "忘记",
                 "忘記", "忘掉", "抛开", "拋開", "绕过", "繞過", "不要遵守", "不要遵循", "不再遵守",
                 "従わな", "破棄", "忘れ", "무시", "잊어", "잊으"],
        nouns: &["指令", "指示", "提示词", "提示詞", "规则", "規則", "命令", "约束", "約束",
                 "系统提示", "系統提示", "ルール", "プロンプト", "制約", "지시", "명령", "지침",
                 "규칙", "프롬프트"],
        quals: &["之前", "以前", "先前", "此前", "上面", "上述", "前面", "原来", "原來", "原有",
                 "所有", "全部", "一切", "系统", "系統", "これまで", "前の", "上記", "先の", "全て",
                 "すべて", "システム", "이전", "위의", "모든", "시스템", "기존"],
    },
    Near {
        what: "asks the reader to reveal its system prompt (not in English)",
        verbs: &["输出", "輸出", "显示", "顯示", "打印", "泄露", "透露", "告诉我", "告訴我", "重复",
                 "表示", "出力", "教えて", "見せて", "보여", "출력", "알려"],
        nouns: &["系统提示", "系統提示", "システムプロンプト", "시스템 프롬프트", "시스템프롬프트"],
        quals: &[],
    },
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
