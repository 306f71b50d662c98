//! `aws_elasticache_replication_group` and `aws_elasticache_subnet_group` against moto.

use plinth_provider::{ReadItem, Value};
use plinth_testkit::moto::{Fault, FaultKind};

use crate::support::*;

fn redis(id: &str) -> plinth_provider::Object {
    obj(vec![
        ("replication_group_id", s(id)),
        ("description", s("MITA cache")),
        ("engine", s("redis")),
        ("node_type", s("cache.t4g.small")),
        ("num_node_groups", Value::Int(1)),
        ("replicas_per_node_group", Value::Int(2)),
        ("automatic_failover", Value::Bool(true)),
        ("multi_az", Value::Bool(true)),
        ("at_rest_encryption", Value::Bool(true)),
        ("transit_encryption", Value::Bool(true)),
        ("auth_token", s("a-long-redis-auth-token-123").sensitive()),
        ("snapshot_retention_limit", Value::Int(5)),
        ("snapshot_window", s("03:00-05:00")),
        ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
    ])
}

#[tokio::test]
async fn replication_group_conformance() {
    let env = Env::new().await;
    // Regression: moto left deleted groups `deleting` forever (fixed in the launcher), so
    // the conformance delete → read-gone step would hang until the timeout.
    conformance(
        &env,
        "aws_elasticache_replication_group",
        redis("mita-redis"),
        vec![
            ("description", s("changed")),
            ("snapshot_retention_limit", Value::Int(7)),
            ("node_type", s("cache.t4g.medium")),
            ("tags", Value::Map(obj(vec![("team", s("platform"))]))),
        ],
    )
    .await;
    // The id can be used again once the group is gone.
    let rec = Recorder::default();
    let again = env
        .resource("aws_elasticache_replication_group")
        .create(&ctx(&rec), &redis("mita-redis"))
        .await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn replication_group_waits_and_reports_progress() {
    let env = Env::new().await;
    let groups = env.resource("aws_elasticache_replication_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    moto().hold(&env.account, "elasticache", "create", None, 3);
    let created = groups.create(&cx, &redis("held-redis")).await.unwrap();
    assert_eq!(created.attributes["status"], s("available"));
    assert!(
        rec.lines()
            .iter()
            .filter(|l| l.contains("now: creating"))
            .count()
            >= 3,
        "{:?}",
        rec.lines()
    );
    assert!(created.attributes["primary_endpoint"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    moto().hold(&env.account, "elasticache", "delete", None, 2);
    groups
        .delete(&cx, &created.id, &created.attributes)
        .await
        .unwrap();
    assert!(
        rec.lines().iter().any(|l| l.contains("now: deleting")),
        "{:?}",
        rec.lines()
    );
}

#[tokio::test]
async fn replication_group_batch_read_throttling_and_drift() {
    let env = Env::new().await;
    let groups = env.resource("aws_elasticache_replication_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let a = groups.create(&cx, &redis("cache-a")).await.unwrap();
    let b = groups.create(&cx, &redis("cache-b")).await.unwrap();
    env.provider
        .clients()
        .elasticache
        .modify_replication_group()
        .replication_group_id("cache-b")
        .snapshot_retention_limit(1)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    moto().reset_call_counts(&env.account);
    moto().inject_fault(
        &env.account,
        &Fault {
            action: "DescribeReplicationGroups".into(),
            kind: FaultKind::Throttle,
            count: 1,
        },
    );
    let items = [
        ReadItem {
            id: &a.id,
            prior: &a.attributes,
        },
        ReadItem {
            id: &b.id,
            prior: &b.attributes,
        },
    ];
    let live = groups.read_many(&cx, &items).await.unwrap();
    assert_inputs(&redis("cache-a"), live[0].as_ref().unwrap());
    assert_eq!(
        live[1].as_ref().unwrap()["snapshot_retention_limit"],
        Value::Int(1)
    );
    assert_eq!(
        env.calls("elasticache:DescribeReplicationGroups"),
        2,
        "one throttled, one page"
    );
    // Import by ARN.
    let arn = a.attributes["arn"].as_str().unwrap();
    assert!(groups.import(&cx, arn).await.unwrap().is_some());
    assert!(groups
        .read(&cx, "never-made", &Default::default())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn cache_subnet_group_conformance() {
    let env = Env::new().await;
    let network = env.network();
    let desired = obj(vec![
        ("name", s("mita-cache-subnets")),
        ("description", s("MITA cache subnets")),
        ("subnet_ids", strings(&network.subnet_ids)),
    ]);
    conformance(
        &env,
        "aws_elasticache_subnet_group",
        desired,
        vec![
            ("description", s("changed")),
            ("subnet_ids", strings(&network.subnet_ids[..1])),
        ],
    )
    .await;
}

#[tokio::test]
async fn replica_count_changes_in_place() {
    let env = Env::new().await;
    let groups = env.resource("aws_elasticache_replication_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let desired = redis("scaling-redis");
    let created = groups.create(&cx, &desired).await.unwrap();
    let mut prior = created.attributes;
    for replicas in [3, 1] {
        let (more, changed) = with(
            &desired,
            vec![("replicas_per_node_group", Value::Int(replicas))],
        );
        prior = groups
            .update(&cx, &created.id, &prior, &more, &changed)
            .await
            .unwrap();
        assert_eq!(prior["replicas_per_node_group"], Value::Int(replicas));
        let live = groups
            .read(&cx, &created.id, &prior)
            .await
            .unwrap()
            .unwrap();
        assert_inputs(&more, &live);
    }
    assert_eq!(env.calls("elasticache:IncreaseReplicaCount"), 1);
    assert_eq!(env.calls("elasticache:DecreaseReplicaCount"), 1);
}
