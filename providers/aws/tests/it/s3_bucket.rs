//! `aws_s3_bucket` against moto.

use plinth_provider::{ReadItem, Value};
use plinth_testkit::moto::{Fault, FaultKind};

use crate::support::*;

fn rule(id: &str, days: i64) -> Value {
    Value::Map(obj(vec![
        ("id", s(id)),
        ("prefix", s("daily/")),
        ("enabled", Value::Bool(true)),
        ("expiration_days", Value::Int(days)),
        ("transition_days", Value::Int(7)),
        ("transition_storage_class", s("GLACIER")),
    ]))
}

fn block(all: bool) -> Value {
    Value::Map(obj(vec![
        ("block_public_acls", Value::Bool(all)),
        ("block_public_policy", Value::Bool(all)),
        ("ignore_public_acls", Value::Bool(all)),
        ("restrict_public_buckets", Value::Bool(true)),
    ]))
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAcl","Effect":"Deny","Principal":"*","Action":"s3:PutBucketAcl","Resource":"arn:aws:s3:::BUCKET"}]}"#;

fn bucket(name: &str) -> plinth_provider::Object {
    obj(vec![
        ("bucket", s(name)),
        ("versioning", Value::Bool(true)),
        ("server_side_encryption", s("AES256")),
        (
            "lifecycle_rules",
            Value::List(vec![rule("expire-backups", 30)]),
        ),
        ("public_access_block", block(true)),
        ("policy", s(&POLICY.replace("BUCKET", name))),
        ("force_destroy", Value::Bool(true)),
        ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
    ])
}

#[tokio::test]
async fn bucket_conformance() {
    let env = Env::new().await;
    let name = format!("mita-backups-{}", env.account.id);
    // A policy written with other key order and whitespace is no change.
    let reordered = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&POLICY.replace("BUCKET", &name)).unwrap(),
    )
    .unwrap();
    conformance(
        &env,
        "aws_s3_bucket",
        bucket(&name),
        vec![
            ("versioning", Value::Bool(false)),
            ("server_side_encryption", s("aws:kms")),
            ("kms_key_id", s("alias/mita")),
            ("bucket_key_enabled", Value::Bool(true)),
            (
                "lifecycle_rules",
                Value::List(vec![rule("expire-backups", 90), rule("second", 10)]),
            ),
            ("public_access_block", block(false)),
            ("policy", s(&reordered)),
            ("tags", Value::Map(obj(vec![("team", s("platform"))]))),
        ],
    )
    .await;
}

#[tokio::test]
async fn force_destroy_empties_the_bucket_and_drift_shows() {
    let env = Env::new().await;
    let name = format!("mita-files-{}", env.account.id);
    let buckets = env.resource("aws_s3_bucket");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let created = buckets.create(&cx, &bucket(&name)).await.unwrap();
    let s3 = &env.provider.clients().s3;
    for key in ["a", "b", "a"] {
        s3.put_object()
            .bucket(&name)
            .key(key)
            .body(Vec::from("x").into())
            .send()
            .await
            .unwrap();
    }
    s3.delete_bucket_policy()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    let live = buckets
        .read(&cx, &created.id, &created.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        live["policy"],
        Value::Null,
        "a policy removed by hand is drift"
    );
    buckets
        .delete(&cx, &created.id, &created.attributes)
        .await
        .expect("force destroy");
    assert!(buckets
        .read(&cx, &created.id, &created.attributes)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn bucket_reads_are_concurrent_and_retry_slowdown() {
    let env = Env::new().await;
    let buckets = env.resource("aws_s3_bucket");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let mut created = Vec::new();
    for i in 0..10 {
        let desired = obj(vec![("bucket", s(&format!("many-{i}-{}", env.account.id)))]);
        created.push(buckets.create(&cx, &desired).await.unwrap());
    }
    moto().reset_call_counts(&env.account);
    moto().inject_fault(
        &env.account,
        &Fault {
            action: "s3:HEAD".into(),
            kind: FaultKind::Throttle,
            count: 2,
        },
    );
    let items: Vec<ReadItem<'_>> = created
        .iter()
        .map(|c| ReadItem {
            id: &c.id,
            prior: &c.attributes,
        })
        .collect();
    let start = std::time::Instant::now();
    let live = buckets.read_many(&cx, &items).await.unwrap();
    assert!(live.iter().all(Option::is_some));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        env.calls("s3:HEAD"),
        12,
        "ten buckets, two SlowDown answers retried"
    );
    let recovered = buckets
        .recover(&cx, &obj(vec![("bucket", s(&created[3].id))]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recovered.id, created[3].id);
}

/// Object Lock (governance): set at create, its retention changed in place, a locked version
/// refused deletion without the bypass, `force_destroy` still empties and deletes the bucket;
/// switching the lock on or off needs a new bucket.
#[tokio::test]
async fn object_lock_governance_keeps_versions_and_changes_in_place() {
    let env = Env::new().await;
    let name = format!("mita-backups-{}", env.account.id);
    let buckets = env.resource("aws_s3_bucket");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let lock = |days: i64| {
        Value::Map(obj(vec![
            ("mode", s("GOVERNANCE")),
            ("days", Value::Int(days)),
        ]))
    };
    let desired = obj(vec![
        ("bucket", s(&name)),
        ("versioning", Value::Bool(true)),
        ("object_lock", lock(30)),
        ("force_destroy", Value::Bool(true)),
    ]);
    let created = buckets.create(&cx, &desired).await.unwrap();
    assert_inputs(&desired, &created.attributes);
    let s3 = &env.provider.clients().s3;
    let put = s3
        .put_object()
        .bucket(&name)
        .key("database_backups/2026-12-03.sql.gz")
        .body(Vec::from("backup").into())
        .send()
        .await
        .unwrap();
    let refused = s3
        .delete_object()
        .bucket(&name)
        .key("database_backups/2026-12-03.sql.gz")
        .set_version_id(put.version_id().map(str::to_string))
        .send()
        .await;
    assert!(refused.is_err(), "a locked version was deleted");

    let (longer, changed) = with(&desired, vec![("object_lock", lock(35))]);
    assert!(buckets
        .replacement_required(&created.attributes, &longer)
        .is_empty());
    let after = buckets
        .update(&cx, &created.id, &created.attributes, &longer, &changed)
        .await
        .unwrap();
    assert_inputs(&longer, &after);
    let (unlocked, _) = with(&desired, vec![("object_lock", Value::Null)]);
    assert_eq!(
        buckets.replacement_required(&after, &unlocked),
        ["object_lock"]
    );

    buckets
        .delete(&cx, &created.id, &after)
        .await
        .expect("force destroy lifts governance retention");
    assert!(buckets
        .read(&cx, &created.id, &after)
        .await
        .unwrap()
        .is_none());
}
