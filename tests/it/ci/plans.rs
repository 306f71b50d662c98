//! Hand-made plans for the renderer tests: the shapes a real stack produces (a stateful
//! database replaced, a serving load balancer deleted, drift, secrets), with fixed versions
//! so snapshots are stable.

use plinth::plan::{
    Action, AttributeDiff, DiffValue, Drift, OutputChange, Plan, ResourceChange, Risk,
};
use serde_json::json;

/// An empty plan for `mita` / `staging`.
pub fn empty() -> Plan {
    Plan {
        plinth_version: "0.0.0-test".to_string(),
        config_hash: "0".repeat(64),
        state_lineage: Some("lineage-test".to_string()),
        state_serial: Some(7),
        ..Plan::new("mita", "staging")
    }
}

/// A change with no diffs.
pub fn change(address: &str, action: Action) -> ResourceChange {
    let type_name = address.split('.').next().unwrap_or(address).to_string();
    let provider = type_name.split('_').next().unwrap_or("sim").to_string();
    ResourceChange::new(address, &type_name, &provider, action)
}

/// A diff of one attribute.
pub fn diff(path: &str, before: DiffValue, after: DiffValue) -> AttributeDiff {
    AttributeDiff {
        path: path.to_string(),
        before,
        after,
        forces_replacement: false,
    }
}

/// A known value.
pub fn known(value: serde_json::Value) -> DiffValue {
    DiffValue::Known(value)
}

/// Two creates, one with values known only after apply.
pub fn create_only() -> Plan {
    let mut plan = empty();
    plan.state_lineage = None;
    plan.state_serial = None;
    let mut bucket = change("aws_s3_bucket.backups", Action::Create);
    bucket.diffs = vec![
        diff(
            "bucket",
            DiffValue::Absent,
            known(json!("mita-staging-backups")),
        ),
        diff("versioning", DiffValue::Absent, known(json!(true))),
        diff("tags.team", DiffValue::Absent, known(json!("core"))),
        diff("arn", DiffValue::Absent, DiffValue::Unknown),
    ];
    let mut namespace = change("kubernetes_namespace.app", Action::Create);
    namespace.diffs = vec![
        diff("name", DiffValue::Absent, known(json!("mita-staging"))),
        diff("uid", DiffValue::Absent, DiffValue::Unknown),
    ];
    plan.changes = vec![bucket, namespace];
    plan.outputs = vec![OutputChange {
        name: "backup_bucket".to_string(),
        before: DiffValue::Absent,
        after: known(json!("mita-staging-backups")),
    }];
    plan
}

/// The database replaced (data loss), a load balancer deleted (downtime), an update, a
/// create, unchanged resources, drift and an output.
pub fn mixed() -> Plan {
    let mut plan = empty();
    let mut db = change("aws_rds_instance.primary", Action::REPLACE);
    db.reason = Some("`engine_version` forces replacement".to_string());
    db.forced_by = vec!["engine_version".to_string()];
    db.risk = Some(Risk::DataLoss);
    db.diffs = vec![
        AttributeDiff {
            forces_replacement: true,
            ..diff("engine_version", known(json!("14.9")), known(json!("15.5")))
        },
        diff(
            "master_password",
            DiffValue::Sensitive,
            DiffValue::Sensitive,
        ),
        diff(
            "endpoint",
            known(json!("mita-staging-db.abc.rds.amazonaws.com")),
            DiffValue::Unknown,
        ),
    ];
    let mut lb = change("aws_lb.public", Action::Delete);
    lb.reason = Some("not in the configuration".to_string());
    lb.risk = Some(Risk::Downtime);
    lb.diffs = vec![diff(
        "name",
        known(json!("mita-staging-lb")),
        DiffValue::Absent,
    )];
    let mut cache = change("aws_elasticache_replication_group.cache", Action::Update);
    cache.diffs = vec![
        diff("replicas_per_node_group", known(json!(1)), known(json!(2))),
        diff("tags.owner", DiffValue::Absent, known(json!("platform"))),
    ];
    let mut app = change("app_release.backend", Action::Create);
    app.dependencies = vec!["aws_rds_instance.primary".to_string()];
    app.diffs = vec![
        diff(
            "image",
            DiffValue::Absent,
            known(json!("ghcr.io/mita-finance/backend:v1.2.0")),
        ),
        diff("env.DATABASE_URL", DiffValue::Absent, DiffValue::Sensitive),
        diff("replicas", DiffValue::Absent, known(json!(3))),
    ];
    let bucket = change("aws_s3_bucket.backups", Action::NoOp);
    plan.changes = vec![bucket, db, cache, app, lb];
    plan.drift = vec![Drift {
        address: "aws_elasticache_replication_group.cache".to_string(),
        type_name: "aws_elasticache_replication_group".to_string(),
        deleted: false,
        diffs: vec![diff(
            "tags.team",
            known(json!("core")),
            known(json!("intruder")),
        )],
    }];
    plan.outputs = vec![OutputChange {
        name: "database_endpoint".to_string(),
        before: known(json!("mita-staging-db.abc.rds.amazonaws.com")),
        after: DiffValue::Unknown,
    }];
    plan
}

/// A refresh-only plan: one resource changed, one deleted outside Plinth.
pub fn drift_only() -> Plan {
    let mut plan = empty();
    plan.refresh_only = true;
    plan.changes = vec![
        change("aws_s3_bucket.backups", Action::NoOp),
        change("aws_rds_instance.primary", Action::NoOp),
    ];
    plan.drift = vec![
        Drift {
            address: "aws_rds_instance.primary".to_string(),
            type_name: "aws_rds_instance".to_string(),
            deleted: false,
            diffs: vec![
                diff("backup_retention_days", known(json!(7)), known(json!(1))),
                diff(
                    "deletion_protection",
                    known(json!(true)),
                    known(json!(false)),
                ),
            ],
        },
        Drift {
            address: "aws_s3_bucket.backups".to_string(),
            type_name: "aws_s3_bucket".to_string(),
            deleted: true,
            diffs: Vec::new(),
        },
    ];
    plan
}

/// Secrets changing: masked on both sides, in resources and outputs.
pub fn sensitive() -> Plan {
    let mut plan = empty();
    let mut secret = change("kubernetes_secret.app", Action::Update);
    secret.diffs = vec![
        diff(
            "data.JWT_SECRET",
            DiffValue::Sensitive,
            DiffValue::Sensitive,
        ),
        diff("data.SENTRY_DSN", DiffValue::Absent, DiffValue::Sensitive),
        diff(
            "data.LOG_LEVEL",
            known(json!("info")),
            known(json!("debug")),
        ),
    ];
    plan.changes = vec![secret];
    plan.outputs = vec![OutputChange {
        name: "jwt_secret".to_string(),
        before: DiffValue::Sensitive,
        after: DiffValue::Sensitive,
    }];
    plan.warnings = vec![
        "secret `sentry_dsn` is unresolved: environment variable SENTRY_DSN is not set".to_string(),
    ];
    plan
}

/// `count` changes, each with a few attributes: every hundredth a replaced database (data
/// loss), the rest creates.
pub fn large(count: usize) -> Plan {
    let mut plan = empty();
    for i in 0..count {
        let mut c = if i % 100 == 0 {
            let mut c = change(&format!("aws_rds_instance.db[{i}]"), Action::REPLACE);
            c.risk = Some(Risk::DataLoss);
            c.forced_by = vec!["engine_version".to_string()];
            c.reason = Some("`engine_version` forces replacement".to_string());
            c
        } else {
            change(&format!("sim_resource.worker[{i}]"), Action::Create)
        };
        c.diffs = vec![
            diff(
                "name",
                DiffValue::Absent,
                known(json!(format!("worker-{i}"))),
            ),
            diff("size", DiffValue::Absent, known(json!(i))),
            diff("tags.team", DiffValue::Absent, known(json!("core"))),
            diff("id", DiffValue::Absent, DiffValue::Unknown),
        ];
        plan.changes.push(c);
    }
    plan
}
