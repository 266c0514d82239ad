//! The order of evaluation: deny beats allow, errors deny, the default.

use super::*;
use crate::rules::RuleOutcome;

const MIXED: &str = r#"
default = "deny"

[[rule]]
name = "staff-may-call"
effect = "allow"
when = 'caller.scopes.exists(s, s == "refund")'

[[rule]]
name = "no-raw-to-payments"
effect = "deny"
when = 'agent == "payments" && parts.exists(p, p.kind == "raw")'

[[rule]]
name = "never-matches"
effect = "deny"
when = 'agent == "nobody"'
"#;

#[test]
fn deny_beats_an_earlier_allow() {
    let verdict = load(MIXED).evaluate(&request());
    assert!(denied_by(&verdict, "no-raw-to-payments"), "{verdict:?}");
    assert!(verdict.reason.contains("no-raw-to-payments"));
}

#[test]
fn first_matching_deny_rule_in_file_order_decides() {
    let text = format!(
        "{}[[rule]]\nname = \"second\"\neffect = \"deny\"\nwhen = 'true'\n",
        deny_when("true")
    );
    assert!(denied_by(&load(&text).evaluate(&request()), "r"));
}

#[test]
fn allow_rule_decides_under_default_deny() {
    let mut ctx = request();
    ctx.parts.retain(|p| p.kind != PartKind::Raw);
    let verdict = load(MIXED).evaluate(&ctx);
    assert!(verdict.is_allowed(), "{verdict:?}");
    assert_eq!(verdict.rule.as_deref(), Some("staff-may-call"));
}

#[test]
fn default_deny_needs_an_allow_rule() {
    let mut ctx = request();
    ctx.parts.clear();
    ctx.caller.scopes.clear();
    let verdict = load(MIXED).evaluate(&ctx);
    assert_eq!(verdict.effect, Effect::Deny);
    assert_eq!(verdict.rule, None);
    assert_eq!(verdict.reason, "no allow rule matched");

    let only_deny = format!("default = \"deny\"\n{}", deny_when("false"));
    assert_eq!(load(&only_deny).evaluate(&request()).effect, Effect::Deny);
}

#[test]
fn default_allow_names_a_matching_allow_rule_for_the_audit() {
    let text = "[[rule]]\nname = \"known\"\neffect = \"allow\"\nwhen = 'caller.local'\n";
    let verdict = load(text).evaluate(&request());
    assert!(verdict.is_allowed());
    assert_eq!(verdict.rule.as_deref(), Some("known"));

    let mut ctx = request();
    ctx.caller.local = false;
    let verdict = load(text).evaluate(&ctx);
    assert!(verdict.is_allowed());
    assert_eq!(verdict.rule, None);
    assert_eq!(verdict.reason, "no deny rule matched");
}

#[test]
fn evaluation_error_denies_and_names_the_rule() {
    let mut ctx = request();
    ctx.skill = Some("abc".into());
    for expr in [
        "int(skill) > 1",
        "size(tenant) > 3",
        r#"caller.scopes[5] == "x""#,
    ] {
        let verdict = load(&deny_when(expr)).evaluate(&ctx);
        assert!(denied_by(&verdict, "r"), "{expr}: {verdict:?}");
        assert!(
            verdict.reason.starts_with("rule \"r\" failed: "),
            "{}",
            verdict.reason
        );
    }
}

#[test]
fn allow_rules_after_the_first_match_are_not_evaluated() {
    let text = r#"
default = "deny"
[[rule]]
name = "everyone"
effect = "allow"
when = 'true'
[[rule]]
name = "broken"
effect = "allow"
when = 'int(skill) > 1'
"#;
    let verdict = load(text).evaluate(&request());
    assert_eq!(verdict.rule.as_deref(), Some("everyone"));
    assert!(verdict.is_allowed());
}

#[test]
fn erroring_allow_rule_before_a_matching_one_denies() {
    let text = r#"
default = "deny"
[[rule]]
name = "broken"
effect = "allow"
when = 'int(skill) > 1'
[[rule]]
name = "everyone"
effect = "allow"
when = 'true'
"#;
    let verdict = load(text).evaluate(&request());
    assert!(denied_by(&verdict, "broken"), "{verdict:?}");
}

#[test]
fn erroring_deny_rule_beats_a_matching_allow_rule() {
    let text = format!(
        "[[rule]]\nname = \"a\"\neffect = \"allow\"\nwhen = 'true'\n{}",
        deny_when("tenant.startsWith(\"x\")")
    );
    assert!(denied_by(&load(&text).evaluate(&request()), "r"));
}

#[test]
fn non_bool_result_denies() {
    for expr in ["agent", "1", "parts", "skill", "tenant"] {
        let verdict = load(&deny_when(expr)).evaluate(&request());
        assert!(denied_by(&verdict, "r"), "{expr}: {verdict:?}");
        assert!(verdict.reason.contains("not a bool"), "{}", verdict.reason);
        // An allow rule with a non-bool result denies too.
        let allow = deny_when(expr).replace("\"deny\"", "\"allow\"");
        assert!(denied_by(&load(&allow).evaluate(&request()), "r"));
    }
}

#[test]
fn misspelt_function_denies_at_evaluation() {
    let verdict = load(&deny_when(r#"agent.startWith("pay")"#)).evaluate(&request());
    assert!(denied_by(&verdict, "r"), "{verdict:?}");
}

#[test]
fn explain_lists_each_rule_outcome() {
    let explanation = load(MIXED).explain(&request());
    assert_eq!(explanation.verdict, load(MIXED).evaluate(&request()));
    assert_eq!(explanation.default, Effect::Deny);
    let outcomes: Vec<_> = explanation
        .rules
        .iter()
        .map(|r| (r.name.as_str(), &r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("staff-may-call", &RuleOutcome::NotEvaluated),
            ("no-raw-to-payments", &RuleOutcome::Matched),
            ("never-matches", &RuleOutcome::NotEvaluated),
        ]
    );

    let mut ctx = request();
    ctx.parts.clear();
    let explanation = load(MIXED).explain(&ctx);
    let outcomes: Vec<_> = explanation.rules.iter().map(|r| &r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            &RuleOutcome::Matched,
            &RuleOutcome::NotMatched,
            &RuleOutcome::NotMatched
        ]
    );
    assert_eq!(explanation.verdict.rule.as_deref(), Some("staff-may-call"));
}

#[test]
fn explain_reports_the_error_and_serialises() {
    let text = format!(
        "{}[[rule]]\nname = \"later\"\neffect = \"deny\"\nwhen = 'true'\ndescription = \"d\"\n",
        deny_when("int(skill) > 1")
    );
    let explanation = load(&text).explain(&request());
    assert!(matches!(
        explanation.rules[0].outcome,
        RuleOutcome::Errored { .. }
    ));
    assert_eq!(explanation.rules[1].outcome, RuleOutcome::NotEvaluated);
    let json = serde_json::to_value(&explanation).expect("serialises");
    assert_eq!(json["verdict"]["effect"], "deny");
    assert_eq!(json["verdict"]["rule"], "r");
    assert_eq!(json["default"], "allow");
    assert_eq!(json["rules"][0]["outcome"], "errored");
    assert!(json["rules"][0]["error"].is_string());
    assert_eq!(json["rules"][1]["outcome"], "not_evaluated");
    assert_eq!(json["rules"][1]["description"], "d");
    assert!(json["rules"][0].get("description").is_none());
}

#[test]
fn evaluation_errors_quoting_request_values_are_truncated() {
    let mut ctx = request();
    ctx.skill = Some("é".repeat(5_000));
    let verdict = load(&deny_when("skill + 1 == 2")).evaluate(&ctx);
    assert!(denied_by(&verdict, "r"), "{verdict:?}");
    assert!(verdict.reason.len() < 300, "{}", verdict.reason.len());
    assert!(verdict.reason.ends_with('…'), "{}", verdict.reason);
}
