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

#[tokio::test]
async fn endpoint_from_the_environment_is_honoured_with_path_style_s3() {
    // Only this test reads AWS_ENDPOINT_URL: every other one sets `endpoint_url` explicitly.
    std::env::set_var("AWS_ENDPOINT_URL", moto().endpoint());
    let account = moto().new_account();
    let mut config = ProviderConfig::default();
    config.settings.insert("region".into(), s(REGION));
    config
        .settings
        .insert("access_key_id".into(), s(&account.access_key_id()));
    config
        .settings
        .insert("secret_access_key".into(), s(&account.secret_access_key()));
    let provider = AwsFactory.configure(&config).await.expect("configure");
    let buckets = provider.resource("aws_s3_bucket").expect("bucket type");
    let rec = Recorder::default();
    let name = format!("env-endpoint-{}", account.id);
    let created = buckets
        .create(&ctx(&rec), &obj(vec![("bucket", s(&name))]))
        .await
        .expect("create through env endpoint");
    assert_eq!(
        created.attributes["arn"],
        s(&format!("arn:aws:s3:::{name}"))
    );
    let counts = moto().call_counts(&account);
    assert!(counts.get("s3:PUT").is_some_and(|n| *n >= 1), "{counts:?}");
}

#[test]
fn readme_stack_example_uses_only_schema_attributes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("# stacks/mita/data.toml")
        .expect("the MITA example");
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("end of the example")];
    let doc: toml::Table = block.parse().expect("the example is valid TOML");
    let schemas = AwsFactory.schemas();
    let mut checked = 0;
    for (type_name, resources) in &doc {
        let schema = schemas
            .iter()
            .find(|s| &s.type_name == type_name)
            .unwrap_or_else(|| panic!("README uses unknown type `{type_name}`"));
        for (name, body) in resources.as_table().unwrap() {
            for key in body.as_table().unwrap().keys() {
                if ["count", "lifecycle", "depends_on"].contains(&key.as_str()) {
                    continue;
                }
                let attribute = schema
                    .get(key)
                    .unwrap_or_else(|| panic!("`{type_name}.{name}.{key}` is not an attribute"));
                assert!(
                    attribute.is_input(),
                    "`{type_name}.{name}.{key}` is computed"
                );
                checked += 1;
            }
            for required in schema
                .attributes
                .iter()
                .filter(|a| a.mode == plinth_provider::AttributeMode::Required)
            {
                assert!(
                    body.as_table().unwrap().contains_key(&required.name),
                    "`{type_name}.{name}` misses required `{}`",
                    required.name
                );
            }
        }
    }
    assert!(checked > 50, "only {checked} attributes checked");
}
