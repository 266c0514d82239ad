//! Tests of the policy rules: loading, verdicts, variables, cost.

mod cost;
mod load;
mod patterns;
mod variables;
mod verdict;

use std::net::{IpAddr, Ipv4Addr};

use warden_a2a::{Binding, Operation, PartKind};

use super::{
    Effect, MAX_DEPTH, MAX_EXPRESSION_LEN, MAX_RULES, PolicyError, PolicyRules, RuleVerdict,
};
use crate::context::{Caller, DecisionContext, PartFact};

/// 2026-11-22T10:30:00Z, a Sunday.
const NOW: u64 = 1_795_343_400;

/// A message from a local bearer caller to `payments`, skill `refund`, with
/// a text part and a raw PDF.
fn request() -> DecisionContext {
    DecisionContext {
        caller: Caller {
            subject: "alice".into(),
            issuer: "https://warden.example".into(),
            local: true,
            scopes: vec!["refund".into(), "lookup".into()],
            method: "bearer",
            source: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            peer_uris: vec!["spiffe://example.org/alice".into()],
        },
        agent: "payments".into(),
        operation: Operation::SendMessage,
        binding: Binding::JsonRpc,
        skill: Some("refund".into()),
        tenant: None,
        task_id: Some("task-1".into()),
        referenced_task_ids: Vec::new(),
        context_id: None,
        parts: vec![
            PartFact {
                kind: PartKind::Text,
                size: 12,
                media_type: None,
            },
            PartFact {
                kind: PartKind::Raw,
                size: 2048,
                media_type: Some("application/pdf".into()),
            },
        ],
        extensions: vec!["https://example.org/ext/trace/v1".into()],
        now: NOW,
    }
}

fn load(text: &str) -> PolicyRules {
    match PolicyRules::from_toml(text) {
        Ok(rules) => rules,
        Err(error) => panic!("policy should load: {error}\n{text}"),
    }
}

fn refuse(text: &str) -> PolicyError {
    match PolicyRules::from_toml(text) {
        Ok(rules) => panic!("policy should be refused: {rules:?}"),
        Err(error) => error,
    }
}

/// A document with one deny rule named `r`.
fn deny_when(expr: &str) -> String {
    format!("[[rule]]\nname = \"r\"\neffect = \"deny\"\nwhen = '''{expr}'''\n")
}

/// Whether `expr` is true for `ctx`, as a deny rule; panics if it errors.
fn holds(expr: &str, ctx: &DecisionContext) -> bool {
    let verdict = load(&deny_when(expr)).evaluate(ctx);
    assert!(
        !verdict.reason.contains("failed"),
        "{expr}: {}",
        verdict.reason
    );
    verdict.effect == Effect::Deny
}

fn denied_by(verdict: &RuleVerdict, rule: &str) -> bool {
    verdict.effect == Effect::Deny && verdict.rule.as_deref() == Some(rule)
}
