//! `aws_rds_subnet_group` and `aws_rds_parameter_group` against moto.

use plinth_provider::{ReadItem, Value};
use plinth_testkit::moto::{Fault, FaultKind};

use crate::support::*;

#[tokio::test]
async fn subnet_group_conformance() {
    let env = Env::new().await;
    let network = env.network();
    let desired = obj(vec![
        ("name", s("mita-db-subnets")),
        ("description", s("MITA database subnets")),
        ("subnet_ids", strings(&network.subnet_ids)),
        ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
    ]);
    // Regression: moto's ModifyDBSubnetGroup deleted the group (fixed in the launcher).
    conformance(
        &env,
        "aws_rds_subnet_group",
        desired,
        vec![
            ("description", s("changed")),
            ("subnet_ids", strings(&network.subnet_ids[..1])),
            ("tags", Value::Map(obj(vec![]))),
        ],
    )
    .await;
}

#[tokio::test]
async fn subnet_groups_refresh_in_one_page_and_drift_shows() {
    let env = Env::new().await;
    let network = env.network();
    let groups = env.resource("aws_rds_subnet_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let mut created = Vec::new();
    for i in 0..5 {
        let desired = obj(vec![
            ("name", s(&format!("g{i}"))),
            ("subnet_ids", strings(&network.subnet_ids)),
        ]);
        created.push(groups.create(&cx, &desired).await.unwrap());
    }
    env.provider
        .clients()
        .rds
        .modify_db_subnet_group()
        .db_subnet_group_name("g0")
        .db_subnet_group_description("changed by hand")
        .set_subnet_ids(Some(network.subnet_ids.clone()))
        .send()
        .await
        .unwrap();
    moto().reset_call_counts(&env.account);
    let items: Vec<ReadItem<'_>> = created
        .iter()
        .map(|c| ReadItem {
            id: &c.id,
            prior: &c.attributes,
        })
        .collect();
    let live = groups.read_many(&cx, &items).await.unwrap();
    assert_eq!(
        live[0].as_ref().unwrap()["description"],
        s("changed by hand")
    );
    assert_eq!(env.calls("rds:DescribeDBSubnetGroups"), 1);
}

#[tokio::test]
async fn parameter_group_conformance() {
    let env = Env::new().await;
    let desired = obj(vec![
        ("name", s("mita-pg15")),
        ("family", s("postgres15")),
        ("description", s("MITA parameters")),
        (
            "parameters",
            Value::Map(obj(vec![
                ("log_min_duration_statement", s("500")),
                ("rds.force_ssl", s("1")),
            ])),
        ),
        ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
    ]);
    conformance(
        &env,
        "aws_rds_parameter_group",
        desired,
        vec![
            (
                "parameters",
                Value::Map(obj(vec![("log_min_duration_statement", s("250"))])),
            ),
            ("tags", Value::Map(obj(vec![("team", s("platform"))]))),
        ],
    )
    .await;
}

#[tokio::test]
async fn parameter_group_survives_server_errors() {
    let env = Env::new().await;
    moto().inject_fault(
        &env.account,
        &Fault {
            action: "CreateDBParameterGroup".into(),
            kind: FaultKind::ServerError,
            count: 1,
        },
    );
    let rec = Recorder::default();
    let desired = obj(vec![("name", s("flaky")), ("family", s("postgres15"))]);
    let created = env
        .resource("aws_rds_parameter_group")
        .create(&ctx(&rec), &desired)
        .await
        .expect("retried");
    assert_eq!(created.id, "flaky");
    assert_eq!(env.calls("rds:CreateDBParameterGroup"), 2);
}
