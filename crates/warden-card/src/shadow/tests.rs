use super::distance::{bounded_osa, near_limit};
use super::*;
use proptest::prelude::*;

fn named(agent: &str) -> Identity<'_> {
    Identity {
        agent,
        card_name: agent,
        ..Identity::default()
    }
}

fn verdict_of(a: &str, b: &str) -> Option<Verdict> {
    let found = find_lookalikes(&named(a), &[named(b)], &ShadowPolicy::default());
    found.iter().map(|l| l.verdict).max()
}

fn kind_of(a: &str, b: &str) -> Option<Kind> {
    find_lookalikes(&named(a), &[named(b)], &ShadowPolicy::default())
        .first()
        .map(|l| l.kind)
}

fn osa(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    bounded_osa(&a, &b, max)
}

/// The textbook full-table OSA distance, as a reference for the banded one.
fn full_osa(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[test]
fn digit_zero_for_letter_o_is_refused() {
    assert_eq!(
        skeleton_key("0fficial-payments"),
        skeleton_key("official-payments")
    );
    let found = find_lookalikes(
        &named("0fficial-payments"),
        &[named("official-payments")],
        &ShadowPolicy::default(),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, Kind::SameSkeleton);
    assert_eq!(found[0].verdict, Verdict::Refuse);
    assert_eq!(found[0].other_agent, "official-payments");
}

#[test]
fn homoglyphs_collapse_to_one_key() {
    let paypal = skeleton_key("paypal");
    // Cyrillic о (U+043E) and а (U+0430).
    assert_eq!(skeleton_key("p\u{430}yp\u{430}l"), paypal);
    assert_eq!(skeleton_key("payp\u{43e}l"), skeleton_key("paypol"));
    // Fullwidth Latin.
    assert_eq!(
        skeleton_key("\u{ff50}\u{ff41}\u{ff59}\u{ff50}\u{ff41}\u{ff4c}"),
        paypal
    );
    // Zero-width joiner and soft hyphen are invisible.
    assert_eq!(skeleton_key("pay\u{200d}pal"), paypal);
    assert_eq!(skeleton_key("pay\u{ad}pal"), paypal);
    assert_eq!(skeleton_key("rnicrosoft"), skeleton_key("microsoft"));
    assert_eq!(skeleton_key("PAYPAI"), paypal, "capital I reads as l");
    assert_eq!(skeleton_key("paypa1"), paypal);
    assert_eq!(skeleton_key("vvidget"), skeleton_key("widget"));
    assert_eq!(skeleton_key("payment5"), skeleton_key("payments"));
    assert_eq!(skeleton_key("Pay Pal"), paypal);
    assert_eq!(skeleton_key("pay_pal.v2"), skeleton_key("paypal-v2"));
}

#[test]
fn disguises_of_another_agents_name_are_refused() {
    for disguise in [
        "p\u{430}ypal",
        "rnicrosoft",
        "\u{ff50}\u{ff41}\u{ff59}\u{ff50}\u{ff41}\u{ff4c}",
        "pay\u{200d}pal",
    ] {
        let original = if disguise == "rnicrosoft" {
            "microsoft"
        } else {
            "paypal"
        };
        assert_eq!(
            kind_of(disguise, original),
            Some(Kind::SameSkeleton),
            "{disguise:?}"
        );
        assert_eq!(
            verdict_of(disguise, original),
            Some(Verdict::Refuse),
            "{disguise:?}"
        );
    }
}

#[test]
fn case_and_separator_variants_are_identical() {
    assert_eq!(
        kind_of("Official_Payments", "official-payments"),
        Some(Kind::Identical)
    );
    assert_eq!(
        verdict_of("Official_Payments", "official-payments"),
        Some(Verdict::Refuse)
    );
}

#[test]
fn near_names_are_flagged() {
    assert_eq!(
        kind_of("officail-payments", "official-payments"),
        Some(Kind::EditDistance(1))
    );
    assert_eq!(
        verdict_of("officail-payments", "official-payments"),
        Some(Verdict::Flag)
    );
    assert_eq!(verdict_of("billing-eu", "billing-es"), Some(Verdict::Flag));
    assert_eq!(verdict_of("orders-v1", "orders-v2"), Some(Verdict::Flag));
    // Two letters of a short suffix differ: two edits, under the bound.
    assert_eq!(verdict_of("billing-eu", "billing-us"), None);
    assert_eq!(
        verdict_of("official-payment", "official-payments"),
        Some(Verdict::Flag)
    );
}

#[test]
fn different_names_are_not_reported() {
    assert_eq!(verdict_of("weather", "calendar"), None);
    assert_eq!(verdict_of("official-payments", "official-invoices"), None);
    // Short names only collide on the skeleton.
    assert_eq!(verdict_of("mail", "mall"), None);
    assert_eq!(verdict_of("search", "research"), None);
}

#[test]
fn an_agent_is_never_compared_with_itself() {
    let me = Identity {
        agent: "official-payments",
        card_name: "Official Payments",
        title: Some("Pays invoices."),
        skill_ids: vec!["pay", "refund"],
        skill_names: vec!["Pay"],
    };
    assert!(find_lookalikes(&me, std::slice::from_ref(&me), &ShadowPolicy::default()).is_empty());
}

#[test]
fn a_card_name_can_shadow_another_agents_registry_name() {
    let shadow = Identity {
        agent: "helper-7",
        card_name: "0fficial Payments",
        ..Identity::default()
    };
    let found = find_lookalikes(
        &shadow,
        &[named("official-payments")],
        &ShadowPolicy::default(),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].field, found[0].other_field),
        (Field::CardName, Field::AgentName)
    );
    assert_eq!(found[0].verdict, Verdict::Refuse);
}

#[test]
fn shared_skill_ids_pass_and_confusable_ones_are_flagged() {
    let a = Identity {
        skill_ids: vec!["echo", "search", "get-weather"],
        ..named("weather")
    };
    let b = Identity {
        skill_ids: vec!["echo", "search", "get_weather"],
        ..named("calendar")
    };
    assert!(find_lookalikes(&a, &[b], &ShadowPolicy::default()).is_empty());

    let c = Identity {
        skill_ids: vec!["transfer-funds"],
        ..named("bank")
    };
    let d = Identity {
        skill_ids: vec!["transfer-fund\u{455}"],
        ..named("helper")
    };
    let found = find_lookalikes(&d, &[c], &ShadowPolicy::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].field, found[0].kind),
        (Field::SkillId, Kind::SameSkeleton)
    );
    assert_eq!(found[0].verdict, Verdict::Flag);
}

#[test]
fn titles_are_compared_with_titles() {
    let a = Identity {
        title: Some("Official payments for ACME Corp."),
        ..named("acme-pay")
    };
    let b = Identity {
        title: Some("0fficial payments for ACME Corp."),
        ..named("helper")
    };
    let found = find_lookalikes(&b, &[a], &ShadowPolicy::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].field, found[0].kind),
        (Field::Title, Kind::SameSkeleton)
    );
}

#[test]
fn policy_can_allow_or_tighten() {
    let mut policy = ShadowPolicy::default();
    policy.names.near = None;
    policy.skills.identical = Some(Verdict::Flag);
    assert!(find_lookalikes(&named("billing-eu"), &[named("billing-es")], &policy).is_empty());
    let a = Identity {
        skill_ids: vec!["echo"],
        ..named("weather")
    };
    let b = Identity {
        skill_ids: vec!["echo"],
        ..named("calendar")
    };
    assert_eq!(find_lookalikes(&a, &[b], &policy).len(), 1);
}

#[test]
fn policy_and_findings_round_trip_as_json() {
    let json = r#"{"names":{"identical":"refuse","confusable":"refuse","near":null}}"#;
    let policy: ShadowPolicy = serde_json::from_str(json).expect("policy JSON is valid");
    assert_eq!(policy.names.near, None);
    assert_eq!(policy.skills, ShadowPolicy::default().skills);
    assert!(
        serde_json::from_str::<ShadowPolicy>(r#"{"nmaes":{}}"#).is_err(),
        "unknown keys are refused"
    );

    let found = find_lookalikes(
        &named("billing-eu"),
        &[named("billing-es")],
        &ShadowPolicy::default(),
    );
    let text = serde_json::to_string(&found).expect("findings serialise");
    assert!(text.contains(r#""kind":{"edit_distance":1}"#), "{text}");
    assert!(text.contains(r#""verdict":"flag""#), "{text}");
}

#[test]
fn title_is_the_first_sentence_of_the_first_line() {
    assert_eq!(
        title_of("\n  Pays invoices. Also refunds.\nMore."),
        Some("Pays invoices.")
    );
    assert_eq!(title_of("Pays invoices"), Some("Pays invoices"));
    assert_eq!(title_of(" \n\t"), None);
    let long = "é".repeat(200);
    assert_eq!(
        title_of(&long).map(|t| t.chars().count()),
        Some(TITLE_MAX_CHARS)
    );
}

/// Names come from callers: a huge one must cost time linear in its length.
#[test]
fn long_values_stay_cheap() {
    let a = "a".repeat(200_000);
    let b = format!("{}b", "a".repeat(199_999));
    assert_eq!(kind_of(&a, &b), Some(Kind::EditDistance(1)));
}

#[test]
fn near_limits_follow_the_documented_table() {
    assert_eq!(
        (near_limit(4), near_limit(5), near_limit(12), near_limit(13)),
        (0, 1, 1, 2)
    );
}

#[test]
fn bounded_osa_counts_edits() {
    assert_eq!(osa("official", "official", 1), Some(0));
    assert_eq!(
        osa("official", "officail", 1),
        Some(1),
        "transposition is one edit"
    );
    assert_eq!(osa("official", "oficial", 1), Some(1));
    assert_eq!(osa("official", "offcial", 1), Some(1));
    assert_eq!(osa("kitten", "sitting", 3), Some(3));
    assert_eq!(osa("kitten", "sitting", 2), None);
    assert_eq!(osa("", "ab", 2), Some(2));
    assert_eq!(
        osa("ca", "abc", 3),
        Some(3),
        "OSA, not unrestricted Damerau"
    );
}

/// Realistic, distinct agent names an operator might register side by side.
const BENIGN: &[&str] = &[
    "weather",
    "weather-alerts",
    "billing",
    "billing-eu",
    "billing-us",
    "calendar",
    "translator",
    "payments-eu",
    "payments-us",
    "payments-uk",
    "orders-v1",
    "orders-v2",
    "invoices",
    "invoice-reader",
    "summariser",
    "transcriber",
    "reports",
    "expenses",
    "travel-booking",
    "flight-search",
    "hotel-search",
    "email-assistant",
    "document-summariser",
    "code-review",
    "legal-review",
    "customer-support",
    "hr-onboarding",
    "inventory",
    "shipping-tracker",
    "crm-sync",
    "analytics",
    "reporting",
    "scheduler",
    "notifications",
    "image-generator",
    "speech-to-text",
    "text-to-speech",
    "search",
    "research",
    "knowledge-base",
];

/// Pairs of the benign table that are reported: only siblings whose suffix
/// differs by one character (`us`/`uk`, `v1`/`v2`), and only as flags. A
/// change to keys or thresholds that adds to this list is a false-positive
/// regression and should be a deliberate decision.
#[test]
fn benign_names_stay_within_the_false_positive_bound() {
    let policy = ShadowPolicy::default();
    let mut flagged = Vec::new();
    for (i, a) in BENIGN.iter().enumerate() {
        for b in &BENIGN[i + 1..] {
            for l in find_lookalikes(&named(a), &[named(b)], &policy) {
                assert_eq!(l.verdict, Verdict::Flag, "benign pair refused: {l:?}");
                flagged.push((*a, *b));
            }
        }
    }
    flagged.dedup();
    let pairs = BENIGN.len() * (BENIGN.len() - 1) / 2;
    println!(
        "benign table: {} of {pairs} pairs flagged: {flagged:?}",
        flagged.len()
    );
    assert_eq!(
        flagged,
        [("payments-us", "payments-uk"), ("orders-v1", "orders-v2")]
    );
}

proptest! {
    #[test]
    fn skeleton_key_is_its_own_key(s in "\\PC{0,40}") {
        let k = skeleton_key(&s);
        prop_assert_eq!(skeleton_key(&k), k);
    }

    #[test]
    fn skeleton_key_is_its_own_key_on_lookalike_alphabets(
        s in "[a-zA-Z0-9Il1|O0rnmvwcd5 ._\\-\u{430}\u{43e}\u{440}\u{435}\u{200d}\u{ff21}-\u{ff3a}]{0,30}",
    ) {
        let k = skeleton_key(&s);
        prop_assert_eq!(skeleton_key(&k), k);
    }

    #[test]
    fn reporting_is_symmetric(
        a in "[a-z0-9O|\u{430}\u{43e}._\\-]{0,16}",
        b in "[a-z0-9O|\u{430}\u{43e}._\\-]{0,16}",
        sa in "[a-z\u{430}_\\-]{0,8}",
        sb in "[a-z\u{430}_\\-]{0,8}",
    ) {
        prop_assume!(a != b);
        let policy = ShadowPolicy::default();
        let x = Identity { skill_ids: vec![sa.as_str()], title: Some(b.as_str()), ..named(&a) };
        let y = Identity { skill_ids: vec![sb.as_str()], title: Some(a.as_str()), ..named(&b) };
        let xy = find_lookalikes(&x, std::slice::from_ref(&y), &policy);
        let yx = find_lookalikes(&y, std::slice::from_ref(&x), &policy);
        prop_assert_eq!(xy.len(), yx.len());
        prop_assert_eq!(
            xy.iter().map(|l| l.verdict).max(),
            yx.iter().map(|l| l.verdict).max()
        );
    }

    #[test]
    fn bounded_osa_agrees_with_the_full_table(a in "[abc]{0,8}", b in "[abc]{0,8}", max in 0usize..4) {
        let full = full_osa(&a, &b);
        prop_assert_eq!(osa(&a, &b, max), Some(full).filter(|d| *d <= max));
        prop_assert_eq!(osa(&b, &a, max), Some(full).filter(|d| *d <= max));
    }
}
