//! The per-call cost of a typical policy. No assertion on time (machines
//! differ); run with `--ignored --nocapture` to see the figure.

use std::time::Instant;

use super::*;

const TYPICAL: &str = r#"
default = "deny"

[[rule]]
name = "no-raw-to-payments"
effect = "deny"
when = 'agent == "payments" && parts.exists(p, p.kind == "raw" && p.size > 1048576)'

[[rule]]
name = "external-callers-need-mtls"
effect = "deny"
when = '!caller.local && size(caller.peer_uris) == 0'

[[rule]]
name = "no-cancel-at-night"
effect = "deny"
when = 'operation == "CancelTask" && now.getHours() < 6'

[[rule]]
name = "tenant-acme-only-refunds"
effect = "deny"
when = 'tenant == "acme" && skill != "refund"'

[[rule]]
name = "scoped-callers"
effect = "allow"
when = 'skill == null || skill in caller.scopes || "*" in caller.scopes'
"#;

#[test]
fn typical_policy_allows_a_typical_call() {
    let verdict = load(TYPICAL).evaluate(&request());
    assert!(verdict.is_allowed(), "{verdict:?}");
    assert_eq!(verdict.rule.as_deref(), Some("scoped-callers"));
}

#[test]
#[ignore = "timing figure, run with --ignored --nocapture"]
fn typical_policy_cost() {
    let rules = load(TYPICAL);
    let ctx = request();
    for _ in 0..1_000 {
        std::hint::black_box(rules.evaluate(&ctx));
    }
    let rounds = 20_000;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(rules.evaluate(std::hint::black_box(&ctx)));
    }
    let per_call = start.elapsed() / rounds;
    println!("typical 5-rule policy: {per_call:?} per evaluation");
}
