use serde_json::json;

use super::*;

fn ext() -> Vec<String> {
    vec![SKILL_EXTENSION.to_string()]
}

#[test]
fn extension_names_the_skill() {
    let md = json!("pay");
    let e = ext();
    let got = determine(SkillInputs {
        metadata: Some(&md),
        extensions: &e,
        ..Default::default()
    });
    assert_eq!(got, Ok(Some(("pay".into(), SkillSource::Extension))));
}

#[test]
fn extension_must_be_listed_and_a_string() {
    let md = json!("pay");
    let got = determine(SkillInputs {
        metadata: Some(&md),
        ..Default::default()
    });
    assert_eq!(got, Err(SkillError::NotListed));
    let e = ext();
    for bad in [json!(1), json!(""), json!({"id": "pay"}), json!(null)] {
        let got = determine(SkillInputs {
            metadata: Some(&bad),
            extensions: &e,
            ..Default::default()
        });
        assert_eq!(got, Err(SkillError::NotAString), "{bad}");
    }
    let got = determine(SkillInputs {
        extensions: &e,
        ..Default::default()
    });
    assert_eq!(got, Err(SkillError::Missing));
}

#[test]
fn route_and_extension_must_agree() {
    let md = json!("pay");
    let e = ext();
    let both = |route| {
        determine(SkillInputs {
            metadata: Some(&md),
            extensions: &e,
            route: Some(route),
            card_skills: None,
        })
    };
    assert_eq!(
        both("pay"),
        Ok(Some(("pay".into(), SkillSource::Extension)))
    );
    assert!(matches!(both("refund"), Err(SkillError::Conflict { .. })));
    let got = determine(SkillInputs {
        route: Some("refund"),
        ..Default::default()
    });
    assert_eq!(got, Ok(Some(("refund".into(), SkillSource::Route))));
}

#[test]
fn a_single_skill_is_implied_and_named_skills_are_not_checked_against_the_card() {
    let one = vec!["echo".to_string()];
    let two = vec!["echo".to_string(), "shout".to_string()];
    let got = determine(SkillInputs {
        card_skills: Some(&one),
        ..Default::default()
    });
    assert_eq!(got, Ok(Some(("echo".into(), SkillSource::OnlySkill))));
    let got = determine(SkillInputs {
        card_skills: Some(&two),
        ..Default::default()
    });
    assert_eq!(got, Ok(None));
    let got = determine(SkillInputs {
        route: Some("whisper"),
        card_skills: Some(&two),
        ..Default::default()
    });
    assert_eq!(got, Ok(Some(("whisper".into(), SkillSource::Route))));
}
