//! The factory: schemas without network, configuration errors, rate limit settings.

use plinth_aws::AwsFactory;
use plinth_provider::{ErrorKind, ProviderConfig, ProviderFactory, Value};

use crate::support::*;

#[test]
fn schemas_need_no_network_and_mark_risks() {
    let schemas = AwsFactory.schemas();
    let names: Vec<&str> = schemas.iter().map(|s| s.type_name.as_str()).collect();
    for expected in [
        "aws_rds_instance",
        "aws_rds_subnet_group",
        "aws_rds_parameter_group",
        "aws_elasticache_replication_group",
        "aws_elasticache_subnet_group",
        "aws_s3_bucket",
        "aws_lb",
        "aws_lb_target_group",
        "aws_lb_listener",
        "aws_lb_listener_rule",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let rds = schemas
        .iter()
        .find(|s| s.type_name == "aws_rds_instance")
        .unwrap();
    assert!(rds.stateful);
    assert!(rds.get("identifier").unwrap().force_new);
    assert!(rds.get("master_password").unwrap().sensitive);
    assert!(
        schemas
            .iter()
            .find(|s| s.type_name == "aws_lb")
            .unwrap()
            .serves_traffic
    );
    assert_eq!(AwsFactory.name(), "aws");
}

#[tokio::test]
async fn configure_rejects_bad_settings() {
    let mut config = ProviderConfig::default();
    config.settings.insert("region".into(), s("us-east-1"));
    config.settings.insert("retry_mode".into(), s("sometimes"));
    let err = AwsFactory
        .configure(&config)
        .await
        .err()
        .expect("bad retry mode");
    assert_eq!(err.kind, ErrorKind::Config);
    config.settings.remove("retry_mode");
    config.settings.insert("access_key_id".into(), s("AKID"));
    assert!(
        AwsFactory.configure(&config).await.is_err(),
        "key without secret"
    );
}

#[tokio::test]
async fn token_bucket_limits_requests_per_second() {
    let env = Env::with(|settings| {
        let rates = obj(vec![("rds", Value::Int(5))]);
        settings.insert("requests_per_second".into(), Value::Map(rates));
    })
    .await;
    let rds = env.resource("aws_rds_instance");
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let start = std::time::Instant::now();
    for _ in 0..10 {
        rds.read(&cx, "missing", &Default::default()).await.unwrap();
    }
    // 5 from the burst, 5 more at 5/s: about one second.
    let elapsed = start.elapsed();
    assert!(
        elapsed >= std::time::Duration::from_millis(800),
        "{elapsed:?}"
    );
}
