//! Any text as a policy document: loading must refuse or compile, never
//! crash or overflow the stack; what compiles is evaluated against a fixed
//! request, which must decide (an error denies) without crashing.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use warden_a2a::{Binding, Operation, PartKind};
use warden_policy::{Caller, DecisionContext, PartFact, PolicyRules};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = PolicyRules::from_toml(text) else {
        return;
    };
    let ctx = DecisionContext {
        caller: Caller {
            subject: "alice".into(),
            issuer: "https://warden.local".into(),
            local: true,
            scopes: vec!["echo".into()],
            method: "bearer",
            source: IpAddr::V4(Ipv4Addr::LOCALHOST),
            peer_uris: Vec::new(),
        },
        agent: "echo".into(),
        operation: Operation::SendMessage,
        binding: Binding::JsonRpc,
        skill: Some("echo".into()),
        tenant: None,
        task_id: None,
        referenced_task_ids: Vec::new(),
        context_id: Some("c1".into()),
        parts: vec![PartFact {
            kind: PartKind::Text,
            size: 5,
            media_type: None,
        }],
        extensions: Vec::new(),
        now: 1_700_000_000,
    };
    let _ = rules.explain(&ctx);
});
