//! `aws_rds_instance` against moto.

use plinth_provider::{ErrorKind, ReadItem, Value};
use plinth_testkit::moto::{Fault, FaultKind};

use crate::support::*;

async fn subnet_group(env: &Env) -> String {
    let network = env.network();
    let name = format!("db-{}", env.account.id);
    let desired = obj(vec![
        ("name", s(&name)),
        ("subnet_ids", strings(&network.subnet_ids)),
    ]);
    let rec = Recorder::default();
    env.resource("aws_rds_subnet_group")
        .create(&ctx(&rec), &desired)
        .await
        .expect("subnet group");
    name
}

fn primary(identifier: &str, subnet_group: &str) -> plinth_provider::Object {
    obj(vec![
        ("identifier", s(identifier)),
        ("engine", s("postgres")),
        ("engine_version", s("15.5")),
        ("instance_class", s("db.t4g.medium")),
        ("allocated_storage", Value::Int(20)),
        ("multi_az", Value::Bool(true)),
        ("storage_encrypted", Value::Bool(true)),
        ("backup_retention_days", Value::Int(7)),
        ("deletion_protection", Value::Bool(false)),
        ("master_username", s("mita")),
        ("master_password", s("correct-horse-battery").sensitive()),
        ("db_subnet_group_name", s(subnet_group)),
        ("publicly_accessible", Value::Bool(false)),
        ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
    ])
}

#[tokio::test]
async fn instance_conformance() {
    let env = Env::new().await;
    let group = subnet_group(&env).await;
    conformance(
        &env,
        "aws_rds_instance",
        primary("mita-db", &group),
        vec![
            ("instance_class", s("db.t4g.large")),
            ("backup_retention_days", Value::Int(14)),
            ("allocated_storage", Value::Int(40)),
            ("master_password", s("a-new-password-123").sensitive()),
            (
                "tags",
                Value::Map(obj(vec![("team", s("mita")), ("env", s("test"))])),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn read_replica_follows_its_primary_and_password_is_not_drift() {
    let env = Env::new().await;
    let group = subnet_group(&env).await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let primary = rds
        .create(&cx, &primary("mita-primary", &group))
        .await
        .expect("primary");
    let arn = primary.attributes["arn"].as_str().unwrap().to_string();
    let replica_desired = obj(vec![
        ("identifier", s("mita-replica-0")),
        ("replicate_source_db", s(&arn)),
        ("instance_class", s("db.t4g.medium")),
    ]);
    let replica = rds.create(&cx, &replica_desired).await.expect("replica");
    assert_inputs(&replica_desired, &replica.attributes);
    assert_eq!(replica.attributes["engine"], s("postgres"));
    // State holds a redacted password: a read must keep it, not report null (drift).
    let mut prior = primary.attributes.clone();
    prior.insert(
        "master_password".into(),
        Value::Redacted("sha256:abc".into()),
    );
    let live = rds.read(&cx, &primary.id, &prior).await.unwrap().unwrap();
    assert_eq!(
        live["master_password"],
        Value::Redacted("sha256:abc".into())
    );
    rds.delete(&cx, &replica.id, &replica.attributes)
        .await
        .expect("delete replica");
    rds.delete(&cx, &primary.id, &primary.attributes)
        .await
        .expect("delete primary");
}

#[tokio::test]
async fn waits_through_creating_modifying_and_deleting() {
    let env = Env::new().await;
    let server = moto();
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let desired = obj(vec![
        ("identifier", s("held-db")),
        ("engine", s("postgres")),
        ("instance_class", s("db.t4g.micro")),
        ("master_username", s("mita")),
        ("master_password", s("password-123").sensitive()),
        ("allocated_storage", Value::Int(20)),
    ]);
    server.hold(&env.account, "rds", "create", Some("held-db"), 3);
    let created = rds.create(&cx, &desired).await.expect("create");
    assert_eq!(created.attributes["status"], s("available"));
    let waits = rec
        .lines()
        .iter()
        .filter(|l| l.contains("now: creating"))
        .count();
    assert!(
        waits >= 3,
        "expected to wait through `creating`: {:?}",
        rec.lines()
    );

    server.hold(&env.account, "rds", "modify", None, 2);
    let (updated, changed) = with(&desired, vec![("instance_class", s("db.t4g.small"))]);
    rds.update(&cx, &created.id, &created.attributes, &updated, &changed)
        .await
        .expect("update");
    assert!(
        rec.lines().iter().any(|l| l.contains("now: modifying")),
        "{:?}",
        rec.lines()
    );

    server.hold(&env.account, "rds", "delete", None, 2);
    rds.delete(&cx, &created.id, &created.attributes)
        .await
        .expect("delete");
    assert!(
        rec.lines().iter().any(|l| l.contains("now: deleting")),
        "{:?}",
        rec.lines()
    );
    assert!(rds
        .read(&cx, &created.id, &created.attributes)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn wait_times_out_with_the_last_status() {
    let env = Env::new().await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = plinth_provider::CallContext {
        timeout: Some(std::time::Duration::from_millis(300)),
        ..ctx(&rec)
    };
    moto().hold(&env.account, "rds", "create", None, 10_000);
    let desired = obj(vec![
        ("identifier", s("slow-db")),
        ("engine", s("postgres")),
        ("instance_class", s("db.t4g.micro")),
    ]);
    let err = rds.create(&cx, &desired).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(err.message.contains("creating"), "{err}");
}

#[tokio::test]
async fn throttling_is_retried_and_reported_with_its_code() {
    let env = Env::new().await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let throttle = |count| Fault {
        action: "DescribeDBInstances".into(),
        kind: FaultKind::Throttle,
        count,
    };
    moto().inject_fault(&env.account, &throttle(2));
    assert!(rds
        .read(&cx, "nothing-here", &Default::default())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        env.calls("rds:DescribeDBInstances"),
        3,
        "two throttled attempts, then success"
    );

    moto().inject_fault(&env.account, &throttle(10));
    let err = rds
        .read(&cx, "nothing-here", &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert_eq!(err.code.as_deref(), Some("Throttling"));
    // The SDK retried it already: the engine must not multiply the attempts (issue 14).
    assert!(err.already_retried && !err.engine_may_retry(), "{err:?}");

    moto().inject_fault(
        &env.account,
        &Fault {
            action: "DescribeDBInstances".into(),
            kind: FaultKind::ServerError,
            count: 10,
        },
    );
    let err = rds
        .read(&cx, "nothing-here", &Default::default())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn drift_made_outside_plinth_is_visible() {
    let env = Env::new().await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let desired = obj(vec![
        ("identifier", s("drift-db")),
        ("engine", s("postgres")),
        ("instance_class", s("db.t4g.micro")),
        ("backup_retention_days", Value::Int(7)),
    ]);
    let created = rds.create(&cx, &desired).await.unwrap();
    env.provider
        .clients()
        .rds
        .modify_db_instance()
        .db_instance_identifier("drift-db")
        .backup_retention_period(1)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let live = rds
        .read(&cx, &created.id, &created.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live["backup_retention_days"], Value::Int(1));
}

#[tokio::test]
async fn refresh_of_thirty_instances_is_one_describe_call() {
    let env = Env::new().await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let mut created = Vec::new();
    for i in 0..30 {
        let desired = obj(vec![
            ("identifier", s(&format!("batch-{i}"))),
            ("engine", s("postgres")),
            ("instance_class", s("db.t4g.micro")),
        ]);
        created.push(rds.create(&cx, &desired).await.unwrap());
    }
    moto().reset_call_counts(&env.account);
    let mut items: Vec<ReadItem<'_>> = created
        .iter()
        .map(|c| ReadItem {
            id: &c.id,
            prior: &c.attributes,
        })
        .collect();
    items.push(ReadItem {
        id: "gone-one",
        prior: &created[0].attributes,
    });
    assert!(rds.batches_reads());
    let live = rds.read_many(&cx, &items).await.unwrap();
    assert_eq!(live.len(), 31);
    for (item, got) in created.iter().zip(&live) {
        assert_eq!(got.as_ref().unwrap()["identifier"], s(&item.id));
    }
    assert!(live[30].is_none());
    let counts = moto().call_counts(&env.account);
    assert_eq!(
        counts.get("rds:DescribeDBInstances"),
        Some(&1),
        "{counts:?}"
    );
    assert_eq!(counts.values().sum::<u64>(), 1, "{counts:?}");
}

#[tokio::test]
async fn deletion_protection_blocks_delete_with_the_aws_error() {
    let env = Env::new().await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let desired = obj(vec![
        ("identifier", s("protected-db")),
        ("engine", s("postgres")),
        ("instance_class", s("db.t4g.micro")),
        ("deletion_protection", Value::Bool(true)),
    ]);
    let created = rds.create(&cx, &desired).await.unwrap();
    let err = rds
        .delete(&cx, &created.id, &created.attributes)
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidParameterCombination"));
    assert!(err.message.contains("deletion protection"), "{err}");
    // Recover by identifier (a crash after CreateDBInstance) and import by ARN find it.
    let found = rds
        .recover(&cx, &desired)
        .await
        .unwrap()
        .expect("recovered");
    assert_eq!(found.id, "protected-db");
    let arn = created.attributes["arn"].as_str().unwrap();
    let imported = rds.import(&cx, arn).await.unwrap().expect("imported");
    assert_eq!(imported["identifier"], s("protected-db"));
    let missing = obj(vec![("identifier", s("never-made"))]);
    assert!(rds.recover(&cx, &missing).await.unwrap().is_none());
}

#[tokio::test]
async fn replica_waits_for_its_primary_to_be_available() {
    let env = Env::new().await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let desired = obj(vec![
        ("identifier", s("busy-primary")),
        ("engine", s("postgres")),
        ("instance_class", s("db.t4g.micro")),
    ]);
    rds.create(&cx, &desired).await.unwrap();
    // Someone modifies the primary; it stays `modifying` for three describes.
    moto().hold(&env.account, "rds", "modify", Some("busy-primary"), 3);
    env.provider
        .clients()
        .rds
        .modify_db_instance()
        .db_instance_identifier("busy-primary")
        .backup_retention_period(3)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let replica = obj(vec![
        ("identifier", s("busy-replica")),
        ("replicate_source_db", s("busy-primary")),
    ]);
    let created = rds.create(&cx, &replica).await.unwrap();
    assert_eq!(created.attributes["replicate_source_db"], s("busy-primary"));
    let waited: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| l.contains("`busy-primary`") && l.contains("now: modifying"))
        .collect();
    assert_eq!(waited.len(), 3, "{:?}", rec.lines());
}

#[tokio::test]
async fn injected_latency_slows_the_call_down() {
    let env = Env::new().await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    moto().inject_fault(
        &env.account,
        &Fault {
            action: "DescribeDBInstances".into(),
            kind: FaultKind::Latency(300),
            count: 1,
        },
    );
    let start = std::time::Instant::now();
    assert!(rds
        .read(&ctx(&rec), "missing", &Default::default())
        .await
        .unwrap()
        .is_none());
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        env.calls("rds:DescribeDBInstances"),
        1,
        "latency is not an error: no retry"
    );
}

fn restored(
    identifier: &str,
    restore: Vec<(&str, Value)>,
    subnet_group: &str,
) -> plinth_provider::Object {
    obj(vec![
        ("identifier", s(identifier)),
        ("restore", Value::Map(obj(restore))),
        ("instance_class", s("db.t4g.large")),
        ("backup_retention_days", Value::Int(14)),
        ("db_subnet_group_name", s(subnet_group)),
        ("publicly_accessible", Value::Bool(false)),
        ("deletion_protection", Value::Bool(false)),
        ("skip_final_snapshot", Value::Bool(true)),
        ("tags", Value::Map(obj(vec![("role", s("restore"))]))),
    ])
}

#[tokio::test]
async fn a_restore_from_the_final_snapshot_brings_back_the_data_settings_and_sets_the_rest() {
    let env = Env::new().await;
    let group = subnet_group(&env).await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let mut desired = primary("mita-lost", &group);
    desired.insert("final_snapshot_identifier".into(), s("mita-lost-last"));
    let lost = rds.create(&cx, &desired).await.expect("primary");
    rds.delete(&cx, &lost.id, &lost.attributes)
        .await
        .expect("delete with a final snapshot");

    let want = restored("mita-back", vec![("snapshot", s("mita-lost-last"))], &group);
    let back = rds.create(&cx, &want).await.expect("restore");
    assert_eq!(env.calls("rds:RestoreDBInstanceFromDBSnapshot"), 1);
    assert_eq!(
        env.calls("rds:CreateDBInstance"),
        1,
        "only the first primary"
    );
    // From the snapshot: engine, encryption, master user.
    let a = &back.attributes;
    assert_eq!(a["engine"], s("postgres"));
    assert_eq!(a["storage_encrypted"], Value::Bool(true));
    assert_eq!(a["master_username"], s("mita"));
    // From the configuration: the class at restore, the retention by a modify afterwards.
    assert_eq!(a["instance_class"], s("db.t4g.large"));
    assert_eq!(a["backup_retention_days"], Value::Int(14));
    assert_eq!(env.calls("rds:ModifyDBInstance"), 1);
    assert_eq!(a["publicly_accessible"], Value::Bool(false));
    assert_eq!(a["tags"], Value::Map(obj(vec![("role", s("restore"))])));
    // The restore source is kept (a create-only input), and a read is no drift.
    let live = rds.read(&cx, &back.id, a).await.unwrap().unwrap();
    assert_no_op(rds.schema(), &want, &live);
    assert_eq!(live["restore"], want["restore"]);
    rds.delete(&cx, &back.id, &live).await.expect("delete");
    assert!(rds.read(&cx, &back.id, &live).await.unwrap().is_none());
}

#[tokio::test]
async fn a_point_in_time_restore_makes_a_new_instance_and_leaves_the_source_alone() {
    let env = Env::new().await;
    let group = subnet_group(&env).await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let source = rds
        .create(&cx, &primary("mita-prod", &group))
        .await
        .expect("primary");
    for (identifier, time) in [
        ("mita-prod-restore", "latest"),
        ("mita-prod-restore-0930", "2026-12-03T09:30:00Z"),
    ] {
        let want = restored(
            identifier,
            vec![("source", s("mita-prod")), ("time", s(time))],
            &group,
        );
        let made = rds.create(&cx, &want).await.expect("restore");
        assert_eq!(made.id, identifier);
        assert_eq!(made.attributes["engine"], s("postgres"));
        assert_eq!(made.attributes["master_username"], s("mita"));
        assert_eq!(made.attributes["backup_retention_days"], Value::Int(14));
        assert_eq!(made.attributes["instance_class"], s("db.t4g.large"));
    }
    assert_eq!(env.calls("rds:RestoreDBInstanceToPointInTime"), 2);
    let still = rds
        .read(&cx, &source.id, &source.attributes)
        .await
        .unwrap()
        .expect("the source is still there");
    assert_eq!(still["status"], s("available"));
    assert_eq!(still["instance_class"], s("db.t4g.medium"));

    // A bad restore is refused before any call.
    let before = env.calls("rds:RestoreDBInstanceToPointInTime");
    let bad = restored(
        "mita-bad",
        vec![("source", s("mita-prod")), ("time", s("last tuesday"))],
        &group,
    );
    let error = rds.create(&cx, &bad).await.unwrap_err();
    assert!(error.message.contains("RFC 3339"), "{error}");
    assert_eq!(env.calls("rds:RestoreDBInstanceToPointInTime"), before);
}
