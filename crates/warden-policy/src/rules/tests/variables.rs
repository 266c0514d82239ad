//! Every variable reaches an expression with the documented type and value.

use std::net::Ipv6Addr;

use super::*;

fn all_hold(exprs: &[&str], ctx: &DecisionContext) {
    for expr in exprs {
        assert!(holds(expr, ctx), "should hold: {expr}");
    }
}

#[test]
fn caller() {
    let mut ctx = request();
    all_hold(
        &[
            r#"caller.subject == "alice""#,
            r#"caller.issuer == "https://warden.example""#,
            r#"caller.key == "alice""#,
            "caller.local",
            r#"caller.scopes == ["refund", "lookup"] && "lookup" in caller.scopes"#,
            r#"caller.method == "bearer""#,
            r#"caller.source == "192.0.2.7""#,
            r#"caller.peer_uris.exists(u, u.startsWith("spiffe://example.org/"))"#,
            "size(caller) == 8",
        ],
        &ctx,
    );
    ctx.caller.local = false;
    ctx.caller.source = IpAddr::V6(Ipv6Addr::LOCALHOST);
    ctx.caller.peer_uris.clear();
    all_hold(
        &[
            r#"caller.key == "https://warden.example#alice""#,
            "!caller.local",
            r#"caller.source == "::1""#,
            "caller.peer_uris == []",
        ],
        &ctx,
    );
}

#[test]
fn agent_operation_binding() {
    let mut ctx = request();
    all_hold(
        &[
            r#"agent == "payments""#,
            r#"operation == "SendMessage""#,
            r#"binding == "jsonrpc""#,
        ],
        &ctx,
    );
    ctx.operation = Operation::GetTask;
    ctx.binding = Binding::Rest;
    all_hold(&[r#"operation == "GetTask""#, r#"binding == "rest""#], &ctx);
}

#[test]
fn optional_strings_are_strings_or_null() {
    let mut ctx = request();
    all_hold(
        &[
            r#"skill == "refund" && skill != null"#,
            "tenant == null",
            r#"task_id == "task-1""#,
            "context_id == null",
            "type(skill) == string && type(tenant) == null_type",
        ],
        &ctx,
    );
    ctx.skill = None;
    ctx.tenant = Some("acme".into());
    ctx.task_id = None;
    ctx.context_id = Some("ctx-9".into());
    all_hold(
        &[
            "skill == null",
            r#"skill != "refund""#,
            r#"tenant == "acme""#,
            "task_id == null",
            r#"context_id == "ctx-9""#,
        ],
        &ctx,
    );
    // The documented guard: false, not an error, when there is none.
    assert!(!holds(r#"skill != null && skill.startsWith("re")"#, &ctx));
    assert!(!holds(r#"skill == "refund""#, &ctx));
}

#[test]
fn parts() {
    let mut ctx = request();
    all_hold(
        &[
            "size(parts) == 2",
            r#"parts[0].kind == "text" && parts[0].size == 12 && parts[0].media_type == null"#,
            r#"parts.exists(p, p.kind == "raw" && p.media_type == "application/pdf")"#,
            "parts.map(p, p.size).exists(s, s > 1024)",
            r#"parts.filter(p, p.kind == "raw").size() == 1"#,
        ],
        &ctx,
    );
    ctx.parts = vec![
        PartFact {
            kind: PartKind::Url,
            size: 30,
            media_type: None,
        },
        PartFact {
            kind: PartKind::Data,
            size: 5,
            media_type: Some("application/json".into()),
        },
    ];
    all_hold(
        &[
            r#"parts.map(p, p.kind) == ["url", "data"]"#,
            "parts.all(p, p.size < 100)",
        ],
        &ctx,
    );
    ctx.parts.clear();
    all_hold(
        &["parts == []", r#"!parts.exists(p, p.kind == "raw")"#],
        &ctx,
    );
}

#[test]
fn extensions() {
    let mut ctx = request();
    all_hold(
        &[
            r#""https://example.org/ext/trace/v1" in extensions"#,
            r#"extensions.all(e, e.matches("^https://example\\.org/"))"#,
        ],
        &ctx,
    );
    ctx.extensions.clear();
    all_hold(&["size(extensions) == 0"], &ctx);
}

#[test]
fn now_is_a_timestamp_and_now_unix_an_int() {
    let ctx = request();
    all_hold(
        &[
            r#"now == timestamp("2026-11-22T10:30:00Z")"#,
            "now_unix == 1795343400",
            "int(now) == now_unix",
            "now.getHours() == 10 && now.getDayOfWeek() == 0",
            r#"now.getHours("Europe/Paris") == 11"#,
            r#"now - timestamp("2026-11-22T00:00:00Z") > duration("10h")"#,
        ],
        &ctx,
    );
}

#[test]
fn now_out_of_range_is_null_and_denies() {
    let mut ctx = request();
    ctx.now = u64::MAX;
    let verdict = load(&deny_when("now_unix > 0")).evaluate(&ctx);
    assert!(denied_by(&verdict, "r") && verdict.reason.contains("failed"));
    let verdict = load(&deny_when("now.getHours() > 0")).evaluate(&ctx);
    assert!(denied_by(&verdict, "r") && verdict.reason.contains("failed"));
}
