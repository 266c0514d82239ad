//! Shadowing: an agent that registers under a name, title or skill that a
//! reader would take for another agent's (threat T5).
//!
//! Identity in Warden comes from the verified subject, never from names; this
//! module protects the people and models that still *choose* agents by name.
//! On registration and on every card change the registry calls
//! [`find_lookalikes`] with the candidate and every other registered agent.
//!
//! Two values are compared on their [`skeleton_key`] (UTS #39 skeleton,
//! case-folded, a few extra folds, separators removed) and classed as:
//!
//! | [`Kind`] | meaning | example |
//! |---|---|---|
//! | `Identical` | equal ignoring case and separators | `Get_Weather` / `get-weather` |
//! | `SameSkeleton` | same key, but not identical: a disguise | `0fficial-payments` / `official-payments` |
//! | `EditDistance(n)` | keys `n` edits apart, within the length bound | `officail-payments` / `official-payments` |
//!
//! Edit-distance bounds, on the shorter value's length without separators:
//! under 5 chars none, 5–12 one edit, 13 and over two.
//!
//! Which values meet which: agent and card names with each other (an agent
//! can shadow another's registry name through its card name), titles with
//! titles, skill ids with skill ids, skill names with skill names.
//!
//! Default verdicts ([`ShadowPolicy::default`]):
//!
//! | | identical | same skeleton | near |
//! |---|---|---|---|
//! | names | refuse | refuse | flag |
//! | titles | flag | flag | flag |
//! | skills | — | flag | — |
//!
//! Skills are namespaced by their agent: shared ids (`echo`, `search`) and
//! near ones (`summarise`/`summarize`) are everyday vocabulary, while a
//! homoglyph in a skill id has no innocent reason. Near names are only
//! flagged, not refused, because siblings one character apart exist by
//! design (`payments-us`/`payments-uk`, `orders-v1`/`orders-v2`); an operator
//! sees the flag once, at registration. (`billing-eu`/`billing-us` differ in
//! two letters, two edits, and pass.)

mod distance;
mod key;
#[cfg(test)]
mod tests;

pub use key::skeleton_key;

use serde::{Deserialize, Serialize};

/// Titles longer than this are cut before comparing: the title is what a
/// picker shows in one line, not the whole description.
pub const TITLE_MAX_CHARS: usize = 80;

/// What one registered agent shows to the people and models picking it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The registry name; two identities with the same one are the same
    /// agent and are never compared.
    pub agent: &'a str,
    /// The card's `name`.
    pub card_name: &'a str,
    /// The description's first sentence, see [`title_of`].
    pub title: Option<&'a str>,
    pub skill_ids: Vec<&'a str>,
    pub skill_names: Vec<&'a str>,
}

/// Which value of an [`Identity`] a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    AgentName,
    CardName,
    Title,
    SkillId,
    SkillName,
}

/// How alike two values are; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Identical,
    SameSkeleton,
    EditDistance(u8),
}

/// What the registry does about a finding. Ordered, so the strictest of a
/// set of findings is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Register, and show the finding to the operator.
    Flag,
    /// Do not register.
    Refuse,
}

/// One value of the candidate that looks like one value of another agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookalike {
    pub field: Field,
    pub value: String,
    pub other_agent: String,
    pub other_field: Field,
    pub other_value: String,
    pub kind: Kind,
    pub verdict: Verdict,
}

/// The verdict for each [`Kind`] in one class of values; `None` lets the
/// pair through unreported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub identical: Option<Verdict>,
    pub confusable: Option<Verdict>,
    pub near: Option<Verdict>,
}

impl Rules {
    fn verdict(&self, kind: Kind) -> Option<Verdict> {
        match kind {
            Kind::Identical => self.identical,
            Kind::SameSkeleton => self.confusable,
            Kind::EditDistance(_) => self.near,
        }
    }
}

/// Verdicts per class of value; the defaults are in the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShadowPolicy {
    /// Agent (registry) names and card names.
    pub names: Rules,
    pub titles: Rules,
    /// Skill ids and skill names.
    pub skills: Rules,
}

impl Default for ShadowPolicy {
    fn default() -> Self {
        use Verdict::{Flag, Refuse};
        Self {
            names: Rules {
                identical: Some(Refuse),
                confusable: Some(Refuse),
                near: Some(Flag),
            },
            titles: Rules {
                identical: Some(Flag),
                confusable: Some(Flag),
                near: Some(Flag),
            },
            skills: Rules {
                identical: None,
                confusable: Some(Flag),
                near: None,
            },
        }
    }
}

/// Every value of `candidate` that looks like a value of one of `others`,
/// with the verdict `policy` gives it, in the order of `others`. Entries of
/// `others` with the candidate's own registry name are skipped, so passing
/// the whole registry on a card change is fine.
///
/// Whether a pair of agents is reported does not depend on which of the two
/// is the candidate.
pub fn find_lookalikes(
    candidate: &Identity<'_>,
    others: &[Identity<'_>],
    policy: &ShadowPolicy,
) -> Vec<Lookalike> {
    let mine = entries(candidate);
    let mut found = Vec::new();
    for other in others.iter().filter(|o| o.agent != candidate.agent) {
        let theirs = entries(other);
        for m in &mine {
            for t in theirs.iter().filter(|t| t.class == m.class) {
                let Some(kind) = compare(m, t) else { continue };
                let Some(verdict) = policy.rules(m.class).verdict(kind) else {
                    continue;
                };
                found.push(Lookalike {
                    field: m.field,
                    value: m.value.to_owned(),
                    other_agent: other.agent.to_owned(),
                    other_field: t.field,
                    other_value: t.value.to_owned(),
                    kind,
                    verdict,
                });
            }
        }
    }
    found
}

/// The title of a description: its first non-blank line, up to the end of
/// the first sentence, at most [`TITLE_MAX_CHARS`] chars. `None` when blank.
pub fn title_of(description: &str) -> Option<&str> {
    let line = description.lines().map(str::trim).find(|l| !l.is_empty())?;
    let sentence = [". ", "! ", "? "]
        .iter()
        .filter_map(|end| line.find(end).map(|at| at + 1))
        .min()
        .map_or(line, |at| &line[..at]);
    Some(truncate_chars(sentence, TITLE_MAX_CHARS))
}

impl ShadowPolicy {
    fn rules(&self, class: Class) -> &Rules {
        match class {
            Class::Names => &self.names,
            Class::Titles => &self.titles,
            Class::SkillIds | Class::SkillNames => &self.skills,
        }
    }
}

/// Values only meet values of the same class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Names,
    Titles,
    SkillIds,
    SkillNames,
}

/// One value with its keys computed once per call.
struct Entry<'a> {
    class: Class,
    field: Field,
    value: &'a str,
    plain: String,
    skeleton: Vec<char>,
}

fn entries<'a>(id: &Identity<'a>) -> Vec<Entry<'a>> {
    let title = id.title.map(|t| truncate_chars(t, TITLE_MAX_CHARS));
    let values = [
        (Class::Names, Field::AgentName, id.agent),
        (Class::Names, Field::CardName, id.card_name),
    ]
    .into_iter()
    .chain(title.map(|t| (Class::Titles, Field::Title, t)))
    .chain(
        id.skill_ids
            .iter()
            .map(|s| (Class::SkillIds, Field::SkillId, *s)),
    )
    .chain(
        id.skill_names
            .iter()
            .map(|s| (Class::SkillNames, Field::SkillName, *s)),
    );
    let mut out: Vec<Entry<'a>> = Vec::new();
    for (class, field, value) in values {
        let skeleton: Vec<char> = skeleton_key(value).chars().collect();
        // A value with nothing readable in it cannot be mistaken for a name,
        // and would otherwise match every other such value.
        if skeleton.is_empty() {
            continue;
        }
        let plain = key::plain_key(value);
        // A card name that repeats the agent name (or a skill listed twice)
        // would report the same pair several times. Values with equal keys
        // meet every other value with the same `Kind`, so dropping the
        // repeat loses nothing.
        if out
            .iter()
            .any(|e| e.class == class && e.plain == plain && e.skeleton == skeleton)
        {
            continue;
        }
        out.push(Entry {
            class,
            field,
            value,
            plain,
            skeleton,
        });
    }
    out
}

fn compare(a: &Entry<'_>, b: &Entry<'_>) -> Option<Kind> {
    if a.plain == b.plain {
        return Some(Kind::Identical);
    }
    if a.skeleton == b.skeleton {
        return Some(Kind::SameSkeleton);
    }
    // The bound follows the length a reader sees, not the key's: folds such
    // as `m`→`rn` lengthen keys and would loosen it for short names.
    let shorter = a.plain.chars().count().min(b.plain.chars().count());
    let limit = distance::near_limit(shorter);
    distance::bounded_osa(&a.skeleton, &b.skeleton, limit)
        .filter(|d| *d > 0)
        .and_then(|d| u8::try_from(d).ok())
        .map(Kind::EditDistance)
}

fn truncate_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(at, _)| &s[..at])
}
