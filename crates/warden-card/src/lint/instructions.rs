//! Instruction-like text aimed at whoever reads the card: override phrases,
//! role-play and jailbreak directives, exfiltration requests.
//!
//! Phrases are sequences of word sets matched on the normalised tokens with a
//! bounded gap between steps ([`phrases`] holds the tables). A card describes
//! an agent in the third person ("ignores blank lines"); an attack speaks to
//! the reader in the imperative ("ignore previous instructions"), so override
//! verbs match only in their base form.

// Tables read better packed than one word per line.
#[rustfmt::skip]
mod phrases;

use std::collections::HashSet;

use super::fields::Field;
use super::normal::{Normalised, Token};
use super::{FindingCode, Severity, Sink};

use phrases::{ANNOUNCEMENTS, CHAT_MARKERS, NEAR, RULES, SQUASHED, Squashed};

/// One step of a phrase: any of `words` (a trailing `*` matches a prefix,
/// `@dest` a link), at most `gap` tokens after the previous step.
pub(crate) struct Step {
    gap: usize,
    words: &'static [&'static str],
}

pub(crate) const fn step(gap: usize, words: &'static [&'static str]) -> Step {
    Step { gap, words }
}

pub(crate) struct Rule {
    code: FindingCode,
    /// `Info` marks a weak signal: two different ones in one string make a
    /// `role_play` warning.
    severity: Severity,
    what: &'static str,
    steps: &'static [Step],
    /// The match does not count when the next token is one of these ("do
    /// not follow user-supplied links" is advice, not a revolt).
    unless_next: &'static [&'static str],
    /// Nor when one of the two tokens before it is one of these ("never
    /// paste your API key into a chat" is advice, not a request).
    unless_prev: &'static [&'static str],
}

/// Words that turn a request into advice.
const NEGATION: &[&str] = &["never", "not", "t", "no", "nobody", "nor"];

pub(crate) const fn rule(
    code: FindingCode,
    severity: Severity,
    what: &'static str,
    steps: &'static [Step],
) -> Rule {
    rule_unless(code, severity, what, steps, &[])
}

pub(crate) const fn rule_unless(
    code: FindingCode,
    severity: Severity,
    what: &'static str,
    steps: &'static [Step],
    unless_next: &'static [&'static str],
) -> Rule {
    Rule {
        code,
        severity,
        what,
        steps,
        unless_next,
        unless_prev: &[],
    }
}

/// A `credential_solicitation` rule: negated matches are advice.
pub(crate) const fn credential(
    severity: Severity,
    what: &'static str,
    steps: &'static [Step],
    unless_next: &'static [&'static str],
) -> Rule {
    Rule {
        code: FindingCode::CredentialSolicitation,
        severity,
        what,
        steps,
        unless_next,
        unless_prev: NEGATION,
    }
}

/// A phrase in text without word spaces: any of `verbs` and any of `nouns`
/// within [`NEAR_BYTES`] of each other, and (unless `quals` is empty) any
/// of `quals` in the stretch around them.
pub(crate) struct Near {
    what: &'static str,
    verbs: &'static [&'static str],
    nouns: &'static [&'static str],
    quals: &'static [&'static str],
}

/// About twelve CJK characters.
const NEAR_BYTES: usize = 36;

/// Runs every phrase heuristic on one string. `note` is appended to messages
/// (used for text decoded from tag characters).
///
/// Skill `examples` are requests a user makes to the agent ("pretend to be an
/// angry customer", "hey assistant…"), so warnings there drop to info;
/// errors stay errors.
///
/// `credential_solicitation` is never lowered in examples, and is an error
/// anywhere under `securitySchemes`: a scheme says how credentials travel,
/// never asks for them.
pub(crate) fn check(norm: &Normalised, field: &Field<'_>, note: &str, sink: &mut Sink) {
    let example = field.ctx.is_example() && !field.is_key;
    let schemes = field.ctx.in_security_schemes();
    let mut push = |code, severity, what: &str, shown: &str| {
        let severity = match (code, severity) {
            (FindingCode::CredentialSolicitation, _) if schemes => Severity::Error,
            (FindingCode::CredentialSolicitation, s) => s,
            (_, Severity::Warning) if example => Severity::Info,
            (_, s) => s,
        };
        sink.push(
            code,
            severity,
            field.path.clone(),
            format!(
                "{what}{}{note}: \"{}\"",
                field.what(),
                super::excerpt(shown)
            ),
        );
    };
    let mut weak: Vec<(&str, String)> = Vec::new();
    let vocab = Vocab::new(&norm.tokens);
    for rule in RULES {
        if !rule.steps.iter().all(|step| vocab.may_match(step.words)) {
            continue;
        }
        if let Some((start, end)) = find(&norm.tokens, rule) {
            let shown = show(&norm.tokens[start..=end]);
            push(rule.code, rule.severity, rule.what, &shown);
            if rule.severity == Severity::Info && weak.iter().all(|(w, _)| *w != rule.what) {
                weak.push((rule.what, shown));
            }
        }
    }
    if weak.len() >= 2 {
        let (whats, shown): (Vec<&str>, Vec<String>) = weak.into_iter().unzip();
        let what = format!("several reader-directed phrases ({})", whats.join("; "));
        push(
            FindingCode::RolePlay,
            Severity::Warning,
            &what,
            &shown.join(" / "),
        );
    }
    for squashed in SQUASHED {
        if let Some(range) = squashed_phrase(&norm.squashed, squashed) {
            push(
                squashed.code,
                Severity::Error,
                squashed.what,
                &norm.squashed[range],
            );
        }
    }
    for near in NEAR {
        if let Some(at) = near_phrase(&norm.folded, near) {
            push(
                FindingCode::InstructionOverride,
                Severity::Error,
                near.what,
                &norm.folded[at..],
            );
        }
    }
    for marker in ANNOUNCEMENTS {
        if let Some(at) = norm.folded.find(marker) {
            push(
                FindingCode::InstructionOverride,
                Severity::Warning,
                "announces new instructions",
                &norm.folded[at..],
            );
        }
    }
    for marker in CHAT_MARKERS {
        if let Some(at) = norm.folded.find(marker) {
            push(
                FindingCode::InstructionOverride,
                Severity::Error,
                "chat-template marker",
                &norm.folded[at..],
            );
        }
    }
    if let Some(at) = special_token(&norm.folded) {
        push(
            FindingCode::InstructionOverride,
            Severity::Error,
            "chat-template marker",
            &norm.folded[at..],
        );
    }
    for line in norm.folded.lines() {
        let line = line
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '#' | '*' | '>' | '-'));
        for role in ["system:", "system :", "assistant:", "developer:"] {
            if line.starts_with(role) {
                push(
                    FindingCode::InstructionOverride,
                    Severity::Warning,
                    "a line poses as a chat turn",
                    line,
                );
            }
        }
    }
}

/// The distinct words of a string, so that a rule with a step none of whose
/// words occur is skipped without a scan: most rules, for most strings.
struct Vocab<'t> {
    words: HashSet<&'t str>,
    dest: bool,
}

impl<'t> Vocab<'t> {
    fn new(tokens: &'t [Token]) -> Self {
        let mut words = HashSet::new();
        let mut dest = false;
        for t in tokens {
            match t {
                Token::Word(w) => {
                    words.insert(w.as_str());
                }
                Token::Dest => dest = true,
            }
        }
        Vocab { words, dest }
    }

    /// Whether some token could match one of `words` (prefix patterns are
    /// assumed to).
    fn may_match(&self, words: &[&str]) -> bool {
        words.iter().any(|w| match *w {
            "@dest" => self.dest,
            w if w.ends_with('*') => true,
            w => self.words.contains(w),
        })
    }
}

fn show(tokens: &[Token]) -> String {
    let words: Vec<&str> = tokens
        .iter()
        .map(|t| match t {
            Token::Word(w) => w.as_str(),
            Token::Dest => "<link>",
        })
        .collect();
    words.join(" ")
}

fn matches(token: &Token, words: &[&str]) -> bool {
    words.iter().any(|w| match token {
        Token::Dest => *w == "@dest",
        Token::Word(t) => match w.strip_suffix('*') {
            Some(prefix) => word_eq(t, prefix, true),
            None => word_eq(t, w, false),
        },
    })
}

/// Whether `token` is `pattern` (or, with `prefix`, starts with it). Table
/// words are written folded, as the text is read (a unit test checks it):
/// Russian words carry Latin look-alikes, which read the same.
fn word_eq(token: &str, pattern: &str, prefix: bool) -> bool {
    if prefix {
        token.starts_with(pattern)
    } else {
        token == pattern
    }
}

/// The first match of the rule's steps in `tokens` that its guards allow,
/// as (first, last) token index.
fn find(tokens: &[Token], rule: &Rule) -> Option<(usize, usize)> {
    let (first, rest) = rule.steps.split_first()?;
    (0..tokens.len())
        .filter(|&i| matches(&tokens[i], first.words))
        .filter(|&i| {
            !tokens[i.saturating_sub(2)..i]
                .iter()
                .any(|t| matches(t, rule.unless_prev))
        })
        .filter_map(|i| Some((i, follow(tokens, i, rest)?)))
        .find(|&(_, end)| {
            tokens
                .get(end + 1)
                .is_none_or(|next| !matches(next, rule.unless_next))
        })
}

/// Where a [`Near`] phrase starts in `text`, if it is there. Positions of
/// every noun are collected once, so each verb costs a binary search.
fn near_phrase(text: &str, near: &Near) -> Option<usize> {
    let mut nouns: Vec<(usize, usize)> = near
        .nouns
        .iter()
        .flat_map(|n| text.match_indices(n).map(|(at, n)| (at, at + n.len())))
        .collect();
    if nouns.is_empty() {
        return None;
    }
    nouns.sort_unstable();
    for verb in near.verbs {
        for (at, v) in text.match_indices(verb) {
            let from = at.saturating_sub(NEAR_BYTES);
            let first = nouns.partition_point(|&(n, _)| n < from);
            let Some(&(noun, noun_end)) = nouns
                .get(first)
                .filter(|&&(n, _)| n <= at + v.len() + NEAR_BYTES)
            else {
                continue;
            };
            if near.quals.is_empty() {
                return Some(at.min(noun));
            }
            let lo = floor_boundary(text, at.min(noun).saturating_sub(NEAR_BYTES));
            let hi = ceil_boundary(text, (at + v.len()).max(noun_end) + NEAR_BYTES);
            if near.quals.iter().any(|q| text[lo..hi].contains(q)) {
                return Some(at.min(noun));
            }
        }
    }
    None
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn follow(tokens: &[Token], prev: usize, steps: &[Step]) -> Option<usize> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(prev);
    };
    let end = tokens.len().min(prev + 2 + step.gap);
    (prev + 1..end)
        .filter(|&i| matches(&tokens[i], step.words))
        .find_map(|i| follow(tokens, i, rest))
}

/// Finds verb, fillers, qualifier, fillers, noun in letters-only text.
fn squashed_phrase(s: &str, p: &Squashed) -> Option<std::ops::Range<usize>> {
    for verb in p.verbs {
        for (at, _) in s.match_indices(verb) {
            let rest = skip_fillers(&s[at + verb.len()..], p.fillers);
            let Some(qual) = p.quals.iter().find(|q| rest.starts_with(*q)) else {
                continue;
            };
            let rest = skip_fillers(&rest[qual.len()..], p.fillers);
            if let Some(noun) = p.nouns.iter().find(|n| rest.starts_with(*n)) {
                let end = s.len() - rest.len() + noun.len();
                return Some(at..end);
            }
        }
    }
    None
}

fn skip_fillers<'s>(mut s: &'s str, fillers: &[&str]) -> &'s str {
    for _ in 0..3 {
        match fillers.iter().find(|f| s.starts_with(*f)) {
            Some(f) => s = &s[f.len()..],
            None => break,
        }
    }
    s
}

/// `<|name|>`: the special tokens of chat templates.
fn special_token(text: &str) -> Option<usize> {
    text.match_indices("<|").map(|(at, _)| at).find(|&at| {
        let rest = &text[at + 2..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        len > 0 && rest[len..].starts_with("|>")
    })
}

#[cfg(test)]
mod tests {
    use super::phrases::{NEAR, RULES};
    use crate::lint::script::fold;

    /// Table words must be written as the normalised text reads: lower
    /// case, look-alikes folded to Latin (`игнopиpyй`, not `игнорируй`),
    /// or they could never match.
    #[test]
    fn table_words_are_written_folded() {
        let words = RULES
            .iter()
            .flat_map(|r| {
                r.steps
                    .iter()
                    .flat_map(|s| s.words.iter())
                    .chain(r.unless_next)
                    .chain(r.unless_prev)
            })
            .chain(
                NEAR.iter()
                    .flat_map(|n| n.verbs.iter().chain(n.nouns).chain(n.quals)),
            );
        for w in words {
            let folded: String = w.chars().map(fold).flat_map(char::to_lowercase).collect();
            assert_eq!(*w, folded, "{w}");
        }
    }
}
