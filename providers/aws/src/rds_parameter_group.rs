//! `aws_rds_parameter_group`: a DB parameter group with the parameters the user sets, as a
//! table `parameters = { log_min_duration_statement = "500" }`.
//!
//! Only parameters whose source is `user` are read back, so engine defaults never show as
//! drift while a parameter changed in the console does. Dynamic parameters apply at once;
//! static ones (AWS refuses `immediate`) wait for the next reboot.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_string};
use crate::batch::{import_name, index_by};
use crate::clients::Clients;
use crate::errors::{absent_on, has_code, map_sdk};
use crate::rds_common::{aws_tags, rds_tags, sync_rds_tags};
use crate::tags;

const NOT_FOUND: [&str; 2] = ["DBParameterGroupNotFound", "DBParameterGroupNotFoundFault"];
/// ModifyDBParameterGroup takes at most 20 parameters per call.
const CHUNK: usize = 20;

/// The schema of `aws_rds_parameter_group`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_rds_parameter_group")
        .describe("An RDS DB parameter group.")
        .attribute(A::required("name", T::String).force_new())
        .attribute(
            A::required("family", T::String)
                .force_new()
                .describe("e.g. `postgres15`"),
        )
        .attribute(
            A::optional("description", T::String)
                .force_new()
                .default("Managed by Plinth"),
        )
        .attribute(A::optional("parameters", T::string_map()).describe("name → value"))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
}

/// The `aws_rds_parameter_group` implementation.
pub struct RdsParameterGroup {
    clients: Arc<Clients>,
    schema: Schema,
}

impl RdsParameterGroup {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        RdsParameterGroup {
            clients,
            schema: schema(),
        }
    }

    async fn describe(&self, name: &str) -> Result<Option<DbParameterGroup>, ProviderError> {
        let result = self
            .clients
            .rds
            .describe_db_parameter_groups()
            .db_parameter_group_name(name)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeDBParameterGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.db_parameter_groups().first().cloned()))
    }

    /// Parameters set by the user (source `user`), by name.
    async fn user_parameters(&self, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut out = BTreeMap::new();
        let mut pages = self
            .clients
            .rds
            .describe_db_parameters()
            .db_parameter_group_name(name)
            .source("user")
            .max_records(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk("DescribeDBParameters", e))?;
            for p in page.parameters() {
                if p.source().is_some_and(|s| s != "user") {
                    continue;
                }
                if let (Some(k), Some(v)) = (p.parameter_name(), p.parameter_value()) {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
        Ok(out)
    }

    async fn to_object(
        &self,
        g: &DbParameterGroup,
        prior: &Object,
    ) -> Result<Object, ProviderError> {
        let name = g.db_parameter_group_name().unwrap_or_default();
        let params = self.user_parameters(name).await?;
        let live_tags = match g.db_parameter_group_arn() {
            Some(arn) => rds_tags(&self.clients, arn).await?,
            None => Vec::new(),
        };
        let mut o = Object::new();
        o.insert("name".into(), Value::string(name));
        o.insert("family".into(), opt_string(g.db_parameter_group_family()));
        o.insert("description".into(), opt_string(g.description()));
        let params_value = if params.is_empty() && !attrs::is_set(prior, "parameters") {
            Value::Null
        } else {
            tags::to_value(params)
        };
        o.insert("parameters".into(), params_value);
        o.insert("tags".into(), tags::value_or_null(live_tags, prior));
        o.insert("arn".into(), opt_string(g.db_parameter_group_arn()));
        Ok(o)
    }

    /// Sets parameters: `immediate` first, `pending-reboot` for static ones AWS refuses.
    async fn set_parameters(
        &self,
        name: &str,
        params: &[(String, String)],
    ) -> Result<(), ProviderError> {
        for chunk in params.chunks(CHUNK) {
            for method in [ApplyMethod::Immediate, ApplyMethod::PendingReboot] {
                let list: Vec<Parameter> = chunk
                    .iter()
                    .map(|(k, v)| {
                        Parameter::builder()
                            .parameter_name(k)
                            .parameter_value(v)
                            .apply_method(method.clone())
                            .build()
                    })
                    .collect();
                let result = self
                    .clients
                    .rds
                    .modify_db_parameter_group()
                    .db_parameter_group_name(name)
                    .set_parameters(Some(list))
                    .send()
                    .await
                    .map_err(|e| map_sdk("ModifyDBParameterGroup", e));
                match result {
                    Ok(_) => break,
                    Err(e)
                        if method == ApplyMethod::Immediate
                            && has_code(&e, &["InvalidParameterCombination"]) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    async fn reset_parameters(&self, name: &str, names: &[String]) -> Result<(), ProviderError> {
        for chunk in names.chunks(CHUNK) {
            let list: Vec<Parameter> = chunk
                .iter()
                .map(|k| {
                    Parameter::builder()
                        .parameter_name(k)
                        .apply_method(ApplyMethod::PendingReboot)
                        .build()
                })
                .collect();
            self.clients
                .rds
                .reset_db_parameter_group()
                .db_parameter_group_name(name)
                .set_parameters(Some(list))
                .send()
                .await
                .map_err(|e| map_sdk("ResetDBParameterGroup", e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for RdsParameterGroup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let name = attrs::required(desired, "name")?;
        self.clients
            .rds
            .create_db_parameter_group()
            .db_parameter_group_name(&name)
            .db_parameter_group_family(attrs::required(desired, "family")?)
            .description(
                attrs::string(desired, "description").unwrap_or_else(|| "Managed by Plinth".into()),
            )
            .set_tags(Some(aws_tags(&tags::desired(desired))))
            .send()
            .await
            .map_err(|e| map_sdk("CreateDBParameterGroup", e))?;
        let params = attrs::string_map(desired, "parameters").unwrap_or_default();
        if !params.is_empty() {
            self.set_parameters(&name, &params).await?;
        }
        let group = self.describe(&name).await?.ok_or_else(|| {
            ProviderError::not_found(format!("parameter group `{name}` vanished"))
        })?;
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
        match self.describe(id).await? {
            Some(g) => Ok(Some(self.to_object(&g, prior).await?)),
            None => Ok(None),
        }
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let groups = self
            .clients
            .rds
            .describe_db_parameter_groups()
            .max_records(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeDBParameterGroups", e))?;
        let live = index_by(groups, DbParameterGroup::db_parameter_group_name);
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match live.get(item.id) {
                Some(g) => Some(self.to_object(g, item.prior).await?),
                None => None,
            });
        }
        Ok(out)
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn update(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        if changed.iter().any(|c| c == "parameters") {
            let want: BTreeMap<String, String> = attrs::string_map(desired, "parameters")
                .unwrap_or_default()
                .into_iter()
                .collect();
            let have = self.user_parameters(id).await?;
            let set: Vec<(String, String)> = want
                .iter()
                .filter(|(k, v)| have.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let reset: Vec<String> = have
                .keys()
                .filter(|k| !want.contains_key(*k))
                .cloned()
                .collect();
            if !reset.is_empty() {
                self.reset_parameters(id, &reset).await?;
            }
            if !set.is_empty() {
                self.set_parameters(id, &set).await?;
            }
        }
        let group = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("parameter group `{id}` is gone")))?;
        if changed.iter().any(|c| c == "tags") {
            let arn = group.db_parameter_group_arn().unwrap_or_default();
            let live = rds_tags(&self.clients, arn).await?;
            sync_rds_tags(&self.clients, arn, &live, &tags::desired(desired)).await?;
        }
        self.to_object(&group, desired).await
    }

    async fn delete(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let result = self
            .clients
            .rds
            .delete_db_parameter_group()
            .db_parameter_group_name(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteDBParameterGroup", e));
        absent_on(result, &NOT_FOUND).map(|_| ())
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
        match self.describe(&name).await? {
            Some(g) => Ok(Some(Created {
                attributes: self.to_object(&g, desired).await?,
                id: name,
            })),
            None => Ok(None),
        }
    }
}
