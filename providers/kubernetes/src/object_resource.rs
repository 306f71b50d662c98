//! The CRUD every object-backed resource type shares: a type describes how its attributes
//! become a manifest and how a live object reads back; this file applies, reads, waits and
//! deletes.

use std::sync::Arc;

use plinth_provider::{
    async_trait, CallContext, Created, Object, ProviderError, Resource, Schema, Value,
};
use serde_json::Value as Json;

use crate::error::KubeError;
use crate::objects::{ObjectRef, Objects};
use crate::wait::{self, Deadline};

/// The computed attribute holding the object as the server has it (defaults included).
pub const LIVE_MANIFEST: &str = "live_manifest";

/// The live object without status and bookkeeping; Secret payloads never leave the cluster.
fn live_manifest(live: &Json) -> Value {
    let mut object = crate::manifest::strip_server_fields(live);
    if object.get("kind").and_then(Json::as_str) == Some("Secret") {
        if let Some(map) = object.as_object_mut() {
            map.remove("data");
            map.remove("stringData");
        }
    }
    Value::from_json(&object)
}

/// How one resource type maps onto a Kubernetes object.
pub trait ObjectKind: Send + Sync + 'static {
    /// The type's schema.
    fn schema(&self) -> Schema;
    /// The manifest to apply for the desired attributes.
    fn manifest(&self, desired: &Object) -> Result<Json, KubeError>;
    /// The input attributes as the live object reports them, shaped like `prior`.
    fn read_back(&self, live: &Json, prior: &Object) -> Object;
    /// Whether to force ownership on server-side apply conflicts.
    fn force(&self, desired: &Object) -> bool {
        desired
            .get("force")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// A [`Resource`] over an [`ObjectKind`].
pub struct ObjectResource<K: ObjectKind> {
    kind: K,
    schema: Schema,
    objects: Arc<Objects>,
}

impl<K: ObjectKind> ObjectResource<K> {
    /// A resource of kind `kind` talking through `objects`.
    pub fn new(kind: K, objects: Arc<Objects>) -> Self {
        let schema = kind.schema();
        ObjectResource {
            kind,
            schema,
            objects,
        }
    }

    fn attributes(&self, live: &Json, shape: &Object) -> Object {
        let mut attributes = self.kind.read_back(live, shape);
        for (key, value) in shape {
            // Inputs the object does not carry (e.g. `force`) keep their desired value.
            if self.schema.get(key).is_some_and(|a| a.is_input()) && !attributes.contains_key(key) {
                attributes.insert(key.clone(), value.clone());
            }
        }
        let text = |pointer: &str| {
            live.pointer(pointer)
                .and_then(Json::as_str)
                .map(Value::string)
                .unwrap_or(Value::Null)
        };
        if self.schema.get(LIVE_MANIFEST).is_some() {
            attributes.insert(LIVE_MANIFEST.into(), live_manifest(live));
        }
        attributes.insert("uid".into(), text("/metadata/uid"));
        attributes.insert("resource_version".into(), text("/metadata/resourceVersion"));
        attributes
    }

    async fn apply_and_wait(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<(ObjectRef, Json), KubeError> {
        let manifest = self.kind.manifest(desired)?;
        let object = ObjectRef::of(&manifest)?;
        let applied = self
            .objects
            .apply(&manifest, self.kind.force(desired), false)
            .await?;
        let deadline = Deadline::new(ctx.timeout, ctx.progress);
        match (object.api_version.as_str(), object.kind.as_str()) {
            ("apps/v1", "Deployment") => {
                wait::deployment_rollout(&self.objects, &object, &deadline).await?
            }
            ("batch/v1", "Job") => wait::job_completion(&self.objects, &object, &deadline).await?,
            _ => {}
        }
        let live = self.objects.get(&object).await?.unwrap_or(applied);
        Ok((
            ObjectRef {
                namespace: live
                    .pointer("/metadata/namespace")
                    .and_then(Json::as_str)
                    .map(str::to_string),
                ..object
            },
            live,
        ))
    }
}

#[async_trait]
impl<K: ObjectKind> Resource for ObjectResource<K> {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let (object, live) = self.apply_and_wait(ctx, desired).await?;
        Ok(Created {
            id: object.id(),
            attributes: self.attributes(&live, desired),
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let object = ObjectRef::parse(id)?;
        match self.objects.get(&object).await? {
            Some(live) if live.pointer("/metadata/deletionTimestamp").is_none() => {
                Ok(Some(self.attributes(&live, prior)))
            }
            _ => Ok(None),
        }
    }

    async fn update(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        _changed: &[String],
    ) -> Result<Object, ProviderError> {
        let before = ObjectRef::parse(id)?;
        let after = ObjectRef::of(&self.kind.manifest(desired)?)?;
        let same_namespace = after.namespace.is_none() || after.namespace == before.namespace;
        if before.api_version != after.api_version
            || before.kind != after.kind
            || before.name != after.name
            || !same_namespace
        {
            return Err(ProviderError::api(
                "IdentityChanged",
                format!(
                    "{}: the object's identity changed from {} to {}; identity is force_new, so it must be replaced \
                     (plan with `--replace {}`)",
                    ctx.address,
                    before.describe(),
                    after.describe(),
                    ctx.address
                ),
            ));
        }
        let (_, live) = self.apply_and_wait(ctx, desired).await?;
        Ok(self.attributes(&live, desired))
    }

    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let object = ObjectRef::parse(id)?;
        let deadline = Deadline::new(ctx.timeout, ctx.progress);
        Ok(self.objects.delete(&object, &deadline).await?)
    }

    async fn import(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        let object = ObjectRef::parse(id)?;
        let Some(live) = self.objects.get(&object).await? else {
            return Ok(None);
        };
        let shape = self
            .kind
            .read_back(&crate::manifest::strip_server_fields(&live), &Object::new());
        Ok(Some(self.attributes(&live, &shape)))
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let object = ObjectRef::of(&self.kind.manifest(desired)?)?;
        Ok(self.objects.get(&object).await?.map(|live| Created {
            id: ObjectRef::of(&live)
                .map(|o| o.id())
                .unwrap_or_else(|_| object.id()),
            attributes: self.attributes(&live, desired),
        }))
    }

    async fn refine_plan(
        &self,
        _ctx: &CallContext<'_>,
        prior: Option<&Object>,
        planned: &mut Object,
    ) -> Result<(), ProviderError> {
        let inputs_unknown = planned
            .iter()
            .any(|(k, v)| self.schema.get(k).is_some_and(|a| a.is_input()) && v.has_unknown());
        if inputs_unknown || !self.objects.connection().is_reachable().await {
            return Ok(()); // client-side diff only
        }
        let revealed: Object = planned
            .iter()
            .map(|(k, v)| (k.clone(), v.reveal()))
            .collect();
        let manifest = self.kind.manifest(&revealed)?;
        match self
            .objects
            .apply(&manifest, self.kind.force(&revealed), true)
            .await
        {
            Ok(dry_run) => {
                if self.schema.get(LIVE_MANIFEST).is_some() {
                    planned.insert(LIVE_MANIFEST.into(), live_manifest(&dry_run));
                }
                if prior.is_some() {
                    if let Some(uid) = dry_run.pointer("/metadata/uid").and_then(Json::as_str) {
                        planned.insert("uid".into(), Value::string(uid));
                    }
                }
                Ok(())
            }
            // The namespace (or CRD) may be created earlier in the same apply.
            Err(KubeError::Api { code: 404, .. }) | Err(KubeError::Invalid(_)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}
