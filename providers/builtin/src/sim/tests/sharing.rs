//! Sharing one cloud: concurrent calls, two providers, two processes.

use std::path::Path;

use plinth_provider::{Object, Value};

use super::*;

#[tokio::test]
async fn concurrent_creates_get_distinct_clock_values() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[("record_calls", Value::Bool(false))]).await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let sim = sim.clone();
            tokio::spawn(async move {
                sim.create(&ctx(&format!("t{i}")), &named(&format!("r{i}")))
                    .await
            })
        })
        .collect();
    let mut clocks = Vec::new();
    for task in tasks {
        clocks.push(
            task.await.unwrap().unwrap().attributes["created_at"]
                .as_i64()
                .unwrap(),
        );
    }
    clocks.sort_unstable();
    assert_eq!(clocks, (1..=40).collect::<Vec<_>>());
    assert_eq!(list_cloud(dir.path()).unwrap().len(), 40);
    assert_eq!(
        call_counts(dir.path()).unwrap().total(),
        0,
        "recording is off"
    );
}

#[tokio::test]
async fn two_providers_on_one_cloud_share_names_and_clock() {
    // Separate instances hold separate file handles, so they exclude each other through the
    // file lock, as two processes would.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (sim(dir.path(), &[]).await, sim(dir.path(), &[]).await);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let sim = if i % 2 == 0 { a.clone() } else { b.clone() };
            // Both providers race to create each of 20 names.
            tokio::spawn(async move {
                sim.create(&ctx(&format!("t{i}")), &named(&format!("r{}", i / 2)))
                    .await
            })
        })
        .collect();
    let (mut won, mut refused, mut clocks) = (0, 0, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            Ok(created) => {
                won += 1;
                clocks.push(created.attributes["created_at"].as_i64().unwrap());
            }
            Err(err) if err.code.as_deref() == Some("AlreadyExists") => refused += 1,
            Err(err) => panic!("unexpected error: {err}"),
        }
    }
    assert_eq!((won, refused), (20, 20));
    clocks.sort_unstable();
    assert_eq!(clocks, (1..=20).collect::<Vec<_>>());
    assert_eq!(list_cloud(dir.path()).unwrap().len(), 20);
    assert_eq!(call_counts(dir.path()).unwrap().create, 40);
}

#[tokio::test]
async fn the_call_log_shows_how_many_operations_overlapped() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let sim = sim.clone();
            let desired = object(&[
                ("name", Value::string(format!("r{i}"))),
                ("create_ms", Value::Int(100)),
            ]);
            tokio::spawn(async move { sim.create(&ctx(&format!("t{i}")), &desired).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let peak = call_counts(dir.path()).unwrap().peak_in_flight;
    assert!((2..=6).contains(&peak), "peak {peak}");
}

/// Set in the child processes of `two_processes_share_one_cloud`: the cloud to race on.
const CHILD_CLOUD: &str = "PLINTH_SIM_TEST_CHILD_CLOUD";

#[test]
fn two_processes_share_one_cloud() {
    if let Ok(dir) = std::env::var(CHILD_CLOUD) {
        // Child: race the other process to create the same twenty names.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let sim = sim(Path::new(&dir), &[]).await;
            for i in 0..20 {
                let token = format!("{}-{i}", std::process::id());
                match sim.create(&ctx(&token), &named(&format!("r{i}"))).await {
                    Ok(_) => {}
                    Err(err) => assert_eq!(err.code.as_deref(), Some("AlreadyExists"), "{err}"),
                }
            }
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "sim::tests::sharing::two_processes_share_one_cloud",
                    "--nocapture",
                ])
                .env(CHILD_CLOUD, dir.path())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child process failed");
    }
    let cloud = list_cloud(dir.path()).unwrap();
    let names: Vec<&str> = cloud.iter().map(|(_, name, _)| name.as_str()).collect();
    let mut expected: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
    expected.sort();
    assert_eq!(names, expected, "each name exactly once");
    assert_eq!(call_counts(dir.path()).unwrap().create, 40);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut clocks = runtime.block_on(async {
        let sim = sim(dir.path(), &[]).await;
        let mut clocks = Vec::new();
        for (id, _, _) in &cloud {
            let live = sim
                .read(&ctx("t"), id, &Object::new())
                .await
                .unwrap()
                .unwrap();
            clocks.push(live["created_at"].as_i64().unwrap());
        }
        clocks
    });
    clocks.sort_unstable();
    assert_eq!(
        clocks,
        (1..=20).collect::<Vec<_>>(),
        "one clock across processes"
    );
}
