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

fn url_report(field: &str, url: &str) -> Report {
    let mut card = base_card();
    match field {
        "documentationUrl" | "iconUrl" => card[field] = url.into(),
        "provider" => card["provider"]["url"] = url.into(),
        "interface" => card["supportedInterfaces"][0]["url"] = url.into(),
        "tokenUrl" => {
            card["securitySchemes"]["oauth"] = json!({"oauth2SecurityScheme": {"flows": {
                "clientCredentials": {"tokenUrl": url, "scopes": {}}}}});
        }
        other => panic!("unknown field {other}"),
    }
    run(&card)
}

fn url_path(field: &str) -> &'static str {
    match field {
        "documentationUrl" => "/documentationUrl",
        "iconUrl" => "/iconUrl",
        "provider" => "/provider/url",
        "interface" => "/supportedInterfaces/0/url",
        "tokenUrl" => {
            "/securitySchemes/oauth/oauth2SecurityScheme/flows/clientCredentials/tokenUrl"
        }
        other => panic!("unknown field {other}"),
    }
}

fn url_severity(field: &str, url: &str, code: FindingCode) -> Option<Severity> {
    severity(&url_report(field, url), code, url_path(field))
}

const URL_FIELDS: &[&str] = &[
    "documentationUrl",
    "iconUrl",
    "provider",
    "interface",
    "tokenUrl",
];

/// Issue 11 gap: a `javascript:` scheme with a tab or newline inside passed.
/// Browsers remove tab/LF/CR anywhere and trim controls and spaces.
#[test]
fn url_schemes_are_read_as_a_browser_reads_them() {
    for url in [
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "java\r\nscript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "\u{1}javascript:alert(1)",
        "\tvb\tscript:msgbox(1)",
        "fi\tle:///etc/passwd",
    ] {
        for field in URL_FIELDS {
            assert_eq!(
                url_severity(field, url, UnsafeUrl),
                Some(Severity::Error),
                "{field}: {url:?}"
            );
        }
    }
}

/// Issue 11 gap: `data:` URLs (an SVG that runs script) passed. Only
/// `iconUrl` may inline a raster image.
#[test]
fn data_urls_are_refused_except_raster_icons() {
    let svg = "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+";
    for field in URL_FIELDS {
        for url in [
            svg,
            "data:image/svg+xml,<svg onload=alert(1)>",
            "data:text/html,<script>alert(1)</script>",
            "data:,hello",
            "DATA:text/html;base64,PHNjcmlwdD4=",
            "da\tta:text/html,x",
        ] {
            assert_eq!(
                url_severity(field, url, UnsafeUrl),
                Some(Severity::Error),
                "{field}: {url}"
            );
        }
    }
    let png = "data:image/png;base64,iVBORw0KGgo=";
    assert_eq!(url_severity("iconUrl", png, UnsafeUrl), None);
    assert_eq!(
        url_severity("iconUrl", "data:image/webp;base64,UklGR", UnsafeUrl),
        None
    );
    for field in ["documentationUrl", "provider", "interface", "tokenUrl"] {
        assert_eq!(
            url_severity(field, png, UnsafeUrl),
            Some(Severity::Error),
            "{field}"
        );
    }
}

/// Issue 11 gap: no rule for URLs on dangerous addresses. Cloud metadata in
/// any spelling a browser accepts is an error in every URL field.
#[test]
fn metadata_addresses_in_every_spelling() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://0251.0376.0251.0376/",
        "http://0xa9fea9fe/",
        "http://0xA9.0xFE.0xA9.0xFE/",
        "http://169.254.43518/",
        "http://169.254.169.254./",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[fd00:ec2::254]/latest/",
        "http://%31%36%39.254.169.254/",
        "http://\u{FF11}\u{FF16}\u{FF19}.254.169.254/",
        "http://169\u{3002}254\u{3002}169\u{3002}254/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/",
        "http://100.100.100.200/latest/meta-data/",
        "http://168.63.129.16/machine",
        "http://169.254.169.254.nip.io/",
        "htt\tp://169.254.169.254/",
    ] {
        for field in URL_FIELDS {
            assert_eq!(
                url_severity(field, url, FindingCode::InternalAddress),
                Some(Severity::Error),
                "{field}: {url}"
            );
        }
    }
}

#[test]
fn internal_addresses_warn_and_disguises_or_admin_ports_are_errors() {
    use FindingCode::InternalAddress;
    // Development cards: a warning.
    for url in [
        "http://localhost:8080/a2a",
        "http://127.0.0.1:9999/",
        "http://[::1]:8080/",
        "http://10.1.2.3/a2a",
        "https://agent.corp.internal/a2a",
        "http://printer.local/",
        "http://nas.home.arpa/",
        "http://100.64.1.1/",
        "localhost:50051",
    ] {
        assert_eq!(
            url_severity("interface", url, InternalAddress),
            Some(Severity::Warning),
            "{url}"
        );
        assert_eq!(
            url_severity("documentationUrl", url, InternalAddress),
            Some(Severity::Warning),
            "{url}"
        );
    }
    // Disguised spellings and admin services: an error.
    for url in [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1:8080/",
        "http://localhost./",
        "http://\u{FF4C}ocalhost/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[0:0:0:0:0:0:0:1]/",
        "http://127.0.0.1:2375/containers/json",
        "http://localhost:6379/",
        "http://10.0.0.5:10250/pods",
        "http://127.0.0.1.nip.io:8500/",
    ] {
        assert_eq!(
            url_severity("interface", url, InternalAddress),
            Some(Severity::Error),
            "{url}"
        );
    }
    // Documentation ranges reach nothing: info. Public hosts: nothing.
    assert_eq!(
        url_severity("interface", "https://192.0.2.10/a2a", InternalAddress),
        Some(Severity::Info)
    );
    for url in [
        "https://agent.example.com/a2a",
        "https://8.8.8.8/",
        "https://[2606:4700::1111]/",
        "https://localhost.example.com/",
        "agent.example.com:443",
    ] {
        assert_eq!(
            url_severity("interface", url, InternalAddress),
            None,
            "{url}"
        );
    }
}

/// Issue 11 gap: punycode look-alike hosts passed.
#[test]
fn lookalike_hosts_in_url_fields() {
    use FindingCode::LookalikeHost;
    for url in [
        "https://xn--pple-43d.com/docs",   // аpple.com, Cyrillic а
        "https://xn--80ak6aa92e.com/",     // аррӏе.com, all Cyrillic
        "https://\u{430}pple.com/",        // raw Unicode
        "https://xn--ggle-0nda.com/",      // gοοgle, Greek ο
        "https://docs.xn--oogle-qmc.com/", // ɡoogle, Latin script ɡ
    ] {
        for field in URL_FIELDS {
            assert_eq!(
                url_severity(field, url, LookalikeHost),
                Some(Severity::Error),
                "{field}: {url}"
            );
        }
    }
    for url in [
        "https://xn--mnchen-3ya.de/",
        "https://m\u{FC}nchen.de/",
        "https://xn--wgv71a.jp/",
        "https://\u{65E5}\u{672C}.jp/agent",
        "https://xn--e1afmkfd.xn--p1ai/",
        "https://agent.example.com/",
    ] {
        assert_eq!(url_severity("interface", url, LookalikeHost), None, "{url}");
    }
}
