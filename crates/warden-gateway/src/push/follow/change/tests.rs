use serde_json::json;

use super::*;

fn task(state: &str, message: &str, artifacts: Value) -> Value {
    json!({
        "id": "t1", "contextId": "c1",
        "status": {"state": state, "message": {"messageId": message, "role": "ROLE_AGENT", "parts": [{"text": message}]}},
        "artifacts": artifacts,
    })
}

fn kinds(c: &Changes) -> Vec<&str> {
    c.notifications
        .iter()
        .map(|n| {
            ["task", "statusUpdate", "artifactUpdate", "message"]
                .into_iter()
                .find(|k| n.get(*k).is_some())
                .unwrap_or("?")
        })
        .collect()
}

#[test]
fn a_poll_sends_only_what_changed() {
    let mut seen = Seen::default();
    let first = snapshot(&mut seen, &task("TASK_STATE_WORKING", "step 1", json!([])));
    assert_eq!(kinds(&first), ["statusUpdate"]);
    assert!(!first.finished);
    assert_eq!(
        first.notifications[0]["statusUpdate"]["taskId"], "t1",
        "{first:?}"
    );
    assert_eq!(first.notifications[0]["statusUpdate"]["contextId"], "c1");

    let same = snapshot(&mut seen, &task("TASK_STATE_WORKING", "step 1", json!([])));
    assert_eq!(same, Changes::default(), "nothing changed, nothing sent");

    let a1 = json!({"artifactId": "a1", "parts": [{"text": "one"}]});
    let art = snapshot(
        &mut seen,
        &task("TASK_STATE_WORKING", "step 1", json!([a1])),
    );
    assert_eq!(kinds(&art), ["artifactUpdate"]);
    assert_eq!(art.notifications[0]["artifactUpdate"]["artifact"], a1);

    let a2 = json!({"artifactId": "a2", "parts": [{"text": "two"}]});
    let both = snapshot(
        &mut seen,
        &task("TASK_STATE_WORKING", "step 2", json!([a1, a2])),
    );
    assert_eq!(
        kinds(&both),
        ["artifactUpdate", "statusUpdate"],
        "artifacts first"
    );
    assert_eq!(both.notifications[0]["artifactUpdate"]["artifact"], a2);
}

#[test]
fn a_changed_artifact_is_sent_again_and_key_order_is_no_change() {
    let mut seen = Seen::default();
    snapshot(
        &mut seen,
        &task(
            "TASK_STATE_WORKING",
            "m",
            json!([{"artifactId": "a", "parts": [{"text": "x"}]}]),
        ),
    );
    let reordered: Value = serde_json::from_str(
        r#"{"contextId":"c1","id":"t1","artifacts":[{"parts":[{"text":"x"}],"artifactId":"a"}],
            "status":{"message":{"parts":[{"text":"m"}],"role":"ROLE_AGENT","messageId":"m"},"state":"TASK_STATE_WORKING"}}"#,
    )
    .expect("json");
    assert_eq!(snapshot(&mut seen, &reordered), Changes::default());
    let grown = snapshot(
        &mut seen,
        &task(
            "TASK_STATE_WORKING",
            "m",
            json!([{"artifactId": "a", "parts": [{"text": "xy"}]}]),
        ),
    );
    assert_eq!(kinds(&grown), ["artifactUpdate"]);
}

#[test]
fn a_terminal_or_interrupted_task_is_sent_whole_once_and_ends_the_follow() {
    for state in [
        "TASK_STATE_COMPLETED",
        "TASK_STATE_FAILED",
        "TASK_STATE_CANCELED",
        "TASK_STATE_REJECTED",
        "TASK_STATE_INPUT_REQUIRED",
        "TASK_STATE_AUTH_REQUIRED",
    ] {
        let mut seen = Seen::default();
        snapshot(&mut seen, &task("TASK_STATE_WORKING", "m", json!([])));
        let done = task(
            state,
            "m",
            json!([{"artifactId": "a", "parts": [{"text": "r"}]}]),
        );
        let c = snapshot(&mut seen, &done);
        assert_eq!(kinds(&c), ["task"], "{state}: one notification, the task");
        assert_eq!(c.notifications[0]["task"], done);
        assert!(c.finished, "{state}");
        // Seen again (a restart before the follow ended): nothing more.
        let again = snapshot(&mut seen, &done);
        assert!(again.notifications.is_empty() && again.finished, "{state}");
    }
}

#[test]
fn what_was_seen_survives_the_store() {
    let mut seen = Seen::default();
    snapshot(
        &mut seen,
        &task(
            "TASK_STATE_WORKING",
            "m",
            json!([{"artifactId": "a", "parts": []}]),
        ),
    );
    let mut back = Seen::read(Some(&seen.to_text()));
    assert_eq!(back, seen);
    assert_eq!(
        snapshot(
            &mut back,
            &task(
                "TASK_STATE_WORKING",
                "m",
                json!([{"artifactId": "a", "parts": []}])
            )
        ),
        Changes::default()
    );
    assert_eq!(Seen::read(None), Seen::default());
    assert_eq!(Seen::read(Some("not json")), Seen::default());
}

#[test]
fn stream_events_pass_once_and_a_finishing_status_asks_for_the_task() {
    let mut seen = Seen::default();
    let working = json!({"statusUpdate": {"taskId": "t1", "contextId": "c1",
        "status": {"state": "TASK_STATE_WORKING"}}});
    assert_eq!(kinds(&event(&mut seen, &working)), ["statusUpdate"]);
    assert_eq!(
        event(&mut seen, &working),
        Changes::default(),
        "a repeat is left out"
    );
    let art = json!({"artifactUpdate": {"taskId": "t1", "contextId": "c1",
        "artifact": {"artifactId": "a", "parts": [{"text": "x"}]}}});
    assert_eq!(
        event(&mut seen, &art).notifications,
        std::slice::from_ref(&art)
    );
    assert!(event(&mut seen, &art).notifications.is_empty());
    let chunk = json!({"artifactUpdate": {"taskId": "t1", "contextId": "c1", "append": true,
        "artifact": {"artifactId": "a", "parts": [{"text": "x"}]}}});
    assert_eq!(
        event(&mut seen, &chunk).notifications,
        std::slice::from_ref(&chunk),
        "a chunk is always news"
    );
    let done = json!({"statusUpdate": {"taskId": "t1", "contextId": "c1",
        "status": {"state": "TASK_STATE_COMPLETED"}}});
    let c = event(&mut seen, &done);
    assert!(c.finished && c.notifications.is_empty());
    // A re-subscription's first event, the task as it is: only the news.
    let mut seen = Seen::default();
    event(&mut seen, &working);
    let snap = json!({"task": {"id": "t1", "contextId": "c1",
        "status": {"state": "TASK_STATE_WORKING"}, "artifacts": []}});
    assert_eq!(event(&mut seen, &snap), Changes::default());
}
