//! The normalised view the phrase heuristics read (see the module docs of
//! [`crate::lint`]): obfuscation that a model sees through should not hide
//! text from the lint.

use unicode_normalization::UnicodeNormalization;

use super::links::{chunks, classify};
use super::script;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Word(String),
    /// A URL, e-mail address or host name.
    Dest,
}

pub(crate) struct Normalised {
    /// NFKC of the visible text, case kept (for links and markup).
    pub(crate) visible: String,
    /// `visible` with look-alikes folded to Latin, then lower-cased.
    pub(crate) folded: String,
    pub(crate) tokens: Vec<Token>,
    /// Letters of `folded` only (digits read as letters), for phrases spelt
    /// out with spaces, dots or dashes between letters.
    pub(crate) squashed: String,
}

impl Normalised {
    /// `visible`: the string with hidden and control characters removed.
    pub(crate) fn new(visible: &str) -> Self {
        let visible: String = visible.nfkc().collect();
        let folded: String = visible
            .chars()
            .map(script::fold)
            .flat_map(char::to_lowercase)
            .collect();
        let mut tokens = Vec::new();
        for chunk in chunks(&folded) {
            if classify(chunk).is_some() {
                tokens.push(Token::Dest);
                continue;
            }
            for word in chunk
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                tokens.push(Token::Word(unleet(word)));
            }
        }
        let tokens = join_spelt_out(tokens);
        let squashed = folded
            .chars()
            .filter_map(|c| if c.is_alphabetic() { Some(c) } else { leet(c) })
            .collect();
        Normalised {
            visible,
            folded,
            tokens,
            squashed,
        }
    }
}

/// A digit that stands for a letter in `1gn0re`.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        _ => return None,
    })
}

/// Digits read as letters, in words that also have letters (`pr3v10us`);
/// plain numbers stay numbers.
fn unleet(word: &str) -> String {
    let has_letter = word.chars().any(char::is_alphabetic);
    let has_digit = word.chars().any(|c| c.is_ascii_digit());
    if has_letter && has_digit {
        word.chars().map(|c| leet(c).unwrap_or(c)).collect()
    } else {
        word.to_owned()
    }
}

/// Joins runs of three or more one-letter words: `i g n o r e` → `ignore`.
fn join_spelt_out(tokens: Vec<Token>) -> Vec<Token> {
    let single = |t: &Token| matches!(t, Token::Word(w) if w.chars().count() == 1 && w.chars().all(char::is_alphabetic));
    let mut out = Vec::with_capacity(tokens.len());
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut Vec<Token>| {
        if run.len() >= 3 {
            out.push(Token::Word(run.concat()));
        } else {
            out.extend(run.drain(..).map(Token::Word));
        }
        run.clear();
    };
    for token in tokens {
        if single(&token) {
            if let Token::Word(w) = token {
                run.push(w);
            }
        } else {
            flush(&mut run, &mut out);
            out.push(token);
        }
    }
    flush(&mut run, &mut out);
    out
}
