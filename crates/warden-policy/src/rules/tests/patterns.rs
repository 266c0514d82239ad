//! Literal `matches()` patterns are precompiled; the result must be what
//! CEL's own `matches()` gives.

use super::*;

#[test]
fn precompiled_patterns_match_like_cel() {
    let ctx = request();
    for (expr, expected) in [
        (r#"agent.matches("^pay")"#, true),
        (r#"matches(agent, "ments$")"#, true),
        (r#"agent.matches("^PAY")"#, false),
        (r#"agent.matches("(?i)^PAY")"#, true),
        (
            r#"caller.peer_uris.exists(u, u.matches("^spiffe://example\\.org/"))"#,
            true,
        ),
        // The same pattern twice, and a pattern inside a subject.
        (
            r#"agent.matches("^pay") && "payments".matches("^pay")"#,
            true,
        ),
        (r#"string(agent.matches("^pay")).matches("^true$")"#, true),
    ] {
        assert_eq!(holds(expr, &ctx), expected, "{expr}");
        // The same call with a pattern CEL compiles itself (not a literal).
        let dynamic = expr
            .replace("matches(\"", "matches(\"\" + \"")
            .replace(", \"", ", \"\" + \"");
        assert_ne!(dynamic, expr);
        assert_eq!(holds(&dynamic, &ctx), expected, "{dynamic}");
    }
}

#[test]
fn non_string_subject_denies() {
    let verdict = load(&deny_when(r#"matches(parts, "x")"#)).evaluate(&request());
    assert!(
        denied_by(&verdict, "r") && verdict.reason.contains("failed"),
        "{verdict:?}"
    );
    let verdict = load(&deny_when(r#"now_unix.matches("x")"#)).evaluate(&request());
    assert!(
        denied_by(&verdict, "r") && verdict.reason.contains("failed"),
        "{verdict:?}"
    );
}

#[test]
fn invalid_dynamic_pattern_denies_at_evaluation() {
    let mut ctx = request();
    ctx.skill = Some("(".into());
    let verdict = load(&deny_when("agent.matches(skill)")).evaluate(&ctx);
    assert!(
        denied_by(&verdict, "r") && verdict.reason.contains("failed"),
        "{verdict:?}"
    );
}

#[test]
fn literal_patterns_are_rewritten_and_shared() {
    let text = format!(
        "{}[[rule]]\nname = \"s\"\neffect = \"deny\"\nwhen = 'matches(agent, \"^pay\")'\n",
        deny_when(r#"agent.matches("^pay") || agent.matches("x" + "y")"#)
    );
    let rules = load(&text);
    let calls: Vec<String> = rules
        .rules
        .iter()
        .map(|rule| format!("{:?}", rule.expr))
        .collect();
    // One compiled pattern, used by both rules; the non-literal one is CEL's.
    assert!(
        calls.iter().all(|c| c.contains("\"matches#0\"")),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.contains("matches#1")), "{calls:?}");
    assert!(calls[0].contains("\"matches\""), "{}", calls[0]);
}
