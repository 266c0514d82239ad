//! Look-alike letters across scripts, and words that mix them.
//!
//! Only the scripts whose letters pass for Latin matter here (Latin, Greek,
//! Cyrillic, Armenian, Cherokee). A Japanese sentence with `GitHub` inside
//! it, or `Tシャツ`, mixes scripts honestly and is not a homoglyph; `Pаy`
//! with a Cyrillic `а` is. A mixed word is reported as confusable when a
//! letter of its minority script looks like a letter of its majority script.
//! Whole words in one foreign script that look Latin (`раура`) are left to
//! [`crate::shadow`], which compares names by UTS #39 skeleton.

use unicode_script::{Script, UnicodeScript};

use super::fields::{Field, FieldKind};
use super::{FindingCode, Severity, Sink};

/// Letters that pass for a Latin letter, with that letter. Kept to clear
/// look-alikes in common fonts; a unit test checks each pair against the
/// UTS #39 confusables data.
#[rustfmt::skip]
const LOOKALIKES: &[(char, char)] = &[
    // Cyrillic
    ('а', 'a'), ('е', 'e'), ('о', 'o'), ('р', 'p'), ('с', 'c'), ('у', 'y'), ('х', 'x'),
    ('ѕ', 's'), ('і', 'i'), ('ј', 'j'), ('һ', 'h'), ('ԁ', 'd'), ('ԛ', 'q'), ('ԝ', 'w'),
    ('ӏ', 'l'), ('А', 'A'), ('В', 'B'), ('Е', 'E'), ('К', 'K'), ('М', 'M'), ('Н', 'H'),
    ('О', 'O'), ('Р', 'P'), ('С', 'C'), ('Т', 'T'), ('Х', 'X'), ('У', 'Y'), ('Ѕ', 'S'),
    ('І', 'I'), ('Ј', 'J'), ('Ԛ', 'Q'), ('Ԝ', 'W'), ('Ү', 'Y'),
    // Greek
    ('α', 'a'), ('ο', 'o'), ('ρ', 'p'), ('ν', 'v'), ('ι', 'i'), ('ϲ', 'c'),
    ('ϳ', 'j'), ('Α', 'A'), ('Β', 'B'), ('Ε', 'E'), ('Ζ', 'Z'), ('Η', 'H'), ('Ι', 'I'),
    ('Κ', 'K'), ('Μ', 'M'), ('Ν', 'N'), ('Ο', 'O'), ('Ρ', 'P'), ('Τ', 'T'), ('Υ', 'Y'),
    ('Χ', 'X'), ('Ϲ', 'C'),
    // Armenian
    ('օ', 'o'), ('ո', 'n'), ('ս', 'u'), ('հ', 'h'), ('ց', 'g'), ('զ', 'q'), ('Ս', 'U'),
    ('Օ', 'O'),
    // Cherokee
    ('Ꭺ', 'A'), ('Ᏼ', 'B'), ('Ꮯ', 'C'), ('Ꭼ', 'E'), ('Ꮋ', 'H'), ('Ꭻ', 'J'), ('Ꮶ', 'K'),
    ('Ꮇ', 'M'), ('Ꮲ', 'P'), ('Ꮪ', 'S'), ('Ꮩ', 'V'), ('Ꮃ', 'W'), ('Ꮓ', 'Z'),
];

/// The Latin letter `c` passes for, or `c` itself.
pub(crate) fn fold(c: char) -> char {
    twin(c).unwrap_or(c)
}

fn twin(c: char) -> Option<char> {
    if c.is_ascii() {
        return c.is_ascii_alphabetic().then_some(c);
    }
    LOOKALIKES.iter().find(|(k, _)| *k == c).map(|&(_, l)| l)
}

/// The script of a letter, if it is one of those that pass for Latin.
fn group(c: char) -> Option<Script> {
    match c.script() {
        s @ (Script::Latin
        | Script::Greek
        | Script::Cyrillic
        | Script::Armenian
        | Script::Cherokee) => Some(s),
        _ => None,
    }
}

/// Whether some letter of `script` looks like Latin `latin`.
fn script_has(script: Script, latin: char) -> bool {
    script == Script::Latin
        || LOOKALIKES
            .iter()
            .any(|&(k, l)| l == latin && k.script() == script)
}

pub(crate) struct MixedWord {
    pub(crate) word: String,
    pub(crate) majority: Script,
    /// A minority letter that passes for a majority one.
    pub(crate) disguised: Option<(char, Script)>,
    pub(crate) other: Script,
}

/// Words (letter runs) of `text` that mix scripts; `text` should be NFKC
/// with hidden characters removed, so they cannot split a word.
pub(crate) fn mixed_words(text: &str) -> Vec<MixedWord> {
    let mut out = Vec::new();
    let words = text.split(|c: char| !(c.is_alphanumeric() || c.script() == Script::Inherited));
    for word in words.filter(|w| !w.is_empty()) {
        let letters: Vec<(char, Script)> =
            word.chars().filter_map(|c| Some((c, group(c)?))).collect();
        let mut counts: Vec<(Script, usize)> = Vec::new();
        for &(_, s) in &letters {
            match counts.iter_mut().find(|(k, _)| *k == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s, 1)),
            }
        }
        if counts.len() < 2 {
            continue;
        }
        // Ties go to Latin: a disguise usually dresses a Latin word.
        let majority = counts
            .iter()
            .max_by_key(|(s, n)| (*n, *s == Script::Latin))
            .map_or(Script::Latin, |(s, _)| *s);
        let disguised = letters
            .iter()
            .find(|&&(c, s)| s != majority && twin(c).is_some_and(|l| script_has(majority, l)))
            .copied();
        let other = counts
            .iter()
            .map(|(s, _)| *s)
            .find(|s| *s != majority)
            .unwrap_or(majority);
        out.push(MixedWord {
            word: word.to_owned(),
            majority,
            disguised,
            other,
        });
    }
    out
}

/// Reports `mixed_script` for one string.
pub(crate) fn check(visible: &str, field: &Field<'_>, sink: &mut Sink) {
    let structural = field.kind() != FieldKind::Text;
    for mixed in mixed_words(visible) {
        let word = super::excerpt(&mixed.word);
        let (severity, message) = match mixed.disguised {
            Some((c, script)) => (
                if structural {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                format!(
                    "word{} mixes {:?} and {:?} letters; {:?} U+{:04X} looks like a {:?} letter: \"{word}\"",
                    field.what(),
                    mixed.majority,
                    script,
                    script,
                    u32::from(c),
                    mixed.majority,
                ),
            ),
            None => (
                Severity::Info,
                format!(
                    "word{} mixes {:?} and {:?} letters: \"{word}\"",
                    field.what(),
                    mixed.majority,
                    mixed.other
                ),
            ),
        };
        sink.push(
            FindingCode::MixedScript,
            severity,
            field.path.clone(),
            message,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair must share a UTS #39 skeleton: the table is data, not taste.
    #[test]
    fn every_lookalike_is_confusable_per_uts39() {
        let skeleton = |c: char| -> String { unicode_security::skeleton(&c.to_string()).collect() };
        let wrong: Vec<String> = LOOKALIKES
            .iter()
            .filter(|&&(k, l)| {
                skeleton(k) != skeleton(l) || group(k).is_none_or(|s| s == Script::Latin)
            })
            .map(|&(k, l)| format!("{k} U+{:04X} -> {l}", u32::from(k)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:?}");
    }
}
