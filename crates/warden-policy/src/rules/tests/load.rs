//! What `from_toml` refuses, and why.

use super::*;

#[test]
fn empty_document_allows_everything() {
    let rules = load("");
    assert!(rules.is_empty());
    assert_eq!(rules.default_effect(), Effect::Allow);
    let verdict = rules.evaluate(&request());
    assert!(verdict.is_allowed());
    assert_eq!(verdict.rule, None);
    assert_eq!(PolicyRules::empty().evaluate(&request()), verdict);
}

#[test]
fn syntax_error_names_the_rule_and_position() {
    let error = refuse(
        r#"
[[rule]]
name = "fine"
effect = "deny"
when = 'agent == "x"'

[[rule]]
name = "broken"
effect = "deny"
when = """agent == "x" &&
  (skill == """
"#,
    );
    let PolicyError::Syntax {
        rule, line, column, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(rule, "broken");
    assert_eq!(*line, 2, "{error}");
    assert!(*column > 0, "{error}");
    assert!(error.to_string().contains("\"broken\""), "{error}");
}

#[test]
fn unknown_variable_is_refused() {
    let error = refuse(&deny_when(r#"agnet == "payments""#));
    let PolicyError::UnknownVariable { rule, name, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!((rule.as_str(), name.as_str()), ("r", "agnet"));
    assert!(error.to_string().contains("caller, agent"), "{error}");
}

#[test]
fn comprehension_variables_are_not_unknown() {
    load(&deny_when(r#"parts.exists(p, p.kind == "raw")"#));
    load(&deny_when(r#"caller.scopes.all(s, s != "*")"#));
    load(&deny_when(
        "parts.filter(p, p.size > 10).map(p, p.size).all(s, s < 100)",
    ));
    // ... but only inside the comprehension.
    let error = refuse(&deny_when(r#"parts.exists(p, true) && p.kind == "raw""#));
    assert!(matches!(error, PolicyError::UnknownVariable { ref name, .. } if name == "p"));
    // The crate has no two-variable comprehensions: `i` is not bound.
    let error = refuse(&deny_when("parts.exists(i, p, i > 0)"));
    assert!(matches!(error, PolicyError::UnknownVariable { ref name, .. } if name == "i"));
}

#[test]
fn type_names_are_not_unknown() {
    load(&deny_when(
        "type(skill) == string || type(skill) == null_type",
    ));
}

#[test]
fn unknown_fields_of_caller_and_parts_are_refused() {
    for (expr, field) in [
        (r#"caller.subjet == "x""#, "subjet"),
        (r#"has(caller.sub)"#, "sub"),
        (r#"parts.exists(p, p.knd == "raw")"#, "knd"),
        (r#"parts.all(p, p.mime == "x")"#, "mime"),
        (
            r#"parts.map(p, p.size).exists(s, s > 1) || parts[1].type == "x""#,
            "type",
        ),
        (r#"size(parts) > 0 && parts[0].bytes > 1"#, "bytes"),
    ] {
        let error = refuse(&deny_when(expr));
        assert!(
            matches!(&error, PolicyError::UnknownField { field: f, .. } if f == field),
            "{expr}: {error:?}"
        );
    }
}

#[test]
fn invalid_literal_regex_is_refused() {
    let error = refuse(&deny_when(r#"agent.matches("pay(")"#));
    assert!(
        matches!(error, PolicyError::InvalidRegex { .. }),
        "{error:?}"
    );
    let error = refuse(&deny_when(r#"matches(agent, "[z-a]")"#));
    assert!(
        matches!(error, PolicyError::InvalidRegex { .. }),
        "{error:?}"
    );
    load(&deny_when(r#"agent.matches("^pay(ments)?$")"#));
}

#[test]
fn duplicate_rule_name_is_refused() {
    let text = format!("{}{}", deny_when("true"), deny_when("false"));
    let error = refuse(&text);
    assert!(matches!(error, PolicyError::DuplicateName { ref name } if name == "r"));
}

#[test]
fn rule_names_must_be_id_like() {
    for name in ["", "1st", "has space", "semi;colon", "é", &"a".repeat(65)] {
        let text = format!("[[rule]]\nname = \"{name}\"\neffect = \"deny\"\nwhen = 'true'\n");
        let error = refuse(&text);
        assert!(
            matches!(error, PolicyError::InvalidName { .. }),
            "{name}: {error:?}"
        );
    }
    let text = "[[rule]]\nname = \"Block.raw_files-2\"\neffect = \"deny\"\nwhen = 'true'\n";
    load(text);
}

#[test]
fn unknown_fields_are_refused() {
    for text in [
        "defualt = \"deny\"\n",
        "[[rule]]\nname = \"r\"\neffect = \"deny\"\nwhen = 'true'\nwhenn = 'false'\n",
        "[[rules]]\nname = \"r\"\neffect = \"deny\"\nwhen = 'true'\n",
    ] {
        assert!(matches!(refuse(text), PolicyError::Toml(_)), "{text}");
    }
}

#[test]
fn bad_effect_and_missing_fields_are_refused() {
    for text in [
        "default = \"maybe\"\n",
        "[[rule]]\nname = \"r\"\neffect = \"audit\"\nwhen = 'true'\n",
        "[[rule]]\nname = \"r\"\neffect = \"deny\"\n",
        "[[rule]]\neffect = \"deny\"\nwhen = 'true'\n",
    ] {
        assert!(matches!(refuse(text), PolicyError::Toml(_)), "{text}");
    }
}

#[test]
fn too_many_rules_are_refused() {
    let rule = |i: usize| format!("[[rule]]\nname = \"r{i}\"\neffect = \"deny\"\nwhen = 'false'\n");
    let at_cap: String = (0..MAX_RULES).map(rule).collect();
    assert_eq!(load(&at_cap).len(), MAX_RULES);
    let over: String = (0..=MAX_RULES).map(rule).collect();
    assert!(matches!(refuse(&over), PolicyError::TooManyRules { .. }));
}

#[test]
fn long_expressions_are_refused() {
    let padding = " ".repeat(MAX_EXPRESSION_LEN - "true".len());
    load(&deny_when(&format!("true{padding}")));
    let error = refuse(&deny_when(&format!("true {padding}")));
    assert!(
        matches!(error, PolicyError::ExpressionTooLong { .. }),
        "{error:?}"
    );
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    // Past the parser's nesting limit. Parsing 20 levels alone overflowed a
    // 2 MiB stack in a debug build before loading moved to its own thread.
    let depth = MAX_EXPRESSION_LEN / 2 - 2;
    let expr = format!("{}true{}", "(".repeat(depth), ")".repeat(depth));
    assert!(matches!(
        refuse(&deny_when(&expr)),
        PolicyError::Syntax { .. }
    ));
    // Within the parser's limit, but too deep to evaluate on a small stack.
    let expr = format!("{}1{} == 1", "[".repeat(90), "]".repeat(90));
    assert!(matches!(
        refuse(&deny_when(&expr)),
        PolicyError::TooDeep { .. }
    ));
    let expr = format!("{} == 1", vec!["1"; MAX_EXPRESSION_LEN / 2 - 4].join("+"));
    assert!(matches!(
        refuse(&deny_when(&expr)),
        PolicyError::TooDeep { .. }
    ));
    let expr = format!("{} == 60", vec!["1"; 60].join(" + "));
    assert!(matches!(
        refuse(&deny_when(&expr)),
        PolicyError::TooDeep { .. }
    ));
    let expr = format!("{}1{} == 1", "int(".repeat(40), ")".repeat(40));
    assert!(matches!(
        refuse(&deny_when(&expr)),
        PolicyError::TooDeep { .. }
    ));
}

#[test]
fn expressions_at_the_depth_limit_evaluate_on_a_small_stack() {
    // `1 + 1 + …` is left-deep: one level per `+`, plus `==` and the root.
    let terms = MAX_DEPTH - 1;
    let expr = format!("{} == {terms}", vec!["1"; terms].join(" + "));
    let rules = load(&deny_when(&expr));
    let verdict = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || rules.evaluate(&request()))
        .expect("spawn")
        .join()
        .expect("no overflow");
    assert!(denied_by(&verdict, "r"), "{verdict:?}");
}

#[test]
fn rules_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyRules>();
}
