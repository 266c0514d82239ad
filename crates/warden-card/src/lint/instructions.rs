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

use super::fields::Field;
use super::normal::{Normalised, Token};
use super::{FindingCode, Severity, Sink};

use phrases::{ANNOUNCEMENTS, CHAT_MARKERS, RULES, SQUASHED, Squashed};

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
}

pub(crate) const fn rule(
    code: FindingCode,
    severity: Severity,
    what: &'static str,
    steps: &'static [Step],
) -> Rule {
    Rule {
        code,
        severity,
        what,
        steps,
    }
}

/// Runs every phrase heuristic on one string. `note` is appended to messages
/// (used for text decoded from tag characters).
///
/// Skill `examples` are requests a user makes to the agent ("pretend to be an
/// angry customer", "hey assistant…"), so warnings there drop to info;
/// errors stay errors.
pub(crate) fn check(norm: &Normalised, field: &Field<'_>, note: &str, sink: &mut Sink) {
    let example = field.ctx.is_example() && !field.is_key;
    let mut push = |code, severity, what: &str, shown: &str| {
        let severity = if example && severity == Severity::Warning {
            Severity::Info
        } else {
            severity
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
    for rule in RULES {
        if let Some((start, end)) = find(&norm.tokens, rule.steps) {
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
            Some(prefix) => t.starts_with(prefix),
            None => t == w,
        },
    })
}

/// The first match of `steps` in `tokens`, as (first, last) token index.
fn find(tokens: &[Token], steps: &[Step]) -> Option<(usize, usize)> {
    let (first, rest) = steps.split_first()?;
    (0..tokens.len())
        .filter(|&i| matches(&tokens[i], first.words))
        .find_map(|i| Some((i, follow(tokens, i, rest)?)))
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
