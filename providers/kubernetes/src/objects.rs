//! Any object by apiVersion/kind, resolved through API discovery and handled as a
//! `DynamicObject`: server-side apply (field manager `plinth`), read, delete-and-wait, list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, ApiCapabilities, ApiResource, Scope};
use serde_json::Value as Json;

use crate::connection::Connection;
use crate::error::KubeError;
use crate::wait::Deadline;

/// The field manager Plinth applies with.
pub const FIELD_MANAGER: &str = "plinth";

/// Which object: what an id encodes (`apiVersion:kind:namespace:name`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// e.g. `apps/v1`.
    pub api_version: String,
    /// e.g. `Deployment`.
    pub kind: String,
    /// None for cluster-scoped objects (or when the manifest names none).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// Reads the identity of a manifest.
    pub fn of(manifest: &Json) -> Result<ObjectRef, KubeError> {
        let text = |value: Option<&Json>, what: &str| {
            value
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| KubeError::Invalid(format!("manifest needs `{what}`")))
        };
        Ok(ObjectRef {
            api_version: text(manifest.get("apiVersion"), "apiVersion")?,
            kind: text(manifest.get("kind"), "kind")?,
            namespace: manifest
                .pointer("/metadata/namespace")
                .and_then(Json::as_str)
                .map(str::to_string),
            name: text(manifest.pointer("/metadata/name"), "metadata.name")?,
        })
    }

    /// The id recorded in state.
    pub fn id(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.api_version,
            self.kind,
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }

    /// Parses an id made by [`ObjectRef::id`].
    pub fn parse(id: &str) -> Result<ObjectRef, KubeError> {
        let parts: Vec<&str> = id.split(':').collect();
        match parts.as_slice() {
            [api_version, kind, namespace, name] if !name.is_empty() => Ok(ObjectRef {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
                name: name.to_string(),
            }),
            _ => Err(KubeError::Invalid(format!(
                "`{id}` is not a Kubernetes object id (apiVersion:kind:namespace:name)"
            ))),
        }
    }

    /// `Kind namespace/name` for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// Talks to the cluster about arbitrary objects; caches discovery answers.
pub struct Objects {
    connection: Arc<Connection>,
    discovered: Mutex<HashMap<(String, String), (ApiResource, ApiCapabilities)>>,
}

impl Objects {
    /// Wraps a connection.
    pub fn new(connection: Arc<Connection>) -> Objects {
        Objects {
            connection,
            discovered: Mutex::new(HashMap::new()),
        }
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The dynamic API for an object's type (and whether the type is namespaced).
    pub async fn api(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<(Api<DynamicObject>, bool), KubeError> {
        let client = self.connection.client().await?;
        let key = (api_version.to_string(), kind.to_string());
        let cached = self
            .discovered
            .lock()
            .ok()
            .and_then(|map| map.get(&key).cloned());
        let (resource, caps) = match cached {
            Some(found) => found,
            None => {
                let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
                let gvk = GroupVersionKind::gvk(group, version, kind);
                let found = discovery::pinned_kind(&client, &gvk).await.map_err(|e| match KubeError::from(e) {
                    KubeError::Api { code: 404, .. } => {
                        KubeError::Invalid(format!("the cluster does not serve `{kind}` in `{api_version}` (is its CRD installed?)"))
                    }
                    other => other,
                })?;
                if let Ok(mut map) = self.discovered.lock() {
                    map.insert(key, found.clone());
                }
                found
            }
        };
        let namespaced = caps.scope == Scope::Namespaced;
        let api = if namespaced {
            Api::namespaced_with(client, namespace.unwrap_or("default"), &resource)
        } else {
            Api::all_with(client, &resource)
        };
        Ok((api, namespaced))
    }

    /// Server-side applies a manifest; returns the object as the server now has it.
    /// A conflict with another field manager is an error naming it, unless `force`.
    pub async fn apply(
        &self,
        manifest: &Json,
        force: bool,
        dry_run: bool,
    ) -> Result<Json, KubeError> {
        let object = ObjectRef::of(manifest)?;
        let (api, namespaced) = self
            .api(
                &object.api_version,
                &object.kind,
                object.namespace.as_deref(),
            )
            .await?;
        let mut body = manifest.clone();
        if namespaced && object.namespace.is_none() {
            body["metadata"]["namespace"] = Json::from("default");
        }
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = force;
        params.dry_run = dry_run;
        let applied = api
            .patch(&object.name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| match KubeError::from(e) {
                KubeError::Api {
                    code: 409, message, ..
                } => KubeError::Api {
                    code: 409,
                    reason: "Conflict".into(),
                    message: format!(
                        "server-side apply of {} conflicts with another field manager: {message} \
                     (set `force = true` to take ownership of those fields)",
                        object.describe()
                    ),
                },
                other => other,
            })?;
        serde_json::to_value(applied).map_err(|e| KubeError::Invalid(e.to_string()))
    }

    /// Reads an object; None when it does not exist.
    pub async fn get(&self, object: &ObjectRef) -> Result<Option<Json>, KubeError> {
        let (api, _) = self
            .api(
                &object.api_version,
                &object.kind,
                object.namespace.as_deref(),
            )
            .await?;
        match api.get_opt(&object.name).await? {
            Some(found) => Ok(Some(
                serde_json::to_value(found).map_err(|e| KubeError::Invalid(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// Deletes an object (background propagation) and waits until it is gone (finalizers
    /// cleared). Deleting what is already gone is fine.
    pub async fn delete(
        &self,
        object: &ObjectRef,
        deadline: &Deadline<'_>,
    ) -> Result<(), KubeError> {
        let (api, _) = self
            .api(
                &object.api_version,
                &object.kind,
                object.namespace.as_deref(),
            )
            .await?;
        match api.delete(&object.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        loop {
            match api.get_opt(&object.name).await? {
                None => return Ok(()),
                Some(found) => {
                    let finalizers = found.metadata.finalizers.unwrap_or_default();
                    deadline.check(&format!(
                        "deleting {} (finalizers: {})",
                        object.describe(),
                        finalizers.join(", ")
                    ))?;
                    deadline.sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Lists objects of a type in a namespace matching a label selector.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<Json>, KubeError> {
        let (api, _) = self.api(api_version, kind, Some(namespace)).await?;
        let found = api.list(&ListParams::default().labels(selector)).await?;
        found
            .items
            .into_iter()
            .map(|item| {
                let mut json =
                    serde_json::to_value(item).map_err(|e| KubeError::Invalid(e.to_string()))?;
                json["apiVersion"] = Json::from(api_version);
                json["kind"] = Json::from(kind);
                Ok(json)
            })
            .collect()
    }
}
