//! `k8s_object`: any Kubernetes object, built-in or custom (cert-manager `ClusterIssuer`,
//! Prometheus `PrometheusRule`, ...), resolved through API discovery and server-side applied.
//!
//! ```toml
//! [k8s_object.letsencrypt]
//! manifest = { apiVersion = "cert-manager.io/v1", kind = "ClusterIssuer",
//!              metadata = { name = "letsencrypt-prod" },
//!              spec = { acme = { server = "https://acme-v02.api.letsencrypt.org/directory" } } }
//! ```

use plinth_provider::{Attribute, Object, Schema, Value, ValueType};
use serde_json::Value as Json;

use crate::error::KubeError;
use crate::manifest::{project, to_json};
use crate::object_resource::ObjectKind;

/// The `k8s_object` type.
pub struct K8sObject;

impl ObjectKind for K8sObject {
    fn schema(&self) -> Schema {
        Schema::new("k8s_object")
            .describe("Any Kubernetes object (CRDs included), server-side applied with field manager `plinth`.")
            .attribute(
                Attribute::required("manifest", ValueType::Any)
                    // The object's identity: changing it means a different object.
                    .force_new_key("apiVersion")
                    .force_new_key("kind")
                    .force_new_key("metadata.name")
                    .force_new_key("metadata.namespace")
                    .describe("The object: apiVersion, kind, metadata (name, namespace), spec/data/..."),
            )
            .attribute(
                Attribute::optional("force", ValueType::Bool)
                    .default(false)
                    .describe("Take ownership of fields another field manager owns (server-side apply force)."),
            )
            .attribute(Attribute::computed("live_manifest", ValueType::Any).describe(
                "The object as the API server has it (server defaults included; status, bookkeeping \
                 and Secret payloads left out). Predicted by a server-side dry run at plan time.",
            ))
            .attribute(Attribute::computed("uid", ValueType::String))
            .attribute(Attribute::computed("resource_version", ValueType::String))
    }

    fn manifest(&self, desired: &Object) -> Result<Json, KubeError> {
        let manifest = desired.get("manifest").map(to_json).unwrap_or(Json::Null);
        if !manifest.is_object() {
            return Err(KubeError::Invalid(
                "`manifest` must be a table (apiVersion, kind, metadata, ...)".into(),
            ));
        }
        Ok(manifest)
    }

    fn read_back(&self, live: &Json, prior: &Object) -> Object {
        let shape = prior
            .get("manifest")
            .cloned()
            .unwrap_or_else(|| Value::from_json(live));
        let mut attributes = Object::new();
        attributes.insert("manifest".into(), project(live, &shape));
        attributes
    }
}
