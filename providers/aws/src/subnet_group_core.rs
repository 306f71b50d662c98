//! The shared core of `aws_rds_subnet_group` and `aws_elasticache_subnet_group`.
//!
//! The two APIs differ only in operation and field names, so each type supplies a small
//! [`SubnetGroupApi`] (in its own module) and [`SubnetGroup`] implements the resource once:
//! schema, attribute mapping, batched refresh, update, delete, import and recovery.

use std::marker::PhantomData;
use std::sync::Arc;

use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, ValueType,
};

use crate::attrs::{self, opt_string, ordered_like};
use crate::batch::{import_name, index_by};
use crate::clients::Clients;
use crate::tags;

/// The description used when none is given.
const DEFAULT_DESCRIPTION: &str = "Managed by Plinth";

/// A subnet group as either API describes it.
#[derive(Clone, Debug, Default)]
pub struct LiveGroup {
    /// The group's name (its id).
    pub name: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// The ids of its subnets, in the API's order.
    pub subnet_ids: Vec<String>,
    /// Its ARN.
    pub arn: Option<String>,
    /// The VPC of its subnets.
    pub vpc_id: Option<String>,
}

/// The calls one service makes for its subnet groups.
#[async_trait]
pub trait SubnetGroupApi: Send + Sync + 'static {
    /// The resource type name, e.g. `aws_rds_subnet_group`.
    const TYPE_NAME: &'static str;
    /// The schema's one-line description.
    const DESCRIPTION: &'static str;
    /// What error messages call the group, e.g. `DB subnet group`.
    const NOUN: &'static str;

    /// The group named `name`, `None` when it does not exist.
    async fn describe(clients: &Clients, name: &str) -> Result<Option<LiveGroup>, ProviderError>;
    /// Every group in the region (paginated).
    async fn describe_all(clients: &Clients) -> Result<Vec<LiveGroup>, ProviderError>;
    /// Creates the group with its tags; the group the API returns.
    async fn create(
        clients: &Clients,
        name: &str,
        description: String,
        subnet_ids: Option<Vec<String>>,
        tags: &[(String, String)],
    ) -> Result<Option<LiveGroup>, ProviderError>;
    /// Changes the description and subnets.
    async fn modify(
        clients: &Clients,
        name: &str,
        description: Option<String>,
        subnet_ids: Option<Vec<String>>,
    ) -> Result<(), ProviderError>;
    /// Deletes the group; a group already gone is not an error.
    async fn delete(clients: &Clients, name: &str) -> Result<(), ProviderError>;
    /// The group's tags by ARN.
    async fn tags(clients: &Clients, arn: &str) -> Result<Vec<(String, String)>, ProviderError>;
    /// Brings the group's tags to `desired`.
    async fn sync_tags(
        clients: &Clients,
        arn: &str,
        desired: &[(String, String)],
    ) -> Result<(), ProviderError>;
}

/// The schema of a subnet group type.
pub fn schema(type_name: &str, description: &str) -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new(type_name)
        .describe(description)
        .attribute(A::required("name", T::String).force_new())
        .attribute(A::optional("description", T::String).default(DEFAULT_DESCRIPTION))
        .attribute(A::required("subnet_ids", T::string_list()))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("vpc_id", T::String))
}

/// A subnet group resource on the API `A`.
pub struct SubnetGroup<A> {
    clients: Arc<Clients>,
    schema: Schema,
    api: PhantomData<fn() -> A>,
}

impl<A: SubnetGroupApi> SubnetGroup<A> {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        SubnetGroup {
            clients,
            schema: schema(A::TYPE_NAME, A::DESCRIPTION),
            api: PhantomData,
        }
    }

    async fn to_object(&self, g: &LiveGroup, prior: &Object) -> Result<Object, ProviderError> {
        let live_tags = match g.arn.as_deref() {
            Some(arn) => A::tags(&self.clients, arn).await?,
            None => Vec::new(),
        };
        let mut o = Object::new();
        o.insert("name".into(), opt_string(g.name.as_deref()));
        o.insert("description".into(), opt_string(g.description.as_deref()));
        o.insert(
            "subnet_ids".into(),
            ordered_like(prior, "subnet_ids", g.subnet_ids.iter().map(String::as_str)),
        );
        o.insert("tags".into(), tags::value_or_null(live_tags, prior));
        o.insert("arn".into(), opt_string(g.arn.as_deref()));
        o.insert("vpc_id".into(), opt_string(g.vpc_id.as_deref()));
        Ok(o)
    }
}

#[async_trait]
impl<A: SubnetGroupApi> Resource for SubnetGroup<A> {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let name = attrs::required(desired, "name")?;
        let group = A::create(
            &self.clients,
            &name,
            attrs::string(desired, "description").unwrap_or_else(|| DEFAULT_DESCRIPTION.into()),
            attrs::strings(desired, "subnet_ids"),
            &tags::desired(desired),
        )
        .await?
        .ok_or_else(|| ProviderError::not_found("no subnet group returned"))?;
        Ok(Created {
            attributes: self.to_object(&group, desired).await?,
            id: name,
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        match A::describe(&self.clients, id).await? {
            Some(g) => Ok(Some(self.to_object(&g, prior).await?)),
            None => Ok(None),
        }
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let live = index_by(A::describe_all(&self.clients).await?, |g| g.name.as_deref());
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match live.get(item.id) {
                Some(g) => Some(self.to_object(g, item.prior).await?),
                None => None,
            });
        }
        Ok(out)
    }

    async fn update(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        if changed
            .iter()
            .any(|c| c == "description" || c == "subnet_ids")
        {
            A::modify(
                &self.clients,
                id,
                attrs::string(desired, "description"),
                attrs::strings(desired, "subnet_ids"),
            )
            .await?;
        }
        let group = A::describe(&self.clients, id)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("{} `{id}` is gone", A::NOUN)))?;
        if changed.iter().any(|c| c == "tags") {
            let arn = group.arn.as_deref().unwrap_or_default();
            A::sync_tags(&self.clients, arn, &tags::desired(desired)).await?;
        }
        self.to_object(&group, desired).await
    }

    async fn delete(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        A::delete(&self.clients, id).await
    }

    async fn import(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        self.read(ctx, import_name(id), &Object::new()).await
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let name = attrs::required(desired, "name")?;
        match A::describe(&self.clients, &name).await? {
            Some(g) => Ok(Some(Created {
                attributes: self.to_object(&g, desired).await?,
                id: name,
            })),
            None => Ok(None),
        }
    }
}
