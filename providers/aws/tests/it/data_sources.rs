//! The data sources (`data.aws_vpc`, `data.aws_subnets`, `data.aws_acm_certificate`) against
//! moto: found by tags and domain, one list call per batch, never a write, and a clear error
//! when nothing or several things match.

use std::sync::Arc;

use plinth_provider::{DataRequest, DataSource, ErrorKind, Object, Provider, Value};

use crate::support::*;

fn source(env: &Env, type_name: &str) -> Arc<dyn DataSource> {
    env.provider
        .data_source(type_name)
        .unwrap_or_else(|| panic!("no data source {type_name}"))
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
}

async fn read_one(
    source: &dyn DataSource,
    arguments: Object,
) -> Result<Object, plinth_provider::ProviderError> {
    let request = DataRequest {
        address: "data.test.one",
        arguments: &arguments,
    };
    source.read(&[request]).await.remove(0)
}

fn text(o: &Object, key: &str) -> String {
    o.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no `{key}` in {o:?}"))
        .to_string()
}

fn texts(o: &Object, key: &str) -> Vec<String> {
    o.get(key)
        .and_then(Value::as_list)
        .unwrap_or_else(|| panic!("no `{key}` in {o:?}"))
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_named_network_and_its_certificate_are_found_by_tags_and_domain_in_one_call_per_type() {
    let env = Env::new().await;
    let network = moto().seed_named_network(&env.account, REGION, "mita-staging");
    let certificate = moto().import_certificate(&env.account, REGION, "api.staging.mita.finance");
    moto().reset_call_counts(&env.account);

    // Two VPC lookups (by tag and by id) in one batch: one DescribeVpcs.
    let by_tag = obj(vec![("tags", tags(&[("Name", "mita-staging")]))]);
    let by_id = obj(vec![("id", s(&network.vpc_id))]);
    let vpcs = source(&env, "data.aws_vpc");
    let results = vpcs
        .read(&[
            DataRequest {
                address: "data.aws_vpc.main",
                arguments: &by_tag,
            },
            DataRequest {
                address: "data.aws_vpc.again",
                arguments: &by_id,
            },
        ])
        .await;
    assert_eq!(env.calls("ec2:DescribeVpcs"), 1);
    for result in results {
        let vpc = result.expect("vpc");
        assert_eq!(text(&vpc, "id"), network.vpc_id);
        assert!(text(&vpc, "cidr_block").contains('/'));
        assert!(text(&vpc, "arn").ends_with(&format!("vpc/{}", network.vpc_id)));
    }

    // Subnets of the VPC by tier: the seeded private ones, sorted; the public ones apart.
    let subnets = source(&env, "data.aws_subnets");
    let private = read_one(
        subnets.as_ref(),
        obj(vec![
            ("vpc_id", s(&network.vpc_id)),
            ("tags", tags(&[("Tier", "private")])),
        ]),
    )
    .await
    .expect("private subnets");
    let mut want = network.subnet_ids.clone();
    want.sort();
    assert_eq!(texts(&private, "ids"), want);
    assert_eq!(texts(&private, "availability_zones").len(), 2);
    let public = read_one(
        subnets.as_ref(),
        obj(vec![
            ("vpc_id", s(&network.vpc_id)),
            ("tags", tags(&[("Tier", "public")])),
        ]),
    )
    .await
    .expect("public subnets");
    assert_eq!(texts(&public, "ids").len(), 2);
    assert!(texts(&public, "ids").iter().all(|id| !want.contains(id)));

    // The certificate of the domain, issued.
    let certificates = source(&env, "data.aws_acm_certificate");
    let found = read_one(
        certificates.as_ref(),
        obj(vec![("domain", s("api.staging.mita.finance"))]),
    )
    .await
    .expect("certificate");
    assert_eq!(text(&found, "arn"), certificate);
    assert_eq!(text(&found, "status"), "ISSUED");

    // Lookups never write.
    let writes: Vec<String> = moto()
        .call_counts(&env.account)
        .into_keys()
        .filter(|k| {
            let action = k.split(':').nth(1).unwrap_or_default();
            !(action.starts_with("Describe") || action.starts_with("List"))
        })
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn nothing_or_several_matching_is_an_error_that_names_the_lookup() {
    let env = Env::new().await;
    moto().seed_named_network(&env.account, REGION, "mita-staging");
    moto().seed_named_network(&env.account, REGION, "mita-staging");
    let vpcs = source(&env, "data.aws_vpc");

    let none = read_one(
        vpcs.as_ref(),
        obj(vec![("tags", tags(&[("Name", "mita-nowhere")]))]),
    )
    .await
    .unwrap_err();
    assert_eq!(none.kind, ErrorKind::NotFound);
    assert!(none.message.contains("data.test.one"), "{}", none.message);

    let several = read_one(
        vpcs.as_ref(),
        obj(vec![("tags", tags(&[("Name", "mita-staging")]))]),
    )
    .await
    .unwrap_err();
    assert!(
        several.message.contains("2 VPCs match"),
        "{}",
        several.message
    );

    let no_certificate = read_one(
        source(&env, "data.aws_acm_certificate").as_ref(),
        obj(vec![("domain", s("api.mita.finance"))]),
    )
    .await
    .unwrap_err();
    assert!(
        no_certificate
            .message
            .contains("no certificate for `api.mita.finance`"),
        "{}",
        no_certificate.message
    );
}
