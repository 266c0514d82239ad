//! Lint for Agent Cards: text aimed at the model that reads the card, hidden
//! Unicode, links, and structural weaknesses (threat T7 in
//! `design/THREATS.md`).
//!
//! [`lint`] takes a parsed card (v1.0, v0.3, or the merged shape some servers
//! serve) and returns a [`Report`]. It never fails and never panics: a card
//! that is not even an object yields a `malformed_card` finding. Messages
//! quote at most a short excerpt of the card, escaped (anything outside
//! printable ASCII becomes `\u{…}`), so a report is safe to print or log.
//!
//! # Which strings are read how
//!
//! Every string and every object key is checked for hidden and control
//! characters, look-alike words and instruction-like text. Strings are also
//! classed by where they sit:
//!
//! - **url**: keys `url`, `uri`, `*Url`, `*Uri` (scheme, user-info and
//!   destination checks, on the value read as a browser reads it: see
//!   "URLs" below);
//! - **identifier**: `id`, `version`, `protocolBinding`, `protocolVersion`,
//!   `tenant`, `preferredTransport`/`transport`, media-type lists, scheme
//!   `type`/`scheme`/`bearerFormat`/`location`/`in` and (under
//!   `securitySchemes`) `name`; everything under `signatures` and under
//!   `securityRequirements`/`security` at the top level or on a skill;
//! - **text**: everything else. Subtrees under unknown top-level keys and
//!   under extension `params` are arbitrary JSON, so every string there is
//!   text whatever its key (a key named `id` must not keep prose out of the
//!   sanitiser's fence). Only text is checked for links, e-mail addresses and
//!   markup; object keys are read as identifiers.
//!
//! Hidden characters or look-alike letters in a url, identifier or key are
//! errors: there they change what the card *names*, not just how it reads.
//!
//! # URLs
//!
//! A URL field, a link in text (`scheme://…`, `www.…`, a bare host, a
//! bracketed IPv6 URL) and a link target in markup (markdown `[…](…)`,
//! reference definitions `[x]: …`, every HTML attribute value after its
//! character references are decoded) are read as a browser's URL parser
//! reads them (WHATWG): leading and trailing C0 controls and spaces
//! stripped, tab/LF/CR removed anywhere, scheme case-insensitive. So
//! `java\tscript:` is `javascript:`. The host is then parsed by the WHATWG
//! parser in `url`, which folds decimal, octal, hex and short IPv4
//! spellings, percent-encoding, fullwidth digits, ideographic full stops
//! and IDNA into one form, and is classed against a copy of the egress deny
//! table (`lint/address.rs`): cloud metadata, loopback, private, link-local,
//! CGNAT, ULA, multicast, reserved, IPv4-embedding IPv6 forms, local-only
//! names, wildcard-DNS names (`127.0.0.1.nip.io`). A host written in any
//! spelling other than the one the parser prints is a disguise. `xn--`
//! labels are decoded and judged for mixed scripts and UTS #39 skeletons.
//! Nothing is resolved: this is reading, not egress.
//!
//! # Normalised view
//!
//! Phrase heuristics run on a view of each string with hidden and control
//! characters removed (so `ig\u{200B}nore` reads `ignore`), NFKC applied
//! (fullwidth and mathematical letters become ASCII), lower-cased, Cyrillic/
//! Greek/Armenian/Cherokee look-alikes folded to Latin, digits inside words
//! read as letters (`1gn0re`), runs of three or more single letters joined
//! (`i g n o r e`), and URLs, e-mail addresses and host names replaced by one
//! destination token. The override and reveal phrases are also searched in the
//! text with every non-letter removed, which defeats any spacing trick. ASCII
//! smuggled in Unicode tag characters is decoded and read the same way.
//! Phrase tables hold words as the text reads after folding (Russian words
//! are written with their Latin look-alikes, which look the same; a unit test
//! checks it). Chinese, Japanese and Korean override phrases are matched on
//! the folded text by proximity: an override verb and an instruction noun
//! within about twelve characters, with a *previous*/*all*/*system* word
//! around them.
//!
//! # Heuristics
//!
//! | code | triggers | severity | known false-positive risks |
//! |---|---|---|---|
//! | `instruction_override` | imperative *ignore/disregard/forget/override/bypass* + earlier/system/all… + *instructions/prompt/rules*; *forget everything above*; *you are now a/in/…*; *reveal/print/replace the system prompt*; chat-template markers (`<\|im_start\|>`, `[INST]`, `<<SYS>>`, `<system>`, a line starting `system:`) | error | security tools that quote attack phrases; prompt-engineering tools ("override the system prompt") |
//! | | without the stock words: *from now on you will/must only/always/never/answer…*; *your new/real/actual task/goal/role… is to*; *whatever/no matter what the user says/asks* + an imperative (*always, never, reply, refuse…*); *not/never follow/obey/heed the user/human/operator* (not before *-supplied, input, links…*); *previous/prior/system instructions/directions… no longer apply* or *are void/obsolete/superseded…*; *treat this as your highest/top… priority/instruction*; *this note/message overrides all/previous… instructions*; *… takes precedence over your system prompt* | error | a changelog saying "the previous guidelines are obsolete" |
//! | | the override phrase in French, German, Spanish, Portuguese, Italian, Russian (verb + *all/previous* + noun, or verb + noun + *previous*, as the language orders them; *ne tenez pas compte des instructions précédentes*), Chinese, Japanese, Korean (proximity, see above); *reveal the system prompt* in those languages; *tu es maintenant / du bist jetzt / ahora eres… un/sin/ohne…* | error | Romance third-person *ignore/ignora* (the same form as the imperative) in a sentence that also names earlier instructions; CJK text with *ignore* near *rules* and *all* |
//! | | announced instructions (*New instructions:*, *here are your new instructions*, *your real instructions are*); addressing an AI reader (*if you are an AI*, *note to the assistant*, *AI reading this*); a line starting `system:`/`assistant:`/`developer:`; *treat this as highest priority* without *your* | warning | a spec-like line "System: Linux" |
//! | | bare mention of a *system prompt* | info | prompt tooling |
//! | `exfiltration` | imperative *send/forward/upload/post/email/leak/…* (base form: "forwards the transcript to your helpdesk" describes the agent) + sensitive data (*conversation, history, context, credentials, tokens, keys, secrets, memory…*) + a destination (URL, e-mail, host name) nearby; or the same verbs + data + a known collection sink (*pastebin, requestbin, ngrok…*) | error | "it can forward transcripts to yourco.zendesk.com" |
//! | | the same with generic data (*files, documents, messages, logs…*) | warning | "uploads files to s3.amazonaws.com" |
//! | `role_play` | *pretend to be*, *role-play as*, *act as if*, *you will act/respond as*, *stay in character*, *without telling the user* | warning | fiction/game agents |
//! | | jailbreak markers: *jailbroken*, *DAN mode*, *do anything now*, *god/unfiltered/evil mode*; *ignore/bypass safety filters* | error | none seen |
//! | | *no/without guardrails, censorship, ethics*; *disable content filters* | warning | search agents with a safe-search switch |
//! | | two or more weak signals in one string: *you must/will always/never*, *from now on*, *do not tell/reveal…*, *developer mode*, *jailbreak* mentioned, *unfiltered*, *system prompt* mentioned (each alone is info) | warning | a description that both says "you must always" and "from now on" |
//! | `link_in_text` | `scheme://…` or `www.…` in text | warning | cards that put their support links in descriptions rather than `documentationUrl` |
//! | | a bare host name with a common TLD (`example.com`) | info | product names such as `ASP.NET`, `Booking.com` |
//! | `email_in_text` | `local@domain.tld` in text | warning | support addresses in descriptions |
//! | `markup_injection` | `<script>`, `<iframe>`, `<img>`, `<svg>`, `<style>`, `<form>`… tags, `on…=` handlers, `javascript:`/`vbscript:`/`data:` links (`data:` with any media type, or straight to `,`/`;`), markdown images `![…](…)` (a renderer fetches them: exfiltration by URL); a markdown link target, reference definition or HTML attribute value whose scheme, read as a browser reads it (character references decoded, tab/LF/CR removed), is `javascript:`, `vbscript:`, `file:` or `data:` | error | none seen |
//! | | `<a href>`, form controls, HTML comments (hidden when rendered), markdown links `[…](…)` | warning | markdown in descriptions |
//! | | any other tag-like `<word>` | info | `Option<T>`, "wraps text in `<p>`" |
//! | `hidden_unicode` | tag characters (outside an emoji flag), bidi embeddings/overrides/isolates | error | none seen |
//! | | zero-width space/joiners (joiners are allowed between two non-Latin, non-ASCII characters: emoji sequences, Persian, Indic), word joiner, invisible operators, BOM, soft hyphen, other format characters, private use, Hangul fillers, variation selectors not right after a non-ASCII character or keycap base | warning | text pasted from word processors (soft hyphens) |
//! | | left-to-right/right-to-left/Arabic letter marks | info | Arabic or Hebrew text mixed with Latin |
//! | | any of the above in a url, identifier or key | error | |
//! | `mixed_script` | one word with letters from two of Latin, Greek, Cyrillic, Armenian, Cherokee, where a letter from the minority script looks like a letter of the majority one (`Pаyments` with Cyrillic `а`) | warning (error in url/identifier/key) | Russian text with a Latin brand glued on without a space |
//! | | mixed, but nothing confusable (`μs`, `Δt`) | info | |
//! | `control_chars` | C0 (other than tab, LF, CR), DEL, C1 | warning | |
//! | | ESC (terminal escape sequences) | error | |
//! | | U+2028/U+2029 line/paragraph separators | info | |
//! | `insecure_interface` | an interface (`supportedInterfaces[].url`, v0.3 `url`, `additionalInterfaces[].url`) over `http://` or `ws://`, localhost included | warning | development cards |
//! | `insecure_url` | another URL over `http://` | info (warning under `securitySchemes`: tokens would cross in clear) | |
//! | `unsafe_url` | a URL field whose scheme, read as a browser reads it (`java\tscript:`, ` JaVaScRiPt:`), is `javascript:`, `vbscript:` or `file:`; any `data:` URL, except `data:image/png\|jpeg\|gif\|webp` in the top-level `iconUrl` (never `image/svg+xml`: an SVG runs script) | error | |
//! | | user-info in a URL (`https://trusted@evil`) | warning | |
//! | `internal_address` | a URL field or a link in text that leads to a cloud metadata endpoint (169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200, 192.0.0.192, 168.63.129.16, `metadata.google.internal`…), also embedded in IPv6 or a wildcard-DNS name; an internal address (below) written in a disguised spelling (`2130706433`, `0x7f.1`, `127.1`, `[::ffff:127.0.0.1]`, `localhost.`, `%6cocalhost`, fullwidth); an internal address on the port of an admin service (Docker 2375/2376, etcd, Kubernetes 6443, kubelet 10250/10255, Redis, Memcached, MongoDB, CouchDB, Elasticsearch, Consul, Vault, Nomad, RabbitMQ 15672, Envoy and Caddy admin, kubectl proxy) | error | none seen |
//! | | loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified, multicast, reserved and other special-purpose blocks, local-only names (`localhost`, `*.localhost`, `*.local`, `*.internal`, `*.home.arpa`), wildcard-DNS names for them, in an interface (development cards), another URL field or text | warning | development and intranet cards (by design: a reviewer should see them) |
//! | | documentation blocks (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32): reach nothing | info | |
//! | `lookalike_host` | a host in a URL field whose Unicode form (`xn--` labels decoded) has a label below UTS #39 "moderately restrictive" (Latin with Cyrillic/Greek…) or whose UTS #39 skeleton is ASCII but differs from it (`аррӏе.com`, `ɡoogle.com`) | error (warning for a link in text) | an honest IDN made only of letters that are confusable with ASCII (`ısı.com`) |
//! | `credential_solicitation` | asking the reader to get the user's secrets (*ask/prompt/get the user for their password/API key…*, *have the user type their seed phrase*, *get the user's API key*); asking for a credential in the conversation (*paste/enter/include/send your password/API key/token… here / in the message/chat/reply/task…*, *… to an e-mail address or URL*, *reply with / tell me your PIN*); *what is your password?* (not *…policy/reset…*) | error | |
//! | | asking for a seed phrase, recovery phrase, private key, OTP/2FA code, CVV or SSN without saying where (*provide your SSN*); saying that the agent *asks/prompts/collects… for a password* | warning (error anywhere under `securitySchemes`: a scheme says how credentials travel, never asks for them) | a tax or payments agent that collects an SSN or card number as its job |
//! | | any of the above preceded by *never/not/no* (*never paste your API key into a chat*) is advice and not reported; naming how to authenticate (*API key in the X-API-Key header*, *a token from the token endpoint*) is not asking | | |
//! | `no_security_scheme` | no `securitySchemes` (or empty) | warning | public, read-only agents |
//! | | schemes declared but none required (`securityRequirements`/`security`, top level or per skill) | info | |
//! | `unknown_security_scheme` | a requirement naming a scheme that is not declared | warning | |
//! | `oversize_field` | a string longer than its limit ([`LintLimits`]); an array longer than `max_list_items`; more than `max_skills` skills; nesting deeper than `max_depth` | warning | very long but honest descriptions |
//! | | the serialised card larger than `max_card_bytes` | error | |
//! | `malformed_card` | the card is not a JSON object | error | |
//!
//! Skill `examples` are requests a user makes *to* the agent ("pretend to be
//! an angry customer"), so warning-level `instruction_override` and
//! `role_play` findings there are lowered to info; errors stay errors, and
//! `credential_solicitation` is never lowered.
//!
//! One finding is kept per code and path, at the worst severity seen there.
//! The corpus in `tests/corpus/` (benign and hostile cards) measures recall
//! and the false-positive rate; `tests/corpus.rs` prints both, and
//! `docs/cards.md` quotes them.

mod address;
mod fields;
pub(crate) mod hosts;
mod idn;
mod instructions;
mod links;
mod markup;
mod normal;
mod script;
mod structure;
pub(crate) mod unicode;
pub(crate) mod weburl;

pub(crate) use fields::{Ctx, FieldKind};

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; never a reason to hold a card on its own.
    Info,
    /// Likely a problem; a reviewer should decide.
    Warning,
    /// Hostile or broken; a card with one should not reach a model as is.
    Error,
}

impl Severity {
    /// The stable lower-case name (`info`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! finding_codes {
    ($($variant:ident => $name:literal,)*) => {
        /// What a finding is about. The snake_case names are stable: they
        /// appear in JSON output, logs and policy.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum FindingCode {
            $(#[doc = concat!("`", $name, "`: see the table in the module docs.")] $variant,)*
        }

        impl FindingCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [FindingCode] = &[$(FindingCode::$variant,)*];

            /// The stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingCode::$variant => $name,)*
                }
            }
        }
    };
}

finding_codes! {
    InstructionOverride => "instruction_override",
    Exfiltration => "exfiltration",
    RolePlay => "role_play",
    LinkInText => "link_in_text",
    EmailInText => "email_in_text",
    MarkupInjection => "markup_injection",
    HiddenUnicode => "hidden_unicode",
    MixedScript => "mixed_script",
    ControlChars => "control_chars",
    InsecureInterface => "insecure_interface",
    InsecureUrl => "insecure_url",
    UnsafeUrl => "unsafe_url",
    InternalAddress => "internal_address",
    LookalikeHost => "lookalike_host",
    CredentialSolicitation => "credential_solicitation",
    NoSecurityScheme => "no_security_scheme",
    UnknownSecurityScheme => "unknown_security_scheme",
    OversizeField => "oversize_field",
    MalformedCard => "malformed_card",
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`FindingCode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding code {0:?}")]
pub struct UnknownCode(pub String);

impl FromStr for FindingCode {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

/// One thing the lint noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// JSON Pointer to the string, key or container (`/skills/0/description`;
    /// empty for the whole card). Key segments outside printable ASCII are
    /// shown as `\u{…}` escapes and long keys are cut, so this is for people,
    /// not for resolving.
    pub path: String,
    /// What was found, with at most a short escaped excerpt of the card.
    pub message: String,
}

/// Everything [`lint`] found, in the order first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// The worst severity found; `None` for a clean card.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The findings at `min` or worse.
    pub fn at_least(&self, min: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity >= min)
    }

    /// Whether some finding has this code at `min` or worse.
    pub fn has(&self, code: FindingCode, min: Severity) -> bool {
        self.at_least(min).any(|f| f.code == code)
    }
}

/// Size limits. The defaults fit every real card we have seen with room to
/// spare, and stop a card from flooding a model's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LintLimits {
    /// The whole card, serialised compactly.
    pub max_card_bytes: usize,
    /// `name` fields and object keys, in characters.
    pub max_name_chars: usize,
    /// Other text (descriptions, examples, tags…), in characters.
    pub max_text_chars: usize,
    /// URLs and identifiers, in characters.
    pub max_identifier_chars: usize,
    /// Items in any one array.
    pub max_list_items: usize,
    /// Entries in `skills`.
    pub max_skills: usize,
    /// Nesting of objects and arrays; deeper parts are not read.
    pub max_depth: usize,
}

impl Default for LintLimits {
    fn default() -> Self {
        LintLimits {
            max_card_bytes: 64 * 1024,
            max_name_chars: 128,
            max_text_chars: 4096,
            max_identifier_chars: 2048,
            max_list_items: 256,
            max_skills: 128,
            max_depth: 32,
        }
    }
}

/// Lints a parsed Agent Card. See the module docs for what is checked.
pub fn lint(card: &Value, limits: &LintLimits) -> Report {
    let mut sink = Sink::default();
    if !card.is_object() {
        sink.push(
            FindingCode::MalformedCard,
            Severity::Error,
            String::new(),
            "the card is not a JSON object".into(),
        );
    }
    structure::check(card, limits, &mut sink);
    fields::walk(card, limits.max_depth, &mut |visit| match visit {
        fields::Visit::Str(field) => check_string(&field, limits, &mut sink),
        fields::Visit::Array { path, len } => structure::check_array(&path, len, limits, &mut sink),
        fields::Visit::TooDeep { path } => sink.push(
            FindingCode::OversizeField,
            Severity::Warning,
            path,
            format!(
                "nested deeper than {} levels; not read further",
                limits.max_depth
            ),
        ),
    });
    sink.into_report()
}

/// All checks that read one string (value or key).
fn check_string(field: &fields::Field<'_>, limits: &LintLimits, sink: &mut Sink) {
    let kind = field.kind();
    structure::check_length(field, limits, sink);
    let scan = unicode::scan(field.text);
    unicode::report(&scan, field, sink);
    let norm = normal::Normalised::new(&scan.visible);
    script::check(&norm.visible, field, sink);
    instructions::check(&norm, field, "", sink);
    if !scan.tag_payload.is_empty() {
        let hidden = normal::Normalised::new(&scan.tag_payload);
        instructions::check(&hidden, field, " (in hidden tag characters)", sink);
    }
    match kind {
        FieldKind::Text if !field.is_key => {
            links::check(&norm.visible, field, sink);
            markup::check(&norm.visible, field, sink);
        }
        FieldKind::Url if !field.is_key => structure::check_url(field, sink),
        _ => {}
    }
}

/// Collects findings, keeping one per (code, path) at its worst severity.
#[derive(Default)]
pub(crate) struct Sink {
    findings: Vec<Finding>,
    seen: HashMap<(FindingCode, String), usize>,
}

impl Sink {
    pub(crate) fn push(
        &mut self,
        code: FindingCode,
        severity: Severity,
        path: String,
        message: String,
    ) {
        match self.seen.get(&(code, path.clone())) {
            Some(&i) => {
                let old = &mut self.findings[i];
                if severity > old.severity {
                    old.severity = severity;
                    old.message = message;
                }
            }
            None => {
                self.seen.insert((code, path.clone()), self.findings.len());
                self.findings.push(Finding {
                    code,
                    severity,
                    path,
                    message,
                });
            }
        }
    }

    /// Like [`Sink::push`], but builds the message only if the finding would
    /// be kept: a string full of links or tags costs one message, not
    /// thousands.
    pub(crate) fn push_with(
        &mut self,
        code: FindingCode,
        severity: Severity,
        path: &str,
        message: impl FnOnce() -> String,
    ) {
        let key = (code, path.to_owned());
        if let Some(&i) = self.seen.get(&key)
            && self.findings[i].severity >= severity
        {
            return;
        }
        self.push(code, severity, key.1, message());
    }

    fn into_report(self) -> Report {
        Report {
            findings: self.findings,
        }
    }
}

/// A short, printable excerpt: printable ASCII kept, everything else
/// (including quotes and backslashes) escaped, cut at 48 characters.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 48;
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => out.push_str(&format!("\\u{{{:04X}}}", u32::from(c))),
        }
    }
    out
}
