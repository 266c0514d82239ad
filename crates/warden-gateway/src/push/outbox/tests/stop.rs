//! Stopping the worker (a gateway's SIGTERM): deliveries in flight get a
//! grace period to finish and are recorded; those still in flight after it
//! are released, due again at once, so another worker takes them without
//! waiting for the lease.

use std::collections::BTreeMap;
use std::time::Duration;

use warden_store::Store;

use super::receiver::Reply;
use super::{Rig, T0, of_task, until};

/// A lease of two minutes: nothing in these tests waits for one.
const LONG: &str = "delivery_timeout_ms = 60000";

#[tokio::test]
async fn a_stopped_worker_releases_what_is_still_in_flight_after_its_grace() {
    let mut rig = Rig::new(LONG).await;
    rig.receiver.mode(Reply::Hold);
    let mut ids = BTreeMap::new();
    for n in 1..=2 {
        for t in 0..5 {
            let task = format!("t{t}");
            ids.insert((task.clone(), n), rig.enqueue(&task, n).await);
        }
    }
    until("five held", || async { rig.receiver.count() == 5 }).await;
    let stopping = rig
        .worker
        .take()
        .expect("worker")
        .stop_within(Duration::from_millis(100));
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("stopped soon after its grace");

    // The five heads: pending, due now (the clock has not moved), held by
    // no one, no attempt counted; the entries behind them still wait.
    for t in 0..5 {
        let head = rig.entry(&ids[&(format!("t{t}"), 1)]).await;
        assert_eq!(
            (
                head.state.as_str(),
                head.attempts,
                head.lease_owner.as_deref()
            ),
            ("pending", 0, None),
            "{head:?}"
        );
        assert_eq!(head.next_attempt_ms, i64::try_from(T0).expect("ms"));
        assert!(!head.waiting, "{head:?}");
        let next = rig.entry(&ids[&(format!("t{t}"), 2)]).await;
        assert!(next.waiting, "{next:?}");
    }
    assert_eq!(rig.counted("retried") + rig.counted("delivered"), 0);

    // Another gateway's worker takes them at once, the clock unmoved (the
    // lease would hold them two minutes): the five again, with their ids.
    rig.receiver.release();
    rig.receiver.mode(Reply::Ok);
    let other = Store::open_url(&rig.url)
        .await
        .expect("a second store handle");
    rig.worker = Some(rig.start(other.clone()));
    rig.store = other;
    rig.pass().await;
    until("all delivered", || async { rig.counted("delivered") == 10 }).await;
    let got = rig.receiver.got();
    for t in 0..5 {
        let task = format!("t{t}");
        let id = |n: u64| ids[&(task.clone(), n)].clone();
        assert_eq!(
            of_task(&got, &task),
            [(1, id(1)), (1, id(1)), (2, id(2))],
            "{task}: the released one again with its id, then the next"
        );
    }
    rig.worker.take().expect("worker").stop().await;
}

#[tokio::test]
async fn a_stopped_worker_lets_deliveries_finish_within_its_grace() {
    let mut rig = Rig::new(LONG).await;
    rig.receiver.mode(Reply::Hold);
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for t in 0..3 {
            v.push(rig.enqueue(&format!("t{t}"), 1).await);
        }
        v
    };
    until("three held", || async { rig.receiver.count() == 3 }).await;
    let stopping = tokio::spawn(
        rig.worker
            .take()
            .expect("worker")
            .stop_within(Duration::from_secs(30)),
    );
    // The receiver answers within the grace: recorded as delivered.
    rig.receiver.release();
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("stopped once they were answered")
        .expect("stop");
    for id in &ids {
        let e = rig.entry(id).await;
        assert_eq!((e.state.as_str(), e.attempts), ("delivered", 1), "{e:?}");
    }
    assert_eq!(rig.counted("delivered"), 3);
    assert_eq!(rig.receiver.count(), 3);
}
