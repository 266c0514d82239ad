//! Interfaces, URLs, security schemes, sizes, report shape.

mod common;

use common::base_card;
use serde_json::{Value, json};
use warden_card::lint::FindingCode::{
    InsecureInterface, InsecureUrl, MalformedCard, NoSecurityScheme, OversizeField,
    UnknownSecurityScheme, UnsafeUrl,
};
use warden_card::lint::{FindingCode, LintLimits, Report, Severity, lint};

fn run(card: &Value) -> Report {
    lint(card, &LintLimits::default())
}

fn severity(report: &Report, code: FindingCode, path: &str) -> Option<Severity> {
    report
        .findings
        .iter()
        .find(|f| f.code == code && f.path == path)
        .map(|f| f.severity)
}

fn without(mut card: Value, keys: &[&str]) -> Value {
    if let Some(obj) = card.as_object_mut() {
        for key in keys {
            obj.remove(*key);
        }
    }
    card
}

#[test]
fn plain_http_interfaces_are_flagged_localhost_included() {
    for url in [
        "http://agent.example.com/a2a",
        "http://localhost:8080/a2a",
        "ws://127.0.0.1/a2a",
    ] {
        let mut card = base_card();
        card["supportedInterfaces"][0]["url"] = url.into();
        let report = run(&card);
        assert_eq!(
            severity(&report, InsecureInterface, "/supportedInterfaces/0/url"),
            Some(Severity::Warning),
            "{url}"
        );
    }
}

#[test]
fn grpc_host_port_is_not_a_scheme() {
    let mut card = base_card();
    card["supportedInterfaces"][0] = json!({"url": "agent.example.com:443", "protocolBinding": "GRPC", "protocolVersion": "1.0"});
    assert_eq!(run(&card).worst(), None);
}

#[test]
fn v03_interfaces_and_security() {
    let card = json!({
        "name": "Legacy", "description": "Old card.", "version": "0.1",
        "url": "http://legacy.example.com/a2a",
        "additionalInterfaces": [{"url": "http://legacy.example.com/rest", "transport": "HTTP+JSON"}],
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
        "security": [{"key": []}, {"oauth": ["read"]}],
        "capabilities": {}, "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"], "skills": []
    });
    let report = run(&card);
    assert_eq!(
        severity(&report, InsecureInterface, "/url"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(&report, InsecureInterface, "/additionalInterfaces/0/url"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(&report, UnknownSecurityScheme, "/security/1/oauth"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(&report, NoSecurityScheme, "/securitySchemes"),
        None
    );
}

#[test]
fn security_schemes() {
    let none = without(base_card(), &["securitySchemes", "securityRequirements"]);
    assert_eq!(
        severity(&run(&none), NoSecurityScheme, "/securitySchemes"),
        Some(Severity::Warning)
    );

    let unused = without(base_card(), &["securityRequirements"]);
    assert_eq!(
        severity(&run(&unused), NoSecurityScheme, "/securityRequirements"),
        Some(Severity::Info)
    );

    let mut skill_only = unused.clone();
    skill_only["skills"][0]["securityRequirements"] =
        json!([{"schemes": {"bearer": {"list": []}}}]);
    assert_eq!(run(&skill_only).worst(), None);

    let mut unknown = base_card();
    unknown["skills"][0]["securityRequirements"] = json!([{"schemes": {"mtls": {"list": []}}}]);
    let report = run(&unknown);
    assert_eq!(
        severity(
            &report,
            UnknownSecurityScheme,
            "/skills/0/securityRequirements/0/schemes/mtls"
        ),
        Some(Severity::Warning)
    );
}

#[test]
fn url_fields() {
    let mut card = base_card();
    card["documentationUrl"] = "javascript:alert(1)".into();
    card["iconUrl"] = "data:image/png;base64,iVBORw0KGgo=".into();
    card["provider"]["url"] = "https://weather.example.com@evil.example/".into();
    card["securitySchemes"]["oauth"] = json!({"oauth2SecurityScheme": {"flows": {"clientCredentials": {
        "tokenUrl": "http://auth.example.com/token", "scopes": {"read": "Read forecasts"}}}}});
    card["skills"][0]["description"] = "See http://example.com".into();
    let report = run(&card);
    assert_eq!(
        severity(&report, UnsafeUrl, "/documentationUrl"),
        Some(Severity::Error)
    );
    assert_eq!(severity(&report, UnsafeUrl, "/iconUrl"), None);
    assert_eq!(
        severity(&report, UnsafeUrl, "/provider/url"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(
            &report,
            InsecureUrl,
            "/securitySchemes/oauth/oauth2SecurityScheme/flows/clientCredentials/tokenUrl"
        ),
        Some(Severity::Warning)
    );
    let mut docs = base_card();
    docs["documentationUrl"] = "http://weather.example.com/docs".into();
    assert_eq!(
        severity(&run(&docs), InsecureUrl, "/documentationUrl"),
        Some(Severity::Info)
    );
}

#[test]
fn sizes() {
    let limits = LintLimits::default();
    let mut card = base_card();
    card["name"] = "N".repeat(limits.max_name_chars + 1).into();
    card["description"] = "é".repeat(limits.max_text_chars).into();
    card["skills"][0]["tags"] = json!(vec!["t"; limits.max_list_items + 1]);
    let report = run(&card);
    assert_eq!(
        severity(&report, OversizeField, "/name"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(&report, OversizeField, "/description"),
        None,
        "limit is in characters, not bytes"
    );
    assert_eq!(
        severity(&report, OversizeField, "/skills/0/tags"),
        Some(Severity::Warning)
    );

    let small = LintLimits {
        max_card_bytes: 200,
        max_skills: 0,
        ..LintLimits::default()
    };
    let report = lint(&base_card(), &small);
    assert_eq!(severity(&report, OversizeField, ""), Some(Severity::Error));
    assert_eq!(
        severity(&report, OversizeField, "/skills"),
        Some(Severity::Warning)
    );
}

#[test]
fn deep_nesting_is_cut_not_recursed() {
    let mut deep = json!("leaf");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let mut card = base_card();
    card["capabilities"]["extensions"] =
        json!([{"uri": "https://x.example.com/ext", "params": {"p": deep}}]);
    let report = run(&card);
    assert!(
        report.has(OversizeField, Severity::Warning),
        "{:?}",
        report.findings
    );
}

#[test]
fn non_object_card() {
    for value in [json!(null), json!("card"), json!([1, 2]), json!(7)] {
        assert_eq!(run(&value).worst(), Some(Severity::Error));
        assert!(run(&value).has(MalformedCard, Severity::Error));
    }
}

#[test]
fn report_serialises_with_stable_names() {
    let mut card = base_card();
    card["supportedInterfaces"][0]["url"] = "http://agent.example.com".into();
    let json = serde_json::to_value(run(&card)).expect("report serialises");
    assert_eq!(json["findings"][0]["code"], "insecure_interface");
    assert_eq!(json["findings"][0]["severity"], "warning");
    assert_eq!(json["findings"][0]["path"], "/supportedInterfaces/0/url");
    for code in FindingCode::ALL {
        assert_eq!(
            serde_json::to_value(code).expect("code serialises"),
            code.as_str()
        );
        assert_eq!(code.as_str().parse::<FindingCode>(), Ok(*code));
    }
    assert!("nope".parse::<FindingCode>().is_err());
}

#[test]
fn pointers_escape_keys() {
    let mut card = base_card();
    card["x/y~z"] = "see https://evil.example".into();
    let report = run(&card);
    assert!(
        report.findings.iter().any(|f| f.path == "/x~1y~0z"),
        "{:?}",
        report.findings
    );
}

/// Hostile shapes that would be quadratic in a naive scanner (256 KB of each
/// would take minutes). Linear scans take well under a second in release; the
/// bound is loose for debug builds on busy machines.
#[test]
fn adversarial_sizes_stay_linear() {
    let units = [
        "<a",
        "](",
        "[x](",
        "ignore ",
        "send conversation ",
        "a\u{200D}\u{FE0F}",
        "é\u{200D}",
        "<|x",
    ];
    for unit in units {
        let mut card = base_card();
        card["description"] = unit.repeat(256_000 / unit.len()).into();
        let start = std::time::Instant::now();
        let report = run(&card);
        let sanitised = warden_card::sanitise::sanitise(&card);
        let took = start.elapsed();
        eprintln!("{unit:?}: {took:?}");
        assert!(report.has(OversizeField, Severity::Warning));
        assert!(sanitised["description"].is_string());
        assert!(took.as_secs() < 10, "{unit:?} took {took:?}");
    }
}
