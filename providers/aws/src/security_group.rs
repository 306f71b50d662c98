//! `aws_security_group`: a VPC security group with its rules written inline,
//!
//! ```toml
//! [aws_security_group.db]
//! name    = "mita-db"
//! vpc_id  = "${var.vpc_id}"
//! ingress = [{ protocol = "tcp", from_port = 5432, to_port = 5432,
//!              security_groups = ["${aws_security_group.app.id}"], description = "PostgreSQL from the app" }]
//! egress  = []
//! ```
//!
//! The inline rules are authoritative, as in Terraform: a rule added in the console shows as
//! drift and the next apply revokes it, and AWS's default allow-all egress rule of a new group
//! is revoked unless `egress` asks for it. A rule change is made in place (authorize, then
//! re-describe, then revoke, see [`crate::sg_rules`]); only `name`, `description` and `vpc_id`
//! replace the group. Refresh reads the groups of a plan with one `DescribeSecurityGroups`
//! per 200 ids (a `group-id` filter, which unlike `GroupIds` does not fail on a deleted
//! group). Delete waits while something still uses the group (`DependencyViolation`: an RDS
//! instance or load balancer still letting go of its network interface).
//!
//! Not supported yet: IPv6 ranges, prefix lists and `self` references in rules.

use std::sync::Arc;

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, ResourceType, SecurityGroup as AwsGroup, Tag, TagSpecification,
    UserIdGroupPair,
};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_string};
use crate::batch::index_by;
use crate::clients::Clients;
use crate::errors::{absent_on, has_code, map_sdk};
use crate::sg_rules::{self, Atom, Atoms, RuleChanges, Source};
use crate::tags;
use crate::waiter::{minutes, wait_for, Poll, Wait};

const NOT_FOUND: [&str; 2] = ["InvalidGroup.NotFound", "InvalidGroupId.NotFound"];
/// Values one `group-id` filter takes.
const CHUNK: usize = 200;

/// The type of one inline rule.
fn rule_type() -> ValueType {
    use Attribute as A;
    use ValueType as T;
    T::List(Box::new(T::Object(vec![
        A::optional("protocol", T::String)
            .describe("`tcp` (default), `udp`, `icmp` or `-1`/`all` (every protocol and port)"),
        A::required("from_port", T::Int),
        A::required("to_port", T::Int),
        A::optional("cidr_blocks", T::string_list()).describe("IPv4 ranges"),
        A::optional("security_groups", T::string_list()).describe("ids of peer groups"),
        A::optional("description", T::String),
    ])))
}

/// The schema of `aws_security_group`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_security_group")
        .describe("A VPC security group with inline, authoritative ingress and egress rules.")
        .attribute(A::required("name", T::String).force_new())
        .attribute(
            A::optional("description", T::String)
                .force_new()
                .default("Managed by Plinth"),
        )
        .attribute(A::required("vpc_id", T::String).force_new())
        .attribute(A::optional("ingress", rule_type()).describe("inbound rules"))
        .attribute(A::optional("egress", rule_type()).describe(
            "outbound rules; unset or `[]` means none (AWS's default allow-all is revoked)",
        ))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("id", T::String))
        .attribute(A::computed("arn", T::String))
}

/// Which rules of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn key(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// The live rules of one direction as atoms.
fn live_atoms(permissions: &[IpPermission]) -> Atoms {
    let mut out = Atoms::new();
    for p in permissions {
        let protocol = sg_rules::normal_protocol(p.ip_protocol().unwrap_or("-1"));
        let (from_port, to_port) = if protocol == "-1" {
            (0, 0)
        } else {
            (p.from_port().unwrap_or(0), p.to_port().unwrap_or(0))
        };
        let atom = |source| Atom {
            protocol: protocol.clone(),
            from_port,
            to_port,
            source,
        };
        for r in p.ip_ranges() {
            if let Some(cidr) = r.cidr_ip() {
                out.insert(
                    atom(Source::Cidr(cidr.to_string())),
                    r.description()
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                );
            }
        }
        for g in p.user_id_group_pairs() {
            if let Some(id) = g.group_id() {
                out.insert(
                    atom(Source::Group(id.to_string())),
                    g.description()
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    out
}

/// One EC2 permission per atom (EC2 accepts a list of them in one call).
fn permissions(atoms: &[(Atom, Option<String>)]) -> Vec<IpPermission> {
    atoms
        .iter()
        .map(|(atom, description)| {
            let mut p = IpPermission::builder().ip_protocol(&atom.protocol);
            if atom.protocol != "-1" {
                p = p.from_port(atom.from_port).to_port(atom.to_port);
            }
            match &atom.source {
                Source::Cidr(cidr) => {
                    p = p.ip_ranges(
                        IpRange::builder()
                            .cidr_ip(cidr)
                            .set_description(description.clone())
                            .build(),
                    )
                }
                Source::Group(id) => {
                    p = p.user_id_group_pairs(
                        UserIdGroupPair::builder()
                            .group_id(id)
                            .set_description(description.clone())
                            .build(),
                    )
                }
            }
            p.build()
        })
        .collect()
}

/// The live group as attributes, rules shaped like `prior`'s.
fn to_object(g: &AwsGroup, region: &str, prior: &Object) -> Object {
    let id = g.group_id().unwrap_or_default();
    let mut o = Object::new();
    o.insert("name".into(), opt_string(g.group_name()));
    o.insert("description".into(), opt_string(g.description()));
    o.insert("vpc_id".into(), opt_string(g.vpc_id()));
    o.insert(
        "ingress".into(),
        sg_rules::live_value(&live_atoms(g.ip_permissions()), prior.get("ingress")),
    );
    o.insert(
        "egress".into(),
        sg_rules::live_value(&live_atoms(g.ip_permissions_egress()), prior.get("egress")),
    );
    let live_tags = tags::pairs(g.tags().iter().map(|t| (t.key(), t.value())));
    o.insert("tags".into(), tags::value_or_null(live_tags, prior));
    o.insert("id".into(), Value::string(id));
    let arn = match g.security_group_arn() {
        Some(arn) => arn.to_string(),
        None => format!(
            "arn:aws:ec2:{region}:{}:security-group/{id}",
            g.owner_id().unwrap_or_default()
        ),
    };
    o.insert("arn".into(), Value::String(arn));
    o
}

/// The `aws_security_group` implementation.
pub struct SecurityGroup {
    clients: Arc<Clients>,
    schema: Schema,
}

impl SecurityGroup {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        SecurityGroup {
            clients,
            schema: schema(),
        }
    }

    /// The groups matching `filter` (all pages).
    async fn describe_where(&self, filter: Filter) -> Result<Vec<AwsGroup>, ProviderError> {
        self.clients
            .ec2
            .describe_security_groups()
            .filters(filter)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeSecurityGroups", e))
    }

    async fn describe(&self, id: &str) -> Result<Option<AwsGroup>, ProviderError> {
        let result = self
            .clients
            .ec2
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeSecurityGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.security_groups().first().cloned()))
    }

    async fn must_describe(&self, id: &str) -> Result<AwsGroup, ProviderError> {
        self.describe(id)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("security group `{id}` is gone")))
    }

    /// Makes one direction's rules of group `id` what `desired` says.
    async fn sync_rules(
        &self,
        id: &str,
        direction: Direction,
        desired: &Object,
        live: &[IpPermission],
    ) -> Result<(), ProviderError> {
        let want = sg_rules::desired_atoms(desired.get(direction.key()), direction.key())?;
        let RuleChanges {
            authorize,
            describe,
            revoke,
        } = sg_rules::changes(&want, &live_atoms(live));
        let ec2 = &self.clients.ec2;
        let some = |atoms: &[(Atom, Option<String>)]| Some(permissions(atoms));
        if !authorize.is_empty() {
            match direction {
                Direction::Ingress => ec2
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(some(&authorize))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("AuthorizeSecurityGroupIngress", e))?,
                Direction::Egress => ec2
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(some(&authorize))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("AuthorizeSecurityGroupEgress", e))?,
            }
        }
        if !describe.is_empty() {
            match direction {
                Direction::Ingress => ec2
                    .update_security_group_rule_descriptions_ingress()
                    .group_id(id)
                    .set_ip_permissions(some(&describe))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("UpdateSecurityGroupRuleDescriptionsIngress", e))?,
                Direction::Egress => ec2
                    .update_security_group_rule_descriptions_egress()
                    .group_id(id)
                    .set_ip_permissions(some(&describe))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("UpdateSecurityGroupRuleDescriptionsEgress", e))?,
            }
        }
        if !revoke.is_empty() {
            match direction {
                Direction::Ingress => ec2
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(some(&revoke))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("RevokeSecurityGroupIngress", e))?,
                Direction::Egress => ec2
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(some(&revoke))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| map_sdk("RevokeSecurityGroupEgress", e))?,
            }
        }
        Ok(())
    }

    async fn sync_tags(
        &self,
        id: &str,
        g: &AwsGroup,
        desired: &Object,
    ) -> Result<(), ProviderError> {
        let live = tags::pairs(g.tags().iter().map(|t| (t.key(), t.value())));
        let (set, remove) = tags::diff(&live, &tags::desired(desired));
        if !set.is_empty() {
            self.clients
                .ec2
                .create_tags()
                .resources(id)
                .set_tags(Some(aws_tags(&set)))
                .send()
                .await
                .map_err(|e| map_sdk("CreateTags", e))?;
        }
        if !remove.is_empty() {
            self.clients
                .ec2
                .delete_tags()
                .resources(id)
                .set_tags(Some(
                    remove
                        .iter()
                        .map(|k| Tag::builder().key(k).build())
                        .collect(),
                ))
                .send()
                .await
                .map_err(|e| map_sdk("DeleteTags", e))?;
        }
        Ok(())
    }

    /// Brings an existing group's rules and tags to `desired` and reads it back.
    async fn converge(&self, id: &str, desired: &Object) -> Result<Object, ProviderError> {
        let group = self.must_describe(id).await?;
        self.sync_rules(id, Direction::Ingress, desired, group.ip_permissions())
            .await?;
        self.sync_rules(
            id,
            Direction::Egress,
            desired,
            group.ip_permissions_egress(),
        )
        .await?;
        self.sync_tags(id, &group, desired).await?;
        let group = self.must_describe(id).await?;
        Ok(to_object(&group, &self.clients.region, desired))
    }
}

fn aws_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

#[async_trait]
impl Resource for SecurityGroup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        // Refuse bad rules before anything exists in the cloud.
        for direction in [Direction::Ingress, Direction::Egress] {
            sg_rules::desired_atoms(desired.get(direction.key()), direction.key())?;
        }
        let mut request = self
            .clients
            .ec2
            .create_security_group()
            .group_name(attrs::required(desired, "name")?)
            .description(
                attrs::string(desired, "description").unwrap_or_else(|| "Managed by Plinth".into()),
            )
            .vpc_id(attrs::required(desired, "vpc_id")?);
        let wanted_tags = tags::desired(desired);
        if !wanted_tags.is_empty() {
            request = request.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .set_tags(Some(aws_tags(&wanted_tags)))
                    .build(),
            );
        }
        let out = request
            .send()
            .await
            .map_err(|e| map_sdk("CreateSecurityGroup", e))?;
        let id = out
            .group_id()
            .ok_or_else(|| {
                ProviderError::api("InvalidResponse", "CreateSecurityGroup: no group id")
            })?
            .to_string();
        // A failure from here on leaves a group the engine finds again by name (`recover`).
        let attributes = self.converge(&id, desired).await?;
        Ok(Created { id, attributes })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(self
            .describe(id)
            .await?
            .map(|g| to_object(&g, &self.clients.region, prior)))
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let mut live = std::collections::HashMap::new();
        for chunk in items.chunks(CHUNK) {
            let filter = Filter::builder()
                .name("group-id")
                .set_values(Some(chunk.iter().map(|i| i.id.to_string()).collect()))
                .build();
            live.extend(index_by(
                self.describe_where(filter).await?,
                AwsGroup::group_id,
            ));
        }
        Ok(items
            .iter()
            .map(|item| {
                live.get(item.id)
                    .map(|g| to_object(g, &self.clients.region, item.prior))
            })
            .collect())
    }

    async fn update(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        _changed: &[String],
    ) -> Result<Object, ProviderError> {
        self.converge(id, desired).await
    }

    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let what = format!("security group {id}");
        wait_for(
            ctx,
            Wait {
                what: &what,
                target: "no dependents",
                interval: self.clients.poll_interval,
                default_timeout: minutes(15),
            },
            || async {
                let result = self
                    .clients
                    .ec2
                    .delete_security_group()
                    .group_id(id)
                    .send()
                    .await
                    .map_err(|e| map_sdk("DeleteSecurityGroup", e));
                match absent_on(result, &NOT_FOUND) {
                    Ok(_) => Ok(Poll::Ready(())),
                    Err(e) if has_code(&e, &["DependencyViolation"]) => {
                        Ok(Poll::Pending("still in use".to_string()))
                    }
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    async fn import(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        self.read(ctx, id, &Object::new()).await
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        // A group name is unique within its VPC.
        let name = attrs::required(desired, "name")?;
        let vpc = attrs::required(desired, "vpc_id")?;
        let found = self
            .describe_where(Filter::builder().name("group-name").values(&name).build())
            .await?;
        Ok(found
            .into_iter()
            .find(|g| g.vpc_id() == Some(vpc.as_str()))
            .and_then(|g| {
                let id = g.group_id()?.to_string();
                Some(Created {
                    attributes: to_object(&g, &self.clients.region, desired),
                    id,
                })
            }))
    }
}
