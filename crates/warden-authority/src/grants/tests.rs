//! Grants and quarantine on an in-memory store.

use warden_policy::OpClass;
use warden_store::Store;

use super::*;
use crate::registry::RegistryError;

async fn store() -> Store {
    Store::open_in_memory().await.expect("store")
}

fn skills(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_string()).collect()
}

#[tokio::test]
async fn grants_are_checked_before_they_are_stored() {
    let s = store().await;
    let bad = [
        NewGrant::simple("planner", "echo", Vec::new()),
        NewGrant::simple("plan ner", "echo", skills(&["echo"])),
        NewGrant::simple("planner", "", skills(&["echo"])),
        NewGrant {
            operations: Vec::new(),
            ..NewGrant::simple("planner", "echo", skills(&["echo"]))
        },
        NewGrant {
            not_before: Some(10),
            not_after: Some(10),
            ..NewGrant::simple("planner", "echo", skills(&["echo"]))
        },
        NewGrant {
            note: Some("line\nbreak".into()),
            ..NewGrant::simple("planner", "echo", skills(&["echo"]))
        },
    ];
    for g in bad {
        let what = format!("{g:?}");
        assert!(
            matches!(add_grant(&s, g).await, Err(RegistryError::Invalid(_))),
            "{what}"
        );
    }
    assert!(
        s.list_grants(None, None, true)
            .await
            .expect("list")
            .is_empty(),
        "nothing stored"
    );
    let g = add_grant(
        &s,
        NewGrant::simple("planner", "echo", skills(&["b", "a", "b"])),
    )
    .await
    .expect("grant");
    assert_eq!(g.skills, ["a", "b"], "sorted and merged");
    assert!(g.id.starts_with("g_"), "{}", g.id);
}

#[tokio::test]
async fn skills_granted_follow_the_grants_in_force() {
    let s = store().await;
    assert_eq!(
        skills_granted(&s, "planner", "echo", 100)
            .await
            .expect("none"),
        None
    );
    add_grant(&s, NewGrant::simple("planner", "echo", skills(&["echo"])))
        .await
        .expect("grant");
    let later = add_grant(
        &s,
        NewGrant {
            not_before: Some(200),
            ..NewGrant::simple("planner", "echo", skills(&["upper"]))
        },
    )
    .await
    .expect("grant");
    assert_eq!(grant_state(&later, 100), "pending");
    assert_eq!(grant_state(&later, 200), "active");
    assert_eq!(
        skills_granted(&s, "planner", "echo", 100)
            .await
            .expect("one"),
        Some(skills(&["echo"]))
    );
    assert_eq!(
        skills_granted(&s, "planner", "echo", 200)
            .await
            .expect("both"),
        Some(skills(&["echo", "upper"]))
    );
    assert_eq!(
        summary(&s, "planner", 100)
            .await
            .expect("summary")
            .get("echo"),
        Some(&skills(&["echo"]))
    );
}

#[tokio::test]
async fn ensure_adds_nothing_twice_and_revocations_are_told_apart() {
    let s = store().await;
    let grants: crate::Grants = [("echo".to_string(), skills(&["echo"]))].into();
    ensure_grants(&s, "planner", &grants).await.expect("first");
    ensure_grants(&s, "planner", &grants).await.expect("again");
    let listed = s
        .list_grants(Some("planner"), None, false)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    let id = &listed[0].id;
    revoke_grant(&s, id).await.expect("revoke");
    assert!(matches!(
        revoke_grant(&s, id).await,
        Err(RegistryError::Conflict(_))
    ));
    assert!(matches!(
        revoke_grant(&s, "g_0000000000000000").await,
        Err(RegistryError::NotFound(_))
    ));
    assert_eq!(
        skills_granted(&s, "planner", "echo", 0)
            .await
            .expect("none"),
        None
    );
}

#[tokio::test]
async fn quarantine_needs_a_reason_and_is_released_once() {
    let s = store().await;
    assert!(matches!(
        quarantine(&s, "planner", " ", "test").await,
        Err(RegistryError::Invalid(_))
    ));
    assert!(
        quarantine(&s, "planner", "compromised", "test")
            .await
            .expect("new")
    );
    assert!(
        !quarantine(&s, "planner", "again", "test")
            .await
            .expect("already")
    );
    assert_eq!(quarantined(&s).await.expect("list").len(), 1);
    release(&s, "planner").await.expect("release");
    assert!(matches!(
        release(&s, "planner").await,
        Err(RegistryError::NotFound(_))
    ));
}

#[test]
fn operations_are_named_one_by_one_or_all() {
    assert_eq!(
        parse_operations(&["all".into()]).expect("all"),
        OpClass::ALL.to_vec()
    );
    let names: Vec<String> = OpClass::ALL.iter().map(|o| o.name().to_string()).collect();
    let twice: Vec<String> = names.iter().chain(names.iter()).cloned().collect();
    assert_eq!(
        parse_operations(&twice).expect("merged"),
        OpClass::ALL.to_vec()
    );
    assert!(parse_operations(&[]).expect("empty").is_empty());
    assert!(matches!(
        parse_operations(&["everything".into()]),
        Err(RegistryError::Invalid(_))
    ));
}
