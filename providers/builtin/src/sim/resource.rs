//! `sim_resource`: a simulated cloud resource with latency, rate limits, failure injection,
//! unique names and idempotent creates, stored in a cloud directory that outlives processes.

use std::sync::Arc;

use plinth_provider::{
    async_trait, object_from_json, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value,
};
use rand::Rng;
use serde_json::Value as Json;

use crate::sim::api::SimApi;
use crate::sim::calls::ApiCall;
use crate::sim::cloud::{Attempt, StoredResource};
use crate::sim::inputs::{injected, knob, sim_schema, FailMode, Inputs};

/// What a create found under the cloud's lock.
enum CreateOutcome {
    Created(StoredResource),
    Injected(u64),
    NameTaken(String),
}

/// What an update found under the cloud's lock.
enum UpdateOutcome {
    Updated(StoredResource),
    Injected(u64),
    Missing,
    Immutable(&'static str),
}

/// What a delete found under the cloud's lock.
enum DeleteOutcome {
    Deleted,
    Gone,
    Injected(u64),
}

/// The implementation of `sim_resource`.
pub struct SimResource {
    schema: Schema,
    api: Arc<SimApi>,
}

impl SimResource {
    /// A resource type served by `api`.
    pub fn new(api: Arc<SimApi>) -> Self {
        SimResource {
            schema: sim_schema(),
            api,
        }
    }
}

/// The arn of a resource, a pure function of its name and zone.
fn arn(name: &str, zone: Option<&str>) -> String {
    format!("arn:sim:{}:resource/{name}", zone.unwrap_or("global"))
}

fn created(record: StoredResource) -> Created {
    Created {
        attributes: object_from_json(&record.attributes),
        id: record.id,
    }
}

#[async_trait]
impl Resource for SimResource {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let _in_flight = self.api.enter();
        let inputs = Inputs::parse(&self.schema, ctx, desired)?;
        let (name, token, fail) = (
            inputs.name.clone(),
            ctx.token.to_string(),
            inputs.fail_create,
        );
        let mut attributes = inputs.attributes;
        let outcome = self
            .api
            .call(ApiCall::Create, name.clone(), move |cloud| {
                cloud.locked(|cloud| {
                    if fail.is_some_and(|n| n > 0) {
                        let count = cloud.bump_attempt(&name, Attempt::Create)?;
                        if Some(count) == fail {
                            return Ok(CreateOutcome::Injected(count));
                        }
                    }
                    if let Some(existing) = cloud.by_name(&name)? {
                        // The same creation token is a retry of this create: hand back the same resource.
                        return Ok(if existing.token == token {
                            CreateOutcome::Created(existing)
                        } else {
                            CreateOutcome::NameTaken(existing.id)
                        });
                    }
                    let id = format!("sim-{:016x}", rand::rng().random::<u64>());
                    let zone = attributes
                        .get("zone")
                        .and_then(Json::as_str)
                        .map(str::to_string);
                    attributes.insert("id".into(), Json::from(id.as_str()));
                    attributes.insert("arn".into(), Json::from(arn(&name, zone.as_deref())));
                    attributes.insert("created_at".into(), Json::from(cloud.tick()?));
                    attributes.insert("generation".into(), Json::from(1));
                    let record = StoredResource {
                        id,
                        token,
                        attributes,
                    };
                    cloud.insert(&record)?;
                    Ok(CreateOutcome::Created(record))
                })
            })
            .await?;
        match outcome {
            CreateOutcome::Created(record) => {
                self.api
                    .settle(ctx, "creating", knob(desired, "create_ms"))
                    .await?;
                Ok(created(record))
            }
            CreateOutcome::Injected(n) => {
                Err(injected(inputs.fail_mode, "create", n, &inputs.name))
            }
            CreateOutcome::NameTaken(id) => Err(ProviderError::api(
                "AlreadyExists",
                format!(
                    "{}: a resource named `{}` already exists ({id})",
                    ctx.address, inputs.name
                ),
            )),
        }
    }

    async fn read(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let _in_flight = self.api.enter();
        let owned = id.to_string();
        let record = self
            .api
            .call(ApiCall::Read, id.to_string(), move |cloud| {
                cloud.get(&owned)
            })
            .await?;
        self.api
            .settle(ctx, "reading", knob(prior, "read_ms"))
            .await?;
        Ok(record.map(|r| object_from_json(&r.attributes)))
    }

    fn batches_reads(&self) -> bool {
        true
    }

    /// One simulated call per page of `page_size` resources; each page waits the largest
    /// `read_ms` among its resources once.
    async fn read_many(
        &self,
        ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let _in_flight = self.api.enter();
        let mut out = Vec::with_capacity(items.len());
        for page in items.chunks(self.api.page_size()) {
            let ids: Vec<String> = page.iter().map(|item| item.id.to_string()).collect();
            let subject = format!("{}-resources", ids.len());
            let records = self
                .api
                .call(ApiCall::ReadPage, subject, move |cloud| {
                    ids.iter()
                        .map(|id| cloud.get(id))
                        .collect::<Result<Vec<_>, _>>()
                })
                .await?;
            let latency = page
                .iter()
                .map(|item| knob(item.prior, "read_ms"))
                .max()
                .unwrap_or(0);
            self.api.settle(ctx, "reading", latency).await?;
            out.extend(
                records
                    .into_iter()
                    .map(|r| r.map(|r| object_from_json(&r.attributes))),
            );
        }
        Ok(out)
    }

    async fn update(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        _changed: &[String],
    ) -> Result<Object, ProviderError> {
        let _in_flight = self.api.enter();
        let inputs = Inputs::parse(&self.schema, ctx, desired)?;
        let (name, owned_id, fail) = (inputs.name.clone(), id.to_string(), inputs.fail_update);
        let mut attributes = inputs.attributes;
        let outcome = self
            .api
            .call(ApiCall::Update, id.to_string(), move |cloud| {
                cloud.locked(|cloud| {
                    if fail.is_some_and(|n| n > 0) {
                        let count = cloud.bump_attempt(&name, Attempt::Update)?;
                        if Some(count) == fail {
                            return Ok(UpdateOutcome::Injected(count));
                        }
                    }
                    let Some(mut record) = cloud.get(&owned_id)? else {
                        return Ok(UpdateOutcome::Missing);
                    };
                    for key in ["name", "zone"] {
                        if record.attributes.get(key) != attributes.get(key) {
                            return Ok(UpdateOutcome::Immutable(key));
                        }
                    }
                    for key in ["id", "arn", "created_at"] {
                        if let Some(value) = record.attributes.get(key) {
                            attributes.insert(key.into(), value.clone());
                        }
                    }
                    let generation = record
                        .attributes
                        .get("generation")
                        .and_then(Json::as_i64)
                        .unwrap_or(0)
                        + 1;
                    attributes.insert("generation".into(), Json::from(generation));
                    record.attributes = attributes;
                    cloud.put(&record)?;
                    Ok(UpdateOutcome::Updated(record))
                })
            })
            .await?;
        match outcome {
            UpdateOutcome::Updated(record) => {
                self.api
                    .settle(ctx, "updating", knob(desired, "update_ms"))
                    .await?;
                Ok(object_from_json(&record.attributes))
            }
            UpdateOutcome::Injected(n) => {
                Err(injected(inputs.fail_mode, "update", n, &inputs.name))
            }
            UpdateOutcome::Missing => Err(ProviderError::not_found(format!(
                "{}: resource `{id}` does not exist",
                ctx.address
            ))),
            UpdateOutcome::Immutable(key) => Err(ProviderError::api(
                "InvalidParameterCombination",
                format!(
                    "{}: `{key}` cannot change in place; the resource must be replaced",
                    ctx.address
                ),
            )),
        }
    }

    /// Deletes by id; `fail_delete` and `fail_mode` come from the recorded attributes.
    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<(), ProviderError> {
        let _in_flight = self.api.enter();
        let owned = id.to_string();
        let name = prior
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let fail = knob(prior, "fail_delete");
        let outcome = self
            .api
            .call(ApiCall::Delete, id.to_string(), move |cloud| {
                cloud.locked(|cloud| {
                    if let Ok(nth @ 1..) = u64::try_from(fail) {
                        let count = cloud.bump_attempt(&name, Attempt::Delete)?;
                        if count == nth {
                            return Ok(DeleteOutcome::Injected(count));
                        }
                    }
                    Ok(if cloud.remove(&owned)? {
                        DeleteOutcome::Deleted
                    } else {
                        DeleteOutcome::Gone
                    })
                })
            })
            .await?;
        match outcome {
            DeleteOutcome::Deleted => {
                self.api
                    .settle(ctx, "deleting", knob(prior, "delete_ms"))
                    .await
            }
            DeleteOutcome::Gone => Ok(()),
            DeleteOutcome::Injected(n) => {
                let mode = prior
                    .get("fail_mode")
                    .and_then(Value::as_str)
                    .and_then(FailMode::parse);
                let name = prior.get("name").and_then(Value::as_str).unwrap_or(id);
                Err(injected(
                    mode.unwrap_or(FailMode::Permanent),
                    "delete",
                    n,
                    name,
                ))
            }
        }
    }

    /// Finds the resource a create with this token made: by its name first, then by scanning.
    async fn recover(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let _in_flight = self.api.enter();
        let name = desired
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let token = ctx.token.to_string();
        let found = self
            .api
            .call(ApiCall::Find, name.clone(), move |cloud| {
                if let Some(record) = cloud.by_name(&name)?.filter(|r| r.token == token) {
                    return Ok(Some(record));
                }
                Ok(cloud.list()?.into_iter().find(|r| r.token == token))
            })
            .await?;
        Ok(found.map(created))
    }

    /// Predicts `arn` and `generation` on create; on an in-place change, `generation` becomes
    /// known after apply.
    async fn refine_plan(
        &self,
        _ctx: &CallContext<'_>,
        prior: Option<&Object>,
        planned: &mut Object,
    ) -> Result<(), ProviderError> {
        match prior {
            None => {
                // Known only when the name and the zone (or its absence) are known.
                let zone = match planned.get("zone") {
                    None | Some(Value::Null) => Some(None),
                    Some(zone) => zone.as_str().map(Some),
                };
                if let (Some(name), Some(zone)) =
                    (planned.get("name").and_then(Value::as_str), zone)
                {
                    let arn = arn(name, zone);
                    planned.insert("arn".into(), Value::String(arn));
                }
                planned.insert("generation".into(), Value::Int(1));
            }
            Some(prior) => {
                let changed = self.schema.input_names().any(|key| {
                    prior.get(key).unwrap_or(&Value::Null)
                        != planned.get(key).unwrap_or(&Value::Null)
                });
                if changed {
                    planned.insert("generation".into(), Value::Unknown);
                }
            }
        }
        Ok(())
    }
}
