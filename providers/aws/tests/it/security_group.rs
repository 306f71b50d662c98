//! `aws_security_group` against moto (the launcher answers `DependencyViolation` for a group
//! in use, as AWS does).

use std::time::Duration;

use plinth_provider::{ReadItem, Value};
use plinth_testkit::moto::{Fault, FaultKind};

use crate::support::*;

fn rule(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(obj(pairs))
}

fn tcp(port: i64, cidrs: &[&str], description: &str) -> Value {
    rule(vec![
        ("protocol", s("tcp")),
        ("from_port", Value::Int(port)),
        ("to_port", Value::Int(port)),
        ("cidr_blocks", list(cidrs)),
        ("description", s(description)),
    ])
}

#[tokio::test]
async fn security_group_conformance() {
    let env = Env::new().await;
    let network = env.network();
    let desired = obj(vec![
        ("name", s("mita-alb")),
        ("description", s("MITA load balancer")),
        ("vpc_id", s(&network.vpc_id)),
        (
            "ingress",
            Value::List(vec![tcp(443, &["0.0.0.0/0"], "HTTPS")]),
        ),
        ("egress", Value::List(vec![])),
        ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
    ]);
    conformance(
        &env,
        "aws_security_group",
        desired,
        vec![
            (
                "ingress",
                Value::List(vec![
                    tcp(443, &["0.0.0.0/0"], "HTTPS"),
                    tcp(80, &["0.0.0.0/0"], "HTTP redirect"),
                ]),
            ),
            (
                "egress",
                Value::List(vec![tcp(80, &["10.42.0.0/16"], "to the pods")]),
            ),
            ("tags", Value::Map(obj(vec![("team", s("platform"))]))),
        ],
    )
    .await;
}

/// Rule added → rule removed → a rule added outside Plinth shows as drift and is revoked,
/// the group keeping its id throughout; AWS's default egress is revoked on create.
#[tokio::test]
async fn rules_change_in_place_and_drift_is_shown_then_revoked() {
    let env = Env::new().await;
    let network = env.network();
    let groups = env.resource("aws_security_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let ec2 = &env.provider.clients().ec2;
    let one = obj(vec![
        ("name", s("mita-db")),
        ("vpc_id", s(&network.vpc_id)),
        (
            "ingress",
            Value::List(vec![tcp(5432, &["10.42.0.0/24"], "PostgreSQL")]),
        ),
    ]);
    let created = groups.create(&cx, &one).await.unwrap();
    let id = created.id.clone();
    assert!(id.starts_with("sg-"), "{id}");
    assert_eq!(created.attributes["egress"], Value::Null);
    let live = ec2
        .describe_security_groups()
        .group_ids(&id)
        .send()
        .await
        .unwrap();
    let group = &live.security_groups()[0];
    assert!(
        group.ip_permissions_egress().is_empty(),
        "the default allow-all egress stays: {:?}",
        group.ip_permissions_egress()
    );
    assert_eq!(
        group.ip_permissions()[0].ip_ranges()[0].description(),
        Some("PostgreSQL")
    );

    // Rule added (a second range on the same port, and a new port), then removed.
    let two = {
        let mut d = one.clone();
        d.insert(
            "ingress".into(),
            Value::List(vec![
                tcp(5432, &["10.42.0.0/24", "10.42.1.0/24"], "PostgreSQL"),
                tcp(6432, &["10.42.0.0/24"], "PgBouncer"),
            ]),
        );
        d
    };
    let after = groups
        .update(&cx, &id, &created.attributes, &two, &["ingress".into()])
        .await
        .unwrap();
    assert_inputs(&two, &after);
    let after = groups
        .update(&cx, &id, &after, &one, &["ingress".into()])
        .await
        .unwrap();
    assert_inputs(&one, &after);

    // Drift: SSH opened in the console, and the PostgreSQL description edited.
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    let live = groups.read(&cx, &id, &after).await.unwrap().unwrap();
    let Value::List(rules) = &live["ingress"] else {
        panic!("rules: {:?}", live["ingress"])
    };
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0], tcp(5432, &["10.42.0.0/24"], "PostgreSQL"));
    assert_eq!(
        rules[1],
        rule(vec![
            ("protocol", s("tcp")),
            ("from_port", Value::Int(22)),
            ("to_port", Value::Int(22)),
            ("cidr_blocks", list(&["0.0.0.0/0"])),
        ])
    );
    // The next apply revokes it; the group is the same group.
    let fixed = groups
        .update(&cx, &id, &live, &one, &["ingress".into()])
        .await
        .unwrap();
    assert_eq!(fixed["id"], s(&id));
    let live = groups.read(&cx, &id, &fixed).await.unwrap().unwrap();
    assert_no_op(groups.schema(), &one, &live);

    groups.delete(&cx, &id, &live).await.unwrap();
    assert!(groups.read(&cx, &id, &live).await.unwrap().is_none());
}

/// A rule from another group by id; refresh of many groups in one call; a deleted group
/// reads as gone; a group in use is deleted once its user lets go.
#[tokio::test]
async fn groups_refer_to_groups_refresh_in_one_call_and_delete_waits_for_users() {
    let env = Env::new().await;
    let network = env.network();
    let groups = env.resource("aws_security_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let app = groups
        .create(
            &cx,
            &obj(vec![
                ("name", s("mita-app")),
                ("vpc_id", s(&network.vpc_id)),
                (
                    "egress",
                    Value::List(vec![tcp(5432, &["10.42.0.0/16"], "PostgreSQL")]),
                ),
            ]),
        )
        .await
        .unwrap();
    let db_desired = obj(vec![
        ("name", s("mita-db")),
        ("vpc_id", s(&network.vpc_id)),
        (
            "ingress",
            Value::List(vec![rule(vec![
                ("from_port", Value::Int(5432)),
                ("to_port", Value::string("5432")),
                ("security_groups", list(&[&app.id])),
                ("description", s("from the app")),
            ])]),
        ),
        ("egress", Value::List(vec![])),
    ]);
    let db = groups.create(&cx, &db_desired).await.unwrap();
    let live = groups
        .read(&cx, &db.id, &db.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_no_op(groups.schema(), &db_desired, &live);

    let mut extra = Vec::new();
    for i in 0..3 {
        extra.push(
            groups
                .create(
                    &cx,
                    &obj(vec![
                        ("name", s(&format!("g{i}"))),
                        ("vpc_id", s(&network.vpc_id)),
                    ]),
                )
                .await
                .unwrap(),
        );
    }
    groups
        .delete(&cx, &extra[2].id, &extra[2].attributes)
        .await
        .unwrap();
    moto().reset_call_counts(&env.account);
    let all: Vec<_> = [&app, &db].into_iter().chain(extra.iter()).collect();
    let items: Vec<ReadItem<'_>> = all
        .iter()
        .map(|c| ReadItem {
            id: &c.id,
            prior: &c.attributes,
        })
        .collect();
    let read = groups.read_many(&cx, &items).await.unwrap();
    assert_eq!(env.calls("ec2:DescribeSecurityGroups"), 1);
    assert!(read[..4].iter().all(Option::is_some));
    assert!(read[4].is_none(), "a deleted group reads as gone");

    // The app group is in use by the db group's rule: its delete waits (DependencyViolation)
    // and finishes once the db group is gone.
    let short = plinth_provider::CallContext {
        timeout: Some(Duration::from_millis(300)),
        ..ctx(&rec)
    };
    let err = groups
        .delete(&short, &app.id, &app.attributes)
        .await
        .unwrap_err();
    assert!(err.message.contains("no dependents"), "{}", err.message);
    let (waited, ()) = tokio::join!(groups.delete(&cx, &app.id, &app.attributes), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        groups.delete(&cx, &db.id, &db.attributes).await.unwrap();
    });
    waited.unwrap();
    assert!(groups
        .read(&cx, &app.id, &app.attributes)
        .await
        .unwrap()
        .is_none());
    assert!(rec.lines().iter().any(|l| l.contains("still in use")));
}

/// After a crash between CreateSecurityGroup and the answer, the group is found by name in
/// its VPC; a group with a rule that has no source is refused before anything is created.
#[tokio::test]
async fn recover_finds_the_group_by_name_and_bad_rules_create_nothing() {
    let env = Env::new().await;
    let network = env.network();
    let groups = env.resource("aws_security_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let desired = obj(vec![
        ("name", s("mita-cache")),
        ("vpc_id", s(&network.vpc_id)),
    ]);
    assert!(groups.recover(&cx, &desired).await.unwrap().is_none());
    let created = groups.create(&cx, &desired).await.unwrap();
    let found = groups.recover(&cx, &desired).await.unwrap().unwrap();
    assert_eq!(found.id, created.id);

    let bad = obj(vec![
        ("name", s("mita-bad")),
        ("vpc_id", s(&network.vpc_id)),
        (
            "ingress",
            Value::List(vec![rule(vec![
                ("from_port", Value::Int(1)),
                ("to_port", Value::Int(1)),
            ])]),
        ),
    ]);
    let err = groups.create(&cx, &bad).await.unwrap_err();
    assert!(err.message.contains("ingress[0]"), "{}", err.message);
    let named: Vec<String> = env
        .provider
        .clients()
        .ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_string))
        .collect();
    assert!(!named.contains(&"mita-bad".to_string()), "{named:?}");
}

/// A provider error after CreateSecurityGroup (AuthorizeSecurityGroupIngress answers 500 on
/// every one of the SDK's attempts): the create fails, the group it made is found again by name, and
/// updating it to the desired rules converges — no second group, no orphan.
#[tokio::test]
async fn a_failed_rule_call_after_create_leaves_a_group_recover_finds_and_update_converges() {
    let env = Env::new().await;
    let network = env.network();
    let groups = env.resource("aws_security_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let desired = obj(vec![
        ("name", s("mita-db")),
        ("vpc_id", s(&network.vpc_id)),
        (
            "ingress",
            Value::List(vec![tcp(5432, &["10.42.0.0/24"], "PostgreSQL")]),
        ),
        ("egress", Value::List(vec![])),
    ]);
    moto().inject_fault(
        &env.account,
        &Fault {
            action: "AuthorizeSecurityGroupIngress".into(),
            kind: FaultKind::ServerError,
            // max_attempts = 4 in the test settings: exactly one failed call.
            count: 4,
        },
    );
    let err = groups.create(&cx, &desired).await.unwrap_err();
    assert!(
        err.message.contains("AuthorizeSecurityGroupIngress"),
        "{}",
        err.message
    );
    let found = groups
        .recover(&cx, &desired)
        .await
        .unwrap()
        .expect("the group the failed create made");
    let after = groups
        .update(
            &cx,
            &found.id,
            &found.attributes,
            &desired,
            &["ingress".into()],
        )
        .await
        .unwrap();
    assert_inputs(&desired, &after);
    let named = env
        .provider
        .clients()
        .ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
        .iter()
        .filter(|g| g.group_name() == Some("mita-db"))
        .count();
    assert_eq!(named, 1);
}
