//! Behaviour of `sim_resource` through the provider contract, as the engine calls it.

use std::path::Path;
use std::sync::Arc;

use plinth_provider::{
    CallContext, ErrorKind, NoProgress, Object, ProviderConfig, ReadItem, Resource, Value,
};

use super::*;

mod faults;
mod sharing;

fn ctx(token: &str) -> CallContext<'_> {
    CallContext {
        address: "sim_resource.test",
        token,
        progress: &NoProgress,
        timeout: None,
    }
}

fn object(pairs: &[(&str, Value)]) -> Object {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn named(name: &str) -> Object {
    object(&[("name", Value::string(name))])
}

/// A configured `sim_resource` on the cloud in `dir`, with extra `[providers.sim]` settings.
async fn sim(dir: &Path, settings: &[(&str, Value)]) -> Arc<dyn Resource> {
    let mut all = object(settings);
    all.insert("cloud_dir".into(), Value::string(dir.to_string_lossy()));
    all.entry("record_calls".into())
        .or_insert(Value::Bool(true));
    let config = ProviderConfig {
        settings: all,
        environment: "test".into(),
        work_dir: dir.to_path_buf(),
    };
    SimFactory
        .configure(&config)
        .await
        .unwrap()
        .resource(SIM_TYPE)
        .unwrap()
}

#[tokio::test]
async fn create_read_update_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let tags = Value::Map([("team".to_string(), Value::string("web"))].into());
    let desired = object(&[
        ("name", Value::string("web")),
        ("size", Value::string("2")),
        ("tags", tags.clone()),
        ("zone", Value::string("eu-1")),
        ("create_ms", Value::Int(0)),
    ]);
    let created = sim.create(&ctx("t1"), &desired).await.unwrap();
    let attributes = &created.attributes;
    assert!(created.id.starts_with("sim-"), "{}", created.id);
    assert_eq!(attributes["id"], Value::String(created.id.clone()));
    assert_eq!(
        attributes["size"],
        Value::Int(2),
        "numbers are stored as numbers"
    );
    assert_eq!(attributes["tags"], tags);
    assert_eq!(
        attributes["create_ms"],
        Value::Int(0),
        "inputs come back as written"
    );
    assert!(
        !attributes.contains_key("payload"),
        "unset inputs stay unset"
    );
    assert_eq!(
        attributes["arn"],
        Value::string("arn:sim:eu-1:resource/web")
    );
    assert_eq!(attributes["created_at"], Value::Int(1));
    assert_eq!(attributes["generation"], Value::Int(1));

    let read = sim
        .read(&ctx("t1"), &created.id, attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&read, attributes);

    let mut desired = desired.clone();
    desired.insert(
        "payload".into(),
        Value::List(vec![Value::Int(1), Value::string("x")]),
    );
    desired.insert("size".into(), Value::Int(3));
    let changed = ["payload".to_string(), "size".to_string()];
    let updated = sim
        .update(&ctx("t2"), &created.id, attributes, &desired, &changed)
        .await
        .unwrap();
    assert_eq!(updated["size"], Value::Int(3));
    assert_eq!(
        updated["payload"],
        Value::List(vec![Value::Int(1), Value::string("x")])
    );
    assert_eq!(updated["generation"], Value::Int(2));
    assert_eq!(updated["created_at"], Value::Int(1));
    assert_eq!(
        sim.read(&ctx("t2"), &created.id, &updated).await.unwrap(),
        Some(updated.clone())
    );

    sim.delete(&ctx("t3"), &created.id, &updated).await.unwrap();
    assert_eq!(
        sim.read(&ctx("t3"), &created.id, &updated).await.unwrap(),
        None
    );
    sim.delete(&ctx("t3"), &created.id, &updated).await.unwrap();
    let counts = call_counts(dir.path()).unwrap();
    assert_eq!(
        (counts.create, counts.read, counts.update, counts.delete),
        (1, 3, 1, 2)
    );
    assert_eq!(counts.peak_in_flight, 1, "one call at a time");
}

#[tokio::test]
async fn the_cloud_outlives_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let first = sim(dir.path(), &[]).await;
    let created = first.create(&ctx("t1"), &named("db")).await.unwrap();
    drop(first);
    let second = sim(dir.path(), &[]).await;
    let read = second
        .read(&ctx("t"), &created.id, &created.attributes)
        .await
        .unwrap();
    assert_eq!(read, Some(created.attributes.clone()));
    let other = second.create(&ctx("t2"), &named("cache")).await.unwrap();
    assert_eq!(
        other.attributes["created_at"],
        Value::Int(2),
        "the clock is the cloud's, not the process's"
    );
    assert_eq!(call_counts(dir.path()).unwrap().create, 2);
}

#[tokio::test]
async fn names_are_unique_and_creates_are_idempotent_per_token() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let first = sim.create(&ctx("t1"), &named("web")).await.unwrap();
    let again = sim.create(&ctx("t1"), &named("web")).await.unwrap();
    assert_eq!(again, first, "a retried create returns the same resource");
    let err = sim.create(&ctx("t2"), &named("web")).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_deref()),
        (ErrorKind::Api, Some("AlreadyExists"))
    );
    assert!(err.message.contains(&first.id), "{}", err.message);
    assert_eq!(list_cloud(dir.path()).unwrap().len(), 1);
}

#[tokio::test]
async fn updates_refuse_replacing_changes_and_missing_resources() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let created = sim.create(&ctx("t1"), &named("a")).await.unwrap();
    let moved = object(&[
        ("name", Value::string("a")),
        ("zone", Value::string("eu-2")),
    ]);
    let err = sim
        .update(&ctx("t"), &created.id, &created.attributes, &moved, &[])
        .await
        .unwrap_err();
    assert!(
        err.message.contains("`zone` cannot change in place"),
        "{}",
        err.message
    );
    let err = sim
        .update(
            &ctx("t"),
            "sim-missing",
            &created.attributes,
            &named("a"),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn recover_finds_the_resource_of_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    // A create whose result never reached the state (the process "crashed").
    let lost = sim.create(&ctx("token-1"), &named("web")).await.unwrap();
    let found = sim.recover(&ctx("token-1"), &named("web")).await.unwrap();
    assert_eq!(found, Some(lost.clone()));
    // Found by token even when the name in the desired inputs differs.
    assert_eq!(
        sim.recover(&ctx("token-1"), &named("renamed"))
            .await
            .unwrap(),
        Some(lost)
    );
    assert_eq!(
        sim.recover(&ctx("token-2"), &named("web")).await.unwrap(),
        None
    );
    assert_eq!(
        sim.recover(&ctx("token-3"), &named("other")).await.unwrap(),
        None
    );
    assert_eq!(call_counts(dir.path()).unwrap().find, 4);
}

#[tokio::test]
async fn batched_reads_cost_one_call_per_page() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[("page_size", Value::Int(100))]).await;
    assert!(sim.batches_reads());
    let mut resources = Vec::new();
    for i in 0..250 {
        resources.push(
            sim.create(&ctx(&format!("t{i}")), &named(&format!("r{i}")))
                .await
                .unwrap(),
        );
    }
    delete_behind_back(dir.path(), "r7").unwrap();
    reset_call_counts(dir.path()).unwrap();
    let items: Vec<ReadItem<'_>> = resources
        .iter()
        .map(|c| ReadItem {
            id: &c.id,
            prior: &c.attributes,
        })
        .collect();
    let live = sim.read_many(&ctx("t"), &items).await.unwrap();
    assert_eq!(live.len(), 250);
    assert_eq!(live[7], None, "deleted behind Plinth's back");
    assert_eq!(live[8].as_ref(), Some(&resources[8].attributes));
    let counts = call_counts(dir.path()).unwrap();
    assert_eq!((counts.read_page, counts.total()), (3, 3));
}

#[tokio::test]
async fn tampering_shows_up_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let created = sim
        .create(
            &ctx("t1"),
            &object(&[("name", Value::string("a")), ("size", Value::Int(1))]),
        )
        .await
        .unwrap();
    tamper(dir.path(), "a", "size", 9).unwrap();
    let live = sim
        .read(&ctx("t"), &created.id, &created.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live["size"], Value::Int(9));
    delete_behind_back(dir.path(), "a").unwrap();
    assert_eq!(
        sim.read(&ctx("t"), &created.id, &created.attributes)
            .await
            .unwrap(),
        None
    );
    // The name is free again.
    sim.create(&ctx("t2"), &named("a")).await.unwrap();
}

#[tokio::test]
async fn import_reads_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let created = sim.create(&ctx("t1"), &named("a")).await.unwrap();
    assert_eq!(
        sim.import(&ctx("t"), &created.id).await.unwrap(),
        Some(created.attributes)
    );
    assert_eq!(sim.import(&ctx("t"), "sim-nothing").await.unwrap(), None);
}

#[tokio::test]
async fn plans_predict_arn_and_generation() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path(), &[]).await;
    let mut planned = object(&[
        ("name", Value::string("a")),
        ("arn", Value::Unknown),
        ("generation", Value::Unknown),
    ]);
    sim.refine_plan(&ctx("t"), None, &mut planned)
        .await
        .unwrap();
    assert_eq!(planned["arn"], Value::string("arn:sim:global:resource/a"));
    let created = sim.create(&ctx("t"), &named("a")).await.unwrap();
    assert_eq!(created.attributes["arn"], planned["arn"]);
    assert_eq!(created.attributes["generation"], planned["generation"]);

    let mut unknown_zone = object(&[
        ("name", Value::string("b")),
        ("zone", Value::Unknown),
        ("arn", Value::Unknown),
    ]);
    sim.refine_plan(&ctx("t"), None, &mut unknown_zone)
        .await
        .unwrap();
    assert_eq!(unknown_zone["arn"], Value::Unknown);

    let mut same = created.attributes.clone();
    sim.refine_plan(&ctx("t"), Some(&created.attributes), &mut same)
        .await
        .unwrap();
    assert_eq!(same, created.attributes, "a no-op plan stays a no-op");
    let mut changed = created.attributes.clone();
    changed.insert("size".into(), Value::Int(4));
    sim.refine_plan(&ctx("t"), Some(&created.attributes), &mut changed)
        .await
        .unwrap();
    assert_eq!(changed["generation"], Value::Unknown);
}

#[tokio::test]
async fn factory_describes_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(SimFactory.name(), "sim");
    let schema = SimFactory.schemas().remove(0);
    assert!(schema.get("name").unwrap().force_new && schema.get("zone").unwrap().force_new);
    assert!(!schema.get("payload").unwrap().force_new);
    let config = ProviderConfig {
        settings: object(&[("max_concurrency", Value::Int(3))]),
        environment: "test".into(),
        work_dir: dir.path().to_path_buf(),
    };
    let provider = SimFactory.configure(&config).await.unwrap();
    assert_eq!(provider.limits().max_concurrency, Some(3));
    assert!(provider.resource("plinth_data").is_none());
    assert!(
        dir.path().join("sim-cloud/resources").is_dir(),
        "the default cloud sits in the work dir"
    );
}
