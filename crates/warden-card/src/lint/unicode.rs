//! Hidden and control characters: what a person does not see but a model
//! (or a terminal) reads.
//!
//! Classification is contextual, because some invisible characters are part
//! of honest text: a zero-width joiner inside an emoji sequence or between
//! Persian letters, a variation selector after an emoji, tag characters
//! inside a subdivision flag (🏴 + tags + cancel tag). [`strip`], used by
//! sanitising, removes exactly what [`scan`] reports, repeated until nothing
//! changes, so its output scans clean.

use std::collections::BTreeMap;

use unicode_script::{Script, UnicodeScript};

use super::fields::{Field, FieldKind};
use super::{FindingCode, Severity, Sink};

/// Kinds of hidden character, ordered by how much they matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Hidden {
    /// LRM, RLM, ALM: invisible but reorder nothing on their own.
    DirectionMark,
    ZeroWidth,
    /// Soft hyphen, interlinear annotation, deprecated and other format
    /// characters, noncharacters.
    Format,
    VariationSelector,
    /// Hangul fillers: letters that render as nothing.
    Filler,
    PrivateUse,
    /// Embeddings, overrides, isolates: reorder what a person sees.
    Bidi,
    /// Tag characters: invisible ASCII, a known way to smuggle prompts.
    Tag,
}

impl Hidden {
    fn severity(self) -> Severity {
        match self {
            Hidden::DirectionMark => Severity::Info,
            Hidden::Bidi | Hidden::Tag => Severity::Error,
            _ => Severity::Warning,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Hidden::DirectionMark => "direction mark",
            Hidden::ZeroWidth => "zero-width",
            Hidden::Format => "format",
            Hidden::VariationSelector => "stray variation selector",
            Hidden::Filler => "invisible filler",
            Hidden::PrivateUse => "private-use",
            Hidden::Bidi => "bidi control",
            Hidden::Tag => "tag",
        }
    }
}

/// What [`scan`] found in one string.
pub(crate) struct Scan {
    /// The string with hidden characters removed and control characters
    /// turned into spaces (so they still separate words).
    pub(crate) visible: String,
    /// Count and first code point per kind.
    pub(crate) hidden: BTreeMap<Hidden, (usize, char)>,
    /// ASCII encoded in tag characters (U+E0020–U+E007E), decoded.
    pub(crate) tag_payload: String,
    pub(crate) controls: usize,
    pub(crate) escapes: usize,
    pub(crate) separators: usize,
}

pub(crate) fn scan(s: &str) -> Scan {
    let chars: Vec<char> = s.chars().collect();
    let classes = classify(&chars);
    let mut out = Scan {
        visible: String::with_capacity(s.len()),
        hidden: BTreeMap::new(),
        tag_payload: String::new(),
        controls: 0,
        escapes: 0,
        separators: 0,
    };
    for (&c, class) in chars.iter().zip(classes) {
        if let Some(h) = class {
            out.hidden.entry(h).or_insert((0, c)).0 += 1;
            if h == Hidden::Tag && ('\u{E0020}'..='\u{E007E}').contains(&c) {
                out.tag_payload
                    .push(char::from((u32::from(c) - 0xE0000) as u8));
            }
            continue;
        }
        match c {
            '\u{1B}' => {
                out.escapes += 1;
                out.visible.push(' ');
            }
            '\u{2028}' | '\u{2029}' => {
                out.separators += 1;
                out.visible.push('\n');
            }
            c if is_control(c) => {
                out.controls += 1;
                out.visible.push(' ');
            }
            c => out.visible.push(c),
        }
    }
    out
}

/// Reports a [`Scan`] as `hidden_unicode` and `control_chars` findings.
pub(crate) fn report(scan: &Scan, field: &Field<'_>, sink: &mut Sink) {
    let structural = field.kind() != FieldKind::Text;
    if let Some(worst) = scan.hidden.keys().map(|h| h.severity()).max() {
        let total: usize = scan.hidden.values().map(|(n, _)| n).sum();
        let kinds: Vec<String> = scan
            .hidden
            .iter()
            .map(|(h, (n, c))| format!("{n} {} (U+{:04X})", h.label(), u32::from(*c)))
            .collect();
        let mut message = format!(
            "{total} hidden character(s){}: {}",
            field.what(),
            kinds.join(", ")
        );
        if !scan.tag_payload.is_empty() {
            let payload = super::excerpt(&scan.tag_payload);
            message.push_str(&format!("; tag characters spell \"{payload}\""));
        }
        let severity = if structural { Severity::Error } else { worst };
        sink.push(
            FindingCode::HiddenUnicode,
            severity,
            field.path.clone(),
            message,
        );
    }
    let mut control = |severity, message: String| {
        sink.push(
            FindingCode::ControlChars,
            severity,
            field.path.clone(),
            message,
        );
    };
    if scan.escapes > 0 {
        control(
            Severity::Error,
            format!(
                "{} ESC character(s){}: terminal escape sequences",
                scan.escapes,
                field.what()
            ),
        );
    } else if scan.controls > 0 {
        control(
            Severity::Warning,
            format!("{} control character(s){}", scan.controls, field.what()),
        );
    } else if scan.separators > 0 {
        control(
            Severity::Info,
            format!(
                "{} Unicode line/paragraph separator(s){}",
                scan.separators,
                field.what()
            ),
        );
    }
}

/// `s` without hidden or control characters (U+2028/U+2029 become `\n`;
/// tab, LF and CR stay). Repeated until stable, because removing one
/// character can leave a neighbour out of its legitimate context. Honest text
/// settles in one or two passes; after eight, every context-dependent
/// character (joiners, selectors, tags) goes too, which is always stable.
pub(crate) fn strip(s: &str) -> String {
    let mut current = s.to_owned();
    for _ in 0..8 {
        let next = strip_once(&current);
        if next == current {
            return next;
        }
        current = next;
    }
    let context_free: String = current
        .chars()
        .filter(|&c| !(is_tag(c) || matches!(c, '\u{200C}' | '\u{200D}') || is_selector(c)))
        .collect();
    strip_once(&context_free)
}

fn strip_once(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let classes = classify(&chars);
    let mut out = String::with_capacity(s.len());
    for (&c, class) in chars.iter().zip(classes) {
        match c {
            _ if class.is_some() => {}
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            c if c == '\u{1B}' || is_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn is_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// C0 other than tab/LF/CR, DEL, C1.
fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
}

/// One class per character; `None` for visible (or legitimately invisible).
fn classify(chars: &[char]) -> Vec<Option<Hidden>> {
    let mut out = vec![None; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_tag(c) {
            let end = (i..chars.len())
                .find(|&k| !is_tag(chars[k]))
                .unwrap_or(chars.len());
            if !is_flag(chars, i, end) {
                out[i..end].fill(Some(Hidden::Tag));
            }
            i = end;
            continue;
        }
        out[i] = match c {
            '\u{200C}' | '\u{200D}' => (!joiner_ok(chars, i, &out)).then_some(Hidden::ZeroWidth),
            '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => {
                (!selector_ok(chars, i, &out)).then_some(Hidden::VariationSelector)
            }
            c => fixed_class(c),
        };
        i += 1;
    }
    out
}

/// Classes that do not depend on neighbours.
fn fixed_class(c: char) -> Option<Hidden> {
    Some(match c {
        '\u{200E}' | '\u{200F}' | '\u{061C}' => Hidden::DirectionMark,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => Hidden::Bidi,
        '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' | '\u{034F}' => {
            Hidden::ZeroWidth
        }
        '\u{00AD}'
        | '\u{206A}'..='\u{206F}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{FDD0}'..='\u{FDEF}' => Hidden::Format,
        c if (u32::from(c) & 0xFFFE) == 0xFFFE => Hidden::Format,
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{17B4}' | '\u{17B5}' => {
            Hidden::Filler
        }
        '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}' => {
            Hidden::PrivateUse
        }
        _ => return None,
    })
}

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// A subdivision flag: U+1F3F4, then 2–7 tags from `0-9a-z`, then CANCEL TAG.
fn is_flag(chars: &[char], start: usize, end: usize) -> bool {
    let len = end - start;
    let black_flag = start > 0 && chars[start - 1] == '\u{1F3F4}';
    let body_ok = chars[start..end - 1]
        .iter()
        .all(|&c| matches!(c, '\u{E0030}'..='\u{E0039}' | '\u{E0061}'..='\u{E007A}'));
    black_flag && (3..=8).contains(&len) && chars[end - 1] == '\u{E007F}' && body_ok
}

/// ZWJ/ZWNJ are honest between two visible non-ASCII characters of scripts
/// that use them (emoji, Arabic, Indic…): never next to Latin, Greek,
/// Cyrillic, Armenian or Cherokee letters, where they only split words.
fn joiner_ok(chars: &[char], i: usize, classes: &[Option<Hidden>]) -> bool {
    let (Some(&prev), Some(&next)) = (
        i.checked_sub(1).and_then(|p| chars.get(p)),
        chars.get(i + 1),
    ) else {
        return false;
    };
    let fits = |c: char| {
        !c.is_ascii()
            && !c.is_whitespace()
            && !matches!(c, '\u{200C}' | '\u{200D}')
            && !is_tag(c)
            && fixed_class(c).is_none()
            && !matches!(
                c.script(),
                Script::Latin
                    | Script::Greek
                    | Script::Cyrillic
                    | Script::Armenian
                    | Script::Cherokee
            )
    };
    classes[i - 1].is_none() && fits(prev) && fits(next)
}

/// A variation selector is honest right after a visible non-ASCII character
/// or a keycap base (`0-9#*`); runs of them, or one after a Latin letter,
/// carry data (one byte per selector).
fn selector_ok(chars: &[char], i: usize, classes: &[Option<Hidden>]) -> bool {
    let Some(p) = i.checked_sub(1) else {
        return false;
    };
    let prev = chars[p];
    classes[p].is_none()
        && !is_selector(prev)
        && !prev.is_whitespace()
        && !is_control(prev)
        && (!prev.is_ascii() || matches!(prev, '0'..='9' | '#' | '*'))
}
