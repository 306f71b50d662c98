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

/// One change of each readable-diff shape (issue 13): a multi-line script, a JSON bucket
/// policy, a Deployment's containers matched by name, a big create, a replace, a key with a
/// dot, and secrets inside a nested value.
pub fn shapes() -> Plan {
    let mut plan = empty();
    let script_before = "#!/bin/sh\nset -e\nexport A=1\nexport B=2\nexport C=3\nexport D=4\nexport E=5\nexport F=6\nexec /app/server\n";
    let script_after = "#!/bin/sh\nset -eu\nexport A=1\nexport B=2\nexport C=3\nexport D=4\nexport E=5\nexport F=6\nexec /app/server --port 8080\n";
    let mut script = change("sim_resource.boot", Action::Update);
    script.diffs = vec![diff(
        "user_data",
        known(json!(script_before)),
        known(json!(script_after)),
    )];

    let policy = |action: &str| {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "ReadOnly",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
                "Action": action,
                "Resource": "arn:aws:s3:::mita-backups/*",
            }, {
                "Sid": "DenyInsecure",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::mita-backups/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }],
        })
        .to_string()
    };
    let mut bucket_policy = change("aws_s3_bucket_policy.backups", Action::Update);
    bucket_policy.diffs = vec![
        diff(
            "policy",
            known(json!(policy("s3:GetObject"))),
            known(json!(policy("s3:*"))),
        ),
        diff(
            "broken",
            known(json!("{not json\nline 2\n")),
            known(json!("{not json\nline two\n")),
        ),
    ];

    let containers = |level: &str, image: &str, extra_port: bool| {
        let mut ports = vec![json!({"name": "http", "containerPort": 8080})];
        if extra_port {
            ports.push(json!({"name": "metrics", "containerPort": 9090}));
        }
        json!([
            {
                "name": "app",
                "image": image,
                "env": [
                    {"name": "LOG_LEVEL", "value": level},
                    {"name": "PORT", "value": "8080"},
                    {"name": "REGION", "value": "eu-west-1"},
                ],
                "ports": ports,
            },
            {"name": "sidecar", "image": "envoy:1.30"},
        ])
    };
    let mut deployment = change("k8s_object.backend", Action::Update);
    deployment.diffs = vec![diff(
        "manifest.spec.template.spec.containers",
        known(containers("info", "backend:v1", false)),
        known(containers("debug", "backend:v2", true)),
    )];
    // A list holding a secret is diffed element-wise by the planner: only the leaf is masked.
    let mut worker = change("k8s_object.worker", Action::Update);
    worker.diffs = vec![
        diff(
            r#"manifest.spec.template.spec.containers[name="worker"].env[name="DB_PASSWORD"].value"#,
            DiffValue::Sensitive,
            DiffValue::Sensitive,
        ),
        diff(
            r#"manifest.spec.template.spec.containers[name="worker"].env[name="LOG_LEVEL"].value"#,
            known(json!("info")),
            known(json!("debug")),
        ),
    ];

    let rules: Vec<serde_json::Value> = (0..40)
        .map(|i| json!({"alert": format!("Alert{i}"), "expr": format!("rate(errors_total[5m]) > {i}"), "for": "5m"}))
        .collect();
    let mut rule = change("k8s_object.alerts", Action::Create);
    rule.diffs = vec![
        diff(
            "manifest.kind",
            DiffValue::Absent,
            known(json!("PrometheusRule")),
        ),
        diff(
            "manifest.spec",
            DiffValue::Absent,
            known(json!({"groups": [{"name": "mita", "rules": rules}]})),
        ),
    ];

    let mut db = change("aws_rds_instance.primary", Action::REPLACE_CBD);
    db.reason = Some("`engine` forces replacement".to_string());
    db.diffs = vec![
        AttributeDiff {
            forces_replacement: true,
            ..diff("engine", known(json!("mysql")), known(json!("postgres")))
        },
        diff(
            "parameters",
            known(
                json!({"max_connections": "100", "sql_mode": "STRICT_ALL_TABLES", "innodb_buffer_pool_size": "134217728", "character_set_server": "utf8mb4"}),
            ),
            DiffValue::Absent,
        ),
    ];

    let nginx_before =
        "server {\n  listen 80;\n  location / {\n    proxy_pass http://backend;\n  }\n}\n";
    let nginx_after =
        "server {\n  listen 8080;\n  location / {\n    proxy_pass http://backend;\n  }\n}\n";
    let mut config_map = change("k8s_object.nginx", Action::Update);
    config_map.diffs = vec![
        diff(
            "manifest.data.\"nginx.conf\"",
            known(json!(nginx_before)),
            known(json!(nginx_after)),
        ),
        diff(
            "manifest.metadata.labels.\"app.kubernetes.io/version\"",
            known(json!("1.0")),
            known(json!("1.1")),
        ),
    ];

    let mut secret = change("app_release.backend", Action::Update);
    secret.diffs = vec![
        diff(
            "env.DATABASE_URL",
            DiffValue::Sensitive,
            DiffValue::Sensitive,
        ),
        diff("env.LOG_LEVEL", known(json!("info")), known(json!("debug"))),
        diff("env.\"app.token\"", DiffValue::Absent, DiffValue::Sensitive),
    ];

    plan.changes = vec![
        script,
        bucket_policy,
        deployment,
        worker,
        rule,
        db,
        config_map,
        secret,
    ];
    plan
}
