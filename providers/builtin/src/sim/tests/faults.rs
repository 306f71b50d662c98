//! Injected failures, simulated latency and rate limits.

use std::time::{Duration, Instant};

use plinth_provider::{CallContext, ErrorKind, Value};

use super::*;

#[tokio::test]
async fn the_nth_create_fails_permanently_or_retryably() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let desired = object(&[("name", Value::string("a")), ("fail_create", Value::Int(2))]);
    let created = sim.create(&ctx("t1"), &desired).await.unwrap();
    sim.delete(&ctx("t1"), &created.id, &created.attributes)
        .await
        .unwrap();
    let err = sim.create(&ctx("t2"), &desired).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_deref()),
        (ErrorKind::Api, Some("InjectedFailure"))
    );
    assert!(
        err.message.contains("create call 2 of `a`"),
        "{}",
        err.message
    );
    assert!(
        list_cloud(dir.path()).unwrap().is_empty(),
        "a failed create makes nothing"
    );
    sim.create(&ctx("t2"), &desired).await.unwrap();

    let desired = object(&[
        ("name", Value::string("b")),
        ("fail_create", Value::Int(1)),
        ("fail_mode", Value::string("retryable")),
    ]);
    let err = sim.create(&ctx("t3"), &desired).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let retried = sim.create(&ctx("t3"), &desired).await.unwrap();
    assert_eq!(retried.attributes["name"], Value::string("b"));
    assert_eq!(
        call_counts(dir.path()).unwrap().create,
        5,
        "failed calls are counted too"
    );

    let bad = object(&[
        ("name", Value::string("c")),
        ("fail_mode", Value::string("sometimes")),
    ]);
    let err = sim.create(&ctx("t4"), &bad).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidParameterValue"));
}

#[tokio::test]
async fn the_nth_update_fails() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let mut desired = object(&[("name", Value::string("a")), ("fail_update", Value::Int(1))]);
    let created = sim.create(&ctx("t1"), &desired).await.unwrap();
    desired.insert("size".into(), Value::Int(5));
    let err = sim
        .update(&ctx("t2"), &created.id, &created.attributes, &desired, &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Api);
    let live = sim
        .read(&ctx("t"), &created.id, &created.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live, created.attributes, "a failed update changes nothing");
    let updated = sim
        .update(&ctx("t3"), &created.id, &created.attributes, &desired, &[])
        .await
        .unwrap();
    assert_eq!(
        (updated["size"].clone(), updated["generation"].clone()),
        (Value::Int(5), Value::Int(2))
    );
}

#[tokio::test]
async fn calls_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[("rate_limit", Value::Int(20))]).await;
    let started = Instant::now();
    let created = sim.create(&ctx("t1"), &named("a")).await.unwrap();
    for _ in 0..10 {
        assert!(sim
            .read(&ctx("t"), &created.id, &created.attributes)
            .await
            .unwrap()
            .is_some());
    }
    // 11 calls at 20 per second: the last goes out 10 × 50 ms after the first.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(495), "took {elapsed:?}");
}

#[tokio::test]
async fn latency_is_simulated_and_scaled() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[("latency_scale", Value::Float(0.5))]).await;
    let desired = object(&[
        ("name", Value::string("slow")),
        ("create_ms", Value::Int(200)),
        ("delete_ms", Value::Int(2000)),
    ]);
    let started = Instant::now();
    let created = sim.create(&ctx("t1"), &desired).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "took {:?}",
        started.elapsed()
    );
    let impatient = CallContext {
        timeout: Some(Duration::from_millis(30)),
        ..ctx("t2")
    };
    let err = sim
        .delete(&impatient, &created.id, &created.attributes)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(
        list_cloud(dir.path()).unwrap().is_empty(),
        "the delete went through; only the wait timed out"
    );
}

#[tokio::test]
async fn the_nth_delete_fails_as_recorded_in_state() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let desired = object(&[
        ("name", Value::string("a")),
        ("fail_delete", Value::Int(1)),
        ("fail_mode", Value::string("retryable")),
    ]);
    let created = sim.create(&ctx("t1"), &desired).await.unwrap();
    let err = sim
        .delete(&ctx("t2"), &created.id, &created.attributes)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(
        list_cloud(dir.path()).unwrap().len(),
        1,
        "a failed delete deletes nothing"
    );
    sim.delete(&ctx("t3"), &created.id, &created.attributes)
        .await
        .unwrap();
    assert!(list_cloud(dir.path()).unwrap().is_empty());
    assert_eq!(call_counts(dir.path()).unwrap().delete, 2);
}
