//! Comparison keys: two spellings that a reader cannot tell apart should
//! reduce to the same key.

use unicode_security::confusable_detection::skeleton;

/// Passes of [`pass`] before the key is taken as settled. One or two are
/// enough for every input seen so far; the bound only keeps a pathological
/// string from looping.
const MAX_PASSES: usize = 4;

/// The key under which a name is compared with, and indexed against, other
/// names: the UTS #39 skeleton, case-folded, with Warden's few extra folds
/// and without separators.
///
/// One pass is: skeleton (so `I`→`l` and `0`→`O` are seen while the case
/// still tells them apart), lowercase, skeleton again (lowercasing can yield
/// a letter that has a prototype, `M`→`m`→`rn`), then `extra_fold` and
/// separator removal. Passes repeat until the key stops changing, so a key
/// is its own key and the registry can store it.
///
/// Stable for a given `unicode-security` table version; a registry that
/// stores keys should recompute them when that dependency moves.
pub fn skeleton_key(s: &str) -> String {
    let mut key = pass(s);
    for _ in 1..MAX_PASSES {
        let next = pass(&key);
        if next == key {
            break;
        }
        key = next;
    }
    key
}

/// Lowercase and separator-free, but no confusable mapping: two values with
/// the same plain key differ only in ways nobody would call a disguise
/// (`Get_Weather` and `get-weather`).
pub(super) fn plain_key(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !is_separator(*c))
        .collect()
}

fn pass(s: &str) -> String {
    let lowered = skeleton(s).collect::<String>().to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    for c in skeleton(&lowered) {
        if is_separator(c) {
            continue;
        }
        match extra_fold(c) {
            Some(seq) => out.push_str(seq),
            None => out.push(c),
        }
    }
    out
}

/// Whitespace and ASCII punctuation read as word breaks, so `a-b`, `a_b`,
/// `a.b` and `a b` collide. Unicode dashes and dots reach here already mapped
/// to their ASCII prototypes by the skeleton; characters that look like
/// letters (`|`) have become letters before this check runs.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_ascii_punctuation()
}

/// Swaps that UTS #39 leaves alone but that read the same in the sans-serif
/// fonts agent pickers and logs use. Each maps towards the longer spelling,
/// as UTS #39 itself does for `m`→`rn`, so the output holds no character
/// this table would change again.
///
/// Deliberately absent: `i`→`l` (the dot tells them apart, and folding it
/// turns `mail`/`mall` into a refusal rather than a flag) and leetspeak such
/// as `3`→`e` (a reader sees a digit).
fn extra_fold(c: char) -> Option<&'static str> {
    match c {
        // `PAYMENT5` next to `PAYMENTS`.
        '5' => Some("s"),
        // `vv` reads as `w`.
        'w' => Some("vv"),
        // `cl` reads as `d` at small sizes.
        'd' => Some("cl"),
        _ => None,
    }
}
