//! Data sources: lookups of what a stack does not own, read during plan and never written.
//!
//! ```toml
//! [data.aws_vpc.main]
//! tags = { Name = "mita-${env}" }             # or id = "vpc-…", cidr_block = "…", default = true
//!
//! [data.aws_subnets.private]
//! vpc_id = "${data.aws_vpc.main.id}"
//! tags   = { Tier = "private" }               # → ids, cidr_blocks, availability_zones
//!
//! [data.aws_acm_certificate.api]
//! domain = "${var.domain}"                    # ISSUED by default; most_recent picks the newest
//! ```
//!
//! Each type reads every lookup of a plan in one batch: one paginated `DescribeVpcs`, one
//! `DescribeSubnets`, one `ListCertificates` per set of statuses, matched here (the pure
//! functions below, unit-tested). A VPC or certificate lookup must match exactly one object
//! (Terraform's rule); a subnet lookup may match none (an empty `ids`), as Terraform's
//! `aws_subnets`. Without credentials every lookup fails with a configuration error, which
//! `plinth plan` turns into values known after apply.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::config::ProvideCredentials;
use plinth_provider::{
    async_trait, Attribute, DataRequest, DataSource, Object, ProviderError, Schema, Value,
    ValueType,
};

use crate::attrs;
use crate::clients::Clients;
use crate::errors::map_sdk;
use crate::tags;

/// How long resolving credentials may take before a lookup gives up (the default chain ends
/// with the instance metadata service, which a laptop or CI runner does not have).
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(5);

/// What a lookup needs to know about a VPC.
#[derive(Clone, Debug, PartialEq)]
pub struct VpcFacts {
    pub id: String,
    pub cidr_block: String,
    pub is_default: bool,
    pub owner_id: String,
    pub tags: BTreeMap<String, String>,
}

/// What a lookup needs to know about a subnet.
#[derive(Clone, Debug, PartialEq)]
pub struct SubnetFacts {
    pub id: String,
    pub vpc_id: String,
    pub cidr_block: String,
    pub availability_zone: String,
    pub tags: BTreeMap<String, String>,
}

/// What a lookup needs to know about a certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct CertificateFacts {
    pub arn: String,
    pub domain: String,
    pub status: String,
    /// Seconds since the epoch it was issued or imported (for `most_recent`).
    pub issued: i64,
}

/// The `tags` argument: every pair must be on the object.
fn tags_match(wanted: &Object, tags: &BTreeMap<String, String>) -> bool {
    attrs::string_map(wanted, "tags")
        .unwrap_or_default()
        .iter()
        .all(|(k, v)| tags.get(k) == Some(v))
}

/// Whether a VPC matches a lookup's arguments (`id`, `cidr_block`, `default`, `tags`).
pub fn vpc_matches(arguments: &Object, vpc: &VpcFacts) -> bool {
    attrs::string(arguments, "id").is_none_or(|id| id == vpc.id)
        && attrs::string(arguments, "cidr_block").is_none_or(|c| c == vpc.cidr_block)
        && attrs::boolean(arguments, "default").is_none_or(|d| d == vpc.is_default)
        && tags_match(arguments, &vpc.tags)
}

/// Whether a subnet matches a lookup's arguments (`vpc_id`, `tags`).
pub fn subnet_matches(arguments: &Object, subnet: &SubnetFacts) -> bool {
    attrs::string(arguments, "vpc_id").is_none_or(|v| v == subnet.vpc_id)
        && tags_match(arguments, &subnet.tags)
}

/// The statuses a certificate lookup accepts (default: `ISSUED`).
pub fn certificate_statuses(arguments: &Object) -> Vec<String> {
    match attrs::strings(arguments, "statuses") {
        Some(list) if !list.is_empty() => {
            let mut list: Vec<String> = list.iter().map(|s| s.to_ascii_uppercase()).collect();
            list.sort();
            list.dedup();
            list
        }
        _ => vec!["ISSUED".to_string()],
    }
}

/// The one certificate of `domain` among `certificates` (already of the wanted statuses):
/// the newest when `most_recent`, else an error when there are several.
pub fn pick_certificate<'a>(
    address: &str,
    arguments: &Object,
    certificates: &'a [CertificateFacts],
) -> Result<&'a CertificateFacts, ProviderError> {
    let domain = attrs::string(arguments, "domain").unwrap_or_default();
    let statuses = certificate_statuses(arguments);
    let found: Vec<&CertificateFacts> = certificates
        .iter()
        .filter(|c| c.domain == domain && statuses.contains(&c.status))
        .collect();
    let most_recent = attrs::boolean(arguments, "most_recent").unwrap_or(false);
    match found.as_slice() {
        [] => Err(ProviderError::not_found(format!(
            "{address}: no certificate for `{domain}` with status {} in ACM",
            statuses.join(" or ")
        ))),
        [one] => Ok(one),
        many if most_recent => Ok(many
            .iter()
            .max_by_key(|c| (c.issued, c.arn.as_str()))
            .copied()
            .unwrap_or(many[0])),
        many => Err(ProviderError::api(
            "TooManyMatches",
            format!(
                "{address}: {} certificates for `{domain}` ({}); set `most_recent = true` to take the newest",
                many.len(),
                many.iter().map(|c| c.arn.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Exactly one match, or why not.
pub fn exactly_one<'a, T>(
    address: &str,
    what: &str,
    found: Vec<&'a T>,
    name: impl Fn(&T) -> &str,
) -> Result<&'a T, ProviderError> {
    match found.as_slice() {
        [] => Err(ProviderError::not_found(format!(
            "{address}: no {what} matches the lookup"
        ))),
        [one] => Ok(one),
        many => Err(ProviderError::api(
            "TooManyMatches",
            format!(
                "{address}: {} {what}s match the lookup ({}); narrow it with `id` or `tags`",
                many.len(),
                many.iter().map(|v| name(v)).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

fn tag_map<'a>(
    pairs: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> BTreeMap<String, String> {
    pairs
        .filter_map(|(k, v)| Some((k?.to_string(), v.unwrap_or_default().to_string())))
        .collect()
}

/// The attributes of a VPC lookup's result.
pub fn vpc_object(arguments: &Object, vpc: &VpcFacts, region: &str) -> Object {
    let mut out = arguments.clone();
    out.insert("id".into(), Value::String(vpc.id.clone()));
    out.insert("cidr_block".into(), Value::String(vpc.cidr_block.clone()));
    out.insert("default".into(), Value::Bool(vpc.is_default));
    out.insert("owner_id".into(), Value::String(vpc.owner_id.clone()));
    out.insert(
        "arn".into(),
        Value::String(format!(
            "arn:aws:ec2:{region}:{}:vpc/{}",
            vpc.owner_id, vpc.id
        )),
    );
    out.insert("tags".into(), tags::to_value(vpc.tags.clone()));
    out
}

/// The attributes of a subnet lookup's result: ids sorted, the other lists in their order.
pub fn subnets_object(arguments: &Object, subnets: &[&SubnetFacts]) -> Object {
    let mut sorted: Vec<&SubnetFacts> = subnets.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let list = |f: fn(&SubnetFacts) -> &str| {
        Value::List(
            sorted
                .iter()
                .map(|s| Value::String(f(s).to_string()))
                .collect(),
        )
    };
    let mut out = arguments.clone();
    out.insert("ids".into(), list(|s| &s.id));
    out.insert("cidr_blocks".into(), list(|s| &s.cidr_block));
    out.insert("availability_zones".into(), list(|s| &s.availability_zone));
    out
}

/// Fails every request with the same error.
fn all_fail(
    requests: &[DataRequest<'_>],
    error: &ProviderError,
) -> Vec<Result<Object, ProviderError>> {
    requests.iter().map(|_| Err(error.clone())).collect()
}

/// Checks that the credential chain yields credentials (quickly), so a plan without an
/// account gets a configuration error rather than a slow failure per call.
async fn credentials(clients: &Clients) -> Result<(), ProviderError> {
    clients
        .credentials_checked
        .get_or_init(|| resolve_credentials(clients))
        .await
        .clone()
}

async fn resolve_credentials(clients: &Clients) -> Result<(), ProviderError> {
    let Some(provider) = &clients.credentials else {
        return Err(ProviderError::config("no AWS credentials are configured"));
    };
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(ProviderError::config(format!("no AWS credentials: {e}"))),
        Err(_) => Err(ProviderError::config(format!(
            "no AWS credentials within {}s",
            CREDENTIALS_TIMEOUT.as_secs()
        ))),
    }
}

/// `data.aws_vpc`.
pub struct VpcLookup {
    clients: Arc<Clients>,
    schema: Schema,
}

/// `data.aws_subnets`.
pub struct SubnetsLookup {
    clients: Arc<Clients>,
    schema: Schema,
}

/// `data.aws_acm_certificate`.
pub struct CertificateLookup {
    clients: Arc<Clients>,
    schema: Schema,
}

/// The schema of `data.aws_vpc`.
pub fn vpc_schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("data.aws_vpc")
        .describe("Looks up one VPC by id, CIDR, default flag or tags (exactly one must match).")
        .attribute(A::optional_computed("id", T::String).describe("the VPC's id"))
        .attribute(A::optional_computed("cidr_block", T::String))
        .attribute(A::optional_computed("default", T::Bool).describe("the account's default VPC"))
        .attribute(
            A::optional_computed("tags", T::string_map())
                .describe("tags the VPC must have; the result holds all of its tags"),
        )
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("owner_id", T::String))
}

/// The schema of `data.aws_subnets`.
pub fn subnets_schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("data.aws_subnets")
        .describe("Looks up the subnets of a VPC with the given tags (none matching: empty lists).")
        .attribute(A::optional("vpc_id", T::String))
        .attribute(A::optional("tags", T::string_map()).describe("tags every subnet must have"))
        .attribute(A::computed("ids", T::string_list()).describe("sorted"))
        .attribute(A::computed("cidr_blocks", T::string_list()).describe("in the order of `ids`"))
        .attribute(
            A::computed("availability_zones", T::string_list()).describe("in the order of `ids`"),
        )
}

/// The schema of `data.aws_acm_certificate`.
pub fn certificate_schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("data.aws_acm_certificate")
        .describe("Looks up the ACM certificate of a domain.")
        .attribute(A::required("domain", T::String).describe("the certificate's domain name"))
        .attribute(
            A::optional("statuses", T::string_list())
                .describe("accepted statuses (default `[\"ISSUED\"]`)"),
        )
        .attribute(
            A::optional("most_recent", T::Bool)
                .describe("take the newest when several match (default: an error)"),
        )
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("status", T::String))
}

impl VpcLookup {
    pub fn new(clients: Arc<Clients>) -> Self {
        VpcLookup {
            clients,
            schema: vpc_schema(),
        }
    }

    async fn all(&self) -> Result<Vec<VpcFacts>, ProviderError> {
        let vpcs: Vec<aws_sdk_ec2::types::Vpc> = self
            .clients
            .ec2
            .describe_vpcs()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeVpcs", e))?;
        Ok(vpcs
            .iter()
            .map(|v| VpcFacts {
                id: v.vpc_id().unwrap_or_default().to_string(),
                cidr_block: v.cidr_block().unwrap_or_default().to_string(),
                is_default: v.is_default().unwrap_or(false),
                owner_id: v.owner_id().unwrap_or_default().to_string(),
                tags: tag_map(v.tags().iter().map(|t| (t.key(), t.value()))),
            })
            .collect())
    }
}

#[async_trait]
impl DataSource for VpcLookup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, requests: &[DataRequest<'_>]) -> Vec<Result<Object, ProviderError>> {
        let vpcs = match credentials(&self.clients).await {
            Ok(()) => self.all().await,
            Err(e) => Err(e),
        };
        let vpcs = match vpcs {
            Ok(vpcs) => vpcs,
            Err(e) => return all_fail(requests, &e),
        };
        requests
            .iter()
            .map(|request| {
                let found = vpcs
                    .iter()
                    .filter(|v| vpc_matches(request.arguments, v))
                    .collect();
                exactly_one(request.address, "VPC", found, |v| &v.id)
                    .map(|vpc| vpc_object(request.arguments, vpc, &self.clients.region))
            })
            .collect()
    }
}

impl SubnetsLookup {
    pub fn new(clients: Arc<Clients>) -> Self {
        SubnetsLookup {
            clients,
            schema: subnets_schema(),
        }
    }

    async fn all(&self) -> Result<Vec<SubnetFacts>, ProviderError> {
        let subnets: Vec<aws_sdk_ec2::types::Subnet> = self
            .clients
            .ec2
            .describe_subnets()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeSubnets", e))?;
        Ok(subnets
            .iter()
            .map(|s| SubnetFacts {
                id: s.subnet_id().unwrap_or_default().to_string(),
                vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                cidr_block: s.cidr_block().unwrap_or_default().to_string(),
                availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                tags: tag_map(s.tags().iter().map(|t| (t.key(), t.value()))),
            })
            .collect())
    }
}

#[async_trait]
impl DataSource for SubnetsLookup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, requests: &[DataRequest<'_>]) -> Vec<Result<Object, ProviderError>> {
        let subnets = match credentials(&self.clients).await {
            Ok(()) => self.all().await,
            Err(e) => Err(e),
        };
        let subnets = match subnets {
            Ok(subnets) => subnets,
            Err(e) => return all_fail(requests, &e),
        };
        requests
            .iter()
            .map(|request| {
                let found: Vec<&SubnetFacts> = subnets
                    .iter()
                    .filter(|s| subnet_matches(request.arguments, s))
                    .collect();
                Ok(subnets_object(request.arguments, &found))
            })
            .collect()
    }
}

impl CertificateLookup {
    pub fn new(clients: Arc<Clients>) -> Self {
        CertificateLookup {
            clients,
            schema: certificate_schema(),
        }
    }

    /// The certificates of the given statuses (newest first is not guaranteed).
    async fn listed(&self, statuses: &[String]) -> Result<Vec<CertificateFacts>, ProviderError> {
        use aws_sdk_acm::types::CertificateStatus;
        let summaries: Vec<aws_sdk_acm::types::CertificateSummary> = self
            .clients
            .acm
            .list_certificates()
            .set_certificate_statuses(Some(
                statuses
                    .iter()
                    .map(|s| CertificateStatus::from(s.as_str()))
                    .collect(),
            ))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("ListCertificates", e))?;
        Ok(summaries
            .iter()
            .map(|c| CertificateFacts {
                arn: c.certificate_arn().unwrap_or_default().to_string(),
                domain: c.domain_name().unwrap_or_default().to_string(),
                status: c
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                issued: c
                    .issued_at()
                    .or(c.imported_at())
                    .or(c.created_at())
                    .map(|t| t.secs())
                    .unwrap_or(0),
            })
            .collect())
    }
}

#[async_trait]
impl DataSource for CertificateLookup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, requests: &[DataRequest<'_>]) -> Vec<Result<Object, ProviderError>> {
        if let Err(e) = credentials(&self.clients).await {
            return all_fail(requests, &e);
        }
        // One listing per set of statuses the lookups ask for.
        let mut listings: BTreeMap<Vec<String>, Result<Vec<CertificateFacts>, ProviderError>> =
            BTreeMap::new();
        for request in requests {
            let statuses = certificate_statuses(request.arguments);
            if let std::collections::btree_map::Entry::Vacant(slot) = listings.entry(statuses) {
                let listed = self.listed(slot.key()).await;
                slot.insert(listed);
            }
        }
        requests
            .iter()
            .map(|request| {
                let statuses = certificate_statuses(request.arguments);
                let listed = match listings.get(&statuses) {
                    Some(Ok(listed)) => listed,
                    Some(Err(e)) => return Err(e.clone()),
                    None => return Err(ProviderError::api("Internal", "no listing")),
                };
                let found = pick_certificate(request.address, request.arguments, listed)?;
                let mut out = request.arguments.clone();
                out.insert("arn".into(), Value::String(found.arn.clone()));
                out.insert("status".into(), Value::String(found.status.clone()));
                Ok(out)
            })
            .collect()
    }
}

/// Every data source: its schema and how to build it from the clients.
pub type DataConstructor = fn(Arc<Clients>) -> Arc<dyn DataSource>;

/// The catalogue of data sources.
pub fn catalogue() -> Vec<(Schema, DataConstructor)> {
    vec![
        (vpc_schema(), |c| Arc::new(VpcLookup::new(c))),
        (subnets_schema(), |c| Arc::new(SubnetsLookup::new(c))),
        (certificate_schema(), |c| {
            Arc::new(CertificateLookup::new(c))
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(pairs: &[(&str, Value)]) -> Object {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn tags(pairs: &[(&str, &str)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        )
    }

    fn vpc(id: &str, name: &str, default: bool) -> VpcFacts {
        VpcFacts {
            id: id.into(),
            cidr_block: "10.42.0.0/16".into(),
            is_default: default,
            owner_id: "123456789012".into(),
            tags: [("Name".to_string(), name.to_string())].into(),
        }
    }

    #[test]
    fn a_vpc_lookup_matches_every_given_argument() {
        let v = vpc("vpc-1", "mita-staging", false);
        assert!(vpc_matches(&object(&[]), &v));
        assert!(vpc_matches(
            &object(&[("tags", tags(&[("Name", "mita-staging")]))]),
            &v
        ));
        assert!(!vpc_matches(
            &object(&[("tags", tags(&[("Name", "mita-production")]))]),
            &v
        ));
        assert!(!vpc_matches(
            &object(&[("tags", tags(&[("Name", "mita-staging"), ("Team", "core")]))]),
            &v
        ));
        assert!(vpc_matches(&object(&[("id", Value::from("vpc-1"))]), &v));
        assert!(!vpc_matches(&object(&[("default", Value::Bool(true))]), &v));
        assert!(!vpc_matches(
            &object(&[("cidr_block", Value::from("10.0.0.0/16"))]),
            &v
        ));
    }

    #[test]
    fn exactly_one_vpc_or_an_error_naming_the_candidates() {
        let a = vpc("vpc-a", "x", false);
        let b = vpc("vpc-b", "x", false);
        let err = exactly_one("data.aws_vpc.main", "VPC", vec![&a, &b], |v| &v.id).unwrap_err();
        assert!(
            err.message.contains("2 VPCs match") && err.message.contains("vpc-a, vpc-b"),
            "{}",
            err.message
        );
        let err =
            exactly_one::<VpcFacts>("data.aws_vpc.main", "VPC", vec![], |v| &v.id).unwrap_err();
        assert_eq!(err.kind, plinth_provider::ErrorKind::NotFound);
        assert_eq!(
            exactly_one("d", "VPC", vec![&a], |v| &v.id).unwrap().id,
            "vpc-a"
        );
        let result = vpc_object(
            &object(&[("tags", tags(&[("Name", "x")]))]),
            &a,
            "eu-west-1",
        );
        assert_eq!(result["id"], Value::from("vpc-a"));
        assert_eq!(
            result["arn"],
            Value::from("arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-a")
        );
    }

    #[test]
    fn subnets_are_filtered_by_vpc_and_tags_and_listed_by_id() {
        let subnet = |id: &str, vpc: &str, tier: &str, az: &str| SubnetFacts {
            id: id.into(),
            vpc_id: vpc.into(),
            cidr_block: format!("10.42.{}.0/24", id.len()),
            availability_zone: az.into(),
            tags: [("Tier".to_string(), tier.to_string())].into(),
        };
        let all = [
            subnet("subnet-b", "vpc-1", "private", "us-east-1b"),
            subnet("subnet-a", "vpc-1", "private", "us-east-1a"),
            subnet("subnet-c", "vpc-1", "public", "us-east-1a"),
            subnet("subnet-d", "vpc-2", "private", "us-east-1a"),
        ];
        let args = object(&[
            ("vpc_id", Value::from("vpc-1")),
            ("tags", tags(&[("Tier", "private")])),
        ]);
        let found: Vec<&SubnetFacts> = all.iter().filter(|s| subnet_matches(&args, s)).collect();
        let result = subnets_object(&args, &found);
        assert_eq!(
            result["ids"],
            Value::List(vec![Value::from("subnet-a"), Value::from("subnet-b")])
        );
        assert_eq!(
            result["availability_zones"],
            Value::List(vec![Value::from("us-east-1a"), Value::from("us-east-1b")])
        );
        let none = subnets_object(&args, &[]);
        assert_eq!(none["ids"], Value::List(vec![]));
    }

    #[test]
    fn a_certificate_is_the_one_issued_for_the_domain_or_the_newest_when_asked() {
        let cert = |arn: &str, domain: &str, status: &str, issued: i64| CertificateFacts {
            arn: arn.into(),
            domain: domain.into(),
            status: status.into(),
            issued,
        };
        let listed = [
            cert("arn:1", "mita.finance", "ISSUED", 10),
            cert("arn:2", "mita.finance", "ISSUED", 20),
            cert("arn:3", "staging.mita.finance", "ISSUED", 5),
            cert("arn:4", "staging.mita.finance", "EXPIRED", 50),
        ];
        let args = |domain: &str, extra: &[(&str, Value)]| {
            let mut o = object(extra);
            o.insert("domain".into(), Value::from(domain));
            o
        };
        let one = pick_certificate("d", &args("staging.mita.finance", &[]), &listed).unwrap();
        assert_eq!(one.arn, "arn:3");
        let err = pick_certificate("d", &args("mita.finance", &[]), &listed).unwrap_err();
        assert!(err.message.contains("most_recent"), "{}", err.message);
        let newest = pick_certificate(
            "d",
            &args("mita.finance", &[("most_recent", Value::Bool(true))]),
            &listed,
        )
        .unwrap();
        assert_eq!(newest.arn, "arn:2");
        let err = pick_certificate("d", &args("api.mita.finance", &[]), &listed).unwrap_err();
        assert!(err
            .message
            .contains("no certificate for `api.mita.finance` with status ISSUED"));
        assert_eq!(
            certificate_statuses(&object(&[(
                "statuses",
                Value::List(vec![Value::from("expired"), Value::from("ISSUED")])
            )])),
            vec!["EXPIRED".to_string(), "ISSUED".to_string()]
        );
    }
}
