//! `aws_lb`, `aws_lb_target_group`, `aws_lb_listener` and `aws_lb_listener_rule` against moto.

use plinth_provider::{Object, ReadItem, Value};
use plinth_testkit::moto::{Fault, FaultKind, Network};

use crate::support::*;

fn alb(name: &str, network: &Network) -> Object {
    obj(vec![
        ("name", s(name)),
        ("internal", Value::Bool(false)),
        ("load_balancer_type", s("application")),
        ("subnets", strings(&network.subnet_ids)),
        ("security_groups", list(&[&network.security_group_id])),
        ("idle_timeout", Value::Int(60)),
        ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
    ])
}

fn target_group(name: &str, network: &Network) -> Object {
    obj(vec![
        ("name", s(name)),
        ("protocol", s("HTTP")),
        ("port", Value::Int(8000)),
        ("vpc_id", s(&network.vpc_id)),
        ("target_type", s("ip")),
        (
            "health_check",
            Value::Map(obj(vec![
                ("path", s("/health")),
                ("matcher", s("200")),
                ("interval", Value::Int(15)),
            ])),
        ),
    ])
}

fn forward(arn: &str) -> Value {
    Value::Map(obj(vec![
        ("type", s("forward")),
        ("target_group_arn", s(arn)),
    ]))
}

#[tokio::test]
async fn load_balancer_conformance_and_wait() {
    let env = Env::new().await;
    let network = env.network();
    moto().hold(&env.account, "elbv2", "create", None, 2);
    let rec = Recorder::default();
    let created = env
        .resource("aws_lb")
        .create(&ctx(&rec), &alb("held-alb", &network))
        .await
        .unwrap();
    assert!(
        rec.lines().iter().any(|l| l.contains("now: provisioning")),
        "{:?}",
        rec.lines()
    );
    assert!(created.attributes["dns_name"].as_str().is_some());
    conformance(
        &env,
        "aws_lb",
        alb("mita-alb", &network),
        vec![
            ("idle_timeout", Value::Int(120)),
            ("tags", Value::Map(obj(vec![("team", s("platform"))]))),
        ],
    )
    .await;
}

#[tokio::test]
async fn target_group_conformance() {
    let env = Env::new().await;
    let network = env.network();
    conformance(
        &env,
        "aws_lb_target_group",
        target_group("mita-backend", &network),
        vec![
            (
                "health_check",
                Value::Map(obj(vec![("path", s("/ready")), ("matcher", s("200-299"))])),
            ),
            ("tags", Value::Map(obj(vec![("team", s("mita"))]))),
        ],
    )
    .await;
}

#[tokio::test]
async fn target_groups_refresh_in_batches_and_show_drift() {
    let env = Env::new().await;
    let network = env.network();
    let groups = env.resource("aws_lb_target_group");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(
            groups
                .create(&cx, &target_group(&format!("tg-{i}"), &network))
                .await
                .unwrap(),
        );
    }
    env.provider
        .clients()
        .elbv2
        .modify_target_group()
        .target_group_arn(&created[1].id)
        .health_check_path("/changed")
        .send()
        .await
        .unwrap();
    moto().reset_call_counts(&env.account);
    moto().inject_fault(
        &env.account,
        &Fault {
            action: "DescribeTargetGroups".into(),
            kind: FaultKind::Throttle,
            count: 1,
        },
    );
    let items: Vec<ReadItem<'_>> = created
        .iter()
        .map(|c| ReadItem {
            id: &c.id,
            prior: &c.attributes,
        })
        .collect();
    let live = groups.read_many(&cx, &items).await.unwrap();
    let health = live[1].as_ref().unwrap()["health_check"]
        .as_map()
        .unwrap()
        .clone();
    assert_eq!(health["path"], s("/changed"));
    assert_eq!(
        env.calls("elbv2:DescribeTargetGroups"),
        2,
        "one throttled attempt, one page"
    );
    assert_eq!(env.calls("elbv2:DescribeTags"), 1);
    let recovered = groups
        .recover(&cx, &target_group("tg-2", &network))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recovered.id, created[2].id);
}

#[tokio::test]
async fn https_listener_redirect_listener_and_rule() {
    let env = Env::new().await;
    let network = env.network();
    let certificate = moto().import_certificate(&env.account, REGION, "mita.test");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let lb = env
        .resource("aws_lb")
        .create(&cx, &alb("edge", &network))
        .await
        .unwrap();
    let tg = env
        .resource("aws_lb_target_group")
        .create(&cx, &target_group("app", &network))
        .await
        .unwrap();

    let https = obj(vec![
        ("load_balancer_arn", s(&lb.id)),
        ("port", Value::Int(443)),
        ("protocol", s("HTTPS")),
        ("certificate_arn", s(&certificate)),
        ("ssl_policy", s("ELBSecurityPolicy-TLS13-1-2-2021-06")),
        ("default_action", forward(&tg.id)),
    ]);
    let listeners = env.resource("aws_lb_listener");
    let created = listeners.create(&cx, &https).await.unwrap();
    assert_inputs(&https, &created.attributes);
    let live = listeners
        .read(&cx, &created.id, &created.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_inputs(&https, &live);
    let fixed = Value::Map(obj(vec![
        ("type", s("fixed_response")),
        (
            "fixed_response",
            Value::Map(obj(vec![
                ("status_code", s("503")),
                ("content_type", s("text/plain")),
                ("message_body", s("maintenance")),
            ])),
        ),
    ]));
    let (changed, names) = with(&https, vec![("default_action", fixed)]);
    let updated = listeners
        .update(&cx, &created.id, &live, &changed, &names)
        .await
        .unwrap();
    assert_inputs(&changed, &updated);

    let redirect = obj(vec![
        ("load_balancer_arn", s(&lb.id)),
        ("port", Value::Int(80)),
        ("protocol", s("HTTP")),
        (
            "default_action",
            Value::Map(obj(vec![
                ("type", s("redirect")),
                (
                    "redirect",
                    Value::Map(obj(vec![
                        ("protocol", s("HTTPS")),
                        ("port", s("443")),
                        ("status_code", s("HTTP_301")),
                    ])),
                ),
            ])),
        ),
    ]);
    let http = listeners.create(&cx, &redirect).await.unwrap();
    let items = [
        ReadItem {
            id: &created.id,
            prior: &updated,
        },
        ReadItem {
            id: &http.id,
            prior: &http.attributes,
        },
    ];
    moto().reset_call_counts(&env.account);
    let live = listeners.read_many(&cx, &items).await.unwrap();
    assert_inputs(&redirect, live[1].as_ref().unwrap());
    assert_eq!(env.calls("elbv2:DescribeListeners"), 1);
    assert_eq!(
        listeners.recover(&cx, &redirect).await.unwrap().unwrap().id,
        http.id
    );

    let rule_desired = obj(vec![
        ("listener_arn", s(&created.id)),
        ("priority", Value::Int(10)),
        (
            "conditions",
            Value::Map(obj(vec![("host_header", list(&["api.mita.test"]))])),
        ),
        ("action", forward(&tg.id)),
    ]);
    // An imported rule knows its listener (no forced replacement after `plinth import`).
    let rules = env.resource("aws_lb_listener_rule");
    let mut other = rule_desired.clone();
    other.insert("priority".into(), Value::Int(99));
    let rule = rules.create(&cx, &other).await.unwrap();
    let imported = rules.import(&cx, &rule.id).await.unwrap().unwrap();
    assert_inputs(&other, &imported);
    rules.delete(&cx, &rule.id, &rule.attributes).await.unwrap();
    conformance(
        &env,
        "aws_lb_listener_rule",
        rule_desired,
        vec![
            ("priority", Value::Int(20)),
            (
                "conditions",
                Value::Map(obj(vec![
                    ("host_header", list(&["api.mita.test"])),
                    ("path_pattern", list(&["/v1/*"])),
                ])),
            ),
        ],
    )
    .await;

    listeners
        .delete(&cx, &http.id, &http.attributes)
        .await
        .unwrap();
    listeners.delete(&cx, &created.id, &updated).await.unwrap();
    assert!(listeners
        .read(&cx, &created.id, &updated)
        .await
        .unwrap()
        .is_none());
    // moto keeps a target group "in use" until its load balancer is gone: LB first.
    env.resource("aws_lb")
        .delete(&cx, &lb.id, &lb.attributes)
        .await
        .unwrap();
    env.resource("aws_lb_target_group")
        .delete(&cx, &tg.id, &tg.attributes)
        .await
        .unwrap();
}
